"""A class-data archive for the driver JVM: a crosslake process starts its JVM faster.

Every `crosslake` command starts a JVM that loads some 20,000 classes (Spark, Delta,
Hadoop, the AWS SDK) from jars, the same ones each time. Java's class-data sharing (CDS)
can map them from an archive instead: the setup step (scripts/setup.sh) builds one with
`python -m crosslake.class_archive`, by running a short Delta workload in a JVM that
writes the classes it loaded to `.jars/classes.jsa` when it exits; crosslake/session.py
then starts each local driver JVM with `-XX:SharedArchiveFile` on it. Measured on the
2-core machine: a new `crosslake tables list` process 18.4 s -> 13.6 s (bench/startup.py,
side by side), a loans pipeline 91 s -> 82 s.

Safe by construction: the JVM checks the archive against its own version and class path
and ignores it when either differs (a new JDK, a profile with more jars, spark-submit's
own class path), so a stale archive costs only the time it would have saved. It lives in
.jars/, which the setup step re-creates when the jar pins change; CROSSLAKE_CLASS_ARCHIVE=off
turns it off, and a JVM option set in spark.driver.extraJavaOptions is kept beside it
(`archive_options` in crosslake/session.py).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from crosslake.config import load_config
from crosslake.session import CLASS_ARCHIVE_ENV, build_session, class_archive_path


def _workload(spark, folder: Path) -> None:
    """What most jobs do first: create, append to, merge into, read and inspect a Delta table."""
    from delta.tables import DeltaTable

    path = str(folder / "t")
    spark.range(200).selectExpr("id", "cast(id % 7 as string) as k").write.format("delta").save(path)
    spark.range(200, 300).selectExpr("id", "'x' as k").write.format("delta").mode("append").save(path)
    (DeltaTable.forPath(spark, path).alias("t").merge(spark.range(250, 350).selectExpr("id", "'y' as k").alias("s"),
                                                      "s.id = t.id")
     .whenMatchedUpdateAll().whenNotMatchedInsertAll().execute())
    DeltaTable.forPath(spark, path).history(1).select("version", "operationMetrics").collect()
    spark.read.format("delta").load(path).groupBy("k").count().orderBy("k").collect()
    spark.read.format("delta").option("versionAsOf", 0).load(path).join(
        spark.read.format("delta").load(path), "id", "left_anti").count()


def build() -> Path:
    """Run the workload in a JVM that dumps its loaded classes on exit; move the archive into
    place only when complete (a half-written one is never used)."""
    target = class_archive_path()
    with tempfile.TemporaryDirectory(prefix="crosslake-cds-") as tmp:
        partial = Path(tmp) / target.name
        os.environ[CLASS_ARCHIVE_ENV] = "off"  # this JVM writes the archive; it does not read one
        cfg = load_config("local", overrides=[f"lake.root={tmp}/lake", f"lake.scratch={tmp}/scratch"])
        dump = {**cfg.spark.conf, "spark.driver.extraJavaOptions": f"-XX:ArchiveClassesAtExit={partial} -Xlog:cds=error"}
        spark = build_session("class-archive", replace(cfg, spark=replace(cfg.spark, conf=dump)))
        _workload(spark, Path(tmp))
        proc = spark.sparkContext._gateway.proc  # the driver JVM pyspark started
        spark.stop()
        proc.stdin.close()  # the JVM exits when its parent's pipe closes, and writes the archive
        proc.wait(timeout=300)  # the archive is written before the JVM exits
        if not partial.is_file() or partial.stat().st_size == 0:
            raise SystemExit("class_archive: the JVM wrote no archive (a JDK without -XX:ArchiveClassesAtExit?)")
        shutil.move(str(partial), target)
    return target


def main() -> int:
    started = time.monotonic()
    path = build()
    print(f"class_archive: {path} ({path.stat().st_size // 2**20} MB) in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
