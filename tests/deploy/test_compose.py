"""docker-compose.yaml and the Dockerfile, checked offline (docker is only a client here: no engine, no
compose plugin).

The file is validated against the Compose Specification's own JSON Schema (vendored under
tests/contract/models/compose/), then for what the schema cannot know: every Airflow service runs the
CeleryExecutor with the same JWT secret and Fernet key references and reaches the execution API on the API
server; the broker, result backend and connections point at services that exist (the sandbox through its
loopback alias, the channel database on a database of its own), the usage plans live in Redis, every
`depends_on` target exists and has what its condition waits for, the sandbox service starts the package's
own CLI with the ports the connections use, and no secret is written in the file: each comes from .env,
documented by .env.example.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from sales_channel.sandbox.__main__ import parse_args as sandbox_args
from sales_channel.sandbox.common.config import DEFAULT_CREDENTIALS

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests" / "contract" / "models" / "compose" / "compose-spec.json"
COMPOSE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-worker", "airflow-triggerer"}
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}; $$ is a literal $.
VARIABLE = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")
SECRET_NAME = re.compile(r"(PASSWORD|SECRET|TOKEN|FERNET_KEY)$", re.IGNORECASE)


def example_env() -> dict[str, str]:
    """.env.example's variables; an empty one (a secret to fill in) gets a stand-in value."""
    env = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip() or f"<{name.strip()}>"
    return env


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable interpolation; a required variable that .env.example lacks is an error."""
    if isinstance(value, dict):
        return {key: interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        name, op, arg = match["name"], match["op"], match["arg"]
        if name in env and (env[name] or not (op or "").startswith(":")):
            return env[name]
        if op and op.endswith("-"):
            return arg
        raise AssertionError(f"${{{name}}} is required by docker-compose.yaml but not in .env.example")

    return VARIABLE.sub(one, value.replace("$$", "\0")).replace("\0", "$")


@pytest.fixture(scope="module")
def raw() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def compose(raw: dict[str, Any]) -> dict[str, Any]:
    return interpolate(raw, example_env())


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.partition("=")[::2] for item in env)
    return {key: str(value) for key, value in env.items()}


def connections(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {key.removeprefix("AIRFLOW_CONN_").lower(): json.loads(value)
            for key, value in environment(service).items() if key.startswith("AIRFLOW_CONN_")}


def hostnames(compose: dict[str, Any]) -> dict[str, str]:
    """Every name a service is reached by on the project's network (its name, its aliases) → the service."""
    names = {}
    for name, service in compose["services"].items():
        names[name] = name
        for network in (service.get("networks") or {}).values():
            for alias in (network or {}).get("aliases", []):
                names[alias] = name
    return names


def test_the_file_is_valid_against_the_compose_specification(raw: dict[str, Any]):
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in jsonschema.Draft7Validator(schema).iter_errors(raw)]
    assert errors == []


def test_the_schema_rejects_what_compose_rejects():
    """The vendored schema is the strict one: a misspelt key fails (so the test above can fail)."""
    schema = json.loads(SCHEMA.read_text())
    broken = {"services": {"web": {"image": "x", "depends_on": {"db": {"condition": "service_healthy"}},
                                   "helthcheck": {"test": ["CMD", "true"]}}}}
    assert not jsonschema.Draft7Validator(schema).is_valid(broken)


def test_the_official_services_are_there_and_share_the_celery_setup(raw, compose):
    services = compose["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis", "sandbox"} <= set(services)
    names = hostnames(compose)
    shared = {key: {environment(raw["services"][name]).get(key) for name in AIRFLOW_SERVICES}
              for key in ("AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__CORE__FERNET_KEY")}
    for key, references in shared.items():
        assert len(references) == 1 and VARIABLE.fullmatch(references.pop() or ""), f"{key} differs or is literal"
    for name in AIRFLOW_SERVICES:
        env = environment(services[name])
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        api = urlsplit(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
        assert (names.get(api.hostname), api.port, api.path) == ("airflow-apiserver", 8080, "/execution/"), name
        broker = urlsplit(env["AIRFLOW__CELERY__BROKER_URL"])
        assert broker.scheme == "redis" and services[names[broker.hostname]]["image"].startswith("redis"), name
        backend = env["AIRFLOW__CELERY__RESULT_BACKEND"]
        assert backend.startswith("db+postgresql"), name
        assert names.get(urlsplit(backend.removeprefix("db+")).hostname) == "postgres", name
        assert names.get(urlsplit(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).hostname) == "postgres", name
        mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in services[name]["volumes"]
                  if volume.startswith("./")}
        assert {target: mounts.get(target) for target in ("/opt/airflow/dags", "/opt/airflow/plugins",
                                                             "/opt/airflow/logs", "/opt/airflow/config")} == {
            "/opt/airflow/dags": "./dags", "/opt/airflow/plugins": "./plugins",
            "/opt/airflow/logs": "./logs", "/opt/airflow/config": "./config"}, name
    api_server = services["airflow-apiserver"]
    assert api_server["command"] == "api-server" and "/api/v2/monitor/health" in " ".join(api_server["healthcheck"]["test"])
    worker = services["airflow-worker"]
    assert worker["command"] == "celery worker"
    # --scale airflow-worker=N: nothing that only one container can have.
    assert "container_name" not in worker and "ports" not in worker and "hostname" not in worker


