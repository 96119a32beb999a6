"""The model registry: list, show, promote and roll back models.

    crosslake models                      every version, its test accuracy and aliases
    crosslake models show production      one version's metadata (a number or an alias)
    crosslake models promote [VERSION]    candidate (default) -> production, if it wins
    crosslake models rollback             production -> the version it replaced
    crosslake models history              every promotion, refusal and rollback

Promotion is decided on one frozen test set: the test split of the silver version the
candidate was built from. Both models score those same rows, each through its own
vocabulary, as scoring would; the candidate is promoted only if its accuracy is higher.
The decision, both figures and the test set are recorded either way.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file (spark-submit jobs/x.py): import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import ConfigError, CrosslakeError
from crosslake.runner import job_main

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from train.store import StoredModel

NAME = "models"
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
RECORD_RUN = False  # the registry keeps its own decision log
LAKE = "read"       # an existing lake (its model store)
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("action", nargs="?", default="list", choices=["list", "show", "promote", "rollback", "history"])
    parser.add_argument("version", nargs="?", help="show/promote: a version number or an alias (candidate, production)")
    parser.add_argument("--dataset", help="the tabular model of a dataset declared in conf/ (<name>_mlp)")


def check_options(*, action: str = "list", version: str | None = None, **_) -> None:
    """Usage mistakes, found before the config loads and Spark starts."""
    if action == "promote" and version is not None and version != "candidate" and not version.lstrip("v").isdigit():
        raise ConfigError(f"promote takes a version number or 'candidate', got '{version}'")
    if action in ("list", "history", "rollback") and version is not None:
        raise ConfigError(f"`crosslake models {action}` takes no version (got '{version}')")


def run(spark: SparkSession, cfg: Config, *, action: str = "list", version: str | None = None,
        dataset: str | None = None):
    from train import registry
    from train.store import load_metadata

    check_options(action=action, version=version)
    store = cfg.model_store
    if dataset:
        cfg.dataset(dataset)  # a clear error for an undeclared dataset
    name = f"{dataset}_mlp" if dataset else cfg.models.name
    if action == "list":
        return list_models(store, name)
    if action == "history":
        return "\n".join(json.dumps(d, sort_keys=True) for d in registry.decisions(store, name)) or "no decisions yet"
    if action == "show":
        meta = load_metadata(store, name, registry.resolve(store, name, version or "production"))
        return json.dumps({k: meta[k] for k in meta if k != "config"}, indent=2, default=str)
    if action == "rollback":
        cfg.require_writer("models")
        return rollback(store, name)
    return promote(spark, cfg, registry.resolve(store, name, version or "candidate"), name=name)


def list_models(store, name: str) -> str:
    from train import registry
    from train.store import load_metadata, versions

    found = versions(store, name)
    if not found:
        return f"no model '{name}' yet: run `crosslake train`"
    by_version: dict[int, list[str]] = {}
    for alias, v in registry.aliases(store, name).items():
        by_version.setdefault(v, []).append(alias)
    lines = ["version  created               test acc  baseline  trained on   aliases"]
    for v in found:
        m = load_metadata(store, name, v)
        data, metrics = m.get("data", {}), m.get("metrics", {})
        acc, base = metrics.get("test_accuracy", float("nan")), metrics.get("baseline_test_accuracy", float("nan"))
        lines.append(f"v{v:<7} {m.get('created_at', '?'):<21} {acc:8.4f}  {base:8.4f}  "
                     f"gold v{data.get('gold_version', '?'):<6} {', '.join(sorted(by_version.get(v, [])))}")
    return "\n".join(lines)


def test_set_accuracy(spark: SparkSession, cfg: Config, stored: StoredModel, silver: str,
                      silver_version: int) -> tuple[float, int]:
    """Accuracy of `stored` on the labelled test split of `silver` at `silver_version`,
    turned into model input by the model's own vocabulary or encoding (as scoring does)."""
    import numpy as np
    import torch
    from crosslake import lake
    from pyspark.sql import Row, functions as F
    from train.loop import evaluate
    from train.store import read_file
    from transforms.features import with_token_ids, with_tokens
    from transforms.tabular import with_feature_vector

    if stored.metadata["spec"].get("kind") == "tabular_mlp":
        dataset = stored.metadata["config"]["dataset"]
        label = cfg.dataset(dataset).label
        saved = read_file(cfg.model_store, stored.name, stored.version, "encoding.json")
        encoding = [Row(**e) for e in json.loads(saved)]
        inputs = (lake.read_table(spark, cfg, silver, version=silver_version)
                  .filter((F.col("split") == "test") & F.col(label).isNotNull())
                  .transform(with_feature_vector, encoding=encoding, label=label)
                  .select(F.col("_source").alias("key"), "_source_row", F.col("features").alias("x"), "label")
                  .orderBy("key", "_source_row"))
        dtype = torch.float32
    else:
        max_len = stored.metadata["spec"]["max_len"]
        inputs = (lake.read_table(spark, cfg, silver, version=silver_version)
                  .filter((F.col("split") == "test") & F.col("label").isNotNull())
                  .transform(with_tokens).transform(with_token_ids, vocab=stored.vocabulary, max_len=max_len)
                  .select(F.col("review_id").alias("key"), F.col("token_ids").alias("x"), "label").orderBy("key"))
        dtype = torch.long
    rows = inputs.toPandas()
    if rows.empty:
        raise CrosslakeError(f"{silver} version {silver_version} has no labelled test rows to compare models on")
    ids = torch.tensor(np.stack(rows["x"].to_numpy()), dtype=dtype)
    labels = torch.tensor(rows["label"].to_numpy(), dtype=torch.float32)
    batches = [(ids[i:i + 512], labels[i:i + 512]) for i in range(0, len(labels), 512)]
    return evaluate(stored.model, batches, torch.device("cpu")).accuracy, len(labels)


