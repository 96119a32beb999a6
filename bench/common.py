"""What more than one benchmark needs: the machine's description, a model to score with,
and where results go for the report (bench/report.py)."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"   # <name>.json per benchmark: the figures behind BENCHMARKS.md
CHARTS = Path(__file__).resolve().parent / "charts"     # PNGs that BENCHMARKS.md shows (committed, small)
WORDS = "the film was great awful boring superb plot acting story and a moving dull".split()


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB RAM, {platform.system()} {platform.release()}"


def spark_jobs(spark) -> int:
    """How many Spark jobs this session has run so far (with adaptive execution, each
    shuffle stage it materialises counts as a job): the difference around a piece of work
    is its job count."""
    return int(spark._jsparkSession.sparkContext().statusStore().jobsList(None).size())


def spark_queries(spark) -> int:
    """How many Spark SQL queries this session has executed so far (Delta's own included):
    the actions the code asked for, however many jobs adaptive execution split each into."""
    return int(spark._jsparkSession.sharedState().statusStore().executionsCount())


def save_result(name: str, figures: dict, **context) -> Path:
    """Keep one benchmark's figures, with when and where they were measured, for the report."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"name": name, "date": time.strftime("%Y-%m-%d"), "machine": machine(),
                                **context, "figures": figures}, indent=2, default=float))
    return path


def random_production_model(cfg, name: str | None = None, spec=None) -> int:
    """Save a CNN with random weights (speed does not depend on what it has learnt) over a
    small vocabulary and make it production; returns its version."""
    import torch

    from train import registry
    from train.model import ModelSpec, TextCNN
    from train.store import save_model

    spec = spec or ModelSpec.from_config(cfg.train, vocab_size=cfg.features.vocab_size + 2,
                                         max_len=cfg.features.max_len)
    torch.manual_seed(0)
    vocab = {w: i + 2 for i, w in enumerate(WORDS)}
    version, _ = save_model(cfg.model_store, name or cfg.models.name, TextCNN(spec).eval(), vocab, {"data": {}})
    if name is None:
        registry.set_alias(cfg.model_store, cfg.models.name, "production", version)
    return version

