"""The suite gating the silver reviews table.

Row checks run on every parsed bronze row (failures are quarantined, named); input
checks on the whole incoming batch; output checks on what would be published.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from crosslake.config import CleanConfig
from expectations.suite import Suite
from transforms.reviews import SILVER_COLUMNS

RATING_BY_FOLDER = [("pos", r) for r in (7, 8, 9, 10)] + [("neg", r) for r in (1, 2, 3, 4)] + [("unsup", 0)]


def silver_reviews_suite(cfg: CleanConfig) -> Suite:
    return Suite(
        name="silver_reviews",
        row_checks={
            "file_readable": gxe.ExpectColumnValuesToNotBeNull(column="content"),
            "file_name_is_id_rating_txt": gxe.ExpectColumnValuesToNotBeNull(column="review_id"),
            "valid_utf8": gxe.ExpectColumnValuesToBeInSet(column="utf8_valid", value_set=[True]),
            "text_not_empty": gxe.ExpectColumnValueLengthsToBeBetween(column="text", min_value=1),
            "text_not_oversized": gxe.ExpectColumnValueLengthsToBeBetween(
                column="text", max_value=cfg.max_text_chars),
            "rating_fits_folder": gxe.ExpectColumnPairValuesToBeInSet(
                column_A="polarity_dir", column_B="rating", value_pairs_set=RATING_BY_FOLDER,
                ignore_row_if="either_value_is_missing"),
        },
        input_checks={
            "quarantine_fraction": gxe.ExpectColumnValuesToBeInSet(
                column="quarantined", value_set=[False], mostly=1.0 - cfg.max_quarantine_fraction),
        },
        output_checks={
            "min_rows": gxe.ExpectTableRowCountToBeBetween(min_value=cfg.min_rows),
            "schema": gxe.ExpectTableColumnsToMatchOrderedList(column_list=list(SILVER_COLUMNS)),
            "review_id_unique": gxe.ExpectColumnValuesToBeUnique(column="review_id"),
            "text_present": gxe.ExpectColumnValuesToNotBeNull(column="text"),
            "split_known": gxe.ExpectColumnValuesToBeInSet(
                column="split", value_set=["train", "validation", "test", "unsup"]),
            "labels_balanced": gxe.ExpectColumnMeanToBeBetween(column="label", min_value=0.2, max_value=0.8),
        },
    )
