"""Fixtures shared by the whole test run.

- `spark`: one SparkSession for the run (local, UI off, 2 shuffle partitions), built
  exactly as the jobs build theirs, from the `test` profile, less its short-job JIT
  settings (this JVM is long-lived).
- `make_cfg`: the test profile's config with the lake (and source) under tmp_path.
- `postgres_server`, `s3_server`: one PostgreSQL and one S3 (moto) server per run, started
  lazily (only when a test asks for one) and stopped at the end. Tests are isolated by a
  fresh database (`postgres_server.fresh("lending")`) or bucket (`s3_server.fresh("name")`),
  not by a fresh server.
- `review_lake`: the review lake built ONCE per run (generate -> ingest -> clean ->
  features -> train -> score through the jobs' main(), in this process, on the test
  profile; sizes in tests/helpers.py). Read it, never write it: a test that writes (a
  re-run, a sweep, a second model) takes `review_lake_copy`, its own copy of the lake
  (shutil.copytree: a second, not a rebuild) reading the same corpus. So no test depends
  on another's leftovers, whatever the order.

The inner loop: `pytest -m "not slow"` leaves out the suites marked `slow`, those that
start the `crosslake` command, spark-submit, Airflow, a notebook or a browser in new
processes and run whole pipelines there (a few minutes each). `make test` runs them all;
nothing is deselected by default. Tests that draw random kill points or data use a fixed
seed (tests/helpers.py `random_seed`); CROSSLAKE_TEST_SEED=<n> or =random changes it, and
the seed used is printed.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")

from crosslake.config import Config, load_config  # noqa: E402
from tests.helpers import LAKE_CORPUS, LAKE_SETTINGS, lake_args  # noqa: E402


# `make test` runs on two workers, a test file at a time on one worker (pytest-xdist
# --dist loadfile: a file's module fixtures are built once); a worker takes the next file
# when it is done. The files that take minutes go first, longest first, so that the last
# file to start is a short one instead of a story of several processes (seconds measured
# on the two workers of the 2-core machine; the order matters, not the figures).
LONGEST_FIRST = (
    "tests/test_two_clusters.py",           # ~1000 s: spark-submit to a standalone cluster, processes and in-process runs on moto
    "tests/test_tabular_e2e.py",            # ~650 s: a pipeline process, then three in-process pipelines
    "tests/test_two_clusters_tabular.py",   # ~350 s: a pipeline process, then the scoring side on moto
    "tests/faults/test_sigkill.py",         # five processes killed, and the stages again
    "tests/test_notebook.py",               # the walkthrough headless
    "tests/test_pipeline_e2e.py",
    "tests/jobs/test_jobs.py",              # builds on the session review lake
    "tests/test_models_layer.py",
)


def pytest_collection_modifyitems(config, items):
    """Longest files first (LONGEST_FIRST), then the rest in their usual order; the tests of
    a file keep their order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.fixture(scope="session")
def spark():
    from dataclasses import replace

    from crosslake.session import build_session

    cfg = load_config("test")
    # This JVM lives for the whole run and does most of the tests' Spark work: C2's compiled
    # code pays back here. The test profile's short-job JIT settings (conf/test.yaml) are for
    # the jobs the tests start as processes.
    conf = {k: v for k, v in cfg.spark.conf.items() if k != "spark.driver.extraJavaOptions"}
    session = build_session("tests", replace(cfg, spark=replace(cfg.spark, conf=conf)))
    yield session
    session.stop()


@pytest.fixture
def make_cfg(tmp_path: Path):
    """Config for the test profile with the lake (and source) under tmp_path."""

    def make(*overrides: str) -> Config:
        return load_config("test", lake_root=str(tmp_path / "lake"),
                           overrides=[f"source.path={tmp_path / 'aclImdb'}", *overrides])

    return make


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL for the run; take fresh databases on it with `.fresh(name, ...)`."""
    from tests.postgres import Server

    server = Server()
    pg = server.start()
    yield pg
    server.stop()


@pytest.fixture(scope="session")
def s3_server():
    """One moto S3 server for the run (a bucket `crosslake-0` on it); take fresh buckets
    with `.fresh(name)`."""
    from tests import s3

    with s3.running("crosslake-0") as store:
        yield store


def _lake(root: Path, corpus: Path) -> SimpleNamespace:
    return SimpleNamespace(root=root, corpus=corpus, cfg=load_config("test", lake_root=str(root / "lake")),
                           args=lambda *extra: lake_args(root, *LAKE_SETTINGS, *extra, corpus=corpus))


@pytest.fixture(scope="session")
def review_lake(tmp_path_factory, spark) -> SimpleNamespace:
    """The review lake built once per run: `.root` (the lake is root/lake), `.corpus` (the
    generated aclImdb it was landed from), `.cfg`, and `.args(*extra)` (a job's arguments on
    it). Read only: take `review_lake_copy` to write."""
    from jobs import clean, features, generate, ingest, score, train

    root = tmp_path_factory.mktemp("review-lake")
    lake = _lake(root, root / "aclImdb")
    sizes = [f"--{k}={v}" for k, v in LAKE_CORPUS.items()]
    assert generate.main(lake.args(*sizes)) == 0
    for job in (ingest, clean, features, train, score):
        assert job.main(lake.args()) == 0, job.NAME
    return lake


@pytest.fixture
def review_lake_copy(review_lake, tmp_path) -> SimpleNamespace:
    """This test's own copy of the review lake (the corpus stays where it was landed from,
    so a re-run of ingest sees the same files)."""
    shutil.copytree(review_lake.root / "lake", tmp_path / "lake", symlinks=True)
    return _lake(tmp_path, review_lake.corpus)
