"""Pure transforms for the stream scorer (jobs/stream.py): a drop-zone file cut into its
lines, each line parsed with its JSON types checked, the outcome of every arriving row
(scored, repeated, resent or a named reject) and the reject rows that record it.

Reasons a row is rejected (stream_rejects.reason):
  invalid_utf8, blank_line, not_valid_json, duplicate_key_in_json, not_a_json_object:<type>,
  no_review_id, review_id_not_a_string:<type>, no_text, text_not_a_string:<type>
  (<type> is the JSON type that arrived: number, boolean, array, object); and the conflicts
  conflicting_texts_in_batch (every row of an id that came with two texts in one batch) and
  id_already_scored_with_other_text (an id scored earlier, sent again with another text).
A review_id must be a JSON string: a number is refused, not read as its decimal text,
because 123, 123.0 and "123" would then be one id or three depending on the sender, and
many senders lose digits of numbers beyond 2**53.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from transforms.reviews import require_columns

# outcomes that are not rejects: one row scored per id; exact repeats in the batch; ids scored before
SCORED, REPEATED, RESENT = "scored", "repeated", "resent"
NOT_REJECTED = (SCORED, REPEATED, RESENT)


def explode_lines(files: DataFrame) -> DataFrame:
    """One row per line of each whole-file row. Requires: value (the file's text, bytes as
    they arrived), file. Adds: line (1-based), record (the line without its terminator;
    invalid UTF-8 bytes become U+FFFD), valid_utf8 (whether the line's bytes were valid
    UTF-8); drops value. The terminator after the last line does not make an extra line."""
    require_columns(files, "value", "file")
    parts = F.split(F.col("value"), "\n")
    # split decodes the bytes (invalid ones become U+FFFD), so validity is judged on the whole
    # file first: in a file that is not valid UTF-8, the lines holding U+FFFD are the invalid ones
    exploded = files.select("*", F.is_valid_utf8("value").alias("_file_ok"),
                            F.posexplode(parts).alias("_pos", "_part"), F.size(parts).alias("_n"))
    return (exploded.filter(~((F.col("_pos") == F.col("_n") - 1) & (F.col("_part") == "")))
            .withColumn("line", (F.col("_pos") + 1).cast("long"))
            .withColumn("valid_utf8", F.col("_file_ok") | ~F.col("_part").contains("\ufffd"))
            .withColumn("record", F.regexp_replace("_part", "\r$", ""))
            .drop("value", "_pos", "_part", "_n", "_file_ok"))


def json_type(value: Column) -> Column:
    """The JSON type of a variant value: string, number, boolean, array, object, null; null
    when the field is absent."""
    t = F.schema_of_variant(value)
    return (F.when(t.isNull(), F.lit(None)).when(t == "VOID", "null").when(t == "STRING", "string")
            .when(t == "BOOLEAN", "boolean").when(t.startswith("OBJECT"), "object")
            .when(t.startswith("ARRAY"), "array").otherwise("number"))


def with_json_object(lines: DataFrame) -> DataFrame:
    """Parse each line as one JSON object, nothing coerced: what every workload's drop zone
    takes. Requires: record (the raw line), line, valid_utf8 (explode_lines). Adds: _v (the
    object as a variant, null when the line is not one) and _line_problem (invalid_utf8,
    blank_line, duplicate_key_in_json, not_valid_json, not_a_json_object:<type>; null when
    the line is an object). The workload reads its fields from _v."""
    require_columns(lines, "record", "line", "valid_utf8")
    # a byte-order mark (what Windows editors write) is not part of the first record
    body = F.when(F.col("line") == 1, F.regexp_replace("record", "^\ufeff", "")).otherwise(F.col("record"))
    parsed = (lines.withColumn("_body", body).withColumn("_v", F.try_parse_json("_body"))
              .withColumn("_top_t", json_type(F.col("_v"))))
    b, v, top_t = F.col("_body"), F.col("_v"), F.col("_top_t")
    problem = (
        F.when(~F.col("valid_utf8"), F.lit("invalid_utf8"))
        .when(F.trim(b) == "", F.lit("blank_line"))
        # try_parse_json refuses duplicate keys (which one would be the record?) and accepts
        # trailing text after a value: the first is named, the second refused below
        .when(v.isNull() & F.from_json(b, "map<string,string>").isNotNull(), F.lit("duplicate_key_in_json"))
        .when(v.isNull(), F.lit("not_valid_json"))
        .when(top_t != "object", F.concat(F.lit("not_a_json_object:"), top_t))
        .when(~F.rtrim(b).endswith("}"), F.lit("not_valid_json")))
    ok = problem.isNull()
    return (parsed.withColumn("_line_problem", problem).withColumn("_v", F.when(ok, F.col("_v")))
            .drop("_body", "_top_t"))


def with_parsed_record(lines: DataFrame) -> DataFrame:
    """Parse each line as a JSON object with a string review_id and a string text; nothing
    is coerced. Requires: record (the raw line), line, valid_utf8 (explode_lines). Adds: review_id, text, _problem (the
    reject reason, or null when the row can be scored)."""
    # in steps, so that each value is computed once (one long expression nests deep enough
    # to overflow the JVM stack in the planner)
    parsed = (lines.transform(with_json_object)
              .withColumn("_rid", F.variant_get("_v", "$.review_id", "variant"))
              .withColumn("_txt", F.variant_get("_v", "$.text", "variant"))
              .withColumn("_rid_t", json_type(F.col("_rid")))
              .withColumn("_txt_t", json_type(F.col("_txt")))
              .withColumn("_rid_s", F.try_variant_get("_rid", "$", "string"))
              .withColumn("_txt_s", F.try_variant_get("_txt", "$", "string")))
    rid_t, txt_t = F.col("_rid_t"), F.col("_txt_t")
    problem = (
        F.when(F.col("_line_problem").isNotNull(), F.col("_line_problem"))
        .when(rid_t.isNull() | (rid_t == "null"), F.lit("no_review_id"))
        .when(rid_t != "string", F.concat(F.lit("review_id_not_a_string:"), rid_t))
        .when(F.trim("_rid_s") == "", F.lit("no_review_id"))
        .when(txt_t.isNull() | (txt_t == "null"), F.lit("no_text"))
        .when(txt_t != "string", F.concat(F.lit("text_not_a_string:"), txt_t))
        .when(F.trim("_txt_s") == "", F.lit("no_text")))
    ok = F.col("_problem").isNull()
    return (parsed.withColumn("_problem", problem)
            .withColumn("review_id", F.when(ok, F.col("_rid_s"))).withColumn("text", F.when(ok, F.col("_txt_s")))
            .drop("_v", "_line_problem", "_rid", "_txt", "_rid_t", "_txt_t", "_rid_s", "_txt_s"))


def scoring_problem() -> Column:
    """Why a row of the incoming table cannot be scored, or null when it can (its columns
    are typed by the table). Needs: review_id, text."""
    return (F.when(F.col("review_id").isNull() | (F.trim("review_id") == ""), F.lit("no_review_id"))
            .when(F.col("text").isNull() | (F.trim("text") == ""), F.lit("no_text")))


# The conflict reasons of the review stream (an id and its text); a workload names its own.
REVIEW_CONFLICTS = ("conflicting_texts_in_batch", "id_already_scored_with_other_text")


def with_outcome(batch: DataFrame, known: DataFrame, *, keys: tuple[str, ...] = ("review_id",),
                 payload: str = "text", conflicts: tuple[str, str] = REVIEW_CONFLICTS) -> DataFrame:
    """What happens to each row: `scored` (the first row of a key new to the stream),
    `repeated` (an exact repeat in this batch), `resent` (a key scored before, same payload),
    or a reject reason: the row's _problem, conflicts[0] for every row of a key that came
    with two payloads in this batch, conflicts[1] for a key scored before with another.

    `payload` is what the key was scored with (a review's text; a record's values as JSON).
    Requires: keys, payload, _problem, _file, _line, _received_at; `known`: keys, known_payload
    (keys scored before this batch; known_payload null when what they were scored with was
    not kept). Adds: outcome."""
    keys = list(keys)
    require_columns(batch, *keys, payload, "_problem", "_file", "_line", "_received_at")
    require_columns(known, *keys, "known_payload")
    by_key = Window.partitionBy(*keys)
    good = F.col("_problem").isNull()
    # Ranked among the key's good rows only: a rejected row ahead of a good one must not make it a repeat.
    first = Window.partitionBy(*keys, good).orderBy("_file", "_line", "_received_at")
    seen = F.col("_known").isNotNull()
    payloads = F.size(F.collect_set(F.when(good, F.col(payload))).over(by_key))
    rank = F.row_number().over(first)
    marked = known.select(*keys, "known_payload", F.lit(True).alias("_known"))
    in_batch, already = conflicts
    outcome = (F.when(~good, F.col("_problem"))
               .when(payloads > 1, F.lit(in_batch))
               .when(seen & (F.col("known_payload").isNull() | (F.col("known_payload") == F.col(payload))),
                     F.lit(RESENT))
               .when(seen, F.lit(already))
               .when(rank > 1, F.lit(REPEATED))
               .otherwise(F.lit(SCORED)))
    # a row without a key (a reject already) matches no known key: null never equals
    return (batch.join(marked, keys, "left").withColumn("outcome", outcome)
            .drop("_known", "known_payload"))


def rejected_rows(batch: DataFrame, *, source: str, batch_id: int) -> DataFrame:
    """Rows whose outcome is a reject, as stream_rejects rows: the reason, the record exactly
    as it arrived (invalid UTF-8 bytes shown as U+FFFD), and where: the file and line for a
    drop zone. Never de-duplicated: two identical bad lines are two rejects.
    Requires: outcome, _record, _file, _line, _received_at."""
    require_columns(batch, "outcome", "_record", "_file", "_line", "_received_at")
    record = F.col("_record")
    return batch.filter(~F.col("outcome").isin(*NOT_REJECTED)).select(
        F.lit(source).alias("stream"), F.sha2(record, 256).alias("record_hash"), F.col("outcome").alias("reason"),
        record.alias("record"), F.col("_file").alias("file"), F.col("_line").alias("line"),
        F.col("_received_at").alias("received_at"), F.lit(batch_id).cast("long").alias("batch_id"),
        F.current_timestamp().alias("rejected_at"))
