"""Resolve a quarantined order: a person maps its SKU, corrects its address, or skips it.

* **Map a SKU**: the order's Amazon seller SKU gets a Commerce SKU in the SKU map (so later orders of
  that SKU use it too) — only a SKU the order holds, to a SKU the store's catalog has — then the order
  is retried at once.
* **Correct the address**: the order is retried at once with a corrected shipping address, used for
  this one create and never stored (not in the channel database, not in an event, not in a log: they
  name the fields corrected, never the values).
* **Skip**: the quarantine entry is resolved with the person's reason and the import never creates the
  order (``QuarantineRepository.skip``; ``StoreImporter`` leaves skipped orders alone).

A retry goes the way of a one-order re-import (``reimport.read_order`` and ``AccountImport.import_now``),
and its outcome is reported: created, or still blocked and why. The action is an event on the order's
timeline. Refused, changing nothing, when the order is not in quarantine or its entry is resolved — except
for the run that resolved it, so that a retried task carries on instead of refusing its own work.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sales_channel.domain.amazon_order import AmazonOrder, parse_order
from sales_channel.domain.errors import ImportBlocked, shown
from sales_channel.pipeline.importing.account import AccountImport
from sales_channel.pipeline.importing.store_importer import Outcome
from sales_channel.pipeline.operations.reimport import read_order
from sales_channel.pipeline.operations.report import Actor, OperationReport
from sales_channel.pipeline.operations.requests import ACTION_LABELS, Action, OperationRefused, ResolveRequest
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.models import QuarantinedOrder
from sales_channel.store.quarantine import SKIPPED

# What the scheduled import does next with an order the retry did not create.
_THEN = {Outcome.QUARANTINED: "still blocked: {detail}; it stays in quarantine",
         Outcome.FAILED: "its create failed transiently ({detail}); the task is retried",
         Outcome.WAITING: "its create is scheduled again ({detail})",
         Outcome.ELSEWHERE: "another run is creating it right now"}


def quarantined_account(channel: ChannelStore, order_id: str, accounts: Iterable[str]) -> str:
    """The seller account (of ``accounts``) under which the order is quarantined; refused when none is."""
    entries = [e for e in channel.quarantine.for_order(order_id) if e.seller_account in set(accounts)]
    if not entries:
        raise OperationRefused(f"order {order_id} is not in quarantine (nothing to resolve); to import it again "
                               "use amazon_reimport_orders")
    open_entries = [e for e in entries if e.resolved_at is None]
    return (open_entries or entries)[0].seller_account


def resolve(run: AccountImport, request: ResolveRequest, actor: Actor) -> OperationReport:
    """Carry out ``request`` on its quarantined order of ``run``'s seller account."""
    order_id = request.amazon_order_id
    entry = run.channel.quarantine.get(run.account, order_id)
    if entry is None:
        raise OperationRefused(f"order {order_id} is not in quarantine under seller account {run.account} "
                               "(nothing to resolve)")
    if entry.resolved_at is not None and not _acted_on(run.channel, entry, actor):
        raise OperationRefused(f"order {order_id}: its quarantine was resolved already on "
                               f"{entry.resolved_at:%Y-%m-%d %H:%M} UTC by {entry.resolved_by} ({entry.resolution}); "
                               "nothing was changed")
    report = OperationReport(f"order {order_id}: {ACTION_LABELS[request.action]}")
    report.notes.append(f"quarantined since {entry.first_seen_at:%Y-%m-%d %H:%M} UTC ({entry.attempts} attempts): "
                        f"{entry.reason_code}: {entry.message}")
    if request.action is Action.SKIP:
        _skip(run.channel, entry, request.reason or "", actor, report)
        return report
    raw = read_order(run, order_id)
    order = _parsed(raw, order_id)
    if request.action is Action.MAP_SKU:
        _map_sku(run, order, raw, request.amazon_sku or "", request.commerce_sku or "", actor, report)
        report.add(run.import_now([raw]))
    else:
        fields = request.address.fields_corrected(order)
        if not fields:
            raise OperationRefused(f"order {order_id}: the corrected address is the one Amazon has; nothing to "
                                   "correct")
        run.channel.events.append(run.account, order_id, "address_corrected",
                                  f"shipping address corrected by {actor.who} for this import only: "
                                  f"{', '.join(fields)} (the values are not kept)",
                                  {**actor.details(), "fields": fields})
        report.notes.append(f"corrected fields: {', '.join(fields)} (used for this create only, not kept)")
        report.add(run.import_now([raw], {order_id: request.address}))
    report.record(run.channel, run.account, actor, "retried", "retried at once")
    _then(report, order_id, corrected=request.action is Action.CORRECT_ADDRESS)
    return report


