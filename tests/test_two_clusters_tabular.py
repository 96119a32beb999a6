"""Two clusters, one bucket, a declared dataset: the loans example all the way through.

The training side (onprem-gpu) runs as its own `crosslake` process; the scoring side
(cloud-cpu) runs its jobs through `main([...])` in this test process, on its own profile and
local folder (tests/test_two_clusters.py starts both sides' first jobs as processes). They
share only a real S3-compatible server (moto) on loopback. One module fixture tells the
story, each test checks one part:
  1. training side: `crosslake pipeline --dataset loans` -> loans_mlp and its baselines
     registered on the bucket, the best of them in production, the tables on s3a://
  2. scoring side: `crosslake score --dataset loans` -> loans_predictions stamped with the
     model and the input table's version, each row traced to its source file and line
  3. records arrive in loans_incoming; `crosslake stream --dataset loans` scores them with
     the production model, refusing a bad one with its reason
  4. the review page's API answers a loans record with the same model and probability
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from tests import s3
from tests.helpers import cli, in_process
from train import registry
from train.scoring import load_scorer

pytestmark = pytest.mark.slow  # starts the crosslake command in new processes

TRAINING, SCORING = "onprem-gpu,test", "cloud-cpu,test"
SMALL = ["--set", "datasets.loans.train.epochs=3"]
MODEL = "loans_mlp"


def as_record(row) -> dict:
    """A silver row as the JSON record a front door would send (the label left out)."""
    return {c: (v.isoformat() if hasattr(v, "isoformat") else v) for c, v in row.asDict().items()
            if c not in ("defaulted", "split", "_source", "_source_row")}


@pytest.fixture(scope="module")
def story(tmp_path_factory, spark, s3_server):
    root = tmp_path_factory.mktemp("two-clusters-loans")
    store = s3_server.fresh("two-clusters-loans")
    s3.attach(spark, store)
    bucket_lake = store.uri("lake")
    source = root / "onprem" / "loans"

    def argv(profile: str, *args: str) -> list[str]:
        side = profile.split(",")[0]
        return [*args, "--profile", profile, "--lake-root", bucket_lake,
                "--set", f"datasets.loans.source.path={source}", "--set", f"lake.scratch={root / side}", *SMALL]

    def run(profile: str, *args: str) -> subprocess.CompletedProcess:
        return cli(*argv(profile, *args), env=store.env(), cwd=root)

    def here(profile: str, *args: str) -> subprocess.CompletedProcess:
        return in_process(*argv(profile, *args), env=store.env())

    train_cfg, score_cfg = load_config(TRAINING, lake_root=bucket_lake), load_config(SCORING, lake_root=bucket_lake)
    out: dict = {"root": root, "score_cfg": score_cfg}
    out["pipeline"] = run(TRAINING, "pipeline", "--dataset", "loans")
    out["score"] = here(SCORING, "score", "--dataset", "loans")
    with s3.environment(store.env()):
        out["production"] = registry.resolve(train_cfg.model_store, MODEL, "production")
        silver = lake.read_table(spark, train_cfg, "loans_silver")
        out["silver"] = silver.collect()
        out["silver_version"] = lake.current_version(spark, train_cfg.table_path("loans_silver"))
        out["records"] = [as_record(r) for r in silver.filter(F.col("split") == "test").orderBy("loan_id").take(5)]
        arriving = [json.dumps(r) for r in out["records"]] + ['{"loan_id": 99000001, "amount": "a lot"}']
        incoming = spark.createDataFrame([(r,) for r in arriving], "record string")
        lake.write_table(incoming.withColumn("received_at", F.current_timestamp()), score_cfg, "loans_incoming",
                         mode="append")
    out["stream"] = here(SCORING, "stream", "--dataset", "loans", "--trigger", "available-now")
    with s3.environment(store.env()):
        out["predictions"] = lake.read_table(spark, score_cfg, "loans_predictions").collect()
        out["live"] = lake.read_table(spark, score_cfg, "loans_live_predictions").collect()
        out["rejects"] = (lake.read_table(spark, score_cfg, "stream_rejects")
                          .filter(F.col("stream") == "loans_incoming").collect())
        scorer = load_scorer(score_cfg.model_store, MODEL, out["production"])
        out["local"] = scorer.predict_records(out["records"])
        out["kind"] = scorer.kind
        from serving.web import create_app

        client = create_app(score_cfg, dataset="loans").test_client()
        out["api"] = client.post("/api/predict", json={"record": out["records"][0]}).get_json()
    out["keys"] = store.keys()
    yield out


def test_the_training_side_registers_every_contender_and_keeps_nothing_local(story):
    printed = story["pipeline"].stdout.splitlines()
    header = next(i for i, line in enumerate(printed) if line.startswith("model comparison on loans_silver"))
    contenders = [line.split() for line in printed[header + 2:header + 5]]  # under the column names
    # the MLP and its two baselines, each measured; the winner is the one in production
    assert sorted(c[1] for c in contenders) == ["gbt", "logreg", "tabular_mlp"], printed[header:header + 6]
    assert [c[0] for c in contenders if c[-1] == "winner"] == [f"v{story['production']}"]
    keys = story["keys"]
    for prefix in ("lake/datasets/loans/bronze/_delta_log/", "lake/datasets/loans/silver/_delta_log/",
                   "lake/datasets/loans/gold/", f"lake/models/{MODEL}/v1/", f"lake/models/{MODEL}/v2/sparkml/",
                   f"lake/models/{MODEL}/v3/sparkml/", f"lake/models/{MODEL}/aliases.json",
                   "lake/datasets/loans/predictions/_delta_log/", "lake/datasets/loans/live_predictions/_delta_log/",
                   "lake/_checkpoints/streams/loans_incoming/offsets/", "lake/_ledger/cloud-cpu/runs/"):
        assert any(k.startswith(prefix) for k in keys), prefix
    root = story["root"]
    assert not list((root / "cloud-cpu").rglob("_delta_log")) and not list((root / "onprem-gpu").rglob("_delta_log"))


def test_batch_scoring_on_the_other_side_is_stamped_and_traced_to_the_source_line(story):
    silver = {r.loan_id: r for r in story["silver"]}
    wanted = {k for k, r in silver.items() if r.split == "test" or r.defaulted is None}
    preds = story["predictions"]
    assert {p.loan_id for p in preds} == wanted and len(preds) == len(wanted) > 0
    assert {(p.model_version, p.input_table, p.input_version) for p in preds} == {
        (story["production"], "loans_silver", story["silver_version"])}
    assert all((p._source, p._source_row) == (silver[p.loan_id]._source, silver[p.loan_id]._source_row)
               and p._source.endswith(".csv") for p in preds)
    assert f"with model v{story['production']}" in story["score"].stdout


def test_the_stream_scores_arriving_records_with_the_production_model_and_names_a_bad_one(story):
    live = {r.loan_id: r for r in story["live"]}
    records = story["records"]
    assert set(live) == {r["loan_id"] for r in records}
    assert {(r.model_version, r.model_kind, r.input_version) for r in live.values()} == {
        (story["production"], story["kind"], 0)}  # the model, and the incoming table's version read
    assert np.allclose([live[r["loan_id"]].probability for r in records], story["local"], atol=1e-5)
    assert [r.reason for r in story["rejects"]] == ["unparseable:amount"]
    assert "6 rows in = 5 new rows scored + 1 rejected" in story["stream"].stdout


def test_the_page_api_answers_a_loans_record_on_the_scoring_side(story):
    answer = story["api"]
    assert answer["model"] == {"name": MODEL, "version": story["production"], "kind": story["kind"]}
    assert abs(answer["probability"] - float(story["local"][0])) < 1e-5
