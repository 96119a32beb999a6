"""The review page: paste a review, see positive or negative, the confidence, and which
model said so. Served from the scoring side, backed by the registered model that batch
and streaming scoring use (the `production` alias unless a version is pinned), and
re-reading the alias at most every `serve.reload_seconds`, so a promotion reaches the
page without a restart.

    crosslake serve --profile cloud-cpu --port 8080

Routes: GET / (the form), POST / (the form with the verdict), POST /api/predict (JSON
{"text": ...} -> {"verdict", "label", "probability", "confidence", "model", ...}), GET /healthz.
Served for a tabular dataset (`crosslake serve --dataset NAME`), POST /api/predict takes
{"record": {"column": value, ...}} (values as JSON types or text, cleaned as silver was) and
answers {"dataset", "label_column", "prediction", "probability", "confidence", "model"}
from the dataset's production model, whatever its kind (the MLP or a baseline).

Cannot judge: a verdict needs words the model knows. When none of the tokens the model
reads (the first max_len, tokenised exactly as in training) is in its vocabulary, or
fewer than serve.min_known_fraction of them are, the page says it cannot judge the text
and the API answers {"verdict": null, "label": null, "reason": "no_known_words" or
"too_few_known_words", "message": ...}: punctuation, emoji, a language the model never
saw get no confident guess.

Safety: requests over serve.max_request_bytes are refused before they are read (413),
chunked ones too (serving/server.py reads them with that cap); reviews over
serve.max_chars characters are refused with a message that says the limit (400); each
malformed API request (no or wrong Content-Type, a body that is empty, not UTF-8, not
JSON, nested too deeply, or without a string field `text`) gets a 4xx with its own
one-line message, never a 500; the text is shown back only through Jinja's autoescaping,
and a Content Security Policy forbids scripts altogether, so pasted markup can never run.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, jsonify, render_template_string, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from crosslake.config import Config
from crosslake.errors import ConfigError, CrosslakeError
from serving.server import too_large_message
from train import registry
from train.encoders import TextEncoder
from train.scoring import Scorer, load_scorer

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
 .unjudged { background: #e8e8e8; border: 2px solid #777; }
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
{% if unjudged %}
<div class="verdict unjudged" id="cannot-judge">
  <strong id="label">cannot judge</strong>: <span id="reason">{{ unjudged.message }}</span>
  <div class="meta">model <span id="model">{{ unjudged.model_name }} v{{ unjudged.model_version }}</span></div>
</div>
<div class="echo" id="echo">{{ text }}</div>
{% endif %}
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
    known_tokens: int
    tokens: int


@dataclass(frozen=True)
class CannotJudge:
    """Too few of the text's words are in the model's vocabulary for a verdict to mean anything."""
    reason: str                    # no_known_words | too_few_known_words
    message: str
    model_name: str
    model_version: int
    known_tokens: int
    tokens: int


class InputError(ValueError):
    """The request is malformed or its review empty, too long or not text: the message says which."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class ModelHolder:
    """The model the page answers with: the pinned version, or whatever `production` points
    at (re-read at most every `reload_seconds`)."""

    def __init__(self, cfg: Config, pinned: str | None = None, name: str | None = None):
        self.cfg, self.pinned, self.name = cfg, pinned, name or cfg.models.name
        self.stored: Scorer | None = None
        self.checked = 0.0
        self.lock = threading.Lock()

    def get(self) -> Scorer:
        with self.lock:
            now = time.monotonic()
            if self.stored is None or now - self.checked >= self.cfg.serve.reload_seconds:
                version = registry.resolve(self.cfg.model_store, self.name, self.pinned)
                if self.stored is None or self.stored.version != version:
                    self.stored = load_scorer(self.cfg.model_store, self.name, version)
                    log.info("review page: serving %s v%d", self.stored.name, version)
                self.checked = now
            return self.stored


