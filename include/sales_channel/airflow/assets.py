"""The assets this project's DAGs produce and consume (one definition each, shared by the DAG files)."""

from __future__ import annotations

from airflow.sdk import Asset

AMAZON_ORDERS = Asset("amazon_orders")
"""Emitted by the import when an account's orders were read: the status sync runs on it too."""

AMAZON_RECONCILIATION = Asset("amazon_reconciliation")
"""Emitted by the daily reconciliation when it has finished: the order-activity report runs after it."""
