from chispa import assert_df_equality

from transforms.landing import with_landing_fields
from transforms.quality import filter_failed, filter_passed, with_failed_checks
from transforms.reviews import (
    filter_duplicates, review_checks, select_silver, with_clean_text, with_conflict_checks, with_content_hash,
    with_decoded_text, with_file_issue_named, with_label, with_source_fields, with_split,
)

import pytest
from pyspark.sql import functions as F


def test_with_source_fields_parses_the_aclimdb_path(spark):
    df = spark.createDataFrame(
        [("file:/x/aclImdb/train/pos/12_9.txt",), ("file:/x/test/neg/3_1.txt",), ("file:/x/train/unsup/7_0.txt",),
         ("file:/x/train/pos/notes.txt",), ("file:/x/train/neg/99999999999999999999_2.txt",), (None,)],
        "source_path string")
    out = df.transform(with_source_fields).select(
        "split_dir", "polarity_dir", "file_name", "source_id", "rating", "review_id")
    expected = spark.createDataFrame(
        [("train", "pos", "12_9.txt", 12, 9, "train/pos/12"),
         ("test", "neg", "3_1.txt", 3, 1, "test/neg/3"),
         ("train", "unsup", "7_0.txt", 7, 0, "train/unsup/7"),
         ("train", "pos", "notes.txt", None, None, None),
         # an id too large for a long: null, so the row is quarantined rather than crashing the job
         ("train", "neg", "99999999999999999999_2.txt", None, 2, None),
         (None, None, None, None, None, None)],
        "split_dir string, polarity_dir string, file_name string, source_id long, rating int, review_id string")
    assert_df_equality(out, expected, ignore_nullable=True)


def test_with_decoded_text_flags_invalid_utf8_without_failing(spark):
    df = spark.createDataFrame([(bytearray("caf\u00e9 ok".encode()),), (bytearray(b"bad \xff\xfe bytes"),),
                                (bytearray(b""),), (None,)], "content binary")
    rows = df.transform(with_decoded_text).collect()
    assert [r.utf8_valid for r in rows] == [True, False, True, None]
    assert rows[0].raw_text == "caf\u00e9 ok"
    assert rows[1].raw_text.startswith("bad ") and "\ufffd" in rows[1].raw_text
    assert rows[2].raw_text == "" and rows[3].raw_text is None


def test_with_clean_text_strips_html_and_normalises_space(spark):
    df = spark.createDataFrame(
        [("Great film.<br /><br />Really <i>great</i>!",), ("A &amp; B &quot;quoted&quot; &amp;lt;",),
         ("<br/><BR>",), ("  spaced \n\t out  ",), (None,)], "raw_text string")
    out = [r.text for r in df.transform(with_clean_text).collect()]
    assert out == ["Great film. Really great !", 'A & B "quoted" &lt;', "", "spaced out", None]


def test_with_clean_text_removes_invisible_and_control_characters(spark):
    df = spark.createDataFrame(
        [("\ufeffStarts with a BOM",), ("\u200b\u200c\u200d\u2060\ufeff",), ("\u00a0 \u00a0\u2003",),
         ("\x00\x00",), ("no\u00a0break\u200bhere",), ("bell\x07 and C1\u0085 gone",), ("tab\tand\r\nnewline",)],
        "raw_text string")
    out = [r.text for r in df.transform(with_clean_text).collect()]
    assert out == ["Starts with a BOM", "", "", "", "no breakhere", "bell and C1 gone", "tab and newline"]


def test_review_checks_name_control_characters_and_file_issues(spark):
    df = spark.createDataFrame(
        [("fine\ttext\n", None), ("nul\x00", None), ("esc\x1b", None), ("c1\u009f", None), ("del\x7f", None),
         (None, "link_outside_source"), (None, "file_too_large"), (None, None)],
        "raw_text string, file_issue string")
    flagged = df.transform(with_failed_checks, review_checks()).collect()
    assert [r.failed_checks for r in flagged] == [
        [], ["control_characters"], ["control_characters"], ["control_characters"], ["control_characters"],
        ["link_outside_source"], ["file_too_large"], []]


def test_with_file_issue_named_keeps_the_issue_as_the_reason(spark):
    df = spark.createDataFrame(
        [(["file_readable", "link_outside_source"], "link_outside_source", 12),
         (["file_readable", "file_too_large"], "file_too_large", 7000),
         (["file_readable"], None, 5), ([], None, 1)],
        "failed_checks array<string>, file_issue string, length long")
    assert [r.failed_checks for r in df.transform(with_file_issue_named).collect()] == [
        ["link_outside_source"], ["file_too_large:7000"], ["file_readable"], []]


