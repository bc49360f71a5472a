"""Run the pipelines without Airflow (scripts, benchmarks, the concurrency tests), and small
operations on the channel database:

    python -m sales_channel import --settings stores.json (--account CONN_ID | --store us) --amazon-url URL \\
        --commerce-url URL --db-url sqlite:///channel.db [--rate-scale F] [--workers W] [--budget-seconds S]
    python -m sales_channel sku-map --db-url URL --account amazon_sp_api_default [AMAZON_SKU [COMMERCE_SKU]]
    python -m sales_channel migrate (--db-url URL | --conn-id sales_channel_db)

Credentials come from the environment (never the command line, which other users can read):
SP_API_CLIENT_ID, SP_API_CLIENT_SECRET, SP_API_REFRESH_TOKEN, COMMERCE_TOKEN. Prints the run's summary
as one JSON object.

``migrate`` brings the channel database to this code's schema: a deployment step (``make run`` runs it),
since Airflow tasks only check the schema. ``import`` and ``sku-map``, their own deployment, migrate first.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

from sales_channel.amazon.auth import LwaCredentials
from sales_channel.domain.settings import parse_settings
from sales_channel.pipeline.outbox_work import DEFAULT_SETTLE
from sales_channel.pipeline.standalone import open_account_import
from sales_channel.store.channel_store import ChannelStore
from sales_channel.store.migrate import current_revision, head_revision, migrate


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"environment variable {name} is required")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sales_channel", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("import", help="import one seller account's orders (one run, like one DAG run)")
    run.add_argument("--settings", type=Path, required=True, help="the stores' settings (JSON file)")
    which = run.add_mutually_exclusive_group(required=True)
    which.add_argument("--account", help="the seller account (amazon_conn_id): all its active stores")
    which.add_argument("--store", help="a store: its seller account's active stores")
    run.add_argument("--amazon-url", required=True)
    run.add_argument("--commerce-url", required=True)
    run.add_argument("--db-url", required=True)
    run.add_argument("--rate-scale", type=float, default=1.0)
    run.add_argument("--workers", type=int, default=8)
    run.add_argument("--lease-seconds", type=float, default=900,
                     help="how long a create claim of a worker that died blocks the others")
    run.add_argument("--settle-seconds", type=float, default=DEFAULT_SETTLE.total_seconds(),
                     help="how long an ambiguous create is left to land before it is looked up again")
    run.add_argument("--budget-seconds", type=float, default=None,
                     help="stop reading new pages after this long (the window continues next run)")
    skus = sub.add_parser("sku-map", help="list, set or remove the Commerce SKU of an Amazon seller SKU")
    skus.add_argument("--db-url", required=True)
    skus.add_argument("--account", required=True, help="the seller account (its Airflow connection id)")
    skus.add_argument("--remove", action="store_true", help="remove the mapping of AMAZON_SKU")
    skus.add_argument("amazon_sku", nargs="?")
    skus.add_argument("commerce_sku", nargs="?")
    schema = sub.add_parser("migrate", help="bring the channel database to this code's schema (idempotent)")
    target = schema.add_mutually_exclusive_group(required=True)
    target.add_argument("--db-url", help="a SQLAlchemy URL, e.g. postgresql://user@host/db or sqlite:///path")
    target.add_argument("--conn-id", help="an Airflow connection (e.g. sales_channel_db), read as tasks read it")
    args = parser.parse_args(argv)
    if args.command == "sku-map":
        return sku_map(args)
    if args.command == "migrate":
        return migrate_database(args)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)

    stores = parse_settings(args.settings.read_text())
    account = args.account or stores[args.store].amazon_conn_id
    group = [store for store in stores.values() if store.amazon_conn_id == account and store.active]
    if not group:
        raise SystemExit(f"no active store of seller account {account!r} in {args.settings}")
    credentials = LwaCredentials(_env("SP_API_CLIENT_ID"), _env("SP_API_CLIENT_SECRET"), _env("SP_API_REFRESH_TOKEN"))
    migrate(args.db_url)
    deadline = time.monotonic() + args.budget_seconds if args.budget_seconds else None
    with open_account_import(group, amazon_url=args.amazon_url, commerce_url=args.commerce_url, db_url=args.db_url,
                             credentials=credentials, commerce_token=_env("COMMERCE_TOKEN"),
                             rate_scale=args.rate_scale, workers=args.workers,
                             lease=timedelta(seconds=args.lease_seconds),
                             settle=timedelta(seconds=args.settle_seconds)) as run:
        summary = run.run(run.plan_window(), deadline=deadline)
    print(json.dumps(summary.to_json()), flush=True)
    return 0


def migrate_database(args: argparse.Namespace) -> int:
    if args.conn_id:  # Airflow only when asked for
        from airflow.models import Connection

        from sales_channel.airflow.hooks.channel_db import ChannelDatabaseHook

        # A command, not a task: the connection is read as Airflow's own CLI reads it (environment,
        # secrets backends, then the metadata database), not through a task's supervisor.
        conn = Connection.get_connection_from_secrets(args.conn_id)  # noqa: AIR311 - the SDK's needs a task
        url = ChannelDatabaseHook(args.conn_id).url_of(conn)
    else:
        url = args.db_url
    before = current_revision(url)
    migrate(url)
    print(f"channel database: {before or 'empty'} -> {head_revision()}", flush=True)
    return 0


def sku_map(args: argparse.Namespace) -> int:
    """Quarantined orders whose SKU is now mapped import on the next run."""
    channel = ChannelStore.open(args.db_url, migrate=True)
    try:
        if args.amazon_sku and args.commerce_sku:
            channel.skus.put(args.account, args.amazon_sku, args.commerce_sku)
        elif args.amazon_sku and args.remove:
            if not channel.skus.remove(args.account, args.amazon_sku):
                print(f"no mapping for {args.amazon_sku!r}", file=sys.stderr)
                return 1
        elif args.amazon_sku:
            mapped = channel.skus.get(args.account, args.amazon_sku)
            print(mapped or f"{args.amazon_sku} (not mapped: the same SKU in Commerce)")
            return 0
        for amazon_sku, commerce_sku in sorted(channel.skus.all(args.account).items()):
            print(f"{amazon_sku}\t{commerce_sku}")
        return 0
    finally:
        channel.close()


if __name__ == "__main__":
    sys.exit(main())
