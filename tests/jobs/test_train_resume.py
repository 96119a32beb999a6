"""Training killed with SIGKILL resumes from its last checkpoint and ends where an
undisturbed run ends; the same config on the same data version gives the same metrics."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from crosslake.config import load_config
from jobs import clean, features, generate, ingest
from train.store import load_metadata

CROSSLAKE = str(Path(sys.executable).with_name("crosslake"))


def args(root: Path, *extra: str) -> list[str]:
    return ["--profile", "test", "--lake-root", str(root / "lake"), "--set", f"source.path={root / 'aclImdb'}",
            "--set", "train.epochs=4", "--set", "train.patience=0", *extra]


@pytest.fixture(scope="module")
def gold_lake(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("resume")
    assert generate.main(args(root, "--train", "400", "--test", "200", "--unsup", "0")) == 0
    for job in (ingest, clean, features):
        assert job.main(args(root)) == 0
    return root


def train(root: Path, *extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONWARNINGS": "ignore::FutureWarning"}
    return subprocess.Popen([CROSSLAKE, "train", *args(root, *extra)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, env=env, start_new_session=True)


def finish(proc: subprocess.Popen) -> str:
    out, _ = proc.communicate(timeout=900)
    assert proc.returncode == 0, out[-3000:]
    return out


def test_sigkilled_training_resumes_and_matches_an_undisturbed_run(gold_lake):
    cfg = load_config("test", lake_root=str(gold_lake / "lake"))
    finish(train(gold_lake))          # v1, undisturbed
    v1 = load_metadata(cfg.model_store, "sentiment_cnn", 1)

    # v2: a fresh run of the same config on the same data, killed once the second epoch's
    # checkpoint is on disk. Its first two epochs are a second undisturbed run of v1's, so the
    # equality below checks reproducibility (same config + same data = same metrics) and resume.
    proc = train(gold_lake, "--fresh")
    checkpoints = gold_lake / "lake" / "_checkpoints" / "sentiment_cnn"
    deadline = time.monotonic() + 600
    while not list(checkpoints.glob("*/epoch-0002.pt")):
        assert proc.poll() is None, "training ended before it could be killed"
        assert time.monotonic() < deadline, "no checkpoint appeared"
        time.sleep(0.2)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL
    out = finish(train(gold_lake))    # resumes (no --fresh: the checkpoint is used)
    assert "resuming from the checkpoint after epoch 2 of 4" in out
    v2 = load_metadata(cfg.model_store, "sentiment_cnn", 2)
    assert v2["metrics"]["resumed_from_epoch"] == 2
    assert v2["metrics"]["history"] == v1["metrics"]["history"]
    assert v2["metrics"]["test_accuracy"] == v1["metrics"]["test_accuracy"]
    assert not list(checkpoints.glob("*/*.pt"))  # cleared once the model was stored
    assert Path(cfg.model_store, "sentiment_cnn", "v2", "curves.png").stat().st_size > 10_000
    # the same settings on the same data again: the stored model is reused, nothing is retrained
    out = finish(train(gold_lake))
    assert "v2 was already trained with these settings" in out
    assert load_metadata(cfg.model_store, "sentiment_cnn", None)["version"] == 2
