"""Column-name rules: which names a declared column may have, and the rename that fixes one.

Declared column names are plain: a letter (any script), then letters, digits or '_'.
Spark reads `a.b` as a field of a struct, Delta refuses " ,;{}()=" and tabs or newlines
in names, and SQL text needs quotes around `1st` or `a-b`; a source column with any
other name (an empty header included) is mapped to a plain one under rename:. The same
rules serve dataset declarations (``check_column_names``), CSV headers and database
columns (transforms/tabular.py, jobs/extract.py), so each suggests the same fix.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from crosslake.errors import ConfigError

if TYPE_CHECKING:
    from crosslake.datasets import DatasetConfig

PLAIN_NAME = re.compile(r"^[^\W\d_]\w*$")
# Columns the jobs add beside the declared ones: silver's split, clean's failed_checks;
# gold carries the keys beside label, features and the versions it was made from.
RESERVED_COLUMNS = ("split", "failed_checks")
RESERVED_KEYS = ("split", "label", "features", "silver_version", "encoding_version")


def is_plain_name(name: str) -> bool:
    return bool(PLAIN_NAME.match(name))


def plain_name_for(source: str, position: int | None = None) -> str:
    """A plain name to suggest for a source column: `sample.yr` -> sample_yr, `1st` ->
    col_1st, an empty header -> row_name (first column) or col_<n>."""
    name = re.sub(r"\W+", "_", source).strip("_")
    if not name:
        return "row_name" if position == 0 else f"col_{(position or 0) + 1}" if position is not None else "col"
    return f"col_{name}" if not name[0].isalpha() else name


def rename_hint(pairs: dict[str, str]) -> str:
    """`rename: {"sample.yr": sample_yr}`, ready to paste into the dataset's declaration."""
    return "rename: {" + ", ".join(f"{json.dumps(s, ensure_ascii=False)}: {d}" for s, d in pairs.items()) + "}"


def check_column_names(name: str, ds: DatasetConfig) -> None:
    """Declared names that Spark, Delta or the jobs' own columns would trip on, refused
    with the rename that fixes them."""
    where = f"datasets.{name}"
    for col in ds.columns:
        if not is_plain_name(col):
            plain = plain_name_for(col)
            raise ConfigError(f"{where}.columns: {json.dumps(col, ensure_ascii=False)} is not a plain name "
                              f"(letters, digits and _, starting with a letter): declare it as {plain} and map the "
                              f"source column to it: {rename_hint({col: plain})}")
        if col.lower() in RESERVED_COLUMNS:
            raise ConfigError(f"{where}.columns.{col}: the name is taken by the {col.lower()} column the jobs add; "
                              f"declare it as source_{col} and map it: {rename_hint({col: f'source_{col}'})}")
    folded: dict[str, str] = {}
    for col in ds.columns:
        if col.lower() in folded:
            raise ConfigError(f"{where}.columns: {folded[col.lower()]} and {col} differ only in case, which Spark "
                              f"does not tell apart: declare one under another name and map it under rename:")
        folded[col.lower()] = col
    taken = [k for k in ds.keys if k.lower() in RESERVED_KEYS]
    if taken:
        raise ConfigError(f"{where}.keys: {', '.join(taken)} is also a column of gold ({', '.join(RESERVED_KEYS)}): "
                          f"declare the key under another name and map it under rename:")
