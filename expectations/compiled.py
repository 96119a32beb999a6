"""Batch checks as Spark aggregates: a whole group of a suite in one pass over the frame.

Great Expectations computes each expectation from metrics of its own: one or more Spark
jobs per expectation (13 jobs for the two validations of one clean). The batch
expectations the suites here use are compiled instead into aggregate expressions that one
`agg` evaluates together (a uniqueness check adds one grouped count), and judged by GX's
own rules, read from its `_validate` methods: the same success, observed value,
unexpected and element counts, `mostly` and vacuous truth on empty input included.
tests/test_expectations.py holds the two engines to the same verdicts on hostile frames
for every compiled type and parameter; an expectation of another type, or with a
parameter this module does not model (a row condition, dates as bounds), runs through GX.
The row checks are compiled the same way, to per-row predicates (pass_predicate).
"""

from __future__ import annotations

import numbers
from functools import reduce
from typing import Any

import great_expectations.expectations as gxe
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

# column map expectations: a row fails or passes; nulls are not counted (GX filters them)
MAP_TYPES = (gxe.ExpectColumnValuesToBeInSet, gxe.ExpectColumnValuesToBeBetween,
             gxe.ExpectColumnValueLengthsToBeBetween, gxe.ExpectColumnValuesToMatchRegex)
BETWEEN_TYPES = (gxe.ExpectColumnValuesToBeBetween, gxe.ExpectColumnValueLengthsToBeBetween,
                 gxe.ExpectTableRowCountToBeBetween, gxe.ExpectColumnMeanToBeBetween)
COMPILED = (*MAP_TYPES, gxe.ExpectColumnValuesToNotBeNull, gxe.ExpectColumnValuesToBeUnique,
            gxe.ExpectCompoundColumnsToBeUnique, gxe.ExpectTableRowCountToBeBetween, gxe.ExpectColumnMeanToBeBetween,
            gxe.ExpectColumnDistinctValuesToEqualSet, gxe.ExpectTableColumnsToMatchOrderedList)


def compilable(exp: gxe.Expectation) -> bool:
    """Whether `exp` is evaluated here (else: by GX)."""
    if not isinstance(exp, COMPILED) or getattr(exp, "row_condition", None):
        return False
    if isinstance(exp, BETWEEN_TYPES):
        bounds = (exp.min_value, exp.max_value)
        return all(b is None or (isinstance(b, numbers.Real) and not isinstance(b, bool)) for b in bounds)
    if isinstance(exp, gxe.ExpectCompoundColumnsToBeUnique):
        return exp.ignore_row_if == "all_values_are_missing"
    return True


def pass_predicate(exp: gxe.Expectation) -> Column:
    """A boolean Column, true where the row meets `exp`, with GX's null semantics
    (column-map expectations ignore nulls; only not-null checks fail them)."""
    if isinstance(exp, gxe.ExpectColumnPairValuesToBeInSet):
        a, b = F.col(exp.column_A), F.col(exp.column_B)
        pairs = [(a == x) & (b == y) for x, y in exp.value_pairs_set]
        inside = reduce(lambda p, q: p | q, pairs)
        skip = {"both_values_are_missing": a.isNull() & b.isNull(),
                "either_value_is_missing": a.isNull() | b.isNull(),
                "neither": F.lit(False)}[exp.ignore_row_if]
        return skip | F.coalesce(inside, F.lit(False))
    c = F.col(exp.column)
    if isinstance(exp, gxe.ExpectColumnValuesToNotBeNull):
        return c.isNotNull()
    if isinstance(exp, gxe.ExpectColumnValuesToBeInSet):
        meets = c.isin(list(exp.value_set))
    elif isinstance(exp, gxe.ExpectColumnValuesToBeBetween):
        meets = _row_between(c, exp)
    elif isinstance(exp, gxe.ExpectColumnValueLengthsToBeBetween):
        meets = _row_between(F.length(c), exp)
    elif isinstance(exp, gxe.ExpectColumnValuesToMatchRegex):
        meets = c.rlike(exp.regex)
    else:
        raise TypeError(f"{type(exp).__name__} has no per-row Spark predicate; use it as a batch check")
    return c.isNull() | F.coalesce(meets, F.lit(False))


def _row_between(value: Column, exp: Any) -> Column:
    ok = F.lit(True)
    if exp.min_value is not None:
        ok = ok & ((value > exp.min_value) if exp.strict_min else (value >= exp.min_value))
    if exp.max_value is not None:
        ok = ok & ((value < exp.max_value) if exp.strict_max else (value <= exp.max_value))
    return ok


