"""The suite gating the predictions table: every scored row has a probability in [0, 1],
a 0/1 prediction, and is stamped with the model and input versions."""

from __future__ import annotations

import great_expectations.expectations as gxe

from expectations.suite import Suite


def predictions_suite(keys: tuple[str, ...] | list[str] = ("review_id",), name: str = "predictions") -> Suite:
    """`keys`: what identifies a scored row (review_id; a dataset's business keys)."""
    return Suite(name=name, output_checks={
        "min_rows": gxe.ExpectTableRowCountToBeBetween(min_value=1),
        "probability_in_unit_interval": gxe.ExpectColumnValuesToBeBetween(
            column="probability", min_value=0.0, max_value=1.0),
        "probability_present": gxe.ExpectColumnValuesToNotBeNull(column="probability"),
        "prediction_binary": gxe.ExpectColumnValuesToBeInSet(column="prediction", value_set=[0, 1]),
        "model_version_stamped": gxe.ExpectColumnValuesToNotBeNull(column="model_version"),
        "input_version_stamped": gxe.ExpectColumnValuesToNotBeNull(column="input_version"),
        "one_per_review_and_model": gxe.ExpectCompoundColumnsToBeUnique(column_list=[*keys, "model_version"]),
    })
