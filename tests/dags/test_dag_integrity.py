"""Every DAG file imports cleanly, follows the project's conventions and reads nothing at parse time."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])
DAG_FILES = sorted(p for p in DAGS_FOLDER.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS_FOLDER))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}


@pytest.mark.parametrize("dag_file", DAG_FILES, ids=lambda p: p.name)
def test_every_dag_follows_conventions(dagbag, dag_file):
    dags = [d for d in dagbag.dags.values() if Path(d.fileloc).name == dag_file.name]
    assert dags, f"{dag_file.name} defines no DAG"
    for dag in dags:
        assert dag.doc_md and len(dag.doc_md) > 200, f"{dag.dag_id}: doc_md must tell an ops person what to do"
        assert dag.tags, f"{dag.dag_id}: tags"
        assert dag.catchup is False, f"{dag.dag_id}: catchup=False"
        assert dag.start_date.tzinfo is not None and dag.start_date.utcoffset().total_seconds() == 0
        for task in dag.tasks:
            assert task.retries >= 2, f"{dag.dag_id}.{task.task_id}: retries >= 2"


def test_parsing_reads_no_connection_and_no_variable(airflow_db, monkeypatch):
    """Top-level DAG code runs at every parse: it must not touch connections, variables or the network."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import BaseHook, Variable

    touched = []

    def refuse(*args, **kwargs):
        touched.append(args)
        raise AssertionError("read at parse time")

    monkeypatch.setattr(BaseHook, "get_connection", classmethod(refuse))
    monkeypatch.setattr(Variable, "get", staticmethod(refuse))
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.import_errors == {} and touched == []
    assert len(bag.dags) == len(DAG_FILES)
