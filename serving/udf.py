"""Score rows with a stored torch model inside Spark: one Python crossing per row, whole
Arrow batches, the model built once per Python worker (train/scoring.py's Scorer.score
calls it for the torch kinds; the Spark ML kinds score natively).

The driver reads the model's weights once (checksum verified) and broadcasts them with
the model's metadata and, for a text model, its vocabulary: each executor receives them
once, and no executor needs access to the model store or its credentials.

`with_probability` runs `mapInArrow`: Spark hands each Python worker Arrow record batches
and the worker returns them with a `probability` column added. Inside, no row becomes a
Python object:
  * a text model's input is the `words` column (the tokens it reads, cut by Spark's own
    regular expressions: TextEncoder.with_words), turned into ids by a hash lookup over the
    flattened Arrow strings (pyarrow.compute.index_in) and scattered into a padded
    (rows, max_len) matrix: the ids `transforms.tokens.ids_of` gives, with no pandas UDF and
    no second Python crossing before the model;
  * a fixed-width array column (token ids from gold, a tabular feature vector) is flattened
    zero-copy and reshaped.
The model is kept per worker process, keyed by name, version and weights checksum, so
every later query and stream micro-batch finds it built (Python workers are reused across
tasks). Measured against predict_batch_udf (which pays pandas conversions per batch and a
separate tokenising UDF per row) in bench/scoring.py.
"""

from __future__ import annotations

import hashlib
from typing import Any, Iterator

import numpy as np

from train.store import WEIGHTS, StoredModel, read_file

# (name, version, weights sha256) -> (model, input dtype, vocabulary lookup or None); per Python worker
_BUILT: dict[tuple, tuple[Any, Any, Any]] = {}


def broadcast_model(spark, store: str, stored: StoredModel, vocabulary: dict[str, int] | None = None):
    """The stored model's weights, metadata and (text models) vocabulary as one broadcast
    variable (sent once per executor)."""
    weights = read_file(store, stored.name, stored.version, WEIGHTS)
    return spark.sparkContext.broadcast((weights, stored.metadata, vocabulary, hashlib.sha256(weights).hexdigest()))


def _built(model) -> tuple[Any, Any, Any]:
    """This worker's model for the broadcast `model`, built on first use."""
    weights, meta, vocabulary, digest = model.value
    key = (meta["name"], meta["version"], digest)
    if key not in _BUILT:
        import torch
        import pyarrow as pa

        from train.store import model_from_bytes

        torch.set_num_threads(1)  # one thread per Spark task slot; Spark provides the parallelism
        net = model_from_bytes(weights, meta, where=f"broadcast {meta['name']} v{meta['version']}")
        dtype = np.float32 if meta["spec"].get("kind") == "tabular_mlp" else np.int64
        lookup = None
        if vocabulary is not None:
            words = sorted(vocabulary)
            lookup = (pa.array(words, pa.string()), np.asarray([vocabulary[w] for w in words], dtype=np.int64))
        _BUILT.clear()  # one model per worker: a new production version replaces the old one
        _BUILT[key] = (net, dtype, lookup)
    return _BUILT[key]


def word_ids(words, lookup, max_len: int) -> np.ndarray:
    """(rows, max_len) int64 ids of an Arrow list<string> column: each word's vocabulary id
    (unknown: OOV_ID), the first max_len words, padded with PAD_ID (a null list: all PAD_ID);
    the same as ids_of on each row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from transforms.tokens import OOV_ID, PAD_ID

    vocab_words, vocab_ids = lookup
    if isinstance(words, pa.ChunkedArray):
        words = words.combine_chunks()
    n = len(words)
    out = np.full((n, max_len), PAD_ID, dtype=np.int64)
    values = words.flatten()
    if len(values) == 0:
        return out
    index = pc.index_in(values, value_set=vocab_words).fill_null(-1).to_numpy(zero_copy_only=False)
    ids = np.where(index >= 0, vocab_ids[np.maximum(index, 0)], OOV_ID)
    rows = pc.list_parent_indices(words).to_numpy(zero_copy_only=False)
    lengths = pc.list_value_length(words).fill_null(0).to_numpy(zero_copy_only=False)
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    position = np.arange(len(values)) - starts[rows]
    keep = position < max_len
    out[rows[keep], position[keep]] = ids[keep]
    return out


def fixed_width(column, width: int, dtype) -> np.ndarray:
    """(rows, width) of an Arrow list column whose every row holds exactly `width` values."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    lengths = pc.list_value_length(column).fill_null(-1).to_numpy(zero_copy_only=False)
    if len(lengths) and (lengths.min() != width or lengths.max() != width):
        raise ValueError(f"model input rows must hold exactly {width} values; found lengths "
                         f"{sorted(set(lengths.tolist()))[:5]} (-1: null)")
    flat = column.flatten()
    if flat.null_count:  # a null inside a row would become NaN, or a garbage id once cast
        raise ValueError(f"model input rows hold {flat.null_count} null value(s); every value must be set")
    return flat.to_numpy(zero_copy_only=False).reshape(len(column), width).astype(dtype, copy=False)


def with_probability(df, *, model, input_col: str, width: int, batch_size: int, text: bool = False):
    """Adds probability (float, P(positive)); drops `input_col`. Requires: <input_col>: for a
    text model (`text=True`, the broadcast carries its vocabulary) the words it reads
    (array<string>), else a fixed-width array (token ids, or a tabular feature vector)."""
    from pyspark.sql.types import FloatType, StructField, StructType

    schema = StructType([f for f in df.schema.fields if f.name != input_col]
                        + [StructField("probability", FloatType(), True)])

    def score(batches: Iterator) -> Iterator:
        import pyarrow as pa
        import torch

        from train.store import predict_proba

        net, dtype, lookup = _built(model)
        for batch in batches:
            column = batch.column(input_col)
            x = word_ids(column, lookup, width) if text else fixed_width(column, width, dtype)
            probability = np.empty(len(x), dtype=np.float32)
            for start in range(0, len(x), batch_size):
                chunk = torch.from_numpy(np.ascontiguousarray(x[start:start + batch_size]))
                probability[start:start + batch_size] = predict_proba(net, chunk).numpy()
            names = [n for n in batch.schema.names if n != input_col]
            yield pa.RecordBatch.from_arrays([batch.column(n) for n in names]
                                             + [pa.array(probability, type=pa.float32())],
                                             names=[*names, "probability"])

    return df.mapInArrow(score, schema)


def with_predictions(df, *, model, max_len: int, batch_size: int, ids_col: str = "token_ids"):
    """Requires: <ids_col> (array of max_len: int token ids for a text model, floats for a
    tabular one). Adds: probability (P(positive)), prediction (0/1); keeps <ids_col>."""
    from pyspark.sql import functions as F

    scored = with_probability(df.withColumn("_model_input", F.col(ids_col)), model=model, input_col="_model_input",
                              width=max_len, batch_size=batch_size)
    return scored.withColumn("prediction", (F.col("probability") >= 0.5).cast("int"))
