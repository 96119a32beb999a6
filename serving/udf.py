"""Score token-id arrays with a stored model inside Spark, a batch at a time.

`predict_batch_udf` loads the model once per Python worker (it caches the predict
function across tasks) and hands it numpy batches through Arrow: no row-at-a-time
Python, no model pickled into the task closure.
"""

from __future__ import annotations

import numpy as np
from pyspark.ml.functions import predict_batch_udf
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import FloatType


def with_predictions(df: DataFrame, *, store: str, name: str, version: int, max_len: int, batch_size: int,
                     ids_col: str = "token_ids") -> DataFrame:
    """Requires: <ids_col> (array<int> of max_len). Adds: probability (P(positive)), prediction (0/1)."""

    def make_predict_fn():
        import torch

        from train.store import load_model, predict_proba

        torch.set_num_threads(1)  # one thread per Spark task slot; Spark provides the parallelism
        model = load_model(store, name, version).model

        def predict(ids: np.ndarray) -> np.ndarray:
            return predict_proba(model, torch.from_numpy(ids.astype(np.int64))).numpy()

        return predict

    scorer = predict_batch_udf(make_predict_fn, return_type=FloatType(), batch_size=batch_size,
                               input_tensor_shapes=[[max_len]])
    return df.withColumn("probability", scorer(F.col(ids_col))).withColumn(
        "prediction", (F.col("probability") >= 0.5).cast("int"))
