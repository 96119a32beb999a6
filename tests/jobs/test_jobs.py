"""Each job through its main([...]), as spark-submit would run it, on a tiny corpus.

The lake the tests read is the session's `review_lake` (tests/conftest.py: generate ->
ingest -> clean -> features -> train -> score, built once); a test that writes to a lake
(a re-run, a sweep, more models) takes its own `review_lake_copy`."""

from __future__ import annotations

import json

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from jobs import clean, features, generate, ingest, score, tables, train
from tests.helpers import LAKE_CORPUS, one_line_error, submit_jvm_options
from train.scoring import load_scorer
from train.store import load_model, versions


def manifest(review_lake) -> dict:
    return json.loads((review_lake.corpus / "crosslake_manifest.json").read_text())


def test_ingest_lands_every_file_once(review_lake_copy, spark, capsys):
    built, args = review_lake_copy.cfg, review_lake_copy.args
    bronze = lake.read_table(spark, built, "bronze")
    assert bronze.count() == sum(LAKE_CORPUS.values()) + len(manifest(review_lake_copy)["malformed"])
    assert bronze.select("source_path").distinct().count() == bronze.count()
    assert bronze.filter(F.col("run_id").isNull() | F.col("ingest_time").isNull()).count() == 0
    # re-running on the same files adds nothing, says so, and commits no new version
    assert ingest.main(args()) == 0
    assert "0 added, 0 changed, 0 deleted" in capsys.readouterr().out
    assert lake.read_table(spark, built, "bronze").count() == bronze.count()
    assert lake.current_version(spark, built.table_path("bronze")) == 0


def test_clean_publishes_silver_and_quarantines_with_reasons(review_lake, spark):
    built = review_lake.cfg
    silver = lake.read_table(spark, built, "silver")
    quarantine = lake.read_table(spark, built, "quarantine")
    bronze = lake.read_table(spark, built, "bronze")
    assert silver.columns == ["review_id", "split", "label", "rating", "text", "content_hash", "source_path",
                              "ingest_run_id"]
    assert silver.filter(F.col("text").contains("<br")).count() == 0
    assert silver.select("content_hash").distinct().count() == silver.count()
    # every malformed file the generator planted is quarantined, and only those; every
    # repeated review it wrote is dropped as a duplicate; the rest is published
    planted = manifest(review_lake)
    assert quarantine.count() == len(planted["malformed"]) == 11
    dropped = bronze.count() - silver.count() - quarantine.count()
    assert dropped == planted["duplicates"] > 0
    assert silver.count() == sum(LAKE_CORPUS.values()) - planted["duplicates"]
    reasons = {r.file_name: r.failed_checks for r in quarantine.collect()}
    assert reasons["notes.txt"] == ["file_name_is_id_rating_txt"]
    assert reasons["90002_3.txt"] == ["valid_utf8"]
    assert reasons["90007_2.txt"] == ["rating_fits_folder"]
    assert {bytes(r.content) for r in quarantine.filter(F.col("file_name") == "90000_8.txt").collect()} == {b""}


def test_features_write_gold_and_vocabulary_with_versions(review_lake, spark):
    built = review_lake.cfg
    gold = lake.read_table(spark, built, "gold")
    vocab = lake.read_table(spark, built, "vocabulary")
    assert {r.n for r in gold.select(F.size("token_ids").alias("n")).distinct().collect()} == {200}
    assert gold.filter(F.col("label").isNull()).count() == 0
    assert {r.split for r in gold.select("split").distinct().collect()} == {"train", "validation", "test"}
    silver_v = lake.current_version(spark, built.table_path("silver"))
    assert {tuple(r) for r in gold.select("silver_version", "vocab_version").distinct().collect()} == \
           {(silver_v, lake.current_version(spark, built.table_path("vocabulary")))}
    assert vocab.agg(F.min("id")).first()[0] == 2


