"""Health checks of the channel: what needs a person, per store, read from the channel database.

Each check looks at one figure and either passes or yields a ``Finding`` naming the store, the figure
and what to do. ``ChannelHealth.run`` keeps them in the ``alerts`` table — one open alert per
``(check, scope)``, delivered once, cleared when the check passes again — and hands what is new (and
what cleared) to a ``deliver`` callable; an alert is marked notified only after delivery worked, so a
failed delivery is repeated by the next attempt.

Checks (thresholds in ``Thresholds``):

* ``watermark_stale:<stream>`` (store) — the import's or the status sync's watermark has not moved
  for longer than ``watermark_stale``: orders or effects stopped flowing for that store;
* ``quarantine_size`` / ``quarantine_age`` (seller account: the quarantine is kept per account) —
  more unresolved orders than ``quarantine_max``, or one unresolved for longer than ``quarantine_age``;
* ``outbox_failed`` (store, or seller account for rows no store owns) — calls that were given up;
* ``reconciliation_unrepaired`` (store) — the latest reconciliation found orders it could not repair.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.account import STREAM as IMPORT_STREAM
from sales_channel.pipeline.status_sync.from_amazon import STREAM as FROM_AMAZON_STREAM
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND
from sales_channel.pipeline.status_sync.to_amazon import STREAM as TO_AMAZON_STREAM
from sales_channel.store._sql import Clock, utc_now
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.locks import hold
from sales_channel.store.models import Alert

WARNING, CRITICAL = "warning", "critical"
HEALTH_LOCK = "channel_health"  # one evaluation at a time: an alert is raised and delivered once

# Each watermark, what moves it, and where to look when it does not.
STREAMS = {
    IMPORT_STREAM: ("import", "the amazon_order_import DAG's import_orders task for seller account {account} "
                              "(its log names the cause: Amazon or Commerce unreachable, a window that keeps "
                              "failing); clear it once the cause is fixed — nothing is created twice"),
    TO_AMAZON_STREAM: ("status sync (Commerce → Amazon)", "the amazon_order_status_sync DAG's sync_store task "
                                                          "[{store}]: a document that keeps failing holds the "
                                                          "watermark, and its summary names it"),
    FROM_AMAZON_STREAM: ("status sync (Amazon → Commerce)", "the amazon_order_status_sync DAG's sync_store task "
                                                            "[{store}]: an order that keeps failing holds the "
                                                            "watermark, and its summary names it"),
}


@dataclass(frozen=True)
class Thresholds:
    watermark_stale: timedelta = timedelta(minutes=60)
    quarantine_max: int = 25  # alert when more orders than this are unresolved
    quarantine_age: timedelta = timedelta(hours=24)
    outbox_failed: int = 0  # alert when more rows than this have failed (0: on any)


@dataclass(frozen=True)
class Finding:
    check_key: str
    scope: str  # a store key, or a seller account where the table knows only the account
    severity: str
    message: str  # what is wrong, naming the store and the figure (no buyer data)
    action: str  # what to do

    @property
    def key(self) -> tuple[str, str]:
        return self.check_key, self.scope


@dataclass
class HealthOutcome:
    raised: list[Alert] = field(default_factory=list)  # delivered by this run (new, or left by a failed delivery)
    cleared: list[Alert] = field(default_factory=list)  # passed again (announced if they had been delivered)
    still_open: list[Alert] = field(default_factory=list)  # open and delivered before: not sent again
    retired: list[Alert] = field(default_factory=list)  # closed: no active store or account has the scope any more
    unchecked: list[str] = field(default_factory=list)  # figures not there yet, e.g. a watermark never set

    def line(self) -> str:
        parts = [f"{len(self.raised)} new alert(s)", f"{len(self.still_open)} still open (not re-sent)",
                 f"{len(self.cleared)} cleared"]
        if self.retired:
            parts.append(f"{len(self.retired)} closed unchecked (store or account no longer active)")
        if self.unchecked:
            parts.append("not checked yet: " + ", ".join(self.unchecked))
        return "; ".join(parts)

    def as_dict(self) -> dict[str, object]:
        """Small enough for XCom: the alerts by check and scope."""
        def keys(alerts: list[Alert]) -> list[str]:
            return [f"{a.check_key} [{a.scope}]" for a in alerts]
        return {"raised": keys(self.raised), "still_open": keys(self.still_open), "cleared": keys(self.cleared),
                "retired": keys(self.retired), "unchecked": self.unchecked}


Deliver = Callable[[Sequence[Alert], Sequence[Alert]], None]  # (new alerts, cleared alerts); raises on failure


def _minutes(delta: timedelta) -> str:
    minutes = delta.total_seconds() / 60
    return f"{minutes:.0f} minutes" if minutes < 120 else f"{minutes / 60:.1f} hours"


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


class ChannelHealth:
    """The checks of the given (active) stores against one channel database."""

    def __init__(self, channel: ChannelStore, stores: Sequence[StoreSettings], thresholds: Thresholds = Thresholds(),
                 clock: Clock = utc_now, logger: logging.Logger | None = None) -> None:
        self.channel, self.stores, self.thresholds, self._clock = channel, list(stores), thresholds, clock
        self._log = logger or logging.getLogger(__name__)

    # -- evaluation ---------------------------------------------------------------------------------

    def evaluate(self) -> tuple[list[Finding], set[tuple[str, str]], list[str]]:
        """The findings, every ``(check, scope)`` that was evaluated, and the figures not there yet."""
        now = self._clock()
        findings: list[Finding] = []
        checked: set[tuple[str, str]] = set()
        unchecked: list[str] = []
        accounts: dict[str, list[StoreSettings]] = {}
        for store in self.stores:
            accounts.setdefault(store.amazon_conn_id, []).append(store)
            for stream in STREAMS:
                check = f"watermark_stale:{stream}"
                updated = self.channel.alerts.watermark_updated(store.key, stream)
                if updated is None:
                    unchecked.append(f"{store.key}/{stream} (no watermark yet)")
                    continue
                checked.add((check, store.key))
                findings += self._watermark(store, stream, now - updated, updated)
            checked |= {("outbox_failed", store.key), ("reconciliation_unrepaired", store.key)}
            findings += self._outbox(store.key, f"store {store.key}", [store.key], [f"{store.key}/"])
            findings += self._reconciliation(store)
        for account, stores in sorted(accounts.items()):
            names = ", ".join(sorted(s.key for s in stores))
            checked |= {("quarantine_size", account), ("quarantine_age", account), ("outbox_failed", account)}
            findings += self._quarantine(account, names, now)
            keys = [s.key for s in stores]
            findings += self._outbox(account, f"seller account {account} (stores {names})", [account], [f"{account}/"],
                                     exclude_targets=keys, exclude_prefixes=[f"{k}/" for k in keys])
        return findings, checked, unchecked

    def _watermark(self, store: StoreSettings, stream: str, age: timedelta, updated: datetime) -> list[Finding]:
        limit = self.thresholds.watermark_stale
        if age <= limit:
            return []
        what, where = STREAMS[stream]
        return [Finding(
            f"watermark_stale:{stream}", store.key, CRITICAL if age > 4 * limit else WARNING,
            f"store {store.key}: the {what} watermark has not advanced for {_minutes(age)} "
            f"(last moved {_at(updated)}; alert after {_minutes(limit)})",
            "Look at " + where.format(account=store.amazon_conn_id, store=store.key) + ".")]

    def _quarantine(self, account: str, names: str, now: datetime) -> list[Finding]:
        figures = self.channel.alerts.quarantine_figures(account)
        found: list[Finding] = []
        oldest = (f"open the amazon_resolve_quarantine DAG for order {figures.oldest_order} (the oldest), or fix "
                  "the cause the quarantine names (add the SKU or a SKU mapping, restock, enable the product): "
                  "the next import retries them")
        if figures.open > self.thresholds.quarantine_max:
            found.append(Finding(
                "quarantine_size", account, WARNING,
                f"seller account {account} (stores {names}): {figures.open} orders unresolved in quarantine "
                f"(alert above {self.thresholds.quarantine_max})",
                f"Look at the reasons in the quarantine table; {oldest}."))
        if figures.oldest_since is not None and now - figures.oldest_since > self.thresholds.quarantine_age:
            found.append(Finding(
                "quarantine_age", account, WARNING,
                f"seller account {account} (stores {names}): order {figures.oldest_order} has been in quarantine "
                f"for {_minutes(now - figures.oldest_since)} (since {_at(figures.oldest_since)}; alert after "
                f"{_minutes(self.thresholds.quarantine_age)}); {figures.open} unresolved in all",
                f"{oldest[0].upper()}{oldest[1:]}."))
        return found

    def _outbox(self, scope: str, who: str, targets: list[str], prefixes: list[str], *,
                exclude_targets: Sequence[str] = (), exclude_prefixes: Sequence[str] = ()) -> list[Finding]:
        figures = self.channel.alerts.failed_outbox_figures(targets, prefixes, exclude_targets=exclude_targets,
                                                             exclude_prefixes=exclude_prefixes)
        if figures.count <= self.thresholds.outbox_failed:
            return []
        kinds = ", ".join(f"{kind} {n}" for kind, n in figures.kinds.items())
        resend = (" Shipment confirmations: fix the shipment in Commerce, then re-send it with the "
                  "amazon_resend_shipment DAG." if CONFIRM_KIND in figures.kinds else "")
        return [Finding(
            "outbox_failed", scope, WARNING,
            f"{who}: {figures.count} outbox row(s) failed ({kinds}); oldest {figures.oldest_source} "
            f"(failed {_at(figures.oldest_at) if figures.oldest_at else 'at an unknown time'})",
            f"Look at the failed rows in the outbox table (status 'failed': kind, source_id and last_error say "
            f"what was refused and why; the Commerce order's comments say it too).{resend}")]

    def _reconciliation(self, store: StoreSettings) -> list[Finding]:
        run = self.channel.alerts.latest_reconciliation(store.key)
        if run is None or run.unrepaired <= 0:
            return []
        kinds = ", ".join(f"{kind} {n}" for kind, n in sorted((run.counts or {}).items()) if n)
        where = f" (results in {run.results_path})" if run.results_path else ""
        return [Finding(
            "reconciliation_unrepaired", store.key, WARNING,
            f"store {store.key}: the reconciliation of {_at(run.window_start)} – {_at(run.window_end)} (run {run.id}) "
            f"left {run.unrepaired} order(s) it could not repair" + (f"; findings: {kinds}" if kinds else ""),
            f"Look at the findings of reconciliation run {run.id}{where}: those with status needs_person or "
            "repair_failed say what differs between Amazon and Commerce; fix them by hand (or re-import the order "
            "with the amazon_reimport_orders DAG), and the next reconciliation confirms it.")]

    # -- keeping alerts ---------------------------------------------------------------------------

    def run(self, deliver: Deliver) -> HealthOutcome:
        """Evaluate, raise and refresh alerts, deliver the new ones and the clearances, then mark them.

        If ``deliver`` raises, nothing is marked: the next attempt delivers the same alerts again. An open
        alert whose store or seller account is no longer active (deactivated, renamed) is never evaluated
        again: it is closed (listed as retired, logged, not announced as "fine again": nobody checked)
        instead of staying open for ever."""
        active_scopes = {store.key for store in self.stores} | {store.amazon_conn_id for store in self.stores}
        with hold(self.channel.engine, HEALTH_LOCK):
            findings, checked, unchecked = self.evaluate()
            failing = {f.key for f in findings}
            for finding in findings:
                self.channel.alerts.raise_(finding.check_key, finding.scope, finding.severity, finding.message,
                                           finding.action)
            outcome = HealthOutcome(unchecked=unchecked)
            for alert in self.channel.alerts.open():
                key = (alert.check_key, alert.scope)
                if key in failing:
                    (outcome.raised if alert.notified_at is None else outcome.still_open).append(alert)
                elif key in checked:
                    outcome.cleared.append(alert)
                elif alert.scope not in active_scopes:
                    outcome.retired.append(alert)
            announced = [alert for alert in outcome.cleared if alert.notified_at is not None]
            if outcome.raised or announced:
                deliver(outcome.raised, announced)
            self.channel.alerts.mark_notified(alert.id for alert in outcome.raised)
            self.channel.alerts.clear(alert.id for alert in (*outcome.cleared, *outcome.retired))
        self._log.info("health: %s", outcome.line())
        for alert in outcome.retired:
            self._log.info("alert %s [%s] closed: no active store or seller account is %s any more", alert.check_key,
                           alert.scope, alert.scope)
        for alert in outcome.raised:
            self._log.warning("alert %s [%s] (%s): %s — %s", alert.check_key, alert.scope, alert.severity,
                              alert.message, alert.action)
        return outcome
