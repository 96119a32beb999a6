"""The bad-input catalogue, database side: a real PostgreSQL holding the loans table in
shapes a source system really produces. Each case ends in a quarantine row or a clear
error, with nothing lost and nothing half-written."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from crosslake.errors import CrosslakeError
from jobs import clean, ingest

COLUMNS_SQL = ("loan_id bigint, applied_on date, amount double precision, term_months int, annual_income double "
               "precision, employment_years int, home_ownership text, purpose text, grade text, defaulted boolean, "
               "updated_at timestamp")
VALUES = "'2022-03-04', 12000, 36, 65000, 5, 'rent', 'car', 'B', false, TIMESTAMP '2022-03-05 10:00'"


@pytest.fixture(scope="module")
def pg(postgres_server):
    return postgres_server.fresh("lending")


@pytest.fixture
def cfg_for(pg, tmp_path, monkeypatch):
    monkeypatch.setenv("LENDING_DB_USER", pg.user)
    monkeypatch.setenv("LENDING_DB_PASSWORD", pg.password)

    def make(table: str, columns: str = COLUMNS_SQL, rows: list[str] = (), url: str | None = None,
             more: tuple[str, ...] = ()):
        pg.sql(f"DROP TABLE IF EXISTS {table}; CREATE TABLE {table} ({columns})", "lending")
        for values in rows:
            pg.sql(f"INSERT INTO {table} VALUES ({values})", "lending")
        return load_config("test", lake_root=str(tmp_path / "lake"), overrides=[
            f"databases.lending.url={url or pg.url('lending')}", "datasets.loans.source.format=jdbc",
            f"extracts.loans.table=public.{table}", "datasets.loans.expectations.output.enough_rows.min=1",
            "datasets.loans.clean.max_quarantine_fraction=0.5", *more])

    return make


def test_a_refused_connection_is_a_clear_error_and_writes_nothing(cfg_for, spark):
    cfg = cfg_for("loans_ok", rows=[f"1, {VALUES}"], url="jdbc:postgresql://127.0.0.1:1/lending")
    with pytest.raises(CrosslakeError, match="cannot connect to jdbc:postgresql://127.0.0.1:1/lending"):
        ingest.run(spark, cfg, dataset="loans")
    assert not lake.exists(spark, cfg.table_path("loans_bronze"))


def test_an_empty_source_table_is_a_clear_error_at_clean(cfg_for, spark):
    cfg = cfg_for("loans_empty")
    assert ingest.run(spark, cfg, dataset="loans").rows_read == 0
    with pytest.raises(CrosslakeError, match="holds no records"):
        clean.run(spark, cfg, dataset="loans")
    assert not lake.exists(spark, cfg.table_path("loans_silver"))


def test_a_source_emptied_after_landing_is_not_mirrored_without_consent(cfg_for, pg, spark):
    cfg = cfg_for("loans_emptied", rows=[f"1, {VALUES}", f"2, {VALUES}"])
    ingest.run(spark, cfg, dataset="loans")
    landed = lake.current_version(spark, cfg.table_path("loans_bronze"))
    pg.sql("DELETE FROM loans_emptied", "lending")
    with pytest.raises(CrosslakeError, match="returned no rows.*--allow-empty"):
        ingest.run(spark, cfg, dataset="loans", full=True)
    assert lake.current_version(spark, cfg.table_path("loans_bronze")) == landed
    assert lake.read_table(spark, cfg, "loans_bronze").count() == 2


def test_a_missing_source_column_is_named(cfg_for, spark):
    cfg = cfg_for("loans_no_grade", columns=COLUMNS_SQL.replace("grade text, ", ""),
                  rows=[f"1, {VALUES.replace(chr(39) + 'B' + chr(39) + ', ', '')}"])
    ingest.run(spark, cfg, dataset="loans")
    with pytest.raises(CrosslakeError, match=r"jdbc:lending/public.loans_no_grade lacks declared column\(s\) grade"):
        clean.run(spark, cfg, dataset="loans")
    assert not lake.exists(spark, cfg.table_path("loans_silver"))


def test_text_columns_holding_bad_numbers_are_quarantined(cfg_for, spark):
    cfg = cfg_for("loans_text", columns=COLUMNS_SQL.replace("amount double precision", "amount text"),
                  rows=[f"1, {VALUES}", f"2, {VALUES.replace('12000', chr(39) + '12k' + chr(39))}"])
    ingest.run(spark, cfg, dataset="loans")
    result = clean.run(spark, cfg, dataset="loans")
    [q] = lake.read_table(spark, cfg, "loans_quarantine").collect()
    assert (q.failed_checks, q._source_row) == (["unparseable:amount"], "loan_id=2")
    assert '"amount":"12k"' in q.raw_record
    assert (result.rows_in, result.published, result.quarantined) == (2, 1, 1)


def test_duplicate_keys_in_a_table_without_primary_key_are_refused_by_name(cfg_for, spark):
    cfg = cfg_for("loans_dups", rows=[f"1, {VALUES}", f"7, {VALUES}", f"7, {VALUES.replace('12000', '13000')}"])
    with pytest.raises(CrosslakeError, match=r"not unique on its key \(loan_id\): loan_id=7 \(2 rows\)"):
        ingest.run(spark, cfg, dataset="loans")
    assert not lake.exists(spark, cfg.table_path("loans_bronze"))


def test_a_null_key_in_the_source_is_quarantined(cfg_for, spark):
    cfg = cfg_for("loans_null_key", rows=[f"1, {VALUES}", f"NULL, {VALUES}"])
    ingest.run(spark, cfg, dataset="loans")
    clean.run(spark, cfg, dataset="loans")
    quarantine = lake.read_table(spark, cfg, "loans_quarantine")
    assert [(r.failed_checks, r._source_row) for r in quarantine.collect()] == [(["key_missing"], "loan_id=NULL")]
    assert lake.read_table(spark, cfg, "loans_silver").filter(F.col("loan_id") == 1).count() == 1
