"""``OrderReportOperator``: one seller account's order report of the reconciliation window, waited for
without holding a worker.

The first check asks Amazon for the report (createReport); each later check is one getReport; between
checks the task defers (``PollingOperator``). The result (XCom) is the report's id and document. A
report not finished within ``max_wait`` fails the try (``ReportNotReady``): the retry asks for a new one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from airflow.sdk import Context

from sales_channel.airflow.operators.polling import PollingOperator

REPORT_ID = "report_id"  # XCom key: the report this try asked for


class OrderReportOperator(PollingOperator):
    template_fields = ("account", "window", "stores")

    def __init__(self, *, account: str, window: Any, stores: Any, poll_interval: timedelta = timedelta(seconds=30),
                 max_wait: timedelta = timedelta(minutes=60), **kwargs: Any) -> None:
        super().__init__(poll_interval=poll_interval, max_wait=max_wait, **kwargs)
        self.account, self.window, self.stores = account, window, stores

    def start(self, context: Context) -> None:
        from sales_channel.airflow.tasks.reconciliation import create_report

        context["ti"].xcom_push(key=REPORT_ID, value=create_report(self.account, self.window, self.stores))

    def check(self, context: Context) -> tuple[bool, dict[str, Any] | None]:
        from sales_channel.airflow.tasks.reconciliation import report_outcome

        outcome = report_outcome(self.account, self.pulled(context, REPORT_ID))
        return outcome is not None, outcome

    def unfinished(self, context: Context, result: Any, waited: timedelta) -> Any:
        from sales_channel.pipeline.reconciliation.loaders import ReportNotReady

        raise ReportNotReady(f"order report {self.pulled(context, REPORT_ID)} of account {self.account} is not "
                             f"ready after {waited}; the retry requests it again")
