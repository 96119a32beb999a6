"""Extract: a source database table (JDBC) -> its bronze Delta table.

    crosslake extract customers            only rows past the remembered watermark
    crosslake extract customers --full     the whole table again (rows gone at the source go too)
    spark-submit --jars <.jars/*.jar, comma-separated> jobs/extract.py customers

What to extract is declared under `extracts:` in conf/, the database under `databases:`;
credentials come only from the environment variables the database names. With a
`partition_column` the read is split into `num_partitions` parallel range queries. The
watermark advances only after the rows are committed, so a failed run is simply re-run;
rows at the last watermark value are read again (cheaply: unchanged rows commit nothing),
so a row committed late with that same value is not lost.
An unreachable database, wrong credentials or a missing table stop the job before it
writes anything, with a one-line error.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crosslake import secrets
from crosslake.cli import STAGES
from crosslake.config import Config, DatabaseConfig, ExtractConfig, is_plain_name, plain_name_for
from crosslake.errors import ConfigError, CrosslakeError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from crosslake import lake
    from pyspark.sql import DataFrame, SparkSession

NAME = "extract"
ROLE = "training"  # refused on a cluster without this role (conf/: cluster.roles)
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
WATERMARK_SCHEMA = "extract string, column string, last_value string, value_type string, run_id string, " \
                   "updated_at timestamp"


def add_arguments(parser) -> None:
    parser.add_argument("name", help="extract name, as declared under extracts: in conf/")
    parser.add_argument("--full", action="store_true", help="ignore the watermark and read the whole table")
    parser.add_argument("--allow-empty", action="store_true",
                        help="accept a full read that finds the source table empty (its rows here are deleted)")


@dataclass
class ExtractResult:
    name: str
    mode: str
    rows_read: int
    partitions: int
    watermark: str | None
    table: lake.TableInfo

    def report(self) -> str:
        mark = f"; watermark now {self.watermark}" if self.watermark is not None else ""
        return (f"{self.table.name}: {self.table.path} (version {self.table.version}, {self.table.rows:,} rows)\n"
                f"  {self.mode} extract '{self.name}': {self.rows_read:,} rows read in {self.partitions} "
                f"partition(s){mark}")


def run(spark: SparkSession, cfg: Config, *, name: str, full: bool = False, allow_empty: bool = False) -> ExtractResult:
    from crosslake import lake, ledger
    from pyspark.sql import functions as F

    spec = cfg.extracts.get(name)
    if spec is None:
        raise ConfigError(f"unknown extract '{name}': declared extracts are {', '.join(cfg.extracts) or 'none'}")
    db = cfg.databases.get(spec.database)
    if db is None:
        raise ConfigError(f"extract '{name}' names database '{spec.database}', which is not under databases:")
    for ident in filter(None, (spec.table, spec.watermark, spec.partition_column)):
        if not IDENTIFIER.match(ident):
            raise ConfigError(f"extract '{name}': '{ident}' is not a plain [schema.]name identifier")
    last = None if full or not spec.watermark else _last_watermark(spark, cfg, name)
    # >=, not >: a row committed after the last extract with the same watermark value as
    # its maximum would otherwise never be read. Re-reading the boundary rows is harmless:
    # the upsert finds them unchanged and commits nothing.
    where = f"WHERE {spec.watermark} >= {_literal(*last)}" if last else ""
    ledger.record_input(f"jdbc:{spec.database}/{spec.table}", None)
    rows = _read(spark, db, spec, where)
    _check_column_names(name, spec, rows.columns)
    rows = rows.cache()
    partitions = rows.rdd.getNumPartitions()
    try:
        n = rows.count()
    except Exception as exc:
        raise _explain(exc, db, spec) from exc
    # Incremental: upsert the new and changed rows. Full: the table mirrors the source,
    # rows deleted there are deleted here.
    mode = "incremental" if last else "full"
    target_path = cfg.table_path(spec.target)
    if n == 0 and not last and not allow_empty and lake.exists(spark, target_path) \
            and not spark.read.format("delta").load(target_path).isEmpty():
        rows.unpersist()
        raise CrosslakeError(f"{spec.table} in {db.url} returned no rows, but {spec.target} holds rows: mirroring "
                             f"it would delete them all. If the source really is empty now, re-run with --allow-empty")
    run_id = ledger.current().run_id if ledger.current() else None
    batch = rows.withColumn("_extracted_at", F.current_timestamp()).withColumn("_run_id", F.lit(run_id).cast("string"))
    version = lake.write_table(batch, cfg, spec.target, mode="upsert" if last else "sync")
    new_mark = None
    if spec.watermark and n:
        top = rows.agg(F.max(spec.watermark).alias("m")).first().m
        new_mark = str(top)
        _save_watermark(spark, cfg, name, spec.watermark, new_mark,
                        rows.schema[spec.watermark].dataType.simpleString())
    elif last:
        new_mark = last[0]
    rows.unpersist()
    ledger.record_count("rows_read", n)
    total = spark.read.format("delta").load(cfg.table_path(spec.target)).count()
    return ExtractResult(name, mode, n, partitions, new_mark,
                         lake.TableInfo(spec.target, cfg.table_path(spec.target), version, total))


def _check_column_names(name: str, spec: ExtractConfig, columns: list[str]) -> None:
    """Bronze keeps the source's column names, and Delta refuses " ,;{}()=" in a name while
    Spark reads `a.b` as a struct field: a name that is not plain is refused before the rows
    are read (JDBC has fetched only the schema so far), with the view that renames it."""
    odd = [c for c in columns if not is_plain_name(c)]
    if odd:
        select = ", ".join(f'"{c}" AS {plain_name_for(c, columns.index(c))}' for c in odd)
        raise ConfigError(
            f"extract '{name}': column(s) {', '.join(json.dumps(c, ensure_ascii=False) for c in odd)} of "
            f"{spec.table} are not plain names (letters, digits and _, starting with a letter), which Spark and "
            f"Delta cannot store as they are: select them under plain names in a view (CREATE VIEW ... AS SELECT "
            f"{select}, <the other columns> FROM {spec.table}) and set extracts.{name}.table to the view")


def credentials(db: DatabaseConfig) -> dict[str, str]:
    values = {key: secrets.get(name) for key, name in (("user", db.user_env), ("password", db.password_env))}
    missing = [name for key, name in (("user", db.user_env), ("password", db.password_env)) if not values[key]]
    if missing:
        raise ConfigError(f"set {' and '.join(missing)} in the environment, or mount them as secret files "
                          f"({secrets.where(missing[0])}): the database credentials come only from there")
    return values


def _jdbc(spark: SparkSession, db: DatabaseConfig, spec: ExtractConfig):
    return (spark.read.format("jdbc").option("url", db.url).option("driver", db.driver)
            .option("fetchsize", spec.fetch_size)
            .options(**credentials(db)))


def _read(spark: SparkSession, db: DatabaseConfig, spec: ExtractConfig, where: str) -> DataFrame:
    try:
        reader = _jdbc(spark, db, spec).option("dbtable", f"(SELECT * FROM {spec.table} {where}) AS src")
        if spec.partition_column and spec.num_partitions > 1:
            bounds = (_jdbc(spark, db, spec).option(
                "query", f"SELECT min({spec.partition_column}) AS lo, max({spec.partition_column}) AS hi "
                         f"FROM {spec.table} {where}").load().first())
            if bounds.lo is not None:
                reader = (reader.option("partitionColumn", spec.partition_column)
                          .option("lowerBound", str(bounds.lo)).option("upperBound", str(bounds.hi))
                          .option("numPartitions", spec.num_partitions))
        return reader.load()
    except CrosslakeError:
        raise
    except Exception as exc:
        raise _explain(exc, db, spec) from exc


def _explain(exc: Exception, db: DatabaseConfig, spec: ExtractConfig) -> CrosslakeError:
    """Turn a JDBC failure into a one-line error that says what to check."""
    text = str(exc)
    where = f"{db.url} (database '{spec.database}')"
    if "Connection refused" in text or "connection attempt failed" in text.lower() or "UnknownHost" in text:
        return CrosslakeError(f"cannot connect to {where}: is the database running and reachable from here?")
    if "password authentication failed" in text or "authentication failed" in text.lower():
        return CrosslakeError(f"{where} refused the credentials in {db.user_env}/{db.password_env}: "
                              f"authentication failed")
    if any(marker in text for marker in CONNECTION_LOST):
        return CrosslakeError(f"the connection to {where} was lost while reading {spec.table} "
                              f"({_psql_message(text)}); nothing was written and the watermark did not move: "
                              f"run the extract again once the database is back")
    if "does not exist" in text:
        return CrosslakeError(f"{where}: table or column of '{spec.table}' does not exist "
                              f"({text.split('ERROR:')[-1].strip().splitlines()[0][:120]})")
    return CrosslakeError(f"reading {spec.table} from {where} failed: {_psql_message(text)}")


# What PostgreSQL's driver says when a session ends under a running query: an administrator
# (or a fail-over) terminated it, or the socket died.
CONNECTION_LOST = ("terminating connection", "I/O error occurred while sending to the backend",
                   "This connection has been closed", "57P01", "Connection reset", "EOFException")


def _psql_message(text: str) -> str:
    """The driver's own message from a JVM trace (py4j's first line only names the call)."""
    for line in text.splitlines():
        if "PSQLException:" in line:
            return line.split("PSQLException:", 1)[1].strip()[:300]
    return (text.strip().splitlines() or ["unknown error"])[0][:300]


def _last_watermark(spark: SparkSession, cfg: Config, name: str) -> tuple[str, str] | None:
    from crosslake import lake
    from pyspark.sql import functions as F

    if not lake.exists(spark, cfg.table_path("watermarks")):
        return None
    row = lake.read_table(spark, cfg, "watermarks").filter(F.col("extract") == name).first()
    return (row.last_value, row.value_type) if row else None


def _save_watermark(spark: SparkSession, cfg: Config, name: str, column: str, value: str, value_type: str) -> None:
    from crosslake import lake, ledger
    from pyspark.sql import functions as F

    current = ledger.current()
    row = (name, column, value, value_type, current.run_id if current else None, None)
    df = spark.createDataFrame([row], WATERMARK_SCHEMA).withColumn("updated_at", F.current_timestamp())
    lake.write_table(df, cfg, "watermarks", mode="upsert")


def _literal(value: str, value_type: str) -> str:
    """A SQL literal for a stored watermark (our own state, typed by the source column)."""
    if value_type in ("tinyint", "smallint", "int", "bigint") or value_type.startswith("decimal") \
            or value_type in ("float", "double"):
        float(value)  # refuses anything that is not a number
        return value
    escaped = value.replace("'", "''")
    if value_type.startswith("timestamp"):
        return f"TIMESTAMP '{escaped}'"
    if value_type == "date":
        return f"DATE '{escaped}'"
    return f"'{escaped}'"


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
