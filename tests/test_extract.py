"""Extraction from a real PostgreSQL over JDBC: full, incremental, partitioned, and failures."""

from __future__ import annotations

import dataclasses

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import DatabaseConfig, ExtractConfig, TableConfig, load_config
from jobs import extract

ROWS = 500


@pytest.fixture(scope="module")
def pg(postgres_server):
    pg = postgres_server.fresh("crm")
    pg.sql("CREATE TABLE customers (id integer PRIMARY KEY, name text NOT NULL, plan text, "
           "monthly_fee numeric(8,2), updated_at timestamp NOT NULL)", "crm")
    pg.sql(f"INSERT INTO customers SELECT g, 'customer ' || g, CASE WHEN g % 3 = 0 THEN 'pro' ELSE 'basic' END, "
           f"(g % 50) + 0.99, TIMESTAMP '2026-01-01' + g * INTERVAL '1 minute' "
           f"FROM generate_series(1, {ROWS}) g", "crm")
    yield pg


@pytest.fixture
def cfg(pg, tmp_path, monkeypatch):
    monkeypatch.setenv("TEST_CRM_USER", pg.user)
    monkeypatch.setenv("TEST_CRM_PASSWORD", pg.password)
    base = load_config("test", lake_root=str(tmp_path / "lake"))
    bronze = TableConfig(path="bronze/customers", keys=["id"], partition_by=[], properties={},
                         volatile=["_extracted_at", "_run_id"], schema_evolution=False)
    return dataclasses.replace(
        base,
        tables={**base.tables, "bronze_customers": bronze},
        databases={"crm": DatabaseConfig(url=pg.url("crm"), driver="org.postgresql.Driver", user_env="TEST_CRM_USER",
                                         password_env="TEST_CRM_PASSWORD")},
        extracts={"customers": ExtractConfig(database="crm", table="public.customers", target="bronze_customers",
                                             watermark="updated_at", partition_column="id", num_partitions=4,
                                             fetch_size=100)})


def source_rows(pg) -> set[tuple]:
    out = pg.sql("SELECT id, name, plan, monthly_fee FROM customers ORDER BY id", "crm")
    return {(int(i), n, p, f) for i, n, p, f in (line.split("|") for line in out.splitlines())}


def lake_rows(spark, cfg) -> set[tuple]:
    df = lake.read_table(spark, cfg, "bronze_customers")
    return {(r.id, r.name, r.plan, f"{r.monthly_fee:.2f}") for r in df.collect()}


def test_full_then_incremental_extraction_mirrors_the_source(spark, pg, cfg):
    first = extract.run(spark, cfg, name="customers")
    assert (first.mode, first.rows_read, first.partitions) == ("full", ROWS, 4)
    assert lake_rows(spark, cfg) == source_rows(pg)
    assert first.watermark == "2026-01-01 08:20:00"  # row 500's updated_at

    pg.sql("UPDATE customers SET plan = 'enterprise', updated_at = TIMESTAMP '2026-06-01' WHERE id IN (7, 8, 9)",
           "crm")
    pg.sql("INSERT INTO customers VALUES (501, 'new one', 'basic', 9.99, TIMESTAMP '2026-06-02'), "
           "(502, 'new two', 'pro', 19.99, TIMESTAMP '2026-06-02')", "crm")
    second = extract.run(spark, cfg, name="customers")
    # what changed, plus the one row at the previous watermark (re-read so none is lost)
    assert (second.mode, second.rows_read) == ("incremental", 6)
    assert lake_rows(spark, cfg) == source_rows(pg)
    assert second.watermark == "2026-06-02 00:00:00"

    # a row committed late with the same watermark as the last extract's maximum
    pg.sql("INSERT INTO customers VALUES (503, 'late', 'basic', 1.99, TIMESTAMP '2026-06-02')", "crm")
    third = extract.run(spark, cfg, name="customers")
    assert third.rows_read == 3  # 501, 502 (unchanged, re-read) and 503
    assert lake_rows(spark, cfg) == source_rows(pg)

    version = lake.current_version(spark, cfg.table_path("bronze_customers"))
    fourth = extract.run(spark, cfg, name="customers")
    assert fourth.rows_read == 3  # only the boundary rows, unchanged
    assert lake.current_version(spark, cfg.table_path("bronze_customers")) == version  # nothing new, no commit

    pg.sql("DELETE FROM customers WHERE id IN (502, 503)", "crm")
    full = extract.run(spark, cfg, name="customers", full=True)
    assert full.mode == "full" and lake_rows(spark, cfg) == source_rows(pg)
    assert lake.read_table(spark, cfg, "bronze_customers").filter(F.col("id").isin(502, 503)).count() == 0


def test_failures_are_one_line_errors_and_touch_no_table(spark, pg, cfg, monkeypatch):
    extract.run(spark, cfg, name="customers")
    path = cfg.table_path("bronze_customers")
    version = lake.current_version(spark, path)

    def fails_with(config, pattern):
        with pytest.raises(Exception, match=pattern) as info:
            extract.run(spark, config, name="customers")
        assert "\n" not in str(info.value)
        assert lake.current_version(spark, path) == version

    monkeypatch.setenv("TEST_CRM_PASSWORD", "wrong")
    fails_with(cfg, "refused the credentials in TEST_CRM_USER/TEST_CRM_PASSWORD")
    monkeypatch.setenv("TEST_CRM_PASSWORD", pg.password)
    down = dataclasses.replace(cfg, databases={"crm": dataclasses.replace(
        cfg.databases["crm"], url=f"jdbc:postgresql://127.0.0.1:{pg.port + 1}/crm")})
    fails_with(down, "cannot connect to jdbc:postgresql://127.0.0.1")
    missing = dataclasses.replace(cfg, extracts={"customers": dataclasses.replace(
        cfg.extracts["customers"], table="public.nope")})
    fails_with(missing, "does not exist")
    monkeypatch.delenv("TEST_CRM_USER")
    fails_with(cfg, "set TEST_CRM_USER in the environment")
    injected = dataclasses.replace(cfg, extracts={"customers": dataclasses.replace(
        cfg.extracts["customers"], table="customers; DROP TABLE customers")})
    fails_with(injected, "not a plain")
