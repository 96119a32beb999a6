"""Training hyper-parameters: the fields and why they exist. The values live in conf/
(base.yaml, overlaid per profile) so there is one place to change them; the whole
dataclass is saved into every model's metadata.

Kept free of torch and Spark imports so configuration loads fast everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrainConfig:
    epochs: int
    batch_size: int
    lr: float                 # peak learning rate of the one-cycle schedule
    weight_decay: float
    embed_dim: int            # word embedding width
    num_filters: int          # convolution filters per kernel width
    kernel_sizes: list[int]   # n-gram widths read in order (3-5 cover "not very good", "but it was dull")
    dropout: float            # before the classifier head
    seed: int
    device: str               # auto | cpu | cuda
    num_threads: int          # torch CPU threads; 0 = one per core
    loader_workers: int       # petastorm reader threads
    patience: int             # early stopping: epochs without a better validation accuracy; 0 = off
    processes: int            # data-parallel processes on this machine (DDP); 1 = train in this process
