"""Run by tests/test_airflow_dag.py with .venv-airflow's Python (Airflow is not in the project's
venv). Loads dags/ with Airflow's own DagBag and prints, as JSON on the last line: the import
errors, every task (command, upstream, retries, queue), what each crosslake exit code does to a
task, and the task states of a real `dag.test()` run in which the clean stage is blocked by data
quality (the commands replaced by shell stand-ins, so the run needs no Spark)."""

from __future__ import annotations

import json
import sys

from airflow.dag_processing.dagbag import DagBag

bag = DagBag(dag_folder=sys.argv[1])
out: dict = {"import_errors": {k: str(v) for k, v in bag.import_errors.items()}, "dags": sorted(bag.dags)}
dag = bag.dags.get("crosslake_pipeline")
if dag is not None:
    out["schedule"] = str(dag.schedule)
    out["max_active_runs"] = dag.max_active_runs
    out["tasks"] = {t.task_id: {"command": t.bash_command, "upstream": sorted(t.upstream_task_ids),
                                "retries": t.retries, "queue": t.queue} for t in dag.tasks}
    probe = dag.get_task("clean")
    probe.cwd = None
    outcomes = {}
    for code in range(5):
        probe.bash_command = f"exit {code}"
        try:
            probe.execute({})
            outcomes[code] = "success"
        except Exception as e:  # noqa: BLE001 - the class is what we report
            outcomes[code] = type(e).__name__
    out["exit_codes"] = outcomes
    for t in dag.tasks:
        t.cwd = None
        t.bash_command = "echo 'expectation failed'; exit 3" if t.task_id == "clean" else f"echo {t.task_id}"
    run = dag.test()
    out["blocked_run"] = {"state": str(run.state),
                          "tasks": {ti.task_id: [str(ti.state), ti.try_number] for ti in run.get_task_instances()}}
print(json.dumps(out))
