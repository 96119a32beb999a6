"""Search every output of a run for known secrets: process output, every file under a folder
(tables, logs, models, checkpoints, notebooks), and every row of every Delta table read back
through Spark (a compressed Parquet page could hide a value from a byte search)."""

from __future__ import annotations

from pathlib import Path


def leaks(secrets: list[str], *, texts: dict[str, str] | None = None, folders: list[Path] = (),
          spark=None) -> list[str]:
    """Where any of `secrets` appears: a list of places, empty when none."""
    assert all(len(s) >= 8 for s in secrets), "search for distinctive values only"
    found = []
    for name, text in (texts or {}).items():
        found += [f"{name} holds secret #{i}" for i, s in enumerate(secrets) if s in text]
    for folder in folders:
        for path in Path(folder).rglob("*"):
            if path.is_file():
                data = path.read_bytes()
                found += [f"{path} holds secret #{i}" for i, s in enumerate(secrets) if s.encode() in data]
        if spark is not None:
            for log in Path(folder).rglob("_delta_log"):
                rows = spark.read.format("delta").load(str(log.parent)).toJSON().collect()
                found += [f"table {log.parent} holds secret #{i}" for i, s in enumerate(secrets)
                          if any(s in r for r in rows)]
    return found
