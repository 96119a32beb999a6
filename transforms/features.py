"""Pure transforms from cleaned reviews (silver) to model-ready features (gold)."""

from __future__ import annotations

from typing import Mapping

import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import ArrayType, IntegerType

from transforms.reviews import require_columns

# The tokenizer lives in plain Python (transforms/tokens.py) so the review page can use it
# without Spark; with_tokens applies the same rules and TOKEN_PATTERN here.
from transforms.tokens import (NO_RULES, OOV_ID, PAD_ID, TOKEN_PATTERN, TokenizerRules, ids_of,  # noqa: F401
                               token_ids)  # (re-exported)


def with_tokens(df: DataFrame, *, text_col: str = "text", rules: TokenizerRules = NO_RULES) -> DataFrame:
    """Lower-cased word tokens, in order, after the tokenizer's rules. Requires: <text_col>.
    Adds: tokens (array<string>)."""
    require_columns(df, text_col)
    text = F.lower(F.col(text_col))
    for pattern, _python, java in rules.steps():
        text = F.regexp_replace(text, F.lit(pattern), F.lit(java))
    return df.withColumn("tokens", F.regexp_extract_all(text, F.lit(TOKEN_PATTERN), F.lit(0)))


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
