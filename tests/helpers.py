"""Helpers shared by the tests: the `crosslake` command in a new process, the standard
arguments of a job on a test lake, the one-line error check, file writers for corpora and
drop zones, the seed of the tests that draw random kill points or data, and the review
lake that tests/conftest.py builds once per session.

Fixtures live in tests/conftest.py; this module holds plain functions and constants, so a
test module imports what it uses by name (no fixture shadowing)."""

from __future__ import annotations

import contextlib
import io
import os
import random
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CROSSLAKE = str(BIN / "crosslake")
QUIET = {"PYTHONWARNINGS": "ignore::FutureWarning"}

# The review lake built once per session (conftest.py `review_lake`): the generator's corpus
# at these sizes, then ingest -> clean -> features -> train (one epoch) -> score.
LAKE_CORPUS = {"train": 300, "test": 200, "unsup": 20}
LAKE_SETTINGS = ["--set", "train.epochs=1"]


def submit_jvm_options() -> list[str]:
    """spark-submit starts the driver JVM itself, before any profile is read: the test
    profile's JVM options (conf/test.yaml) go on its command line instead."""
    from crosslake.config import load_config

    return ["--driver-java-options", load_config("test").spark.conf["spark.driver.extraJavaOptions"]]


def cli(*argv: str, env: dict[str, str] | None = None, cwd: Path | str | None = None, expect: int | None = 0,
        timeout: int = 900) -> subprocess.CompletedProcess:
    """Run the `crosslake` command in its own process, as a user does; assert its exit code
    (unless `expect` is None). `env` is added to this process's environment."""
    done = subprocess.run([CROSSLAKE, *argv], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **QUIET, **(env or {})}, cwd=cwd)
    if expect is not None:
        assert done.returncode == expect, (done.returncode, done.stdout[-2000:] + done.stderr[-3000:])
    return done


def in_process(*argv: str, env: dict[str, str] | None = None, expect: int | None = 0) -> subprocess.CompletedProcess:
    """The same command through crosslake.cli.main in this process, on this test process's
    Spark session (no JVM to start), with `env` set for the call only; what it printed to
    stdout and stderr comes back as `cli` returns it."""
    from crosslake.cli import main
    from tests.s3 import environment

    out, err = io.StringIO(), io.StringIO()
    with environment(env or {}), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    if expect is not None:
        assert code == expect, (code, out.getvalue()[-2000:] + err.getvalue()[-3000:])
    return subprocess.CompletedProcess(["crosslake", *argv], code, out.getvalue(), err.getvalue())


def lake_args(root: Path, *extra: str, corpus: Path | None = None) -> list[str]:
    """A job's arguments on the test profile with the lake at root/lake and the review
    corpus at `corpus` (default root/aclImdb)."""
    return ["--profile", "test", "--lake-root", str(Path(root) / "lake"),
            "--set", f"source.path={corpus or Path(root) / 'aclImdb'}", *extra]


def one_line_error(capsys) -> str:
    """Exactly one `error:` line, the last thing on stderr, and no traceback."""
    return error_line(capsys.readouterr().err, last=True)


def error_line(text: str, *, last: bool = False) -> str:
    """The single `error:` line in `text` (a job's output): no traceback, no query plan;
    with `last`, it is the last line printed."""
    assert "Traceback" not in text and "AnalysisException" not in text, text
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1, text
    if last:
        assert lines[-1] == errors[0], text
    return errors[0]


def write_files(folder: Path, files: dict[str, bytes | str]) -> Path:
    """Write each name -> content (bytes as is, text as UTF-8) under `folder`, creating it."""
    folder = Path(folder)
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def drop_file(zone: Path, name: str, data: bytes | str) -> None:
    """Land a file the way a drop zone must be fed: written beside the zone, then renamed in."""
    target = Path(zone) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(zone).parent / f".{target.name}.tmp"
    if isinstance(data, bytes):
        tmp.write_bytes(data)
    else:
        tmp.write_text(data, encoding="utf-8")
    os.replace(tmp, target)


SEED_ENV = "CROSSLAKE_TEST_SEED"
DEFAULT_SEED = 20261202


def random_seed(default: int = DEFAULT_SEED) -> int:
    """The seed for tests that draw random kill points or data: fixed by default (a failure
    replays as is); CROSSLAKE_TEST_SEED=<n> picks another, CROSSLAKE_TEST_SEED=random draws
    one. The caller prints the seed it used."""
    value = os.environ.get(SEED_ENV, "").strip()
    if not value:
        return default
    if value == "random":
        return random.SystemRandom().randrange(10**6)
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{SEED_ENV} must be a whole number or 'random', got {value!r}") from None

