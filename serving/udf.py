"""Score model-input arrays (token ids, feature vectors) with a stored torch model inside
Spark, a batch at a time (train/scoring.py's Scorer.score calls it for torch kinds).

The driver reads the model's weights once (checksum verified) and broadcasts them: each
executor receives them once, and no executor needs access to the model store or its
credentials. `predict_batch_udf` builds the model once per Python worker (it caches the
predict function across tasks, and across queries while the same UDF is reused:
prediction_udf) and hands it numpy batches through Arrow: no row-at-a-time
Python, no model pickled into every task's closure.
"""

from __future__ import annotations

import numpy as np
from pyspark.ml.functions import predict_batch_udf
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType

from train.store import WEIGHTS, StoredModel, read_file


def broadcast_model(spark, store: str, stored: StoredModel):
    """The stored model's weights and metadata as a broadcast variable (sent once per executor)."""
    weights = read_file(store, stored.name, stored.version, WEIGHTS)
    return spark.sparkContext.broadcast((weights, stored.metadata))


def prediction_udf(*, model, max_len: int, batch_size: int):
    """The Spark UDF that scores <max_len>-wide model-input arrays with the broadcast `model`
    (what broadcast_model returned). predict_batch_udf caches the model it builds in each
    Python worker under a key made when this is called: keep the returned UDF and reuse it
    (Scorer does, per model version), and every later query and stream micro-batch finds the
    model built; a new UDF per query rebuilds the model in every worker every time."""

    def make_predict_fn():
        import torch

        from train.store import model_from_bytes, predict_proba

        torch.set_num_threads(1)  # one thread per Spark task slot; Spark provides the parallelism
        weights, meta = model.value
        net = model_from_bytes(weights, meta, where=f"broadcast {meta['name']} v{meta['version']}")
        dtype = np.float32 if meta["spec"].get("kind") == "tabular_mlp" else np.int64

        def predict(ids: np.ndarray) -> np.ndarray:
            return predict_proba(net, torch.from_numpy(ids.astype(dtype))).numpy()

        return predict

    return predict_batch_udf(make_predict_fn, return_type=FloatType(), batch_size=batch_size,
                             input_tensor_shapes=[[max_len]])


def with_predictions(df: DataFrame, *, model=None, max_len: int | None = None, batch_size: int | None = None,
                     udf=None, ids_col: str = "token_ids") -> DataFrame:
    """Requires: <ids_col> (array of max_len: int token ids for a text model, floats for a
    tabular one). Adds: probability (P(positive)), prediction (0/1). Scores with `udf` (from
    prediction_udf), or with a new one for `model` (what broadcast_model returned)."""
    scorer = udf if udf is not None else prediction_udf(model=model, max_len=max_len, batch_size=batch_size)
    return df.withColumn("probability", scorer(F.col(ids_col))).withColumn(
        "prediction", (F.col("probability") >= 0.5).cast("int"))
