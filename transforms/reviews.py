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
# C0 and C1 control characters except tab, newline and carriage return (and DEL): a review
# holding one is quarantined as control_characters, the name the tabular side uses.
CONTROL_CHARS = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]"
# Characters that show nothing: zero-width space and joiners, word joiner, BOM/ZWNBSP.
# Cleaning removes them (a leading BOM included); whitespace is Unicode whitespace (the
# no-break space too), so a text of only these is empty.
INVISIBLE_CHARS = r"[\x{200B}-\x{200D}\x{2060}\x{FEFF}]"
# Why a file was not read (crosslake/files.py): each is a row check of its own name.
FILE_ISSUES = ("link_outside_source", "symlink", "dangling_link", "link_loop", "special_file", "nested_file",
               "file_too_large", "unreadable")
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
    whitespace (Unicode's, the no-break space included) one space."""
    out = F.regexp_replace(text, r"(?i)<br\s*/?>", " ")
    out = F.regexp_replace(out, r"<[^>]*>", " ")
    for entity, char in HTML_ENTITIES:
        out = F.regexp_replace(out, entity, char)
    return F.trim(F.regexp_replace(out, r"(?U)\s+", " "))


def with_clean_text(df: DataFrame, *, raw_col: str = "raw_text") -> DataFrame:
    """Requires: <raw_col>. Adds: text (invisible and control characters removed, a BOM
    too; HTML stripped; whitespace normalised). A text holding control characters is
    quarantined (review_checks), so what is published never had any."""
    require_columns(df, raw_col)
    visible = F.regexp_replace(F.col(raw_col), f"{INVISIBLE_CHARS}|{CONTROL_CHARS}", "")
    return df.withColumn("text", strip_html(visible))


def review_checks() -> dict[str, Column]:
    """Row checks beside the GX suite, as pass predicates (true: the row is fine): one per
    file issue (a file that was not read, and why), and control_characters on the decoded
    text. Requires: file_issue, raw_text."""
    issue = F.col("file_issue")
    checks = {name: issue.isNull() | (issue != name) for name in FILE_ISSUES}
    checks["control_characters"] = F.col("raw_text").isNull() | ~F.col("raw_text").rlike(CONTROL_CHARS)
    return checks


def with_file_issue_named(df: DataFrame) -> DataFrame:
    """A file that was not read fails file_readable only for want of its content: its issue
    is the reason, so file_readable is dropped from its failed checks; file_too_large names
    the size (file_too_large:<bytes>). Requires: failed_checks, file_issue, length."""
    require_columns(df, "failed_checks", "file_issue", "length")
    named = F.filter("failed_checks", lambda c: ~((c == "file_readable") & F.col("file_issue").isNotNull()))
    sized = F.transform(named, lambda c: F.when(c == "file_too_large", F.concat(
        c, F.lit(":"), F.col("length").cast("string"))).otherwise(c))
    return df.withColumn("failed_checks", sized)


def with_conflict_checks(df: DataFrame) -> DataFrame:
    """Conflicts between rows that passed every other check are quarantined, not resolved:

    * duplicate_review_id: two or more files parse to one review_id (012_7.txt, 12_7.txt)
      with different texts (copies of one text under one id, e.g. a corpus landed from
      its folder and from its archive, are repeats: filter_duplicates keeps one);
    * conflicting_labels: one cleaned text (content_hash) under different labels (pos and
      neg); every copy is quarantined, unlabelled ones included. Copies under one label
      are not a conflict: filter_duplicates keeps one of them.

    Requires: failed_checks, review_id, content_hash, label. Appends to failed_checks.
    """
    require_columns(df, "failed_checks", "review_id", "content_hash", "label")
    ok = F.size("failed_checks") == 0
    ids = F.size(F.collect_set(F.when(ok, F.col("content_hash"))).over(Window.partitionBy("review_id")))
    labels = F.size(F.collect_set(F.when(ok, F.col("label"))).over(Window.partitionBy("content_hash")))
    found = F.filter(F.array(F.when(ids > 1, F.lit("duplicate_review_id")),
                             F.when(labels > 1, F.lit("conflicting_labels"))), lambda c: c.isNotNull())
    return df.withColumn("failed_checks", F.when(ok, found).otherwise(F.col("failed_checks")))


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
