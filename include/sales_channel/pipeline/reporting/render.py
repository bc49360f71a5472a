"""The order-activity report as files: matplotlib charts (PNG), one self-contained HTML page with the
charts and tables, and a CSV per table, in ``<results>/report/<period>/``; ``report/latest/`` is a copy
of the newest all-store report (what the UI view serves).

Charts are drawn with the Agg backend (no display), one palette for Amazon statuses everywhere, labelled
axes with units, and a sentence instead of an empty axis when there is nothing to show.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from string import Template
from typing import Any

import matplotlib

matplotlib.use("Agg")  # before pyplot: files only, never a display

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from sales_channel.pipeline.reporting.activity import AGE_BUCKETS, LATENCY_METRICS, MEASURES, Activity  # noqa: E402

# One colour per Amazon status, in the order an order moves (colour-blind safe: Okabe–Ito).
STATUS_COLOURS = {
    "PENDING_AVAILABILITY": "#CC79A7", "PENDING": "#F0E442", "UNSHIPPED": "#E69F00",
    "PARTIALLY_SHIPPED": "#56B4E9", "SHIPPED": "#009E73", "CANCELLED": "#999999", "UNFULFILLABLE": "#D55E00",
}
OTHER_COLOUR = "#000000"
AGE_COLOURS = ("#9ecae1", "#4292c6", "#2171b5", "#08306b")  # young → old
CHANNEL_COLOURS = {"MERCHANT": "#0072B2", "AMAZON": "#E69F00"}
TEXT = "#333333"
FILES = {"orders": "orders_by_status.png", "revenue": "revenue_by_currency.png", "latency": "latency.png",
         "quarantine": "quarantine_by_reason.png"}
CSVS = ("activity", "revenue", "latency_summary", "quarantine", "quarantine_open", "api_calls", "reconciliation",
        "alerts")

plt.rcParams.update({
    "font.family": "DejaVu Sans", "font.size": 10, "axes.titlesize": 12, "axes.titleweight": "bold",
    "axes.titlelocation": "left", "axes.labelcolor": TEXT, "axes.edgecolor": "#bbbbbb", "xtick.color": TEXT,
    "ytick.color": TEXT, "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "axes.grid.axis": "y", "grid.color": "#e5e5e5", "grid.linewidth": 0.8, "axes.axisbelow": True,
    "legend.frameon": False, "figure.dpi": 100, "savefig.dpi": 110,
})


@dataclass(frozen=True)
class ReportFiles:
    folder: Path
    html: Path
    latest: Path | None  # report/latest, when this report became it


def write_report(activity: Activity, results: Path, *, generated_at: datetime) -> ReportFiles:
    """Write the report to ``results/report/<period>[__<stores>]/`` (replacing an earlier one of the same
    period and stores whole) and, for an all-store report no older than the current one, to
    ``results/report/latest/``."""
    name = activity.period.label if activity.all_stores else f"{activity.period.label}__{'-'.join(activity.stores)}"
    root = results / "report"
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=root))
    try:
        _write(activity, staging, generated_at)
        folder = _replace(staging, root / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    latest = None
    if activity.all_stores and _newer_than_latest(activity, root / "latest"):
        copy = Path(tempfile.mkdtemp(prefix=".latest.", dir=root))
        shutil.copytree(folder, copy, dirs_exist_ok=True)
        latest = _replace(copy, root / "latest")
    return ReportFiles(folder, folder / "index.html", latest)


def _replace(staging: Path, target: Path) -> Path:
    """Move the finished folder into place: a reader sees the old report or the new one, never half."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old.{os.getpid()}")
        target.rename(old)
    staging.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return target


def _newer_than_latest(activity: Activity, latest: Path) -> bool:
    try:
        meta = json.loads((latest / "report.json").read_text())
    except (OSError, ValueError):
        return True
    return str(activity.period.last) >= meta.get("last_day", "")


def _write(activity: Activity, folder: Path, generated_at: datetime) -> None:
    charts = {"orders": orders_chart(activity), "revenue": revenue_chart(activity),
              "latency": latency_chart(activity), "quarantine": quarantine_chart(activity)}
    for key, figure in charts.items():
        figure.savefig(folder / FILES[key], bbox_inches="tight", facecolor="white")
        plt.close(figure)
    for name in CSVS:
        getattr(activity, name).to_csv(folder / f"{name}.csv", index=False)
    (folder / "report.json").write_text(json.dumps({
        "first_day": str(activity.period.first), "last_day": str(activity.period.last),
        "stores": list(activity.stores), "all_stores": activity.all_stores, "as_of": activity.as_of.isoformat(),
        "generated_at": generated_at.isoformat(), "totals": activity.totals(),
        "charts": list(FILES.values()), "csv": [f"{n}.csv" for n in CSVS]}, indent=2))
    (folder / "index.html").write_text(page(activity, generated_at), encoding="utf-8")


