"""The bad-input catalogue: every malformed input we know of, and what becomes of it.

Each case ends in one of three ways, never in a lost row:
  * quarantined: the row lands in <dataset>_quarantine with the failed checks named and
    its raw text kept;
  * accepted after cleaning: the row is published with the value it was meant to have;
  * a clear error naming the file, column or table, with nothing written.
For every row-level case, per file: records in = published + quarantined + repeats.

The row-level cases share one ingest + clean of a drop folder (one file per case, each
with a good row beside the bad one, so collateral damage would show); file-, batch- and
database-level cases run on their own.
"""

from __future__ import annotations

import csv
import dataclasses
import io
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from crosslake import lake
from crosslake.config import load_config
from crosslake.errors import CrosslakeError, DataQualityError
from jobs import clean, ingest
from sources.loans_generator import COLUMNS
from tests.helpers import write_files

GOOD = {"loan_id": "0", "applied_on": "2022-03-04", "amount": "12000.0", "term_months": "36",
        "annual_income": "65000", "employment_years": "5", "home_ownership": "rent", "purpose": "car",
        "grade": "B", "defaulted": "false", "updated_at": "2022-03-05 10:00:00"}
HEADER = ",".join(COLUMNS) + "\n"


def row(key: int, **changes: str) -> str:
    """One CSV record (properly quoted), a good one unless `changes` say otherwise."""
    values = {**GOOD, "loan_id": str(key), **changes}
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow([values[c] for c in COLUMNS])
    return out.getvalue()


@dataclasses.dataclass
class Case:
    name: str
    body: bytes                          # everything after the header
    quarantined: list[list[str]] = dataclasses.field(default_factory=list)  # failed checks per quarantined row
    published: int = 1                   # rows of the file that reach silver (the good row included)
    repeats: int = 0                     # identical copies dropped (counted, not lost)
    header: str = HEADER
    check: dict | None = None            # loan_id -> {column: value} expected in silver


def case(name: str, key: int, bad: str | bytes, reasons: list[list[str]], **kw) -> Case:
    bad_bytes = bad.encode() if isinstance(bad, str) else bad
    return Case(name, row(key).encode() + bad_bytes, reasons, **kw)


