"""`make run`: the sandboxes with seeded orders + `airflow standalone` (SQLite, LocalExecutor).

Runs in the foreground. Ctrl-C (or SIGTERM) stops every process it started: Airflow runs in its own
process group, which is stopped as a whole (stopping `airflow standalone` by its pid alone leaves its
workers behind).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW_HOME = ROOT / "airflow_home"
STATE_DIR = ROOT / "var" / "sandbox"
BIN = Path(sys.executable).parent
AIRFLOW_PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))
AMAZON_PORT = int(os.environ.get("SANDBOX_AMAZON_PORT", "8701"))
COMMERCE_PORT = int(os.environ.get("SANDBOX_COMMERCE_PORT", "8702"))
ORDERS = int(os.environ.get("SANDBOX_ORDERS", "200"))
TIME_SCALE = os.environ.get("SANDBOX_TIME_SCALE", "1")


def airflow_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        # `airflow standalone` starts its components as `airflow ...` commands: they must be this venv's.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        # The demo should import right away: new DAGs start unpaused.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__API__PORT": str(AIRFLOW_PORT),
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
    })
    return env


def admin_password() -> str:
    """A stable local password for the `admin` user, kept in the (git-ignored) Airflow home."""
    path = AIRFLOW_HOME / "simple_auth_manager_passwords.json.generated"
    if path.exists():
        return json.loads(path.read_text())["admin"]
    password = secrets.token_urlsafe(12)
    path.write_text(json.dumps({"admin": password}))
    return password


def connections(sandbox: dict[str, str]) -> dict[str, dict]:
    """The Airflow connections that point the pipelines at the sandboxes."""
    return {
        "amazon_sp_api_default": {
            "conn_type": "amazon_sp_api",
            "description": "Amazon SP-API sandbox (local)",
            "host": sandbox["amazon_url"],
            "login": sandbox["lwa_client_id"],
            "password": sandbox["lwa_client_secret"],
            "extra": json.dumps({"refresh_token": sandbox["refresh_token"], "seller_id": "SANDBOXSELLER1",
                                 "marketplace_id": "ATVPDKIKX0DER", "rate_scale": float(TIME_SCALE)}),
        },
        "adobe_commerce_default": {
            "conn_type": "adobe_commerce",
            "description": "Adobe Commerce sandbox (local)",
            "host": sandbox["commerce_url"],
            "password": sandbox["commerce_token"],
            "extra": json.dumps({"store_code": "default"}),
        },
        "sales_channel_db": {
            "conn_type": "sales_channel_db",
            "description": "The channel database (SQLite, embedded default)",
            "host": str(AIRFLOW_HOME / "sales_channel.db"),
        },
    }


def stores(connected_since: datetime) -> dict[str, dict]:
    """The demo's stores: US and Japan into the USD store view, Germany and Sweden into the EUR one."""
    common = {"amazon_conn_id": "amazon_sp_api_default", "commerce_conn_id": "adobe_commerce_default",
              "connected_since": connected_since.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return {
        "us": {**common, "marketplace_ids": ["ATVPDKIKX0DER", "A1VC38T7YXB528"], "store_code": "default",
               "store_id": 1},
        "eu": {**common, "marketplace_ids": ["A1PA6795UKMFR9", "A2NODRKZP88ZB9"], "store_code": "de",
               "store_id": 2, "order_number_source": "amazon", "order_number_prefixes": {"fba": "FBA-"}},
    }


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    AIRFLOW_HOME.mkdir(exist_ok=True)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    env = airflow_env()
    started: list[subprocess.Popen] = []

    def stop_all(*_: object) -> None:
        for proc in reversed(started):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 20
        for proc in started:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)

    signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops everything, like Ctrl-C
    try:
        sandbox_proc = subprocess.Popen(
            [sys.executable, "-m", "sales_channel.sandbox", "--amazon-port", str(AMAZON_PORT),
             "--commerce-port", str(COMMERCE_PORT), "--orders", str(ORDERS), "--time-scale", TIME_SCALE,
             "--state-dir", str(STATE_DIR)],
            stdout=subprocess.PIPE, text=True, start_new_session=True)
        started.append(sandbox_proc)
        sandbox = json.loads(sandbox_proc.stdout.readline())
        print(f"Sandboxes up: Amazon {sandbox['amazon_url']}, Commerce {sandbox['commerce_url']}", flush=True)

        subprocess.run([BIN / "airflow", "db", "migrate"], env=env, check=True, stdout=subprocess.DEVNULL)
        conn_file = AIRFLOW_HOME / "sandbox_connections.json"
        conn_file.write_text(json.dumps(connections(sandbox), indent=2))
        subprocess.run([BIN / "airflow", "connections", "import", "--overwrite", str(conn_file)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        # The stores' settings are seeded once; later edits by an ops person are kept (skip existing).
        variables = AIRFLOW_HOME / "sandbox_variables.json"
        since = datetime.now(UTC) - timedelta(days=30)
        variables.write_text(json.dumps({"sales_channel_stores": json.dumps(stores(since), indent=2)}))
        subprocess.run([BIN / "airflow", "variables", "import", "--action-on-existing-key", "skip", str(variables)],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        password = admin_password()

        log = open(AIRFLOW_HOME / "standalone.log", "a")  # noqa: SIM115 - lives as long as Airflow
        airflow_proc = subprocess.Popen([BIN / "airflow", "standalone"], env=env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        started.append(airflow_proc)
        url = f"http://localhost:{AIRFLOW_PORT}"
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if airflow_proc.poll() is not None:
                print(f"airflow standalone exited; see {AIRFLOW_HOME / 'standalone.log'}", file=sys.stderr)
                return 1
            try:
                if requests.get(f"{url}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            time.sleep(1)
        print(f"\nAirflow UI: {url}   login: admin / {password}\n"
              f"Logs: {AIRFLOW_HOME / 'standalone.log'}   Stop with Ctrl-C.\n", flush=True)
        while all(proc.poll() is None for proc in started):
            time.sleep(1)
        print("a process stopped unexpectedly; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
