"""What an operation did, for people: each order's outcome, a readable summary for the task log, and
an event on the timeline of every order it touched (who asked, under which run, what came of it)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sales_channel.pipeline.importing.account import AccountSummary, ImportIncomplete
from sales_channel.pipeline.importing.store_importer import Outcome
from sales_channel.store.channel_store import ChannelStore

# How an outcome reads in a summary, in the order summaries list them.
LABELS = {
    Outcome.CREATED: "created in Commerce",
    Outcome.ADOPTED: "linked to the Commerce order that existed",
    Outcome.ALREADY_LINKED: "already linked (nothing created)",
    Outcome.QUARANTINED: "quarantined",
    Outcome.SKIPPED: "skipped by rule",
    Outcome.SKIPPED_BY_PERSON: "skipped by a person",
    Outcome.READ_ONLY: "not created: the store is read-only",
    Outcome.ELSEWHERE: "being created by another run",
    Outcome.WAITING: "waiting for its create to be retried",
    Outcome.FAILED: "failed transiently (the task is retried)",
}
# Outcomes whose every order is listed with its reason; the others are listed by id (up to a limit).
EXPLAINED = (Outcome.QUARANTINED, Outcome.WAITING, Outcome.FAILED, Outcome.ELSEWHERE)
LISTED = 50


@dataclass(frozen=True)
class Actor:
    """Who asked for an operation, and the run that carried it out (recorded with what it did)."""

    who: str
    operation: str  # e.g. "amazon_resolve_quarantine/manual__2026-03-01T10:00:00+00:00"

    @property
    def name(self) -> str:
        return f"{self.who} ({self.operation})"[:200]

    def details(self) -> dict[str, str]:
        return {"operation": self.operation, "by": self.who}


@dataclass(frozen=True)
class OrderResult:
    amazon_order_id: str
    store: str
    outcome: Outcome
    detail: str

    def describe(self) -> str:
        if self.outcome is Outcome.SKIPPED:
            return f"skipped by rule: {self.detail.replace('_', ' ')}"
        return LABELS[self.outcome] + (f" — {self.detail}" if self.detail else "")


class NotYet(RuntimeError):
    """An operation's outcome is not known yet (Amazon has not processed a feed, a call failed
    transiently): the step is retried, and finishes what it started (nothing is done twice)."""


@dataclass
class ActionReport:
    """What an operation on one order or document did (a cancel, a re-send), for people: a title and
    what happened, line by line — logged as the task's summary, small enough for XCom."""

    title: str
    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        self.lines.append(line)

    def log(self, logger: logging.Logger) -> None:
        for line in [self.title, *self.lines]:
            logger.info("%s", line)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "lines": self.lines}


@dataclass
class OperationReport:
    title: str
    results: dict[str, OrderResult] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unfinished: str | None = None  # why the operation is not done yet (the task fails and is retried)

    def add(self, summary: AccountSummary) -> None:
        """Each order's outcome from an import the operation ran (``ImportSummary.orders``)."""
        for key, store in summary.stores.items():
            for order_id, (outcome, detail) in (store.orders or {}).items():
                self.results[order_id] = OrderResult(order_id, key, outcome, detail)

    def result(self, order_id: str) -> OrderResult | None:
        return self.results.get(order_id)

    def lines(self) -> list[str]:
        """The readable summary: the title, the notes, the counts, then the orders by outcome."""
        counts = Counter(r.outcome for r in self.results.values())
        lines = [self.title, *self.notes,
                 "outcome: " + (", ".join(f"{counts[o]} {LABELS[o]}" for o in LABELS if counts[o]) or "no orders")]
        for outcome in LABELS:
            results = sorted((r for r in self.results.values() if r.outcome is outcome), key=lambda r: r.amazon_order_id)
            if outcome in EXPLAINED:
                lines += [f"  {r.amazon_order_id} (store {r.store}): {r.describe()}" for r in results]
            elif outcome is Outcome.SKIPPED:
                for rule, group in sorted(_by_detail(results).items()):
                    lines.append(f"  skipped by rule ({rule.replace('_', ' ')}): {_ids(group)}")
            elif results:
                lines.append(f"  {LABELS[outcome]}: {_ids(results, with_detail=outcome is not Outcome.SKIPPED_BY_PERSON)}")
        if self.unfinished:
            lines.append(f"not finished: {self.unfinished}")
        return lines

    def log(self, logger: logging.Logger) -> None:
        for line in self.lines():
            logger.info("%s", line)

    def record(self, channel: ChannelStore, account: str, actor: Actor, event_type: str, what: str) -> None:
        """An event on the timeline of each order the operation touched: ``what`` was done, by whom, and
        what came of it."""
        channel.events.append_many(account, [
            (r.amazon_order_id, event_type, f"{what} by {actor.who}: {r.describe()}",
             {**actor.details(), "outcome": r.outcome.value}) for r in self.results.values()])

    def raise_if_unfinished(self) -> None:
        """Fail (so that Airflow retries) when some orders failed transiently or the work is not done."""
        failed = [r for r in self.results.values() if r.outcome is Outcome.FAILED]
        if failed or self.unfinished:
            why = [f"{len(failed)} orders failed transiently"] if failed else []
            raise ImportIncomplete(f"{self.title}: {'; '.join(why + ([self.unfinished] if self.unfinished else []))}"
                                   " — a retry continues (nothing is created twice)")

    def to_json(self) -> dict[str, Any]:
        """A small summary for XCom: the counts, and each order's outcome when there are few."""
        counts = Counter(r.outcome.value for r in self.results.values())
        small = len(self.results) <= LISTED
        return {"title": self.title, "outcomes": dict(counts), "unfinished": self.unfinished,
                **({"orders": {i: r.outcome.value for i, r in sorted(self.results.items())}} if small else {})}


def _by_detail(results: list[OrderResult]) -> dict[str, list[OrderResult]]:
    groups: dict[str, list[OrderResult]] = {}
    for result in results:
        groups.setdefault(result.detail, []).append(result)
    return groups


def _ids(results: list[OrderResult], with_detail: bool = False) -> str:
    shown = [f"{r.amazon_order_id}" + (f" ({r.detail})" if with_detail and r.detail else "") for r in results[:LISTED]]
    more = f" … and {len(results) - LISTED} more (each order's timeline has an event)" if len(results) > LISTED else ""
    return f"{len(results)}: {', '.join(shown)}{more}"