def test_train_saves_model_with_lineage(review_lake, spark):
    built = review_lake.cfg
    stored = load_model(built.model_store, built.models.name)
    meta = stored.metadata
    assert meta["data"]["gold_version"] == lake.current_version(spark, built.table_path("gold"))
    assert meta["data"]["rows"]["train"] == lake.read_table(spark, built, "gold").filter("split = 'train'").count()
    # the stored test accuracy is the stored model's on gold's test split, recomputed here (one
    # epoch on 300 reviews leaves the CNN near chance); the TF-IDF baseline is well above it
    import torch

    test_rows = lake.read_table(spark, built, "gold").filter("split = 'test'").select("token_ids", "label").collect()
    assert meta["data"]["rows"]["test"] == len(test_rows)
    with torch.no_grad():
        logits = stored.model.eval()(torch.tensor([r.token_ids for r in test_rows]))
    right = sum(int(p > 0) == r.label for p, r in zip(logits.tolist(), test_rows))
    assert abs(meta["metrics"]["test_accuracy"] - right / len(test_rows)) < 1e-9, meta["metrics"]
    assert meta["metrics"]["baseline_test_accuracy"] > 0.75, meta["metrics"]
    history = meta["metrics"]["history"]
    assert len(history) == 1 and history[0]["epoch"] == 1
    assert meta["config"]["train"]["epochs"] == 1 and meta["code_version"]
    assert len(stored.vocabulary) == lake.read_table(spark, built, "vocabulary").count()


def test_score_stamps_model_and_input_versions(review_lake, spark):
    built = review_lake.cfg
    preds = lake.read_table(spark, built, "predictions")
    silver = lake.read_table(spark, built, "silver").filter(F.col("split").isin("test", "unsup"))
    assert preds.count() == silver.count()
    stamps = preds.select("model_name", "model_version", "input_table", "input_version").distinct().collect()
    assert [tuple(r) for r in stamps] == [("sentiment_cnn", 1, "silver",
                                           lake.current_version(spark, built.table_path("silver")))]
    assert preds.filter((F.col("probability") < 0) | (F.col("probability") > 1)).count() == 0
    assert preds.filter(F.col("prediction") != (F.col("probability") >= 0.5).cast("int")).count() == 0


def test_rerunning_jobs_on_the_same_input_changes_nothing(review_lake_copy, spark):
    """Two more runs of every table-writing job: no table gets a new version, and every
    table holds exactly the rows it held (volatile run ids and timestamps aside). The
    second re-run starts from what the first left (its ledger rows, dq results), so
    nothing a re-run writes makes the next one differ; a third would repeat the second."""
    built, args = review_lake_copy.cfg, review_lake_copy.args
    names = ("bronze", "silver", "quarantine", "vocabulary", "gold", "predictions")

    def snapshot():
        out = {}
        for name in names:
            df = lake.read_table(spark, built, name).drop(*built.table(name).volatile)
            out[name] = (lake.current_version(spark, built.table_path(name)),
                         sorted(map(str, df.collect())))
        return out

    before = snapshot()
    for rebuild in ([], ["--rebuild"]):  # clean and features: skipped as up to date, then recomputed in full
        for job in (ingest, clean, features, score):
            assert job.main(args(*(rebuild if job in (clean, features) else []))) == 0, job.NAME
    after = snapshot()
    for name in names:
        assert after[name][0] == before[name][0], f"{name} got a new version"
        assert after[name][1] == before[name][1], f"{name} content changed"
    ledger = lake.read_table(spark, built, "runs").orderBy("finished_at").collect()
    skipped = [r.job for r in ledger if r.counts.get("up_to_date")]
    assert skipped == ["clean", "features"]  # the first re-run only: --rebuild recomputed


def test_a_stage_is_skipped_only_while_its_inputs_settings_code_and_outputs_are_as_built(review_lake_copy, spark,
                                                                                         capsys):
    """stages/freshness.py: each thing a build depends on, changed, makes the stage run again."""
    from delta.tables import DeltaTable

    from stages import freshness

    built, args = review_lake_copy.cfg, review_lake_copy.args

    def ran(job, *extra) -> bool:
        capsys.readouterr()
        assert job.main(args(*extra)) == 0, job.NAME
        return "up to date, nothing to do" not in capsys.readouterr().out

    assert not ran(clean) and not ran(features)
    assert not ran(clean, "--set", "train.epochs=7")                 # a setting of a later stage
    assert ran(clean, "--set", "clean.max_quarantine_fraction=0.9")   # a setting of clean's
    # a row deleted behind the stage's back: silver is rebuilt from bronze, the row back
    silver = DeltaTable.forPath(spark, built.table_path("silver"))
    some = silver.toDF().select("review_id").first().review_id
    silver.delete(F.col("review_id") == some)
    assert ran(clean)
    assert lake.read_table(spark, built, "silver").filter(F.col("review_id") == some).count() == 1
    assert ran(features)  # silver has a new version (the row's return)
    assert not ran(features)
    # code: the fingerprint covers every module of the data path
    changed = freshness.fingerprint(built)
    freshness._CODE_HASH = "another checkout"
    try:
        assert freshness.fingerprint(built) != changed and ran(features)
    finally:
        freshness._CODE_HASH = None
    assert freshness.fingerprint(built) == changed


