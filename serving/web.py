"""The review page: paste a review, see positive or negative, the confidence, and which
model said so. Served from the scoring side, backed by the registered model that batch
and streaming scoring use (the `production` alias unless a version is pinned), and
re-reading the alias at most every `serve.reload_seconds`, so a promotion reaches the
page without a restart.

    crosslake serve --profile cloud-cpu --port 8080

Routes: GET / (the form), POST / (the form with the verdict), POST /api/predict (JSON
{"text": ...} -> {"label", "probability", "confidence", "model"}), GET /healthz.

Safety: requests over serve.max_request_bytes are refused before they are read (413);
reviews over serve.max_chars characters are refused with a message that says the limit
(400); the text is shown back only through Jinja's autoescaping, and a Content Security
Policy forbids scripts altogether, so pasted markup can never run.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import torch
from flask import Flask, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from crosslake.config import Config
from crosslake.errors import CrosslakeError
from train import registry
from train.store import StoredModel, load_model, predict_proba
from transforms.features import token_ids

log = logging.getLogger(__name__)

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>crosslake: review sentiment</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
 body { font: 16px/1.4 system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
 textarea { width: 100%; min-height: 10rem; font: inherit; padding: .5rem; box-sizing: border-box; }
 button { font: inherit; padding: .4rem 1.2rem; margin-top: .5rem; }
 .verdict { margin-top: 1.5rem; padding: 1rem; border-radius: .4rem; font-size: 1.3rem; }
 .positive { background: #d9f2dd; border: 2px solid #2e8b3d; }
 .negative { background: #f8dcdc; border: 2px solid #b23030; }
 .error { background: #fff3cd; border: 2px solid #c79a00; padding: 1rem; margin-top: 1.5rem; }
 .bar { height: .6rem; background: #ddd; border-radius: .3rem; margin-top: .5rem; }
 .bar > div { height: 100%; border-radius: .3rem; background: #555; }
 .meta, .echo { color: #555; font-size: .9rem; }
 .echo { white-space: pre-wrap; border-left: 3px solid #ccc; padding-left: .6rem; margin-top: .8rem; }
</style></head>
<body>
<h1>Is this review positive or negative?</h1>
<form method="post" action="/">
  <label for="text">Paste a movie review (at most {{ "{:,}".format(max_chars) }} characters):</label>
  <textarea id="text" name="text" maxlength="{{ max_chars }}" required>{{ text }}</textarea>
  <button type="submit" id="submit">Score it</button>
</form>
{% if error %}<div class="error" id="error">{{ error }}</div>{% endif %}
{% if result %}
<div class="verdict {{ result.label }}" id="verdict">
  <strong id="label">{{ result.label }}</strong>,
  confidence <span id="confidence">{{ "%.1f" % (100 * result.confidence) }}%</span>
  <div class="bar"><div style="width: {{ "%.1f" % (100 * result.confidence) }}%"></div></div>
  <div class="meta">model <span id="model">{{ result.model_name }} v{{ result.model_version }}</span>
  &middot; P(positive) = {{ "%.3f" % result.probability }}</div>
</div>
<div class="echo" id="echo">{{ text }}</div>
{% endif %}
</body></html>
"""
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class Verdict:
    label: str
    probability: float
    confidence: float
    model_name: str
    model_version: int


class InputError(ValueError):
    """The request's review is empty, too long or not text: the message says which."""


class ModelHolder:
    """The model the page answers with: the pinned version, or whatever `production` points
    at (re-read at most every `reload_seconds`)."""

    def __init__(self, cfg: Config, pinned: str | None = None):
        self.cfg, self.pinned = cfg, pinned
        self.stored: StoredModel | None = None
        self.checked = 0.0
        self.lock = threading.Lock()

    def get(self) -> StoredModel:
        with self.lock:
            now = time.monotonic()
            if self.stored is None or now - self.checked >= self.cfg.serve.reload_seconds:
                version = registry.resolve(self.cfg.model_store, self.cfg.models.name, self.pinned)
                if self.stored is None or self.stored.version != version:
                    self.stored = load_model(self.cfg.model_store, self.cfg.models.name, version)
                    log.info("review page: serving %s v%d", self.stored.name, version)
                self.checked = now
            return self.stored


def predict(stored: StoredModel, text: str) -> Verdict:
    ids = token_ids(text, stored.vocabulary, stored.metadata["spec"]["max_len"])
    p = float(predict_proba(stored.model, torch.tensor([ids]))[0])
    label = "positive" if p >= 0.5 else "negative"
    return Verdict(label, p, max(p, 1 - p), stored.name, stored.version)


def checked_text(raw, max_chars: int) -> str:
    if not isinstance(raw, str):
        raise InputError("send the review as text in a field named 'text'")
    text = raw.strip()
    if not text:
        raise InputError("paste a review first: the text is empty")
    if len(text) > max_chars:
        raise InputError(f"the review is {len(text):,} characters long; the limit is {max_chars:,}. "
                         f"Shorten it and try again")
    return text


def create_app(cfg: Config, *, model_version: str | None = None) -> Flask:
    app = Flask("crosslake-review")
    app.config["MAX_CONTENT_LENGTH"] = cfg.serve.max_request_bytes
    holder = ModelHolder(cfg, model_version)
    max_chars = cfg.serve.max_chars

    def page(status: int = 200, **values):
        body = render_template_string(PAGE, max_chars=max_chars, text=values.pop("text", ""), **values)
        return body, status

    @app.after_request
    def headers(response):
        response.headers.update(SECURITY_HEADERS)
        return response

    @app.get("/")
    def form():
        return page()

    @app.post("/")
    def score_form():
        raw = request.form.get("text")
        try:
            text = checked_text(raw, max_chars)
            return page(result=predict(holder.get(), text), text=text)
        except InputError as exc:
            return page(400, error=str(exc), text=(raw or "")[:max_chars])
        except CrosslakeError as exc:
            log.error("review page: %s", exc)
            return page(503, error=f"no model to answer with: {exc}", text=(raw or "")[:max_chars])

    @app.post("/api/predict")
    def score_api():
        body = request.get_json(silent=True)
        try:
            text = checked_text(body.get("text") if isinstance(body, dict) else None, max_chars)
            v = predict(holder.get(), text)
        except InputError as exc:
            return jsonify(error=str(exc)), 400
        except CrosslakeError as exc:
            return jsonify(error=f"no model to answer with: {exc}"), 503
        return jsonify(label=v.label, probability=v.probability, confidence=v.confidence,
                       model={"name": v.model_name, "version": v.model_version})

    @app.get("/healthz")
    def health():
        try:
            stored = holder.get()
        except CrosslakeError as exc:
            return jsonify(ok=False, error=str(exc)), 503
        return jsonify(ok=True, model={"name": stored.name, "version": stored.version})

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        message = (f"the request is larger than {cfg.serve.max_request_bytes:,} bytes; "
                   f"reviews may be at most {max_chars:,} characters")
        if request.path.startswith("/api/"):
            return jsonify(error=message), 413
        return page(413, error=message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify(error=exc.description), exc.code
        return page(exc.code or 500, error=f"{exc.name}: {exc.description}")

    return app
