"""transforms/tabular.py, one transform at a time, on tiny DataFrames: the exact rows out.

The declared dataset comes from the test profile (datasets.loans) and is varied with
dataclasses.replace, so these tests follow the declaration's shape wherever it lives."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
from types import SimpleNamespace

import pytest
from pyspark.sql import functions as F

from crosslake.config import load_config
from transforms.tabular import (
    RECORD_PROBLEMS, guard_checks, header_problems, reader_checks, records_from_columns, value_checks,
    with_clean_text, with_duplicate_status, with_feature_vector, with_named_values, with_split, with_typed_columns,
)

RECORDS = "_source string, _source_row string, _header array<string>, _fields array<string>, _problems array<string>"


@pytest.fixture(scope="module")
def loans():
    return load_config("test").dataset("loans")


def test_records_from_columns_turns_typed_values_into_text_records(spark):
    df = spark.createDataFrame([(1, 2.5, "a", True), (2, None, None, False)],
                               "id bigint, amount double, name string, ok boolean")
    out = records_from_columns(df, columns=["id", "amount", "name", "ok"], source=F.lit("jdbc:db/public.t"),
                               source_row=F.concat(F.lit("id="), F.col("id")))
    assert out.columns == ["_source", "_source_row", "_header", "_fields", "_problems", "_raw"]
    rows = [r.asDict() for r in out.orderBy("_source_row").collect()]
    assert rows == [
        {"_source": "jdbc:db/public.t", "_source_row": "id=1", "_header": ["id", "amount", "name", "ok"],
         "_fields": ["1", "2.5", "a", "true"], "_problems": [],
         "_raw": '{"id":1,"amount":2.5,"name":"a","ok":true}'},
        {"_source": "jdbc:db/public.t", "_source_row": "id=2", "_header": ["id", "amount", "name", "ok"],
         "_fields": ["2", None, None, "false"], "_problems": [], "_raw": '{"id":2,"ok":false}'},
    ]


def test_with_named_values_finds_each_declared_column_by_header_after_rename(spark):
    records = spark.createDataFrame([
        ("a.csv", "2", ["id", "grade", "amount"], ["1", "B", "10"], []),
        ("b.csv", "2", ["Amount", "extra", "id"], ["20", "x", "2"], []),   # other order, a renamed column
        ("c.csv", "2", ["id", "grade", "amount"], ["3"], ["wrong_field_count"]),  # short record
    ], RECORDS)
    out = with_named_values(records, columns=["id", "amount", "grade"], rename={"Amount": "amount"})
    got = {r._source: r._text.asDict() for r in out.collect()}
    assert got == {"a.csv": {"id": "1", "amount": "10", "grade": "B"},
                   "b.csv": {"id": "2", "amount": "20", "grade": None},   # not in that file: null, not shifted
                   "c.csv": {"id": "3", "amount": None, "grade": None}}
    assert out.columns == [*records.columns, "_text"]


def test_with_clean_text_trims_maps_null_markers_and_lowercases_where_told(spark, loans):
    df = spark.createDataFrame([(" RENT ", "  NA", " Car "), ("", "null", "N/A"), ("Own", "x", None)],
                               "home string, note string, purpose string")
    df = df.select(F.struct("home", "note", "purpose").alias("_text"))
    rules = dataclasses.replace(loans.clean, trim=True, null_values=["", "NA", "N/A", "null"], lowercase=["home"])
    got = [r._text.asDict() for r in with_clean_text(df, columns=["home", "note", "purpose"], rules=rules).collect()]
    assert got == [{"home": "rent", "note": None, "purpose": "Car"},
                   {"home": None, "note": None, "purpose": None},
                   {"home": "own", "note": "x", "purpose": None}]
    # no trimming, no markers: the text as it came
    raw = dataclasses.replace(loans.clean, trim=False, null_values=[], lowercase=[])
    got = [r._text.asDict() for r in with_clean_text(df, columns=["home", "note", "purpose"], rules=raw).collect()]
    assert got[0] == {"home": " RENT ", "note": "  NA", "purpose": " Car "} and got[1]["home"] == ""


def test_with_typed_columns_parses_each_declared_type_and_never_guesses(spark):
    columns = {"n": "int", "big": "bigint", "x": "double", "ok": "boolean", "d": "date",
               "d2": {"type": "date", "format": "dd/MM/yyyy"}, "t": "timestamp", "s": "string",
               "m": "decimal(6,2)"}
    texts = [
        ("36", "9000000000", "2.5", "true", "2024-03-05", "05/03/2024", "2024-03-05 10:11:12", " a ", "12.345"),
        ("36.0", "7.00", "1e3", "false", "2024", "2024-03-05", "2024-03-05", "", "abc"),
        ("36.5", "x", "abc", "yes?", "05/03/2024", "31/02/2024", "not a time", None, None),
    ]
    df = spark.createDataFrame(texts, ", ".join(f"{c} string" for c in columns))
    df = df.select(F.struct(*columns).alias("_text"))
    out = with_typed_columns(df, columns=columns)
    assert out.columns == ["_text", *columns]
    assert dict(out.dtypes) == {"_text": dict(out.dtypes)["_text"], "n": "int", "big": "bigint", "x": "double",
                                "ok": "boolean", "d": "date", "d2": "date", "t": "timestamp", "s": "string",
                                "m": "decimal(6,2)"}
    rows = [tuple(r)[1:] for r in out.collect()]
    from decimal import Decimal
    assert rows[0] == (36, 9000000000, 2.5, True, dt.date(2024, 3, 5), dt.date(2024, 3, 5),
                       dt.datetime(2024, 3, 5, 10, 11, 12), " a ", Decimal("12.35"))
    # 36.0 is the integer 36, 7.00 the bigint 7; "2024" is not a date under the ISO pattern;
    # dd/MM/yyyy does not read an ISO date
    assert rows[1] == (36, 7, 1000.0, False, None, None, dt.datetime(2024, 3, 5), "", None)
    # what does not parse is null (the value checks name it): never a half-read value
    assert rows[2] == (None, None, None, None, None, None, None, None, None)


def test_reader_checks_fail_exactly_the_rows_with_that_problem(spark):
    df = spark.createDataFrame([([],), (["invalid_utf8"],), (["wrong_field_count", "unterminated_quote"],)],
                               "_problems array<string>")
    checks = reader_checks()
    assert sorted(checks) == sorted(RECORD_PROBLEMS)
    got = [r.asDict() for r in df.select(*[c.alias(n) for n, c in checks.items()]).collect()]
    assert got[0] == {p: True for p in RECORD_PROBLEMS}
    assert got[1] == {p: p != "invalid_utf8" for p in RECORD_PROBLEMS}
    assert got[2] == {p: p not in ("wrong_field_count", "unterminated_quote") for p in RECORD_PROBLEMS}


def _typed(spark, rows):
    """Rows of (id text, x text, name text) with their typed id bigint, x double, name string."""
    df = spark.createDataFrame(rows, "id string, x string, name string, _problems array<string>")
    return (df.select(F.struct("id", "x", "name").alias("_text"), "_problems")
            .transform(with_typed_columns, columns={"id": "bigint", "x": "double", "name": "string"}))


def test_value_checks_name_unparsed_non_finite_oversized_values_and_missing_keys(spark):
    df = _typed(spark, [("1", "2.5", "ok", []), ("two", "NaN", "ok", []), (None, "Infinity", "x" * 11, []),
                        ("4", None, None, []), ("5", "-inf", "ok", [])])
    checks = value_checks(columns={"id": "bigint", "x": "double", "name": "string"}, keys=["id"], max_field_chars=10)
    assert sorted(checks) == ["key_missing", "non_finite:x", "too_long:id", "too_long:name", "too_long:x",
                              "unparseable:id", "unparseable:name", "unparseable:x"]
    failed = [sorted(n for n, ok in r.asDict().items() if not ok)
              for r in df.select(*[c.alias(n) for n, c in checks.items()]).collect()]
    assert failed == [[],
                      ["key_missing", "non_finite:x", "unparseable:id"],
                      ["key_missing", "non_finite:x", "too_long:name"],
                      [],                                  # missing values are not failures here
                      ["non_finite:x"]]


def test_guard_checks_report_the_first_cause_only(spark):
    df = _typed(spark, [("1", "2.5", "ok", []), ("1", "oops", "ok", []), ("1", "-1", "ok", ["wrong_field_count"]),
                        ("1", "-1", "ok", [])])
    positive = {"x_positive": F.col("x") > 0}
    guarded = guard_checks(positive, record_checks=reader_checks(), columns_of={"x_positive": ["x"]})
    assert sorted(guarded) == sorted([*RECORD_PROBLEMS, "x_positive"])
    got = [(r.x_positive, r.wrong_field_count) for r in df.select(*[c.alias(n) for n, c in guarded.items()]).collect()]
    assert got == [(True, True),
                   (True, True),    # x did not parse: quarantined as unparseable, not also as "not positive"
                   (True, False),   # the reader found the record broken: its values are not judged
                   (False, True)]   # a parsed -1 in a sound record: the check fails


def test_with_duplicate_status_counts_variants_and_copies_by_source_order(spark):
    df = spark.createDataFrame([
        (1, "a", "f2.csv", "5"), (1, "a", "f1.csv", "10"), (1, "a", "f1.csv", "9"),   # one row, three copies
        (2, "b", "f1.csv", "3"), (2, "c", "f1.csv", "4"),                              # one key, two versions
        (3, "d", "f1.csv", "7"),
    ], "id bigint, v string, _source string, _source_row string")
    out = with_duplicate_status(df, keys=["id"], columns=["id", "v"])
    assert out.columns == [*df.columns, "_key_variants", "_copy"]
    got = sorted((r.id, r.v, r._source, r._source_row, r._key_variants, r._copy) for r in out.collect())
    assert got[:3] == [(1, "a", "f1.csv", "10", 1, 2), (1, "a", "f1.csv", "9", 1, 1),  # line 9 before line 10
                       (1, "a", "f2.csv", "5", 1, 3)]
    # two versions of key 2: both counted as variants (the job quarantines them both)
    assert [g[:5] for g in got[3:5]] == [(2, "b", "f1.csv", "3", 2), (2, "c", "f1.csv", "4", 2)]
    assert sorted(g[5] for g in got[3:5]) == [1, 2]
    assert got[5] == (3, "d", "f1.csv", "7", 1, 1)


def test_with_split_is_a_stable_function_of_the_key_in_the_declared_fractions(spark, loans):
    keys = spark.range(4000).withColumnRenamed("id", "loan_id")
    split = dataclasses.replace(loans.split, validation_fraction=0.1, test_fraction=0.2, seed=7)
    first = {r.loan_id: r.split for r in with_split(keys, keys=["loan_id"], split=split).collect()}
    again = {r.loan_id: r.split for r in with_split(keys.orderBy(F.desc("loan_id")).repartition(3),
                                                    keys=["loan_id"], split=split).collect()}
    assert first == again and set(first.values()) == {"train", "validation", "test"}
    share = {s: sum(v == s for v in first.values()) / 4000 for s in ("train", "validation", "test")}
    assert abs(share["validation"] - 0.1) < 0.02 and abs(share["test"] - 0.2) < 0.025, share
    # another seed moves rows between splits; fractions of 0 leave everything in train
    other = {r.loan_id: r.split for r in with_split(keys, keys=["loan_id"],
                                                      split=dataclasses.replace(split, seed=8)).collect()}
    assert sum(first[k] != other[k] for k in first) > 400
    none = with_split(keys, keys=["loan_id"], split=dataclasses.replace(split, validation_fraction=0.0,
                                                                        test_fraction=0.0))
    assert {r.split for r in none.select("split").distinct().collect()} == {"train"}


def test_with_feature_vector_standardises_one_hots_and_lights_other_for_unseen_values(spark):
    def e(feature, kind, position, category=None, mean=None, std=None):
        return SimpleNamespace(feature=feature, kind=kind, position=position, category=category, mean=mean, std=std)

    encoding = [e("grade", "other", 4), e("amount", "numeric", 0, mean=100.0, std=50.0),
                e("grade", "categorical", 2, "A"), e("grade", "categorical", 3, "B"),
                e("years", "numeric", 1, mean=2.0, std=0.0)]   # listed out of order; a constant column: std 0
    df = spark.createDataFrame([(200.0, 2, "A", True), (None, 4, "B", False), (50.0, None, "Z", True),
                                (100.0, 2, None, False)], "amount double, years int, grade string, defaulted boolean")
    out = with_feature_vector(df, encoding=encoding, label="defaulted")
    assert dict(out.dtypes)["features"] == "array<float>" and dict(out.dtypes)["label"] == "int"
    got = [(r.features, r.label) for r in out.collect()]
    assert got == [([2.0, 0.0, 1.0, 0.0, 0.0], 1),
                   ([0.0, 2.0, 0.0, 1.0, 0.0], 0),      # a missing amount gets the mean: 0 after scaling
                   ([-1.0, 0.0, 0.0, 0.0, 1.0], 1),     # Z was not seen in training: `other`
                   ([0.0, 0.0, 0.0, 0.0, 1.0], 0)]      # a missing grade: `other` too
    # a label that is not boolean or integer stays a double
    scored = spark.createDataFrame([(1.0, 0.25)], "amount double, score double")
    out = with_feature_vector(scored, encoding=[e("amount", "numeric", 0, mean=0.0, std=2.0)], label="score")
    assert [(r.features, r.label) for r in out.collect()] == [([0.5], 0.25)]
    assert all(math.isfinite(v) for f, _ in got for v in f)


def test_a_numeric_column_missing_in_training_gets_an_indicator_beside_its_imputed_value(spark, loans):
    from train.encoders import TabularEncoder
    from workloads.tabular import learn_encoding

    ds = dataclasses.replace(loans, features=dataclasses.replace(
        loans.features, numeric=["amount", "term_months"], categorical=["grade"]))
    train = spark.createDataFrame([(100.0, 12, "A"), (None, 24, "B"), (300.0, 36, "A")],
                                  "amount double, term_months int, grade string")
    encoding = learn_encoding(train, ds, silver_version=3)
    slots = [(r.feature, r.kind, r.category, r.position) for r in encoding]
    # amount had a missing value in the train split: an indicator follows it; term_months had none
    assert slots == [("amount", "numeric", None, 0), ("amount", "missing", "__missing__", 1),
                     ("term_months", "numeric", None, 2), ("grade", "categorical", "A", 3),
                     ("grade", "categorical", "B", 4), ("grade", "other", "__other__", 5)]
    assert encoding[0].mean == 200.0 and encoding[0].std == 100.0
    rows = spark.createDataFrame([(None, 24, "A", True), (300.0, None, "B", False)],
                                 "amount double, term_months int, grade string, defaulted boolean")
    got = [r.features for r in with_feature_vector(rows, encoding=encoding, label="defaulted").collect()]
    assert got[0] == pytest.approx([0.0, 1.0, 0.0, 1.0, 0.0, 0.0])   # imputed amount, and said so
    assert got[1] == pytest.approx([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])   # a missing term: imputed, no indicator
    # the Spark-free path (the review page's API, the stream's drop zone) says the same
    enc = TabularEncoder("loans", "defaulted", [r.asDict() for r in encoding], clean={"null_values": ["", "NA"]})
    assert enc.feature_names()[:2] == ["amount", "amount=(missing)"]
    assert enc.encode_records([{"amount": None, "term_months": 24, "grade": "A"},
                               {"amount": "NA", "term_months": 24, "grade": "A"},
                               {"amount": 300, "grade": "B"}]).tolist() == [
        pytest.approx(got[0]), pytest.approx(got[0]), pytest.approx(got[1])]


def test_header_problems_names_each_mistake_and_the_rename_that_fixes_it(loans):
    ds = dataclasses.replace(loans, columns={"id": "bigint", "sample_yr": "int", "grade": "string"}, rename={},
                             extra_columns="error")
    assert header_problems("a.csv", ["id", "sample_yr", "grade"], ds) == []
    assert header_problems("a.csv", ["grade", "id", "sample_yr"], ds) == []      # order does not matter
    assert header_problems("a.csv", None, ds) == ["a.csv has no header line"]
    assert header_problems("a.csv", ["id", "grade"], ds) == ["a.csv lacks declared column(s) sample_yr"]
    assert header_problems("a.csv", ["id", "sample.yr", "grade"], ds) == [
        'a.csv lacks declared column(s) sample_yr; the source has "sample.yr": map it with '
        'rename: {"sample.yr": sample_yr}']
    assert header_problems("a.csv", ["id", "Sample_Yr", "grade"], ds) == [
        'a.csv lacks declared column(s) sample_yr; the source has Sample_Yr: map it with '
        'rename: {"Sample_Yr": sample_yr}']
    assert header_problems("a.csv", ["id", "year", "grade"], ds) == [
        "a.csv lacks declared column(s) sample_yr; if renamed upstream, map it under datasets.<name>.rename "
        "(undeclared here: year)"]
    assert header_problems("a.csv", ["id", "sample_yr", "grade", "grade"], ds) == [
        "a.csv names column(s) grade more than once"]
    assert header_problems("a.csv", ["id", "sample_yr", "grade", "notes", "n visits"], ds) == [
        'a.csv has undeclared column(s) "n visits" whose names are not plain: declare them under '
        'datasets.<name>.columns as n_visits and map them with rename: {"n visits": n_visits}, or set '
        'extra_columns: ignore',
        "a.csv has undeclared column(s) notes: declare them under datasets.<name>.columns, or set "
        "extra_columns: ignore"]
    assert header_problems("a.csv", ["", "id", "sample_yr", "grade"], ds) == [
        'a.csv: the first column has an empty header (R\'s row names?): map it to a name with '
        'rename: {"": row_name} and declare row_name under columns:, or set extra_columns: ignore to leave it out']
    # renamed, or extra columns ignored: accepted
    assert header_problems("a.csv", ["id", "sample.yr", "grade"], dataclasses.replace(
        ds, rename={"sample.yr": "sample_yr"})) == []
    assert header_problems("a.csv", ["id", "sample_yr", "grade", "notes"], dataclasses.replace(
        ds, extra_columns="ignore")) == []
    assert json.dumps(header_problems("b.csv", ["id"], ds)) == json.dumps(
        ["b.csv lacks declared column(s) sample_yr, grade"])
