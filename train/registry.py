"""The model registry: aliases over the versioned store, and a log of every decision.

    <store>/<name>/aliases.json      {"candidate": 4, "production": 3}
    <store>/<name>/decisions.jsonl   one JSON line per promotion, refusal or rollback

Training points `candidate` at each new version. `production` moves only through
`crosslake models promote` (when the candidate beats production on the same frozen
test set) or `crosslake models rollback`. Files are replaced whole (rename on disk, a
single PUT on object storage), so a reader on the other cluster never sees half an alias
file. Only the cluster that owns the model store writes these files.
"""

from __future__ import annotations

import getpass
import json
import socket
import time
from typing import Any

from crosslake.errors import CrosslakeError
from train.store import model_dir, versions

ALIASES, DECISIONS = "aliases.json", "decisions.jsonl"
KNOWN_ALIASES = ("candidate", "production")


def aliases(store: str, name: str) -> dict[str, int]:
    path = model_dir(store, name) / ALIASES
    if not path.is_file():
        return {}
    try:
        return {k: int(v) for k, v in json.loads(path.read_text()).items()}
    except (ValueError, AttributeError) as exc:
        raise CrosslakeError(f"{path} is not a valid alias file ({exc}); restore it or set the aliases again") from exc


def set_alias(store: str, name: str, alias: str, version: int) -> None:
    if alias not in KNOWN_ALIASES:
        raise CrosslakeError(f"unknown alias '{alias}': use {', '.join(KNOWN_ALIASES)}")
    if version not in versions(store, name):
        raise CrosslakeError(f"model '{name}' has no complete version {version}")
    current = aliases(store, name)
    current[alias] = version
    (model_dir(store, name) / ALIASES).write_text(json.dumps(current, indent=2, sort_keys=True))


def resolve(store: str, name: str, ref: str | int | None) -> int:
    """A version from a number, an alias, or None (production if set, else the candidate,
    else the latest)."""
    available = versions(store, name)
    if not available:
        raise CrosslakeError(f"no model '{name}' in {model_dir(store, name)}: run `crosslake train` first")
    if ref is None:  # a baseline stored after its candidate is not "the latest model" by itself
        current = aliases(store, name)
        return current.get("production", current.get("candidate", available[-1]))
    if isinstance(ref, int) or str(ref).lstrip("v").isdigit():
        version = int(str(ref).lstrip("v"))
        if version not in available:
            raise CrosslakeError(f"model '{name}' has no version {version}; versions: {available}")
        return version
    current = aliases(store, name)
    if ref not in current:
        raise CrosslakeError(f"model '{name}' has no '{ref}' alias yet (aliases: {current or 'none'})")
    return current[ref]


def record_decision(store: str, name: str, decision: dict[str, Any]) -> dict[str, Any]:
    entry = {"at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "by": f"{getpass.getuser()}@{socket.gethostname()}", **decision}
    path = model_dir(store, name) / DECISIONS
    before = path.read_text() if path.is_file() else ""  # object storage cannot append: rewrite whole
    path.write_text(before + json.dumps(entry, sort_keys=True) + "\n")
    return entry


def decisions(store: str, name: str) -> list[dict[str, Any]]:
    path = model_dir(store, name) / DECISIONS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
