"""`make run`: the sandboxes with seeded orders + Airflow (SQLite, LocalExecutor): the API server, then the
scheduler, the DAG processor and the triggerer (what `airflow standalone` runs, but in order: standalone starts
them all at once, and a task the scheduler starts before the API server answers fails calling the execution
API and waits minutes for its retry).

Runs in the foreground. Ctrl-C (or SIGTERM, SIGHUP) stops every process it started *and all their
descendants*: Airflow's task supervisors and task processes run in process groups of their own, so
stopping a process group (or an Airflow component by its pid) is not enough. The whole tree is
collected with psutil before anything is signalled (children re-parent when their parent exits), sent
SIGTERM, given `STOP_GRACE_SECONDS`, and what is left gets SIGKILL. The script returns only once every
one of them has exited and the ports it used are free, so an immediate second start finds them free.

Knobs (environment):

- `AIRFLOW_PORT` (8080): the API server / UI. `[api] port`, `[api] base_url` and
  `[core] execution_api_server_url` (where task workers call the execution API) all follow it.
- `SANDBOX_AMAZON_PORT` (8701), `SANDBOX_COMMERCE_PORT` (8702): the sandboxes; the connections follow.
- `SANDBOX_ORDERS` (200), `SANDBOX_TIME_SCALE` (1): the seed.
- `SALES_CHANNEL_RUN_HOME` (the repository): where `airflow_home/` and `var/sandbox/` live.
- Airflow's own `AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT` (8793) and
  `AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT` (8794) are honoured (and checked) like the others.
- `SALES_CHANNEL_CHANNEL_DB_URL`: the channel database (default: a SQLite file in the Airflow home).
- `SALES_CHANNEL_USAGE_PLAN_STORE`: a `redis://` URL for the Amazon usage-plan buckets (default: the
  channel database).

The scale-out shape on one machine: `SALES_CHANNEL_EXECUTOR=celery` runs the CeleryExecutor instead, with
`SALES_CHANNEL_METADATA_DB_URL` (PostgreSQL, `postgresql+psycopg2://...`; also the Celery result backend)
and `SALES_CHANNEL_BROKER_URL` (`redis://...`) required, and `SALES_CHANNEL_CELERY_WORKERS` (2) `airflow
celery worker` processes, each named `worker<i>@<host>` and logging to `airflow_home/celery-worker-<i>.log`.
The workers share this machine's log folder, so the first one's log server serves every task's log (the
others skip theirs, which would take the same port).
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import requests

ROOT = Path(__file__).resolve().parent.parent
RUN_HOME = Path(os.environ.get("SALES_CHANNEL_RUN_HOME") or ROOT).resolve()
AIRFLOW_HOME = RUN_HOME / "airflow_home"
STATE_DIR = RUN_HOME / "var" / "sandbox"
BIN = Path(sys.executable).parent
AIRFLOW_PORT = int(os.environ.get("AIRFLOW_PORT", "8080"))
AMAZON_PORT = int(os.environ.get("SANDBOX_AMAZON_PORT", "8701"))
COMMERCE_PORT = int(os.environ.get("SANDBOX_COMMERCE_PORT", "8702"))
WORKER_LOG_PORT = int(os.environ.get("AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT", "8793"))
TRIGGER_LOG_PORT = int(os.environ.get("AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT", "8794"))
ORDERS = int(os.environ.get("SANDBOX_ORDERS", "200"))
TIME_SCALE = os.environ.get("SANDBOX_TIME_SCALE", "1")
PORTS = {"Airflow API server": AIRFLOW_PORT, "Amazon sandbox": AMAZON_PORT, "Commerce sandbox": COMMERCE_PORT,
         "Airflow worker log server": WORKER_LOG_PORT, "Airflow triggerer log server": TRIGGER_LOG_PORT}
AIRFLOW_URL = f"http://localhost:{AIRFLOW_PORT}"
AFTER_API_SERVER = ("scheduler", "dag-processor", "triggerer")
EXECUTOR = os.environ.get("SALES_CHANNEL_EXECUTOR", "local").strip().lower()
CELERY_WORKERS = int(os.environ.get("SALES_CHANNEL_CELERY_WORKERS", "2"))
CHANNEL_DB_URL = os.environ.get("SALES_CHANNEL_CHANNEL_DB_URL", "")
USAGE_PLAN_STORE = os.environ.get("SALES_CHANNEL_USAGE_PLAN_STORE", "")
STOP_GRACE_SECONDS = 15.0  # SIGTERM → SIGKILL; a task may take a while to stop (or ignore SIGTERM)


def executor_env() -> dict[str, str]:
    """The metadata database and the executor: SQLite + LocalExecutor, or PostgreSQL + Redis + Celery."""
    if EXECUTOR == "local":
        return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{AIRFLOW_HOME / 'airflow.db'}",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor"}
    if EXECUTOR != "celery":
        raise SystemExit(f"SALES_CHANNEL_EXECUTOR={EXECUTOR!r}: use local (the default) or celery")
    missing = [name for name in ("SALES_CHANNEL_METADATA_DB_URL", "SALES_CHANNEL_BROKER_URL") if not os.environ.get(name)]
    if missing:
        raise SystemExit(f"SALES_CHANNEL_EXECUTOR=celery needs {' and '.join(missing)} (a PostgreSQL metadata "
                         "database and a Redis broker)")
    metadata = os.environ["SALES_CHANNEL_METADATA_DB_URL"]
    return {"AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": metadata,
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CELERY__BROKER_URL": os.environ["SALES_CHANNEL_BROKER_URL"],
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{metadata}",
            # Two cores run every worker here: a few task slots each (Celery's default is 16).
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": os.environ.get("AIRFLOW__CELERY__WORKER_CONCURRENCY", "4")}


def airflow_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        # Airflow's components start `airflow ...` commands of their own: they must be this venv's.
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AIRFLOW_HOME": str(AIRFLOW_HOME),
        **executor_env(),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        # The demo should import right away: new DAGs start unpaused.
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        # Every setting that carries the API server's address follows AIRFLOW_PORT: otherwise the task
        # workers call the execution API on :8080 (nothing there, or another Airflow).
        "AIRFLOW__API__PORT": str(AIRFLOW_PORT),
        "AIRFLOW__API__BASE_URL": AIRFLOW_URL,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{AIRFLOW_PORT}/execution/",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(WORKER_LOG_PORT),
        "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(TRIGGER_LOG_PORT),
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


def channel_db_path() -> Path:
    return AIRFLOW_HOME / "sales_channel.db"


def connections(sandbox: dict[str, str]) -> dict[str, dict]:
    """The Airflow connections that point the pipelines at the sandboxes (on the ports they serve)."""
    return {
        "amazon_sp_api_default": {
            "conn_type": "amazon_sp_api",
            "description": "Amazon SP-API sandbox (local)",
            "host": sandbox["amazon_url"],
            "login": sandbox["lwa_client_id"],
            "password": sandbox["lwa_client_secret"],
            "extra": json.dumps({"refresh_token": sandbox["refresh_token"], "seller_id": "SANDBOXSELLER1",
                                 "marketplace_id": "ATVPDKIKX0DER", "rate_scale": float(TIME_SCALE),
                                 **({"rate_limit_store": USAGE_PLAN_STORE} if USAGE_PLAN_STORE else {})}),
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
            "description": "The channel database" if CHANNEL_DB_URL else "The channel database (SQLite, embedded default)",
            "host": CHANNEL_DB_URL or str(channel_db_path()),
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


# --- processes -------------------------------------------------------------------------------------


def port_in_use(port: int) -> bool:
    """Something accepts connections on the port (IPv4 or IPv6 loopback)."""
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex((host, port)) == 0:
                return True
    return False


def _become_subreaper() -> bool:
    """Linux: orphaned descendants re-parent to this process instead of init, so none escapes the tree
    (and none is left a zombie where init does not reap)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


