"""The model store on the lake (a local folder or object storage, see crosslake/storage.py):
versioned folders of safe weights plus metadata.

    <store>/<model name>/v<N>/model.safetensors   weights (no pickle: loading runs no code)
                              vocabulary.json      token -> id, exactly as trained
                              metadata.json        spec, data versions, metrics, config,
                                                   code version, weights checksum; written
                                                   last, so a version without it is incomplete

Only the cluster that owns the store (models.owner in conf/) writes it; any cluster reads.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors
from torch import nn

from crosslake.errors import CrosslakeError
from crosslake.storage import Location
from train.model import build_model

WEIGHTS, VOCAB, METADATA = "model.safetensors", "vocabulary.json", "metadata.json"


@dataclass
class StoredModel:
    name: str
    version: int
    path: str
    model: nn.Module
    vocabulary: dict[str, int]
    metadata: dict[str, Any]


def model_dir(store: str, name: str) -> Location:
    return Location(store) / name


def versions(store: str, name: str) -> list[int]:
    """Complete versions (those with metadata), oldest first."""
    folder = model_dir(store, name)
    found = []
    for child in folder.children():
        if child.startswith("v") and child[1:].isdigit() and (folder / child / METADATA).is_file():
            found.append(int(child[1:]))
    return sorted(found)


def save_model(store: str, name: str, model: nn.Module, vocabulary: dict[str, int],
               metadata: dict[str, Any], files: dict[str, bytes] | None = None) -> tuple[int, str]:
    """Write a new version (plus any extra `files`, e.g. curves.png); returns (version, folder)."""
    folder = model_dir(store, name)
    while True:  # claiming is atomic on disk: two concurrent savers never get the same version
        existing = [int(c[1:]) for c in folder.children() if c.startswith("v") and c[1:].isdigit()]
        version = max(existing, default=0) + 1
        target = folder / f"v{version}"
        if target.claim():
            break
    weights = save_safetensors({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
    (target / WEIGHTS).write_bytes(weights)
    (target / VOCAB).write_text(json.dumps(vocabulary))
    for file_name, content in (files or {}).items():
        (target / file_name).write_bytes(content)
    meta = {
        **metadata,
        "name": name,
        "version": version,
        "spec": model.spec.to_dict(),
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "created_by": f"{getpass.getuser()}@{socket.gethostname()}",
    }
    (target / METADATA).write_text(json.dumps(meta, indent=2, default=str))
    return version, str(target)


def load_metadata(store: str, name: str, version: int | None = None) -> dict[str, Any]:
    """A stored version's metadata (default: the latest), without loading its weights."""
    available = versions(store, name)
    if not available:
        raise CrosslakeError(f"no model '{name}' in {model_dir(store, name)}: run `crosslake train` first")
    version = available[-1] if version is None else version
    if version not in available:
        raise CrosslakeError(f"model '{name}' has no version {version}; versions: {available}")
    return json.loads((model_dir(store, name) / f"v{version}" / METADATA).read_text())


def read_file(store: str, name: str, version: int, file_name: str) -> bytes:
    """One file of a stored version (weights, vocabulary, curves.png, encoding.json, ...)."""
    return (model_dir(store, name) / f"v{version}" / file_name).read_bytes()


def load_model(store: str, name: str, version: int | None = None) -> StoredModel:
    """Load `version` (default: the latest complete one), verifying the weights' checksum."""
    meta = load_metadata(store, name, version)
    folder = model_dir(store, name) / f"v{meta['version']}"
    model = model_from_bytes((folder / WEIGHTS).read_bytes(), meta, where=str(folder / WEIGHTS))
    vocabulary = json.loads((folder / VOCAB).read_text())
    return StoredModel(name, meta["version"], str(folder), model, vocabulary, meta)


def model_from_bytes(weights: bytes, meta: dict[str, Any], *, where: str = "model weights") -> nn.Module:
    """Build the model `meta` describes from safetensors bytes, checking the checksum first
    (a changed or truncated file is named, never half-loaded)."""
    if hashlib.sha256(weights).hexdigest() != meta["weights_sha256"]:
        raise CrosslakeError(f"{where} does not match the checksum recorded at save time: "
                             f"the file was changed or truncated; re-train or restore it")
    try:
        model = build_model(meta["spec"])
        model.load_state_dict(load_safetensors(weights), strict=True)
    except (SafetensorError, RuntimeError, KeyError) as exc:
        raise CrosslakeError(f"cannot load {where}: {exc}") from exc
    return model.eval()


def predict_proba(model: nn.Module, token_ids: torch.Tensor) -> torch.Tensor:
    """P(positive) for a batch of token-id rows."""
    with torch.no_grad():
        return torch.sigmoid(model(token_ids.long()))
