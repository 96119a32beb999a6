"""Skip a stage whose tables already hold what it would write.

A derived table (silver, gold, ...) is a function of three things: the versions of the
tables it was built from, the settings that shape it, and the code. Every build's ledger
row records the first (inputs) and a fingerprint of the other two. Before it reads a row,
a stage asks `last_build`: if the last successful build of the same table read exactly
the versions that are the latest now, under the same fingerprint, and the tables it
wrote are still at the versions it left them, running again would recompute every row
only to commit nothing. The stage records that it is up to date (its ledger row names
the inputs and the fingerprint, writes nothing) and returns at once.

Anything else rebuilds: a new bronze or feedback version, a changed setting (`--set
clean.max_quarantine_fraction=...`), changed code, a table written behind the stage's
back (a manual DELETE, a restore), a missing or unreadable ledger. `--rebuild` rebuilds
regardless. What goes into the fingerprint is below (SETTINGS, CODE).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crosslake.config import Config
    from crosslake.lake import Lake

log = logging.getLogger(__name__)

# The settings that can change what a data stage writes. Left out: where and how things run
# (cluster, storage, spark, lake folders), what later stages do (train, baseline, score,
# stream, serve) and maintenance; none of them changes a row of silver or gold.
SETTINGS = ("source", "ingest", "generate", "clean", "features", "tables", "datasets", "extracts", "models")
# The code that can: every module under these packages (read through importlib, so a
# zipped bundle for spark-submit hashes the same files as a checkout).
CODE = ("crosslake", "stages", "workloads", "transforms", "expectations")
_CODE_HASH: str | None = None


def fingerprint(cfg: Config) -> str:
    """A hash of the data settings and the pipeline's code: equal means the same inputs
    give the same rows."""
    settings = {name: dataclasses.asdict(getattr(cfg, name)) if dataclasses.is_dataclass(getattr(cfg, name))
                else {k: dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v
                      for k, v in getattr(cfg, name).items()}
                for name in SETTINGS}
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256((text + code_hash()).encode()).hexdigest()[:32]


def code_hash() -> str:
    global _CODE_HASH
    if _CODE_HASH is None:
        digest = hashlib.sha256()
        for package in CODE:
            for name, data in sorted(_sources(resources.files(package), package)):
                digest.update(name.encode() + b"\0" + data + b"\0")
        _CODE_HASH = digest.hexdigest()
    return _CODE_HASH


def _sources(folder, prefix: str):
    for entry in folder.iterdir():
        if entry.is_dir() and entry.name != "__pycache__":
            yield from _sources(entry, f"{prefix}/{entry.name}")
        elif entry.name.endswith(".py"):
            yield f"{prefix}/{entry.name}", entry.read_bytes()


@dataclass
class UpToDate:
    """A stage that had nothing to do: its tables at the versions its last build left."""
    stage: str
    tables: dict[str, int]       # table -> version, as the build left it
    inputs: dict[str, int]       # table -> version it was built from (still the latest)
    run_id: str                  # the build's run

    def report(self) -> str:
        tables = ", ".join(f"{t} version {v}" for t, v in self.tables.items())
        inputs = ", ".join(f"{t} version {v}" for t, v in sorted(self.inputs.items())) or "nothing"
        return (f"{self.stage}: up to date, nothing to do: {tables}, built by run {self.run_id} from {inputs} "
                f"with the same settings and code (--rebuild recomputes anyway)")


def last_build(lk: Lake, stage: str, *, outputs: list[str], pinned: dict[str, int], fp: str) -> UpToDate | None:
    """The last successful build of `outputs` by `stage`, if it is still current (see the
    module doc); None when the stage has to run. `pinned`: inputs whose version the stage
    has already chosen (bronze, pinned or latest); any other input the build read is
    compared with that table's latest version now."""
    from pyspark.sql import functions as F

    from crosslake import lake, ledger

    if not lake.exists(lk.spark, lk.path(ledger.TABLE)):
        return None
    runs = lk.spark.read.format("delta").load(lk.path(ledger.TABLE))  # not lk.read: the ledger is no input
    if "fingerprint" not in runs.columns:
        return None  # a ledger from before fingerprints: build once, and the next run can skip
    last = (runs.filter((F.col("job") == stage) & (F.col("status") == "success")
                        & F.exists("outputs", lambda o: o["table"] == outputs[0]))
            .orderBy(F.col("finished_at").desc()).select("run_id", "inputs", "outputs", "fingerprint")
            .limit(1).collect())
    if not last:
        return None
    build = last[0]
    inputs = {i["table"]: i["version"] for i in build.inputs or []}
    written = {o["table"]: o["version"] for o in build.outputs or []}
    why = _stale(lk, build.fingerprint, fp, inputs, written, outputs, pinned)
    if why:
        log.info("%s: rebuilding (%s since run %s)", stage, why, build.run_id)
        return None
    for table, version in inputs.items():
        lk.run.record_input(table, version)
    lk.run.record_count("up_to_date", 1)
    return UpToDate(stage, {t: written[t] for t in outputs}, inputs, build.run_id)


def _stale(lk: Lake, built_fp: str | None, fp: str, inputs: dict[str, int], written: dict[str, int],
           outputs: list[str], pinned: dict[str, int]) -> str | None:
    """Why the build is not current any more (None: it is)."""
    if built_fp != fp:
        return "settings or code changed"
    if any(v is None for v in inputs.values()):
        return "the build read a table by timestamp"
    if any(pinned[t] != inputs.get(t) for t in pinned):
        return "a new version of " + ", ".join(t for t in pinned if pinned[t] != inputs.get(t))
    for table, version in inputs.items():
        if table not in pinned and _latest(lk, table) != version:
            return f"a new version of {table}"
    for table in outputs:
        if table not in written:
            return f"the build did not write {table}"
        if _latest(lk, table) != written[table]:
            return f"{table} was written since"
    return None


def _latest(lk: Lake, table: str) -> int | None:
    from crosslake import lake

    path = lk.path(table)
    return lake.current_version(lk.spark, path) if lake.exists(lk.spark, path) else None
