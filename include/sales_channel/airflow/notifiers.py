"""Alerts to people, through one Airflow connection (``sales_channel_alerts`` by default).

The connection's type decides the delivery:

* ``http`` / ``https`` — a webhook: one JSON POST per message (``subject``, ``text`` and the message's
  fields). URL: the host when it is a full URL, else ``<conn type>://host[:port]``, plus extra
  ``endpoint`` (or the schema field) as its path; login/password → basic auth; extra ``headers``
  (e.g. a token) sent as they are; extra ``timeout`` seconds (10).
* ``smtp`` / ``email`` — an email: host, port, login/password; extra ``from``, ``to`` (a list or
  comma-separated), ``security`` ``starttls`` (default, port 587), ``ssl`` (465) or ``none`` (25).

``deliver`` raises ``AlertDeliveryError`` (the health DAG fails and retries). ``SalesChannelNotifier``
is Airflow's notifier for a failed task (``on_failure_callback``) and a missed deadline
(``DeadlineAlert`` → the triggerer awaits it): it never raises, so a delivery problem never changes
or hides the outcome of the task it reports — it is logged as an error instead. Nothing secret is
logged (the webhook URL's path and query, passwords and header values are masked), and messages carry
no buyer data: the project's errors name orders and fields, never a buyer's value.
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from airflow.sdk import BaseHook, BaseNotifier, conf
from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.sdk.log import redact

from sales_channel.airflow.hooks._connection import conn_extras, mask
from sales_channel.net import redact_query_values

DEFAULT_CONN_ID = "sales_channel_alerts"
SOURCE = "amazon-sales-channel"
MAX_ERROR_CHARS = 600
CONNECTION_HELP = ("define it (Admin → Connections, or AIRFLOW_CONN_{id}) with conn_type http/https for a webhook "
                   "or smtp for email; see the README, 'Alerts'")


class AlertDeliveryError(RuntimeError):
    """An alert could not be delivered; the text names the connection and never holds a secret."""


@dataclass(frozen=True)
class Message:
    kind: str  # task_failed, deadline_missed, alerts
    subject: str
    text: str
    fields: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"source": SOURCE, "kind": self.kind, "subject": self.subject, "text": self.text, **self.fields}


def _redact(text: str, secrets: Sequence[str]) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text[:MAX_ERROR_CHARS]


class Webhook:
    def __init__(self, conn: Any) -> None:
        extra = conn_extras(conn)
        host = (conn.host or "").strip()
        if not host:
            raise AlertDeliveryError(f"alert connection {conn.conn_id!r}: field host is empty (the webhook's URL)")
        base = host if "://" in host else f"{conn.conn_type}://{host}{f':{conn.port}' if conn.port else ''}"
        path = extra.get("endpoint") or (conn.schema if conn.schema not in (None, "", "http", "https") else "")
        self.url = f"{base.rstrip('/')}/{str(path).lstrip('/')}" if path else base
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise AlertDeliveryError(f"alert connection {conn.conn_id!r}: field host does not give an http(s) URL")
        self.shown = f"webhook {parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"
        self.headers = {str(k): str(v) for k, v in (extra.get("headers") or {}).items()}
        self.auth = (conn.login, conn.password or "") if conn.login else None
        self.timeout = _timeout(conn, extra, 10.0)
        path_and_query = self.url[len(f"{parts.scheme}://{parts.netloc}"):]
        self.secrets = [self.url, path_and_query if len(path_and_query) > 1 else "", parts.netloc if "@" in parts.netloc
                        else "", conn.password or "", *self.headers.values()]

    def send(self, message: Message) -> None:
        response = requests.post(self.url, json=message.payload(), headers=self.headers, auth=self.auth,
                                 timeout=self.timeout)
        if response.status_code >= 300:
            raise AlertDeliveryError(f"{self.shown} answered HTTP {response.status_code}")


def _timeout(conn: Any, extra: dict[str, Any], default: float) -> float:
    value = extra.get("timeout", default)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        seconds = 0.0
    if not seconds > 0:
        raise AlertDeliveryError(f"alert connection {conn.conn_id!r}: extra field timeout is {value!r}; give a "
                                 "number of seconds above 0")
    return seconds


class Email:
    PORTS = {"starttls": 587, "ssl": 465, "none": 25}

    def __init__(self, conn: Any) -> None:
        extra = conn_extras(conn)
        self.security = str(extra.get("security", "starttls")).lower()
        if self.security not in self.PORTS:
            raise AlertDeliveryError(f"alert connection {conn.conn_id!r}: extra field security is "
                                     f"{self.security!r}; use starttls, ssl or none")
        recipients = extra.get("to") or []
        self.recipients = [r.strip() for r in (recipients.split(",") if isinstance(recipients, str) else recipients)
                           if r.strip()]
        self.sender = extra.get("from") or conn.login
        for name, value in (("host", conn.host), ("extra to", self.recipients), ("extra from", self.sender)):
            if not value:
                raise AlertDeliveryError(f"alert connection {conn.conn_id!r}: field {name} is empty")
        self.host, self.port = conn.host, int(conn.port or self.PORTS[self.security])
        self.login, self.password = conn.login, conn.password
        self.timeout = _timeout(conn, extra, 30.0)
        self.shown = f"email via {self.host}:{self.port} to {len(self.recipients)} recipient(s)"
        self.secrets = [conn.password or ""]

    def send(self, message: Message) -> None:
        email = EmailMessage()
        email["Subject"], email["From"], email["To"] = message.subject, self.sender, ", ".join(self.recipients)
        email.set_content(message.text)
        smtp_class = smtplib.SMTP_SSL if self.security == "ssl" else smtplib.SMTP
        kwargs = {"context": ssl.create_default_context()} if self.security == "ssl" else {}
        with smtp_class(self.host, self.port, timeout=self.timeout, **kwargs) as smtp:
            if self.security == "starttls":
                smtp.starttls(context=ssl.create_default_context())
            if self.login and self.password:
                smtp.login(self.login, self.password)
            smtp.send_message(email)


def transport_for(conn: Any) -> Webhook | Email:
    """The delivery the connection's type names."""
    kind = (conn.conn_type or "").lower()
    if kind in ("http", "https"):
        transport: Webhook | Email = Webhook(conn)
    elif kind in ("smtp", "email"):
        transport = Email(conn)
    else:
        raise AlertDeliveryError(f"alert connection {conn.conn_id!r}: conn_type {conn.conn_type!r} is not one this "
                                 "project delivers to; use http/https (webhook) or smtp (email)")
    for secret in transport.secrets:
        mask(secret)
    return transport


