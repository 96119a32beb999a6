"""The sentiment CNN: convolutions over word order, in the spirit of the MLPerf
sentiment reference (Johnson & Zhang's region CNN; here Kim-style embeddings + 1-D
convolutions of several widths, max-pooled over time)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn

from train.config import TrainConfig


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to rebuild the network; saved with the weights."""

    vocab_size: int
    max_len: int
    embed_dim: int
    num_filters: int
    kernel_sizes: tuple[int, ...]
    dropout: float

    @classmethod
    def from_config(cls, cfg: TrainConfig, *, vocab_size: int, max_len: int) -> "ModelSpec":
        return cls(vocab_size, max_len, cfg.embed_dim, cfg.num_filters, tuple(cfg.kernel_sizes), cfg.dropout)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "ModelSpec":
        return cls(**{**data, "kernel_sizes": tuple(data["kernel_sizes"])})


class TextCNN(nn.Module):
    def __init__(self, spec: ModelSpec):
        super().__init__()
        self.spec = spec
        self.embedding = nn.Embedding(spec.vocab_size, spec.embed_dim, padding_idx=0)
        # Each width k reads k-grams in order: "not great" and "but ... dull" are features
        # a bag of words cannot form.
        self.convs = nn.ModuleList(nn.Conv1d(spec.embed_dim, spec.num_filters, k, padding=k // 2)
                                   for k in spec.kernel_sizes)
        self.dropout = nn.Dropout(spec.dropout)
        self.head = nn.Linear(spec.num_filters * len(spec.kernel_sizes), 1)

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        """(batch, max_len) int ids -> (batch,) logits of the positive class."""
        # Dropout only before the head (as in Kim 2014): on the embeddings as well it
        # stalls learning on small corpora.
        x = self.embedding(token_ids).transpose(1, 2)
        pooled = [torch.relu(conv(x)).amax(dim=2) for conv in self.convs]
        return self.head(self.dropout(torch.cat(pooled, dim=1))).squeeze(1)


@dataclass(frozen=True)
class MLPSpec:
    """The tabular model: a feed-forward network over a gold feature vector."""

    in_dim: int
    hidden: tuple[int, ...]
    dropout: float
    kind: str = "tabular_mlp"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "MLPSpec":
        return cls(**{**data, "hidden": tuple(data["hidden"])})


class TabularMLP(nn.Module):
    def __init__(self, spec: MLPSpec):
        super().__init__()
        self.spec = spec
        layers: list[nn.Module] = []
        width = spec.in_dim
        for h in spec.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(spec.dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(width, 1)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(batch, in_dim) floats -> (batch,) logits of the positive class."""
        return self.head(self.body(features.float())).squeeze(1)


def build_model(spec: dict) -> nn.Module:
    """Rebuild a network from the spec saved with it (text CNN unless it says otherwise)."""
    if spec.get("kind") == "tabular_mlp":
        return TabularMLP(MLPSpec.from_dict(spec))
    return TextCNN(ModelSpec.from_dict(spec))
