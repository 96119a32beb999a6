"""dags/crosslake_pipeline.py in real Airflow (its own venv, .venv-airflow): the DagBag loads it
without errors; the graph is ingest -> clean -> features -> train -> promote -> score; every task
runs a command the crosslake CLI accepts, on the side whose roles allow it; exit codes map to the
task states the DAG promises; and in a real `dag.test()` run a data-quality block stops everything
after clean, without retries."""

from __future__ import annotations

import importlib
import json
import os
import shlex
import subprocess
from pathlib import Path

import pytest

from crosslake.cli import build_parser
from crosslake.config import load_config

pytestmark = pytest.mark.slow  # starts the crosslake command (or spark-submit, Airflow, ...) in new processes

ROOT = Path(__file__).resolve().parents[1]
PYTHON = ROOT / ".venv-airflow/bin/python"
EXPECTED_STAGES = {"ingest": ["ingest"], "clean": ["clean"], "features": ["features"], "train": ["train"],
                   "promote": ["models", "promote"], "score": ["score"]}


@pytest.fixture(scope="module")
def probed(tmp_path_factory):
    if not PYTHON.exists():
        pytest.fail("no .venv-airflow: run `bash scripts/setup.sh airflow` (make test does)")
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"), "CROSSLAKE_HOME": str(ROOT)}
    subprocess.run([str(ROOT / ".venv-airflow/bin/airflow"), "db", "migrate"], env=env, check=True,
                   capture_output=True, timeout=300)
    done = subprocess.run([str(PYTHON), str(ROOT / "tests/airflow_probe.py"), str(ROOT / "dags")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_dag_loads_in_airflow_with_the_pipeline_graph(probed):
    assert probed["import_errors"] == {}
    assert probed["dags"] == ["crosslake_pipeline"]
    tasks = probed["tasks"]
    order = ["ingest", "clean", "features", "train", "promote", "score"]
    assert sorted(tasks) == sorted(order)
    for before, task in zip(order, order[1:]):
        assert tasks[task]["upstream"] == [before]
    assert tasks["ingest"]["upstream"] == []
    assert probed["max_active_runs"] == 1 and probed["schedule"] == "0 2 * * *"
    assert all(t["retries"] == 2 for t in tasks.values())


def test_every_task_runs_a_crosslake_command_on_the_side_that_may_run_it(probed):
    parser = build_parser()
    for task_id, task in probed["tasks"].items():
        argv = shlex.split(task["command"])
        assert argv[0] == f"{ROOT}/.venv/bin/crosslake", task["command"]
        args = parser.parse_args(argv[1:])           # SystemExit (a failure) if the CLI refuses it
        stage = argv[1]
        profile = argv[argv.index("--profile") + 1]
        assert argv[argv.index("--lock") + 1] == task_id     # a cron run of the stage makes it skip, exit 4
        roles = load_config(profile).cluster.roles
        role = getattr(importlib.import_module(f"jobs.{stage}"), "ROLE", None)
        assert role is None or role in roles, f"{task_id}: a {role} job under {profile} ({roles})"
        assert task["queue"] == ("scoring" if task_id == "score" else "training"), task_id
        # the exact command: the stage, its side's profile, its lock, and nothing else
        stage_args = EXPECTED_STAGES[task_id]
        side = "cloud-cpu" if task_id == "score" else "onprem-gpu"
        assert argv[1:] == [*stage_args, "--profile", side, "--lock", task_id], task["command"]
        assert (args.command, args.profile, args.lock, args.lake_root, args.set) == \
            (stage_args[0], side, task_id, None, []), vars(args)
        assert getattr(args, "action", None) == (stage_args[1] if len(stage_args) > 1 else None)


def test_exit_codes_become_the_task_states_the_dag_promises(probed):
    assert probed["exit_codes"] == {"0": "success", "1": "AirflowException", "2": "AirflowFailException",
                                    "3": "AirflowFailException", "4": "AirflowSkipException"}


def test_a_data_quality_block_stops_everything_after_clean_without_retries(probed):
    run = probed["blocked_run"]
    assert run["state"] == "failed"
    states = {task: state for task, (state, _) in run["tasks"].items()}
    assert states == {"ingest": "success", "clean": "failed", "features": "upstream_failed",
                      "train": "upstream_failed", "promote": "upstream_failed", "score": "upstream_failed"}
    assert run["tasks"]["clean"][1] == 1, "a data-quality block is not retried"
