"""Pure transforms from cleaned reviews (silver) to model-ready features (gold)."""

from __future__ import annotations

import re
from typing import Mapping

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType

from transforms.reviews import require_columns

TOKEN_PATTERN = r"[a-z0-9']+"
PAD_ID, OOV_ID = 0, 1  # ids every vocabulary reserves; real tokens start at 2


def with_tokens(df: DataFrame, *, text_col: str = "text") -> DataFrame:
    """Lower-cased word tokens, in order. Requires: <text_col>. Adds: tokens (array<string>)."""
    require_columns(df, text_col)
    return df.withColumn("tokens", F.regexp_extract_all(F.lower(F.col(text_col)), F.lit(TOKEN_PATTERN), F.lit(0)))


def vocabulary(tokens_df: DataFrame, *, size: int, min_count: int) -> DataFrame:
    """The `size` most frequent tokens seen at least `min_count` times, ranked by count
    then alphabetically (deterministic), with ids from 2.

    Requires: tokens. Returns: token, id, count.
    """
    require_columns(tokens_df, "tokens")
    counts = (
        tokens_df.select(F.explode("tokens").alias("token"))
        .groupBy("token").count()
        .filter(F.col("count") >= min_count)
    )
    rank = Window.orderBy(F.col("count").desc(), F.col("token").asc())
    return (
        counts.withColumn("id", (F.row_number().over(rank) + OOV_ID).cast("int"))
        .filter(F.col("id") < size + OOV_ID + 1)
        .select("token", "id", "count")
    )


def ids_of(tokens: list[str], vocab: Mapping[str, int], max_len: int) -> list[int]:
    """Token ids (unknown -> OOV_ID), cut or padded with PAD_ID to exactly max_len."""
    ids = [vocab.get(t, OOV_ID) for t in list(tokens)[:max_len]]
    return ids + [PAD_ID] * (max_len - len(ids))


def token_ids(text: str, vocab: Mapping[str, int], max_len: int) -> list[int]:
    """One text to model input without Spark (the review page): the same lower-casing,
    TOKEN_PATTERN and ids as with_tokens + with_token_ids."""
    return ids_of(re.findall(TOKEN_PATTERN, text.lower()), vocab, max_len)


def with_token_ids(
    df: DataFrame, *, vocab: Mapping[str, int], max_len: int, tokens_col: str = "tokens"
) -> DataFrame:
    """Map tokens to vocabulary ids (unknown -> 1), cut or pad with 0 to `max_len`.

    Requires: <tokens_col>. Adds: token_ids (array<int>, exactly max_len long),
    n_tokens (tokens before cutting). A pandas UDF: a dictionary lookup per token has
    no built-in equivalent (Spark map lookups scan the map linearly).
    """
    require_columns(df, tokens_col)
    lookup = dict(vocab)

    @F.pandas_udf(ArrayType(IntegerType()))
    def to_ids(tokens: pd.Series) -> pd.Series:
        return tokens.map(lambda toks: ids_of(toks if toks is not None else [], lookup, max_len))

    return df.withColumn("token_ids", to_ids(F.col(tokens_col))).withColumn(
        "n_tokens", F.coalesce(F.size(tokens_col), F.lit(0)))
