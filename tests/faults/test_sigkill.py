"""SIGKILL at random points of ingest, clean, train and score: running again completes, and
every table and the model equal those of an undisturbed run, row for row, bit for bit.

Each killed run is the `crosslake` command in its own process group (the JVM goes down
with it, as when a node dies), killed at a point drawn from a seeded generator over the
stage's undisturbed duration, counted from the moment its Spark session is up: reading,
the model's epochs and the commits are all fair game. One kill in train waits for the
first epoch's checkpoint, so resuming is always exercised. The undisturbed run and the
re-runs use this test process's session (`main([...])`, as a notebook would run them),
which keeps the test inside CI's time. The kill points come from a fixed default seed, so
a run replays as is; CROSSLAKE_TEST_SEED=<seed> picks other points and
CROSSLAKE_TEST_SEED=random draws a new seed (widening the coverage over time). The seed
used is printed, and a failure names it.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from crosslake import lake
from crosslake.config import load_config
from jobs import clean, features, ingest, models, score, train
from tests.helpers import CROSSLAKE, random_seed
from train.store import kind_of, load_metadata, versions

pytestmark = pytest.mark.slow  # starts the crosslake command (or spark-submit, Airflow, ...) in new processes

STAGES = (("ingest", ingest, ()), ("clean", clean, ()), ("features", features, ()), ("train", train, ()),
          ("promote", models, ("promote",)), ("score", score, ()))
KILLED = ("ingest", "clean", "train", "train", "score")   # train twice: once anywhere, once after a checkpoint
TABLES = ("bronze", "silver", "quarantine", "vocabulary", "gold", "predictions")
SMALL = ["--set", "train.epochs=3", "--set", "train.patience=0"]
SEED = random_seed()


def args(root: Path, corpus: Path, *argv: str) -> list[str]:
    return [*argv, "--profile", "test", "--lake-root", str(root / "lake"), "--set", f"source.path={corpus}", *SMALL]


def kill_during(root: Path, corpus: Path, stage: str, delay: float, until=None) -> str:
    """Run `stage` as the crosslake command; SIGKILL its process group `delay` s after its
    Spark session is up (and `until()` holds). Returns what happened, for the record."""
    argv = ("models", "promote") if stage == "promote" else (stage,)
    env = {**os.environ, "PYTHONWARNINGS": "ignore::FutureWarning"}
    proc = subprocess.Popen([CROSSLAKE, *args(root, corpus, *argv)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    ready = threading.Event()

    def watch() -> None:  # read every line, so a full pipe never stalls the run before its kill
        for line in proc.stdout:
            if " session for " in line:
                ready.set()

    threading.Thread(target=watch, daemon=True).start()
    deadline = time.monotonic() + 600
    while not (ready.is_set() and (until is None or until())) and proc.poll() is None:
        assert time.monotonic() < deadline, f"{stage}: never got to its kill point"
        time.sleep(0.05)
    end = time.monotonic() + delay
    while time.monotonic() < end and proc.poll() is None:
        time.sleep(0.05)
    if proc.poll() is not None:
        return f"{stage}@{delay:.1f}s (finished first)"
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return f"{stage}@{delay:.1f}s"


def contents(spark, cfg) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the columns that say when or by which run."""
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()
    out = {}
    for name in TABLES:
        df = lake.read_table(spark, cfg, name)
        kept = [c for c in df.columns if c not in cfg.table(name).volatile and not c.endswith("run_id")]
        out[name] = sorted(tuple(str(v) for v in row) for row in df.select(*kept).collect())
    return out


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("kill-corpus")
    from jobs import generate

    assert generate.main(args(root, root / "aclImdb", "--train", "300", "--test", "120", "--unsup", "20")) == 0
    return root / "aclImdb"


