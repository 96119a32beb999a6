"""The models layer: encoders stored with the model, one scoring path, baselines registered
as model versions, promotion picking the best on the frozen test set."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import numpy as np
import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from crosslake.errors import CrosslakeError
from jobs import clean, features, generate, ingest, models, score, train
from train import registry
from train.encoders import TabularEncoder, TextEncoder, from_json
from train.promotion import Contender, decide, judged
from train.scoring import load_scorer
from train.store import load_metadata, versions
from transforms.tokens import NO_RULES, TokenizerRules
from workloads.reviews_training import gold_rules

LAKE_ROOTS: dict[str, str] = {}
TEXTS = ["A GREAT film, truly great!", "dull... and boring; isn't it?", "", "Ünïcode café 42 don't", None]


def test_text_encoder_round_trips_and_matches_the_spark_path(spark):
    enc = TextEncoder({"great": 2, "film": 3, "dull": 4, "isn't": 5, "42": 6, "caf": 7}, max_len=5)
    again = from_json(enc.to_json())
    assert again == enc and json.loads(enc.to_json())["tokenizer"]["pattern"] == "[a-z0-9']+"
    rows = [t for t in TEXTS if t is not None]
    df = spark.createDataFrame([(i, t) for i, t in enumerate(TEXTS)], "id int, text string")
    spark_ids = {r.id: r.model_input for r in enc.with_model_input(df).collect()}
    assert spark_ids[4] == [0] * 5  # a null text reads as no tokens
    local = again.encode_records(rows)
    assert local.dtype == np.int64 and local.shape == (4, 5)
    assert [list(map(int, r)) for r in local] == [spark_ids[i] for i in range(4)]
    assert list(local[0]) == [1, 2, 3, 1, 2]  # "a" unknown (1), then great, film, truly (1), great
    words = {r.id: r.words for r in enc.with_words(df).collect()}
    assert [words[i] for i in range(4)] == [again.words(t) for t in rows]


def test_the_arrow_scoring_path_turns_words_into_the_ids_the_encoder_gives():
    """serving/udf.py looks words up over whole Arrow columns; it must give ids_of's ids
    row for row: unknown words, cut at max_len, padding, empty and null rows, a sliced
    column (Arrow hands over slices of larger batches)."""
    import pyarrow as pa

    from serving.udf import fixed_width, word_ids
    from transforms.tokens import ids_of

    vocab = {"great": 2, "film": 3, "dull": 4, "isn't": 5}
    lookup = (pa.array(sorted(vocab)), np.asarray([vocab[w] for w in sorted(vocab)], dtype=np.int64))
    rows = [["a", "great", "film", "truly", "great", "film", "dull"], [], None, ["dull"], ["isn't", "zzz"]] * 3
    words = pa.array(rows, pa.list_(pa.string()))
    for column in (words, words.slice(2, 9), pa.chunked_array([words.slice(0, 4), words.slice(4)])):
        expected = [ids_of(r or [], vocab, 5) for r in column.to_pylist()]
        assert word_ids(column, lookup, 5).tolist() == expected
    assert fixed_width(pa.array([[1, 2], [3, 4]], pa.list_(pa.int32())), 2, np.int64).tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError, match="exactly 2 values; found lengths \\[-1, 1, 2\\]"):
        fixed_width(pa.array([[1, 2], [3], None], pa.list_(pa.int32())), 2, np.int64)
    with pytest.raises(ValueError, match="1 null value"):
        fixed_width(pa.array([[1, 2], [3, None]], pa.list_(pa.int32())), 2, np.int64)


def test_a_text_encoder_keeps_its_tokenizer_rules_and_every_path_applies_them(spark):
    rules = TokenizerRules(urls=True, mentions=True, hashtags=True, numbers=False, repeats=3)
    enc = TextEncoder({"xxurl": 2, "xxuser": 3, "sooo": 4, "good": 5, "oscars": 6}, max_len=6, rules=rules)
    stored = json.loads(enc.to_json())
    assert stored["tokenizer"]["rules"] == rules.to_dict() and from_json(enc.to_json()) == enc
    texts = ["@Ann soooooo GOOD http://x.io #Oscars", "sooo good"]
    local = enc.encode_records(texts)
    assert [list(map(int, r)) for r in local] == [[3, 4, 5, 2, 6, 0], [4, 5, 0, 0, 0, 0]]
    df = spark.createDataFrame(list(enumerate(texts)), "id int, text string")
    assert [r.model_input for r in enc.with_model_input(df).orderBy("id").collect()] == \
           [list(map(int, r)) for r in local]
    # an encoder stored before the rules existed reads them as all off: it tokenises as it did
    newer = {**stored, "tokenizer": {**stored["tokenizer"], "rules": {**rules.to_dict(), "emoji": True}}}
    with pytest.raises(CrosslakeError, match="tokenizer rule.s. emoji that this code does not apply"):
        from_json(json.dumps(newer))  # a rule this code does not know: refused, not silently dropped
    del stored["tokenizer"]["rules"]
    assert from_json(json.dumps(stored)).rules == NO_RULES


def test_tabular_encoder_round_trips_and_matches_the_spark_path(spark):
    slots = [
        {"feature": "amount", "category": None, "kind": "numeric", "position": 0, "mean": 100.0, "std": 50.0},
        {"feature": "grade", "category": "a", "kind": "categorical", "position": 1, "mean": None, "std": None},
        {"feature": "grade", "category": "b", "kind": "categorical", "position": 2, "mean": None, "std": None},
        {"feature": "grade", "category": "__other__", "kind": "other", "position": 3, "mean": None, "std": None},
    ]
    enc = TabularEncoder("loans", "defaulted", slots, {"amount": "double", "grade": "string"},
                         {"trim": True, "null_values": ["", "NA"], "lowercase": ["grade"]})
    again = from_json(enc.to_json())
    assert again == enc and again.feature_names() == ["amount", "grade=a", "grade=b", "grade=(other)"]
    silver = [(1, 150.0, "a", True), (2, None, "b", False), (3, 60.0, "z", None), (4, 100.0, None, True)]
    df = spark.createDataFrame(silver, "id int, amount double, grade string, defaulted boolean")
    out = {r.id: (r.model_input, r.label) for r in enc.with_model_input(df).collect()}
    records = [{"amount": a, "grade": g} for _, a, g, _ in silver]
    local = again.encode_records(records)
    assert local.dtype == np.float32 and local.shape == (4, 4)
    assert [list(map(float, r)) for r in local] == [out[i][0] for i in (1, 2, 3, 4)]
    assert [out[i][1] for i in (1, 2, 3, 4)] == [1, 0, None, 1]
    # a record from a web form: text values, cleaned as silver was (trim, lower case, null values)
    assert again.encode_records([{"amount": " 150 ", "grade": " A "}, '{"amount": "NA", "grade": "B"}']).tolist() == \
        [[1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0]]
    with pytest.raises(Exception, match="field 'amount' must be a number"):
        again.encode_records([{"amount": "lots"}])
    # scoring rows without the label column works too (the stream, the page's records)
    assert enc.with_model_input(df.drop("defaulted")).columns == ["id", "amount", "grade", "model_input"]


def right_on(rows: int, *spans: tuple[int, int]) -> tuple[int, ...]:
    """A contender's answers on `rows` test rows: right (1) inside the spans [a, b), else wrong."""
    return tuple(int(any(a <= i < b for a, b in spans)) for i in range(rows))


