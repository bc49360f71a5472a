"""A reconciliation's result, for people: the channel database rows (the UI's view), a CSV of the findings
and a self-contained HTML summary under the results folder (``<folder>/reconciliation/<store>/<window>/``).

Findings name orders by their Amazon order id and Commerce increment id, and describe amounts, states and
quantities only: no buyer data is written anywhere.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from sales_channel.pipeline.reconciliation.loaders import Window

REPAIRED, PLANNED, REPAIR_FAILED, NEEDS_PERSON = "repaired", "planned", "repair_failed", "needs_person"
CSV_COLUMNS = ("kind", "amazon_order_id", "commerce_increment_id", "detail", "repair", "status", "new")

# What a person does about each kind of finding (shown in the HTML summary).
WHAT_TO_DO = {
    "missing_in_commerce": "Re-imported by the run (the import's own path: never created twice). If the repair "
                           "failed, the detail says why; fix the cause (often a quarantine reason) and run "
                           "amazon_reimport_orders for the order.",
    "unlinked_commerce_order": "Linked by the run to the one Commerce order carrying the Amazon order id. Nothing "
                               "else to do; its stock was left as it is.",
    "orphan_commerce_order": "A Commerce order with the Amazon payment method whose Amazon order this seller account "
                             "does not have: made by hand or by another connector. Check it in the Commerce admin "
                             "and cancel it if it is not a real order.",
    "duplicate_commerce_orders": "Several live Commerce orders for one Amazon order. Keep the linked one, cancel the "
                                 "others in Commerce (and give their stock back).",
    "shipped_on_amazon_only": "Amazon has shipped the order, Commerce has not. Create the shipment in Commerce (for "
                              "an Amazon-fulfilled order the status sync does it: check its log).",
    "shipped_in_commerce_only": "Commerce has shipped, Amazon has not heard. A queued confirmation was re-queued and "
                                "the status sync sends it; otherwise re-send it with amazon_resend_shipment.",
    "cancelled_on_amazon_only": "Cancelled on Amazon, not in Commerce: the status sync could not cancel it (see the "
                                "order's comments). Cancel or refund it in Commerce.",
    "cancelled_in_commerce_only": "Cancelled in Commerce, not on Amazon: cancel it with "
                                  "amazon_cancel_unshipped_order; a shipped order is refunded through Seller Central.",
    "total_mismatch": "The Commerce grand total differs from what Amazon charged. Compare both in the admin and "
                      "Seller Central; correct with a credit memo or an adjustment.",
    "item_mismatch": "The SKUs or quantities differ. Check the SKU map (sales_channel sku-map) and whether the "
                     "order was edited in the admin.",
    "stuck_in_quarantine": "Quarantined longer than allowed. Resolve it with amazon_resolve_quarantine (map the "
                           "SKU, correct the address, or skip it).",
    "outbox_unsent": "A call waiting too long. Re-queued where that is safe (the flows read back before sending); "
                     "a held shipment needs its tracking number in Commerce.",
    "outbox_failed": "A call that was given up. Re-queued when the failure was transient; a refusal needs its cause "
                     "fixed (the detail has Amazon's or our message), then amazon_resend_shipment.",
}


@dataclass
class Outcome:
    """What came of one store's reconciliation (``to_json`` is the task's XCom: counts only)."""

    store: str
    run_id: int
    window: Window
    orders_checked: int
    ok: int
    counts: dict[str, int]
    statuses: dict[str, int]
    new: int
    read_only: bool
    results_path: str | None = None

    @property
    def repaired(self) -> int:
        return self.statuses.get(REPAIRED, 0)

    @property
    def unrepaired(self) -> int:
        return self.statuses.get(NEEDS_PERSON, 0) + self.statuses.get(REPAIR_FAILED, 0)

    @property
    def outcome(self) -> str:
        if not sum(self.counts.values()):
            return "ok"
        return "needs_attention" if self.unrepaired else "repaired"

    def line(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()) if n) or "no discrepancy"
        statuses = ", ".join(f"{n} {status}" for status, n in sorted(self.statuses.items()) if n)
        read_only = " (read-only store: repairs planned, none made)" if self.read_only else ""
        return (f"store {self.store}, {self.window.describe()}: {self.orders_checked} orders checked, {self.ok} ok; "
                f"{kinds}{f' ({statuses})' if statuses else ''}; {self.new} new since the last run{read_only}")

    def to_json(self) -> dict[str, Any]:
        return {"store": self.store, "run_id": self.run_id, "outcome": self.outcome,
                "orders_checked": self.orders_checked, "ok": self.ok, "counts": self.counts,
                "repaired": self.repaired, "unrepaired": self.unrepaired, "statuses": self.statuses, "new": self.new,
                "read_only": self.read_only, "results_path": self.results_path}


def window_folder(base: Path, store: str, window: Window) -> Path:
    return base / "reconciliation" / store / f"{window.start:%Y%m%dT%H%M%SZ}_{window.end:%Y%m%dT%H%M%SZ}"


def write_files(folder: Path, findings: pd.DataFrame, outcome: Outcome, generated_at: datetime) -> Path:
    """``findings.csv`` and ``summary.html`` in ``folder`` (replacing an earlier run's of the same window)."""
    folder.mkdir(parents=True, exist_ok=True)
    table = findings.loc[:, list(CSV_COLUMNS)]
    table.to_csv(folder / "findings.csv", index=False)
    (folder / "summary.html").write_text(render_html(table, outcome, generated_at), encoding="utf-8")
    return folder


def render_html(findings: pd.DataFrame, outcome: Outcome, generated_at: datetime) -> str:
    """The summary page: counts by kind with what to do about each, and every finding."""
    e = html.escape
    count_rows = "".join(
        f"<tr><td>{e(kind)}</td><td class=n>{n}</td><td>{e(WHAT_TO_DO.get(kind, ''))}</td></tr>"
        for kind, n in sorted(outcome.counts.items()) if n)
    finding_rows = "".join(
        "<tr class={}>{}</tr>".format(e(str(row["status"])), "".join(
            f"<td>{e('' if pd.isna(row[c]) else str(row[c]))}</td>" for c in CSV_COLUMNS))
        for _, row in findings.iterrows())
    statuses = ", ".join(f"{n} {e(status)}" for status, n in sorted(outcome.statuses.items()) if n) or "none"
    read_only = ("<p class=warn>Read-only store: the safe repairs were planned, none was made.</p>"
                 if outcome.read_only else "")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Reconciliation of store {e(outcome.store)}, {e(outcome.window.describe())}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: .3em .6em; text-align: left; vertical-align: top; }}
