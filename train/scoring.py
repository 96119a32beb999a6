"""One scoring path for every stored model version, whatever its kind.

    scorer = load_scorer(store, name, version)
    scorer.predict_records(["a great film"])   # Spark-free: P(positive) per record (the review page)
    scorer.score(spark, df)                   # df + probability, prediction (batch, stream, promotion)

Kinds: text_cnn, text_ngram and tabular_mlp (torch; scored in Spark through serving/udf.py's broadcast
weights and one Arrow crossing per batch of rows), tfidf_logreg, logreg and gbt (Spark ML PipelineModels, the
baselines: scored natively by model.transform, no Python UDF; Spark-free through their
portable.json, plain arithmetic). Every kind turns rows into input with the encoder stored
beside it (train/encoders.py).

No Spark import at the top: the review page imports this module.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

import numpy as np

from crosslake.errors import CrosslakeError
from train.encoders import Encoder, TabularEncoder, TextEncoder
from train.store import (PORTABLE, SPARKML, TORCH_KINDS, WEIGHTS, kind_of, load_encoder, load_metadata,
                         model_dir, model_from_bytes)

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

SPARKML_KINDS = ("tfidf_logreg", "logreg", "gbt")
# columns the Spark ML stages write: named so that they never clash with a table's own
SPARKML_COLUMNS = {"probabilityCol": "_ml_probability", "rawPredictionCol": "_ml_raw", "predictionCol": "_ml_prediction"}


@dataclass
class Scorer:
    store: str
    name: str
    version: int
    kind: str
    metadata: dict[str, Any]
    encoder: Encoder
    path: str
    _net: Any = field(default=None, repr=False)
    _portable: dict | None = field(default=None, repr=False)
    _broadcast: Any = field(default=None, repr=False)
    _pipeline: Any = field(default=None, repr=False)

    @property
    def is_sparkml(self) -> bool:
        return self.kind in SPARKML_KINDS

    def label(self) -> str:
        return f"{self.name} v{self.version} ({self.kind})"

    # -- Spark-free -------------------------------------------------------------------------
    def net(self):
        if self._net is None:
            folder = model_dir(self.store, self.name) / f"v{self.version}"
            self._net = model_from_bytes((folder / WEIGHTS).read_bytes(), self.metadata, where=str(folder / WEIGHTS))
        return self._net

    def portable(self) -> dict:
        if self._portable is None:
            raw = (model_dir(self.store, self.name) / f"v{self.version}" / PORTABLE).read_bytes()
            if hashlib.sha256(raw).hexdigest() != self.metadata.get("portable_sha256"):
                raise CrosslakeError(f"{self.path}/{PORTABLE} does not match the checksum recorded at save time: "
                                     f"the file was changed or truncated; re-train or restore it")
            self._portable = json.loads(raw)
        return self._portable

    def predict_records(self, records: Iterable[Any]) -> np.ndarray:
        """P(positive) for each record (a text, or a dict / JSON object for a tabular model), float64."""
        records = list(records)
        if self.kind in TORCH_KINDS:
            import torch

            from train.store import predict_proba

            x = torch.from_numpy(self.encoder.encode_records(records))
            return predict_proba(self.net(), x).numpy().astype(np.float64)
        p = self.portable()
        if self.kind == "tfidf_logreg":
            index = {w: i for i, w in enumerate(p["vocabulary"])}
            coef, idf = p["coefficients"], p["idf"]
            margins = []
            for r in records:
                counts = Counter(index[w] for w in self.encoder.words(r) if w in index)
                margins.append(p["intercept"] + sum(coef[i] * n * idf[i] for i, n in counts.items()))
            return _sigmoid(np.asarray(margins, dtype=np.float64))
        x = self.encoder.encode_records(records).astype(np.float64)
        if self.kind == "logreg":
            return _sigmoid(x @ np.asarray(p["coefficients"], dtype=np.float64) + p["intercept"])
        if self.kind == "gbt":
            margin = np.array([sum(t["weight"] * _tree_value(t["nodes"], row) for t in p["trees"]) for row in x])
            return _sigmoid(2.0 * margin)  # Spark's logistic loss: P = 1 / (1 + exp(-2 * margin))
        raise CrosslakeError(f"{self.label()}: no Spark-free scorer for kind '{self.kind}'")

    # -- Spark ------------------------------------------------------------------------------
    def score(self, spark: "SparkSession", df: "DataFrame", *, batch_size: int = 256) -> "DataFrame":
        """Adds probability (float, P(positive)) and prediction (int, probability >= 0.5).
        Requires: the columns the encoder reads (text, or the dataset's feature columns)."""
        from pyspark.sql import functions as F

        if self.kind in TORCH_KINDS:
            from serving.udf import broadcast_model, with_probability

            text = isinstance(self.encoder, TextEncoder)
            if self._broadcast is None:  # once per model version: workers keep the model built
                self._broadcast = broadcast_model(spark, self.store, self,
                                                  vocabulary=self.encoder.vocabulary if text else None)
            # text: Spark cuts the words, the one Python crossing turns them into ids and scores
            inputs = df.transform(self.encoder.with_words if text else self.encoder.with_model_input)
            scored = with_probability(inputs, model=self._broadcast, input_col="words" if text else "model_input",
                                      width=self.encoder.width(), batch_size=batch_size, text=text)
            return scored.withColumn("prediction", (F.col("probability") >= 0.5).cast("int"))
        from pyspark.ml import PipelineModel
        from pyspark.ml.functions import array_to_vector, vector_to_array

        if self._pipeline is None:
            self._pipeline = PipelineModel.load(f"{self.path}/{SPARKML}")
        if isinstance(self.encoder, TextEncoder):
            inputs = df.transform(self.encoder.with_words)
        else:
            inputs = df.transform(self.encoder.with_model_input).withColumn("_ml_vector", array_to_vector("model_input"))
        scored = self._pipeline.transform(inputs)
        return (scored.withColumn("probability", vector_to_array("_ml_probability")[1].cast("float"))
                .withColumn("prediction", (F.col("probability") >= 0.5).cast("int"))
                .drop(*[c for c in scored.columns if c.startswith("_ml_") or c.startswith("_bow_")],
                      "words", "model_input"))

    def release(self) -> None:
        """Free the broadcast weights (a scorer replaced by a newer production version)."""
        if self._broadcast is not None:
            self._broadcast.unpersist()
            self._broadcast = None


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _tree_value(nodes: dict[str, Any], row: np.ndarray) -> float:
    """One regression tree of a GBT, as Spark evaluates it: continuous splits go left when
    the value is <= the threshold; categorical ones when the value is among the left categories."""
    node = nodes[str(nodes["root"])]
    while node["left"] >= 0:
        x = row[node["feature"]]
        go_left = x <= node["threshold"] if node["categories"] is None else float(x) in node["categories"]
        node = nodes[str(node["left"] if go_left else node["right"])]
    return node["value"]


def load_scorer(store: str, name: str, version: int | None = None) -> Scorer:
    """The scorer of `name` v`version` (default: the latest complete version); a torch
    model's weights are checked against their checksum here, so a damaged file is named
    before any scoring starts."""
    meta = load_metadata(store, name, version)
    v = int(meta["version"])
    kind = kind_of(meta)
    if kind not in TORCH_KINDS + SPARKML_KINDS:
        raise CrosslakeError(f"{name} v{v} has an unknown model kind '{kind}'")
    scorer = Scorer(str(store), name, v, kind, meta, load_encoder(store, name, v, meta),
                    str(model_dir(store, name) / f"v{v}"))
    if kind in TORCH_KINDS:
        scorer.net()
    else:
        scorer.portable()
    return scorer


def is_tabular(scorer: Scorer) -> bool:
    return isinstance(scorer.encoder, TabularEncoder)

