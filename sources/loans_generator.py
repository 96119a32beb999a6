"""The example tabular dataset: loan applications and whether each loan defaulted.

Rows are drawn from a fixed seed with a learnable but noisy default risk (grade,
debt-to-income, term, employment, purpose), so a model has something real to find.
A small share of rows is made bad on purpose, and every bad row is listed in the
manifest with the quarantine reason it must get, so tests can check the pipeline
catches exactly those:

* ``rows_for_database``: type-valid rows (a database column cannot hold "12x"), with
  semantic defects: an amount out of range, an unknown grade, a missing label.
* ``write_csv``: the same, plus the defects only text files have: unparseable numbers,
  impossible dates, wrong field counts, conflicting duplicate keys, exact repeats.
"""

from __future__ import annotations

import csv
import math
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

COLUMNS = ["loan_id", "applied_on", "amount", "term_months", "annual_income", "employment_years",
           "home_ownership", "purpose", "grade", "defaulted", "updated_at"]
SPARK_SCHEMA = ("loan_id bigint, applied_on date, amount double, term_months int, annual_income double, "
                "employment_years int, home_ownership string, purpose string, grade string, defaulted boolean, "
                "updated_at timestamp")
GRADES = "ABCDEFG"
PURPOSES = {"debt_consolidation": 0.0, "credit_card": -0.1, "home_improvement": -0.2, "car": -0.2,
            "small_business": 0.6, "medical": 0.3, "education": 0.2, "other": 0.1}
START = date(2019, 1, 1)


@dataclass
class Manifest:
    """What was written: rows per expected outcome."""
    rows: int = 0                                        # data records written
    quarantined: Counter = field(default_factory=Counter)  # reason -> rows that must be quarantined with it
    exact_repeats: int = 0                               # identical copies the clean step drops (counted)
    files: list[str] = field(default_factory=list)

    @property
    def clean_rows(self) -> int:
        return self.rows - sum(self.quarantined.values()) - self.exact_repeats


def generate_loans(n: int, *, seed: int, first_id: int = 1) -> list[dict[str, Any]]:
    """`n` well-formed loans as typed Python values, ids first_id.."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        grade = rng.choices(GRADES, weights=[20, 25, 22, 15, 10, 5, 3])[0]
        income = round(math.exp(rng.gauss(11.0, 0.45)), -2)
        amount = max(500.0, min(40000.0, round(income * rng.uniform(0.05, 0.45) / 25) * 25))
        term = rng.choices([12, 24, 36, 48, 60], weights=[3, 7, 60, 5, 25])[0]
        years = min(40, int(rng.expovariate(1 / 6)))
        purpose = rng.choices(list(PURPOSES), weights=[40, 20, 10, 8, 6, 6, 4, 6])[0]
        applied = START + timedelta(days=rng.randrange(5 * 365))
        risk = (-3.1 + 0.45 * GRADES.index(grade) + 4.0 * amount / income + 0.5 * (term == 60)
                - 0.04 * years + PURPOSES[purpose] + rng.gauss(0, 0.3))
        rows.append({
            "loan_id": first_id + i,
            "applied_on": applied,
            "amount": float(amount),
            "term_months": term,
            "annual_income": income,
            "employment_years": years,
            "home_ownership": rng.choices(["rent", "mortgage", "own"], weights=[40, 45, 15])[0],
            "purpose": purpose,
            "grade": grade,
            "defaulted": rng.random() < 1 / (1 + math.exp(-risk)),
            "updated_at": datetime.combine(applied, datetime.min.time()) + timedelta(minutes=rng.randrange(50_000)),
        })
    return rows


# Semantic defects a typed database row can carry: (mutation, reason it must be quarantined with).
TYPED_DEFECTS = [
    (lambda r: r.update(amount=-250.0), "amount_in_range"),
    (lambda r: r.update(grade="Z"), "grade_known"),
    (lambda r: r.update(defaulted=None), "label_present"),
    (lambda r: r.update(term_months=18), "term_known"),
    (lambda r: r.update(employment_years=99), "employment_years_plausible"),
]
# Defects only text can carry: (mutation of the CSV fields, reason).
TEXT_DEFECTS = [
    (lambda f: f.__setitem__(2, "12,5OO"), "unparseable:amount"),
    (lambda f: f.__setitem__(1, "2023-02-30"), "unparseable:applied_on"),
    (lambda f: f.__setitem__(3, "thirty-six"), "unparseable:term_months"),
    (lambda f: f.__setitem__(0, ""), "key_missing"),
    (lambda f: f.pop(), "wrong_field_count"),
]


def rows_for_database(n: int, *, seed: int, defect_every: int = 50) -> tuple[list[dict[str, Any]], Manifest]:
    rows = generate_loans(n, seed=seed)
    manifest = Manifest(rows=n)
    for k, i in enumerate(range(defect_every // 2, n, defect_every)):
        mutate, reason = TYPED_DEFECTS[k % len(TYPED_DEFECTS)]
        mutate(rows[i])
        manifest.quarantined[reason] += 1
    return rows, manifest


def csv_fields(row: dict[str, Any]) -> list[str]:
    def text(v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, datetime):
            return v.strftime("%Y-%m-%d %H:%M:%S")
        return str(v)

    return [text(row[c]) for c in COLUMNS]


def write_csv(folder: str | Path, n: int, *, seed: int, files: int = 4, defect_every: int = 40) -> Manifest:
    """Write `n` loans as CSV files in `folder` (replacing *.csv there), with defects."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.csv"):
        old.unlink()
    rows, manifest = rows_for_database(n, seed=seed, defect_every=defect_every * 2)
    typed = {i for i in range(defect_every, n, defect_every * 2)}  # where rows_for_database put its defects
    records = [csv_fields(r) for r in rows]
    text_defects = [i for i in range(defect_every // 4, n, defect_every) if i not in typed]
    for k, i in enumerate(text_defects):
        mutate, reason = TEXT_DEFECTS[k % len(TEXT_DEFECTS)]
        mutate(records[i])
        manifest.quarantined[reason] += 1
    # A conflicting duplicate (same key, another amount): both copies are quarantined.
    # An exact repeat: one copy is published, the other is dropped and counted.
    clean = [i for i in range(n) if i not in typed and i not in text_defects]
    if len(clean) >= 4:
        conflict = list(records[clean[1]])
        conflict[2] = str(float(conflict[2]) + 100)
        records.append(conflict)
        manifest.quarantined["duplicate_key"] += 2
        records.append(list(records[clean[2]]))
        manifest.exact_repeats += 1
        manifest.rows += 2
    per_file = math.ceil(len(records) / files)
    for f in range(files):
        chunk = records[f * per_file:(f + 1) * per_file]
        if not chunk:
            continue
        path = folder / f"loans-{f + 1:03d}.csv"
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(COLUMNS)
            writer.writerows(chunk)
        manifest.files.append(str(path))
    return manifest

