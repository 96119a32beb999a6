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
