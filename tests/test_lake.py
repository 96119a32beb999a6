"""The Delta helper: write modes, no-op idempotence, schema enforcement, change feed."""

import dataclasses

import pytest
from chispa import assert_df_equality
from delta.tables import DeltaTable
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import TableConfig, load_config
from crosslake.errors import CrosslakeError

SCHEMA = "k int, v string, part string, run string"


@pytest.fixture
def cfg(tmp_path):
    base = load_config("test", lake_root=str(tmp_path / "lake"))
    t = TableConfig(path="t", keys=["k"], partition_by=["part"], volatile=["run"], schema_evolution=False,
                    properties={"delta.enableChangeDataFeed": True})
    evolving = dataclasses.replace(t, path="e", partition_by=[], schema_evolution=True, properties={})
    return dataclasses.replace(base, tables={"t": t, "e": evolving})


def rows(spark, data, schema=SCHEMA):
    return spark.createDataFrame(data, schema)


def content(spark, cfg, name):
    return lake.read_table(spark, cfg, name).drop("run").orderBy("k")


def test_sync_commits_only_real_changes(spark, cfg):
    first = rows(spark, [(1, "a", "x", "r1"), (2, "b", "y", "r1"), (3, "c", "x", "r1")])
    assert lake.write_table(first, cfg, "t", mode="sync") == 0
    detail = DeltaTable.forPath(spark, cfg.table_path("t")).detail().first()
    assert detail.partitionColumns == ["part"] and detail.properties["delta.enableChangeDataFeed"] == "true"
    # the same rows again, even with a new run id (volatile): no new version
    for run in ("r2", "r3"):
        again = first.withColumn("run", F.lit(run))
        assert lake.write_table(again, cfg, "t", mode="sync") == 0
    # one changed, one gone, one new: exactly one new version holding exactly the new rows
    second = rows(spark, [(1, "a", "x", "r4"), (2, "B", "y", "r4"), (4, "d", "y", "r4")])
    assert lake.write_table(second, cfg, "t", mode="sync") == 1
    assert_df_equality(content(spark, cfg, "t"), second.drop("run").orderBy("k"), ignore_nullable=True)
    changes = {(r.k, r._change_type) for r in lake.read_changes(spark, cfg, "t", since_version=1).collect()}
    assert changes == {(2, "update_preimage"), (2, "update_postimage"), (3, "delete"), (4, "insert")}
    # time travel still sees the first state
    assert lake.read_table(spark, cfg, "t", version=0).count() == 3


def test_upsert_never_deletes_and_insert_new_never_updates(spark, cfg):
    lake.write_table(rows(spark, [(1, "a", "x", "r"), (2, "b", "x", "r")]), cfg, "t", mode="upsert")
    assert lake.write_table(rows(spark, [(2, "B", "x", "r")]), cfg, "t", mode="upsert") == 1
    assert [(r.k, r.v) for r in content(spark, cfg, "t").collect()] == [(1, "a"), (2, "B")]
    lake.write_table(rows(spark, [(2, "ignored", "x", "r"), (3, "c", "x", "r")]), cfg, "t", mode="insert_new")
    assert [(r.k, r.v) for r in content(spark, cfg, "t").collect()] == [(1, "a"), (2, "B"), (3, "c")]
    before = lake.current_version(spark, cfg.table_path("t"))
    assert lake.write_table(rows(spark, [(3, "c", "x", "r")]), cfg, "t", mode="insert_new") == before


def test_unexpected_retyped_or_missing_columns_are_refused_by_name(spark, cfg):
    lake.write_table(rows(spark, [(1, "a", "x", "r")]), cfg, "t", mode="sync")
    extra = rows(spark, [(1, "a", "x", "r", 5)], SCHEMA + ", surprise int")
    with pytest.raises(lake.SchemaError, match=r"column 'surprise' \(int\) is not in table 't'.*schema_evolution"):
        lake.write_table(extra, cfg, "t", mode="sync")
    retyped = rows(spark, [(1, 7, "x", "r")], "k int, v int, part string, run string")
    with pytest.raises(lake.SchemaError, match="column 'v' is string in table 't' but int"):
        lake.write_table(retyped, cfg, "t", mode="append")
    with pytest.raises(lake.SchemaError, match="column.*part.*missing"):
        lake.write_table(rows(spark, [(1, "a", "r")], "k int, v string, run string"), cfg, "t", mode="sync")
    assert lake.current_version(spark, cfg.table_path("t")) == 0  # nothing was written