def test_a_rerun_on_the_same_gold_fits_nothing_and_judges_nothing_again(review_lake_copy, spark, capsys,
                                                                          monkeypatch):
    """Train again on the same gold with the same settings: the stored model and baselines
    are the answer (no Spark ML fit, no epoch); promote again with nothing changed: the last
    verdict stands (no second judgement in the decision log). A new production model makes
    the next promotion judge again."""
    from jobs import models
    from train import registry, service

    built, args = review_lake_copy.cfg, review_lake_copy.args
    store, name = built.model_store, built.models.name
    assert train.main(args()) == 0  # the copy's gold is another table (its path): trained for it once
    assert models.main(args("promote")) == 0
    first = registry.decisions(store, name)
    assert len(first) == 1 and first[-1]["action"] == "promote"
    stored_before = versions(store, name)

    def refuse(*_a, **_k):
        raise AssertionError("fitted again on unchanged data")

    monkeypatch.setattr(service, "fit_baseline", refuse)
    monkeypatch.setattr(service, "_fit_here", refuse)
    capsys.readouterr()
    assert train.main(args()) == 0
    assert versions(store, name) == stored_before
    assert registry.aliases(store, name)["candidate"] == first[-1]["candidate"]
    assert models.main(args("promote")) == 0
    out = capsys.readouterr().out
    assert registry.decisions(store, name) == first, "judged again with nothing changed"
    production = first[-1]["winner"]["version"]
    # one epoch on 300 reviews leaves the CNN near chance: a baseline wins, so the candidate is
    # not production and the second promotion has a verdict to keep (not "already production")
    assert production != first[-1]["candidate"], first[-1]
    assert f"kept {name} v{production} in production: candidate v{first[-1]['candidate']} was judged" in out, out

    # another production model (a person's rollback onto an older version, say): judged again
    from train.store import save_model

    good = load_model(store, name, first[-1]["candidate"])
    other = save_model(store, name, good.model, good.vocabulary,
                       metadata={k: good.metadata[k] for k in ("data", "metrics", "config")})[0]
    registry.set_alias(store, name, "production", other)
    assert models.main(args("promote")) == 0
    again = registry.decisions(store, name)
    assert len(again) == 2 and again[-1]["production_before"] == other


def test_ledger_records_every_run_and_traces_the_model_to_its_source(review_lake, spark, capsys):
    from jobs import runs

    built, args = review_lake.cfg, review_lake.args

    ledger_rows = lake.read_table(spark, built, "runs").collect()
    first = {}
    for r in sorted(ledger_rows, key=lambda r: r.started_at):
        first.setdefault(r.job, r)
    assert sorted(r.job for r in ledger_rows) == ["clean", "features", "ingest", "score", "train"]
    assert all(r.status == "success" for r in ledger_rows)
    clean_run = first["clean"]
    assert [(i.table, i.version) for i in clean_run.inputs] == [("bronze", 0)]
    assert {o.table for o in clean_run.outputs} == {"silver", "quarantine", "dq_results"}
    c = clean_run.counts
    assert c["rows_in"] == c["published"] + c["quarantined"] + c["duplicates_dropped"]
    assert ("model:sentiment_cnn", 1) in [(o.table, o.version) for o in first["train"].outputs]
    assert runs.main(args("trace", "model:sentiment_cnn:1")) == 0
    chain = capsys.readouterr().out
    for step in ("model:sentiment_cnn v1 <- train run", "gold v0 <- features run", "silver v0 <- clean run",
                 "bronze v0 <- ingest run", f"source:{review_lake.corpus} (files as landed)"):
        assert step in chain, chain
    assert runs.main(args("show", clean_run.run_id)) == 0
    assert "wrote: quarantine v0, silver v0, dq_results v0" in capsys.readouterr().out
    assert runs.main(args("trace", "gold:99")) == 1


