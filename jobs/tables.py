"""Inspect the lake's tables: list them, show one's history, read it as of a version.

    crosslake tables                         every table: version, rows, location
    crosslake tables history silver          versions, operations, row metrics
    crosslake tables show silver --version 0 --limit 5
    crosslake tables changes silver --since 1  rows changed since a version (change data feed)
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import contextlib
import io
import json
from typing import TYPE_CHECKING

from crosslake import arguments
from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import ConfigError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NAME = "tables"
RECORD_RUN = False  # inspection: no ledger row
LAKE = "read"       # an existing lake, read-only is fine
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", default="list", choices=["list", "history", "show", "changes"])
    parser.add_argument("name", nargs="?", help="table name (bronze, silver, quarantine, gold, ...)")
    parser.add_argument("--version", type=arguments.version, help="show: read as of this version")
    parser.add_argument("--timestamp", type=arguments.timestamp,
                        help="show: read as of this time (UTC), e.g. '2026-11-21 08:00:00'")
    parser.add_argument("--since", type=arguments.version, help="changes: first version to include")
    parser.add_argument("--limit", type=arguments.count(1), default=20,
                        help="rows or history entries to print (default 20)")


def check_options(*, action: str = "list", name: str | None = None, version: int | None = None,
                  timestamp: str | None = None, since: int | None = None, **_) -> None:
    """Usage mistakes, found before the config loads and Spark starts."""
    if action != "list" and not name:
        raise ConfigError(f"`crosslake tables {action}` needs a table name: `crosslake tables` lists them")
    if version is not None and timestamp is not None:
        raise ConfigError("`crosslake tables show` reads as of --version or --timestamp, not both")
    if action == "changes" and since is None:
        raise ConfigError("`crosslake tables changes NAME` needs --since VERSION")
    given = {"--version": (version, "show"), "--timestamp": (timestamp, "show"), "--since": (since, "changes")}
    for option, (value, applies_to) in given.items():
        if value is not None and action != applies_to:
            raise ConfigError(f"{option} applies to `crosslake tables {applies_to}`, not `tables {action}`")


def run(spark: SparkSession, cfg: Config, *, action: str = "list", name: str | None = None,
        version: int | None = None, timestamp: str | None = None, since: int | None = None,
        limit: int = 20) -> str:
    from crosslake import lake

    check_options(action=action, name=name, version=version, timestamp=timestamp, since=since)
    if action == "list":
        infos = lake.list_tables(spark, cfg)
        if not infos:
            return f"no tables under {cfg.lake.root} yet: run `crosslake pipeline`"
        width = max(len(i.name) for i in infos)
        return "\n".join([f"{'table':<{width}}  version  {'rows':>10}  location"] + [
            f"{i.name:<{width}}  {i.version:>7}  {i.rows:>10,}  {i.path}" for i in infos])
    cfg.table(name)  # an unknown name is a usage mistake, named before the lake is touched
    if action == "history":
        rows = lake.history(spark, cfg, name, limit).collect()
        out = [f"history of {name} ({cfg.table_path(name)}):", "version  timestamp            operation  metrics"]
        for r in rows:
            metrics = {k: v for k, v in (r.operationMetrics or {}).items()
                       if k in ("numOutputRows", "numTargetRowsInserted", "numTargetRowsUpdated", "numFiles")}
            out.append(f"{r.version:>7}  {r.timestamp:%Y-%m-%d %H:%M:%S}  {r.operation:<9}  {json.dumps(metrics)}")
        return "\n".join(out)
    if action == "changes":
        df = lake.read_changes(spark, cfg, name, since_version=since).orderBy("_commit_version")
    else:
        df = lake.read_table(spark, cfg, name, version=version, timestamp=timestamp)
    df = df.drop("content") if "content" in df.columns else df  # raw bytes do not print usefully
    shown = io.StringIO()
    with contextlib.redirect_stdout(shown):
        df.show(limit, truncate=60)
    return shown.getvalue().rstrip()


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