def test_the_connections_point_at_services_that_exist(compose):
    names = hostnames(compose)
    services = compose["services"]
    sandbox = sandbox_args(services["sandbox"]["command"][3:])  # the package's own CLI accepts them
    assert services["sandbox"]["command"][:3] == ["python", "-m", "sales_channel.sandbox"]
    for name in AIRFLOW_SERVICES:
        conns = connections(services[name])
        assert set(conns) == {"amazon_sp_api_default", "adobe_commerce_default", "sales_channel_db"}, name
        for conn_id, port in (("amazon_sp_api_default", sandbox.amazon_port),
                              ("adobe_commerce_default", sandbox.commerce_port)):
            url = urlsplit(conns[conn_id]["host"])
            assert (names.get(url.hostname), url.port) == ("sandbox", port), conn_id
            assert url.hostname == sandbox.public_host  # the URLs the sandbox hands out reach it too
            assert url.hostname.endswith(".localhost")  # the only non-IP names sandbox credentials go to
        channel = conns["sales_channel_db"]
        metadata = urlsplit(environment(services[name])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).path.strip("/")
        assert names.get(channel["host"]) == "postgres" and channel["schema"] not in ("", metadata), name
        store = urlsplit(conns["amazon_sp_api_default"]["extra"]["rate_limit_store"])
        assert store.scheme == "redis" and names.get(store.hostname) == "redis", name
    init_sql = [v.split(":")[0] for v in services["postgres"]["volumes"] if "docker-entrypoint-initdb.d" in v]
    assert len(init_sql) == 1
    created = re.findall(r"CREATE DATABASE (\w+)", (ROOT / init_sql[0]).read_text())
    assert created == [connections(services["airflow-worker"])["sales_channel_db"]["schema"]]


def test_depends_on_targets_exist_with_what_their_condition_waits_for(compose):
    services = compose["services"]
    for name, service in services.items():
        for target, condition in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on unknown {target}"
            if condition["condition"] == "service_healthy":
                assert services[target].get("healthcheck", {}).get("test"), f"{name} waits for {target}'s health"
            elif condition["condition"] == "service_completed_successfully":
                assert services[target].get("restart") == "no", f"{target} is a one-off step"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert services[name]["healthcheck"]["test"], name
    for name in AIRFLOW_SERVICES - {"airflow-init", "airflow-apiserver"}:
        assert services[name]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy", name
    init = " ".join(services["airflow-init"]["command"])
    assert "airflow db migrate" in init and "python -m sales_channel migrate --conn-id sales_channel_db" in init


def test_no_secret_is_written_in_the_file(raw):
    text = COMPOSE.read_text()
    published = [value for value in DEFAULT_CREDENTIALS.values() if len(value) > 8]
    assert [value for value in published if value in text] == []

    def check(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                if SECRET_NAME.search(str(key)) and isinstance(item, str):
                    assert VARIABLE.fullmatch(item.strip()), f"{where}.{key} is not a ${{...}} reference"
                check(item, f"{where}.{key}")
        elif isinstance(value, list):
            for index, item in enumerate(value):
                check(item, f"{where}[{index}]")
        elif isinstance(value, str):
            masked = VARIABLE.sub("REF", value)
            for url in re.findall(r"[a-z0-9+]+://[^\s\"']+", masked):
                assert urlsplit(url).password in (None, "REF"), f"{where}: a password in {url}"
            for field in ("password", "refresh_token"):  # inside a connection's JSON
                for found in re.findall(rf'"{field}":\s*"([^"]*)"', value):
                    assert VARIABLE.fullmatch(found), f"{where}: a literal {field}"

    check(raw, "compose")
    example = (ROOT / ".env.example").read_text()
    for name in ("POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY", "AIRFLOW_ADMIN_PASSWORD"):
        assert re.search(rf"^{name}=$", example, re.MULTILINE), f".env.example must leave {name} empty"


def test_the_image_is_airflow_3_3_2_with_the_requirements_installed():
    lines = [line.strip() for line in (ROOT / "Dockerfile").read_text().splitlines()
             if line.strip() and not line.lstrip().startswith("#")]
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert froms == ["apache/airflow:3.3.2"]
    assert any(line.startswith("COPY") and "requirements.txt" in line for line in lines)
    assert any(line.startswith("RUN") and "pip install" in line and "-r requirements.txt" in line for line in lines)
    assert not any("_PIP_ADDITIONAL_REQUIREMENTS" in line for line in lines)
    assert "_PIP_ADDITIONAL_REQUIREMENTS" not in COMPOSE.read_text()
    requirements = (ROOT / "requirements.txt").read_text().splitlines()
    assert "apache-airflow==3.3.2" in requirements and requirements[-1] == "-e ."
    assert any(re.fullmatch(r"apache-airflow-providers-celery==[\d.]+", line) for line in requirements)