@dataclass
class PromoteResult:
    promoted: bool
    message: str

    def report(self) -> str:
        return self.message


def promote(spark: SparkSession, cfg: Config, candidate: int, *, name: str | None = None) -> PromoteResult:
    from train import registry
    from train.store import load_model

    cfg.require_writer("models")
    store, name = cfg.model_store, name or cfg.models.name
    current = registry.aliases(store, name).get("production")
    if current == candidate:
        return PromoteResult(False, f"{name} v{candidate} is already production")
    cand = load_model(store, name, candidate)  # checksum verified: a tampered file is refused here
    silver_version = int(cand.metadata["data"]["silver_version"])
    gold_table = cand.metadata["data"].get("gold_table_name", "gold")
    silver = "silver" if gold_table == "gold" else gold_table.removesuffix("_gold") + "_silver"
    cand_acc, n = test_set_accuracy(spark, cfg, cand, silver, silver_version)
    decision = {"action": "promote", "candidate": candidate, "production_before": current,
                "test_set": {"table": silver, "version": silver_version, "split": "test", "rows": n},
                "candidate_accuracy": cand_acc}
    if current is None:
        promoted, why = True, "no production model yet"
    else:
        prod_acc, _ = test_set_accuracy(spark, cfg, load_model(store, name, current), silver, silver_version)
        decision["production_accuracy"] = prod_acc
        promoted = cand_acc > prod_acc
        why = (f"candidate {cand_acc:.4f} {'>' if promoted else '<='} production {prod_acc:.4f} "
               f"on the same {n:,} test rows ({silver} v{silver_version})")
    if promoted:
        registry.set_alias(store, name, "production", candidate)
    registry.record_decision(store, name, {**decision, "promoted": promoted, "reason": why})
    verdict = f"promoted {name} v{candidate} to production" if promoted else \
        f"kept {name} v{current} in production; v{candidate} not promoted"
    return PromoteResult(promoted, f"{verdict}: {why}")


def rollback(store, name: str) -> str:
    from train import registry
    from train.store import load_model

    current = registry.aliases(store, name).get("production")
    if current is None:
        raise CrosslakeError(f"model '{name}' has no production version to roll back")
    moves = [d for d in registry.decisions(store, name)
             if d.get("promoted") and d.get("candidate") == current and d.get("production_before") is not None]
    if not moves:
        raise CrosslakeError(f"{name} v{current} did not replace an earlier production version: "
                             f"nothing to roll back to")
    previous = moves[-1]["production_before"]
    load_model(store, name, previous)  # refuse to roll back onto a damaged model
    registry.set_alias(store, name, "production", previous)
    registry.record_decision(store, name, {"action": "rollback", "from": current, "to": previous, "promoted": True,
                                           "candidate": previous, "production_before": None,
                                           "reason": f"rolled back from v{current}"})
    return f"rolled {name} production back from v{current} to v{previous}"


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
