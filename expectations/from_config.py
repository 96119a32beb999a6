"""Suites declared in configuration, for datasets that should need no new Python.

A dataset's block in conf/ lists its checks by group, each with a short `expect` name:

    expectations:
      row:                        # failing rows are quarantined with the check's name
        id_present:   {expect: not_null, column: customer_id}
        fee_in_range: {expect: between, column: monthly_fee, min: 0, max: 1000}
        plan_known:   {expect: in_set, column: plan, values: [basic, pro]}
        email_shape:  {expect: regex, column: email, regex: "^[^@]+@[^@]+$"}
      output:                     # batch checks: a failure blocks the publish
        enough_rows:  {expect: row_count_between, min: 100}
        ids_unique:   {expect: unique, column: customer_id}
        few_null_ratings: {expect: not_null, column: rating, mostly: 0.99}   # at most 1% null
        churn_rate:   {expect: mean_between, column: churned, min: 0.05, max: 0.5}

Each becomes the real Great Expectations expectation, so row checks get the same
quarantine predicates as suites written in code (expectations/suite.py).
"""

from __future__ import annotations

from typing import Any, Callable

import great_expectations.expectations as gxe

from crosslake.errors import ConfigError
from expectations.suite import Suite

# expect name -> (required keys, optional keys, builder)
Builder = Callable[[dict[str, Any]], gxe.Expectation]
EXPECTATIONS: dict[str, tuple[set[str], set[str], Builder]] = {
    "not_null": ({"column"}, {"mostly"}, lambda c: gxe.ExpectColumnValuesToNotBeNull(
        column=c["column"], mostly=c.get("mostly", 1.0))),
    "between": ({"column"}, {"min", "max", "mostly"}, lambda c: gxe.ExpectColumnValuesToBeBetween(
        column=c["column"], min_value=c.get("min"), max_value=c.get("max"), mostly=c.get("mostly", 1.0))),
    "in_set": ({"column", "values"}, {"mostly"}, lambda c: gxe.ExpectColumnValuesToBeInSet(
        column=c["column"], value_set=list(c["values"]), mostly=c.get("mostly", 1.0))),
    "regex": ({"column", "regex"}, {"mostly"}, lambda c: gxe.ExpectColumnValuesToMatchRegex(
        column=c["column"], regex=c["regex"], mostly=c.get("mostly", 1.0))),
    "length_between": ({"column"}, {"min", "max", "mostly"}, lambda c: gxe.ExpectColumnValueLengthsToBeBetween(
        column=c["column"], min_value=c.get("min"), max_value=c.get("max"), mostly=c.get("mostly", 1.0))),
    "unique": ({"column"}, set(), lambda c: gxe.ExpectColumnValuesToBeUnique(column=c["column"])),
    "row_count_between": (set(), {"min", "max"}, lambda c: gxe.ExpectTableRowCountToBeBetween(
        min_value=c.get("min"), max_value=c.get("max"))),
    "mean_between": ({"column"}, {"min", "max"}, lambda c: gxe.ExpectColumnMeanToBeBetween(
        column=c["column"], min_value=c.get("min"), max_value=c.get("max"))),
    "columns_are": ({"columns"}, set(), lambda c: gxe.ExpectTableColumnsToMatchOrderedList(
        column_list=list(c["columns"]))),
}
GROUPS = ("row", "input", "output")


def suite_from_config(name: str, spec: dict[str, Any]) -> Suite:
    """Build a Suite from a dataset's `expectations:` block; errors name the bad entry."""
    unknown_groups = set(spec) - set(GROUPS)
    if unknown_groups:
        raise ConfigError(f"suite '{name}': unknown group(s) {', '.join(sorted(unknown_groups))}; "
                          f"use {', '.join(GROUPS)}")
    groups: dict[str, dict[str, gxe.Expectation]] = {}
    for group in GROUPS:
        groups[group] = {}
        for check, entry in (spec.get(group) or {}).items():
            where = f"suite '{name}', {group} check '{check}'"
            if not isinstance(entry, dict) or "expect" not in entry:
                raise ConfigError(f"{where}: needs `expect:` (one of {', '.join(sorted(EXPECTATIONS))})")
            kind = entry["expect"]
            if kind not in EXPECTATIONS:
                raise ConfigError(f"{where}: unknown expect '{kind}'; choose one of {', '.join(sorted(EXPECTATIONS))}")
            required, optional, build = EXPECTATIONS[kind]
            params = {k: v for k, v in entry.items() if k != "expect"}
            missing, extra = required - set(params), set(params) - required - optional
            if missing or extra:
                raise ConfigError(f"{where}: " + "; ".join(filter(None, [
                    missing and f"missing {', '.join(sorted(missing))}",
                    extra and f"unknown {', '.join(sorted(extra))} (allowed: "
                              f"{', '.join(sorted(required | optional))})"])))
            if group == "row" and params.get("mostly", 1.0) != 1.0:
                raise ConfigError(f"{where}: a row check quarantines every failing row; a `mostly` threshold "
                                  f"belongs in the input or output group")
            try:
                groups[group][check] = build(params)
            except Exception as exc:  # GX validates parameter types
                raise ConfigError(f"{where}: {exc}".splitlines()[0]) from exc
    try:
        return Suite(name=name, row_checks=groups["row"], input_checks=groups["input"],
                     output_checks=groups["output"])
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"suite '{name}': {exc}") from exc
