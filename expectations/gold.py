"""Suites gating the gold tables (model-ready rows) of both workloads.

Gold rows are checked as a batch before they are written: a model must never train on
vectors of the wrong width, non-finite values, missing labels or repeated keys. The
checks run on a view of gold with the derived columns they need (`checked_view`).
"""

from __future__ import annotations

import great_expectations.expectations as gxe
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from expectations.suite import Suite

SPLITS = ["train", "validation", "test"]


def checked_view(gold: DataFrame, vector: str) -> DataFrame:
    """gold plus `width` (length of the vector column) and, for float vectors,
    `all_finite` (no NaN or infinity in it)."""
    view = gold.withColumn("width", F.size(vector))
    if dict(gold.dtypes)[vector] in ("array<float>", "array<double>"):
        view = view.withColumn("all_finite", F.forall(vector, lambda x: ~(F.isnan(x) | (F.abs(x) == float("inf")))))
    return view


def _key_unique(keys: list[str]) -> gxe.Expectation:
    if len(keys) == 1:
        return gxe.ExpectColumnValuesToBeUnique(column=keys[0])
    return gxe.ExpectCompoundColumnsToBeUnique(column_list=list(keys))


def gold_reviews_suite(max_len: int) -> Suite:
    return Suite(name="gold_reviews", output_checks={
        "min_rows": gxe.ExpectTableRowCountToBeBetween(min_value=1),
        "review_id_unique": _key_unique(["review_id"]),
        "label_binary": gxe.ExpectColumnValuesToBeInSet(column="label", value_set=[0, 1]),
        "label_present": gxe.ExpectColumnValuesToNotBeNull(column="label"),
        "split_known": gxe.ExpectColumnValuesToBeInSet(column="split", value_set=SPLITS),
        "fixed_length": gxe.ExpectColumnValuesToBeBetween(column="width", min_value=max_len, max_value=max_len),
        "every_split_present": gxe.ExpectColumnDistinctValuesToEqualSet(column="split", value_set=SPLITS),
    })


def gold_dataset_suite(name: str, keys: list[str], width: int) -> Suite:
    return Suite(name=f"{name}_gold", output_checks={
        "min_rows": gxe.ExpectTableRowCountToBeBetween(min_value=1),
        "key_unique": _key_unique(keys),
        "label_present": gxe.ExpectColumnValuesToNotBeNull(column="label"),
        "split_known": gxe.ExpectColumnValuesToBeInSet(column="split", value_set=SPLITS),
        "fixed_width": gxe.ExpectColumnValuesToBeBetween(column="width", min_value=width, max_value=width),
        "features_finite": gxe.ExpectColumnValuesToBeInSet(column="all_finite", value_set=[True]),
        "traced_to_source": gxe.ExpectColumnValuesToNotBeNull(column="_source"),
    })
