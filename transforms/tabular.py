"""Transforms for tabular datasets declared in conf/ (datasets.<name>).

Every source (CSV, Parquet, a JDBC table) is first brought to one shape, *records*:

    _source       where the row came from: a file path, or jdbc:<database>/<table>
    _source_row   its place there: the CSV line, the Parquet row index, the key values
    _header       column names as the source gave them
    _fields       the values as text, in header order
    _problems     what the reader found wrong with the record (see sources/csv_records.py)
    _raw          the record as it was, kept for the quarantine

and from there the same steps run for all: name the values by the declared columns,
clean the text, parse it into the declared types (a value that does not parse is named,
never turned silently into null), flag row checks, settle duplicate keys, split.
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Mapping

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from crosslake.config import (
    DatasetCleanConfig, DatasetConfig, DatasetSplitConfig, column_type, is_plain_name, plain_name_for, rename_hint,
)
from sources.csv_records import parse_csv
from transforms.reviews import require_columns

RECORD_SCHEMA = ("_source string, _source_row string, _header array<string>, _fields array<string>, "
                 "_problems array<string>, _raw string")
RECORD_PROBLEMS = ("wrong_field_count", "invalid_utf8", "control_characters", "unterminated_quote",
                   "malformed_quoting")


def explode_csv_records(files: DataFrame, *, delimiter: str, quote: str, encoding: str) -> DataFrame:
    """One row per CSV record of each file (header and blank lines are not records).

    Requires: path, content (binaryFile-shaped). Returns: RECORD_SCHEMA columns.
    """
    def parse(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            out = []
            for path, content in zip(batch["path"], batch["content"]):
                parsed = parse_csv(bytes(content or b""), delimiter=delimiter, quote=quote, encoding=encoding)
                for r in parsed.records:
                    out.append((path, str(r.line), parsed.header, r.fields, r.problems, r.raw))
            yield pd.DataFrame(out, columns=["_source", "_source_row", "_header", "_fields", "_problems", "_raw"])

    return files.select("path", "content").mapInPandas(parse, RECORD_SCHEMA)


def header_problems(source: str, header: list[str] | None, ds: DatasetConfig) -> list[str]:
    """What is wrong with a source's columns against the declaration (empty: nothing).
    Pure Python: the ingest and clean jobs call it on each file's (or table's) header.
    A source name that is not plain (`sample.yr`, `my col`, an empty header) is matched
    only through rename:, and the message says which rename to write."""
    if not header:
        return [f"{source} has no header line"]
    renamed = [ds.rename.get(h, h) for h in header]
    declared = set(ds.columns)
    missing = [c for c in ds.columns if c not in renamed]
    extra = [(i, h) for i, (h, r) in enumerate(zip(header, renamed)) if r not in declared]
    repeated = sorted({r for r in renamed if r in declared and renamed.count(r) > 1})
    out = []
    if repeated:
        out.append(f"{source} names column(s) {', '.join(repeated)} more than once")
    if missing:
        out.append(f"{source} lacks declared column(s) {', '.join(missing)}{_missing_hint(missing, extra)}")
    if extra and ds.extra_columns == "error" and not missing:
        out.extend(_extra_problems(source, extra))
    return out


def shown_name(name: str, position: int) -> str:
    """A source column's name for a message: as is when plain, quoted otherwise."""
    if name == "":
        return "the first column's empty header" if position == 0 else f"column {position + 1}'s empty header"
    return name if is_plain_name(name) else json.dumps(name, ensure_ascii=False)


def _missing_hint(missing: list[str], extra: list[tuple[int, str]]) -> str:
    """The rename that would match a missing declared column to a source column that is
    the same name made plain, or the same name in another case."""
    pairs = {h: m for m in missing for i, h in extra if h != m and plain_name_for(h, i).lower() == m.lower()}
    if pairs:
        return (f"; the source has {', '.join(shown_name(h, 0) for h in pairs)}: map "
                f"{'it' if len(pairs) == 1 else 'them'} with {rename_hint(pairs)}")
    if extra:
        return (f"; if renamed upstream, map it under datasets.<name>.rename (undeclared here: "
                f"{', '.join(shown_name(h, i) for i, h in extra)})")
    return ""


