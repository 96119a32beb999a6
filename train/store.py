"""The model store on the lake (a local folder or object storage, see crosslake/storage.py):
versioned folders of safe weights plus metadata.

    <store>/<model name>/v<N>/model.safetensors   weights of a torch model (no pickle: loading runs no code)
                              sparkml/             or: a Spark ML PipelineModel (Spark's own JSON +
                                                   Parquet format), for the classic baselines
                              portable.json        with sparkml/: the fitted model as plain JSON, so a
                                                   Spark-free process (the review page) can score it
                              encoder.json         what turns a row into model input (train/encoders.py)
                              explain.json         baselines: coefficients / feature importances by name
                              metadata.json        kind, spec, data versions, metrics, config, code
                                                   version, weights checksum; written last, so a
                                                   version without it is incomplete

Versions stored before encoder.json have vocabulary.json (text) or encoding.json (tabular)
instead; they still load.

Only the cluster that owns the store (models.owner in conf/) writes it; any cluster reads.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import socket
import time
from dataclasses import dataclass
from typing import Any, Callable

from typing import TYPE_CHECKING

from crosslake.errors import CrosslakeError
from crosslake.storage import Location
from train.encoders import ENCODER, Encoder, TextEncoder, from_json, from_legacy

if TYPE_CHECKING:  # torch is imported where weights are read or written: listing and metadata stay light
    import torch
    from torch import nn

WEIGHTS, VOCAB, METADATA = "model.safetensors", "vocabulary.json", "metadata.json"
SPARKML, PORTABLE, EXPLAIN = "sparkml", "portable.json", "explain.json"
TORCH_KINDS = ("text_cnn", "text_ngram", "tabular_mlp")


@dataclass
class StoredModel:
    name: str
    version: int
    path: str
    model: "nn.Module"
    encoder: Encoder
    metadata: dict[str, Any]

    @property
    def vocabulary(self) -> dict[str, int]:
        """A text model's vocabulary (token -> id)."""
        return self.encoder.vocabulary if isinstance(self.encoder, TextEncoder) else {}


def kind_of(meta: dict[str, Any]) -> str:
    """text_cnn | text_ngram | tabular_mlp | tfidf_logreg | logreg | gbt (versions before `kind`: from the spec)."""
    return meta.get("kind") or meta.get("spec", {}).get("kind") or "text_cnn"


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


def claim_version(store: str, name: str) -> tuple[int, Location]:
    """The next version number and its (new, empty) folder."""
    folder = model_dir(store, name)
    while True:  # claiming is atomic on disk: two concurrent savers never get the same version
        existing = [int(c[1:]) for c in folder.children() if c.startswith("v") and c[1:].isdigit()]
        version = max(existing, default=0) + 1
        target = folder / f"v{version}"
        if target.claim():
            return version, target


def _finish(target: Location, name: str, version: int, encoder: Encoder, metadata: dict[str, Any],
            files: dict[str, bytes] | None, **extra: Any) -> None:
    (target / ENCODER).write_text(encoder.to_json())
    for file_name, content in (files or {}).items():
        (target / file_name).write_bytes(content)
    meta = {
        **metadata,
        "name": name,
        "version": version,
        **extra,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "created_by": f"{getpass.getuser()}@{socket.gethostname()}",
    }
    (target / METADATA).write_text(json.dumps(meta, indent=2, default=str))  # last: the version is complete


def save_model(store: str, name: str, model: nn.Module, encoder: Encoder | dict[str, int],
               metadata: dict[str, Any], files: dict[str, bytes] | None = None) -> tuple[int, str]:
    """Write a new version of a torch model with its encoder (a vocabulary dict is taken as
    a text encoder of the model's max_len), plus any extra `files`, e.g. curves.png;
    returns (version, folder)."""
    from safetensors.torch import save as save_safetensors

    spec = model.spec.to_dict()
    if isinstance(encoder, dict):
        encoder = TextEncoder(dict(encoder), int(spec["max_len"]))
    version, target = claim_version(store, name)
    weights = save_safetensors({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})
    (target / WEIGHTS).write_bytes(weights)
    _finish(target, name, version, encoder, metadata, files, kind=spec.get("kind", "text_cnn"), spec=spec,
            weights_sha256=hashlib.sha256(weights).hexdigest())
    return version, str(target)


def save_sparkml(store: str, name: str, pipeline_model, encoder: Encoder, metadata: dict[str, Any], *,
                 kind: str, portable: Callable[[str], dict[str, Any]], explain: dict[str, Any],
                 files: dict[str, bytes] | None = None) -> tuple[int, str]:
    """Write a new version of a Spark ML model (a baseline): Spark writes sparkml/ itself (a
    local folder or s3a:// alike), beside portable.json (made by `portable` from the saved
    model's folder), explain.json and the encoder."""
    version, target = claim_version(store, name)
    pipeline_model.write().overwrite().save(str(target / SPARKML))
    portable_bytes = json.dumps(portable(str(target / SPARKML))).encode()
    _finish(target, name, version, encoder, metadata,
            {PORTABLE: portable_bytes, EXPLAIN: json.dumps(explain, indent=1).encode(), **(files or {})},
            kind=kind, portable_sha256=hashlib.sha256(portable_bytes).hexdigest())
    return version, str(target)


def load_encoder(store: str, name: str, version: int, meta: dict[str, Any]) -> Encoder:
    folder = model_dir(store, name) / f"v{version}"
    if (folder / ENCODER).is_file():
        return from_json((folder / ENCODER).read_text())
    legacy = {f: (folder / f).read_bytes() for f in (VOCAB, "encoding.json") if (folder / f).is_file()}
    return from_legacy(meta, legacy)


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
    """Load torch model `version` (default: the latest complete torch one, not a baseline
    stored after it), verifying the weights' checksum."""
    if version is None:
        version = next((v for v in reversed(versions(store, name))
                        if kind_of(load_metadata(store, name, v)) in TORCH_KINDS), None)
    meta = load_metadata(store, name, version)
    folder = model_dir(store, name) / f"v{meta['version']}"
    if kind_of(meta) not in TORCH_KINDS:
        raise CrosslakeError(f"{name} v{meta['version']} is a {kind_of(meta)} (Spark ML) model, not a torch one: "
                             f"load it with train.scoring.load_scorer")
    model = model_from_bytes((folder / WEIGHTS).read_bytes(), meta, where=str(folder / WEIGHTS))
    return StoredModel(name, meta["version"], str(folder), model, load_encoder(store, name, meta["version"], meta),
                       meta)


def model_from_bytes(weights: bytes, meta: dict[str, Any], *, where: str = "model weights") -> nn.Module:
    """Build the model `meta` describes from safetensors bytes, checking the checksum first
    (a changed or truncated file is named, never half-loaded)."""
    from safetensors import SafetensorError
    from safetensors.torch import load as load_safetensors

    from train.model import build_model

    if hashlib.sha256(weights).hexdigest() != meta["weights_sha256"]:
        raise CrosslakeError(f"{where} does not match the checksum recorded at save time: "
                             f"the file was changed or truncated; re-train or restore it")
    try:
        model = build_model(meta["spec"])
        model.load_state_dict(load_safetensors(weights), strict=True)
    except (SafetensorError, RuntimeError, KeyError) as exc:
        raise CrosslakeError(f"cannot load {where}: {exc}") from exc
    return model.eval()


def predict_proba(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """P(positive) for a batch of model-input rows (token ids for a text model, float
    feature vectors for a tabular one)."""
    import torch

    with torch.no_grad():
        return torch.sigmoid(model(inputs if inputs.is_floating_point() else inputs.long()))
