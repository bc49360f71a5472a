"""Trigger-form fields (Airflow Params) for the manual DAGs, one builder per kind of value.

Each Param has a title, a description, and the JSON Schema that refuses a malformed value **before a
run is created**: Airflow validates the run's conf against every Param when the run is created (the
UI's Trigger button, the REST API, ``dag.test(run_conf=...)``), and the UI form shows the error under
the field. A field the form may leave empty takes ``None`` (JSON Schema type ``["null", ...]``); one
with neither default nor null is required.

JSON Schema here is per field: rules that tie fields together (an order *or* a window, an end after
its start, the fields an action needs) are the operation's (``pipeline.operations.requests``),
checked by the DAG's first task, which fails at once, without retries, before anything is read.

Dates: ``format: date-time`` gives the form its date picker, but the server checks that format only
when ``rfc3339-validator`` is installed, so ``date_time_param`` adds a ``pattern`` that holds either way.

    params={"amazon_order_id": amazon_order_id_param(),
            "reason": choice_param({"NoInventory": "No inventory", ...}, title="Reason", description="...")}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airflow.sdk import Param

from sales_channel.domain.amazon_order import ORDER_ID_PATTERN
from sales_channel.domain.countries import COUNTRY_CODES
from sales_channel.domain.settings import STORE_KEY_PATTERN
from sales_channel.pipeline.operations.requests import MAX_WINDOW_DAYS

# RFC 3339 as the UI's picker writes it (2026-03-01T10:00:00.000Z) and as people type it (…+02:00).
DATE_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"


def _param(required: bool, json_type: str, **schema: Any) -> Param:
    """A Param of ``json_type``: required (no default), or optional (default None, null allowed)."""
    if required:
        return Param(type=json_type, **schema)
    return Param(None, type=["null", json_type], **schema)


def amazon_order_id_param(*, required: bool = True, title: str = "Amazon order id",
                          description: str = "The Amazon order number as Seller Central shows it: 3-7-7 digits, "
                                             "e.g. 113-1234567-1234567.",
                          section: str | None = None) -> Param:
    """An Amazon order id (``^\\d{3}-\\d{7}-\\d{7}$``, the domain's pattern)."""
    return _param(required, "string", pattern=f"^{ORDER_ID_PATTERN.pattern}$", title=title, description=description,
                  **_section(section))


def store_param(*, required: bool = False, title: str = "Store",
                description: str = "The store's key in the Variable sales_channel_stores (e.g. us).",
                section: str | None = None) -> Param:
    """A store key of the settings document. The stores live in a Variable, which DAG files must not
    read while parsing: the key's syntax is checked here, its existence by the task."""
    return _param(required, "string", pattern=STORE_KEY_PATTERN, title=title, description=description,
                  **_section(section))


def date_time_param(*, required: bool = False, title: str, description: str, section: str | None = None) -> Param:
    """A moment with its UTC offset (the form's date-time picker)."""
    return _param(required, "string", format="date-time", pattern=DATE_TIME_PATTERN, title=title,
                  description=description, **_section(section))


def window_params(*, what: str = "orders", max_days: int = MAX_WINDOW_DAYS, required: bool = False,
                  section: str | None = "Time window") -> dict[str, Param]:
    """``start`` and ``end`` of a time window of at most ``max_days`` days, end after start (the task
    checks both rules: JSON Schema cannot compare two fields)."""
    rule = f"The end must be after the start; at most {max_days} days."
    return {
        "start": date_time_param(required=required, title="Window start",
                                 description=f"First moment of the window of {what} (UTC unless an offset is "
                                             f"given). {rule}", section=section),
        "end": date_time_param(required=required, title="Window end",
                               description=f"Last moment of the window of {what}. {rule} An end later than "
                                           "two minutes ago is moved back to then (Amazon serves nothing later).",
                               section=section),
    }


def choice_param(choices: Mapping[str, str], *, title: str, description: str, required: bool = True,
                 section: str | None = None) -> Param:
    """One of ``choices`` (value → readable label), shown as a drop-down of the labels."""
    values: list[Any] = list(choices)
    labels: dict[str, str] = dict(choices)
    if not required:
        values.append(None)
        labels["None"] = "(none)"
    return _param(required, "string", enum=values, values_display=labels, title=title, description=description,
                  **_section(section))


def id_param(*, title: str, description: str, required: bool = True, section: str | None = None) -> Param:
    """A record's numeric id: a whole number from 1 (text, 0 and fractions are refused)."""
    return _param(required, "integer", minimum=1, title=title, description=description, **_section(section))


def text_param(*, title: str, description: str, required: bool = False, max_length: int = 255,
               multiline: bool = False, section: str | None = None) -> Param:
    """Free text of at most ``max_length`` characters; a required one must not be empty."""
    schema: dict[str, Any] = {"maxLength": max_length, **({"format": "multiline"} if multiline else {})}
    if required:
        schema["minLength"] = 1
    return _param(required, "string", title=title, description=description, **schema, **_section(section))


def lines_param(*, title: str, description: str, max_lines: int, max_length: int = 255,
                section: str | None = None) -> Param:
    """Up to ``max_lines`` lines of text (one per line in the form), optional."""
    return Param(None, type=["null", "array"], items={"type": "string", "maxLength": max_length},
                 maxItems=max_lines, title=title, description=description, **_section(section))


def country_code_param(*, required: bool = False, title: str = "Country",
                       description: str = "ISO 3166-1 alpha-2 country code, e.g. US, DE, JP.",
                       section: str | None = None) -> Param:
    """An ISO 3166-1 alpha-2 country code (the 249 Commerce accepts)."""
    codes: list[Any] = sorted(COUNTRY_CODES)
    return _param(required, "string", enum=codes if required else [*codes, None], title=title,
                  description=description, **_section(section))


def _section(section: str | None) -> dict[str, str]:
    return {"section": section} if section else {}
