"""The typed YAML binder: conf/ text in, frozen dataclasses out, or one line naming the mistake.

``bind`` walks a dataclass's type hints and refuses unknown keys, missing keys and values
of the wrong type, naming the setting (``'train.epochs' must be int, got 'ten'``), so a
typo in an overlay fails loudly instead of being ignored. It knows nothing of which
sections exist: crosslake/config.py hands it the Config class and the merged mapping.

YAML also types scalars the user meant as text (yes/no and on/off are booleans, 1.0 and
01 numbers, null and ~ nothing). For the settings of a dataset declaration that hold
names or values to match, ``check_dataset_scalars`` compares the typed reading with the
same file read as text (``read_yaml(raw=True)``) and refuses with the quoting that fixes it.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from pathlib import Path
from typing import Any

import yaml

from crosslake.errors import ConfigError


def read_yaml(path: Path, *, raw: bool = False) -> dict[str, Any]:
    """The file's mapping; raw: every scalar as the text written (YAML's BaseLoader), to
    say what a value was before YAML typed it."""
    try:
        text = path.read_text()
        data = (yaml.load(text, Loader=yaml.BaseLoader) if raw else yaml.safe_load(text)) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of sections")
    return data


def bind(cls: type, data: Any, where: str) -> Any:
    """An instance of the dataclass `cls` from the mapping `data` (nested dataclasses and
    mappings of them included); `where` names the block in messages ("config": the top)."""
    if not isinstance(data, dict):
        raise ConfigError(f"'{where}' must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in '{where}': "
                          f"known keys are {', '.join(sorted(names))}")
    required = {f.name for f in dataclasses.fields(cls)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(data))
    if missing:
        raise ConfigError(f"missing key(s) {', '.join(missing)} in '{where}'")
    values = {}
    for name in names & set(data):
        hint, value = hints[name], data[name]
        path = f"{where}.{name}" if where != "config" else name
        if dataclasses.is_dataclass(hint):
            values[name] = bind(hint, value, path)
        elif typing.get_origin(hint) is dict and dataclasses.is_dataclass(typing.get_args(hint)[1]):
            item_cls = typing.get_args(hint)[1]
            values[name] = {k: bind(item_cls, v, f"{path}.{k}") for k, v in coerce(dict, value, path).items()}
        else:
            values[name] = coerce(hint, value, f"{where}.{name}")
    return cls(**values)


def coerce(hint: Any, value: Any, where: str) -> Any:
    """`value` as the type `hint` names (an int is a float where a float is wanted), or a refusal."""
    origin = typing.get_origin(hint) or hint
    if origin is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if origin in (int, float, str, bool, list, dict) and not isinstance(value, origin):
        raise ConfigError(f"'{where}' must be {origin.__name__}, got {value!r}")
    if origin is int and isinstance(value, bool):
        raise ConfigError(f"'{where}' must be int, got {value!r}")
    return value


# Settings of a dataset declaration that hold text: a value YAML typed otherwise (yes/no
# and on/off are booleans, 1.0 and 01 numbers, null and ~ nothing) would be compared or
# matched as that type, silently. (path in the declaration, what it holds)
TEXT_SETTINGS = (
    (("label",), "value"), (("keys",), "list"), (("features", "numeric"), "list"),
    (("features", "categorical"), "list"), (("clean", "lowercase"), "list"), (("clean", "null_values"), "list"),
    (("rename",), "mapping"), (("columns",), "names"),
)


def check_dataset_scalars(name: str, ds: Any, written: Any) -> None:
    """Text settings YAML read as something else, refused with the quoting that fixes them.
    `written` is the same declaration read with every scalar as text (what the user typed)."""
    if not isinstance(ds, dict):
        return
    written = written if isinstance(written, dict) else {}
    where = f"datasets.{name}"
    for path, shape in TEXT_SETTINGS:
        value, text = _at(ds, path), _at(written, path)
        setting, field_name = f"{where}.{'.'.join(path)}", path[-1]
        if shape == "value" and value is not None and not isinstance(value, str):
            _refuse_typed(setting, [(value, text)], f"{field_name}: {_q(text)}")
        elif shape == "list" and isinstance(value, list):
            texts = text if isinstance(text, list) and len(text) == len(value) else value
            _refuse_typed(setting, list(zip(value, texts)), f"{field_name}: [{', '.join(map(_q, texts))}]")
        elif shape in ("mapping", "names") and isinstance(value, dict):
            pairs = list(zip(value.items(), text.items() if isinstance(text, dict) and len(text) == len(value)
                             else value.items()))
            bad_keys = [(k, tk) for (k, _), (tk, _) in pairs if not isinstance(k, str)]
            _refuse_typed(f"{setting} (a name)", bad_keys, f"{field_name}: {{" + ", ".join(
                f"{_q(tk)}: {tv if isinstance(tv, str) else '...'}" for (k, _), (tk, tv) in pairs
                if not isinstance(k, str)) + "}")
            if shape == "mapping":
                bad_values = [(v, tv) for (_, v), (_, tv) in pairs if not isinstance(v, str)]
                _refuse_typed(setting, bad_values, f"{field_name}: {{" + ", ".join(
                    f"{_q(tk)}: {_q(tv)}" for (_, v), (tk, tv) in pairs if not isinstance(v, str)) + "}")
    columns = ds.get("columns") if isinstance(ds.get("columns"), dict) else {}
    text_columns = {c for c, spec in columns.items() if (spec.get("type") if isinstance(spec, dict) else spec)
                    == "string"}
    expectations = ds.get("expectations") if isinstance(ds.get("expectations"), dict) else {}
    for group, checks in expectations.items():
        for check, entry in (checks.items() if isinstance(checks, dict) else ()):
            if not isinstance(entry, dict):
                continue
            shown = _at(written, ("expectations", group, check))
            shown = shown if isinstance(shown, dict) else {}
            setting = f"{where}.expectations.{group}.{check}"
            for key in ("column", "column_A", "column_B", "regex"):
                if key in entry and not isinstance(entry[key], str):
                    _refuse_typed(f"{setting}.{key}", [(entry[key], shown.get(key))], f"{key}: {_q(shown.get(key))}")
            values = entry.get("values")
            if entry.get("column") in text_columns and isinstance(values, list):
                texts = shown.get("values")
                texts = texts if isinstance(texts, list) and len(texts) == len(values) else values
                _refuse_typed(f"{setting}.values", list(zip(values, texts)),
                              f"values: [{', '.join(map(_q, texts))}]",
                              why=f" (column {entry['column']} is declared string)")


def _at(data: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def _q(text: Any) -> str:
    return json.dumps(str(text), ensure_ascii=False)


YAML_KINDS = {bool: ("the boolean", "booleans"), int: ("the number", "numbers"), float: ("the number", "numbers"),
              type(None): ("null", "null")}


def _refuse_typed(setting: str, pairs: list[tuple[Any, Any]], fix: str, *, why: str = "") -> None:
    """One line: the values (as written) YAML did not read as text, what it read them as, and
    the quoted form to write instead. pairs: (value as typed, text as written)."""
    bad = [(v, t) for v, t in pairs if not isinstance(v, str)]
    if not bad:
        return
    typed = ", ".join("null" if v is None else json.dumps(v) if isinstance(v, (bool, int, float)) else repr(v)
                      for v, _ in bad)
    kinds = {YAML_KINDS.get(type(v), (type(v).__name__,) * 2) for v, _ in bad}
    if len(bad) == 1:
        [(one, _)] = kinds
        read = f"was read by YAML as {one} {typed}" if one != "null" else "was read by YAML as null (no value)"
    elif len(kinds) == 1:
        [(_, many)] = kinds
        read = f"were read by YAML as {many} {typed}" if many != "null" else "were read by YAML as null (no value)"
    else:
        read = f"were read by YAML as {typed}, not as text"
    raise ConfigError(f"{setting}: {', '.join(str(t) for _, t in bad)} {read}{why}; "
                      f"quote {'it' if len(bad) == 1 else 'them'}: {fix}")
