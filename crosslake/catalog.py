"""The table catalog: which tables exist, where they live, and which cluster writes each.

Tables are declared under ``tables:`` in conf/; each tabular dataset also gets its five
tables (``<name>_bronze``, ``_silver``, ``_quarantine``, ``_encoding``, ``_gold``)
without declaring them (``dataset_tables``). Paths are relative to the lake root; a
path with ``{cluster}`` in it is a table every cluster keeps for itself.

Ownership: Delta on object storage is safe with one writing cluster per table, and the
model store with one writer. So each table and the model store name the role whose
cluster writes them (``owner``), the cluster block names the roles this profile plays,
and ``require_writer`` refuses a write from the other side before any job starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from crosslake.errors import ConfigError

if TYPE_CHECKING:
    from crosslake.config import Config

ROLES = ("training", "scoring")
EACH = "each"  # a table every cluster keeps for itself, at a path with {cluster} in it
DATASET_TABLES = ("bronze", "silver", "quarantine", "encoding", "gold")


@dataclass(frozen=True)
class ClusterConfig:
    """Which cluster this profile runs on and which roles it plays. A table or the model
    store is written only by clusters that play its owner's role (one writer per table)."""
    name: str
    roles: list[str]
    # Local folders every node of this cluster mounts at the same path (NFS, a shared volume).
    # Under a cluster master, a local path that executors read or write (the lake root, the
    # source files, lake.scratch) must lie under one of them (crosslake/storage.py check_reachable).
    shared_paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TableConfig:
    path: str
    keys: list[str]
    partition_by: list[str]
    properties: dict[str, Any]
    volatile: list[str]
    schema_evolution: bool
    owner: str = "training"  # the role whose cluster writes it: training | scoring | each


@dataclass(frozen=True)
class PromotionConfig:
    """How sure promotion must be that a model is better (train/promotion.py)."""
    confidence: float      # level of the paired bootstrap interval on an accuracy difference
    bootstrap_draws: int   # resamples of the test rows behind each interval


@dataclass(frozen=True)
class ModelsConfig:
    store: str
    name: str
    promotion: PromotionConfig
    owner: str = "training"  # the role whose cluster writes the store


def table(cfg: Config, name: str) -> TableConfig:
    if name not in cfg.tables:
        raise ConfigError(f"unknown table '{name}': known tables are {', '.join(sorted(cfg.tables))}")
    return cfg.tables[name]


def table_path(cfg: Config, name: str) -> str:
    """Location of a logical table on this cluster, e.g. ``table_path(cfg, "silver")``."""
    return join(cfg.lake.root, table(cfg, name).path.replace("{cluster}", cfg.cluster.name))


def model_store(cfg: Config) -> str:
    return join(cfg.lake.root, cfg.models.store)


def require_writer(cfg: Config, name: str) -> None:
    """Refuse to write table `name` (or "models": the model store) from a cluster whose
    roles do not include its owner."""
    owner = cfg.models.owner if name == "models" else table(cfg, name).owner
    if owner == EACH or owner in cfg.cluster.roles:
        return
    what = "the model store" if name == "models" else f"table '{name}'"
    raise ConfigError(f"{what} is written only by the {owner} cluster; this profile ({cfg.profile}) runs on "
                      f"cluster '{cfg.cluster.name}' with role(s) {', '.join(cfg.cluster.roles)}. "
                      f"Run this job under a profile of the {owner} side")


def check_owners(cfg: Config) -> None:
    """Roles and owners that name nothing, and per-cluster tables without {cluster} in the path."""
    unknown_roles = sorted(set(cfg.cluster.roles) - set(ROLES))
    if unknown_roles:
        raise ConfigError(f"cluster.roles: unknown role(s) {', '.join(unknown_roles)}; roles are {', '.join(ROLES)}")
    owners = {f"tables.{n}.owner": t.owner for n, t in cfg.tables.items()} | {"models.owner": cfg.models.owner}
    for where, owner in owners.items():
        if owner not in (*ROLES, EACH):
            raise ConfigError(f"{where} must be one of {', '.join((*ROLES, EACH))}, got '{owner}'")
    for name, spec in cfg.tables.items():
        if spec.owner == EACH and "{cluster}" not in spec.path:
            raise ConfigError(f"tables.{name}: a table every cluster writes (owner: each) needs {{cluster}} in its "
                              f"path, so that each cluster writes its own copy")