def predict(stored: Scorer, text: str, min_known_fraction: float = 0.0) -> Verdict | CannotJudge:
    """The model's verdict, or CannotJudge when none (or fewer than min_known_fraction) of
    the tokens it reads are in its vocabulary. Any stored kind (the CNN, or a baseline
    promoted in its place) answers through the one scoring path (train/scoring.py)."""
    if not isinstance(stored, Scorer):  # a train.store.StoredModel (the notebook): score it the same way
        stored = load_scorer(str(stored.path).rsplit("/", 2)[0], stored.name, stored.version)
    if not isinstance(stored.encoder, TextEncoder):
        raise InputError(f"the model {stored.name} v{stored.version} scores {stored.encoder.dataset} records, not "
                         f"review texts: POST /api/predict with {{\"record\": {{...}}}}", 400)
    known, n_read = stored.encoder.known_words(text)  # of the tokens the model reads: the first max_len
    read = range(n_read)
    if known == 0 or known < min_known_fraction * len(read):
        if not read:
            reason, message = "no_known_words", "the text has no words, only symbols or characters the model does not read"
        elif known == 0:
            reason, message = "no_known_words", (f"none of its {len(read):,} word(s) is in the model's vocabulary "
                                                 f"(another language, or made-up words?)")
        else:
            reason, message = "too_few_known_words", (
                f"only {known:,} of its {len(read):,} words are in the model's vocabulary; a verdict needs at "
                f"least {min_known_fraction:.0%} (serve.min_known_fraction)")
        return CannotJudge(reason, f"cannot judge this text: {message}", stored.name, stored.version, known, len(read))
    p = float(stored.predict_records([text])[0])
    label = "positive" if p >= 0.5 else "negative"
    return Verdict(label, p, max(p, 1 - p), stored.name, stored.version, known, len(read))


MAX_JSON_DEPTH_MESSAGE = 'JSON nested too deeply: send an object one level deep, {"text": "..."}'


def _no_duplicate_keys(pairs):
    value = dict(pairs)
    if len(value) < len(pairs):  # which key is repeated: only looked for when one is
        seen = set()
        key = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise InputError(f"the JSON object has the field {key!r} twice: send it once")
    return value


TEXT_FIX = 'send {"text": "..."} with Content-Type: application/json'


def json_object(content_type: str | None, mimetype: str, charset: str | None, body: bytes,
                fix: str = TEXT_FIX) -> dict:
    """The JSON object of an API request, or InputError saying exactly what is wrong."""
    if not content_type:
        raise InputError(f"the request has no Content-Type: {fix}", 415)
    if mimetype != "application/json":
        raise InputError(f"the Content-Type is {mimetype or content_type!r}, not JSON: {fix}", 415)
    if charset and charset.lower().replace("_", "-") not in ("utf-8", "utf8"):
        raise InputError(f"the Content-Type names charset {charset!r}; JSON is UTF-8: {fix}", 415)
    if not body.strip():
        raise InputError(f"the body is empty: {fix}")
    try:
        decoded = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"the body is not UTF-8 (byte 0x{body[exc.start]:02x} at offset {exc.start:,}): "
                         f"send JSON encoded as UTF-8") from None
    try:
        value = json.loads(decoded, object_pairs_hook=_no_duplicate_keys)
    except InputError:
        raise
    except RecursionError:
        raise InputError(MAX_JSON_DEPTH_MESSAGE) from None
    except ValueError as exc:  # JSONDecodeError, or a number too long for int() (over 4,300 digits)
        where = (f"{exc.msg} at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError)
                 else str(exc).split(";")[0])
        hint = "send an object with the review in a field named 'text'" if fix == TEXT_FIX else fix.split(" with ")[0]
        raise InputError(f"the body is not valid JSON ({where}): {hint}") from None
    if not isinstance(value, dict):
        what = ("send the review in a field named 'text', {\"text\": \"...\"}" if fix == TEXT_FIX
                else fix.split(" with ")[0])
        raise InputError(f"the JSON is {_kind(value)}, not an object: {what}")
    return value


def json_review(content_type: str | None, mimetype: str, charset: str | None, body: bytes):
    """The `text` field of an API request, or InputError saying exactly what is wrong."""
    value = json_object(content_type, mimetype, charset, body)
    if "text" not in value:
        raise InputError("the JSON object has no field named 'text': send the review as {\"text\": \"...\"}")
    if not isinstance(value["text"], str):
        raise InputError(f"the field 'text' must be a string, got {_kind(value['text'])}")
    return value["text"]


RECORD_FIX = 'send {"record": {"column": value, ...}} with Content-Type: application/json'


