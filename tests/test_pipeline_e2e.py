"""The whole pipeline, run as a user runs it (the `crosslake` command in a new process),
then checked against the tables it wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from crosslake.errors import CrosslakeError
from tests.helpers import cli, lake_args
from train.store import load_model

pytestmark = pytest.mark.slow  # starts the crosslake command (or spark-submit, Airflow, ...) in new processes

# What the generator's deliberate mistakes must be quarantined for.
EXPECTED_CHECK = {
    "empty": "text_not_empty",
    "markup_only": "text_not_empty",
    "invalid_utf8": "valid_utf8",
    "bad_file_name": "file_name_is_id_rating_txt",
    "rating_contradicts_folder": "rating_fits_folder",
}


def crosslake(root: Path, *argv: str):
    """The crosslake command on root's lake and corpus, in a new process; it must succeed."""
    return cli(*argv, *lake_args(root), timeout=1200)


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


def test_pipeline_reports_the_scored_rows_and_their_accuracy(run, spark):
    _, out, cfg = run
    preds = lake.read_table(spark, cfg, "predictions")
    labelled = preds.filter(F.col("label").isNotNull())
    accuracy = labelled.agg(F.avg((F.col("label") == F.col("prediction")).cast("double"))).first()[0]
    assert f"predictions: {cfg.table_path('predictions')} (version 0, {preds.count():,} rows)\n" \
           f"  scored {preds.count():,} rows of silver version 0 with model v1; " \
           f"accuracy on the silver rows that have labels: {accuracy:.4f}" in out, out


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
    from jobs import clean, ingest

    root, _, cfg = run
    before = lake.read_table(spark, cfg, "silver").count()
    (root / "aclImdb" / "train" / "pos" / "77777_10.txt").write_text("A late arrival: the acting was superb.")
    for job in (ingest, clean):   # through main([...]) in this process: the command's own run is the pipeline's
        assert job.main(lake_args(root)) == 0, job.NAME
    assert lake.current_version(spark, cfg.table_path("bronze")) == 1
    assert lake.current_version(spark, cfg.table_path("silver")) == 1
    assert lake.read_table(spark, cfg, "silver").count() == before + 1
    assert lake.read_table(spark, cfg, "silver", version=0).count() == before
    assert lake.read_table(spark, cfg, "silver").filter(F.col("review_id") == "train/pos/77777").count() == 1


def test_promotion_compares_models_on_one_frozen_test_set_and_rolls_back(run, spark):
    import copy

    import torch

    from jobs import models
    from train import registry
    from train.store import save_model

    root, out, cfg = run
    # the pipeline promoted its first model: there was no production model yet
    assert registry.aliases(cfg.model_store, "sentiment_cnn") == {"candidate": 1, "production": 1}
    assert "promoted sentiment_cnn v1 to production: no production model yet" in out

    # A second registry on the same lake: v1 = the trained model with its head negated
    # (it predicts the opposite of every row), v2 = the trained model itself.
    good = load_model(cfg.model_store, "sentiment_cnn")
    flipped = copy.deepcopy(good.model)
    with torch.no_grad():
        flipped.head.weight.neg_()
        flipped.head.bias.neg_()
    keep = {k: good.metadata[k] for k in ("data", "metrics", "config")}
    save_model(cfg.model_store, "other", flipped, good.vocabulary, metadata=keep)
    save_model(cfg.model_store, "other", good.model, good.vocabulary, metadata=keep)
    other = load_config("test", lake_root=str(root / "lake"), overrides=["models.name=other"])

    assert models.run(spark, other, action="promote", version="1").promoted  # nothing in production yet
    result = models.run(spark, other, action="promote", version="2")
    decision = registry.decisions(other.model_store, "other")[-1]
    assert result.promoted and decision["promoted"] and decision["production_before"] == 1
    # complementary predictions on the same rows: the two accuracies add up to exactly 1
    assert abs(decision["candidate_accuracy"] + decision["production_accuracy"] - 1) < 1e-9
    assert decision["candidate_accuracy"] > 0.8 and decision["test_set"]["version"] == 0
    assert not models.run(spark, other, action="promote", version="1").promoted  # the worse one is refused
    assert registry.aliases(other.model_store, "other")["production"] == 2
    assert "v2" in models.run(spark, other, action="list") and "production" in models.run(spark, other, action="list")

    assert models.run(spark, other, action="rollback") == "rolled other production back from v2 to v1"
    assert registry.aliases(other.model_store, "other")["production"] == 1
    with pytest.raises(CrosslakeError, match="nothing to roll back to"):
        models.run(spark, other, action="rollback")
    actions = [(d["action"], d["promoted"]) for d in registry.decisions(other.model_store, "other")]
    assert actions == [("promote", True), ("promote", True), ("promote", False), ("rollback", True)]
