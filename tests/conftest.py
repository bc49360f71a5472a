"""Test-wide setup.

Airflow reads its configuration when first imported, so the environment is set here, at collection
time, before any test module imports it: a temporary AIRFLOW_HOME with a SQLite metadata database,
the project's dags/plugins folders, no examples, and a short default retry delay so DAG tests that
exercise retries do not wait minutes. The metadata database is migrated once per test run, by the
``airflow_db`` fixture that DAG tests use.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

ROOT = Path(__file__).resolve().parent.parent
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="sales-channel-airflow-"))
os.environ.update({
    "AIRFLOW_HOME": str(_AIRFLOW_HOME),
    "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME / 'airflow.db'}",
    "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
    "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
    "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    "AIRFLOW__CORE__UNIT_TEST_MODE": "True",
    "AIRFLOW__CORE__DEFAULT_TASK_RETRY_DELAY": "1",
    "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
})


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the temporary SQLite metadata database once per test run."""
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True,
                   stdout=subprocess.DEVNULL, env=dict(os.environ))
    return _AIRFLOW_HOME


@pytest.fixture
def sandbox_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., object]]:
    """Start a sandbox service (``"amazon"`` or ``"commerce"``) on a free port with fresh state.

    ``sandbox_factory("amazon", orders=50, time_scale=100)`` returns a started server whose ``url``
    and ``app`` are available; every server started is stopped when the test ends.
    ``in_process=False`` serves it from a child process instead of a thread.
    """
    from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS, SandboxConfig
    from sales_channel.sandbox.common.server import ProcessServer, ThreadServer

    servers: list = []

    def start(service: str, in_process: bool = True, **settings: object):
        settings.setdefault("credentials", dict(DEFAULT_CREDENTIALS))
        config = SandboxConfig(state_dir=tmp_path_factory.mktemp(f"{service}-state"), **settings)
        server = (ThreadServer if in_process else ProcessServer)(service, config)
        servers.append(server)
        return server.start()

    yield start
    for server in servers:
        server.stop()


@contextmanager
def postgres_schema(base_url: str) -> Iterator[str]:
    """A URL on a new, empty schema of ``base_url``'s database; the schema is dropped afterwards."""
    base = make_url(base_url)
    schema = f"sc_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, poolclass=NullPool)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield base.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """The URL of an empty (never migrated) channel database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'channel.db'}"
    else:
        with postgres_schema(request.getfixturevalue("postgres_url")) as url:
            yield url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """The PostgreSQL URL for the PostgreSQL variants of database tests (skipped when unset)."""
    url = os.environ.get("SALES_CHANNEL_TEST_DATABASE_URL")
    if not url:
        pytest.skip("SALES_CHANNEL_TEST_DATABASE_URL is not set: no PostgreSQL server to test against")
    return url


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis URL for the Redis variants of shared-store tests (skipped when unset)."""
    url = os.environ.get("SALES_CHANNEL_TEST_REDIS_URL")
    if not url:
        pytest.skip("SALES_CHANNEL_TEST_REDIS_URL is not set: no Redis server to test against")
    return url
