"""The reconciliation's trigger form, checked before anything is read: each refusal names the field."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sales_channel.pipeline.operations.requests import OperationRefused
from sales_channel.pipeline.reconciliation.run import ReconciliationRequest


def test_an_empty_form_reconciles_the_runs_interval_for_every_store():
    assert ReconciliationRequest.from_form({"store": "", "window_start": None, "window_end": ""}) == \
        ReconciliationRequest(None, None)


def test_a_window_with_an_offset_is_kept_in_utc():
    request = ReconciliationRequest.from_form({"store": "us", "window_start": "2026-03-01T01:00:00+01:00",
                                               "window_end": "2026-03-02T00:00:00Z"})
    assert request.store == "us"
    assert (request.window.start, request.window.end) == (datetime(2026, 3, 1, tzinfo=UTC),
                                                          datetime(2026, 3, 2, tzinfo=UTC))


@pytest.mark.parametrize(("form", "refusal"), [
    ({"window_start": "2026-03-01T00:00:00Z"}, "field window_end: give both ends"),
    ({"window_end": "2026-03-01T00:00:00Z"}, "field window_start: give both ends"),
    ({"window_start": "2026-03-02T00:00:00Z", "window_end": "2026-03-01T00:00:00Z"},
     "field window_end: 2026-03-01T00:00:00Z is not after window_start 2026-03-02T00:00:00Z"),
    ({"window_start": "2026-01-01T00:00:00Z", "window_end": "2026-03-01T00:00:00Z"},
     "field window_end: the window spans 59.0 days; at most 31 (reconcile a longer period"),
    ({"window_start": "yesterday", "window_end": "2026-03-01T00:00:00Z"}, "field window_start:"),
    ({"window_start": 20260301, "window_end": "2026-03-01T00:00:00Z"}, "field window_start: must be text"),
])
def test_a_form_that_does_not_go_together_is_refused_naming_the_field(form, refusal):
    with pytest.raises(OperationRefused) as refused:
        ReconciliationRequest.from_form(form)
    assert refusal in str(refused.value)
