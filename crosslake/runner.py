"""Shared plumbing for every job: arguments, config, session, exit codes.

A job module defines NAME, HELP, add_arguments(parser), run(spark, cfg, **options)
and ``main(argv) = job_main(module, argv)``; check_options(**options) if some usage mistakes
need more than one argument to see (called before the config loads, so no JVM starts); ROLE if it writes tables of one side
(training or scoring: refused up front on a cluster without that role), and LAKE if it does
not create the lake (see check_lake_root); the same module then works as
``spark-submit jobs/<name>.py``, ``python -m jobs.<name>``, ``crosslake <name>`` and
``from jobs.<name> import run`` in a notebook.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from types import ModuleType

from crosslake.arguments import Parser, parse
from crosslake.config import PROFILE_ENV, available_profiles, load_config
from crosslake.errors import ConfigError, CrosslakeError, storage_failure

COMMON_OPTIONS = ("profile", "lake_root", "set", "verbose", "command", "tables_command", "lock")
SKIPPED = 4  # exit code: another run holds this job's --lock (cron: the previous run is still going)
log = logging.getLogger("crosslake")


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("common options")
    group.add_argument(
        "--profile", help=f"configuration profile in conf/ ({', '.join(available_profiles())}); combine with "
        f"commas, later ones win (cloud-cpu,test); default: ${PROFILE_ENV} or 'local'")
    group.add_argument("--lake-root", help="lake folder or URI (overrides lake.root)")
    group.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE",
        help="override one config value, e.g. --set train.epochs=2 (repeatable)")
    group.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    group.add_argument("--lock", metavar="NAME",
                       help="run only if no other run holds lock NAME (a file under lake.scratch/_locks); "
                            "otherwise exit 4 at once. For cron: runs never overlap")


def job_parser(module: ModuleType, prog: str | None = None) -> argparse.ArgumentParser:
    parser = Parser(
        prog=prog or f"python -m jobs.{module.NAME}", description=module.HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    module.add_arguments(parser)
    add_common_arguments(parser)
    return parser


def job_main(module: ModuleType, argv: list[str] | None = None) -> int:
    args = parse(job_parser(module), argv)
    return 2 if args is None else execute(module, args)


def execute(module: ModuleType, args: argparse.Namespace) -> int:
    """Run one job: load config, build the session if the job needs one, report, exit code."""
    setup_logging(args.verbose)
    options = {k: v for k, v in vars(args).items() if k not in COMMON_OPTIONS}
    started = time.monotonic()
    spark, owns_session = None, False
    try:
        if (check_options := getattr(module, "check_options", None)) is not None:
            check_options(**options)  # usage mistakes the parser cannot see: before config, lake or JVM
        cfg = load_config(args.profile, lake_root=args.lake_root, overrides=args.set)
        check_role(module, cfg)
        check_lake_root(module, cfg)
        if getattr(args, "lock", None) and not acquire_lock(cfg, args.lock):
            return SKIPPED
        if getattr(module, "NEEDS_SPARK", True):
            from pyspark.sql import SparkSession  # pyspark import only for Spark jobs

            from crosslake.session import build_session

            # Stop the session only if this job started it: a notebook's or a test's
            # session outlives the job it ran.
            owns_session = SparkSession.getActiveSession() is None
            spark = build_session(module.NAME, cfg)
        if spark is None or not getattr(module, "RECORD_RUN", True):
            result = module.run(spark, cfg, **options)
        else:
            from crosslake import ledger

            # The run's one id and its record of reads and writes, handed to the job (which
            # hands it to its Lake); the ledger row is written however the job ends.
            recorder = ledger.Run(module.NAME)
            with ledger.recording(spark, cfg, recorder):
                result = module.run(spark, cfg, recorder=recorder, **options)
    except CrosslakeError as exc:
        if exc.__cause__ is not None:
            log.debug("what %s failed on", module.NAME, exc_info=exc.__cause__)  # the JVM's trace, with -v
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except Exception as exc:
        if (cause := storage_failure(exc)) is None:
            raise  # a bug: the traceback is what the report needs
        log.debug("storage failure", exc_info=True)
        print(f"error: {module.NAME} failed because {cause}; tables are left as their last commit made them. "
              f"Run it again once the storage is back (-v shows the trace)", file=sys.stderr)
        return 1
    finally:
        if spark is not None and owns_session:
            spark.stop()
    if result is not None:
        print(result.report() if hasattr(result, "report") else result)
    log.info("%s finished in %.1f s", module.NAME, time.monotonic() - started)
    return 0


_held_locks: list = []


def acquire_lock(cfg, name: str) -> bool:
    """Take lock `name` for the rest of this process (the OS drops it when the process
    ends, killed or not, so a crashed run never leaves a stale lock)."""
    import fcntl
    import re

    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name):
        from crosslake.errors import ConfigError

        raise ConfigError(f"--lock takes a name of letters, digits, '.', '_' or '-', got {name!r}")
    folder = Path(cfg.scratch) / "_locks"
    folder.mkdir(parents=True, exist_ok=True)
    handle = open(folder / f"{name}.lock", "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        print(f"skipped: another run holds lock '{name}' ({folder / name}.lock); exit {SKIPPED}", file=sys.stderr)
        return False
    handle.seek(0)
    handle.truncate()
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    _held_locks.append(handle)
    return True


# What a job needs of a local lake root (module attribute LAKE): "create" (the default) may
# create it; "write" needs it to exist and be writable; "read" needs it to exist; "none"
# does not touch the lake (generate writes the source folder). A root that is a file is
# refused for every job. Remote roots (s3a://) are left to the store to judge.
LAKE_NEEDS = ("create", "write", "read", "none")


def check_lake_root(module: ModuleType, cfg) -> None:
    """Refuse a lake root the job cannot use, before Spark starts and before anything (a lock,
    the run ledger) is written under it."""
    from crosslake import storage

    need = getattr(module, "LAKE", "create")
    root = cfg.lake.root
    if storage.is_remote(root):
        return
    path = Path(root)
    fix = "set lake.root in conf/ or pass --lake-root"
    if path.exists() and not path.is_dir():
        raise ConfigError(f"lake root {root} is a file, not a folder: {fix} to a folder")
    if need == "none":
        return
    if not path.exists():
        if need in ("read", "write"):
            raise ConfigError(f"lake root {root} does not exist: `crosslake {module.NAME}` works on an existing "
                              f"lake; {fix} to the lake's folder, or create one with `crosslake pipeline`")
        above = next((p for p in path.parents if p.exists()), None)
        if above is not None and not above.is_dir():
            raise ConfigError(f"lake root {root} cannot be created: {above} is a file, not a folder; {fix}")
        if above is not None and not os.access(above, os.W_OK | os.X_OK):
            raise ConfigError(f"lake root {root} cannot be created: {above} is not writable; {fix} to a folder "
                              f"this user can write, or make {above} writable")
        return
    if need != "read" and not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"lake root {root} is read-only (no write permission, or a read-only file system): "
                          f"`crosslake {module.NAME}` writes tables there; make it writable, or {fix} to a "
                          f"writable folder")


def check_role(module: ModuleType, cfg) -> None:
    """A job that writes one side's tables runs only on a cluster with that role."""
    role = getattr(module, "ROLE", None)
    if role is not None and role not in cfg.cluster.roles:
        from crosslake.errors import ConfigError

        raise ConfigError(f"`{module.NAME}` writes tables of the {role} side; this profile ({cfg.profile}) runs on "
                          f"cluster '{cfg.cluster.name}' with role(s) {', '.join(cfg.cluster.roles)}. "
                          f"Run it under a profile of the {role} side")


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is when a record is emitted, not the stream it was made
    with: a notebook, or a test capturing output, may replace (and close) sys.stderr after a
    job has set up logging, and the next job's logging must not fail on the closed one."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, handlers=[_StderrHandler()],
        format="%(asctime)s %(levelname)-5s %(name)s: %(message)s", datefmt="%H:%M:%S", force=True)
    for noisy in ("py4j", "great_expectations", "urllib3", "fsspec", "matplotlib"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # petastorm warns about float32 conversion and Parquet file sizes on every converter;
    # neither applies to int token arrays of this size. Its real failures raise.
    logging.getLogger("petastorm").setLevel(logging.ERROR)


def new_run_id() -> str:
    from crosslake.recorder import new_run_id as make

    return make()


def code_version() -> str:
    """The git commit of the code that ran (see crosslake/ledger.py)."""
    from crosslake.ledger import code_version as version

    return version()