def evaluate(df: DataFrame, checks: dict[str, gxe.Expectation]) -> dict[str, dict[str, Any]]:
    """check name -> {success, observed_value, unexpected_count, element_count}, as GX's
    BASIC result would give them, for compilable `checks`."""
    aggs: dict[str, Column] = {"n": F.count(F.lit(1))}
    for i, (name, exp) in enumerate(checks.items()):
        if isinstance(exp, gxe.ExpectColumnValuesToNotBeNull):
            aggs[f"u{i}"] = F.count(F.when(F.col(exp.column).isNull(), 1))
        elif isinstance(exp, MAP_TYPES):
            aggs[f"u{i}"] = F.count(F.when(~pass_predicate(exp), 1))
            aggs[f"nn{i}"] = F.count(F.col(exp.column))
        elif isinstance(exp, gxe.ExpectColumnValuesToBeUnique):
            aggs[f"nn{i}"] = F.count(F.col(exp.column))
        elif isinstance(exp, gxe.ExpectCompoundColumnsToBeUnique):
            aggs[f"nn{i}"] = F.count(F.when(~_all_null(exp.column_list), 1))
        elif isinstance(exp, gxe.ExpectColumnMeanToBeBetween):
            aggs[f"m{i}"] = F.avg(F.col(exp.column))
        elif isinstance(exp, gxe.ExpectColumnDistinctValuesToEqualSet):
            aggs[f"d{i}"] = F.collect_set(F.col(exp.column))
    row = df.agg(*[e.alias(k) for k, e in aggs.items()]).first().asDict()
    total = row["n"]
    out = {}
    for i, (name, exp) in enumerate(checks.items()):
        if isinstance(exp, gxe.ExpectColumnValuesToNotBeNull):
            unexpected = row[f"u{i}"] if total else None  # GX has no count for no rows
            success = total == 0 or (total - unexpected) / total >= exp.mostly
            out[name] = _result(success, None, unexpected, total)
        elif isinstance(exp, (*MAP_TYPES, gxe.ExpectColumnValuesToBeUnique, gxe.ExpectCompoundColumnsToBeUnique)):
            considered = row[f"nn{i}"]
            if f"u{i}" in row:
                unexpected = row[f"u{i}"] if total else None  # GX has no count for no rows
            else:  # uniqueness: GX counts 0 for no rows
                unexpected = _repeated(df, exp) if total else 0
            success = total == 0 or considered == 0 or _mostly(considered, unexpected, exp.mostly)
            out[name] = _result(success, None, unexpected, total)
        elif isinstance(exp, gxe.ExpectTableRowCountToBeBetween):
            out[name] = _result(_between(total, exp), total, None, None)
        elif isinstance(exp, gxe.ExpectColumnMeanToBeBetween):
            mean = row[f"m{i}"]
            out[name] = _result(mean is not None and _between(mean, exp), mean, None, None)
        elif isinstance(exp, gxe.ExpectColumnDistinctValuesToEqualSet):
            seen, wanted = set(row[f"d{i}"]), set(exp.value_set)
            unexpected = len(seen - wanted)
            out[name] = _result(unexpected == 0 and not wanted - seen, None, unexpected, None)
        elif isinstance(exp, gxe.ExpectTableColumnsToMatchOrderedList):
            wanted_columns = exp.column_list
            out[name] = _result(wanted_columns is None or list(df.columns) == list(wanted_columns), list(df.columns),
                                None, None)
        else:
            raise TypeError(f"{type(exp).__name__} is not compiled (see compilable)")
    return out


def _result(success: bool, observed: Any, unexpected: int | None, elements: int | None) -> dict[str, Any]:
    return {"success": bool(success), "observed_value": observed, "unexpected_count": unexpected,
            "element_count": elements}


def _mostly(considered: int, unexpected: int, mostly: float) -> bool:
    """GX's _mostly_success: the share of considered rows that pass, against `mostly`."""
    return (float(considered) - float(unexpected)) / float(considered) >= mostly


def _between(value: float, exp: Any) -> bool:
    """GX's _validate_metric_value_between for a number."""
    above = exp.min_value is None or (value > exp.min_value if exp.strict_min else value >= exp.min_value)
    below = exp.max_value is None or (value < exp.max_value if exp.strict_max else value <= exp.max_value)
    return bool(above and below)


def _all_null(columns: list[str]) -> Column:
    cond = F.lit(True)
    for c in columns:
        cond = cond & F.col(c).isNull()
    return cond


def _repeated(df: DataFrame, exp: Any) -> int:
    """Rows whose value (a column; the combination of columns) occurs more than once, rows
    GX leaves out not counted (a null value; every column null)."""
    if isinstance(exp, gxe.ExpectColumnValuesToBeUnique):
        columns, considered = [exp.column], F.col(exp.column).isNotNull()
    else:
        columns, considered = list(exp.column_list), ~_all_null(exp.column_list)
    groups = df.filter(considered).groupBy(*[F.col(c) for c in columns]).count()
    return groups.filter(F.col("count") > 1).agg(F.coalesce(F.sum("count"), F.lit(0)).alias("n")).first()["n"]
