"""A third workload needs no stage code: a workload over a tiny table of "id,text" lines,
defined here in a few lines, runs through the shared clean stage and publish(); and no job
of the data stages branches on the dataset any more."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import great_expectations.expectations as gxe
import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import TableConfig
from crosslake.errors import DataQualityError
from expectations.suite import Suite
from stages import clean
from workloads.base import Workload

ROOT = Path(__file__).resolve().parents[1]
LINES = ["1,buy milk", "2,call bob", "2,call bob", "x,no number", "3,", "4,walk the dog"]


class NotesWorkload(Workload):
    """Lines of "<id>,<text>": a numeric id and some text, one copy of each note published."""

    name = "notes"
    tables = {"bronze": "notes_bronze", "silver": "notes_silver", "quarantine": "notes_quarantine"}
    model_name = "notes_model"
    silver_columns = ("note_id", "text")
    min_rows = 1

    def parse(self, bronze):
        return bronze.select("line_no", "line",
                             F.expr("try_cast(split_part(line, ',', 1) AS INT)").alias("note_id"),
                             F.trim(F.expr("substring(line, instr(line, ',') + 1)")).alias("text"))

    def row_checks(self):
        return {"note_id_is_number": F.col("note_id").isNotNull()}

    def suite(self):
        return Suite(name="notes_silver",
                     row_checks={"text_not_empty": gxe.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1)},
                     output_checks={"note_id_unique": gxe.ExpectColumnValuesToBeUnique(column="note_id"),
                                    "min_rows": gxe.ExpectTableRowCountToBeBetween(min_value=self.min_rows)})


def notes_cfg(make_cfg):
    """The test profile with the notes workload's three tables in the catalog."""
    cfg = make_cfg()
    table = lambda path, keys, volatile=(): TableConfig(path=path, keys=keys, partition_by=[], properties={},  # noqa: E731
                                                        volatile=list(volatile), schema_evolution=False)
    return dataclasses.replace(cfg, tables={
        **cfg.tables, "notes_bronze": table("notes/bronze", ["line_no"]),
        "notes_silver": table("notes/silver", ["note_id"]),
        "notes_quarantine": table("notes/quarantine", ["line_no"], ["run_id", "quarantined_at", "bronze_version"])})


def land_notes(spark, cfg) -> None:
    rows = spark.createDataFrame(list(enumerate(LINES, 1)), "line_no int, line string")
    lake.write_table(rows, cfg, "notes_bronze", mode="overwrite")


def test_a_third_workload_runs_through_the_shared_clean_stage_and_publish(spark, make_cfg):
    cfg = notes_cfg(make_cfg)
    land_notes(spark, cfg)

    result = clean.run(lake.Lake(spark, cfg), NotesWorkload(cfg))

    # rows in 6 = published 3 (1, 2, 4) + quarantined 2 (x, 3) + one exact repeat of note 2 dropped
    assert (result.rows_in, result.published, result.quarantined, result.duplicates) == (6, 3, 2, 1)
    assert result.quarantine_reasons == {"note_id_is_number": 1, "text_not_empty": 1}
    assert result.report().splitlines()[2] == "  rows in 6 = published 3 + quarantined 2 + duplicates dropped 1"
    assert result.silver.name == "notes_silver" and result.quarantine.name == "notes_quarantine"
    silver = lake.read_table(spark, cfg, "notes_silver")
    assert sorted(tuple(r) for r in silver.select("note_id", "text").collect()) == [
        (1, "buy milk"), (2, "call bob"), (4, "walk the dog")]
    quarantine = {r.line: list(r.failed_checks) for r in lake.read_table(spark, cfg, "notes_quarantine").collect()}
    assert quarantine == {"x,no number": ["note_id_is_number"], "3,": ["text_not_empty"]}
    # publish() recorded every check against the silver version it wrote
    recorded = lake.read_table(spark, cfg, "dq_results").filter(F.col("table") == "notes_silver").collect()
    by_check = {r.check: r for r in recorded}
    assert set(by_check) == {"note_id_is_number", "text_not_empty", "note_id_unique", "min_rows"}
    assert {r.table_version for r in recorded} == {result.silver.version}
    assert by_check["note_id_is_number"].unexpected_count == 1 and by_check["note_id_unique"].success


def test_a_blocked_publish_still_writes_the_quarantine_and_not_the_table(spark, make_cfg):
    cfg = notes_cfg(make_cfg)
    land_notes(spark, cfg)
    workload = NotesWorkload(cfg)
    workload.min_rows = 10  # an output check the 3 published notes cannot pass

    with pytest.raises(DataQualityError, match=r"^notes_silver publish blocked by data quality: notes_silver\.min_rows"
                                               r".* Nothing was published; inspect `crosslake tables show "
                                               r"notes_quarantine`\.$"):
        clean.run(lake.Lake(spark, cfg), workload)

    assert not lake.exists(spark, cfg.table_path("notes_silver"))
    assert lake.read_table(spark, cfg, "notes_quarantine").count() == 2
    blocked = lake.read_table(spark, cfg, "dq_results").filter(F.col("table") == "notes_silver")
    assert blocked.filter(F.col("table_version").isNull()).count() == blocked.count() == 4


@pytest.mark.parametrize("job", sorted(p.stem for p in (ROOT / "jobs").glob("*.py") if p.stem != "__init__"))
def test_no_job_branches_on_the_dataset(job):
    """The jobs are wiring: the workload (picked once) answers what differs per dataset."""
    source = (ROOT / "jobs" / f"{job}.py").read_text()
    branches = [line.strip() for line in source.splitlines() if re.search(r"\bif\b.*\bdataset\b", line)]
    assert branches == []
    assert "removesuffix" not in source and '_bronze"' not in source and '_silver"' not in source
