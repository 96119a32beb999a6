"""The model store on the lake: versioned folders of safe weights plus metadata.

    <store>/<model name>/v<N>/model.safetensors   weights (no pickle: loading runs no code)
                              vocabulary.json      token -> id, exactly as trained
                              metadata.json        spec, data versions, metrics, config,
                                                   code version, weights checksum; written
                                                   last, so a version without it is incomplete
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from crosslake.errors import CrosslakeError
from train.model import build_model

WEIGHTS, VOCAB, METADATA = "model.safetensors", "vocabulary.json", "metadata.json"


@dataclass
class StoredModel:
    name: str
    version: int
    path: Path
    model: nn.Module
    vocabulary: dict[str, int]
    metadata: dict[str, Any]


def model_dir(store: str | Path, name: str) -> Path:
    return Path(str(store).removeprefix("file:")) / name


def versions(store: str | Path, name: str) -> list[int]:
    """Complete versions (those with metadata), oldest first."""
    folder = model_dir(store, name)
    if not folder.is_dir():
        return []
    found = []
    for child in folder.glob("v*"):
        if child.name[1:].isdigit() and (child / METADATA).is_file():
            found.append(int(child.name[1:]))
    return sorted(found)


def save_model(store: str | Path, name: str, model: nn.Module, vocabulary: dict[str, int],
               metadata: dict[str, Any], files: dict[str, bytes] | None = None) -> tuple[int, Path]:
    """Write a new version (plus any extra `files`, e.g. curves.png); returns (version, folder)."""
    folder = model_dir(store, name)
    folder.mkdir(parents=True, exist_ok=True)
    while True:  # mkdir is atomic: two concurrent savers never get the same version
        existing = [int(p.name[1:]) for p in folder.glob("v*") if p.name[1:].isdigit()]
        version = max(existing, default=0) + 1
        target = folder / f"v{version}"
        try:
            target.mkdir()
            break
        except FileExistsError:
            continue
    weights = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(weights, str(target / WEIGHTS))
    (target / VOCAB).write_text(json.dumps(vocabulary))
    for file_name, content in (files or {}).items():
        (target / file_name).write_bytes(content)
    meta = {
        **metadata,
        "name": name,
        "version": version,
        "spec": model.spec.to_dict(),
        "weights_sha256": _sha256(target / WEIGHTS),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "created_by": f"{getpass.getuser()}@{socket.gethostname()}",
    }
    (target / METADATA).write_text(json.dumps(meta, indent=2, default=str))
    return version, target


def load_metadata(store: str | Path, name: str, version: int | None = None) -> dict[str, Any]:
    """A stored version's metadata (default: the latest), without loading its weights."""
    available = versions(store, name)
    if not available:
        raise CrosslakeError(f"no model '{name}' in {model_dir(store, name)}: run `crosslake train` first")
    version = available[-1] if version is None else version
    if version not in available:
        raise CrosslakeError(f"model '{name}' has no version {version}; versions: {available}")
    return json.loads((model_dir(store, name) / f"v{version}" / METADATA).read_text())


def load_model(store: str | Path, name: str, version: int | None = None) -> StoredModel:
    """Load `version` (default: the latest complete one), verifying the weights' checksum."""
    meta = load_metadata(store, name, version)
    folder = model_dir(store, name) / f"v{meta['version']}"
    if _sha256(folder / WEIGHTS) != meta["weights_sha256"]:
        raise CrosslakeError(f"{folder / WEIGHTS} does not match the checksum recorded at save time: "
                             f"the file was changed or truncated; re-train or restore it")
    try:
        weights = load_file(str(folder / WEIGHTS))
        model = build_model(meta["spec"])
        model.load_state_dict(weights, strict=True)
    except (SafetensorError, RuntimeError, KeyError) as exc:
        raise CrosslakeError(f"cannot load {folder / WEIGHTS}: {exc}") from exc
    model.eval()
    vocabulary = json.loads((folder / VOCAB).read_text())
    return StoredModel(name, meta["version"], folder, model, vocabulary, meta)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def predict_proba(model: nn.Module, token_ids: torch.Tensor) -> torch.Tensor:
    """P(positive) for a batch of token-id rows."""
    with torch.no_grad():
        return torch.sigmoid(model(token_ids.long()))
