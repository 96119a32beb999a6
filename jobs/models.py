"""The model registry: list, show, promote and roll back models.

    crosslake models                      every version, its test accuracy and aliases
    crosslake models show production      one version's metadata (a number or an alias)
    crosslake models promote [VERSION]    candidate (default) -> production, if it wins
    crosslake models rollback             production -> the version it replaced
    crosslake models history              every promotion, refusal and rollback

Promotion is decided on one frozen test set: the test split of the silver version the
candidate was built from (the silver table named in its metadata). The candidate, its
baselines (versions with baseline_of = the candidate) and the current production model
score those same rows, each through its own stored encoder and the one scoring path
(train/scoring.py), and each is evaluated there (train/evaluation.py: accuracy, ROC AUC,
log loss, calibration, ...). A model wins only by being better beyond the noise of those
rows (train/promotion.py: a paired bootstrap interval of the accuracy difference, at
models.promotion.confidence): production keeps its place otherwise, and a candidate only
within noise of its baseline loses to the simpler model. Every contender's figures, its
interval against the winner and the winner are recorded either way.
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
from train import registry  # light: the store's listing and metadata need no torch, Spark or numpy
from train.store import EXPLAIN, kind_of, load_metadata, read_file, versions

if TYPE_CHECKING:
    import numpy as np
    from pyspark.sql import DataFrame, SparkSession

    from train.scoring import Scorer

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
    check_options(action=action, version=version)
    from workloads import model_name

    store = cfg.model_store
    name = model_name(cfg, dataset)  # an undeclared dataset is refused here, named
    if action == "list":
        return list_models(store, name)
    if action == "history":
        return "\n".join(json.dumps(d, sort_keys=True) for d in registry.decisions(store, name)) or "no decisions yet"
    if action == "show":
        return show(store, name, registry.resolve(store, name, version or "production"))
    if action == "rollback":
        cfg.require_writer("models")
        return rollback(store, name)
    return promote(spark, cfg, registry.resolve(store, name, version or "candidate"), name=name)


def list_models(store, name: str) -> str:
    found = versions(store, name)
    if not found:
        return f"no model '{name}' yet: run `crosslake train`"
    by_version: dict[int, list[str]] = {}
    for alias, v in registry.aliases(store, name).items():
        by_version.setdefault(v, []).append(alias)
    metas = {v: load_metadata(store, name, v) for v in found}
    baselines: dict[int, list[str]] = {}
    for v, m in metas.items():
        if m.get("baseline_of") is not None:
            baselines.setdefault(int(m["baseline_of"]), []).append(f"v{v} {kind_of(m)}")
    lines = ["version  kind          created               test acc  trained on   baselines / baseline of     aliases"]
    for v in found:
        m = metas[v]
        data, metrics = m.get("data", {}), m.get("metrics", {})
        acc = metrics.get("test_accuracy", float("nan"))
        rel = f"baseline of v{m['baseline_of']}" if m.get("baseline_of") is not None else \
            ", ".join(baselines.get(v, [])) or "-"
        lines.append(f"v{v:<7} {kind_of(m):<13} {m.get('created_at', '?'):<21} {acc:8.4f}  "
                     f"gold v{data.get('gold_version', '?'):<6} {rel:<27} {', '.join(sorted(by_version.get(v, [])))}")
    return "\n".join(lines)


def show(store, name: str, version: int) -> str:
    """A version's metadata (with its test-split evaluation: metrics.evaluation), the PNGs
    stored with it, and for a baseline what drives it (explain.json)."""
    from train.store import model_dir

    meta = load_metadata(store, name, version)
    out = {k: meta[k] for k in meta if k != "config"}
    out["kind"] = kind_of(meta)
    folder = model_dir(store, name) / f"v{version}"
    out["plots"] = [str(folder / f) for f in ("curves.png", "evaluation.png") if (folder / f).is_file()]
    try:
        out["explain"] = json.loads(read_file(store, name, version, EXPLAIN))
    except CrosslakeError:
        pass  # a neural model has no explain.json
    return json.dumps(out, indent=2, default=str)


def silver_of(cfg: Config, meta: dict) -> str:
    """The table of the frozen test set: named in the metadata (versions stored before it was
    are mapped through the tables their dataset declares)."""
    data = meta.get("data", {})
    if data.get("silver_table_name"):
        return data["silver_table_name"]
    from workloads import pick

    return pick(cfg, meta.get("config", {}).get("dataset")).table("silver")


def frozen_test_set(spark: SparkSession, cfg: Config, scorer: Scorer, silver: str, silver_version: int):
    """(labelled test rows of `silver` at `silver_version`, the label column)."""
    from pyspark.sql import functions as F

    from train.scoring import is_tabular

    label = "label"
    if is_tabular(scorer):
        label = scorer.encoder.label or cfg.dataset(scorer.encoder.dataset).label
    from crosslake import lake

    rows = (lake.read_table(spark, cfg, silver, version=silver_version)
            .filter((F.col("split") == "test") & F.col(f"`{label}`").isNotNull()))
    return rows, label


def judge(spark: SparkSession, cfg: Config, scorer: Scorer, silver: str, silver_version: int,
          keys: tuple[str, ...]) -> tuple[list[tuple], np.ndarray, np.ndarray]:
    """(row keys, truth, P(positive)) of `scorer`'s model on the labelled test split of
    `silver` at `silver_version`, in key order: turned into model input by the model's own
    encoder, through the one scoring path (train/scoring.py)."""
    from train.service import test_predictions

    rows, label = frozen_test_set(spark, cfg, scorer, silver, silver_version)
    try:
        return test_predictions(spark, scorer, rows, label, batch_size=cfg.score.batch_size, keys=keys)
    except CrosslakeError:
        raise CrosslakeError(f"{silver} version {silver_version} has no labelled test rows to compare models on") \
            from None


@dataclass
class PromoteResult:
    promoted: bool
    message: str
    decision: dict | None = None

    def report(self) -> str:
        return self.message

    def comparison(self) -> str:
        """Every contender on the frozen test set, its figures and its accuracy difference
        to the winner with the interval the rule used (for `crosslake pipeline`)."""
        if not self.decision or not self.decision.get("contenders"):
            return ""
        d = self.decision
        sure = (f"; differences with {d['confidence']:.0%} paired bootstrap intervals"
                if "confidence" in d else "")
        lines = [f"model comparison on {d['test_set']['table']} v{d['test_set']['version']} "
                 f"({d['test_set']['rows']:,} test rows{sure}):",
                 f"  {'version':<8} {'kind':<13} {'role':<10} {'accuracy':>8} {'ROC AUC':>8} {'log loss':>8} "
                 f"{'ECE':>7}  minus the winner"]
        majority = None
        for c in sorted(d["contenders"], key=lambda c: -c["accuracy"]):
            ev = c.get("evaluation") or {}
            majority = ev.get("majority_rate", majority)
            figures = " ".join(_figure(ev.get(k), w) for k, w in (("roc_auc", 8), ("log_loss", 8), ("ece", 7)))
            if c["version"] == d["winner"]["version"]:
                vs = "<- winner"
            elif "minus_winner" in c:
                iv = c["minus_winner"]
                vs = f"{iv['difference']:+.4f} [{iv['low']:+.4f}, {iv['high']:+.4f}]"
            else:
                vs = ""
            lines.append(f"  v{c['version']:<7} {c['kind']:<13} {c['role']:<10} {c['accuracy']:8.4f} {figures}  "
                         f"{vs}".rstrip())
        if majority is not None:
            lines.append(f"  (always answering the commoner class: {majority:.4f})")
        return "\n".join(lines)


def _figure(value: float | None, width: int) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:{width}.4f}"


def promote(spark: SparkSession, cfg: Config, candidate: int, *, name: str | None = None) -> PromoteResult:
    from train.evaluation import evaluate
    from train.promotion import Contender, decide, judged
    from train.scoring import load_scorer
    from workloads import pick

    cfg.require_writer("models")
    store, name = cfg.model_store, name or cfg.models.name
    current = registry.aliases(store, name).get("production")
    if current == candidate:
        return PromoteResult(False, f"{name} v{candidate} is already production")
    cand = load_scorer(store, name, candidate)  # checksum verified: a tampered file is refused here
    silver_version = int(cand.metadata["data"]["silver_version"])
    silver = silver_of(cfg, cand.metadata)
    roles = {candidate: "candidate"}
    for v in versions(store, name):
        if load_metadata(store, name, v).get("baseline_of") == candidate:
            roles[v] = "baseline"
    baselines = {v for v, role in roles.items() if role == "baseline"}
    if current is not None:
        roles[current] = "production"
    if (judged_before := _judged_already(store, name, candidate, baselines, current, silver,
                                         silver_version)) is not None:
        return judged_before
    keys = pick(cfg, cand.metadata.get("config", {}).get("dataset")).keys
    contenders, row_keys = [], None
    for v, role in sorted(roles.items()):
        scorer = cand if v == candidate else load_scorer(store, name, v)
        these, truth, probability = judge(spark, cfg, scorer, silver, silver_version, keys)
        if row_keys is not None and these != row_keys:
            raise CrosslakeError(f"{scorer.label()} was scored on other test rows than v{candidate}: "
                                 f"{silver} v{silver_version} changed under the comparison; run the promotion again")
        row_keys = these
        ev = evaluate(truth, probability)
        log.info("%s v%d (%s, %s) on the frozen test set: %s", name, v, role, scorer.kind, ev.summary())
        contenders.append(Contender(v, scorer.kind, role, judged(truth, probability), ev.to_dict()))
    n = len(row_keys)
    rule = cfg.models.promotion
    verdict = decide(contenders, confidence=rule.confidence, draws=rule.bootstrap_draws, seed=silver_version)
    why = verdict.reason(n, f"{silver} v{silver_version}")
    by_role = {c.role: c for c in contenders}
    decision = {"action": "promote", "candidate": candidate, "production_before": current,
                "test_set": {"table": silver, "version": silver_version, "split": "test", "rows": n},
                "candidate_accuracy": by_role["candidate"].accuracy, **verdict.to_dict(),
                "promoted_version": verdict.winner.version if verdict.promoted else None}
    if current is not None:
        decision["production_accuracy"] = by_role["production"].accuracy
    if verdict.promoted:
        registry.set_alias(store, name, "production", verdict.winner.version)
    registry.record_decision(store, name, {**decision, "promoted": verdict.promoted, "reason": why})
    if not verdict.promoted:
        head = f"kept {name} v{current} in production; v{candidate} not promoted"
    elif verdict.winner.role == "baseline":
        head = (f"promoted {name} v{verdict.winner.version} (the {verdict.winner.kind} baseline) to production; "
                f"candidate v{candidate} not promoted")
    else:
        head = f"promoted {name} v{candidate} to production"
    result = PromoteResult(verdict.promoted, f"{head}: {why}", decision)
    return result


def _judged_already(store: str, name: str, candidate: int, baselines: set[int], current: int | None,
                    silver: str, silver_version: int) -> PromoteResult | None:
    """The last promotion's outcome when it judged this candidate, with these baselines, on
    this test set, and production is still what it left: judging again would compare the
    same models on the same rows (a re-run on unchanged data), so it is not done again."""
    last = next((d for d in reversed(registry.decisions(store, name)) if d.get("action") == "promote"), None)
    if last is None or last.get("candidate") != candidate or not last.get("contenders"):
        return None
    left = last["promoted_version"] if last.get("promoted") else last.get("production_before")
    judged = {c["version"] for c in last["contenders"] if c["role"] == "baseline"}
    if (left != current or last.get("test_set", {}).get("table") != silver
            or last["test_set"].get("version") != silver_version
            or judged != baselines):
        return None
    log.info("%s v%d was judged on %s v%d at %s; nothing changed since", name, candidate, silver, silver_version,
             last.get("at"))
    return PromoteResult(False, f"kept {name} v{current} in production: candidate v{candidate} was judged on "
                                f"{silver} v{silver_version} already ({last.get('at')}) and nothing changed since",
                         last)


def rollback(store, name: str) -> str:
    current = registry.aliases(store, name).get("production")
    if current is None:
        raise CrosslakeError(f"model '{name}' has no production version to roll back")
    moves = [d for d in registry.decisions(store, name)
             if d.get("promoted") and (d.get("promoted_version") or d.get("candidate")) == current
             and d.get("production_before") is not None]
    if not moves:
        raise CrosslakeError(f"{name} v{current} did not replace an earlier production version: "
                             f"nothing to roll back to")
    previous = moves[-1]["production_before"]
    from train.scoring import load_scorer

    load_scorer(store, name, previous)  # refuse to roll back onto a damaged model
    registry.set_alias(store, name, "production", previous)
    registry.record_decision(store, name, {"action": "rollback", "from": current, "to": previous, "promoted": True,
                                           "candidate": previous, "production_before": None,
                                           "reason": f"rolled back from v{current}"})
    return f"rolled {name} production back from v{current} to v{previous}"


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