R = lambda k, **c: row(k, **c)  # noqa: E731
ROW_CASES = [
    # -- malformed records ---------------------------------------------------------------
    case("too_few_fields", 100, "101,2022-03-04,12000.0,36\n", [["wrong_field_count"]]),
    case("too_many_fields", 200, R(201).rstrip("\n") + ",surplus,values\n", [["wrong_field_count"]]),
    case("unterminated_quote", 300, R(301).replace(",car,", ',"car,') + R(302), [["unterminated_quote"]]),
    case("stray_quote_after_quoted_field", 400, '401,2022-03-04,"12000.0"x,36,65000,5,rent,car,B,false,'
                                                '2022-03-05 10:00:00\n', [["malformed_quoting"]]),
    case("invalid_utf8", 500, R(501, purpose="carXX").encode().replace(b"carXX", b"car\xff"), [["invalid_utf8"]]),
    case("nul_byte_in_value", 600, R(601, purpose="c\x00ar"), [["control_characters"]]),
    case("oversized_field", 700, R(701, purpose="x" * 500), [["too_long:purpose"]]),
    # -- values that do not parse as the declared type ------------------------------------
    case("unparseable_integer", 800, R(801, term_months="36 months"), [["unparseable:term_months"]]),
    case("integer_overflow", 900, R(901, term_months="3000000000"), [["unparseable:term_months"]]),
    case("fraction_in_integer", 1000, R(1001, employment_years="5.5"), [["unparseable:employment_years"]]),
    case("thousands_separator", 1100, R(1101, amount="12,000.00"), [["unparseable:amount"]]),
    case("not_a_number_text", 1200, R(1201, annual_income="sixty thousand"), [["unparseable:annual_income"]]),
    # NaN also fails the declared range (Spark orders NaN above every number): both are named
    case("nan_in_number", 1300, R(1301, amount="NaN"), [["amount_in_range", "non_finite:amount"]]),
    case("infinity_in_number", 1400, R(1401, annual_income="Infinity"), [["non_finite:annual_income"]]),
    case("impossible_date", 1500, R(1501, applied_on="2023-02-30"), [["unparseable:applied_on"]]),
    case("date_in_other_format", 1600, R(1601, applied_on="04/03/2022"), [["unparseable:applied_on"]]),
    case("unparseable_timestamp", 1700, R(1701, updated_at="yesterday"), [["unparseable:updated_at"]]),
    case("unparseable_boolean", 1800, R(1801, defaulted="maybe"), [["unparseable:defaulted"]]),
    case("unparseable_key", 1900, R(1901).replace("1901,", "19O1,", 1), [["unparseable:loan_id", "key_missing"]]),
    # -- keys -------------------------------------------------------------------------------
    case("empty_key", 2000, R(2001, loan_id=""), [["key_missing"]]),
    case("null_marker_key", 2100, R(2101, loan_id="NA"), [["key_missing"]]),
    case("conflicting_duplicate_key", 2200, R(2201) + R(2201, amount="13000.0"),
         [["duplicate_key"], ["duplicate_key"]]),
    case("exact_repeat", 2300, R(2301) + R(2301), [], published=2, repeats=1),
    # -- rules the dataset's suite declares (conf/base.yaml, datasets.loans.expectations) -------
    case("value_out_of_range", 2400, R(2401, amount="-5"), [["amount_in_range"]]),
    case("unknown_category", 2500, R(2501, grade="Z"), [["grade_known"]]),
    case("missing_label", 2600, R(2601, defaulted=""), [["label_present"]]),
    case("several_faults_at_once", 2700, R(2701, amount="abc", grade="Q", defaulted="NA"),
         [["grade_known", "label_present", "unparseable:amount"]]),
    # -- accepted after cleaning (published with the intended value) -------------------------
    case("padded_values", 2800, R(2801, term_months=" 60 ", grade=" C"), [], published=2,
         check={2801: {"term_months": 60, "grade": "C"}}),
    case("mixed_case_category", 2900, R(2901, home_ownership="MORTGAGE"), [], published=2,
         check={2901: {"home_ownership": "mortgage"}}),
    case("quoted_delimiter_and_newline", 3000, R(3001, purpose="car, used\nand cheap"), [], published=2,
         check={3001: {"purpose": "car, used\nand cheap"}}),
    case("blank_lines_between_records", 3100, "\n\n" + R(3101) + "\n", [], published=2),
    Case("bom_and_crlf", (R(3200) + R(3201, amount="999.5")).replace("\n", "\r\n").encode(), [], published=2,
         header="\ufeff" + HEADER.replace("\n", "\r\n"), check={3201: {"amount": 999.5}}),
    Case("columns_in_another_order", (",".join(reversed([GOOD[c] if c != "loan_id" else "3300" for c in COLUMNS]))
                                      + "\n").encode(), [], published=1,
         header=",".join(reversed(COLUMNS)) + "\n", check={3300: {"amount": 12000.0, "grade": "B"}}),
    Case("empty_file", b"", [], published=0, header=""),
    Case("header_only", b"", [], published=0),
]


def loans_cfg(root: Path, *overrides: str):
    """The declared loans dataset, reading root/drop; tiny batches are allowed (min 1 row)."""
    return load_config("test", lake_root=str(root / "lake"),
                       overrides=[f"datasets.loans.source.path={root / 'drop'}",
                                  "datasets.loans.expectations.output.enough_rows.min=1", *overrides])


def write_drop(root: Path, files: dict[str, bytes]) -> None:
    write_files(root / "drop", files)