def test_a_model_traces_to_the_exact_source_files_it_was_trained_on(review_lake, spark, tmp_path, capsys):
    import pandas as pd

    from jobs import runs

    built, args, corpus = review_lake.cfg, review_lake.args, review_lake.corpus

    out = tmp_path / "rows.csv"
    assert runs.main(args("sources", "model:sentiment_cnn:1", "--out", str(out))) == 0
    printed = capsys.readouterr().out
    assert "sentiment_cnn v1 was trained on gold v0" in printed and "could not be traced" not in printed
    rows = pd.read_csv(out)
    gold = lake.read_table(spark, built, "gold", version=0).select("review_id", "split").toPandas()
    assert sorted(zip(rows.key, rows.split)) == sorted(zip(gold.review_id, gold.split))
    for key, source in zip(rows.key, rows.source):  # train/pos/123 was read from .../train/pos/123_<rating>.txt
        assert source.startswith(f"file:{corpus}/{key}_") and source.endswith(".txt"), (key, source)
        assert (corpus / source.split("/aclImdb/")[1]).is_file()
    assert runs.main(args("sources", "model:sentiment_cnn:1", "--split", "train")) == 0
    assert f"{(gold.split == 'train').sum():,} train rows" in capsys.readouterr().out


def test_dq_results_are_kept_and_reported_per_run(review_lake, spark, tmp_path, capsys):
    from jobs import dq

    built, args = review_lake.cfg, review_lake.args

    results = lake.read_table(spark, built, "dq_results").collect()
    ledger_rows = lake.read_table(spark, built, "runs").collect()
    publishing = {r.run_id: r.job for r in ledger_rows if r.job in ("clean", "features", "score")}
    assert {r.run_id for r in results} == set(publishing)  # every publishing run, one set each
    assert {(publishing[r.run_id], r.table) for r in results} == {
        ("clean", "silver"), ("features", "gold"), ("score", "predictions")}
    assert all(r.success for r in results if r.table in ("gold", "predictions"))
    clean_runs = [r for r in ledger_rows if r.job == "clean"]
    first = min(clean_runs, key=lambda r: r.started_at)
    mine = {r.check: r for r in results if r.run_id == first.run_id}
    assert {"quarantine_fraction", "review_id_unique", "labels_balanced", "valid_utf8"} <= set(mine)
    assert mine["valid_utf8"].group == "row" and mine["valid_utf8"].unexpected_count == 2
    assert mine["review_id_unique"].success and mine["review_id_unique"].unexpected_count == 0
    assert 0.2 < float(mine["labels_balanced"].observed_value) < 0.8
    assert {r.table_version for r in mine.values()} == {0}  # silver version 0 was published by that run
    out = tmp_path / "report.html"
    assert dq.main(args("report", "--run", first.run_id, "--out", str(out))) == 0
    assert f"data-quality report: {out}" in capsys.readouterr().out
    page = out.read_text()
    assert "Published: silver version 0" in page and "quarantine_fraction" in page and "FAIL" not in page


def test_report_shows_a_blocked_run_and_escapes_what_it_prints():
    from datetime import datetime
    from types import SimpleNamespace

    from expectations.report import render_report

    def row(check, group, success, observed=None, unexpected=None):
        return SimpleNamespace(run_id="r1", suite="s", table="silver", table_version=None, check=check,
                               group=group, expectation="expect_x", success=success, observed_value=observed,
                               unexpected_count=unexpected, element_count=100, checked_at=datetime(2026, 1, 1))

    page = render_report([row("quarantine_fraction", "input", False, None, 40),
                          row("schema", "output", True, '["<script>alert(1)</script>"]'),
                          row("valid_utf8", "row", False, None, 40)], title="DQ <silver>")
    assert "Blocked: 1 batch check(s) failed" in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "DQ &lt;silver&gt;" in page
    assert page.count('class="fail"') == 1 and page.count('class="note"') == 1


