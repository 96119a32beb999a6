"""The networks a workload trains.

  text_cnn     convolutions over word order, in the spirit of the MLPerf sentiment reference
               (Johnson & Zhang's region CNN; here Kim-style embeddings + 1-D convolutions of
               several widths, max-pooled over time)
  text_ngram   a linear model over the words and word pairs (bigrams) a review contains,
               each scaled by its naive-Bayes log-count ratio from the train split (NBSVM,
               Wang & Manning 2012): ahead of the CNN and of TF-IDF on short real texts
  tabular_mlp  a feed-forward network over a gold feature vector

All read what gold holds (token ids in order, or a feature vector): word pairs are formed
inside text_ngram from the ids, so the encoder, the scoring paths and the review page are
the same for both text models.
"""

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


PAIR_PRIME = 1_000_003  # word pair (a, b) -> slot vocab_size + (a * PAIR_PRIME + b) % buckets
NB_START = 0.1


@dataclass(frozen=True)
class NgramSpec:
    """The bag-of-n-grams model; saved with its weights (the ratios are weights too)."""

    vocab_size: int
    max_len: int
    buckets: int          # hashed word-pair slots (collisions share a weight)
    nb_alpha: float       # naive-Bayes smoothing of the log-count ratios
    kind: str = "text_ngram"

    @classmethod
    def from_config(cls, cfg: TrainConfig, *, vocab_size: int, max_len: int) -> "NgramSpec":
        return cls(vocab_size, max_len, cfg.ngram_buckets, cfg.nb_alpha)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "NgramSpec":
        return cls(**data)


def ngram_ids(token_ids: torch.Tensor, vocab_size: int, buckets: int) -> torch.Tensor:
    """(batch, L) word ids -> (batch, 2L-1): each distinct word and word pair once, every
    other slot 0 (padding). A pair with padding in it is no pair; out-of-vocabulary words
    (id 1) count, as in the word model."""
    ids = token_ids.long()
    a, b = ids[:, :-1], ids[:, 1:]
    pairs = torch.where((a > 0) & (b > 0), vocab_size + (a * PAIR_PRIME + b) % buckets, torch.zeros_like(a))
    grams, _ = torch.sort(torch.cat([ids, pairs], dim=1), dim=1)
    repeat = torch.zeros_like(grams, dtype=torch.bool)
    repeat[:, 1:] = grams[:, 1:] == grams[:, :-1]
    return grams.masked_fill(repeat, 0)  # presence, not counts: binarised features, as NBSVM


class TextNgram(nn.Module):
    """logit = bias + sum over the review's distinct n-grams g of w[g] * r[g], where
    r[g] = log((p[g] / |p|) / (q[g] / |q|)) from how many positive (p) and negative (q)
    train reviews contain g, plus nb_alpha. `observe` computes r from the train split
    before the first epoch (train/loop.py); the weights w are learnt."""

    def __init__(self, spec: NgramSpec):
        super().__init__()
        self.spec = spec
        slots = spec.vocab_size + spec.buckets
        self.weights = nn.EmbeddingBag(slots, 1, mode="sum", padding_idx=0)
        # Every weight starts at 0.1: the untrained model is a damped naive Bayes, which
        # training then corrects (NBSVM's interpolation, learnt). On the real snippets of
        # bench/real_data.py this held 0.5 points over starting at zero, on validation and test.
        nn.init.constant_(self.weights.weight, NB_START)
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("log_ratio", torch.ones(slots))

    def grams(self, token_ids: torch.Tensor) -> torch.Tensor:
        return ngram_ids(token_ids, self.spec.vocab_size, self.spec.buckets)

    @torch.no_grad()
    def observe(self, batches) -> None:
        """Set the log-count ratios from (token_ids, labels) batches of the train split; in
        a data-parallel run, from every process's shard."""
        slots = self.log_ratio.numel()
        counts = torch.zeros(2, slots, dtype=torch.float64, device=self.log_ratio.device)
        for ids, labels in batches:
            grams = self.grams(ids.to(self.log_ratio.device))
            positive = (labels.to(grams.device) > 0.5).unsqueeze(1).expand_as(grams)
            for row, mask in ((1, positive), (0, ~positive)):
                counts[row].index_add_(0, grams[mask], torch.ones(int(mask.sum()), dtype=torch.float64,
                                                                   device=grams.device))
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            torch.distributed.all_reduce(counts)
        counts[:, 0] = 0  # the padding slot is no feature
        p, q = counts[1] + self.spec.nb_alpha, counts[0] + self.spec.nb_alpha
        self.log_ratio.copy_((torch.log(p / p.sum()) - torch.log(q / q.sum())).float())

    def forward(self, token_ids: torch.Tensor) -> torch.Tensor:
        """(batch, max_len) int ids -> (batch,) logits of the positive class."""
        grams = self.grams(token_ids)
        return self.weights(grams, per_sample_weights=self.log_ratio[grams]).squeeze(1) + self.bias


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
    if spec.get("kind") == "text_ngram":
        return TextNgram(NgramSpec.from_dict(spec))
    return TextCNN(ModelSpec.from_dict(spec))