def test_promotion_a_lead_within_noise_keeps_production_or_goes_to_the_simpler_model():
    # 100 rows: the baseline's +0.02 over production is 2 rows, within the noise: production stays
    prod, base, cand = (Contender(1, "text_cnn", "production", right_on(100, (0, 84))),
                        Contender(4, "tfidf_logreg", "baseline", right_on(100, (0, 86))),
                        Contender(3, "text_cnn", "candidate", right_on(100, (0, 80))))
    d = decide([cand, base, prod])
    assert d.winner == prod and not d.promoted and d.runner_up == base and abs(d.margin + 0.02) < 1e-12
    assert d.versus[4].difference == pytest.approx(0.02) and d.versus[4].low <= 0 < d.versus[4].high
    assert "production stays" in d.reason(100, "silver v1") and "v4 (baseline, tfidf_logreg) 0.8600: +0.0200" \
        in d.reason(100, "silver v1")
    # 1,000 rows: the candidate wins 30 rows the baseline misses and loses 22: +0.008, within noise,
    # and both beat production (0.80) beyond it: the simpler model is promoted
    prod = Contender(1, "text_cnn", "production", right_on(1000, (0, 800)))
    base = Contender(4, "tfidf_logreg", "baseline", right_on(1000, (0, 870)))
    cand = Contender(3, "text_cnn", "candidate", right_on(1000, (0, 848), (870, 900)))
    d = decide([prod, cand, base])
    assert (cand.accuracy, base.accuracy) == (0.878, 0.87)
    assert d.winner == base and d.promoted and d.runner_up == cand and d.margin == pytest.approx(-0.008)
    assert d.passed_over[1][0] in (3, 4) and d.passed_over[1][1].low > 0  # production beaten beyond noise
    assert d.versus[3].low < 0 < d.versus[3].high
    assert "the candidate is not better beyond noise, so the simpler model is promoted" in d.reason(1000, "t")
    # with a lead beyond the noise the candidate wins; the interval is recorded for each loser
    cand = Contender(3, "text_cnn", "candidate", right_on(1000, (0, 920)))
    d = decide([prod, cand, base])
    assert d.winner == cand and d.promoted and set(d.passed_over) == {1, 4}
    assert d.versus[4].difference == pytest.approx(-0.05) and d.versus[4].high < 0
    assert d.reason(1000, "t").startswith("the candidate wins: v3 (text_cnn) 0.9200")
    record = d.to_dict()
    assert record["winner"]["version"] == 3 and record["confidence"] == 0.95
    assert {c["version"]: c.get("beaten_by", {}).get("version") for c in record["contenders"]} == {1: 3, 4: 3, 3: None}


