"""The pipeline through spark-submit, as a cluster runs it: `make dist` builds the bundle
(packages zipped for --py-files, an entry file, conf/, the jar list), and the pipeline
runs through it from a folder outside the repository, submitted to a real standalone
Spark cluster (tests/standalone.py: a master and two workers, separate JVMs with their
own work and local folders, started from a clean environment), not the profile's local
master. The lake is in the bucket. Ingest again (a no-op), then clean, features, train,
promote and score run in the submitted driver with their Spark work on the workers'
executors. The jars are on the nodes (spark.node_jars), not sent with the application:
nothing is copied into a worker's application folder. (That exit codes reach the caller
under spark-submit: tests/jobs/test_jobs.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crosslake import lake
from crosslake.config import load_config
from tests import s3, standalone
from tests.helpers import error_line, submit_jvm_options

pytestmark = pytest.mark.slow  # starts the crosslake command (or spark-submit, Airflow, ...) in new processes

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("bundle") / "dist"
    done = subprocess.run(["bash", str(ROOT / "scripts" / "build_dist.sh"), str(out)], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with standalone.running(tmp_path_factory.mktemp("standalone"), workers=2, cores=1, memory="1500m",
                            credentials=(s3.ACCESS_KEY, s3.SECRET_KEY)) as running:
        yield running


def submit(dist: Path, cwd: Path, *argv: str, master: str = "local[2]", node_jars: bool = False,
           env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """spark-submit the bundle. node_jars: the jars are installed on every node (here: the
    setup step's .jars/, which every worker can read) and named by path, as the README's
    cluster section does, instead of sent with --jars."""
    jars = (dist / "jars.txt").read_text().strip()
    shipped = (["--driver-class-path", jars.replace(",", os.pathsep),
                "--conf", f"spark.executor.extraClassPath={Path(jars.split(',')[0]).parent}/*"]
               if node_jars else ["--jars", jars])
    cmd = [str(BIN / "spark-submit"), "--master", master, *submit_jvm_options(), *shipped,
           "--py-files", str(dist / "crosslake.zip"), *argv]
    env = {**os.environ, **(env or {}), "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONWARNINGS": "ignore::FutureWarning"}
    env.pop("CROSSLAKE_CONF_DIR", None)
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900, env=env)


def test_the_bundle_holds_what_spark_submit_needs(dist):
    import zipfile

    names = zipfile.ZipFile(dist / "crosslake.zip").namelist()
    for module in ("crosslake/cli.py", "jobs/ingest.py", "transforms/features.py", "train/loop.py",
                   "serving/udf.py", "expectations/gold.py", "sources/imdb_reader.py"):
        assert module in names
    assert (dist / "conf" / "base.yaml").is_file() and (dist / "crosslake_submit.py").is_file()
    jars = (dist / "jars.txt").read_text().strip().split(",")
    assert all(Path(j).is_file() for j in jars) and any("delta-spark" in j for j in jars)
    assert list(dist.glob("crosslake-*.whl"))


def test_pipeline_jobs_run_through_spark_submit(dist, tmp_path, spark, cluster, s3_server):
    """The lake is in a bucket: the driver has the store's keys in its environment, the
    executors only what their node has (its credentials file)."""
    store = s3_server.fresh("submit")
    store.client().put_object(Bucket=store.bucket, Key="spark-events/")  # the event log's folder
    s3.attach(spark, store)
    corpus, lake_root = tmp_path / "aclImdb", store.uri("lake")
    common = ["--profile", "test", "--lake-root", lake_root, "--set", f"source.path={corpus}",
              "--set", "train.epochs=1"]
    from jobs import generate, ingest

    # the corpus and its landing are set-up, not what is tested: done by this process (no process start)
    assert generate.main(["--train", "300", "--test", "100", "--unsup", "10", *common]) == 0
    with s3.environment(store.env()):
        assert ingest.main(common) == 0
    events = ["--conf", "spark.eventLog.enabled=true", "--conf", f"spark.eventLog.dir={store.uri('spark-events')}",
              "--conf", "spark.eventLog.compress=false"]
    done = submit(dist, tmp_path, *events, str(dist / "crosslake_submit.py"), "pipeline", *common,
                  master=cluster.url, node_jars=True, env=store.env())
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    # the code that ran is the bundle's, not the checkout's (the venv also has it installed)
    assert f"crosslake_submit: code from {dist / 'crosslake.zip'}/crosslake" in output
    assert f"master {cluster.url})" in output  # spark-submit's --master wins over the profile's local[2]
    cfg = load_config("test", lake_root=lake_root)
    assert lake.read_table(spark, cfg, "predictions").count() > 0
    runs = lake.read_table(spark, cfg, "runs").orderBy("started_at").collect()
    assert [r.job for r in runs] == ["ingest", "pipeline", "ingest", "clean", "features", "train", "promote", "score"]
    assert all(r.status == "success" for r in runs)
    pipeline = runs[1].run_id
    assert runs[0].parent_run_id is None and {r.parent_run_id for r in runs[2:]} == {pipeline}
    assert lake.current_version(spark, cfg.table_path("bronze")) == 0  # the second ingest: every file landed already

    # the pipeline's Spark work ran on the cluster: its application, with executors on both workers ...
    (app,) = [a for a in cluster.applications() if a["name"] == "crosslake-pipeline"]
    assert app["state"] == "FINISHED" and app["cores"] >= 2
    folders = [p for p in cluster.work_dirs() if p.name == app["id"]]
    assert len(folders) == 2, folders
    # ... where its tasks ran: the application's event log (written to the bucket) has tasks
    # finished on executors of both workers, none on the driver
    events = [json.loads(line) for key in store.keys("spark-events/")
              for line in store.client().get_object(Bucket=store.bucket, Key=key)["Body"].read().splitlines()]
    tasks = [e["Task Info"] for e in events if e["Event"] == "SparkListenerTaskEnd"]
    executors = {e["Executor ID"] for e in events if e["Event"] == "SparkListenerExecutorAdded"}
    assert len(executors) == 2 and {t["Executor ID"] for t in tasks} == executors and len(tasks) > 50
    logs = "".join(f.read_text(errors="replace") for folder in folders for f in folder.rglob("std*"))
    # ... and no jar was copied into either worker's folder for it: the jars are the node's
    assert not [f for folder in folders for f in folder.rglob("*.jar")]
    assert sum(f.stat().st_size for folder in folders for f in folder.rglob("*") if f.is_file()) < 20 * 2**20
    # the executors wrote the tables into the bucket with their node's credentials, which no log shows
    assert any(k.startswith("lake/silver/reviews/_delta_log/") for k in store.keys())
    assert s3.SECRET_KEY not in logs and s3.SECRET_KEY not in output


def test_executors_without_credentials_fail_in_one_line(dist, tmp_path, cluster, s3_server):
    """The driver can reach the bucket, the executors cannot (their node's credentials file
    is not where the application says): one line that says what each node needs."""
    store = s3_server.fresh("submit-nokeys")
    corpus = tmp_path / "aclImdb"
    common = ["--profile", "test", "--lake-root", store.uri("lake"), "--set", f"source.path={corpus}"]
    from jobs import generate

    assert generate.main(["--train", "20", "--test", "10", "--unsup", "0", *common]) == 0
    done = submit(dist, tmp_path, "--conf", "spark.executorEnv.AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
                  "--conf", "spark.task.maxFailures=1", str(dist / "crosslake_submit.py"), "ingest", *common,
                  master=cluster.url, node_jars=True, env=store.env())
    assert done.returncode == 1, done.stderr[-3000:]
    line = error_line(done.stdout + done.stderr)  # spark-submit passes the Python driver's stderr on as its stdout
    assert "no credentials for the object store were found where the work ran" in line
    assert "AWS_SHARED_CREDENTIALS_FILE" in line and s3.SECRET_KEY not in done.stdout + done.stderr