# -- charts ------------------------------------------------------------------------------------------


def _figure(width: float = 9.0, height: float = 4.2) -> tuple[Figure, Any]:
    figure, axes = plt.subplots(figsize=(width, height), layout="constrained")
    return figure, axes


def _empty(axes: Any, title: str, message: str) -> None:
    axes.set_title(title)
    axes.axis("off")
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=12, color="#777777", transform=axes.transAxes)


def _day_labels(days: list[Any]) -> list[str]:
    return [pd.Timestamp(d).strftime("%a %d %b") for d in days]


def orders_chart(activity: Activity) -> Figure:
    """Orders received per day, stacked by their Amazon status now."""
    title = "Orders received per day, by Amazon status"
    figure, axes = _figure()
    received = activity.activity[activity.activity["received"] > 0]
    if received.empty:
        _empty(axes, title, "No orders were received in this period")
        return figure
    table = received.pivot_table(index="day", columns="status", values="received", aggfunc="sum", fill_value=0)
    table = table.reindex(activity.period.days, fill_value=0)
    statuses = [s for s in STATUS_COLOURS if s in table.columns] + sorted(set(table.columns) - set(STATUS_COLOURS))
    bottom = pd.Series(0, index=table.index)
    x = range(len(table.index))
    for status in statuses:
        axes.bar(x, table[status], bottom=bottom, color=STATUS_COLOURS.get(status, OTHER_COLOUR),
                 label=status.replace("_", " ").title(), width=0.7)
        bottom = bottom + table[status]
    for position, total in zip(x, bottom, strict=True):
        if total:
            axes.annotate(f"{int(total)}", (position, total), ha="center", va="bottom", fontsize=9, color=TEXT,
                          xytext=(0, 2), textcoords="offset points")
    axes.set_xticks(list(x), _day_labels(list(table.index)), rotation=0 if len(x) <= 8 else 45,
                    ha="center" if len(x) <= 8 else "right")
    axes.set_title(title)
    axes.set_xlabel("Day of purchase (UTC)")
    axes.set_ylabel("Orders")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_ylim(0, bottom.max() * 1.12)
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="Status now")
    return figure


def revenue_chart(activity: Activity) -> Figure:
    """Revenue of the orders received per day, one panel per currency (amounts of different currencies
    are not added or drawn on one scale); cancelled orders are left out."""
    title = "Revenue of orders received per day, by currency (cancelled orders excluded)"
    revenue = activity.revenue[activity.revenue["status"] != "CANCELLED"]
    currencies = sorted(revenue["currency"].unique())
    if not currencies:
        figure, axes = _figure()
        _empty(axes, title, "No revenue in this period")
        return figure
    columns = min(len(currencies), 4)
    rows = -(-len(currencies) // columns)
    figure, grid = plt.subplots(rows, columns, figsize=(max(3.6 * columns, 7.0), 3.4 * rows), layout="constrained",
                                squeeze=False)
    days = activity.period.days
    for axes, currency in zip(grid.flat, currencies, strict=False):
        per_day = (revenue[revenue["currency"] == currency].groupby("day")["revenue"]
                   .agg(lambda v: float(sum(v))).reindex(days, fill_value=0.0))
        axes.bar(range(len(days)), per_day.values, color="#0072B2", width=0.7)
        axes.set_title(f"{currency}  ·  total {sum(per_day.values):,.2f}", fontsize=11)
        axes.set_ylabel(f"Revenue ({currency})")
        axes.set_xticks(range(len(days)), _day_labels(days), rotation=0 if len(days) <= 4 else 45,
                        ha="center" if len(days) <= 4 else "right", fontsize=8)
        axes.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    for axes in list(grid.flat)[len(currencies):]:
        axes.axis("off")
    figure.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    return figure


_NONE_YET = {"to_commerce_order": "No Commerce order was created in this period",
             "to_shipment_confirmed": "Amazon accepted no shipment confirmation in this period"}


def latency_chart(activity: Activity) -> Figure:
    """How long orders took, one panel per measure: a histogram per fulfillment channel, with the
    median and the 95th percentile marked."""
    figure, grid = plt.subplots(1, 2, figsize=(11.5, 4.6), layout="constrained")
    for axes, (metric, title) in zip(grid, LATENCY_METRICS.items(), strict=True):
        data = activity.latency[activity.latency["metric"] == metric]
        if data.empty:
            _empty(axes, title, _NONE_YET[metric])
            continue
        hours = data["minutes"].max() > 180
        unit, scale = ("hours", 60.0) if hours else ("minutes", 1.0)
        values = data.assign(value=data["minutes"] / scale)
        upper = max(values["value"].quantile(0.99), 1e-9)
        bins = [upper * n / 24 for n in range(25)]
        groups = sorted(values.groupby("fulfillment_channel"), key=lambda g: str(g[0]))
        axes.hist([g["value"].clip(upper=upper) for _, g in groups], bins=bins, stacked=True,
                  color=[CHANNEL_COLOURS.get(str(c), OTHER_COLOUR) for c, _ in groups], edgecolor="white",
                  linewidth=0.6,
                  label=[f"{str(c).title()}-fulfilled ({len(g)} orders)" for c, g in groups])
        median, p95 = values["value"].median(), values["value"].quantile(0.95)
        axes.axvline(median, color=TEXT, linestyle="-", linewidth=1.3, label=f"median {median:,.1f} {unit}")
        axes.axvline(p95, color=TEXT, linestyle="--", linewidth=1.3, label=f"95th percentile {p95:,.1f} {unit}")
        axes.set_title(title, fontsize=11)
        axes.set_xlabel(f"Time ({unit}; the last bar holds everything beyond the 99th percentile)"
                        if values["value"].max() > upper else f"Time ({unit})")
        axes.set_ylabel("Orders")
        axes.set_xlim(0, upper * 1.04)
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=9)
    figure.suptitle("How long orders took", x=0.01, ha="left", fontsize=12, fontweight="bold")
    return figure


