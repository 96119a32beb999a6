"""The stream's per-row outcome (transforms/scoring.py with_outcome) on tiny explicit frames."""

from __future__ import annotations

from transforms.scoring import with_outcome

BATCH = "review_id string, text string, _problem string, file string, line int, received_at timestamp"


def test_a_rejected_row_ahead_of_a_good_one_does_not_make_it_a_repeat(spark):
    batch = spark.createDataFrame([
        ("a", None, "no_text", "f", 1, None),       # rejected first ...
        ("a", "ok", None, "f", 2, None),            # ... the good row after it is still scored
        ("b", "fine", None, "f", 3, None),
        ("b", "fine", None, "f", 4, None),          # an exact repeat
        (None, None, "no_review_id", "f", 5, None),
    ], BATCH)
    known = spark.createDataFrame([], "review_id string, known_text string")
    got = {(r.review_id, r.line): r.outcome for r in with_outcome(batch, known).collect()}
    assert got == {("a", 1): "no_text", ("a", 2): "scored", ("b", 3): "scored", ("b", 4): "repeated",
                   (None, 5): "no_review_id"}