def _extra_problems(source: str, extra: list[tuple[int, str]]) -> list[str]:
    out = []
    empty = [i for i, h in extra if h == ""]
    if empty == [0]:
        out.append(f"{source}: the first column has an empty header (R's row names?): map it to a name with "
                   f"{rename_hint({'': 'row_name'})} and declare row_name under columns:, or set "
                   f"extra_columns: ignore to leave it out")
    elif empty:
        out.append(f"{source}: column(s) {', '.join(str(i + 1) for i in empty)} have an empty header: set "
                   f"extra_columns: ignore to leave them out, or name them in the source"
                   + (f" (one can be mapped with {rename_hint({'': plain_name_for('', empty[0])})})"
                      if len(empty) == 1 else ""))
    odd = {h: plain_name_for(h, i) for i, h in extra if h and not is_plain_name(h)}
    if odd:
        out.append(f"{source} has undeclared column(s) {', '.join(shown_name(h, 1) for h in odd)} whose names "
                   f"are not plain: declare them under datasets.<name>.columns as {', '.join(odd.values())} and "
                   f"map them with {rename_hint(odd)}, or set extra_columns: ignore")
    plain = [h for _, h in extra if h and is_plain_name(h)]
    if plain:
        out.append(f"{source} has undeclared column(s) {', '.join(plain)}: declare them under "
                   f"datasets.<name>.columns, or set extra_columns: ignore")
    return out


def records_from_columns(df: DataFrame, *, columns: list[str], source: Column, source_row: Column) -> DataFrame:
    """Records from a typed source (a Parquet file, a table extracted over JDBC): values as
    text so every source is parsed by the same rules. Requires: `columns`."""
    return df.select(
        source.alias("_source"), source_row.cast("string").alias("_source_row"),
        F.array(*[F.lit(c) for c in columns]).alias("_header"),
        F.array(*[F.col(f"`{c}`").cast("string") for c in columns]).alias("_fields"),
        F.array().cast("array<string>").alias("_problems"),
        F.to_json(F.struct(*[F.col(f"`{c}`") for c in columns])).alias("_raw"),
    )


def records_from_json(objects: DataFrame, *, columns: list[str], source: Column) -> DataFrame:
    """Records from JSON objects (a drop-zone line, an incoming row): each declared column's
    value as text (a string as it is, a number or boolean as its JSON text, null or absent
    as null), so a JSON record is read by the same rules as a CSV line. What cannot be a
    record is named in _problems, never guessed: the line's own problem (_line_problem:
    not JSON, not an object, ...), a field the dataset does not declare
    (`unknown_field:<name>`, the first in name order: a misspelt column would otherwise be
    scored as missing), a value that is an object or an array (`not_a_value:<column>`).

    Requires: record (the raw text), line, _v and _line_problem (transforms/scoring.py
    with_json_object). Returns the records shape (RECORD_SCHEMA), _source_row the line,
    and the input's other columns whose names start with "_" (a dataset's columns cannot)."""
    v = F.col("_v")
    paths = {c: "$['" + c.replace("'", "\\'") + "']" for c in columns}
    kinds = {c: F.schema_of_variant(F.variant_get(v, paths[c], "variant")) for c in columns}
    nested = [F.when(kinds[c].startswith("OBJECT") | kinds[c].startswith("ARRAY"), F.lit(f"not_a_value:{c}"))
              for c in columns]
    fields = F.map_keys(F.from_json(F.to_json(v), "map<string,string>"))
    unknown = F.array_sort(F.array_except(fields, F.array(*[F.lit(c) for c in columns])))
    problems = F.when(F.col("_line_problem").isNotNull(), F.array("_line_problem")).otherwise(F.array_compact(F.array(
        F.when(F.size(unknown) > 0, F.concat(F.lit("unknown_field:"), F.element_at(unknown, 1))), *nested)))
    return objects.select(
        source.alias("_source"), F.col("line").cast("string").alias("_source_row"),
        F.array(*[F.lit(c) for c in columns]).alias("_header"),
        F.array(*[F.when(F.col("_line_problem").isNull(), F.try_variant_get(v, paths[c], "string"))
                  for c in columns]).alias("_fields"),
        problems.alias("_problems"), F.col("record").alias("_raw"),
        *[c for c in objects.columns if c.startswith("_") and c not in ("_v", "_line_problem")])


