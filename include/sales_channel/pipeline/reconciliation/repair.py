"""The reconciliation's safe repairs, through the machinery the flows use, so exactly once still holds:

* ``reimport`` (an order missing in Commerce): read from Amazon again (getOrder) and imported on the
  import's own path (``AccountImport.import_now``): links, the create claim and the ``ext_order_id``
  lookup keep it from being created twice, whatever else runs meanwhile;
* ``relink`` (the one Commerce order carrying the Amazon order id, without a link): linked as the import
  links an order it adopts — unless the import's own create of that order is pending or under way,
  which then finds and adopts that Commerce order itself (linking it here too could race that create);
  the order's stock is left as it is (nobody can tell whether this pipeline took it);
* ``requeue`` (an unsent or failed outbox row whose failure may be transient): made pending again
  (``OutboxRepository.requeue``); its flow sends it on its next run and reads back before sending.

Per-finding isolation: a repair that fails is recorded (``repair_failed``, with why) and the others go
on. A read-only store gets its repairs planned (``planned``), none made. Findings without a repair need
a person (``needs_person``). Each repair adds an event to the order's timeline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pandas as pd

from sales_channel.domain.settings import StoreSettings
from sales_channel.pipeline.importing.account import AccountImport
from sales_channel.pipeline.importing.stock import order_source
from sales_channel.pipeline.importing.store_importer import CREATE_KIND, Outcome
from sales_channel.pipeline.operations.reimport import read_order
from sales_channel.pipeline.operations.report import OperationReport
from sales_channel.pipeline.operations.requests import OperationRefused
from sales_channel.pipeline.outbox_work import describe_error
from sales_channel.pipeline.reconciliation.results import NEEDS_PERSON, PLANNED, REPAIR_FAILED, REPAIRED
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import OutboxStatus

log = logging.getLogger(__name__)

EVENT = "reconciliation_repair"
REIMPORT, RELINK, REQUEUE = "reimport", "relink", "requeue"
# An import outcome that leaves the order in Commerce, linked.
IMPORTED = (Outcome.CREATED, Outcome.ADOPTED, Outcome.ALREADY_LINKED)


@dataclass
class Repairs:
    """One store's repairs. ``open_import`` gives the import (of this store only) to re-import with,
    opened only when an order is missing."""

    store: StoreSettings
    channel: ChannelStore
    open_import: Callable[[], AbstractContextManager[AccountImport]]
    logger: logging.Logger = log

    @property
    def account(self) -> str:
        return self.store.amazon_conn_id

    def carry_out(self, findings: pd.DataFrame) -> pd.DataFrame:
        """``findings`` (``compare.Result.findings``) with ``status`` filled in and, where a repair was
        tried, what came of it appended to ``detail``."""
        findings = findings.assign(
            status=pd.Series(NEEDS_PERSON, index=findings.index, dtype="string").mask(
                findings["repair"].notna(), PLANNED),
            detail=findings["detail"].astype("string"))
        planned = findings.index[findings["repair"].notna()]
        if self.store.read_only or planned.empty:
            if self.store.read_only and not planned.empty:
                self.logger.info("store %s is read-only: %d repairs planned, none made", self.store.key, len(planned))
            return findings
        repair = findings["repair"]
        results = self._reimport(findings.loc[repair == REIMPORT])
        for index, row in findings.loc[repair == RELINK].iterrows():
            results[index] = self._isolated(lambda r=row: self._relink(r), f"relink of {row['amazon_order_id']}")
        # One outbox row may be named by several findings (shipped in Commerce only, and failed): sent once.
        requeues = findings.loc[repair == REQUEUE]
        for _, group in requeues.groupby(["outbox_kind", "outbox_source_id"], dropna=False):
            row = group.iloc[0]
            done = self._isolated(lambda r=row: self._requeue(r), f"requeue of {row['outbox_source_id']}")
            results |= dict.fromkeys(group.index, done)
        for index in planned.difference(list(results)):
            results[index] = (False, f"no such repair: {findings.at[index, 'repair']}")
        for index, (done, note) in results.items():
            findings.at[index, "status"] = REPAIRED if done else REPAIR_FAILED
            findings.at[index, "detail"] = f"{findings.at[index, 'detail']} — {note}"
        self._record(findings.loc[list(results)])
        return findings

    def _isolated(self, repair: Callable[[], tuple[bool, str]], what: str) -> tuple[bool, str]:
        try:
            return repair()
        except Exception as exc:  # noqa: BLE001 - one failed repair never stops the others
            self.logger.warning("store %s: %s failed: %s", self.store.key, what, describe_error(exc))
            return False, f"repair failed: {describe_error(exc)}"

    # -- reimport -----------------------------------------------------------------------------------

    def _reimport(self, findings: pd.DataFrame) -> dict[int, tuple[bool, str]]:
        order_ids = list(dict.fromkeys(findings["amazon_order_id"].dropna()))
        if not order_ids:
            return {}
        outcomes = self._import(order_ids)
        return {index: outcomes.get(order_id, (False, "re-import: no outcome"))
                for index, order_id in findings["amazon_order_id"].items()}

    def _import(self, order_ids: Iterable[str]) -> dict[str, tuple[bool, str]]:
        outcomes: dict[str, tuple[bool, str]] = {}
        with self.open_import() as run:
            raws = []
            for order_id in order_ids:
                try:
                    raws.append(read_order(run, order_id))
                except Exception as exc:  # noqa: BLE001 - one order Amazon cannot serve never stops the others
                    outcomes[order_id] = (False, f"re-import failed reading it from Amazon: {_why(exc)}")
            if not raws:
                return outcomes
            report = OperationReport("reconciliation re-import")
            try:
                report.add(run.import_now(raws))
            except Exception as exc:  # noqa: BLE001 - recorded per order; the import's retries resume it
                why = f"re-import failed ({describe_error(exc)}); the import resumes it (never twice)"
                return outcomes | {raw["orderId"]: (False, why) for raw in raws}
        for order_id, result in report.results.items():
            outcomes[order_id] = (result.outcome in IMPORTED, f"re-imported: {result.describe()}")
        return outcomes

    # -- relink -------------------------------------------------------------------------------------

    def _relink(self, finding: pd.Series) -> tuple[bool, str]:
        order_id, entity_id = finding["amazon_order_id"], finding["commerce_entity_id"]
        increment_id = finding["commerce_increment_id"]
        if pd.isna(order_id) or pd.isna(entity_id) or pd.isna(increment_id):
            return False, "relink needs the Amazon order id and the Commerce order; one is missing"
        create = self.channel.outbox.get(CREATE_KIND, order_source(self.account, order_id))
        if create is not None and create.status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED):
            return False, (f"not relinked: the import's create of this order is {create.status} (due "
                           f"{create.next_attempt_at:%Y-%m-%dT%H:%M:%SZ}); it finds and adopts the Commerce order itself")
        with self.channel.transaction():
            result = self.channel.links.create(self.account, order_id, commerce_entity_id=int(entity_id),
                                               commerce_increment_id=increment_id, store_code=self.store.store_code)
        if result.link.commerce_entity_id != int(entity_id):
            return False, (f"not relinked: linked meanwhile to Commerce order {result.link.commerce_increment_id}")
        return True, f"relinked to Commerce order {increment_id}" + ("" if result.created else " (linked meanwhile)")

    # -- requeue ------------------------------------------------------------------------------------

    def _requeue(self, finding: pd.Series) -> tuple[bool, str]:
        kind, source = finding["outbox_kind"], finding["outbox_source_id"]
        if pd.isna(kind) or pd.isna(source):
            return False, "requeue needs the outbox row (kind and source); none was named"
        if self.channel.outbox.requeue(kind, source):
            return True, f"re-queued outbox row {kind} {source}: its flow sends it on its next run"
        item = self.channel.outbox.get(kind, source)
        if item is None:
            return False, f"outbox row {kind} {source} no longer exists"
        if item.status == OutboxStatus.PENDING:
            due = f"{item.next_attempt_at:%Y-%m-%dT%H:%M:%SZ}"
            if finding["kind"] == "outbox_unsent":  # queued for longer than allowed: its flow is not sending it
                return False, f"outbox row {kind} {source} is queued (due {due}) but unsent: is its flow running?"
            return True, f"outbox row {kind} {source} is queued already (due {due}): its flow sends it"
        return False, f"outbox row {kind} {source} is being worked on right now ({item.status}); not re-queued"

    def _record(self, repaired: pd.DataFrame) -> None:
        """An event on the timeline of each order a repair was tried on."""
        rows = repaired.loc[repaired["amazon_order_id"].notna()]
        self.channel.events.append_many(self.account, [
            (row["amazon_order_id"], EVENT, f"reconciliation ({row['kind']}, {row['repair']}): {row['status']}",
             {"kind": row["kind"], "repair": row["repair"], "status": row["status"]})
            for _, row in rows.iterrows()])


def _why(exc: BaseException) -> str:
    return str(exc) if isinstance(exc, OperationRefused) else describe_error(exc)
