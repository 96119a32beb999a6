"""The whole pipeline, run as a user runs it (the `crosslake` command in a new process),
then checked against the tables it wrote."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from train.store import load_model

CROSSLAKE = str(Path(sys.executable).with_name("crosslake"))
# What the generator's deliberate mistakes must be quarantined for.
EXPECTED_CHECK = {
    "empty": "text_not_empty",
    "markup_only": "text_not_empty",
    "invalid_utf8": "valid_utf8",
    "bad_file_name": "file_name_is_id_rating_txt",
    "rating_contradicts_folder": "rating_fits_folder",
}


def crosslake(root: Path, *argv: str) -> subprocess.CompletedProcess:
    cmd = [CROSSLAKE, *argv, "--profile", "test", "--lake-root", str(root / "lake"),
           "--set", f"source.path={root / 'aclImdb'}"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore::FutureWarning"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    done = crosslake(root, "pipeline")
    return root, done.stdout, load_config("test", lake_root=str(root / "lake"))


def test_pipeline_reports_where_everything_is(run):
    root, out, cfg = run
    for name in ("bronze", "silver", "quarantine", "gold", "predictions"):
        assert f"{name}: {cfg.table_path(name)} (version 0" in out
    assert f"model: {cfg.model_store}/sentiment_cnn/v1" in out
    assert "test accuracy: CNN 0." in out and "baseline 0." in out
    assert "predictions: " in out and "rows" in out


def test_row_counts_add_up_and_every_malformed_file_is_quarantined_for_its_reason(run, spark):
    root, out, cfg = run
    manifest = json.loads((root / "aclImdb" / "crosslake_manifest.json").read_text())
    bronze, silver, quarantine = (lake.read_table(spark, cfg, t) for t in ("bronze", "silver", "quarantine"))
    n_files = sum(1 for p in (root / "aclImdb").rglob("*") if p.is_file() and p.parent.name in ("pos", "neg", "unsup"))
    assert bronze.count() == n_files  # nothing lost at the door, empty files included
    duplicates = bronze.count() - silver.count() - quarantine.count()
    assert duplicates >= manifest["duplicates"] > 0
    assert f"rows in {bronze.count():,} = published {silver.count():,} + quarantined {quarantine.count():,} " \
           f"+ duplicates dropped {duplicates:,}" in out
    got = {r.source_path.split("aclImdb/", 1)[1]: r.failed_checks for r in quarantine.collect()}
    assert set(got) == set(manifest["malformed"])
    for rel, kind in manifest["malformed"].items():
        assert EXPECTED_CHECK[kind] in got[rel], (rel, kind, got[rel])


def test_the_cnn_beats_the_linear_baseline(run):
    _, _, cfg = run
    metrics = load_model(cfg.model_store, "sentiment_cnn").metadata["metrics"]
    assert metrics["test_accuracy"] > metrics["baseline_test_accuracy"] + 0.02, metrics
    assert metrics["baseline_test_accuracy"] > 0.7  # a real baseline, not a broken one


def test_predictions_carry_model_and_input_versions(run, spark):
    _, _, cfg = run
    preds = lake.read_table(spark, cfg, "predictions")
    expected = lake.read_table(spark, cfg, "silver").filter(F.col("split").isin(*cfg.score.splits))
    assert preds.count() == expected.count()
    assert preds.join(expected, "review_id", "left_anti").count() == 0
    assert [tuple(r) for r in preds.select("model_version", "input_table", "input_version").distinct().collect()] \
        == [(1, "silver", 0)]
    labelled = preds.filter(F.col("label").isNotNull())
    accuracy = labelled.agg(F.avg((F.col("label") == F.col("prediction")).cast("double"))).first()[0]
    model_acc = load_model(cfg.model_store, "sentiment_cnn").metadata["metrics"]["test_accuracy"]
    assert abs(accuracy - model_acc) < 1e-9  # scoring tokenises exactly as training did


def test_new_files_advance_versions_and_old_versions_stay_readable(run, spark):
    root, _, cfg = run
    before = lake.read_table(spark, cfg, "silver").count()
    (root / "aclImdb" / "train" / "pos" / "77777_10.txt").write_text("A late arrival: the acting was superb.")
    crosslake(root, "ingest")
    crosslake(root, "clean")
    assert lake.current_version(spark, cfg.table_path("bronze")) == 1
    assert lake.current_version(spark, cfg.table_path("silver")) == 1
    assert lake.read_table(spark, cfg, "silver").count() == before + 1
    assert lake.read_table(spark, cfg, "silver", version=0).count() == before
    assert lake.read_table(spark, cfg, "silver").filter(F.col("review_id") == "train/pos/77777").count() == 1
