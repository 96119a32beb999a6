"""Ranges of numeric settings: every number in conf/ has one, checked when the config loads.

``RANGES`` maps each numeric setting (int, float, or a list of them; ``*`` stands for a
name under tables:, extracts:, datasets:) to the values it may take, and ``check_ranges``
refuses one outside it, naming the setting, the value and the file or --set to fix, so a
mistake never reaches Spark or a stored model. tests/bad_input/test_usage_errors.py
checks that no numeric setting lacks a range (``numeric_settings`` lists them).
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crosslake.binder import coerce, read_yaml
from crosslake.errors import ConfigError
from crosslake.settings import TrainConfig

if TYPE_CHECKING:
    from crosslake.config import Config


@dataclass(frozen=True)
class Range:
    """Allowed values of a numeric setting: low <= x <= high (open: < instead of <=); None: no bound."""
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False

    def __contains__(self, x: float) -> bool:
        return ((self.low is None or (x > self.low if self.low_open else x >= self.low))
                and (self.high is None or (x < self.high if self.high_open else x <= self.high)))

    def __str__(self) -> str:
        low = None if self.low is None else f"{'>' if self.low_open else '>='} {self.low:,}"
        high = None if self.high is None else f"{'<' if self.high_open else '<='} {self.high:,}"
        if low and high and not (self.low_open or self.high_open):
            return f"between {self.low:,} and {self.high:,}"
        return " and ".join(b for b in (low, high) if b) or "any number"


ANY = Range()                            # seeds
FRACTION = Range(0, 1)
COUNT = Range(1)                         # sizes, limits, counts
NON_NEGATIVE = Range(0)                  # where 0 has a documented meaning (off, none, auto)
POSITIVE = Range(0, low_open=True)
DROPOUT = Range(0, 1, high_open=True)    # 1 would zero every activation: nothing learns
GENERATE_MAX = {"train": 25_000, "test": 25_000, "unsup": 50_000}  # the real aclImdb's sizes

# Every numeric setting (int, float, list of them) and its range; `*` stands for a name under
# tables:, extracts:, datasets: (tests/bad_input/test_usage_errors.py checks none is missing).
RANGES: dict[str, Range] = {
    "lake.time_travel_hours": NON_NEGATIVE,
    "maintenance.vacuum_retention_hours": NON_NEGATIVE,
    "extracts.*.num_partitions": COUNT,
    "extracts.*.fetch_size": COUNT,
    "datasets.*.clean.max_field_chars": COUNT,
    "datasets.*.clean.max_quarantine_fraction": FRACTION,
    "datasets.*.features.max_categories": COUNT,
    "datasets.*.model.hidden": COUNT,
    "datasets.*.model.dropout": DROPOUT,
    "datasets.*.split.validation_fraction": FRACTION,
    "datasets.*.split.test_fraction": FRACTION,
    "datasets.*.split.seed": ANY,
    **{f"generate.{k}": Range(0, cap) for k, cap in GENERATE_MAX.items()},
    "generate.seed": ANY,
    "clean.validation_fraction": FRACTION,
    "clean.split_seed": ANY,
    "clean.max_text_chars": COUNT,
    "clean.max_quarantine_fraction": FRACTION,
    "clean.min_rows": NON_NEGATIVE,          # 0: an empty silver is allowed
    "clean.max_label_skew": FRACTION,        # a difference of two positive rates
    "clean.label_skew_min_rows": COUNT,
    "ingest.max_file_bytes": COUNT,
    "features.vocab_size": COUNT,
    "features.min_count": COUNT,
    "features.max_len": COUNT,
    "features.tokenizer.repeats": NON_NEGATIVE,   # 0: off
    "train.epochs": COUNT,
    "train.batch_size": COUNT,
    "train.lr": POSITIVE,
    "train.weight_decay": NON_NEGATIVE,
    "train.embed_dim": COUNT,
    "train.num_filters": COUNT,
    "train.kernel_sizes": COUNT,
    "train.dropout": DROPOUT,
    "train.seed": ANY,
    "train.num_threads": NON_NEGATIVE,       # 0: one per core
    "train.loader_workers": COUNT,
    "train.patience": NON_NEGATIVE,          # 0: no early stopping
    "train.processes": COUNT,
    "train.ngram_buckets": COUNT,
    "train.nb_alpha": POSITIVE,
    "baseline.num_features": COUNT,
    "baseline.reg_param": NON_NEGATIVE,
    "baseline.elastic_net": FRACTION,
    "baseline.max_iter": COUNT,
    "models.promotion.confidence": Range(0, 1, low_open=True, high_open=True),
    "models.promotion.bootstrap_draws": Range(100),   # fewer: the interval's own ends are noise
    "score.batch_size": COUNT,
    "stream.max_files_per_trigger": COUNT,
    "serve.port": Range(0, 65_535),          # 0: any free port
    "serve.max_chars": COUNT,
    "serve.max_request_bytes": COUNT,
    "serve.min_known_fraction": FRACTION,
    "serve.reload_seconds": NON_NEGATIVE,    # 0: re-read the alias on every request
}


def numeric_settings(cls: type, where: str = "") -> typing.Iterator[tuple[str, str, type]]:
    """(pattern, field, hint) of every numeric field of `cls` (crosslake.config.numeric_settings:
    of Config) and the dataclasses inside it; the pattern writes a name under a mapping as `*`."""
    for name, hint in typing.get_type_hints(cls).items():
        path = f"{where}.{name}" if where else name
        if dataclasses.is_dataclass(hint):
            yield from numeric_settings(hint, path)
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
            yield from numeric_settings(typing.get_args(hint)[1], f"{path}.*")
        elif _numeric(hint):
            yield path, name, hint


def _numeric(hint: Any) -> bool:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is list:
        return bool(args) and args[0] in (int, float)
    if args:  # X | None
        return len(args) == 1 and _numeric(args[0])
    return hint in (int, float)


def check_ranges(cfg: Config, overrides: list[str] | tuple[str, ...], conf: Path) -> None:
    """Refuse a numeric setting outside its range (RANGES), naming it, the value and where to
    fix it (the last --set of it, else the last file in `conf`, the conf/ folder, that sets it)."""
    for path, value, rng in _numbers(cfg, ""):
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v is not None and (not math.isfinite(v) or v not in rng)]
        if bad:
            each = " each" if isinstance(value, list) else ""
            raise ConfigError(f"{path} must{each} be {rng} (got {value!r}): "
                              f"{_fix_hint(conf, cfg.profile, overrides, path)}")
    for key in TRAIN_CHOICES:
        if (problem := train_setting_problem(key, getattr(cfg.train, key), f"train.{key}")) is not None:
            raise ConfigError(f"{problem}: {_fix_hint(conf, cfg.profile, overrides, f'train.{key}')}")
    for name, ds in cfg.datasets.items():  # overrides of train: for one dataset
        for key, value in ds.train.items():
            path = f"datasets.{name}.train.{key}"
            if (problem := train_setting_problem(key, value, path)) is not None:
                raise ConfigError(f"{problem}: {_fix_hint(conf, cfg.profile, overrides, path)}")


TRAIN_CHOICES = {
    "text_model": ("cnn", "ngram"),        # the review workload's networks (train/model.py)
    "class_weight": ("none", "balanced"),  # train/loop.py
}


def train_setting_problem(key: str, value: Any, where: str) -> str | None:
    """What is wrong with `value` for train.<key> (its type or range), or None; for values that
    bypass the config's own checks: a dataset's train: overrides, `crosslake sweep --grid`."""
    hints = typing.get_type_hints(TrainConfig)
    if key not in hints:
        return None  # unknown keys are named by the caller's own check
    try:
        value = coerce(hints[key], value, where)
    except ConfigError as exc:
        return str(exc)
    if key in TRAIN_CHOICES and value not in TRAIN_CHOICES[key]:
        return f"{where} must be one of {', '.join(TRAIN_CHOICES[key])} (got {value!r})"
    rng = RANGES.get(f"train.{key}")
    values = value if isinstance(value, list) else [value]
    if rng is not None and any(isinstance(v, (int, float)) and not (math.isfinite(v) and v in rng) for v in values):
        return f"{where} must{' each' if isinstance(value, list) else ''} be {rng} (got {value!r})"
    return None


def _numbers(obj: Any, where: str, pattern: str = "") -> typing.Iterator[tuple[str, Any, Range]]:
    """(path, value, range) of every numeric field of the dataclass `obj` that has a range."""
    hints = typing.get_type_hints(type(obj))
    for f in dataclasses.fields(obj):
        value, hint = getattr(obj, f.name), hints[f.name]
        path = f"{where}.{f.name}" if where else f.name
        pat = f"{pattern}.{f.name}" if pattern else f.name
        if dataclasses.is_dataclass(value):
            yield from _numbers(value, path, pat)
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
            for key, item in value.items():
                yield from _numbers(item, f"{path}.{key}", f"{pat}.*")
        elif _numeric(hint) and pat in RANGES:
            yield path, value, RANGES[pat]


def _fix_hint(conf: Path, profile: str, overrides: list[str] | tuple[str, ...], path: str) -> str:
    """Where a setting's value came from: the last --set of it, else the last conf/ file that sets it."""
    if any(item.partition("=")[0].strip() == path for item in overrides):
        return f"fix --set {path}=..."
    files = ["base.yaml"] + [f"{n.strip()}.yaml" for n in profile.split(",")]
    found = [f for f in files if _sets(read_yaml(conf / f), path.split("."))]
    where = f"conf/{found[-1]}" if found else f"conf/{files[-1]}"
    return f"fix {where} or --set {path}=..."


def _sets(data: Any, keys: list[str]) -> bool:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return False
        data = data[key]
    return True