def test_tables_lists_and_time_travels(review_lake, spark, capsys):
    built, args = review_lake.cfg, review_lake.args
    assert tables.main(args()) == 0
    listing = capsys.readouterr().out.splitlines()
    for name in ("bronze", "silver", "quarantine", "vocabulary", "gold", "predictions"):
        rows = lake.read_table(spark, built, name).count()
        assert [line.split()[:3] for line in listing if line.split()[0] == name] == [[name, "0", f"{rows:,}"]]
    assert tables.main(args("history", "bronze")) == 0
    history = capsys.readouterr().out.splitlines()
    # one version, the first ingest's: a WRITE of every file
    assert history[0] == f"history of bronze ({built.table_path('bronze')}):" and len(history) == 3
    assert history[2].split()[0] == "0" and history[2].split()[3] == "WRITE"
    assert json.loads(history[2].split(None, 4)[4])["numOutputRows"] == \
        str(lake.read_table(spark, built, "bronze").count())
    assert tables.main(args("show", "silver", "--version", "0", "--limit", "3")) == 0
    shown = capsys.readouterr().out.splitlines()
    silver = lake.read_table(spark, built, "silver", version=0)
    header = [c.strip() for c in shown[1].strip("|").split("|")]
    assert header == silver.columns
    cells = [[c.strip() for c in line.strip("|").split("|")] for line in shown[3:6]]
    ids = {r.review_id for r in silver.select("review_id").collect()}
    assert len(cells) == 3 and all(row[0] in ids and row[1] in ("train", "test", "unsup") for row in cells), shown
    assert shown[-1] == "only showing top 3 rows"
    assert tables.main(args("show", "silver", "--version", "99")) == 2  # bad usage
    assert "versions 0..0" in capsys.readouterr().err


def test_bad_input_gives_one_line_errors_and_nonzero_exits(tmp_path, spark, capsys):
    a = ["--profile", "test", "--lake-root", str(tmp_path / "lake")]
    assert ingest.main(a + ["--source", str(tmp_path / "nowhere")]) == 2  # a path mistake: bad usage
    assert "crosslake generate" in one_line_error(capsys)
    (tmp_path / "empty").mkdir()
    assert ingest.main(a + ["--source", str(tmp_path / "empty")]) == 2
    assert "no reviews under" in one_line_error(capsys)
    assert clean.main(a) == 1
    assert "table 'bronze' does not exist yet" in one_line_error(capsys)
    assert score.main(a) == 1
    assert "crosslake train" in one_line_error(capsys)
    cfg = load_config("test", lake_root=str(tmp_path / "lake"))
    failed = [r for r in lake.read_table(spark, cfg, "runs").collect() if r.job == "score"]
    assert [r.status for r in failed] == ["failed"] and "crosslake train" in failed[0].error
    assert clean.main(["--profile", "nope"]) == 2
    assert "unknown profile 'nope'" in one_line_error(capsys)


def test_batch_check_failure_blocks_the_publish(tmp_path, spark, capsys):
    """11 malformed files in a corpus of 41 is far above the 5% quarantine limit."""
    a = ["--profile", "test", "--lake-root", str(tmp_path / "lake"), "--set", f"source.path={tmp_path / 'c'}"]
    assert generate.main(a + ["--train", "20", "--test", "10", "--unsup", "0"]) == 0
    assert ingest.main(a) == 0
    capsys.readouterr()
    assert clean.main(a) == 3
    assert "quarantine_fraction" in one_line_error(capsys)
    cfg = load_config("test", lake_root=str(tmp_path / "lake"))
    assert not lake.exists(spark, cfg.table_path("silver"))          # nothing published
    assert lake.read_table(spark, cfg, "quarantine").count() == 11    # but the bad rows are recorded
    (blocked,) = [r for r in lake.read_table(spark, cfg, "runs").collect() if r.job == "clean"]
    assert blocked.status == "blocked" and "quarantine_fraction" in blocked.error
    assert sorted(o.table for o in blocked.outputs) == ["dq_results", "quarantine"]
    kept = [r for r in lake.read_table(spark, cfg, "dq_results").collect() if r.run_id == blocked.run_id]
    assert {r.table_version for r in kept} == {None}  # checked, recorded, not published
    assert [r.check for r in kept if not r.success and r.group != "row"] == ["quarantine_fraction"]