def feedback_training_rows(feedback: DataFrame, silver: DataFrame, *, keys: list[str], label: str, label_type: str,
                           source: str) -> DataFrame:
    """Labelled feedback from the scoring side as silver training rows: the record's values
    as the stream read them, the label (0/1) in the declared label type, split train,
    _source naming the feedback table version and _source_row the key (as JSON).

    Rows with no label yet (sent for review) are left out, as are keys silver already holds
    (a labelled copy of a test row must not leak into training, nor override the source).
    Requires (feedback): keys, label, silver's declared columns; (silver): its columns."""
    columns = [f.name for f in silver.schema.fields if f.name not in ("_source", "_source_row", "split", label)]
    require_columns(feedback, *keys, "label", *columns)
    value = (F.col("label") == 1) if label_type == "boolean" else F.col("label").cast(label_type)
    rows = (feedback.filter(F.col("label").isNotNull()).join(silver.select(*keys), keys, "left_anti")
            .select(*columns, value.alias(label), F.lit(source).alias("_source"),
                    F.to_json(F.struct(*keys)).alias("_source_row"), F.lit("train").alias("split")))
    return rows.select(*[F.col(f"`{f.name}`").cast(f.dataType) for f in silver.schema.fields])


def with_named_values(records: DataFrame, *, columns: list[str], rename: Mapping[str, str]) -> DataFrame:
    """Adds `_text`: a struct of the declared columns' raw text, found by header name
    (after `rename`), so files with their columns in another order read the same.

    Requires: _header, _fields. Adds: _text.
    """
    header = F.col("_header")
    if rename:
        mapping = F.create_map(*[F.lit(x) for pair in rename.items() for x in pair])
        header = F.transform(header, lambda h: F.coalesce(mapping[h], h))
    values = []
    for c in columns:
        pos = F.array_position(header, c)
        values.append(F.when(pos > 0, F.try_element_at("_fields", pos.cast("int"))).alias(c))
    return records.withColumn("_text", F.struct(*values))


def with_clean_text(df: DataFrame, *, columns: list[str], rules: DatasetCleanConfig) -> DataFrame:
    """Trim, map null markers ("", "NA", ...) to null, lower-case where configured.

    Requires: _text. Replaces: _text.
    """
    cleaned = []
    for c in columns:
        v = F.col(f"_text.`{c}`")
        if rules.trim:
            v = F.trim(v)
        if rules.null_values:
            v = F.when(~v.isin(*rules.null_values), v)
        if c in rules.lowercase:
            v = F.lower(v)
        cleaned.append(v.alias(c))
    return df.withColumn("_text", F.struct(*cleaned))


INTEGER_TYPES = ("int", "bigint")


def parse_value(text: Column, spec: Any) -> Column:
    """`text` parsed as the declared type; null where it does not parse."""
    kind, fmt = column_type(spec)
    if kind == "string":
        return text
    if kind in ("date", "timestamp"):
        # try_cast is lenient ("2024" is a date); a declared or ISO pattern is not.
        pattern = fmt or ("yyyy-MM-dd" if kind == "date" else None)
        if pattern is None:
            return text.try_cast("timestamp")
        parsed = F.try_to_timestamp(text, F.lit(pattern))
        return F.to_date(parsed) if kind == "date" else parsed
    if kind in INTEGER_TYPES:
        # 36.0 is the integer 36 (pandas writes integer columns with gaps that way); 36.5 is not.
        whole = F.regexp_extract(text, r"^([+-]?[0-9]+)\.0*$", 1)
        return F.coalesce(text.try_cast(kind), F.when(whole != "", whole).try_cast(kind))
    return text.try_cast(kind)


def with_typed_columns(df: DataFrame, *, columns: Mapping[str, Any]) -> DataFrame:
    """Adds each declared column, typed, at the top level.

    Requires: _text. Adds: one column per declared column.
    """
    return df.select("*", *[parse_value(F.col(f"_text.`{c}`"), spec).alias(c) for c, spec in columns.items()])


def reader_checks() -> dict[str, Column]:
    """One pass predicate per problem the reader can find in a record. Requires: _problems."""
    return {p: ~F.array_contains("_problems", p) for p in RECORD_PROBLEMS}


def value_checks(*, columns: Mapping[str, Any], keys: list[str], max_field_chars: int) -> dict[str, Column]:
    """Pass predicates every dataset gets before its own suite: each value parsed, finite
    and not oversized, and a business key present. Requires: _text, the typed columns."""
    checks: dict[str, Column] = {}
    for c, spec in columns.items():
        text, value = F.col(f"_text.`{c}`"), F.col(f"`{c}`")
        checks[f"too_long:{c}"] = F.coalesce(F.length(text) <= max_field_chars, F.lit(True))
        checks[f"unparseable:{c}"] = text.isNull() | value.isNotNull()
        if column_type(spec)[0] in ("double", "float"):
            checks[f"non_finite:{c}"] = value.isNull() | ~(F.isnan(value) | value.isin(float("inf"), float("-inf")))
    checks["key_missing"] = F.lit(True)
    for k in keys:
        checks["key_missing"] = checks["key_missing"] & F.col(f"`{k}`").isNotNull()
    return checks


