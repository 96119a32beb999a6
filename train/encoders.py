"""What turns a row into model input, fitted at training time and stored with the model.

    <store>/<name>/v<N>/encoder.json    {"kind": "text" | "tabular", ...}: plain JSON, no pickle

Two ways to apply the same rules, so that every scorer agrees with training:
  * encode_records(records) -> numpy array, Spark-free (the review page, one request at a
    time): raw review texts (or {"text": ...} records), or tabular records (a dict or a JSON
    object, from the drop zone or a web form), values as text or as JSON types;
  * with_model_input(df) -> df + model_input, in Spark (batch and stream scoring,
    promotion's evaluation), built from the same transforms training used
    (transforms/features.py for text, transforms/tabular.py's with_feature_vector).

Tokenisation is transforms/tokens.py's, in both (the Spark path applies its rules and TOKEN_PATTERN).
Versions stored before encoder.json existed are read from their vocabulary.json (text) or
encoding.json (tabular): `from_legacy`.

This module imports no Spark at the top: the review page imports it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from crosslake.errors import CrosslakeError
from transforms.tokens import NO_RULES, OOV_ID, PAD_ID, TOKEN_PATTERN, TokenizerRules, ids_of, tokenize

if TYPE_CHECKING:
    import numpy as np
    from pyspark.sql import DataFrame

ENCODER = "encoder.json"
FORMAT = 1


@dataclass
class TextEncoder:
    """Review text -> token ids (the CNN's input) or the words the bag-of-words baseline reads."""

    vocabulary: dict[str, int]
    max_len: int
    text_col: str = "text"
    kind: str = "text"
    rules: TokenizerRules = NO_RULES   # features.tokenizer when the vocabulary was fitted

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "kind": self.kind, "text_col": self.text_col, "max_len": self.max_len,
                           "tokenizer": {"lowercase": True, "pattern": TOKEN_PATTERN, "pad_id": PAD_ID,
                                         "oov_id": OOV_ID, "rules": self.rules.to_dict()},
                           "vocabulary": self.vocabulary})

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TextEncoder":
        tok = data.get("tokenizer", {})
        if tok.get("pattern", TOKEN_PATTERN) != TOKEN_PATTERN:  # one tokeniser: refuse a model fitted with another
            raise CrosslakeError(f"the model was trained with token pattern {tok['pattern']!r}, this code tokenises "
                                 f"with {TOKEN_PATTERN!r}: re-train it")
        try:  # an encoder stored before the rules existed tokenised with none of them
            rules = TokenizerRules.from_dict(tok.get("rules"))
        except ValueError as err:
            raise CrosslakeError(f"the model was trained with {err}: score it with the crosslake version that "
                                 f"trained it, or re-train it") from None
        return cls({str(k): int(v) for k, v in data["vocabulary"].items()}, int(data["max_len"]),
                   data.get("text_col", "text"), rules=rules)

    # -- Spark-free -------------------------------------------------------------------------
    def text_of(self, record: Any) -> str:
        if isinstance(record, str):
            return record
        if isinstance(record, Mapping) and isinstance(record.get(self.text_col), str):
            return record[self.text_col]
        raise CrosslakeError(f"a text model's record is a text or an object with a string field '{self.text_col}'")

    def words(self, record: Any) -> list[str]:
        """The tokens the model reads: the first max_len."""
        return tokenize(self.text_of(record), self.rules)[:self.max_len]

    def encode_records(self, records: Iterable[Any]) -> np.ndarray:
        """(n, max_len) int64 token ids, as with_model_input computes them."""
        import numpy as np

        rows = [ids_of(self.words(r), self.vocabulary, self.max_len) for r in records]
        return np.asarray(rows, dtype=np.int64).reshape(len(rows), self.max_len)

    def known_words(self, record: Any) -> tuple[int, int]:
        """(tokens read that are in the vocabulary, tokens read)."""
        read = self.words(record)
        return sum(1 for t in read if t in self.vocabulary), len(read)

    # -- Spark ------------------------------------------------------------------------------
    def with_words(self, df: "DataFrame") -> "DataFrame":
        """Adds words (array<string>: the tokens the model reads, the first max_len): native
        Spark, no Python UDF (what the TF-IDF baseline scores from). Requires: <text_col>."""
        from pyspark.sql import functions as F

        from transforms.features import with_tokens

        return (df.transform(with_tokens, text_col=self.text_col, rules=self.rules)
                .withColumn("words", F.slice(F.coalesce("tokens", F.array().cast("array<string>")), 1, self.max_len))
                .drop("tokens"))

    def with_model_input(self, df: "DataFrame") -> "DataFrame":
        """Adds model_input (array<int> of max_len token ids). Requires: <text_col>."""
        from transforms.features import with_token_ids, with_tokens

        return (df.transform(with_tokens, text_col=self.text_col, rules=self.rules)
                .transform(with_token_ids, vocab=self.vocabulary, max_len=self.max_len)
                .withColumnRenamed("token_ids", "model_input").drop("tokens", "n_tokens"))

    def width(self) -> int:
        return self.max_len