def _missing(conn_id: str, exc: BaseException) -> AlertDeliveryError:
    help_text = CONNECTION_HELP.format(id=conn_id.upper())
    if isinstance(exc, AirflowNotFoundException):
        return AlertDeliveryError(f"alert connection {conn_id!r} is not defined: {help_text}")
    return AlertDeliveryError(f"alert connection {conn_id!r} could not be read ({type(exc).__name__}): {help_text}")


def _send(transport: Webhook | Email, message: Message) -> str:
    try:
        transport.send(message)
    except AlertDeliveryError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure is the same for the caller: not delivered
        raise AlertDeliveryError(f"{transport.shown}: not delivered: {type(exc).__name__}: "
                                 f"{_redact(str(exc), transport.secrets)}") from None
    return transport.shown


def deliver(message: Message, conn_id: str = DEFAULT_CONN_ID) -> str:
    """Send ``message`` through the connection ``conn_id``; where it went (for the log, no secret)."""
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception as exc:  # noqa: BLE001 - not found, or the secrets backend failed: both are said
        raise _missing(conn_id, exc) from None
    return _send(transport_for(conn), message)


async def adeliver(message: Message, conn_id: str = DEFAULT_CONN_ID) -> str:
    """``deliver`` for the triggerer: the connection is read asynchronously, the send runs in a thread."""
    try:
        conn = await BaseHook.aget_connection(conn_id)
    except Exception as exc:  # noqa: BLE001
        raise _missing(conn_id, exc) from None
    return await asyncio.to_thread(_send, transport_for(conn), message)


# -- what the messages say ------------------------------------------------------------------------------

def _base_url() -> str:
    return conf.get("api", "base_url", fallback="http://localhost:8080/").rstrip("/")


def run_url(dag_id: str, run_id: str) -> str:
    return f"{_base_url()}/dags/{dag_id}/runs/{quote(run_id, safe='')}"


def _shareable(text: str) -> str:
    """An error's text fit to leave Airflow: the secrets Airflow masks in task logs masked here too, and
    URL query values redacted (Commerce searches carry buyer emails, pre-signed URLs signatures)."""
    return redact_query_values(str(redact(text)))[:MAX_ERROR_CHARS]


def task_failure_message(context: Any, hint: str | None) -> Message:
    """A failed task: the DAG, the run, the task and its map index name (the store or seller account it
    worked for), the error, the log URL and what to do."""
    ti = context["ti"]
    mapped_for = getattr(ti, "rendered_map_index", None) or (
        f"map index {ti.map_index}" if ti.map_index is not None and ti.map_index >= 0 else None)
    task = f"{ti.task_id}" + (f" [{mapped_for}]" if mapped_for else "")
    exc = context.get("exception")
    error = f"{type(exc).__name__}: {_shareable(str(exc))}" if exc is not None else "no error recorded"
    what_to_do = hint or "Read the task's log, and the DAG's documentation (its page in the Airflow UI)."
    log_url = getattr(ti, "log_url", None)
    text = "\n".join([
        f"DAG {ti.dag_id}, run {ti.run_id}: task {task} failed after {ti.try_number} attempt(s).",
        f"Store: {mapped_for or '(not a per-store task)'}", f"Error: {error}", f"Log: {log_url}",
        f"What to do: {what_to_do}"])
    return Message("task_failed", f"[sales channel] {ti.dag_id}: {task} failed", text, {
        "dag_id": ti.dag_id, "run_id": ti.run_id, "task_id": ti.task_id, "map_index": ti.map_index,
        "store": mapped_for, "try_number": ti.try_number, "error": error, "log_url": log_url,
        "what_to_do": what_to_do})


