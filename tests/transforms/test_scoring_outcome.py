"""The stream's per-row outcome (transforms/scoring.py with_outcome) on tiny explicit frames."""

from __future__ import annotations

from transforms.scoring import with_outcome

BATCH = "review_id string, text string, _problem string, _file string, _line int, _received_at timestamp"


def test_a_rejected_row_ahead_of_a_good_one_does_not_make_it_a_repeat(spark):
    batch = spark.createDataFrame([
        ("a", None, "no_text", "f", 1, None),       # rejected first ...
        ("a", "ok", None, "f", 2, None),            # ... the good row after it is still scored
        ("b", "fine", None, "f", 3, None),
        ("b", "fine", None, "f", 4, None),          # an exact repeat
        (None, None, "no_review_id", "f", 5, None),
    ], BATCH)
    known = spark.createDataFrame([], "review_id string, known_payload string")
    got = {(r.review_id, r._line): r.outcome for r in with_outcome(batch, known).collect()}
    assert got == {("a", 1): "no_text", ("a", 2): "scored", ("b", 3): "scored", ("b", 4): "repeated",
                   (None, 5): "no_review_id"}


def test_a_composite_key_is_one_key_and_its_conflicts_are_named_by_the_workload(spark):
    """Tabular keys can be several columns: (1, x) and (1, y) are two keys; the same key with
    two payloads in a batch, or sent again with another than it was scored with, is rejected
    under the names the workload gives; the same payload again is a re-send."""
    batch = spark.createDataFrame([
        (1, "x", '{"v":1}', None, "f", 1, None),
        (1, "y", '{"v":1}', None, "f", 2, None),    # another key: scored too
        (2, "x", '{"v":1}', None, "f", 3, None),
        (2, "x", '{"v":2}', None, "f", 4, None),    # key (2, x) with two payloads: both rows rejected
        (3, "x", '{"v":5}', None, "f", 5, None),    # scored before with {"v":5}: re-sent
        (4, "x", '{"v":9}', None, "f", 6, None),    # scored before with {"v":0}: rejected
    ], "a int, b string, _p string, _problem string, _file string, _line int, _received_at timestamp")
    known = spark.createDataFrame([(3, "x", '{"v":5}'), (4, "x", '{"v":0}')], "a int, b string, known_payload string")
    got = {r._line: r.outcome for r in with_outcome(batch, known, keys=("a", "b"), payload="_p",
                                                    conflicts=("two_in_batch", "scored_otherwise")).collect()}
    assert got == {1: "scored", 2: "scored", 3: "two_in_batch", 4: "two_in_batch", 5: "resent",
                   6: "scored_otherwise"}