class ProcessTree:
    """Every process started here and every descendant seen since, stopped as one tree."""

    def __init__(self, adopt_orphans: bool = False) -> None:
        """`adopt_orphans`: this process is a subreaper (see `_become_subreaper`); everything below it
        belongs to the tree. Otherwise the tree is what `popen` started and their descendants."""
        self.me = psutil.Process()
        self.adopt_orphans = adopt_orphans
        self.started: list[subprocess.Popen] = []
        self.known: dict[tuple[int, float], psutil.Process] = {}
        self._hurry = False

    def popen(self, args: Sequence[str | os.PathLike], **kwargs) -> subprocess.Popen:
        # A session of its own: a Ctrl-C at the terminal reaches this script only, which stops the tree.
        proc = subprocess.Popen(args, start_new_session=True, **kwargs)
        self.started.append(proc)
        with contextlib.suppress(psutil.Error):
            child = psutil.Process(proc.pid)
            self.known.setdefault((child.pid, child.create_time()), child)
        self.track()
        return proc

    def run(self, args: Sequence[str | os.PathLike], **kwargs) -> None:
        """Run a step to completion (tracked like the rest, so a Ctrl-C during it stops it too)."""
        proc = self.popen(args, **kwargs)
        while proc.poll() is None:
            self.track()
            time.sleep(0.2)
        self.started.remove(proc)
        if proc.returncode:
            raise subprocess.CalledProcessError(proc.returncode, [str(a) for a in args])

    def track(self) -> list[psutil.Process]:
        """Record every live descendant (of this script and of anything seen before); return the live ones."""
        children: dict[int, list[psutil.Process]] = {}
        for proc in psutil.process_iter(["ppid"]):
            children.setdefault(proc.info["ppid"], []).append(proc)
        todo = [p.pid for p in self.started if p.returncode is None]  # not yet reaped: not a reused pid
        todo += [p.pid for p in self.known.values() if p.is_running()]  # is_running: not a reused pid
        if self.adopt_orphans:
            todo.append(self.me.pid)
        seen: set[int] = set()
        while todo:
            pid = todo.pop()
            if pid in seen:
                continue
            seen.add(pid)
            for child in children.get(pid, ()):
                with contextlib.suppress(psutil.Error):
                    self.known.setdefault((child.pid, child.create_time()), child)
                    todo.append(child.pid)
        self._reap()
        alive = []
        for key, proc in list(self.known.items()):
            try:
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
                    continue
            except psutil.Error:
                pass
            if not self._is_my_zombie(proc):
                del self.known[key]
        return alive

    def _is_my_zombie(self, proc: psutil.Process) -> bool:
        try:
            return proc.ppid() == self.me.pid and proc.status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def _reap(self) -> None:
        """Reap exited children: ours via Popen, adopted orphans (subreaper) via waitpid."""
        mine = {p.pid for p in self.started}
        for proc in self.started:
            proc.poll()
        if not self.adopt_orphans:
            return  # the others' zombies are their parents' to reap
        with contextlib.suppress(psutil.Error):
            for child in self.me.children():
                if child.pid in mine:
                    continue
                with contextlib.suppress(ChildProcessError, OSError, psutil.Error):
                    if child.status() == psutil.STATUS_ZOMBIE:
                        os.waitpid(child.pid, os.WNOHANG)

    def _signal(self, procs: list[psutil.Process], sig: int) -> None:
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                proc.send_signal(sig)  # psutil checks the pid is still the same process

    def _hurry_up(self, *_: object) -> None:
        self._hurry = True  # a second Ctrl-C during the stop: SIGKILL now

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM the whole tree, wait up to `grace`, SIGKILL what remains; return when all have exited."""
        handlers = {sig: signal.signal(sig, self._hurry_up) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        try:
            self._stop(grace)
        finally:
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    def _stop(self, grace: float) -> None:
        alive = self.track()  # collect the whole tree first: children re-parent once their parent exits
        signalled: set[int] = set()
        deadline = time.monotonic() + grace
        while alive and time.monotonic() < deadline and not self._hurry:
            fresh = [p for p in alive if p.pid not in signalled]
            self._signal(fresh, signal.SIGTERM)
            signalled.update(p.pid for p in fresh)
            time.sleep(0.2)
            alive = self.track()
        while alive:
            names = ", ".join(sorted({_name(p) for p in alive}))
            print(f"killing {len(alive)} process(es) that did not stop: {names}", file=sys.stderr, flush=True)
            self._signal(alive, signal.SIGKILL)
            time.sleep(0.2)
            alive = self.track()
        for proc in self.started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=5)
        self._reap()


def _name(proc: psutil.Process) -> str:
    try:
        return f"{proc.pid} {' '.join(proc.cmdline()[:3]) or proc.name()}"
    except psutil.Error:
        return str(proc.pid)


def wait_ports_free(ports: dict[str, int], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    busy = ports
    while busy and time.monotonic() < deadline:
        busy = {name: port for name, port in busy.items() if port_in_use(port)}
        if busy:
            time.sleep(0.2)
    for name, port in busy.items():
        print(f"port {port} ({name}) is still in use", file=sys.stderr, flush=True)


def _forward(stream, prefix: str) -> None:
    """Keep a child's pipe drained (it would block once full), echoing its lines."""
    for line in stream:
        print(f"{prefix} | {line.rstrip()}", flush=True)


