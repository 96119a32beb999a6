"""crosslake on Airflow: ingest -> clean -> features -> train -> promote -> score, nightly.

Every task runs the README's own command (`crosslake STAGE --profile ...`, through BashOperator), so
an Airflow run, a cron line and a hand-typed command do the same thing. Airflow only adds the
schedule, the order, retries, and what each exit code means:

    0  success
    1  failed: retried twice, ten minutes apart
    2  bad usage or configuration: failed at once, no retry (a retry would fail the same way)
    3  blocked by data quality (the clean stage's gate): failed at once, no retry; the tasks
       after it do not run (upstream_failed), so nothing trains on data the gate refused
    4  skipped: another run of the same stage holds its lock

Two clusters: the training stages run on workers of the training side (Celery queue `training`),
scoring on the scoring side (queue `scoring`), each with its cluster's profile. Settings come from
the workers' environment:

    CROSSLAKE_HOME               the checkout with its .venv (default /srv/crosslake)
    CROSSLAKE_TRAINING_PROFILE   default onprem-gpu
    CROSSLAKE_SCORING_PROFILE    default cloud-cpu
"""

from __future__ import annotations

import os
import shlex
from datetime import datetime, timedelta

from airflow.exceptions import AirflowException, AirflowFailException
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

HOME = os.environ.get("CROSSLAKE_HOME", "/srv/crosslake")
PROFILES = {"training": os.environ.get("CROSSLAKE_TRAINING_PROFILE", "onprem-gpu"),
            "scoring": os.environ.get("CROSSLAKE_SCORING_PROFILE", "cloud-cpu")}
NO_RETRY = {2: "bad usage or configuration", 3: "blocked by data quality"}
SKIPPED = 4


class CrosslakeCommand(BashOperator):
    """A crosslake CLI command as a task, with crosslake's exit codes mapped to task states."""

    def __init__(self, *, task_id: str, args: list[str], side: str, **kwargs) -> None:
        # --lock: a cron or hand-started run of the same stage on this worker makes the task skip (4)
        command = [f"{HOME}/.venv/bin/crosslake", *args, "--profile", PROFILES[side], "--lock", task_id]
        super().__init__(task_id=task_id, bash_command=shlex.join(command),
                         cwd=HOME if os.path.isdir(HOME) else None, skip_on_exit_code=SKIPPED, queue=side, **kwargs)

    def execute(self, context):
        try:
            return super().execute(context)
        except AirflowException as failed:
            process = self.subprocess_hook.sub_process
            code = process.returncode if process is not None else None
            if code in NO_RETRY:
                raise AirflowFailException(f"crosslake exited {code} ({NO_RETRY[code]}): not retried") from failed
            raise


with DAG(
    dag_id="crosslake_pipeline",
    description="ingest -> clean -> features -> train -> promote (training side) -> score (scoring side)",
    schedule="0 2 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10), "owner": "crosslake"},
    tags=["crosslake"],
) as dag:
    ingest = CrosslakeCommand(task_id="ingest", args=["ingest"], side="training")
    clean = CrosslakeCommand(task_id="clean", args=["clean"], side="training")
    features = CrosslakeCommand(task_id="features", args=["features"], side="training")
    train = CrosslakeCommand(task_id="train", args=["train"], side="training",
                             execution_timeout=timedelta(hours=6))
    promote = CrosslakeCommand(task_id="promote", args=["models", "promote"], side="training")
    score = CrosslakeCommand(task_id="score", args=["score"], side="scoring")

    ingest >> clean >> features >> train >> promote >> score