def quarantine_chart(activity: Activity) -> Figure:
    """Orders in quarantine at the report's time, per reason, stacked by how long they have been there."""
    title = f"Orders in quarantine by reason and age (at {activity.as_of:%Y-%m-%d %H:%M} UTC)"
    data = activity.quarantine_open
    if data.empty:
        figure, axes = _figure(9, 2.2)
        _empty(axes, title, "Nothing is in quarantine")
        return figure
    table = data.pivot_table(index="reason", columns="age", values="orders", aggfunc="sum", fill_value=0)
    ages = [name for name, _ in AGE_BUCKETS if name in table.columns]
    table = table.assign(_total=table.sum(axis=1)).sort_values("_total").drop(columns="_total")
    figure, axes = _figure(9, 1.2 + 0.45 * len(table.index))
    left = pd.Series(0, index=table.index)
    colours = dict(zip((name for name, _ in AGE_BUCKETS), AGE_COLOURS, strict=True))
    labels = [reason.replace("_", " ") for reason in table.index]
    for age in ages:
        axes.barh(labels, table[age], left=left, color=colours[age], label=age, height=0.6)
        left = left + table[age]
    for position, total in enumerate(left):
        axes.annotate(f"{int(total)}", (total, position), va="center", xytext=(3, 0), textcoords="offset points",
                      fontsize=9, color=TEXT)
    axes.grid(axis="x")
    axes.grid(axis="y", visible=False)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlim(0, left.max() * 1.12)
    axes.set_title(title)
    axes.set_xlabel("Orders")
    axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), title="In quarantine for")
    return figure


# -- page --------------------------------------------------------------------------------------------

_PAGE = Template("""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Amazon order activity · $period</title>
<style>
body{font-family:"DejaVu Sans",Arial,sans-serif;color:#333;margin:24px auto;max-width:1180px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
.meta{color:#666;font-size:13px;margin-bottom:16px}
.tiles{display:flex;flex-wrap:wrap;gap:10px;margin:12px 0}
.tile{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:110px}
.tile b{display:block;font-size:22px}.tile span{font-size:12px;color:#666}
.tile.warn{border-color:#D55E00}.tile.warn b{color:#D55E00}
img{max-width:100%;height:auto;display:block;margin:8px 0}
table{border-collapse:collapse;font-size:13px;margin:6px 0 4px}
th,td{border-bottom:1px solid #e5e5e5;padding:4px 10px;text-align:left;vertical-align:top}
th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.empty{color:#777;font-style:italic}.csv{font-size:12px}
.critical{color:#b00020;font-weight:bold}.warning{color:#a05a00;font-weight:bold}
</style></head><body>
<h1>Amazon order activity</h1>
<div class="meta">$period_text · stores: $stores · state at $as_of UTC · generated $generated UTC</div>
<div class="tiles">$tiles</div>
<h2 id="alerts">Open alerts</h2>$alerts
<h2 id="orders">Orders</h2>
<img src="orders_by_status.png" alt="Orders received per day, stacked by Amazon status">
$activity
<h2 id="revenue">Revenue</h2>
<img src="revenue_by_currency.png" alt="Revenue of orders received per day, per currency">
$revenue
<h2 id="latency">Latency</h2>
<img src="latency.png" alt="Time from Amazon purchase to Commerce order and to shipment confirmation">
$latency
<h2 id="quarantine">Quarantine</h2>
<img src="quarantine_by_reason.png" alt="Orders in quarantine by reason and age">
$quarantine
<h2 id="reconciliation">Reconciliation</h2>$reconciliation
<h2 id="amazon-calls">Amazon calls</h2>$api_calls
<p class="csv">CSV: $csv_links</p>
</body></html>
""")