@dataclass
class TabularEncoder:
    """A dataset's record -> the fixed-length float vector its gold rows carry.

    slots: the encoding rows (feature, category, kind, position, mean, std) as
    jobs/tabular/features.py learnt them from the train split; columns: the declared
    column types (to read a record's values); clean: the trim / null_values / lowercase
    rules clean applied to silver, applied to a raw record the same way."""

    dataset: str
    label: str | None
    slots: list[dict[str, Any]]
    columns: dict[str, Any] = field(default_factory=dict)
    clean: dict[str, Any] = field(default_factory=dict)
    kind: str = "tabular"

    def __post_init__(self):
        self.slots = sorted(({k: s.get(k) for k in ("feature", "category", "kind", "position", "mean", "std")}
                             for s in self.slots), key=lambda s: s["position"])

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "kind": self.kind, "dataset": self.dataset, "label": self.label,
                           "columns": self.columns, "clean": self.clean, "slots": self.slots}, default=str)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "TabularEncoder":
        return cls(data["dataset"], data.get("label"), list(data["slots"]), dict(data.get("columns") or {}),
                   dict(data.get("clean") or {}))

    def width(self) -> int:
        return len(self.slots)

    def feature_names(self) -> list[str]:
        """One readable name per slot: `amount`, `grade=B`, `grade=(other)`."""
        return [s["feature"] if s["kind"] == "numeric" else f"{s['feature']}=(missing)" if s["kind"] == "missing" else
                f"{s['feature']}={'(other)' if s['kind'] == 'other' else s['category']}" for s in self.slots]

    # -- Spark-free -------------------------------------------------------------------------
    def _value(self, record: Mapping[str, Any], column: str) -> Any:
        value = record.get(column)
        if isinstance(value, str):
            if self.clean.get("trim", True):
                value = value.strip()
            if value in self.clean.get("null_values", []):
                return None
            if column in self.clean.get("lowercase", []):
                value = value.lower()
        return value

    def _number(self, value: Any, column: str) -> float | None:
        if value is None:
            return None
        if isinstance(value, bool):
            raise CrosslakeError(f"field '{column}' must be a number, got a boolean")
        if isinstance(value, (int, float)):
            number = float(value)
        else:
            try:
                number = float(str(value))
            except ValueError:
                raise CrosslakeError(f"field '{column}' must be a number, got {str(value)[:40]!r}") from None
        if not math.isfinite(number):
            raise CrosslakeError(f"field '{column}' must be a finite number, got {value!r}")
        return number

    @staticmethod
    def _category(value: Any) -> str | None:
        """The value as Spark compares it with a category (booleans as true/false)."""
        if value is None:
            return None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    def encode_record(self, record: Mapping[str, Any] | str) -> list[float]:
        if isinstance(record, str):
            try:
                record = json.loads(record)
            except ValueError as exc:
                raise CrosslakeError(f"a {self.dataset} record is a JSON object: {exc}") from None
        if not isinstance(record, Mapping):
            raise CrosslakeError(f"a {self.dataset} record is an object of column: value")
        known: dict[str, set[str]] = {}
        for s in self.slots:
            if s["kind"] == "categorical":
                known.setdefault(s["feature"], set()).add(s["category"])
        out = []
        for s in self.slots:
            value = self._value(record, s["feature"])
            if s["kind"] == "numeric":
                number = self._number(value, s["feature"])
                mean, std = float(s["mean"]), float(s["std"] or 1.0)
                out.append(((mean if number is None else number) - mean) / std)
            elif s["kind"] == "missing":
                out.append(1.0 if self._number(value, s["feature"]) is None else 0.0)
            elif s["kind"] == "categorical":
                out.append(1.0 if self._category(value) == s["category"] else 0.0)
            else:
                cat = self._category(value)
                out.append(1.0 if cat is None or cat not in known.get(s["feature"], set()) else 0.0)
        return out

    def encode_records(self, records: Iterable[Mapping[str, Any] | str]) -> np.ndarray:
        """(n, width) float32, as with_model_input computes them."""
        import numpy as np

        rows = [self.encode_record(r) for r in records]
        return np.asarray(rows, dtype=np.float32).reshape(len(rows), self.width())

    # -- Spark ------------------------------------------------------------------------------
    def with_model_input(self, df: "DataFrame") -> "DataFrame":
        """Adds model_input (array<float>, one slot per encoding row) and, when the label
        column is there, label. Requires: the encoded columns."""
        from pyspark.sql import Row
        from pyspark.sql import functions as F

        from transforms.tabular import with_feature_vector

        has_label = bool(self.label) and self.label in df.columns
        label = self.label if has_label else "_no_label"
        source = df if has_label else df.withColumn(label, F.lit(None).cast("double"))
        out = source.transform(with_feature_vector, encoding=[Row(**s) for s in self.slots], label=label)
        out = out.withColumnRenamed("features", "model_input")
        return out if has_label else out.drop("label", label)


Encoder = TextEncoder | TabularEncoder


def from_json(text: str) -> Encoder:
    data = json.loads(text)
    kind = data.get("kind")
    if kind == "text":
        return TextEncoder.from_dict(data)
    if kind == "tabular":
        return TabularEncoder.from_dict(data)
    raise CrosslakeError(f"unknown encoder kind {kind!r} in {ENCODER}")


def from_legacy(meta: Mapping[str, Any], files: Mapping[str, bytes]) -> Encoder:
    """A version stored before encoder.json: its vocabulary.json (text) or encoding.json (tabular)."""
    if "encoding.json" in files:
        config = meta.get("config", {})
        return TabularEncoder(config.get("dataset", meta.get("name", "?")), config.get("label"),
                              json.loads(files["encoding.json"]))
    if "vocabulary.json" in files:
        return TextEncoder(json.loads(files["vocabulary.json"]), int(meta["spec"]["max_len"]))
    raise CrosslakeError(f"model {meta.get('name')} v{meta.get('version')} has no {ENCODER} (nor the vocabulary.json "
                         f"or encoding.json of older versions): re-train it")