def test_schema_evolution_adds_columns_only_where_the_profile_allows(spark, cfg):
    lake.write_table(rows(spark, [(1, "a", "x", "r")]), cfg, "e", mode="upsert")
    wider = rows(spark, [(2, "b", "x", "r", 0.5)], SCHEMA + ", score double")
    lake.write_table(wider, cfg, "e", mode="upsert")
    got = {r.k: r.score for r in lake.read_table(spark, cfg, "e").collect()}
    assert got == {1: None, 2: 0.5}
    with pytest.raises(lake.SchemaError, match="retyping is refused"):
        lake.write_table(rows(spark, [(3, "c", "x", "r", "high")], SCHEMA + ", score string"), cfg, "e",
                         mode="upsert")


def test_change_feed_only_where_configured(spark, cfg):
    lake.write_table(rows(spark, [(1, "a", "x", "r")]), cfg, "e", mode="sync")
    with pytest.raises(CrosslakeError, match="no change data feed"):
        lake.read_changes(spark, cfg, "e", since_version=0)


def test_maintain_compacts_and_vacuums_but_never_breaks_the_time_travel_promise(spark, cfg, tmp_path, capsys):
    from jobs import maintain

    for i in range(4):  # four versions, each rewriting the table's files
        lake.write_table(rows(spark, [(1, f"v{i}", "x", "r"), (2, "b", "y", "r")]), cfg, "t", mode="sync")
    promise_week = dataclasses.replace(cfg, lake=dataclasses.replace(cfg.lake, time_travel_hours=168))
    with pytest.raises(CrosslakeError, match="refusing to VACUUM with 0 h retention.*promises 168 h"):
        maintain.run(spark, promise_week, retention_hours=0)
    maintain.run(spark, promise_week, table=["t"], retention_hours=168)
    assert lake.read_table(spark, cfg, "t", version=0).count() == 2  # a week of time travel kept
    no_promise = dataclasses.replace(cfg, lake=dataclasses.replace(cfg.lake, time_travel_hours=0))
    dry = maintain.run(spark, no_promise, table=["t"], retention_hours=0, dry_run=True)
    assert dry.tables[0].vacuumed_paths > 0
    assert lake.read_table(spark, cfg, "t", version=0).count() == 2  # a dry run deletes nothing
    done = maintain.run(spark, no_promise, table=["t"], retention_hours=0)
    assert done.tables[0].vacuumed_paths == dry.tables[0].vacuumed_paths
    assert done.tables[0].files_after_optimize <= done.tables[0].files_before
    assert [(r.k, r.v) for r in content(spark, cfg, "t").collect()] == [(1, "v3"), (2, "b")]  # latest intact
    with pytest.raises(Exception):
        lake.read_table(spark, cfg, "t", version=0).collect()  # its files are gone, as the 0 h promise allows
    spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "true")


def test_time_travel_by_timestamp(spark, cfg):
    import time

    lake.write_table(rows(spark, [(1, "old", "x", "r")]), cfg, "t", mode="sync")
    time.sleep(1.1)
    between = spark.sql("SELECT date_format(current_timestamp(), 'yyyy-MM-dd HH:mm:ss.SSS') AS t").first().t
    time.sleep(1.1)
    lake.write_table(rows(spark, [(1, "new", "x", "r")]), cfg, "t", mode="sync")
    assert [r.v for r in lake.read_table(spark, cfg, "t", timestamp=between).collect()] == ["old"]
    assert [r.v for r in lake.read_table(spark, cfg, "t").collect()] == ["new"]