@pytest.mark.slow  # spark-submit in its own process
def test_a_job_file_runs_under_spark_submit(tmp_path):
    """spark-submit runs jobs/train.py as a file: its imports must find the train package,
    not jobs/train.py itself, and its exit code must reach the caller."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from crosslake.session import local_jars

    root = Path(__file__).resolve().parents[2]
    venv_bin = str(Path(sys.executable).parent)
    done = subprocess.run(
        [f"{venv_bin}/spark-submit", "--master", "local[1]", *submit_jvm_options(), "--jars", ",".join(local_jars()),
         str(root / "jobs" / "train.py"), "--profile", "test", "--lake-root", str(tmp_path / "lake")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "PATH": f"{venv_bin}:{os.environ['PATH']}"})
    output = done.stdout + done.stderr  # spark-submit merges the Python process's stderr into stdout
    assert done.returncode == 1, output[-2000:]
    assert "error: table 'gold' does not exist yet" in output
    assert "Traceback" not in output


def test_sweep_trains_each_grid_point_records_results_and_promotes_the_best(review_lake_copy, spark, capsys):
    from jobs import sweep
    from train import registry

    built, args = review_lake_copy.cfg, review_lake_copy.args

    before = versions(built.model_store, built.models.name)
    assert before == [1, 2]  # the CNN and its TF-IDF baseline (trials store no baselines)
    # the choice a user of the review workload makes by validation: which network
    assert sweep.main(args("--grid", "text_model=cnn,ngram", "--grid", "batch_size=64", "--promote-best")) == 0
    out = capsys.readouterr().out
    rows = lake.read_table(spark, built, "sweeps").collect()
    assert len(rows) == 2 and len({r.sweep_id for r in rows}) == 1
    assert sorted(json.loads(r.params)["text_model"] for r in rows) == ["cnn", "ngram"]
    new = sorted(r.model_version for r in rows)
    assert new == [max(before) + 1, max(before) + 2] == versions(built.model_store, built.models.name)[-2:]
    kinds = {}
    for r in rows:  # each trial is its own stored run with the trial's settings and the same gold version
        meta = load_model(built.model_store, built.models.name, r.model_version).metadata
        assert meta["config"]["train"]["text_model"] == json.loads(r.params)["text_model"]
        assert r.best_val_accuracy == max(h["val_accuracy"] for h in meta["metrics"]["history"])
        kinds[meta["kind"]] = meta
    assert set(kinds) == {"text_cnn", "text_ngram"}
    # one epoch on 300 reviews: the n-gram network starts from the train split's word counts
    assert kinds["text_ngram"]["metrics"]["test_accuracy"] > 0.75, kinds["text_ngram"]["metrics"]
    # the n-gram network scores the same in Spark (batch, stream, promotion) and without (the page)
    scorer = load_scorer(built.model_store, built.models.name, kinds["text_ngram"]["version"])
    texts = [r.text for r in lake.read_table(spark, built, "silver").orderBy("review_id").limit(40).collect()]
    rows_in = spark.createDataFrame(list(enumerate(texts)), "i int, text string")
    scored = scorer.score(spark, rows_in)
    in_spark = scored.orderBy("i").collect()
    assert [round(r.probability, 5) for r in in_spark] == [round(float(p), 5) for p in scorer.predict_records(texts)]
    # one Python crossing per row: Spark cuts the words; ids and the model in one Arrow map
    plan = scored._jdf.queryExecution().executedPlan().toString()
    assert plan.count("MapInArrow") == 1 and "ArrowEvalPython" not in plan and "BatchEvalPython" not in plan, plan
    [best] = [r for r in rows if r.best]
    assert best.best_val_accuracy == max(r.best_val_accuracy for r in rows)
    assert registry.aliases(built.model_store, built.models.name)["candidate"] == best.model_version
    assert registry.decisions(built.model_store, built.models.name)[-1]["candidate"] == best.model_version
    assert "<- best" in out


def test_two_process_training_sees_disjoint_shards_and_lands_near_one_process(review_lake_copy, spark):
    """The job's data-parallel path: petastorm shards per process, DDP over gloo, one model."""
    built, args = review_lake_copy.cfg, review_lake_copy.args
    assert train.main(args("--set", "train.epochs=2", "--set", "train.batch_size=64")) == 0
    one = load_model(built.model_store, built.models.name).metadata
    assert train.main(args("--set", "train.epochs=2", "--set", "train.batch_size=32",
                           "--set", "train.processes=2")) == 0
    two = load_model(built.model_store, built.models.name).metadata  # loads: checksum and weights intact
    # each run stores its CNN and then its TF-IDF baseline: the next CNN is two versions on
    assert two["processes"] == 2 and two["version"] == one["version"] + 2
    rows = two["data"]["rows"]
    (train0, val0, test0), (train1, val1, test1) = two["rows_per_process"]
    assert train0 == train1 == -(-rows["train"] // 2)  # padded to equal steps, at most one row repeated
    assert (val0 + val1, test0 + test1) == (rows["validation"], rows["test"])  # split, not copied
    assert abs(two["metrics"]["test_accuracy"] - one["metrics"]["test_accuracy"]) <= 0.1
