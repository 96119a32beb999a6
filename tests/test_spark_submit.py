"""The pipeline's jobs through spark-submit, as a cluster runs them: `make dist` builds
the bundle (packages zipped for --py-files, an entry file, conf/, the jar list), and
the stages run through it with a local master from a folder outside the repository: ingest
as a spark-submit of its own (with another --master than the profile's), then the whole
pipeline as one more (ingest again, a no-op, then clean, features, train, promote and score,
all in the submitted JVM: the same entry file and code paths a submit per stage takes,
without four more cold starts). (That exit codes reach the caller under spark-submit:
tests/jobs/test_jobs.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from crosslake import lake
from crosslake.config import load_config
from tests.helpers import submit_jvm_options

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


def submit(dist: Path, cwd: Path, *argv: str, master: str = "local[2]") -> subprocess.CompletedProcess:
    jars = (dist / "jars.txt").read_text().strip()
    cmd = [str(BIN / "spark-submit"), "--master", master, *submit_jvm_options(), "--jars", jars,
           "--py-files", str(dist / "crosslake.zip"), *argv]
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONWARNINGS": "ignore::FutureWarning"}
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


def test_pipeline_jobs_run_through_spark_submit(dist, tmp_path, spark):
    corpus, lake_root = tmp_path / "aclImdb", tmp_path / "lake"
    common = ["--profile", "test", "--lake-root", str(lake_root), "--set", f"source.path={corpus}",
              "--set", "train.epochs=1"]
    from jobs import generate

    # the corpus is set-up, not what is tested: written by this process (no process start)
    assert generate.main(["--train", "300", "--test", "100", "--unsup", "10", *common]) == 0
    for stage in ("ingest", "pipeline"):
        master = "local[1]" if stage == "ingest" else "local[2]"
        done = submit(dist, tmp_path, str(dist / "crosslake_submit.py"), stage, *common, master=master)
        output = done.stdout + done.stderr
        assert done.returncode == 0, f"{stage}: {output[-3000:]}"
        # the code that ran is the bundle's, not the checkout's (the venv also has it installed)
        assert f"crosslake_submit: code from {dist / 'crosslake.zip'}/crosslake" in output
        assert f"master {master})" in output  # spark-submit's --master wins over the profile's local[2]
    cfg = load_config("test", lake_root=str(lake_root))
    assert lake.read_table(spark, cfg, "predictions").count() > 0
    runs = lake.read_table(spark, cfg, "runs").orderBy("started_at").collect()
    assert [r.job for r in runs] == ["ingest", "pipeline", "ingest", "clean", "features", "train", "promote", "score"]
    assert all(r.status == "success" for r in runs)
    pipeline = runs[1].run_id
    assert runs[0].parent_run_id is None and {r.parent_run_id for r in runs[2:]} == {pipeline}
    assert lake.current_version(spark, cfg.table_path("bronze")) == 0  # the second ingest: every file landed already

