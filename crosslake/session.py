"""The one way a crosslake job gets a SparkSession: settings from config, jars from .jars/."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

from pyspark.sql import SparkSession

from crosslake import storage
from crosslake.config import Config
from crosslake.errors import CrosslakeError

JARS_DIR_ENV = "CROSSLAKE_JARS_DIR"
CLASS_ARCHIVE_ENV = "CROSSLAKE_CLASS_ARCHIVE"   # off: start the JVM without the class-data archive
log = logging.getLogger(__name__)


def jars_dir() -> Path:
    return Path(os.environ.get(JARS_DIR_ENV) or Path(__file__).resolve().parents[1] / ".jars")


def local_jars(extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The jars resolved by the setup step (see jars/pom.xml), plus each named extra set
    (`gpu`: .jars-gpu/, see jars/gpu.env)."""
    folder = jars_dir()
    jars = sorted(str(p) for p in folder.glob("*.jar"))
    if not any(Path(j).name.startswith("delta-spark") for j in jars):
        raise CrosslakeError(
            f"no Delta jar in {folder}: run `bash scripts/setup.sh` (or `make setup`) to fetch the "
            f"jars from Maven Central, or set {JARS_DIR_ENV} to a folder that has them"
        )
    for name in extra:
        more = sorted(str(p) for p in extra_jars_dir(name).glob("*.jar"))
        if not more:
            raise CrosslakeError(f"the profile needs the '{name}' jars and {extra_jars_dir(name)} has none: "
                                 f"run `bash scripts/setup.sh {name}`")
        jars += more
    return jars


def class_archive_path() -> Path:
    """Where the setup step puts the JVM class-data archive (crosslake/class_archive.py)."""
    return jars_dir() / "classes.jsa"


def archive_options(configured: str | None) -> str | None:
    """spark.driver.extraJavaOptions for a local driver JVM: the configured options, plus the
    class-data archive when the setup step built one (and it is not turned off)."""
    path = class_archive_path()
    if os.environ.get(CLASS_ARCHIVE_ENV, "").lower() in ("off", "0", "false", "no") or not path.is_file():
        return configured
    if configured and "SharedArchiveFile" in configured:
        return configured  # the configuration names an archive of its own
    return " ".join(filter(None, [configured, f"-XX:SharedArchiveFile={path}"]))


def extra_jars_dir(name: str) -> Path:
    return jars_dir().with_name(f"{jars_dir().name}-{name}")


def build_session(job: str, cfg: Config) -> SparkSession:
    """A SparkSession for `job` with the profile's settings, Delta enabled.

    Under spark-submit (it starts the JVM and tells Python its port) the command line
    wins: its --master, --jars and --conf values stay, and the profile only fills in
    settings the command line left out. An existing session (a notebook's, a test's)
    is returned as it is.
    """
    # Python workers must run the interpreter that has our packages (the venv's).
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    submitted = "PYSPARK_GATEWAY_PORT" in os.environ and SparkSession.getActiveSession() is None
    given = submitted_settings() if submitted else {}
    builder = SparkSession.builder.appName(f"crosslake-{job}")
    if "spark.master" not in given:
        builder = builder.master(cfg.spark.master)
    for key, value in {**storage.spark_settings(cfg.lake.root, cfg.storage), **cfg.spark.conf}.items():
        if key not in given:
            builder = builder.config(key, str(value))
    if SparkSession.getActiveSession() is None and not submitted:
        master = given.get("spark.master", cfg.spark.master)
        for key, value in jar_settings(master, local_jars(cfg.spark.extra_jars), cfg.spark.node_jars).items():
            builder = builder.config(key, value)
        if master.startswith("local"):
            # The classes it loads come from the setup step's class-data archive when there is one
            # (crosslake/class_archive.py): seconds off every start.
            if options := archive_options(cfg.spark.conf.get("spark.driver.extraJavaOptions")):
                builder = builder.config("spark.driver.extraJavaOptions", options)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(cfg.spark.log_level)
    # every job reads or writes tables: on a cluster the executors must reach the lake
    storage.check_reachable(spark.sparkContext.master, cfg.lake.root, what="the lake root", setting="lake.root",
                            shared=cfg.cluster.shared_paths)
    log.info("spark %s session for %s (profile %s, master %s)", spark.version, job, cfg.profile,
             spark.sparkContext.master)
    return spark


def jar_settings(master: str, jars: list[str], node_jars: str | None) -> dict[str, str]:
    """Where the driver and the executors find the jars.

    local[...]: one JVM is driver and executors, the jars go straight onto its classpath
      (spark.jars would also copy each jar, the AWS SDK bundle is 558 MB, into the executor's
      work folder at every start: 2-3 s more per session, measured).
    a cluster with spark.node_jars: installed on every node (as the image has them in
      /opt/spark/jars), the executors load them from there; nothing is copied per application.
    a cluster without: spark.jars, and every executor of every application copies them all.
    """
    if master.startswith("local") or node_jars:
        out = {"spark.driver.extraClassPath": os.pathsep.join(jars)}
        if node_jars and not master.startswith("local"):
            out["spark.executor.extraClassPath"] = f"{node_jars.rstrip('/')}/*"
        return out
    return {"spark.jars": ",".join(jars)}


def submitted_settings() -> dict[str, str]:
    """The settings spark-submit passed to the JVM (its --master, --jars, --conf)."""
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connect to spark-submit's JVM: its conf holds the settings
    return dict(SparkConf(loadDefaults=True).getAll())