def deadline_message(context: Any, hint: str | None, deadline_minutes: float | None) -> Message:
    """A run that has not finished by its deadline (the triggerer's context: the DAG run and the deadline)."""
    run = context.get("dag_run") or {}
    dag_id, run_id = run.get("dag_id", "?"), run.get("dag_run_id") or run.get("run_id", "?")
    deadline = (context.get("deadline") or {}).get("deadline_time")
    limit = f" ({deadline_minutes:g} minutes after it was queued)" if deadline_minutes else ""
    what_to_do = ("Open the run: a task still running is slow or stuck (its log says where); a task waiting for "
                  "a worker means the workers or pools are full. " + (hint or ""))
    url = run_url(dag_id, run_id) if dag_id != "?" and run_id != "?" else None
    text = "\n".join([
        f"DAG {dag_id}, run {run_id} has not finished by its deadline {deadline}{limit}; "
        f"state {run.get('state', 'unknown')}, queued {run.get('queued_at')}.",
        f"Run: {url}", f"What to do: {what_to_do.strip()}"])
    return Message("deadline_missed", f"[sales channel] {dag_id}: run {run_id} missed its deadline", text, {
        "dag_id": dag_id, "run_id": run_id, "deadline": str(deadline), "deadline_minutes": deadline_minutes,
        "state": run.get("state"), "run_url": url, "what_to_do": what_to_do.strip()})


def alerts_message(raised: Sequence[Any], cleared: Sequence[Any], dag_id: str, run_id: str) -> Message:
    """The health checks' new alerts (each naming its store, the figure and what to do) and, briefly,
    the ones that cleared."""
    lines = [f"{len(raised)} new alert(s), {len(cleared)} cleared (DAG {dag_id}, run {run_id})."]
    for alert in raised:
        lines += ["", f"[{alert.severity.upper()}] {alert.message}", f"What to do: {alert.action}"]
    if cleared:
        lines += ["", "Cleared:"] + [f"- {alert.message.split(':')[0]}: {alert.check_key} is fine again"
                                     for alert in cleared]
    scopes = sorted({a.scope for a in (*raised, *cleared)})
    subject = (f"[sales channel] {len(raised)} alert(s) for {', '.join(scopes)}" if raised
               else f"[sales channel] cleared: {', '.join(scopes)}")
    return Message("alerts", subject, "\n".join(lines), {
        "dag_id": dag_id, "run_id": run_id, "run_url": run_url(dag_id, run_id),
        "alerts": [{"id": a.id, "check": a.check_key, "scope": a.scope, "severity": a.severity,
                    "message": a.message, "action": a.action, "since": a.first_raised_at.isoformat()}
                   for a in raised],
        "cleared": [{"id": a.id, "check": a.check_key, "scope": a.scope} for a in cleared]})


class SalesChannelNotifier(BaseNotifier):
    """Tells a person that a task of this project failed (sync: ``on_failure_callback``) or that a run
    missed its deadline (async: a ``DeadlineAlert``'s ``AsyncCallback``), through ``conn_id``.

    It never raises: a message that cannot be delivered is logged as an error with the reason."""

    def __init__(self, conn_id: str = DEFAULT_CONN_ID, hint: str | None = None,
                 deadline_minutes: float | None = None, context: Any = None) -> None:
        super().__init__(context)
        self.conn_id, self.hint, self.deadline_minutes = conn_id, hint, deadline_minutes

    def notify(self, context: Any) -> None:
        try:
            message = task_failure_message(context, self.hint)
            self.log.info("alert sent (%s): %s", deliver(message, self.conn_id), message.subject)
        except Exception as exc:  # noqa: BLE001 - the task's own outcome must stand whatever happens here
            self.log.error("ALERT NOT DELIVERED for this failure: %s", exc)

    async def async_notify(self, context: Any) -> None:
        try:
            message = deadline_message(context, self.hint, self.deadline_minutes)
            self.log.info("alert sent (%s): %s", await adeliver(message, self.conn_id), message.subject)
        except Exception as exc:  # noqa: BLE001
            self.log.error("ALERT NOT DELIVERED for a missed deadline: %s", exc)
