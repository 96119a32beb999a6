"""Corrupted inputs beyond the catalogue: each gives a clear error that names the object, and
nothing is written."""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from crosslake import lake
from crosslake.errors import CrosslakeError
from jobs import ingest, tables


def _write_versions(spark, cfg, n: int) -> str:
    for i in range(n):
        rows = [(f"test/pos/{i}", "test", f"text {i}")]
        df = spark.createDataFrame(rows, "review_id string, split string, text string")
        lake.write_table(df, cfg, "silver", mode="upsert")
    return cfg.table_path("silver")


def _forget_cached_logs(spark) -> None:
    """What a new process sees: Delta caches each table's log state per JVM."""
    spark._jvm.org.apache.spark.sql.delta.DeltaLog.clearCache()


def test_a_delta_log_entry_deleted_by_hand_is_named_not_a_stack_trace(spark, make_cfg, capsys):
    cfg = make_cfg()
    path = _write_versions(spark, cfg, 3)                   # versions 0, 1, 2
    entry = Path(path) / "_delta_log" / f"{1:020d}.json"
    entry.unlink()
    _forget_cached_logs(spark)
    with pytest.raises(CrosslakeError, match=r"table 'silver' at .* cannot be read: its Delta log is damaged"):
        lake.read_table(spark, cfg, "silver")
    # through the CLI: one line on stderr, exit 1, and the folder to look at
    code = tables.main(["history", "silver", "--profile", "test", "--lake-root", cfg.lake.root])
    err = capsys.readouterr().err
    assert code == 1 and "_delta_log" in err and "Traceback" not in err
    # nothing was written by the failed attempts
    assert sorted(p.name for p in (Path(path) / "_delta_log").glob("*.json")) == [f"{0:020d}.json", f"{2:020d}.json"]


def test_a_truncated_archive_is_named_and_nothing_lands(spark, make_cfg, tmp_path, capsys):
    cfg = make_cfg()
    corpus = tmp_path / "aclImdb"
    (corpus / "train" / "pos").mkdir(parents=True)
    for i in range(50):
        (corpus / "train" / "pos" / f"{i}_9.txt").write_text("a fine film " * 200)
    archive = tmp_path / "aclImdb_v1.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(corpus, arcname="aclImdb")
    archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])   # a download cut short

    code = ingest.main(["--source", str(archive), "--profile", "test", "--lake-root", cfg.lake.root])
    err = capsys.readouterr().err
    assert code == 1 and str(archive) in err and "Traceback" not in err
    assert not lake.exists(spark, cfg.table_path("bronze"))
