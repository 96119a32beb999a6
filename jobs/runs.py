"""The run ledger: list runs, show one, trace a model or table version to its sources.

    crosslake runs [--job clean] [--status blocked] [--limit 20]
    crosslake runs show RUN_ID
    crosslake runs trace model:sentiment_cnn:3       (or gold:4, silver:2, ...)
    crosslake runs sources model:sentiment_cnn:3 [--split train] [--out rows.csv]
                                                     the source rows (file, line) behind it
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

from crosslake.arguments import count
from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import ConfigError, CrosslakeError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import Row, SparkSession

NAME = "runs"
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
RECORD_RUN = False  # inspection: no ledger row
LAKE = "read"       # an existing lake, read-only is fine


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", default="list", choices=["list", "show", "trace", "sources"])
    parser.add_argument("target", nargs="?",
                        help="show: a run id; trace: TABLE:VERSION or model:NAME:VERSION; sources: model:NAME:VERSION "
                             "or GOLD_TABLE:VERSION")
    parser.add_argument("--split", help="sources: only rows of this split (train, validation, test)")
    parser.add_argument("--out", help="sources: write every row to this CSV file")
    parser.add_argument("--job", help="list: only runs of this job")
    parser.add_argument("--status", choices=["success", "blocked", "failed"], help="list: only runs that ended so")
    parser.add_argument("--limit", type=count(1), default=20, help="list: newest N runs (default 20)")


def check_options(*, action: str = "list", target: str | None = None, **_) -> None:
    """Usage mistakes, found before the config loads and Spark starts."""
    if action == "list":
        return
    if not target:
        need = {"show": "a run id", "trace": "TABLE:VERSION or model:NAME:VERSION",
                "sources": "model:NAME:VERSION or GOLD_TABLE:VERSION"}[action]
        raise ConfigError(f"`crosslake runs {action}` needs {need}")
    head, _, version = target.rpartition(":")
    if action != "show" and (not head or not version.isdigit()):
        shape = "TABLE:VERSION or model:NAME:VERSION" if action == "trace" else "model:NAME:VERSION or GOLD_TABLE:VERSION"
        raise ConfigError(f"{action} needs {shape}, got '{target}'")


def run(spark: SparkSession, cfg: Config, *, action: str = "list", target: str | None = None,
        job: str | None = None, status: str | None = None, limit: int = 20, split: str | None = None,
        out: str | None = None) -> str:
    from crosslake import lake, ledger
    from pyspark.sql import functions as F

    if action == "sources":
        if not target:
            raise ConfigError("`crosslake runs sources` needs model:NAME:VERSION or GOLD_TABLE:VERSION")
        return sources(spark, cfg, target, split=split, out=out)
    runs = lake.read_table(spark, cfg, ledger.TABLE)
    if action == "list":
        if job:
            runs = runs.filter(F.col("job") == job)
        if status:
            runs = runs.filter(F.col("status") == status)
        rows = runs.orderBy(F.col("started_at").desc()).limit(limit).collect()
        return "\n".join(["started              run id                    job        status   seconds  wrote"]
                         + [_line(r) for r in rows]) if rows else "no runs match"
    if not target:
        raise ConfigError(f"`crosslake runs {action}` needs a {'run id' if action == 'show' else 'TABLE:VERSION'}")
    if action == "show":
        row = runs.filter(F.col("run_id") == target).first()
        if row is None:
            raise CrosslakeError(f"no run '{target}' in the ledger: list them with `crosslake runs`")
        return _details(row)
    return trace(runs.filter(F.col("status") == "success").collect(), target)


def trace(rows: list[Row], target: str) -> str:
    """Walk from an output back through the runs that produced each input."""
    table, _, version = target.rpartition(":")
    if not table or not version.isdigit():
        raise ConfigError(f"trace needs TABLE:VERSION or model:NAME:VERSION, got '{target}'")
    parents = {r.parent_run_id for r in rows if r.parent_run_id}
    rows = [r for r in rows if r.run_id not in parents]  # follow the stages, not the pipeline around them
    lines, seen = [], set()

    def walk(table: str, version: int | None, depth: int) -> None:
        pad = "  " * depth
        if table.startswith("source:") or version is None:
            lines.append(f"{pad}{table} (files as landed)")
            return
        if (table, version) in seen:
            return
        seen.add((table, version))
        producers = sorted((r for r in rows if any(o.table == table and o.version == version for o in r.outputs)),
                           key=lambda r: r.started_at)
        if not producers:
            lines.append(f"{pad}{table} v{version}: no run in the ledger produced it")
            return
        r = producers[0]  # later runs that found nothing to change list the same version
        lines.append(f"{pad}{table} v{version} <- {r.job} run {r.run_id} ({r.started_at:%Y-%m-%d %H:%M:%S}, "
                     f"profile {r.profile}, code {r.code_version[:12]})")
        for inp in r.inputs:
            walk(inp.table, inp.version, depth + 1)

    walk(table, int(version), 0)
    if not any("<-" in line for line in lines):
        raise CrosslakeError(f"nothing in the ledger produced {target}")
    return "\n".join(lines)


def sources(spark: SparkSession, cfg: Config, target: str, *, split: str | None = None,
            out: str | None = None) -> str:
    """The source rows behind a model (the gold version it was trained on) or a gold version."""
    from pyspark.sql import functions as F

    from crosslake.lineage import gold_source_rows, model_gold

    head, _, version = target.rpartition(":")
    if not head or not version.isdigit():
        raise ConfigError(f"sources needs model:NAME:VERSION or GOLD_TABLE:VERSION, got '{target}'")
    if head.startswith("model:"):
        from train.store import load_metadata

        table, gold_version = model_gold(cfg, load_metadata(cfg.model_store, head.removeprefix("model:"), int(version)))
        what = f"{head.removeprefix('model:')} v{version} was trained on {table} v{gold_version}"
    else:
        table, gold_version = head, int(version)
        what = f"{table} v{gold_version}"
    rows = gold_source_rows(spark, cfg, table, gold_version)
    if split:
        rows = rows.filter(F.col("split") == split)
    rows = rows.orderBy("split", "source", "source_row", "key").cache()
    per_split = {r.split: r["count"] for r in rows.groupBy("split").count().collect()}
    untraced = rows.filter(F.col("source").isNull()).count()
    lines = [f"{what}: " + ", ".join(f"{n:,} {s} rows" for s, n in sorted(per_split.items()))
             + f", from {rows.select('source').distinct().count():,} source(s)"
             + (f"; {untraced:,} rows could not be traced" if untraced else "")]
    lines += [f"  {r.split:<10} {r.key:<20} {r.source}" + (f" row {r.source_row}" if r.source_row else "")
              for r in rows.limit(5).collect()]
    if out:
        rows.toPandas().to_csv(out, index=False)
        lines.append(f"all {sum(per_split.values()):,} rows written to {out}")
    elif sum(per_split.values()) > 5:
        lines.append("  ... (--out FILE writes them all)")
    rows.unpersist()
    return "\n".join(lines)


def _line(r: Row) -> str:
    wrote = ", ".join(f"{o.table} v{o.version}" for o in r.outputs) or "-"
    return f"{r.started_at:%Y-%m-%d %H:%M:%S}  {r.run_id:<24}  {r.job:<9}  {r.status:<7}  {r.duration_s:7.1f}  {wrote}"


def _details(r: Row) -> str:
    io = lambda items: ", ".join(f"{i.table} v{i.version}" if i.version is not None else i.table  # noqa: E731
                                 for i in items) or "-"
    counts = ", ".join(f"{k} {v:,}" for k, v in sorted((r.counts or {}).items())) or "-"
    return "\n".join([
        f"run {r.run_id}: {r.job}, {r.status}" + (f" (part of {r.parent_run_id})" if r.parent_run_id else ""),
        f"  profile {r.profile}, code {r.code_version}",
        f"  started {r.started_at:%Y-%m-%d %H:%M:%S}, {r.duration_s:.1f} s",
        f"  read:  {io(r.inputs)}",
        f"  wrote: {io(r.outputs)}",
        f"  rows:  {counts}",
    ] + ([f"  error: {r.error}"] if r.error else []))


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
