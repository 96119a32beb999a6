"""Where training runs: cuda when present (or asked for), CPU otherwise with sane threads."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from crosslake.errors import CrosslakeError
from train.config import TrainConfig


def pick_device(cfg: TrainConfig) -> torch.device:
    if cfg.device not in ("auto", "cpu", "cuda"):
        raise CrosslakeError(f"train.device must be auto, cpu or cuda, got '{cfg.device}'")
    if cfg.device == "cuda" and not torch.cuda.is_available():
        raise CrosslakeError("train.device is 'cuda' but no CUDA GPU is visible; use --set train.device=auto")
    if cfg.device == "cuda" or (cfg.device == "auto" and torch.cuda.is_available()):
        return torch.device("cuda")
    torch.set_num_threads(cfg.num_threads or os.cpu_count() or 1)
    return torch.device("cpu")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