def dataset_tables(cfg: Config) -> dict[str, TableConfig]:
    """The tables each dataset gets without declaring them: <name>_bronze, _silver,
    _quarantine, _encoding, _gold and _predictions under datasets/<name>/, and the scoring
    side's <name>_incoming, _live_predictions, _stream_inputs, _feedback and
    _feedback_rejects. A table declared under tables: with the same name wins (the loader
    merges them in that order)."""
    out = {}
    for name, ds in cfg.datasets.items():
        from_db = ds.source.format == "jdbc"
        source_name = {declared: original for original, declared in ds.rename.items()}
        out[f"{name}_bronze"] = TableConfig(  # files: one row per record, keyed by where it came from
            path=f"datasets/{name}/bronze",
            keys=[source_name.get(k, k) for k in ds.keys] if from_db else ["_source", "_source_row"],
            partition_by=[], properties={}, schema_evolution=False,
            volatile=["_extracted_at", "_run_id"] if from_db else ["_ingested_at", "_run_id"])
        out[f"{name}_silver"] = TableConfig(
            path=f"datasets/{name}/silver", keys=list(ds.keys), partition_by=[],
            properties={"delta.enableChangeDataFeed": True}, volatile=[], schema_evolution=False)
        out[f"{name}_quarantine"] = TableConfig(
            path=f"datasets/{name}/quarantine", keys=["_source", "_source_row"], partition_by=[], properties={},
            volatile=["run_id", "quarantined_at", "bronze_version"], schema_evolution=False)
        out[f"{name}_encoding"] = TableConfig(
            path=f"datasets/{name}/encoding", keys=["feature", "category"], partition_by=[], properties={},
            volatile=[], schema_evolution=False)
        out[f"{name}_gold"] = TableConfig(
            path=f"datasets/{name}/gold", keys=list(ds.keys), partition_by=["split"], properties={},
            volatile=[], schema_evolution=False)
        out[f"{name}_predictions"] = TableConfig(  # batch scoring's output, written by the scoring side
            path=f"datasets/{name}/predictions", keys=[*ds.keys, "model_version"], partition_by=[], properties={},
            volatile=["scored_at"], schema_evolution=True, owner="scoring")
        # the stream's: records arriving as JSON objects (one per row), exactly one live
        # prediction per key, what each key was scored with, and people's labels for them
        out[f"{name}_incoming"] = TableConfig(
            path=f"datasets/{name}/incoming", keys=[], partition_by=[], properties={}, volatile=[],
            schema_evolution=False, owner="scoring")
        out[f"{name}_live_predictions"] = TableConfig(
            path=f"datasets/{name}/live_predictions", keys=list(ds.keys), partition_by=[],
            properties={"delta.enableChangeDataFeed": True}, volatile=["scored_at", "batch_id"],
            schema_evolution=True, owner="scoring")
        out[f"{name}_stream_inputs"] = TableConfig(
            path=f"datasets/{name}/stream_inputs", keys=list(ds.keys), partition_by=[], properties={},
            volatile=[], schema_evolution=False, owner="scoring")
        out[f"{name}_feedback"] = TableConfig(
            path=f"datasets/{name}/feedback", keys=list(ds.keys), partition_by=[],
            properties={"delta.enableChangeDataFeed": True}, volatile=["flagged_at"], schema_evolution=False,
            owner="scoring")
        out[f"{name}_feedback_rejects"] = TableConfig(
            path=f"datasets/{name}/feedback_rejects", keys=["file", "line", "record_hash"], partition_by=[],
            properties={}, volatile=["rejected_at"], schema_evolution=False, owner="scoring")
    return out


def join(root: str, rel: str) -> str:
    """`rel` under the lake root (a folder or an s3a:// prefix)."""
    return f"{root.rstrip('/')}/{rel.lstrip('/')}"