@pytest.fixture(scope="module")
def batch(tmp_path_factory, spark):
    root = tmp_path_factory.mktemp("catalogue")
    write_drop(root, {f"{c.name}.csv": c.header.encode() + c.body for c in ROW_CASES})
    cfg = loans_cfg(root, "datasets.loans.clean.max_quarantine_fraction=0.9")  # a batch of mostly bad rows, on purpose
    ingested = ingest.run(spark, cfg, dataset="loans")
    cleaned = clean.run(spark, cfg, dataset="loans")
    tables = {t: lake.read_table(spark, cfg, f"loans_{t}").withColumn(
        "file", F.regexp_extract("_source", r"([^/]+)\.csv$", 1)).cache()
        for t in ("bronze", "silver", "quarantine")}
    return ingested, cleaned, tables


@pytest.mark.parametrize("c", ROW_CASES, ids=[c.name for c in ROW_CASES])
def test_row_case(c: Case, batch):
    _, _, tables = batch
    rows = {t: df.filter(F.col("file") == c.name).collect() for t, df in tables.items()}
    got = sorted(sorted(r.failed_checks) for r in rows["quarantine"])
    assert got == sorted(sorted(q) for q in c.quarantined)
    assert len(rows["silver"]) == c.published
    # nothing lost: records in = published + quarantined + repeats
    assert len(rows["bronze"]) == len(rows["silver"]) + len(rows["quarantine"]) + c.repeats
    for q in rows["quarantine"]:
        assert q.raw_record and q._source_row.isdigit()  # the raw text and the line, for a person to fix
    for key, expected in (c.check or {}).items():
        [published] = [r for r in rows["silver"] if r.loan_id == key]
        assert {k: published[k] for k in expected} == expected


def test_row_cases_together_add_up_and_pass_the_gate(batch):
    ingested, cleaned, _ = batch
    assert ingested.files_read == len(ROW_CASES)
    assert sorted(Path(p).stem for p in ingested.empty_files) == ["empty_file", "header_only"]
    assert cleaned.rows_in == cleaned.published + cleaned.quarantined + cleaned.duplicates
    assert cleaned.published == sum(c.published for c in ROW_CASES)
    assert cleaned.quarantined == sum(len(c.quarantined) for c in ROW_CASES)


def test_invalid_utf8_keeps_the_original_bytes_visible(batch):
    _, _, tables = batch
    [q] = tables["quarantine"].filter(F.col("file") == "invalid_utf8").collect()
    assert "car\\xff" in q.raw_record


def test_unterminated_quote_keeps_the_swallowed_lines(batch):
    _, _, tables = batch
    [q] = tables["quarantine"].filter(F.col("file") == "unterminated_quote").collect()
    assert "302," in q.raw_record  # the record the open quote ran into is kept, not dropped


# -- file-level: a clear error naming the file and column; nothing written ---------------------

FILE_CASES = {
    "missing_column": (HEADER.replace(",grade", ""), R(1).replace(",B,", ","), "lacks declared column(s) grade"),
    "extra_column": (HEADER.rstrip("\n") + ",branch\n", R(1).rstrip("\n") + ",north\n",
                     "has undeclared column(s) branch"),
    "renamed_column": (HEADER.replace("annual_income", "income"), R(1),
                       "lacks declared column(s) annual_income; if renamed upstream, map it"),
    "duplicate_header_column": (HEADER.rstrip("\n") + ",grade\n", R(1).rstrip("\n") + ",B\n",
                                "names column(s) grade more than once"),
    "wrong_delimiter": (HEADER.replace(",", ";"), R(1).replace(",", ";"), "lacks declared column(s) loan_id"),
}


