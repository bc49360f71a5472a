"""
### Resolve a quarantined Amazon order (manual)

For **one order in quarantine** (the *Amazon Orders* view and the import's summaries list them with
their reasons), choose **one action**:

- **Map its Amazon SKU to a Commerce SKU** — for *unknown SKU*: give the order's *Amazon seller SKU*
  and the *Commerce SKU* it is sold as. The mapping is kept in the SKU map, so later orders of that
  SKU import too. A Commerce SKU the store's catalog does not have is refused, naming it.
- **Use a corrected shipping address** — for *missing* or *invalid address*: give the street lines,
  city, region, postcode, country (ISO 3166-1 alpha-2) and optionally a phone. The recipient's name
  stays Amazon's. The address is used **once**, for this order's Commerce order, and **never stored**
  in the channel database or written to a log (the log and the order's timeline name only the fields
  that were corrected). **Note: like every trigger form's values, the address is kept in this DAG
  run's configuration in Airflow's metadata database** (visible to users who can see the run, until
  the run is deleted — e.g. by `airflow db clean`).
- **Skip it** — give a *reason* (required). The quarantine entry is resolved with that reason and the
  import **never** creates this order, even when Amazon sends it again.

After a mapping or a corrected address the order is **retried at once** (read again from Amazon, on
the import's own path: it is never created twice) and the summary says what came of it: created, or
still blocked and the new reason. What was done is written to the order's timeline.

**Tasks**: `check_request` checks what the form cannot (the fields the chosen action needs, and no
others) and fails at once, without retries, changing nothing. `resolve` refuses, changing nothing,
an order that is **not in quarantine** or whose entry is **resolved already** (by the import or a
person); otherwise it acts and logs the summary.

**If `resolve` fails**: with *refused: …* fix the form and trigger again; nothing changed. Otherwise
Commerce or Amazon failed transiently: the task is retried (a retry of the same run carries on from
what its earlier attempt did). A corrected address only lives in the run: if the create is left to a
later run, that run uses Amazon's address again — the summary says so; correct it again if needed.
Each field of the form is validated when the run is created (a malformed order id or an unknown action
is refused before any run exists).
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task
from sales_channel.airflow.alerting import dag_alerting
from sales_channel.airflow.params import (
    amazon_order_id_param,
    choice_param,
    country_code_param,
    lines_param,
    text_param,
)
from sales_channel.domain.corrections import MAX_ADDRESS_LINES
from sales_channel.pipeline.operations.requests import ACTION_LABELS, MAX_REASON_CHARS

SKU = "Map a SKU (action: map its Amazon SKU)"
ADDRESS = "Corrected shipping address (action: corrected address) — used once, never stored"
SKIP = "Skip (action: skip it)"


@dag(
    dag_id="amazon_resolve_quarantine",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    **dag_alerting("amazon_resolve_quarantine",
                   default_args={"owner": "sales-channel", "retries": 2, "retry_exponential_backoff": 2.0,
                                 "max_retry_delay": timedelta(minutes=10), "execution_timeout": timedelta(minutes=30)}),
    tags=["amazon", "commerce", "orders", "quarantine", "manual"],
    params={
        "amazon_order_id": amazon_order_id_param(description="The quarantined order (3-7-7 digits, e.g. "
                                                             "113-1234567-1234567)."),
        "action": choice_param({action.value: label for action, label in ACTION_LABELS.items()}, title="Action",
                               description="What to do with the order. Fill in only the section of that action."),
        "amazon_sku": text_param(title="Amazon seller SKU", max_length=200, section=SKU,
                                 description="The order item's seller SKU as Amazon has it (the quarantine "
                                             "reason names it)."),
        "commerce_sku": text_param(title="Commerce SKU", max_length=200, section=SKU,
                                   description="The SKU of the product in the store's Commerce catalog."),
        "street": lines_param(title="Street", max_lines=MAX_ADDRESS_LINES, section=ADDRESS,
                              description=f"Up to {MAX_ADDRESS_LINES} street lines, one per line."),
        "city": text_param(title="City", section=ADDRESS, description="The city or town."),
        "region": text_param(title="Region", section=ADDRESS, description="State, province or region, if any."),
        "postcode": text_param(title="Postcode", max_length=32, section=ADDRESS,
                               description="Postal code (optional where the country has none)."),
        "country_code": country_code_param(section=ADDRESS),
        "phone": text_param(title="Phone", max_length=64, section=ADDRESS,
                            description="Optional: replaces Amazon's phone number for this order."),
        "reason": text_param(title="Reason", max_length=MAX_REASON_CHARS, multiline=True, section=SKIP,
                             description="Why this order is never imported (shown on its timeline; no "
                                         "buyer data)."),
    },
    doc_md=__doc__,
)
def amazon_resolve_quarantine():
    @task
    def check_request() -> str:
        """Refuses, without retries, a form whose fields do not fit the chosen action (naming the field)."""
        from sales_channel.airflow.tasks.resolve_quarantine import check_request

        return check_request()

    @task
    def resolve() -> dict:
        """Maps the SKU, corrects the address (then retries the order at once) or skips it; logs a summary."""
        from sales_channel.airflow.tasks.resolve_quarantine import resolve_order

        return resolve_order()

    check_request() >> resolve()


amazon_resolve_quarantine()
