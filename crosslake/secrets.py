"""Secrets come from the environment or from mounted secret files, and from nowhere else.

A secret called NAME (e.g. LENDING_DB_PASSWORD, AWS_SECRET_ACCESS_KEY) is, first found:
  1. the environment variable NAME;
  2. the file that NAME_FILE names (the Docker / Kubernetes convention);
  3. the file NAME in the folder $CROSSLAKE_SECRETS_DIR (a Kubernetes Secret mounted as a
     volume: one file per key).
A trailing newline in a file is dropped. Values are never logged, put in Spark's
configuration, or written anywhere; an error names the variable or the file, never the value.
"""

from __future__ import annotations

import os
from pathlib import Path

from crosslake.errors import ConfigError

SECRETS_DIR_ENV = "CROSSLAKE_SECRETS_DIR"


def get(name: str) -> str | None:
    if value := os.environ.get(name):
        return value
    if path := os.environ.get(f"{name}_FILE"):   # named explicitly: it must be there
        return _read(Path(path), name, f"{name}_FILE names {path}, which does not exist")
    if (folder := os.environ.get(SECRETS_DIR_ENV)) and (Path(folder) / name).is_file():
        return _read(Path(folder) / name, name, "")
    return None


def _read(path: Path, name: str, missing: str) -> str:
    try:
        return path.read_text().rstrip("\r\n")
    except FileNotFoundError:
        raise ConfigError(missing) from None
    except OSError as exc:
        raise ConfigError(f"cannot read the secret file {path} for {name}: {exc.strerror}") from None


def export(*names: str) -> None:
    """Make secrets found in files visible as environment variables of this process, for the
    clients that read credentials from the environment themselves (the JVM's S3A provider,
    pyarrow's S3 client). Spark's JVM inherits them when it starts."""
    for name in names:
        if not os.environ.get(name) and (value := get(name)) is not None:
            os.environ[name] = value


def where(name: str) -> str:
    """How to provide NAME, for error messages."""
    return f"{name} (or a file named by {name}_FILE, or {name} in ${SECRETS_DIR_ENV})"
