"""Data-quality reports: every check of a run, as an HTML page.

    crosslake dq report                 the latest run with checks
    crosslake dq report --run RUN_ID    a given run (ids: `crosslake runs --job clean`)
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

from pathlib import Path
from typing import TYPE_CHECKING

from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import ConfigError, CrosslakeError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "dq"
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
RECORD_RUN = False  # inspection: no ledger row
LAKE = "read"       # an existing lake


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", default="report", choices=["report"])
    parser.add_argument("--run", help="run id (default: the latest run with checks)")
    parser.add_argument("--out", help="HTML file to write (default: <lake>/_reports/dq/<run id>.html)")


def run(spark: SparkSession, cfg: Config, *, action: str = "report", run: str | None = None,
        out: str | None = None) -> str:
    from crosslake import lake
    from expectations.report import render_report
    from pyspark.sql import functions as F

    results = lake.read_table(spark, cfg, "dq_results")
    if run is None:
        latest = results.orderBy(F.col("checked_at").desc()).select("run_id").first()
        if latest is None:
            raise CrosslakeError("no data-quality results yet: run `crosslake clean` first")
        run = latest.run_id
    rows = results.filter(F.col("run_id") == run).collect()
    if not rows:
        raise CrosslakeError(f"no data-quality results for run '{run}': list runs with `crosslake runs --job clean`")
    target = Path(out) if out else Path(cfg.scratch) / "_reports" / "dq" / f"{run}.html"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_report(rows, title=f"Data quality: {rows[0].table}"))
    except OSError as exc:
        raise ConfigError(f"cannot write the report to {target} ({exc.strerror}): pass --out with a file in a "
                          f"writable folder") from exc
    failed = sum(1 for r in rows if r.group != "row" and not r.success)
    quarantined = sum(r.unexpected_count or 0 for r in rows if r.group == "row")
    state = "blocked" if failed else f"published version {rows[0].table_version}"
    return (f"data-quality report: {target}\n  run {run}: {len(rows)} checks, {failed} batch check(s) failed "
            f"({state}); {quarantined:,} row-check failures quarantined")


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