def test_promotion_ties_keep_production_and_a_lone_candidate_is_promoted():
    same = right_on(50, (0, 40))
    tie = decide([Contender(3, "text_cnn", "candidate", same), Contender(1, "text_cnn", "production", same)])
    assert tie.winner.role == "production" and not tie.promoted and tie.margin == 0
    assert tie.versus[3].difference == tie.versus[3].low == tie.versus[3].high == 0
    first = decide([Contender(3, "text_cnn", "candidate", same)])
    assert first.winner.role == "candidate" and first.promoted and first.runner_up is None
    assert first.reason(50, "t").startswith("no production model yet; the only contender")
    with pytest.raises(ValueError, match="different rows"):
        decide([Contender(3, "text_cnn", "candidate", same), Contender(1, "gbt", "baseline", same[:-1])])


# -- a tiny text lake, with a deliberately weak candidate ---------------------------------------

@pytest.fixture(scope="module")
def weak(tmp_path_factory, spark):
    """ingest -> clean -> features -> train with a learning rate so small that the CNN stays
    a coin toss; its TF-IDF baseline is stored beside it."""
    root = tmp_path_factory.mktemp("models_layer")
    args = ["--profile", "test", "--lake-root", str(root / "lake"), "--set", f"source.path={root / 'aclImdb'}",
            "--set", "train.epochs=1", "--set", "train.lr=0.0000001", "--set", "train.patience=1"]
    assert generate.main([*args, "--train", "160", "--test", "120", "--unsup", "0"]) == 0
    for job in (ingest, clean, features, train):
        assert job.main(args) == 0, job.NAME
    LAKE_ROOTS["weak"] = str(root / "lake")
    return load_config("test", lake_root=str(root / "lake"))