@pytest.mark.parametrize("name", FILE_CASES)
def test_file_case_is_refused_with_a_clear_error(name, tmp_path, spark):
    header, body, message = FILE_CASES[name]
    write_drop(tmp_path, {"good.csv": (HEADER + R(5)).encode(), f"{name}.csv": (header + body).encode()})
    cfg = loans_cfg(tmp_path)
    with pytest.raises(CrosslakeError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        ingest.run(spark, cfg, dataset="loans")
    assert f"{name}.csv" in str(err.value) and "good.csv" not in str(err.value)
    assert not lake.exists(spark, cfg.table_path("loans_bronze"))  # nothing written, not even the good file


def test_extra_and_renamed_columns_are_accepted_when_declared(tmp_path, spark):
    write_drop(tmp_path, {"x.csv": (HEADER.replace("annual_income", "income").rstrip("\n") + ",branch\n"
                                    + R(7, annual_income="70000").rstrip("\n") + ",north\n").encode()})
    cfg = loans_cfg(tmp_path, "datasets.loans.rename={income: annual_income}", "datasets.loans.extra_columns=ignore")
    ingest.run(spark, cfg, dataset="loans")
    clean.run(spark, cfg, dataset="loans")
    [published] = lake.read_table(spark, cfg, "loans_silver").collect()
    assert published.annual_income == 70000.0 and "branch" not in published.asDict()


def test_no_files_and_missing_folder_are_clear_errors(tmp_path, spark):
    (tmp_path / "drop").mkdir()
    (tmp_path / "drop" / "notes.txt").write_text("not data")
    with pytest.raises(CrosslakeError, match=r"no \*\.csv files in"):
        ingest.run(spark, loans_cfg(tmp_path), dataset="loans")
    with pytest.raises(CrosslakeError, match="does not exist"):
        ingest.run(spark, loans_cfg(tmp_path, f"datasets.loans.source.path={tmp_path / 'nowhere'}"), dataset="loans")


def test_only_empty_files_give_a_clear_error_at_clean(tmp_path, spark):
    write_drop(tmp_path, {"a.csv": b"", "b.csv": HEADER.encode()})
    cfg = loans_cfg(tmp_path)
    assert ingest.run(spark, cfg, dataset="loans").records == 0
    with pytest.raises(CrosslakeError, match="holds no records"):
        clean.run(spark, cfg, dataset="loans")
    assert not lake.exists(spark, cfg.table_path("loans_silver"))


def test_too_many_bad_rows_block_the_publish(tmp_path, spark):
    good = "".join(R(k) for k in range(1, 13))
    write_drop(tmp_path, {"a.csv": (HEADER + good).encode()})
    cfg = loans_cfg(tmp_path)
    ingest.run(spark, cfg, dataset="loans")
    clean.run(spark, cfg, dataset="loans")
    published = lake.current_version(spark, cfg.table_path("loans_silver"))
    write_drop(tmp_path, {"b.csv": (HEADER + "".join(R(k, grade="Z") for k in range(10, 13))).encode()})
    ingest.run(spark, cfg, dataset="loans")
    with pytest.raises(DataQualityError, match="quarantine_fraction"):
        clean.run(spark, cfg, dataset="loans")  # 3 of 15 quarantined: over the 10% the profile allows
    assert lake.current_version(spark, cfg.table_path("loans_silver")) == published
    assert lake.read_table(spark, cfg, "loans_quarantine").count() == 3  # the record of what was wrong


# -- Parquet sources ------------------------------------------------------------------------------

def test_parquet_value_of_the_wrong_type_is_quarantined_and_a_corrupt_file_named(tmp_path, spark):
    drop = tmp_path / "drop"
    good = {**GOOD, "loan_id": "1"}
    typed = spark.createDataFrame([good, {**good, "loan_id": "2", "amount": "lots"}]).selectExpr(
        *[f"cast({c} as bigint) as {c}" if c == "loan_id" else c for c in COLUMNS])
    typed.coalesce(1).write.parquet(str(drop / "part"))
    [written] = (drop / "part").glob("*.parquet")
    written.rename(drop / "loans.parquet")
    cfg = loans_cfg(tmp_path, "datasets.loans.source.format=parquet",
                    "datasets.loans.clean.max_quarantine_fraction=0.5")
    ingest.run(spark, cfg, dataset="loans")
    clean.run(spark, cfg, dataset="loans")
    [q] = lake.read_table(spark, cfg, "loans_quarantine").collect()
    assert q.failed_checks == ["unparseable:amount"] and q._source_row == "1"
    assert lake.read_table(spark, cfg, "loans_silver").count() == 1
    (drop / "broken.parquet").write_bytes(b"PAR1 this is not really parquet")
    with pytest.raises(CrosslakeError, match="broken.parquet is not a readable Parquet file"):
        ingest.run(spark, cfg, dataset="loans")