def page(activity: Activity, generated_at: datetime) -> str:
    """The report page: self-contained (styles inline, nothing fetched from elsewhere), the charts and
    CSVs referenced next to it."""
    totals = activity.totals()
    period = activity.period
    tiles = "".join(_tile(label, totals[key], warn) for key, label, warn in (
        ("received", "received", False), ("imported", "imported", False), ("shipped", "shipped", False),
        ("refunded", "refunded", False), ("cancelled", "cancelled", False),
        ("quarantined", "in quarantine", totals["quarantined"] > 0),
        ("open_alerts", "open alerts", totals["open_alerts"] > 0),
        ("amazon_calls", "Amazon calls", False), ("throttled", "throttled", totals["throttled"] > 0)))
    activity_table = activity.activity.groupby(["store", "marketplace_id", "fulfillment_channel", "status"],
                                               as_index=False)[list(MEASURES)].sum()
    latency_table = (activity.latency.groupby(["metric", "store", "fulfillment_channel"], as_index=False)["minutes"]
                     .agg(orders="count", median="median", p95=lambda m: m.quantile(0.95)))
    latency_table["metric"] = latency_table["metric"].map(LATENCY_METRICS)
    for column in ("median", "p95"):
        latency_table[column] = latency_table[column].map(_duration)
    revenue_table = (activity.revenue.groupby(["store", "currency", "status"], as_index=False)
                     .agg(orders=("orders", "sum"), revenue=("revenue", lambda v: sum(v))))
    return _PAGE.substitute(
        period=html.escape(period.label),
        period_text=html.escape(f"{period.first}" if period.first == period.last else f"{period.first} to {period.last}"),
        stores=html.escape(", ".join(activity.stores) + (" (all)" if activity.all_stores else "")),
        as_of=f"{activity.as_of:%Y-%m-%d %H:%M}", generated=f"{generated_at:%Y-%m-%d %H:%M}", tiles=tiles,
        alerts=_table(activity.alerts, "No alert is open", severity=True),
        activity=_caption("Per store, marketplace, fulfillment channel and status, over the period "
                          "(per day in activity.csv)") + _table(activity_table, "No order activity in this period"),
        revenue=_caption("Orders received, per store, currency and status (per day in revenue.csv)")
        + _table(revenue_table, "No revenue in this period"),
        latency=_caption("Per store and fulfillment channel: median and 95th percentile (per day and "
                         "marketplace, in minutes, in latency_summary.csv)") + _table(latency_table, "No order was imported or confirmed"),
        quarantine=_caption("Per store and reason: open at the report's time, new and resolved in the period, "
                            "the oldest one's age, retries so far") + _table(activity.quarantine,
                                                                          "Nothing in quarantine"),
        reconciliation=_table(activity.reconciliation, "No reconciliation covered this period yet"),
        api_calls=_caption("SP-API requests per seller account and operation (every attempt counts)")
        + _table(activity.api_calls, "No Amazon call was recorded in this period"),
        csv_links=" · ".join(f'<a href="{n}.csv">{n}.csv</a>' for n in CSVS))


def _duration(minutes: float) -> str:
    if minutes < 120:
        return f"{minutes:.0f} min"
    return f"{minutes / 60:.1f} hours" if minutes < 72 * 60 else f"{minutes / 1440:.1f} days"


def _tile(label: str, value: int, warn: bool) -> str:
    return f'<div class="tile{" warn" if warn else ""}"><b>{value:,}</b><span>{html.escape(label)}</span></div>'


def _caption(text: str) -> str:
    return f'<div class="meta">{html.escape(text)}</div>'


def _table(frame: pd.DataFrame, empty: str, severity: bool = False) -> str:
    if frame.empty:
        return f'<p class="empty">{html.escape(empty)}</p>'
    head = "".join(f"<th>{html.escape(str(c).replace('_', ' '))}</th>" for c in frame.columns)
    rows = []
    for record in frame.itertuples(index=False):
        cells = []
        for column, value in zip(frame.columns, record, strict=True):
            numeric = isinstance(value, int | float) and not isinstance(value, bool) or isinstance(value, Decimal)
            css = ' class="n"' if numeric else (f' class="{html.escape(str(value))}"'
                                                if severity and column == "severity" else "")
            cells.append(f"<td{css}>{html.escape(_cell(value))}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return "–"
    if isinstance(value, datetime | pd.Timestamp):
        return f"{value:%Y-%m-%d %H:%M}"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return str(value)
