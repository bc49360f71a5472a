"""The manual DAGs an order's detail page offers, with the trigger-form values it already knows.

Airflow 3.3.2's trigger form is a dialog on the DAG's page that takes no values from the URL (it is
prefilled only by "Trigger again with this config" of an earlier run), so each action links to the
DAG's page and shows its conf as JSON to paste into the form's "Advanced options → Configuration JSON";
the fields the view cannot know (a quarantine action, a note) are left for the form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sales_channel.airflow.plugin.queries import Stores
from sales_channel.pipeline.status_sync.kinds import CONFIRM_KIND

RESEND_SHIPMENT = "amazon_resend_shipment"
CANCEL_UNSHIPPED = "amazon_cancel_unshipped_order"
REIMPORT = "amazon_reimport_orders"
RESOLVE_QUARANTINE = "amazon_resolve_quarantine"
MANUAL_DAGS = (RESEND_SHIPMENT, CANCEL_UNSHIPPED, REIMPORT, RESOLVE_QUARANTINE)


@dataclass(frozen=True)
class Action:
    dag_id: str
    label: str
    conf: dict[str, Any]
    why: str  # when to use it


def order_actions(detail: dict[str, Any], stores: Stores) -> list[Action]:
    """The manual actions that make sense for this order (as ``queries.order_detail`` describes it)."""
    order_id, store_key = detail["amazon_order_id"], detail["store"]
    snapshot, quarantine = detail["snapshot"], detail["quarantine"]
    actions = []
    if quarantine is not None and quarantine["resolved_at"] is None:
        actions.append(Action(RESOLVE_QUARANTINE, "Resolve quarantine", {"amazon_order_id": order_id},
                              "map its SKU, correct its address, or skip it (choose the action in the form)"))
    reimport: dict[str, Any] = {"amazon_order_id": order_id}
    if store_key:
        reimport["store"] = store_key
    actions.append(Action(REIMPORT, "Re-import", reimport, "read it from Amazon again and import what is missing"))
    if (detail["link"] is not None and snapshot is not None and snapshot["fulfillment"] == "MERCHANT"
            and snapshot["status"] in ("UNSHIPPED", "PENDING")):
        cancel: dict[str, Any] = {"amazon_order_id": order_id}
        if store_key and store_key in stores.by_key:
            cancel["reason"] = stores.by_key[store_key].default_cancellation_reason
        actions.append(Action(CANCEL_UNSHIPPED, "Cancel (unshipped)", cancel,
                              "cancel it on Amazon and in Commerce (choose the reason in the form)"))
    if store_key:
        for row in detail["outbox"]:
            if row["kind"] == CONFIRM_KIND and row["status"] == "failed":
                shipment_id = row["source_id"].rsplit("/", 1)[-1]
                if shipment_id.isdigit():
                    actions.append(Action(RESEND_SHIPMENT, f"Re-send shipment {shipment_id}",
                                          {"store": store_key, "shipment_id": int(shipment_id)},
                                          "after fixing what Amazon refused (tracking, carrier)"))
    return actions
