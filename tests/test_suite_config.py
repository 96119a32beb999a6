"""Suites declared in configuration behave like suites written in code."""

import pytest
import yaml

from crosslake.errors import ConfigError
from expectations.from_config import suite_from_config
from expectations.suite import run_checks
from transforms.quality import filter_failed, with_failed_checks

SPEC = yaml.safe_load("""
row:
  id_present:   {expect: not_null, column: id}
  fee_in_range: {expect: between, column: fee, min: 0, max: 100}
  plan_known:   {expect: in_set, column: plan, values: [basic, pro]}
  email_shape:  {expect: regex, column: email, regex: "^[^@]+@[^@]+$"}
output:
  enough_rows:      {expect: row_count_between, min: 3}
  ids_unique:       {expect: unique, column: id}
  few_null_ratings: {expect: not_null, column: rating, mostly: 0.75}
  fee_mean:         {expect: mean_between, column: fee, min: 0, max: 50}
""")
ROWS = [(1, 10.0, "basic", "a@x.org", 5), (2, 20.0, "pro", "b@x.org", None), (3, 30.0, "pro", "c@x.org", 4),
        (4, 40.0, "basic", "d@x.org", 3), (None, 500.0, "gold", "nope", 1), (6, None, None, None, 2)]
SCHEMA = "id int, fee double, plan string, email string, rating int"


def test_row_checks_quarantine_each_bad_row_by_name(spark):
    suite = suite_from_config("customers", SPEC)
    df = spark.createDataFrame(ROWS, SCHEMA)
    failed = {r.id: r.failed_checks for r in df.transform(with_failed_checks, suite.row_predicates())
              .transform(filter_failed).collect()}
    assert failed == {None: ["id_present", "fee_in_range", "plan_known", "email_shape"]}  # nulls pass value checks


def test_output_thresholds_pass_and_block(spark):
    suite = suite_from_config("customers", SPEC)
    good = spark.createDataFrame(ROWS[:4], SCHEMA)
    assert all(r.success for r in run_checks(good, suite, "output"))   # 1 null rating in 4 = 75% present
    bad = spark.createDataFrame(ROWS[:4] + [(7, 1.0, "pro", "e@x.org", None)], SCHEMA)  # 2 of 5 null: 60% < 75%
    results = {r.check: r for r in run_checks(bad, suite, "output")}
    assert not results["few_null_ratings"].success
    assert [c for c, r in results.items() if not r.success] == ["few_null_ratings"]


@pytest.mark.parametrize("spec, message", [
    ({"row": {"x": {"expect": "not_nul", "column": "a"}}}, "unknown expect 'not_nul'; choose one of"),
    ({"row": {"x": {"expect": "between", "min": 1}}}, "row check 'x': missing column"),
    ({"row": {"x": {"expect": "unique", "column": "a", "mostly": 0.9}}}, "unknown mostly"),
    ({"row": {"x": {"expect": "not_null", "column": "a", "mostly": 0.9}}}, "belongs in the input or output group"),
    ({"row": {"x": {"expect": "unique", "column": "a"}}}, "no per-row Spark predicate"),
    ({"rows": {}}, "unknown group"),
    ({"output": {"x": {"column": "a"}}}, "needs `expect:`"),
])
def test_mistakes_in_the_declaration_are_named(spec, message):
    with pytest.raises(ConfigError, match=message):
        suite_from_config("s", spec)
