"""Pure transforms from raw review files (bronze) to cleaned reviews (silver).

Each function takes a DataFrame and returns one; none reads, writes or triggers an
action. Chain them with ``df.transform(fn, **kwargs)``.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

# <split>/<polarity>/<file name> at the end of a source path (aclImdb layout).
PATH_PATTERN = r"(train|test)/(pos|neg|unsup)/([^/]+)$"
FILE_NAME_PATTERN = r"^([0-9]+)_([0-9]+)\.txt$"
HTML_ENTITIES = (("&quot;", '"'), ("&#39;", "'"), ("&apos;", "'"), ("&lt;", "<"), ("&gt;", ">"),
                 ("&nbsp;", " "), ("&amp;", "&"))  # &amp; last, so "&amp;lt;" stays "&lt;"


def require_columns(df: DataFrame, *columns: str) -> None:
    """Fail fast, naming the missing column, instead of deep inside a Spark plan."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"missing column(s) {', '.join(missing)}; have {', '.join(df.columns)}")


def with_source_fields(df: DataFrame, *, path_col: str = "source_path") -> DataFrame:
    """Parse where a review came from out of its file path.

    Requires: <path_col>. Adds: split_dir, polarity_dir, file_name, source_id, rating,
    review_id ("train/pos/123"). source_id, rating and review_id are null when the file
    name does not match ``<id>_<rating>.txt``.
    """
    require_columns(df, path_col)
    part = lambda i: F.regexp_extract(F.col(path_col), PATH_PATTERN, i)  # noqa: E731
    name = F.col("file_name")
    name_ok = name.rlike(FILE_NAME_PATTERN)
    return (
        df.withColumn("split_dir", part(1))
        .withColumn("polarity_dir", part(2))
        .withColumn("file_name", part(3))
        # try_cast: an id too large for a long becomes null (-> quarantine), not a crash.
        .withColumn("source_id", F.when(name_ok, F.regexp_extract(name, FILE_NAME_PATTERN, 1).try_cast("long")))
        .withColumn("rating", F.when(name_ok, F.regexp_extract(name, FILE_NAME_PATTERN, 2).try_cast("int")))
        .withColumn(
            "review_id",
            F.when(F.col("source_id").isNotNull(), F.concat_ws("/", "split_dir", "polarity_dir", "source_id")),
        )
    )


def with_decoded_text(df: DataFrame, *, content_col: str = "content") -> DataFrame:
    """Decode file bytes as UTF-8 without failing on bad bytes.

    Requires: <content_col> (binary). Adds: utf8_valid (boolean), raw_text (string,
    invalid sequences replaced by U+FFFD so the row can still be inspected).
    """
    require_columns(df, content_col)
    as_string = F.col(content_col).cast("string")
    return df.withColumn("utf8_valid", F.is_valid_utf8(as_string)).withColumn(
        "raw_text", F.make_valid_utf8(as_string)
    )


def strip_html(text: Column) -> Column:
    """Line breaks and tags become spaces, common entities their characters, runs of
    whitespace one space."""
    out = F.regexp_replace(text, r"(?i)<br\s*/?>", " ")
    out = F.regexp_replace(out, r"<[^>]*>", " ")
    for entity, char in HTML_ENTITIES:
        out = F.regexp_replace(out, entity, char)
    return F.trim(F.regexp_replace(out, r"\s+", " "))


def with_clean_text(df: DataFrame, *, raw_col: str = "raw_text") -> DataFrame:
    """Requires: <raw_col>. Adds: text (HTML stripped, whitespace normalised)."""
    require_columns(df, raw_col)
    return df.withColumn("text", strip_html(F.col(raw_col)))


def with_label(df: DataFrame, *, polarity_col: str = "polarity_dir") -> DataFrame:
    """Requires: <polarity_col>. Adds: label (1 pos, 0 neg, null for unlabelled)."""
    require_columns(df, polarity_col)
    pol = F.col(polarity_col)
    return df.withColumn("label", F.when(pol == "pos", 1).when(pol == "neg", 0).cast("int"))


def with_content_hash(df: DataFrame, *, text_col: str = "text") -> DataFrame:
    """Requires: <text_col>. Adds: content_hash (SHA-256 of the cleaned text)."""
    require_columns(df, text_col)
    return df.withColumn("content_hash", F.sha2(F.col(text_col), 256))


def with_split(df: DataFrame, *, validation_fraction: float, seed: int) -> DataFrame:
    """Deterministic split: the test folder is `test`, unsup is `unsup`, and the train
    folder is cut into `train`/`validation` by a seeded hash of review_id (stable across
    runs, machines and partitionings).

    Requires: split_dir, polarity_dir, review_id. Adds: split.
    """
    require_columns(df, "split_dir", "polarity_dir", "review_id")
    bucket = F.pmod(F.xxhash64(F.lit(seed), F.col("review_id")), F.lit(10_000))
    return df.withColumn(
        "split",
        F.when(F.col("split_dir") == "test", "test")
        .when(F.col("polarity_dir") == "unsup", "unsup")
        .when(bucket < int(validation_fraction * 10_000), "validation")
        .otherwise("train"),
    )


def filter_duplicates(df: DataFrame, *, key_col: str = "content_hash", order_col: str = "review_id") -> DataFrame:
    """Keep one row per `key_col`: the one with the smallest `order_col`.

    With review ids like "test/pos/1" and "train/pos/9", a review repeated across
    folders keeps its test copy, so no test review leaks into training.
    """
    require_columns(df, key_col, order_col)
    first = Window.partitionBy(key_col).orderBy(F.col(order_col).asc_nulls_last())
    return df.withColumn("_dup_rank", F.row_number().over(first)).filter("_dup_rank = 1").drop("_dup_rank")


SILVER_COLUMNS = ("review_id", "split", "label", "rating", "text", "content_hash", "source_path", "ingest_run_id")


def select_silver(df: DataFrame) -> DataFrame:
    """The published silver schema, in order. Requires: SILVER_COLUMNS (ingest_run_id from run_id)."""
    require_columns(df, *(c for c in SILVER_COLUMNS if c != "ingest_run_id"), "run_id")
    return df.withColumnRenamed("run_id", "ingest_run_id").select(*SILVER_COLUMNS)


def feedback_training_rows(feedback: DataFrame, corpus: DataFrame, *, feedback_version: int) -> DataFrame:
    """Labelled feedback from the scoring side as silver training rows.

    Requires (feedback): review_id, text, label; (corpus): the silver columns. Rows with no
    label yet (sent for review) are left out, as are texts the corpus already holds (a
    labelled copy of a test review must not leak into training). Ids are prefixed with
    `feedback/`; source_path names the feedback table version they came from.
    """
    require_columns(feedback, "review_id", "text", "label")
    rows = (feedback.filter(F.col("label").isNotNull() & F.col("text").isNotNull())
            .transform(with_content_hash)
            .join(corpus.select("content_hash"), "content_hash", "left_anti")
            .transform(filter_duplicates)
            .select(F.concat(F.lit("feedback/"), "review_id").alias("review_id"), F.lit("train").alias("split"),
                    "label", F.lit(None).alias("rating"), "text", "content_hash",
                    F.lit(f"feedback:v{feedback_version}").alias("source_path"),
                    F.lit(None).alias("ingest_run_id")))
    return rows.select(*[F.col(f.name).cast(f.dataType) for f in corpus.schema.fields])