def json_record(content_type: str | None, mimetype: str, charset: str | None, body: bytes) -> dict:
    """The `record` object of an API request to a tabular model."""
    value = json_object(content_type, mimetype, charset, body, RECORD_FIX)
    record = value.get("record")
    if not isinstance(record, dict):
        raise InputError(f"the JSON object needs a field 'record' holding an object, got "
                         f"{_kind(record) if 'record' in value else 'none'}: {RECORD_FIX}")
    for column, v in record.items():
        if isinstance(v, (dict, list)):
            raise InputError(f"the field '{column}' of the record is {_kind(v)}: send a number, text, boolean or null")
    return record


def predict_record(stored: Scorer, record: dict) -> dict:
    """A tabular model's answer for one record (values as JSON types or as text)."""
    try:
        p = float(stored.predict_records([record])[0])
    except CrosslakeError as exc:  # a value that is not what its column holds
        raise InputError(str(exc)) from None
    enc = stored.encoder
    return {"dataset": enc.dataset, "label_column": enc.label, "prediction": int(p >= 0.5), "probability": p,
            "confidence": max(p, 1 - p), "model": {"name": stored.name, "version": stored.version,
                                                  "kind": stored.kind}}


def _kind(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a string"


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


def create_app(cfg: Config, *, model_version: str | None = None, dataset: str | None = None) -> Flask:
    min_known = cfg.serve.min_known_fraction
    if not 0.0 <= min_known <= 1.0:
        raise ConfigError(f"serve.min_known_fraction must be between 0 and 1 (the share of a text's words the "
                          f"model must know to judge it), got {min_known}")
    app = Flask("crosslake-review")
    app.config["MAX_CONTENT_LENGTH"] = cfg.serve.max_request_bytes
    from workloads import model_name

    holder = ModelHolder(cfg, model_version, model_name(cfg, dataset))  # an undeclared dataset is refused
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
            answer = predict(holder.get(), text, min_known)
            if isinstance(answer, CannotJudge):
                return page(unjudged=answer, text=text)
            return page(result=answer, text=text)
        except InputError as exc:
            return page(exc.status, error=str(exc), text=(raw or "")[:max_chars])
        except CrosslakeError as exc:
            log.error("review page: %s", exc)
            return page(503, error=f"no model to answer with: {exc}", text=(raw or "")[:max_chars])

    @app.post("/api/predict")
    def score_api():
        if dataset:
            try:
                record = json_record(request.content_type, request.mimetype, request.mimetype_params.get("charset"),
                                     request.get_data(cache=False))
                return jsonify(predict_record(holder.get(), record))
            except InputError as exc:
                return jsonify(error=str(exc)), exc.status
            except CrosslakeError as exc:
                return jsonify(error=f"no model to answer with: {exc}"), 503
        try:
            # get_data reads at most MAX_CONTENT_LENGTH bytes (413 beyond), chunked or not
            raw = json_review(request.content_type, request.mimetype, request.mimetype_params.get("charset"),
                              request.get_data(cache=False))
            text = checked_text(raw, max_chars)
            v = predict(holder.get(), text, min_known)
        except InputError as exc:
            return jsonify(error=str(exc)), exc.status
        except CrosslakeError as exc:
            return jsonify(error=f"no model to answer with: {exc}"), 503
        model = {"name": v.model_name, "version": v.model_version}
        if isinstance(v, CannotJudge):
            return jsonify(verdict=None, label=None, probability=None, confidence=None, reason=v.reason,
                           message=v.message, known_tokens=v.known_tokens, tokens=v.tokens, model=model)
        return jsonify(verdict=v.label, label=v.label, probability=v.probability, confidence=v.confidence,
                       known_tokens=v.known_tokens, tokens=v.tokens, model=model)

    @app.get("/healthz")
    def health():
        try:
            stored = holder.get()
        except CrosslakeError as exc:
            return jsonify(ok=False, error=str(exc)), 503
        return jsonify(ok=True, model={"name": stored.name, "version": stored.version})

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(_exc):
        message = too_large_message(cfg.serve.max_request_bytes, max_chars)
        if request.path.startswith("/api/"):
            return jsonify(error=message), 413
        return page(413, error=message)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith("/api/"):
            return jsonify(error=exc.description), exc.code
        return page(exc.code or 500, error=f"{exc.name}: {exc.description}")

    return app