th {{ background: #f3f3f3; }} td.n {{ text-align: right; }}
tr.needs_person td, tr.repair_failed td {{ background: #fff1f0; }} tr.repaired td {{ background: #f0fff4; }}
.warn {{ color: #a15c00; }}
</style></head><body>
<h1>Reconciliation of store {e(outcome.store)}</h1>
<p>Orders created {e(outcome.window.describe())} (UTC) · generated {generated_at:%Y-%m-%d %H:%M:%SZ} · run
{outcome.run_id} · outcome <b>{e(outcome.outcome)}</b></p>
<p>{outcome.orders_checked} orders checked, {outcome.ok} agree on both sides. Findings by status: {statuses};
{outcome.new} new since the last run.</p>
{read_only}
<h2>By kind</h2>
<table><tr><th>kind</th><th>orders</th><th>what to do</th></tr>{count_rows or '<tr><td colspan=3>none</td></tr>'}</table>
<h2>Findings</h2>
<table><tr>{''.join(f'<th>{e(c)}</th>' for c in CSV_COLUMNS)}</tr>{finding_rows or f'<tr><td colspan={len(CSV_COLUMNS)}>none</td></tr>'}</table>
</body></html>
"""


def finding_rows(findings: pd.DataFrame) -> list[Mapping[str, Any]]:
    """The findings as rows of ``reconciliation_findings`` (<NA> → None)."""
    table = findings.loc[:, ["amazon_order_id", "commerce_increment_id", "kind", "detail", "repair", "status"]]
    return [{k: (None if pd.isna(v) else str(v)) for k, v in row.items()}
            for row in table.astype(object).to_dict("records")]
