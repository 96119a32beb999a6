"""The quarantine predicates must mean exactly what the GX expectations mean."""

import great_expectations.expectations as gxe
import pytest

from crosslake.config import load_config
from expectations.silver_reviews import silver_reviews_suite
from expectations.suite import Suite, pass_predicate, run_checks
from transforms.reviews import SILVER_COLUMNS


def reviews_suite(clean):
    """The silver reviews suite at the limits of conf/'s clean: section, as jobs/clean.py builds it."""
    return silver_reviews_suite(max_text_chars=clean.max_text_chars, min_rows=clean.min_rows,
                                max_quarantine_fraction=clean.max_quarantine_fraction, columns=SILVER_COLUMNS)

ROWS = [
    # review_id, utf8_valid, text, polarity_dir, rating, content, n
    ("train/pos/1", True, "fine", "pos", 8, bytearray(b"x"), 5),
    (None, True, "fine", "pos", None, bytearray(b"x"), 50),
    ("train/neg/2", False, "bad \ufffd", "neg", 3, bytearray(b"x"), None),
    ("train/neg/3", True, "", "neg", 9, bytearray(b""), -1),
    ("train/unsup/4", True, "x" * 300, "unsup", 0, None, 7),
    ("test/pos/5", None, None, None, None, bytearray(b"x"), 0),
]
SCHEMA = ("review_id string, utf8_valid boolean, text string, polarity_dir string, rating int, "
          "content binary, n int")


@pytest.fixture(scope="module")
def df(spark):
    return spark.createDataFrame(ROWS, SCHEMA).cache()


EXPECTATIONS = {
    **reviews_suite(load_config("test").clean).row_checks,
    "n_between": gxe.ExpectColumnValuesToBeBetween(column="n", min_value=0, max_value=10),
    "n_strict": gxe.ExpectColumnValuesToBeBetween(column="n", min_value=0, max_value=7, strict_min=True,
                                                   strict_max=True),
    "text_short": gxe.ExpectColumnValueLengthsToBeBetween(column="text", max_value=100),
    "id_pattern": gxe.ExpectColumnValuesToMatchRegex(column="review_id", regex=r"^(train|test)/[a-z]+/[0-9]+$"),
}


@pytest.mark.parametrize("name", sorted(EXPECTATIONS))
def test_predicate_agrees_with_gx_row_by_row(spark, df, name):
    exp = EXPECTATIONS[name]
    failing_by_predicate = df.filter(~pass_predicate(exp)).count()
    (result,) = run_checks(df, Suite(name="t", output_checks={name: exp}), "output")
    assert result.unexpected_count == failing_by_predicate, (name, result)
    assert result.success == (failing_by_predicate == 0)


def test_silver_row_checks_catch_each_bad_row(df):
    suite = reviews_suite(load_config("test").clean)
    failed = {name: {r.n for r in df.filter(~pred).select("n").collect()}
              for name, pred in suite.row_predicates().items()}
    assert failed["file_name_is_id_rating_txt"] == {50}
    assert failed["valid_utf8"] == {None}
    assert failed["text_not_empty"] == {-1}
    assert failed["rating_fits_folder"] == {-1}      # rating 9 in neg
    assert failed["file_readable"] == {7}


def test_batch_check_thresholds_and_reporting(spark):
    df = spark.createDataFrame([(False,)] * 96 + [(True,)] * 4, "quarantined boolean")
    suite = reviews_suite(load_config("test", overrides=["clean.max_quarantine_fraction=0.05"]).clean)
    (ok,) = run_checks(df, suite, "input")
    assert ok.success and ok.unexpected_count == 4 and ok.check == "quarantine_fraction"
    strict = reviews_suite(load_config("test", overrides=["clean.max_quarantine_fraction=0.03"]).clean)
    (blocked,) = run_checks(df, strict, "input")
    assert not blocked.success and "quarantine_fraction" in blocked.describe()


def test_a_threshold_cannot_be_a_row_check():
    with pytest.raises(ValueError, match="mostly<1"):
        Suite(name="s", row_checks={"x": gxe.ExpectColumnValuesToNotBeNull(column="a", mostly=0.9)})
    with pytest.raises(TypeError, match="no per-row Spark predicate"):
        Suite(name="s", row_checks={"x": gxe.ExpectColumnMeanToBeBetween(column="a", min_value=0)})


def test_gold_suite_blocks_bad_vectors_labels_and_keys(spark):
    from expectations.gold import checked_view, gold_dataset_suite

    schema = "loan_id bigint, split string, label int, features array<float>, _source string"
    good = [(1, "train", 0, [0.1, 1.0], "a.csv"), (2, "test", 1, [0.2, 0.0], "a.csv")]
    assert all(r.success for r in run_checks(checked_view(spark.createDataFrame(good, schema), "features"),
                                             gold_dataset_suite("loans", ["loan_id"], 2), "output"))
    bad = good + [(2, "train", None, [float("nan"), 1.0], None), (3, "holdout", 1, [0.5], "b.csv")]
    results = run_checks(checked_view(spark.createDataFrame(bad, schema), "features"),
                         gold_dataset_suite("loans", ["loan_id"], 2), "output")
    assert sorted(r.check for r in results if not r.success) == [
        "features_finite", "fixed_width", "key_unique", "label_present", "split_known", "traced_to_source"]


# -- the compiled batch checks give GX's own verdicts ----------------------------------------------