def guard_checks(checks: Mapping[str, Column], *, record_checks: Mapping[str, Column],
                 columns_of: Mapping[str, list[str]]) -> dict[str, Column]:
    """Report the first cause only: value checks pass on a record the reader already found
    broken (its values are not what the source meant), and a check on a column passes
    where that column's value did not parse (the row is quarantined as unparseable, not
    also as, say, "label missing").

    Requires: _problems, _text, the typed columns."""
    broken = F.size("_problems") > 0
    out = dict(record_checks)
    for name, passes in checks.items():
        unparsed = [F.col(f"_text.`{c}`").isNotNull() & F.col(f"`{c}`").isNull() for c in columns_of.get(name, [])]
        for u in unparsed:
            passes = passes | u
        out[name] = passes | broken
    return out


def with_duplicate_status(df: DataFrame, *, keys: list[str], columns: list[str]) -> DataFrame:
    """Adds _key_variants (how many different rows share this key) and _copy (1 for the
    first copy of an identical row, by source order). One variant, copy 1: publish;
    one variant, copy > 1: an exact repeat, dropped and counted; several variants: the
    rows disagree and none can be trusted over the others: quarantine them all.

    Requires: keys, columns, _source, _source_row. Adds: _key_variants, _copy.
    """
    content = F.xxhash64(*[F.col(f"`{c}`") for c in columns])
    by_key = Window.partitionBy(*[F.col(f"`{k}`") for k in keys])
    first = by_key.orderBy(content, "_source", F.length("_source_row"), "_source_row")
    return (df.withColumn("_content", content)
            .withColumn("_key_variants", F.size(F.collect_set("_content").over(by_key)))
            .withColumn("_copy", F.row_number().over(first))
            .drop("_content"))


def with_split(df: DataFrame, *, keys: list[str], split: DatasetSplitConfig) -> DataFrame:
    """Adds split (train | validation | test) from a hash of the key: the same row lands
    in the same split on every run and every machine. Requires: keys. Adds: split."""
    bucket = F.abs(F.xxhash64(F.lit(split.seed), *[F.col(f"`{k}`") for k in keys])) % 10000 / 10000.0
    return df.withColumn(
        "split",
        F.when(bucket < split.validation_fraction, "validation")
        .when(bucket < split.validation_fraction + split.test_fraction, "test")
        .otherwise("train"))


ENCODING_SCHEMA = ("feature string, category string, kind string, position int, mean double, std double, "
                   "silver_version bigint")


def with_feature_vector(df: DataFrame, *, encoding: list[Any], label: str) -> DataFrame:
    """Adds features (array<float>, one slot per encoding row, in position order) and
    label (int for boolean/integer labels, double otherwise).

    Numeric slots: (value - mean) / std, a missing value gets the mean (0 after scaling);
    a numeric column's `missing` slot (where training saw missing values) is 1.0 where the
    value is missing. Categorical slots: 1.0 for the row's value, else 0.0; values unseen in
    training, and missing ones, light the column's `other` slot.
    Requires: the encoded columns, `label`. Adds: features, label.
    """
    slots: list[Column] = []
    known: dict[str, list[str]] = {}
    for e in sorted(encoding, key=lambda e: e.position):
        if e.kind == "categorical":
            known.setdefault(e.feature, []).append(e.category)
    for e in sorted(encoding, key=lambda e: e.position):
        c = F.col(f"`{e.feature}`")
        if e.kind == "numeric":
            slot = (F.coalesce(c.cast("double"), F.lit(e.mean)) - F.lit(e.mean)) / F.lit(e.std or 1.0)
        elif e.kind == "missing":
            slot = F.when(c.isNull(), 1.0).otherwise(0.0)
        elif e.kind == "categorical":
            slot = F.when(c == e.category, 1.0).otherwise(0.0)
        else:  # other
            slot = F.when(c.isNull() | ~c.isin(*known.get(e.feature, [])), 1.0).otherwise(0.0)
        slots.append(slot.cast("float"))
    label_type = dict(df.dtypes)[label]
    label_col = F.col(f"`{label}`").cast("int" if label_type in ("boolean", "int", "bigint", "smallint", "tinyint")
                                          else "double")
    return df.withColumn("features", F.array(*slots)).withColumn("label", label_col)
