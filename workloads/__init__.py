"""Workloads: what differs between kinds of data (see base.py). `pick` chooses one, once.

    reviews         the movie-review corpus (the default: no --dataset)
    tabular         each dataset declared under datasets: in conf/ (--dataset NAME)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crosslake.config import Config
    from workloads.base import Workload


def model_name(cfg: Config, dataset: str | None = None) -> str:
    """The registered model a workload trains and serves (no Spark needed: the review page
    asks too): models.name for the reviews, `<name>_mlp` for a declared dataset."""
    if not dataset:
        return cfg.models.name
    cfg.dataset(dataset)  # an undeclared name is refused here, named
    return f"{dataset}_mlp"


def pick(cfg: Config, dataset: str | None = None) -> Workload:
    """The workload a job runs: the review corpus, or the declared dataset `dataset`
    (an undeclared name is a ConfigError naming the declared ones)."""
    if not dataset:
        from workloads.reviews import ReviewsWorkload

        return ReviewsWorkload(cfg)
    from workloads.tabular import TabularWorkload

    return TabularWorkload(cfg, dataset)
