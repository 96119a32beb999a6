"""The suite gating the silver reviews table.

Row checks run on every parsed bronze row (failures are quarantined, named); input
checks on the whole incoming batch; output checks on what would be published.

The limits and silver's columns come in as plain values (the job passes conf/'s
``clean:`` settings and transforms/reviews.py's SILVER_COLUMNS), so that expectations/
depends on nothing above it: no configuration, no transforms.
"""

from __future__ import annotations

from collections.abc import Sequence

import great_expectations.expectations as gxe

from expectations.suite import Suite

RATING_BY_FOLDER = [("pos", r) for r in (7, 8, 9, 10)] + [("neg", r) for r in (1, 2, 3, 4)] + [("unsup", 0)]


def silver_reviews_suite(*, max_text_chars: int, max_quarantine_fraction: float, min_rows: int,
                         columns: Sequence[str]) -> Suite:
    """`columns`: silver's columns in order (the schema check); the rest as in conf/ clean:."""
    return Suite(
        name="silver_reviews",
        row_checks={
            "file_readable": gxe.ExpectColumnValuesToNotBeNull(column="content"),
            "file_name_is_id_rating_txt": gxe.ExpectColumnValuesToNotBeNull(column="review_id"),
            "valid_utf8": gxe.ExpectColumnValuesToBeInSet(column="utf8_valid", value_set=[True]),
            "text_not_empty": gxe.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1),
            "text_not_oversized": gxe.ExpectColumnValueLengthsToBeBetween(
                column="text", max_value=max_text_chars),
            "rating_fits_folder": gxe.ExpectColumnPairValuesToBeInSet(
                column_A="polarity_dir", column_B="rating", value_pairs_set=RATING_BY_FOLDER,
                ignore_row_if="either_value_is_missing"),
        },
        input_checks={
            "quarantine_fraction": gxe.ExpectColumnValuesToBeInSet(
                column="quarantined", value_set=[False], mostly=1.0 - max_quarantine_fraction),
        },
        output_checks={
            "min_rows": gxe.ExpectTableRowCountToBeBetween(min_value=min_rows),
            "schema": gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(columns)),
            "review_id_unique": gxe.ExpectColumnValuesToBeUnique(column="review_id"),
            "text_present": gxe.ExpectColumnValuesToNotBeNull(column="text"),
            "split_known": gxe.ExpectColumnValuesToBeInSet(
                column="split", value_set=["train", "validation", "test", "unsup"]),
            "labels_balanced": gxe.ExpectColumnMeanToBeBetween(column="label", min_value=0.2, max_value=0.8),
        },
    )