def test_with_conflict_checks_quarantines_every_row_involved(spark):
    rows = [([], "train/pos/1", "h1", 1), ([], "train/pos/2", "h1", 1), ([], "train/neg/3", "h1", 0),  # both labels
            ([], "train/unsup/9", "h1", None),                                # an unlabelled copy: involved too
            ([], "train/pos/4", "h2", 1), ([], "test/pos/4", "h2", 1),        # one label: a repeat, not a conflict
            ([], "train/neg/5", "h5", 0), ([], "train/neg/5", "h6", 0),       # two files, one id
            (["valid_utf8"], "train/neg/6", "h6", 1),                         # already failed: not a party to it
            ([], "train/pos/7", "h7", 1), (["text_not_empty"], "train/neg/7x", "h7", 0)]
    df = spark.createDataFrame(rows, "failed_checks array<string>, review_id string, content_hash string, label int")
    got = {r.review_id + ("" if r.content_hash != "h6" else "#6"): r.failed_checks
           for r in df.transform(with_conflict_checks).collect()}
    assert got == {"train/pos/1": ["conflicting_labels"], "train/pos/2": ["conflicting_labels"],
                   "train/neg/3": ["conflicting_labels"], "train/unsup/9": ["conflicting_labels"],
                   "train/pos/4": [], "test/pos/4": [],
                   "train/neg/5": ["duplicate_review_id"], "train/neg/5#6": ["duplicate_review_id"],
                   "train/neg/6#6": ["valid_utf8"], "train/pos/7": [], "train/neg/7x": ["text_not_empty"]}


def test_with_label_from_folder(spark):
    df = spark.createDataFrame([("pos",), ("neg",), ("unsup",), (None,)], "polarity_dir string")
    assert [r.label for r in df.transform(with_label).collect()] == [1, 0, None, None]


def test_with_split_is_deterministic_and_respects_folders(spark):
    rows = [("train", "pos", f"train/pos/{i}") for i in range(2000)] + \
           [("test", "neg", "test/neg/1"), ("train", "unsup", "train/unsup/1")]
    df = spark.createDataFrame(rows, "split_dir string, polarity_dir string, review_id string")
    a = {r.review_id: r.split for r in df.transform(with_split, validation_fraction=0.1, seed=7).collect()}
    b = {r.review_id: r.split for r in df.repartition(5).transform(with_split, validation_fraction=0.1, seed=7)
         .collect()}
    assert a == b  # independent of partitioning
    assert a["test/neg/1"] == "test" and a["train/unsup/1"] == "unsup"
    n_val = sum(v == "validation" for v in a.values())
    assert 150 < n_val < 250  # ~10% of 2000
    c = {r.review_id: r.split for r in df.transform(with_split, validation_fraction=0.1, seed=8).collect()}
    assert c != a  # the seed matters


def test_filter_duplicates_keeps_the_smallest_id(spark):
    df = spark.createDataFrame(
        [("train/pos/5", "h1"), ("test/pos/9", "h1"), ("train/pos/1", "h2"), ("train/neg/2", "h3"),
         ("train/neg/3", "h3"), (None, "h4")],
        "review_id string, content_hash string")
    out = df.transform(filter_duplicates).orderBy("content_hash")
    expected = spark.createDataFrame(
        [("test/pos/9", "h1"), ("train/pos/1", "h2"), ("train/neg/2", "h3"), (None, "h4")],
        "review_id string, content_hash string")
    assert_df_equality(out, expected, ignore_nullable=True)


def test_with_content_hash_is_sha256_of_text(spark):
    import hashlib

    df = spark.createDataFrame([("hello",), (None,)], "text string")
    assert [r.content_hash for r in df.transform(with_content_hash).collect()] == \
           [hashlib.sha256(b"hello").hexdigest(), None]


def test_with_failed_checks_names_every_failure_and_treats_null_as_failure(spark):
    df = spark.createDataFrame([(5, "a"), (50, "b"), (50, None), (None, "c")], "n int, s string")
    checks = {"n_small": F.col("n") < 10, "s_present": F.col("s").isNotNull()}
    flagged = df.transform(with_failed_checks, checks)
    assert [r.failed_checks for r in flagged.collect()] == [[], ["n_small"], ["n_small", "s_present"], ["n_small"]]
    assert flagged.transform(filter_passed).count() + flagged.transform(filter_failed).count() == df.count()


def test_landing_fields_map_archive_paths(spark):
    df = spark.createDataFrame([("file:/land/x/aclImdb/train/pos/1_9.txt", bytearray(b"hi"), 2, None)],
                               "path string, content binary, length long, modificationTime timestamp")
    row = df.transform(with_landing_fields, run_id="r1", origin="/d/a.tar.gz", local_prefix="/land/x",
                       origin_prefix="/d/a.tar.gz!").first()
    assert row.source_path == "file:/d/a.tar.gz!/aclImdb/train/pos/1_9.txt"
    assert (row.run_id, row.source, bytes(row.content)) == ("r1", "/d/a.tar.gz", b"hi")


def test_transforms_fail_fast_on_missing_columns(spark):
    df = spark.createDataFrame([(1,)], "x int")
    with pytest.raises(ValueError, match="missing column.*source_path"):
        with_source_fields(df)
    with pytest.raises(ValueError, match="missing column.*review_id"):
        select_silver(df)