# --- the run -------------------------------------------------------------------------------------


def start_celery_workers(tree: ProcessTree, env: dict[str, str]) -> list[subprocess.Popen]:
    """`SALES_CHANNEL_CELERY_WORKERS` workers on the default queue, each with a name and a log of its own."""
    workers = []
    for number in range(1, CELERY_WORKERS + 1):
        args = [BIN / "airflow", "celery", "worker", "--celery-hostname", f"worker{number}@%h"]
        if number > 1:
            args.append("--skip-serve-logs")  # the first worker's log server serves this machine's logs
        log = open(AIRFLOW_HOME / f"celery-worker-{number}.log", "a")  # noqa: SIM115 - lives as long as the worker
        workers.append(tree.popen(args, env=env, stdout=log, stderr=subprocess.STDOUT))
    return workers


def migrate_channel_db(tree: ProcessTree, env: dict[str, str]) -> None:
    """Bring the channel database (connection `sales_channel_db`, imported just before) to the code's
    schema, before Airflow starts: tasks only check the schema."""
    tree.run([sys.executable, "-m", "sales_channel", "migrate", "--conn-id", "sales_channel_db"], env=env,
             stdout=subprocess.DEVNULL)


def _interrupt(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> int:
    for sig in (signal.SIGTERM, signal.SIGHUP):  # like Ctrl-C: stop everything
        signal.signal(sig, _interrupt)
    busy = {name: port for name, port in PORTS.items() if port_in_use(port)}
    if busy:
        for name, port in busy.items():
            print(f"port {port} ({name}) is in use: stop what runs there, or choose another port "
                  "(AIRFLOW_PORT, SANDBOX_AMAZON_PORT, SANDBOX_COMMERCE_PORT)", file=sys.stderr)
        return 1
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    env = airflow_env()
    tree = ProcessTree(adopt_orphans=_become_subreaper())
    try:
        sandbox_proc = tree.popen(
            [sys.executable, "-m", "sales_channel.sandbox", "--amazon-port", str(AMAZON_PORT),
             "--commerce-port", str(COMMERCE_PORT), "--orders", str(ORDERS), "--time-scale", TIME_SCALE,
             "--state-dir", str(STATE_DIR)],
            stdout=subprocess.PIPE, text=True)
        first = sandbox_proc.stdout.readline()
        try:
            sandbox = json.loads(first)
        except json.JSONDecodeError:
            print(f"the sandboxes did not start: {first.strip() or 'no output'}", file=sys.stderr)
            return 1
        threading.Thread(target=_forward, args=(sandbox_proc.stdout, "sandbox"), daemon=True).start()
        print(f"Sandboxes up: Amazon {sandbox['amazon_url']}, Commerce {sandbox['commerce_url']}", flush=True)

        tree.run([BIN / "airflow", "db", "migrate"], env=env, stdout=subprocess.DEVNULL)
        conn_file = AIRFLOW_HOME / "sandbox_connections.json"
        conns = connections(sandbox)
        conn_file.write_text(json.dumps(conns, indent=2))
        tree.run([BIN / "airflow", "connections", "import", "--overwrite", str(conn_file)],
                 env=env, stdout=subprocess.DEVNULL)
        migrate_channel_db(tree, env)
        # The stores' settings are seeded once; later edits by an ops person are kept (skip existing).
        variables = AIRFLOW_HOME / "sandbox_variables.json"
        since = datetime.now(UTC) - timedelta(days=30)
        variables.write_text(json.dumps({"sales_channel_stores": json.dumps(stores(since), indent=2)}))
        tree.run([BIN / "airflow", "variables", "import", "--action-on-existing-key", "skip", str(variables)],
                 env=env, stdout=subprocess.DEVNULL)
        password = admin_password()

        log = open(AIRFLOW_HOME / "standalone.log", "a")  # noqa: SIM115 - lives as long as Airflow
        api_server = tree.popen([BIN / "airflow", "api-server"], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 300
        while True:
            tree.track()
            if api_server.poll() is not None:
                print(f"the Airflow API server exited; see {AIRFLOW_HOME / 'standalone.log'}", file=sys.stderr)
                return 1
            try:
                if requests.get(f"http://127.0.0.1:{AIRFLOW_PORT}/api/v2/monitor/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                print(f"the API server did not answer on :{AIRFLOW_PORT}; see {AIRFLOW_HOME / 'standalone.log'}",
                      file=sys.stderr)
                return 1
            time.sleep(1)
        airflow_procs = [api_server] + [tree.popen([BIN / "airflow", component], env=env, stdout=log,
                                                   stderr=subprocess.STDOUT) for component in AFTER_API_SERVER]
        if EXECUTOR == "celery":
            airflow_procs += start_celery_workers(tree, env)
        print(f"\nAirflow UI: {AIRFLOW_URL}   login: admin / {password}\n"
              f"Logs: {AIRFLOW_HOME / 'standalone.log'}   Stop with Ctrl-C.\n", flush=True)
        while sandbox_proc.poll() is None and all(proc.poll() is None for proc in airflow_procs):
            tree.track()  # descendants are recorded while still attached to the tree
            time.sleep(1)
        print("a process stopped unexpectedly; stopping the rest", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nStopping…", flush=True)
        return 0
    except subprocess.CalledProcessError as exc:
        print(f"failed: {' '.join(exc.cmd)} (exit {exc.returncode})", file=sys.stderr)
        return 1
    finally:
        tree.stop()
        wait_ports_free(PORTS)
        print("Stopped.", flush=True)


if __name__ == "__main__":
    sys.exit(main())