BATCH_ROWS = [
    # k1, k2, s, x, f, flag
    ("a", 1, "train", 1, 0.5, True),
    ("a", 2, "test", 2, None, False),
    ("b", 1, "train", None, 1.5, None),
    (None, None, None, 4, 2.0, True),
    (None, None, "validation", 5, float("nan"), True),
    ("c", 3, "holdout", 5, 3.0, False),
    ("d", 3, "train", 7, -1.0, True),
    ("d", 3, "test", 2, 1.0, False),
]
BATCH_SCHEMA = "k1 string, k2 int, s string, x int, f double, flag boolean"
SPLITS = ["train", "validation", "test"]
BATCH_CHECKS = {
    "not_null": gxe.ExpectColumnValuesToNotBeNull(column="x"),
    "not_null_mostly": gxe.ExpectColumnValuesToNotBeNull(column="k1", mostly=0.8),
    "not_null_mostly_low": gxe.ExpectColumnValuesToNotBeNull(column="k1", mostly=0.5),
    "in_set": gxe.ExpectColumnValuesToBeInSet(column="s", value_set=SPLITS),
    "in_set_mostly": gxe.ExpectColumnValuesToBeInSet(column="s", value_set=SPLITS, mostly=0.8),
    "in_set_bool": gxe.ExpectColumnValuesToBeInSet(column="flag", value_set=[True], mostly=0.6),
    "between": gxe.ExpectColumnValuesToBeBetween(column="x", min_value=1, max_value=5),
    "between_strict": gxe.ExpectColumnValuesToBeBetween(column="x", min_value=1, max_value=7, strict_min=True,
                                                         strict_max=True, mostly=0.5),
    "between_open": gxe.ExpectColumnValuesToBeBetween(column="f", min_value=0),
    "lengths": gxe.ExpectColumnValueLengthsToBeBetween(column="s", min_value=4, max_value=5),
    "regex": gxe.ExpectColumnValuesToMatchRegex(column="s", regex="^t"),
    "unique": gxe.ExpectColumnValuesToBeUnique(column="k1"),
    "unique_int": gxe.ExpectColumnValuesToBeUnique(column="x", mostly=0.4),
    "compound_unique": gxe.ExpectCompoundColumnsToBeUnique(column_list=["k1", "k2"]),
    "compound_unique_2": gxe.ExpectCompoundColumnsToBeUnique(column_list=["k2", "flag"]),
    "rows": gxe.ExpectTableRowCountToBeBetween(min_value=1),
    "rows_few": gxe.ExpectTableRowCountToBeBetween(min_value=2, max_value=6),
    "rows_strict": gxe.ExpectTableRowCountToBeBetween(min_value=8, strict_min=True),
    "mean": gxe.ExpectColumnMeanToBeBetween(column="x", min_value=0.2, max_value=4.0),
    "mean_strict": gxe.ExpectColumnMeanToBeBetween(column="x", max_value=3.5, strict_max=True),
    "distinct": gxe.ExpectColumnDistinctValuesToEqualSet(column="s", value_set=SPLITS),
    "distinct_ok": gxe.ExpectColumnDistinctValuesToEqualSet(column="k2", value_set=[1, 2, 3]),
    "columns": gxe.ExpectTableColumnsToMatchOrderedList(column_list=["k1", "k2", "s", "x", "f", "flag"]),
    "columns_wrong": gxe.ExpectTableColumnsToMatchOrderedList(column_list=["k2", "k1"]),
}


@pytest.mark.parametrize("rows", [BATCH_ROWS, [], [(None,) * 6] * 3, BATCH_ROWS[:1]],
                         ids=["hostile", "empty", "all-null", "one-row"])
def test_compiled_batch_checks_give_gx_verdicts(spark, rows):
    from expectations import compiled

    assert all(compiled.compilable(e) for e in BATCH_CHECKS.values())
    df = spark.createDataFrame(rows, BATCH_SCHEMA)
    suite = Suite(name="t", output_checks=BATCH_CHECKS)
    ours = {r.check: r for r in run_checks(df, suite, "output")}
    theirs = {r.check: r for r in run_checks(df, suite, "output", engine="gx")}
    for name in BATCH_CHECKS:
        a, b = ours[name], theirs[name]
        assert (a.success, a.unexpected_count, a.element_count, a.expectation) == \
               (b.success, b.unexpected_count, b.element_count, b.expectation), (name, a, b)
        if isinstance(b.observed_value, float):
            assert a.observed_value == pytest.approx(b.observed_value), (name, a, b)
        else:
            assert a.observed_value == b.observed_value, (name, a, b)
    if rows is BATCH_ROWS:  # the frame is hostile enough to fail and pass each kind
        assert {n for n, r in ours.items() if not r.success} >= {
            "not_null", "not_null_mostly", "in_set", "between", "lengths", "regex", "unique", "compound_unique",
            "rows_few", "mean_strict", "distinct", "columns_wrong", "between_open"}
        assert {n for n, r in ours.items() if r.success} >= {
            "not_null_mostly_low", "in_set_mostly", "rows", "mean", "distinct_ok", "columns", "unique_int"}


def test_an_expectation_the_compiler_does_not_model_runs_through_gx(spark):
    from expectations import compiled

    dated = gxe.ExpectColumnValuesToBeBetween(column="x", min_value="2020-01-01")
    pair = gxe.ExpectColumnPairValuesToBeInSet(column_A="k1", column_B="k2", value_pairs_set=[("a", 1)])
    assert not compiled.compilable(dated) and not compiled.compilable(pair)
    df = spark.createDataFrame(BATCH_ROWS, BATCH_SCHEMA)
    results = run_checks(df, Suite(name="t", output_checks={"pair": pair, "rows": BATCH_CHECKS["rows"]}), "output")
    assert [(r.check, r.success) for r in results] == [("pair", False), ("rows", True)]
    assert results[0].unexpected_count == 5  # ("a", 2), ("b", 1), ("c", 3), ("d", 3) twice; null pairs left out