def test_sigkilled_stages_rerun_to_the_undisturbed_result(corpus, tmp_path, spark, capsys):
    rng = random.Random(SEED)
    with capsys.disabled():
        print(f"\nkill seed {SEED} (CROSSLAKE_TEST_SEED={SEED} replays this run)")
    calm, killed = tmp_path / "undisturbed", tmp_path / "killed"
    took = {}
    for stage, job, argv in STAGES:
        started = time.monotonic()
        assert job.main(args(calm, corpus, *argv)) == 0, stage
        took[stage] = time.monotonic() - started

    kills = []
    for stage, job, argv in STAGES:
        for i in range(KILLED.count(stage)):
            if stage == "train" and i == 1:   # after the first epoch's checkpoint: a resume follows
                checkpoints = killed / "lake" / "_checkpoints" / "sentiment_cnn"
                kills.append(kill_during(killed, corpus, stage, rng.uniform(0, 2),
                                         until=lambda: any(checkpoints.glob("*/epoch-0001.pt"))))
            else:
                kills.append(kill_during(killed, corpus, stage, rng.uniform(0.0, 0.8) * took[stage]))
        capsys.readouterr()
        assert job.main(args(killed, corpus, *argv)) == 0, (stage, SEED, kills)
        if stage == "train":  # resumed; or the killed run had stored the model already: reused
            expect = "already trained" if "finished first" in kills[-1] else "resuming from the checkpoint after epoch"
            assert expect in capsys.readouterr().err, (SEED, kills)
    with capsys.disabled():
        print(f"\nkill points (seed {SEED}): {', '.join(kills)}")
    assert sum("finished first" not in k for k in kills) >= len(KILLED) - 2, (SEED, kills)

    a = load_config("test", lake_root=str(calm / "lake"))
    b = load_config("test", lake_root=str(killed / "lake"))
    expected, got = contents(spark, a), contents(spark, b)
    for name in TABLES:
        assert len(got[name]) == len(expected[name]) > 0, (name, SEED, kills)
        assert got[name] == expected[name], (name, SEED, kills)
    # the same models: on each side one complete CNN and one complete baseline of it (a kill
    # inside an upload can cost a version number, never a second model), the CNN's weights
    # the same bit for bit and the baseline's accuracy the same
    def stored(c) -> dict[str, dict]:
        metas = [load_metadata(c.model_store, "sentiment_cnn", v) for v in versions(c.model_store, "sentiment_cnn")]
        kinds = sorted(kind_of(m) for m in metas)
        assert kinds == ["text_cnn", "tfidf_logreg"], (kinds, SEED, kills)
        return {kind_of(m): m for m in metas}

    side_a, side_b = stored(a), stored(b)
    meta_a, meta_b = side_a["text_cnn"], side_b["text_cnn"]
    assert side_a["tfidf_logreg"]["baseline_of"] == meta_a["version"], (SEED, kills)
    assert side_b["tfidf_logreg"]["baseline_of"] == meta_b["version"], (SEED, kills)
    base_a, base_b = side_a["tfidf_logreg"]["metrics"], side_b["tfidf_logreg"]["metrics"]
    assert base_b["test_rows"] == base_a["test_rows"] > 0, (SEED, kills)
    assert abs(base_b["test_accuracy"] - base_a["test_accuracy"]) <= 0.01, (SEED, kills)  # Spark ML, same rows
    kept = versions(b.model_store, "sentiment_cnn")
    assert meta_b["weights_sha256"] == meta_a["weights_sha256"], (SEED, kills)
    assert meta_b["metrics"]["history"] == meta_a["metrics"]["history"]
    assert not list((killed / "lake" / "_checkpoints" / "sentiment_cnn").glob("*/*.pt"))  # cleared once stored
    # the same settings on the same data again: the stored model is reused, nothing retrained
    capsys.readouterr()
    assert train.main(args(killed, corpus)) == 0
    assert f"v{meta_b['version']} was already trained with these settings" in capsys.readouterr().err
    assert versions(b.model_store, "sentiment_cnn") == kept
