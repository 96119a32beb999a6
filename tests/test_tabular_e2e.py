"""The example tabular dataset end to end from a real PostgreSQL, as a user runs it:
`crosslake generate --dataset loans --to database`, then `crosslake pipeline --dataset
loans` in a new process, with the source switched to JDBC by configuration only."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from sources.loans_generator import rows_for_database
from tests.helpers import cli, in_process

pytestmark = pytest.mark.slow  # starts the crosslake command (or spark-submit, Airflow, ...) in new processes

ROWS = 600
TABLES = ("loans_bronze", "loans_silver", "loans_quarantine", "loans_encoding", "loans_gold")


@pytest.fixture(scope="module")
def pg(postgres_server):
    return postgres_server.fresh("lending")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("tabular")


def overrides(pg) -> list[str]:
    return ["--set", f"databases.lending.url={pg.url('lending')}", "--set", "datasets.loans.source.format=jdbc"]


def args(pg, root: Path, *argv: str) -> list[str]:
    """A command's arguments on root's lake, the source switched to the test database."""
    return [*argv, "--profile", "test", "--lake-root", str(root / "lake"), *overrides(pg)]


def secrets(pg) -> dict[str, str]:
    return {"LENDING_DB_USER": pg.user, "LENDING_DB_PASSWORD": pg.password}


def here(pg, root: Path, *argv: str) -> str:
    """The command through its main([...]) in this process (the first pipeline run below is
    the one a user starts, in a new process): what it printed."""
    return in_process(*args(pg, root, *argv), env=secrets(pg)).stdout


@pytest.fixture(scope="module")
def first_run(pg, root):
    here(pg, root, "generate", "--dataset", "loans", "--rows", str(ROWS), "--to", "database")
    pg.sql("ALTER TABLE loans ADD PRIMARY KEY (loan_id)", "lending")
    done = cli(*args(pg, root, "pipeline", "--dataset", "loans"), env=secrets(pg), cwd=root)
    cfg = load_config("test", lake_root=str(root / "lake"),
                      overrides=[f"databases.lending.url={pg.url('lending')}", "datasets.loans.source.format=jdbc"])
    return cfg, done.stdout


def versions(spark, cfg) -> dict[str, int]:
    return {t: lake.current_version(spark, cfg.table_path(t)) for t in TABLES}


def test_every_source_row_is_published_or_quarantined_for_its_planted_fault(first_run, pg, spark):
    cfg, out = first_run
    _, manifest = rows_for_database(ROWS, seed=cfg.generate.seed)
    bronze = lake.read_table(spark, cfg, "loans_bronze")
    silver = lake.read_table(spark, cfg, "loans_silver")
    quarantine = lake.read_table(spark, cfg, "loans_quarantine")
    assert bronze.count() == ROWS
    assert silver.count() + quarantine.count() == ROWS
    reasons = Counter(r for row in quarantine.collect() for r in row.failed_checks)
    assert reasons == manifest.quarantined
    assert quarantine.filter(F.size("failed_checks") != 1).count() == 0
    # published values are the source's, typed as declared, traced to the source row
    source = {int(i): (float(a), g) for i, a, g in (line.split("|") for line in pg.sql(
        "SELECT loan_id, amount, grade FROM loans", "lending").splitlines())}
    published = {r.loan_id: (r.amount, r.grade) for r in silver.collect()}
    assert published == {k: source[k] for k in published}
    assert dict(silver.dtypes)["applied_on"] == "date" and dict(silver.dtypes)["defaulted"] == "boolean"
    row = silver.filter(F.col("loan_id") == 7).first()
    assert (row._source, row._source_row) == ("jdbc:lending/public.loans", "loan_id=7")
    assert f"rows in 600 = published {silver.count()} + quarantined {quarantine.count()} + duplicates dropped 0" \
        in out, out


def test_gold_holds_feature_vectors_from_the_train_split_encoding(first_run, spark):
    cfg, _ = first_run
    gold = lake.read_table(spark, cfg, "loans_gold")
    encoding = lake.read_table(spark, cfg, "loans_encoding").orderBy("position").collect()
    silver = lake.read_table(spark, cfg, "loans_silver")
    assert gold.count() == silver.count()
    assert {r.n for r in gold.select(F.size("features").alias("n")).distinct().collect()} == {len(encoding)}
    assert {r.split for r in gold.select("split").distinct().collect()} == {"train", "validation", "test"}
    assert set(gold.select("label").distinct().toPandas()["label"]) == {0, 1}
    # standardised with train-split statistics: mean ~0 and std ~1 on train, per numeric slot
    train = gold.filter(F.col("split") == "train").select("features").toPandas()["features"].tolist()
    for e in (e for e in encoding if e.kind == "numeric"):
        values = [f[e.position] for f in train]
        mean = sum(values) / len(values)
        std = (sum((v - mean) ** 2 for v in values) / len(values)) ** 0.5
        assert abs(mean) < 1e-3 and abs(std - 1) < 1e-3, e.feature
    # one-hot: exactly one slot lit per categorical column
    for column in {e.feature for e in encoding if e.kind in ("categorical", "other")}:
        slots = [e.position for e in encoding if e.feature == column]
        assert all(sum(f[p] for p in slots) == 1.0 for f in train), column


def test_the_tabular_mlp_trains_on_the_pinned_gold_and_is_promoted(first_run, spark):
    from train import registry
    from train.store import load_model

    cfg, out = first_run
    stored = load_model(cfg.model_store, "loans_mlp")  # rebuilt from its saved spec, checksum verified
    meta = stored.metadata
    width = lake.read_table(spark, cfg, "loans_encoding").count()
    assert meta["spec"]["kind"] == "tabular_mlp" and meta["spec"]["in_dim"] == width
    assert (meta["data"]["gold_table_name"], meta["data"]["gold_version"]) == ("loans_gold", 0)
    assert meta["data"]["rows"]["train"] == lake.read_table(spark, cfg, "loans_gold").filter("split = 'train'").count()
    history = meta["metrics"]["history"]
    assert history[-1]["train_loss"] < history[0]["train_loss"] and meta["metrics"]["test_accuracy"] > 0.6
    assert (Path(stored.path) / "curves.png").is_file() and (Path(stored.path) / "encoder.json").is_file()
    # the MLP (v1) or one of its baselines (v2 logreg, v3 gbt): whichever scored best on the test set
    aliases = registry.aliases(cfg.model_store, "loans_mlp")
    winner = registry.decisions(cfg.model_store, "loans_mlp")[-1]["winner"]["version"]
    assert aliases == {"candidate": 1, "production": winner} and winner in (1, 2, 3)
    assert f"promoted loans_mlp v{winner} " in out and "no production model yet" in out


def test_rerun_changes_nothing_and_source_changes_flow_incrementally(first_run, pg, root, spark):
    from train import registry
    from train.store import versions as model_versions

    cfg, _ = first_run
    before = versions(spark, cfg)
    here(pg, root, "pipeline", "--dataset", "loans")
    assert versions(spark, cfg) == before  # nothing new at the source: no table gets a new version
    # the MLP (v1) and its logreg and gbt baselines (v2, v3); same data, same settings: not retrained
    assert model_versions(cfg.model_store, "loans_mlp") == [1, 2, 3]
    production_before = registry.aliases(cfg.model_store, "loans_mlp")["production"]

    bad_grade = int(pg.sql("SELECT min(loan_id) FROM loans WHERE grade = 'Z'", "lending"))
    # rows at the last watermark value are read again (a row committed late with that value is not lost)
    boundary = int(pg.sql("SELECT count(*) FROM loans WHERE updated_at = (SELECT max(updated_at) FROM loans)",
                          "lending"))
    pg.sql("UPDATE loans SET amount = amount + 1, updated_at = TIMESTAMP '2030-01-01' "
           "WHERE loan_id IN (3, 4, 5)", "lending")
    pg.sql(f"UPDATE loans SET grade = 'B', updated_at = TIMESTAMP '2030-01-01' WHERE loan_id = {bad_grade}",
           "lending")
    pg.sql("INSERT INTO loans SELECT loan_id + 10000, applied_on, amount, term_months, annual_income, "
           "employment_years, home_ownership, purpose, grade, defaulted, TIMESTAMP '2030-01-02' "
           "FROM loans WHERE loan_id IN (10, 11)", "lending")
    out = here(pg, root, "pipeline", "--dataset", "loans")
    assert f"incremental extract 'loans': {6 + boundary} rows read" in out  # 4 updated + 2 new + boundary
    silver = lake.read_table(spark, cfg, "loans_silver")
    quarantine = lake.read_table(spark, cfg, "loans_quarantine")
    assert silver.count() + quarantine.count() == ROWS + 2
    assert silver.filter(F.col("loan_id") == bad_grade).count() == 1  # fixed at the source: now published
    assert quarantine.filter(F.col("_source_row") == f"loan_id={bad_grade}").count() == 0
    changes = lake.read_changes(spark, cfg, "loans_silver", since_version=before["loans_silver"] + 1)
    changed = {r.loan_id for r in changes.filter(F.col("_change_type").isin("insert", "update_postimage")).collect()}
    assert changed == {3, 4, 5, bad_grade, 10010, 10011}
    # new data: a new MLP and its two baselines, judged with production on the new test set
    assert model_versions(cfg.model_store, "loans_mlp") == [1, 2, 3, 4, 5, 6]
    decision = registry.decisions(cfg.model_store, "loans_mlp")[-1]
    assert decision["candidate"] == 4 and decision["production_before"] == production_before
    assert sorted((c["version"], c["role"]) for c in decision["contenders"]) == sorted(
        [(4, "candidate"), (5, "baseline"), (6, "baseline"), (production_before, "production")])
    # the winner: beaten beyond noise by nobody; each contender preferred to it was
    others = [c for c in decision["contenders"] if c["version"] != decision["winner"]["version"]]
    assert all(c["minus_winner"]["low"] <= 0 for c in others), others
    assert all(c["beaten_by"]["low"] > 0 for c in others if "beaten_by" in c)
    assert registry.aliases(cfg.model_store, "loans_mlp")["production"] == decision["winner"]["version"]


def test_the_ledger_traces_gold_back_to_the_source_table(first_run, pg, root, spark):
    cfg, _ = first_run
    gold_version = lake.current_version(spark, cfg.table_path("loans_gold"))
    out = here(pg, root, "runs", "trace", f"loans_gold:{gold_version}")
    assert f"loans_gold v{gold_version} <- features run" in out, out
    assert re.search(r"loans_silver v\d+ <- clean run", out) and re.search(r"loans_bronze v\d+ <- ingest run", out), out
    assert "jdbc:lending/public.loans" in out


def test_every_gold_row_traces_to_its_source_row(first_run, spark):
    from crosslake.lineage import gold_source_rows

    cfg, _ = first_run
    gold_version = lake.current_version(spark, cfg.table_path("loans_gold"))
    rows = gold_source_rows(spark, cfg, "loans_gold", gold_version).collect()
    assert len(rows) == lake.read_table(spark, cfg, "loans_gold").count()
    assert all(r.source == "jdbc:lending/public.loans" and r.source_row == f"loan_id={r.key}" for r in rows)
