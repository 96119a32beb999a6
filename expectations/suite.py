"""Great Expectations suites as code, and the gate that runs them.

A suite has three groups of named checks, each a real GX expectation:

* ``row_checks``: per-row rules. A row failing one is quarantined with the check's name.
  GX's per-row failure output on Spark is unreliable, so the quarantine predicate is
  derived from the expectation itself by :func:`pass_predicate` (same column, same
  bounds, same regex, same null handling as GX), and computed in Spark.
* ``input_checks``: batch rules on every incoming row (e.g. "at most 5% quarantined").
* ``output_checks``: batch rules on the rows about to be published (uniqueness, schema,
  class balance). A failed batch check blocks the publish.

Batch checks run compiled to Spark aggregates (expectations/compiled.py: a group in one
pass, GX's verdict rules), held to GX's own results by the parity tests; an expectation
the compiler does not model runs through GX.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")  # no phoning home from a data job

import great_expectations as gx  # noqa: E402
import great_expectations.expectations as gxe  # noqa: E402
from great_expectations.data_context.types.base import ProgressBarsConfig  # noqa: E402
from pyspark.sql import Column, DataFrame  # noqa: E402

# the per-row predicates and the batch checks compiled to Spark aggregates (re-exported)
from expectations.compiled import pass_predicate  # noqa: E402,F401
from expectations import compiled  # noqa: E402

log = logging.getLogger(__name__)
RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


# Expectations that pass_predicate can turn into a per-row Spark predicate.
ROW_CHECK_TYPES = (
    gxe.ExpectColumnValuesToNotBeNull,
    gxe.ExpectColumnValuesToBeInSet,
    gxe.ExpectColumnValuesToBeBetween,
    gxe.ExpectColumnValueLengthsToBeBetween,
    gxe.ExpectColumnValuesToMatchRegex,
    gxe.ExpectColumnPairValuesToBeInSet,
)


@dataclass
class Suite:
    name: str
    row_checks: dict[str, gxe.Expectation] = field(default_factory=dict)
    input_checks: dict[str, gxe.Expectation] = field(default_factory=dict)
    output_checks: dict[str, gxe.Expectation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, exp in self.row_checks.items():
            if getattr(exp, "mostly", 1) != 1:
                raise ValueError(f"row check '{name}' has mostly<1: a threshold is a batch check")
            if not isinstance(exp, ROW_CHECK_TYPES):
                raise TypeError(f"row check '{name}': {type(exp).__name__} has no per-row Spark predicate; "
                                f"make it an input or output check")

    def row_predicates(self) -> dict[str, Column]:
        return {name: pass_predicate(exp) for name, exp in self.row_checks.items()}


@dataclass(frozen=True)
class CheckResult:
    suite: str
    check: str
    group: str            # row | input | output
    expectation: str      # GX expectation type
    success: bool
    observed_value: Any
    unexpected_count: int | None
    element_count: int | None

    def describe(self) -> str:
        seen = self.observed_value if self.observed_value is not None else f"{self.unexpected_count} unexpected"
        return f"{self.suite}.{self.check} ({self.expectation}): observed {seen}"


RESULTS_SCHEMA = (
    "run_id string, suite string, table string, table_version bigint, check string, `group` string, "
    "expectation string, success boolean, observed_value string, unexpected_count bigint, "
    "element_count bigint, checked_at timestamp"
)


def results_rows(results: list[CheckResult], *, run_id: str, table: str, table_version: int | None) -> list[tuple]:
    """Rows for the dq_results table (observed values as JSON text: they vary in type)."""
    now = datetime.now(timezone.utc)
    return [(run_id, r.suite, table, table_version, r.check, r.group, r.expectation, r.success,
             json.dumps(r.observed_value, default=str), r.unexpected_count, r.element_count, now) for r in results]


def run_checks(df: DataFrame, suite: Suite, group: str, *, engine: str = "compiled") -> list[CheckResult]:
    """Validate `df` against one group of the suite's checks. engine="compiled" evaluates
    the expectations expectations/compiled.py models in one pass (GX's verdict rules, held
    to GX's own results by tests/test_expectations.py) and the rest with GX; engine="gx"
    runs every one through GX."""
    checks: dict[str, gxe.Expectation] = getattr(suite, f"{group}_checks")
    if not checks:
        return []
    fast = {n: e for n, e in checks.items() if engine == "compiled" and compiled.compilable(e)}
    found = {n: CheckResult(suite=suite.name, check=n, group=group, expectation=checks[n].expectation_type,
                            success=r["success"], observed_value=_plain(r["observed_value"]),
                            unexpected_count=r["unexpected_count"], element_count=r["element_count"])
             for n, r in (compiled.evaluate(df, fast) if fast else {}).items()}
    rest = {n: e for n, e in checks.items() if n not in fast}
    if rest:
        found.update({r.check: r for r in _run_gx(df, suite.name, group, rest)})
    results = [found[n] for n in checks]
    for res in results:
        log.info("%s %s", "PASS" if res.success else "FAIL", res.describe())
    return results


def _run_gx(df: DataFrame, suite_name: str, group: str, checks: dict[str, gxe.Expectation]) -> list[CheckResult]:
    """Validate `df` with Great Expectations itself against `checks`."""
    context = gx.get_context(mode="ephemeral")
    # Job logs carry one line per check; GX's per-metric progress bars would drown them.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_spark(name="crosslake").add_dataframe_asset(name=f"{suite_name}_{group}")
    batch = asset.add_batch_definition_whole_dataframe("all_rows").get_batch(batch_parameters={"dataframe": df})
    gx_suite = gx.ExpectationSuite(name=f"{suite_name}.{group}")
    for name, exp in checks.items():
        # A copy per run: GX binds an expectation to the suite it is added to.
        gx_suite.add_expectation(exp.copy(update={"id": None, "meta": {"check": name}}))
    # BASIC with no example values: the counts and observed values are all a check result keeps.
    # GX's default (SUMMARY, 20 examples) collects each map check's unexpected values in jobs
    # of their own: 26 Spark jobs against 16 for the gold suite, the same results.
    outcome = batch.validate(gx_suite, result_format=RESULT_FORMAT)
    results = []
    for r in outcome.results:
        res = r.result or {}
        results.append(CheckResult(
            suite=suite_name,
            check=r.expectation_config.meta["check"],
            group=group,
            expectation=r.expectation_config.type,
            success=bool(r.success),
            observed_value=_plain(res.get("observed_value")),
            unexpected_count=res.get("unexpected_count"),
            element_count=res.get("element_count"),
        ))
    return results


def _plain(value: Any) -> Any:
    """Observed values as plain JSON-able Python (GX may hand back numpy scalars)."""
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