def test_training_stores_the_baseline_as_a_version_with_its_encoder_and_explanation(weak):
    store, name = weak.model_store, weak.models.name
    assert versions(store, name) == [1, 2]
    cand, base = load_metadata(store, name, 1), load_metadata(store, name, 2)
    assert cand["kind"] == "text_cnn" and "baseline_of" not in cand
    assert base["kind"] == "tfidf_logreg" and base["baseline_of"] == 1
    assert base["data"]["silver_table_name"] == cand["data"]["silver_table_name"] == "silver"
    assert base["metrics"]["test_rows"] == cand["data"]["rows"]["test"]
    shown = json.loads(models.run(None, weak, action="show", version="2"))
    words = [w["word"] for w in shown["explain"]["top_positive"]]
    assert shown["kind"] == "tfidf_logreg" and len(words) > 0
    assert all(w["coefficient"] > 0 for w in shown["explain"]["top_positive"])
    listing = models.run(None, weak, action="list")
    assert "tfidf_logreg" in listing and "baseline of v1" in listing and "v2 tfidf_logreg" in listing
    # each version carries its test-split evaluation and the PNG of it; `models show` gives both
    for version, meta in ((1, cand), (2, base)):
        ev = meta["metrics"]["evaluation"]
        assert ev["rows"] == cand["data"]["rows"]["test"] and abs(ev["accuracy"] - meta["metrics"]["test_accuracy"]) < 1e-6
        assert sum(map(sum, ev["confusion"])) == ev["rows"] and sum(b[2] for b in ev["calibration"]) == ev["rows"]
        plots = json.loads(models.run(None, weak, action="show", version=str(version)))["plots"]
        assert [Path(p).name for p in plots] == (["curves.png", "evaluation.png"] if version == 1 else ["evaluation.png"])
        assert Path(plots[-1]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    scorer = load_scorer(store, name, 2)
    assert scorer.encoder == load_scorer(store, name, 1).encoder  # the same encoder.json


def test_the_encoder_stores_the_tokenizer_rules_gold_was_cut_by_not_those_configured_later(weak, spark, caplog):
    vocab = lake.read_table(spark, weak, "vocabulary")
    recorded = {r.tokenizer for r in vocab.select("tokenizer").distinct().collect()}
    configured = TokenizerRules.from_dict(dataclasses.asdict(weak.features.tokenizer))
    assert recorded == {json.dumps(configured.to_dict(), sort_keys=True)}
    assert load_scorer(weak.model_store, weak.models.name, 1).encoder.rules == configured
    # `train` alone after features.tokenizer changed: gold's rules, and a warning that says so
    changed = dataclasses.replace(configured, urls=not configured.urls)
    with caplog.at_level(logging.WARNING):
        assert gold_rules(vocab, changed, 0) == configured
    assert "the model keeps gold's rules; run `crosslake features` first" in caplog.text
    # a vocabulary written before the rules were recorded: the configured ones (as then)
    assert gold_rules(vocab.drop("tokenizer"), changed, 0) == changed
    newer = vocab.withColumn("tokenizer", F.lit('{"emoji": true}'))  # written by a newer version
    with pytest.raises(CrosslakeError, match="was cut with tokenizer rule.s. emoji that this code does not apply"):
        gold_rules(newer, configured, 0)
    mixed = vocab.withColumn("tokenizer", F.when(F.col("id") == 2, F.lit("{}")).otherwise(F.col("tokenizer")))
    with pytest.raises(CrosslakeError, match="records 2 sets of tokenizer rules"):
        gold_rules(mixed, configured, 0)


def test_a_weak_candidate_loses_to_its_baseline_which_is_promoted_and_serves(weak, spark, capsys):
    store, name = weak.model_store, weak.models.name
    result = models.run(spark, weak, action="promote")
    decision = registry.decisions(store, name)[-1]
    by_version = {c["version"]: c for c in decision["contenders"]}
    assert set(by_version) == {1, 2} and by_version[1]["role"] == "candidate" and by_version[2]["role"] == "baseline"
    assert by_version[2]["accuracy"] > by_version[1]["accuracy"]
    assert decision["winner"]["version"] == 2 and decision["promoted_version"] == 2 and decision["promoted"]
    assert abs(decision["margin"] - (by_version[2]["accuracy"] - by_version[1]["accuracy"])) < 1e-12
    assert registry.aliases(store, name)["production"] == 2
    assert result.promoted and "v1 not promoted" in result.message and "baseline" in result.message
    # the promoted baseline scores the predictions table natively: no Python UDF in the plan
    assert score.main(["--profile", "test", "--lake-root", LAKE_ROOTS["weak"]]) == 0
    predictions = lake.read_table(spark, weak, "predictions")
    assert {r.model_version for r in predictions.select("model_version").distinct().collect()} == {2}
    silver = lake.read_table(spark, weak, "silver").filter(F.col("split").isin(*weak.score.splits))
    assert predictions.count() == silver.count()
    scorer = load_scorer(store, name, 2)
    plan = scorer.score(spark, silver)._jdf.queryExecution().executedPlan().toString()
    assert "ArrowEvalPython" not in plan and "BatchEvalPython" not in plan
    # Spark-free scoring (the page) agrees with the Spark path on the same rows
    rows = silver.select("review_id", "text").orderBy("review_id").limit(20).collect()
    spark_p = {r.review_id: r.probability for r in predictions.select("review_id", "probability").collect()}
    local = scorer.predict_records([r.text for r in rows])
    assert np.allclose(local, [spark_p[r.review_id] for r in rows], atol=1e-5)
    # and the page's API answers with it
    from serving.web import create_app

    client = create_app(weak).test_client()
    answer = client.post("/api/predict", json={"text": rows[0].text}).get_json()
    assert answer["model"] == {"name": name, "version": 2}
    assert abs(answer["probability"] - spark_p[rows[0].review_id]) < 1e-5


# -- a tiny tabular lake (the loans example, from CSV) --------------------------------------------

@pytest.fixture(scope="module")
def loans(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("models_loans")
    args = ["--profile", "test", "--lake-root", str(root / "lake"), "--set", f"datasets.loans.source.path={root / 'loans'}",
            "--set", "datasets.loans.train.epochs=2", "--dataset", "loans"]
    assert generate.main([*args, "--rows", "400"]) == 0
    for job in (ingest, clean, features, train):
        assert job.main(args) == 0, job.NAME
    LAKE_ROOTS["loans"] = str(root / "lake")
    LAKE_ROOTS["loans_source"] = str(root / "loans")
    return load_config("test", lake_root=str(root / "lake"),
                       overrides=[f"datasets.loans.source.path={root / 'loans'}"])


def test_tabular_baselines_are_versions_that_score_the_same_in_spark_and_without(loans, spark):
    store = loans.model_store
    assert versions(store, "loans_mlp") == [1, 2, 3]
    kinds = {v: load_metadata(store, "loans_mlp", v) for v in (1, 2, 3)}
    assert [kinds[v]["kind"] for v in (1, 2, 3)] == ["tabular_mlp", "logreg", "gbt"]
    assert kinds[2]["baseline_of"] == kinds[3]["baseline_of"] == 1
    assert kinds[1]["data"]["silver_table_name"] == "loans_silver"
    shown = json.loads(models.run(None, loans, action="show", version="3", dataset="loans"))
    names = load_scorer(store, "loans_mlp", 3).encoder.feature_names()
    importances = shown["explain"]["feature_importances"]
    assert importances and {f["feature"] for f in importances} <= set(names)
    assert abs(sum(f["importance"] for f in importances) - 1) < 1e-3
    logreg = json.loads(models.run(None, loans, action="show", version="2", dataset="loans"))["explain"]
    assert {c["feature"] for c in logreg["top_positive"] + logreg["top_negative"]} <= set(names)
    silver = lake.read_table(spark, loans, "loans_silver").orderBy("loan_id").limit(40)
    records = [r.asDict() for r in silver.collect()]
    for v in (1, 2, 3):
        scorer = load_scorer(store, "loans_mlp", v)
        in_spark = {r.loan_id: r.probability for r in scorer.score(spark, silver).collect()}
        local = scorer.predict_records(records)
        assert np.allclose(local, [in_spark[r["loan_id"]] for r in records], atol=1e-5), scorer.kind


def test_a_test_set_whose_label_is_not_binary_is_refused_not_cast(loans, spark):
    from crosslake.errors import CrosslakeError
    from train.service import test_predictions

    scorer = load_scorer(loans.model_store, "loans_mlp", 2)
    rows = lake.read_table(spark, loans, "loans_silver").limit(5)
    keys, truth, prob = test_predictions(spark, scorer, rows, "defaulted", keys=("loan_id",))
    assert len(keys) == len(truth) == len(prob) == 5 and set(truth) <= {0, 1}
    soft = rows.withColumn("defaulted", F.lit(0.7))
    with pytest.raises(CrosslakeError, match=r"label column 'defaulted' holds values other than 0/1 .*0\.7"):
        test_predictions(spark, scorer, soft, "defaulted")


def test_a_dataset_is_scored_by_its_production_model_with_lineage_and_served(loans, spark):
    store = loans.model_store
    registry.set_alias(store, "loans_mlp", "production", 3)  # the GBT baseline serves
    args = ["--profile", "test", "--lake-root", LAKE_ROOTS["loans"], "--set",
            f"datasets.loans.source.path={LAKE_ROOTS['loans_source']}"]
    assert score.main([*args, "--dataset", "loans"]) == 0
    out = lake.read_table(spark, loans, "loans_predictions")
    silver = lake.read_table(spark, loans, "loans_silver")
    wanted = silver.filter((F.col("split") == "test") | F.col("defaulted").isNull())
    assert out.count() == wanted.count() > 0
    assert {tuple(r) for r in out.select("model_version", "model_kind", "input_table").distinct().collect()} == \
        {(3, "gbt", "loans_silver")}
    joined = out.join(silver.select("loan_id", F.col("_source").alias("s"), F.col("_source_row").alias("sr")),
                      "loan_id")
    assert joined.filter((F.col("_source") != F.col("s")) | (F.col("_source_row") != F.col("sr"))).count() == 0
    plan = load_scorer(store, "loans_mlp", 3).score(spark, wanted)._jdf.queryExecution().executedPlan().toString()
    assert "ArrowEvalPython" not in plan and "BatchEvalPython" not in plan
    from serving.web import create_app

    row = out.join(silver, "loan_id").orderBy("loan_id").first()
    record = {c: row[c] for c in ("amount", "term_months", "annual_income", "employment_years", "home_ownership",
                                  "purpose", "grade")}
    client = create_app(loans, dataset="loans").test_client()
    answer = client.post("/api/predict", json={"record": record}).get_json()
    assert answer["model"] == {"name": "loans_mlp", "version": 3, "kind": "gbt"}
    assert abs(answer["probability"] - row["probability"]) < 1e-5 and answer["prediction"] == row["prediction"]
    bad = client.post("/api/predict", json={"record": {**record, "amount": "lots"}})
    assert bad.status_code == 400 and bad.get_json()["error"] == "field 'amount' must be a number, got 'lots'"


def test_the_pipeline_report_prints_every_contender_and_the_winner():
    from jobs.models import PromoteResult
    from jobs.pipeline import PipelineResult

    from train.evaluation import evaluate

    truth = [1] * 100 + [0] * 100
    cand = [0.9] * 81 + [0.1] * 19 + [0.1] * 100      # right on 181 of 200
    base = [0.8] * 100 + [0.3] * 50 + [0.7] * 50      # right on 150
    contenders = [Contender(1, "text_cnn", "candidate", judged(truth, cand), evaluate(truth, cand).to_dict()),
                  Contender(2, "tfidf_logreg", "baseline", judged(truth, base), evaluate(truth, base).to_dict())]
    decision = decide(contenders)
    assert decision.winner.version == 1
    promoted = PromoteResult(True, "promoted sentiment_cnn v1 to production: ...",
                             {"test_set": {"table": "silver", "version": 0, "rows": 200}, **decision.to_dict()})
    report = PipelineResult([("promote", promoted, 1.0)]).report().splitlines()
    at = report.index("model comparison on silver v0 (200 test rows; differences with 95% paired bootstrap "
                      "intervals):")
    assert report[at + 1].split() == ["version", "kind", "role", "accuracy", "ROC", "AUC", "log", "loss", "ECE",
                                      "minus", "the", "winner"]
    ev = evaluate(truth, cand)
    assert report[at + 2].split() == ["v1", "text_cnn", "candidate", "0.9050", f"{ev.roc_auc:.4f}",
                                      f"{ev.log_loss:.4f}", f"{ev.ece:.4f}", "<-", "winner"]
    iv = decision.versus[2]
    assert report[at + 3].split()[:4] == ["v2", "tfidf_logreg", "baseline", "0.7500"]
    assert report[at + 3].endswith(f"{iv.difference:+.4f} [{iv.low:+.4f}, {iv.high:+.4f}]")
    assert iv.difference == pytest.approx(-0.155) and iv.high < 0
    assert report[at + 4] == "  (always answering the commoner class: 0.5000)"
    assert PromoteResult(False, "sentiment_cnn v1 is already production").comparison() == ""


# -- a dataset's stream: the incoming table and a drop zone, any production model --------------

def loan_record(row) -> dict:
    """A silver row as the JSON record a front door would send (the label left out)."""
    return {c: (v.isoformat() if hasattr(v, "isoformat") else v) for c, v in row.asDict().items()
            if c not in ("defaulted", "split", "_source", "_source_row")}


def test_a_dataset_streams_from_its_incoming_table_and_a_drop_zone_and_its_labels_flow_back(loans, spark, tmp_path):
    """A dataset's records go round: scored by the stream (any production model), labelled
    on the scoring side, read back into training by the next clean."""
    from jobs import feedback, stream
    from tests.helpers import drop_file

    store = loans.model_store
    rows = lake.read_table(spark, loans, "loans_silver").filter(F.col("split") == "test").orderBy("loan_id").take(6)
    r1, r2, r3, r4, r5, r6 = (loan_record(r) for r in rows)
    r5, r6 = {**r5, "loan_id": 9100005}, {**r6, "loan_id": 9100006}  # new applicants: keys silver does not hold
    registry.set_alias(store, "loans_mlp", "production", 1)  # the MLP (a torch UDF)
    sent = [r1, r2, r3, r4, r1, {**r2, "amount": r2["amount"] + 1}]  # r1 twice; r2 with two different records
    bad = ['{"loan_id": 9000001, "amount": "lots"}', '{"loan_id": 9000002, "amout": 5}', '{"amount": 100}', "[1]"]
    incoming = spark.createDataFrame([(json.dumps(r),) for r in sent] + [(b,) for b in bad], "record string")
    lake.write_table(incoming.withColumn("received_at", F.current_timestamp()), loans, "loans_incoming",
                     mode="append")
    first = stream.run(spark, loans, dataset="loans")
    # rows in = scored + rejected + repeated + re-sent
    assert (first.rows_in, first.rows, first.rejected, first.repeated, first.resent) == (10, 3, 6, 1, 0)
    rejects = lake.read_table(spark, loans, "stream_rejects").filter(F.col("stream") == "loans_incoming")
    assert sorted(r.reason for r in rejects.collect()) == sorted(
        ["unparseable:amount", "unknown_field:amout", "key_missing", "not_a_json_object:array",
         "conflicting_records_in_batch", "conflicting_records_in_batch"])
    live = {r.loan_id: r for r in lake.read_table(spark, loans, "loans_live_predictions").collect()}
    assert set(live) == {r1["loan_id"], r3["loan_id"], r4["loan_id"]}
    local = load_scorer(store, "loans_mlp", 1).predict_records([r1, r3, r4])
    assert np.allclose([live[r["loan_id"]].probability for r in (r1, r3, r4)], local, atol=1e-5)
    assert {(r.model_version, r.model_kind, r.source) for r in live.values()} == {(1, "tabular_mlp", "loans_incoming")}
    assert {r.input_version for r in live.values()} == {0}  # the incoming table's one version

    # the GBT baseline promoted: the next rows are scored by it, natively; a re-sent record is
    # counted, a key sent again with other values is refused, a drop zone's lines keep file and line
    registry.set_alias(store, "loans_mlp", "production", 3)
    zone = tmp_path / "zone"
    zone.mkdir()
    lines = [json.dumps(r3), json.dumps({**r4, "grade": "G" if r4["grade"] != "G" else "A"}), json.dumps(r5),
             "{not json", json.dumps(r6)]
    drop_file(zone, "batch-1.jsonl", "\n".join(lines) + "\n")
    second = stream.run(spark, loans, dataset="loans", source="files", path=str(zone))
    assert (second.rows_in, second.rows, second.rejected, second.repeated, second.resent) == (5, 2, 2, 0, 1)
    live = {r.loan_id: r for r in lake.read_table(spark, loans, "loans_live_predictions").collect()}
    assert len(live) == 5 and live[r4["loan_id"]].model_version == 1  # the refused re-send changed nothing
    assert {(live[r["loan_id"]].model_version, live[r["loan_id"]].model_kind) for r in (r5, r6)} == {(3, "gbt")}
    local = load_scorer(store, "loans_mlp", 3).predict_records([r5, r6])
    assert np.allclose([live[r["loan_id"]].probability for r in (r5, r6)], local, atol=1e-5)
    zone_rejects = lake.read_table(spark, loans, "stream_rejects").filter(F.col("stream") == f"files:{zone}")
    assert sorted((r.reason, r.line) for r in zone_rejects.collect()) == [
        ("key_already_scored_with_other_record", 2), ("not_valid_json", 4)]
    inputs = {r.loan_id: r for r in lake.read_table(spark, loans, "loans_stream_inputs").collect()}
    assert inputs[r5["loan_id"]].file.endswith("batch-1.jsonl") and inputs[r5["loan_id"]].line == 3
    assert json.loads(inputs[r6["loan_id"]]._scored_record)["amount"] == r6["amount"]
    assert {live[r["loan_id"]].input_version for r in (r5, r6)} == {None}  # a drop zone's rows: file and line
    # a later append to the incoming table: its rows name the version they came in
    r7 = {**r1, "loan_id": 9100007}
    lake.write_table(spark.createDataFrame([(json.dumps(r7),)], "record string")
                     .withColumn("received_at", F.current_timestamp()), loans, "loans_incoming", mode="append")
    assert stream.run(spark, loans, dataset="loans").rows == 1
    latest = lake.read_table(spark, loans, "loans_live_predictions").filter(F.col("loan_id") == r7["loan_id"]).first()
    assert (latest.input_version, latest.model_version) == (1, 3)

    # people label live predictions: a repeat is counted once, a key labelled both ways is refused
    labels = tmp_path / "labels.csv"
    k1, k3, k5, k6 = (r["loan_id"] for r in (r1, r3, r5, r6))
    labels.write_text(f"loan_id,label\n{k5},1\n{k6},0\n{k1},1\n{k5},1\n{k3},0\n{k3},1\n")
    got = feedback.run(spark, loans, action="label", file=str(labels), dataset="loans")
    assert (got.lines, got.rows, got.rejected, got.repeated) == (6, 3, 2, 1)
    table = {r.loan_id: r for r in lake.read_table(spark, loans, "loans_feedback").collect()}
    assert {k: (r.label, r.model_version, r.amount) for k, r in table.items()} == {
        k5: (1, 3, r5["amount"]), k6: (0, 3, r6["amount"]), k1: (1, 1, r1["amount"])}
    assert all(r.reason == ("wrong" if r.label != r.prediction else "labelled") for r in table.values())
    refused = lake.read_table(spark, loans, "loans_feedback_rejects").collect()
    assert sorted((r.line, r.loan_id, r.reason) for r in refused) == [
        (6, str(k3), "conflicting_labels"), (7, str(k3), "conflicting_labels")]
    # the training side's next clean adds the new applicants to the train split (r1 is in silver already)
    before = lake.read_table(spark, loans, "loans_silver").count()
    cleaned = clean.run(spark, loans, dataset="loans")
    assert cleaned.feedback == 2
    silver = lake.read_table(spark, loans, "loans_silver")
    assert silver.count() == before + 2
    back = {r.loan_id: r for r in silver.filter(F.col("_source").startswith("loans_feedback@v")).collect()}
    assert {k: (r.defaulted, r.split, r.amount) for k, r in back.items()} == {
        k5: (True, "train", r5["amount"]), k6: (False, "train", r6["amount"])}