def _skip(channel: ChannelStore, entry: QuarantinedOrder, reason: str, actor: Actor, report: OperationReport) -> None:
    order_id = entry.amazon_order_id
    if entry.resolved_at is None:
        if not channel.quarantine.skip(entry.seller_account, order_id, actor.name, reason):
            raise OperationRefused(f"order {order_id}: its quarantine was resolved meanwhile by another run; "
                                   "nothing was changed")
        channel.events.append(entry.seller_account, order_id, "skipped_by_person",
                              f"skipped by {actor.who}: {reason}; it is never imported", actor.details())
    elif not (entry.resolution or "").startswith(SKIPPED):
        raise OperationRefused(f"order {order_id}: an earlier attempt of this run resolved it otherwise "
                               f"({entry.resolution})")
    report.notes.append(f"skipped for good: {reason} (the import never creates this order)")


def _map_sku(run: AccountImport, order: AmazonOrder, raw: Mapping[str, Any], amazon_sku: str, commerce_sku: str, actor: Actor,
             report: OperationReport) -> None:
    skus = sorted({item.seller_sku for item in order.items})
    if amazon_sku not in skus:
        raise OperationRefused(f"field amazon_sku: order {order.order_id} has no item with seller SKU "
                               f"{shown(amazon_sku)} (its SKUs: {', '.join(map(shown, skus))}); nothing was mapped")
    importer = run.route(raw)
    if commerce_sku not in importer.commerce.catalog.get_products([commerce_sku]):
        raise OperationRefused(f"field commerce_sku: SKU {shown(commerce_sku)} is not in the catalog of Commerce "
                               f"store {importer.settings.store_code!r} (store {importer.settings.key}); nothing "
                               "was mapped")
    previous = run.channel.skus.get(run.account, amazon_sku)
    run.channel.skus.put(run.account, amazon_sku, commerce_sku)
    was = f" (was {shown(previous)})" if previous and previous != commerce_sku else ""
    run.channel.events.append(run.account, order.order_id, "sku_mapped",
                              f"Amazon SKU {shown(amazon_sku)} mapped to Commerce SKU {shown(commerce_sku)}{was} "
                              f"by {actor.who}, for this and later orders",
                              {**actor.details(), "amazon_sku": amazon_sku, "commerce_sku": commerce_sku,
                               "previous_commerce_sku": previous})
    report.notes.append(f"SKU map of seller account {run.account}: {shown(amazon_sku)} → {shown(commerce_sku)}{was}")


def _then(report: OperationReport, order_id: str, corrected: bool) -> None:
    """Say what became of the retried order, and what happens next when it was not created."""
    result = report.result(order_id)
    if result is None:
        report.notes.append(f"retry of order {order_id}: no outcome (Amazon's data did not reach the import)")
        return
    report.notes.append(f"retry of order {order_id}: {result.describe()}")
    if result.outcome in _THEN:
        then = _THEN[result.outcome].format(detail=result.detail)
        if corrected and result.outcome is not Outcome.QUARANTINED:
            then += "; a later create uses Amazon's address again: correct it again if it is blocked"
        report.notes.append(f"then: {then}")


def _parsed(raw: Mapping[str, Any], order_id: str) -> AmazonOrder:
    try:
        return parse_order(raw)
    except ImportBlocked as blocked:
        raise OperationRefused(f"order {order_id} cannot be read ({blocked}): neither a SKU mapping nor an "
                               "address fixes that; skip it or wait for Amazon to correct it") from None


def _acted_on(channel: ChannelStore, entry: QuarantinedOrder, actor: Actor) -> bool:
    """Whether this operation (an earlier attempt of the same run) already acted on the order."""
    return any((event.details or {}).get("operation") == actor.operation
               for event in channel.events.for_order(entry.seller_account, entry.amazon_order_id))
