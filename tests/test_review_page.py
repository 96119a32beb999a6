"""The review page, end to end: the real server (werkzeug, on loopback) driven by Debian's
headless Chromium through Playwright, backed by a model in a real model store."""

from __future__ import annotations

import io
import json
import random
import shutil
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import torch
from pyspark.sql import functions as F

from crosslake.config import load_config
from serving.udf import broadcast_model, with_predictions
from serving.web import create_app
from train import registry
from train.model import ModelSpec, TextCNN
from train.store import load_model, save_model
from transforms.features import with_token_ids, with_tokens

POSITIVE, NEGATIVE = ["great", "wonderful", "superb", "moving"], ["awful", "boring", "dreadful", "dull"]
NEUTRAL = ["the", "film", "was", "plot", "a", "and", "story", "acting"]
VOCAB = {w: i for i, w in enumerate(POSITIVE + NEGATIVE + NEUTRAL, start=2)}
SPEC = ModelSpec(vocab_size=len(VOCAB) + 2, max_len=24, embed_dim=16, num_filters=16, kernel_sizes=(2, 3), dropout=0.0)


def sentence(rng: random.Random, positive: bool) -> str:
    words = [rng.choice(NEUTRAL) for _ in range(rng.randint(4, 12))]
    for _ in range(2):
        words.insert(rng.randrange(len(words) + 1), rng.choice(POSITIVE if positive else NEGATIVE))
    return " ".join(words)


def tiny_model() -> TextCNN:
    from transforms.features import token_ids

    rng = random.Random(0)
    torch.manual_seed(0)
    texts = [(sentence(rng, i % 2 == 1), i % 2) for i in range(400)]
    x = torch.tensor([token_ids(t, VOCAB, SPEC.max_len) for t, _ in texts])
    y = torch.tensor([float(label) for _, label in texts])
    model = TextCNN(SPEC)
    opt = torch.optim.Adam(model.parameters(), lr=0.02)
    for _ in range(60):
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), y)
        loss.backward()
        opt.step()
    return model.eval()


def chromium_path() -> str:
    for candidate in ("/usr/lib/chromium/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError("Debian's chromium is not installed: run `bash scripts/setup.sh`")


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from werkzeug.serving import make_server

    root = tmp_path_factory.mktemp("page")
    cfg = load_config("test", lake_root=str(root / "lake"), overrides=["serve.reload_seconds=0", "serve.max_chars=2000",
                                                                       "serve.max_request_bytes=16384"])
    version, _ = save_model(cfg.model_store, cfg.models.name, tiny_model(), VOCAB, {"data": {}})
    registry.set_alias(cfg.model_store, cfg.models.name, "production", version)
    server = make_server("127.0.0.1", 0, create_app(cfg), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield cfg, f"http://127.0.0.1:{server.port}", root
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        yield b
        b.close()


def submit(browser, url: str, text: str):
    page = browser.new_page(viewport={"width": 900, "height": 700})
    page.goto(url + "/")
    page.fill("#text", text)
    page.click("#submit")
    page.wait_for_load_state("load")
    return page


def post(url: str, data: bytes, content_type: str) -> tuple[int, str]:
    req = urllib.request.Request(url, data=data, headers={"Content-Type": content_type}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


def test_a_person_pastes_a_review_and_sees_the_verdict_confidence_and_model(site, browser, tmp_path):
    from PIL import Image

    cfg, url, _ = site
    page = submit(browser, url, "The acting was superb and the story was wonderful")
    assert page.inner_text("#label") == "positive"
    confidence = float(page.inner_text("#confidence").rstrip("%"))
    assert 50 < confidence <= 100
    assert page.inner_text("#model") == f"{cfg.models.name} v1"
    shot = page.screenshot(full_page=True)
    (tmp_path / "page.png").write_bytes(shot)
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    assert image.width == 900 and image.height >= 400
    verdict = page.locator("#verdict").bounding_box()
    inside = image.getpixel((int(verdict["x"] + 5), int(verdict["y"] + verdict["height"] - 5)))
    assert inside == (0xD9, 0xF2, 0xDD)  # the green verdict box is really drawn, where the DOM says
    page.close()

    page = submit(browser, url, "a dull plot and awful boring acting")
    assert page.inner_text("#label") == "negative"
    image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
    box = page.locator("#verdict").bounding_box()
    assert image.getpixel((int(box["x"] + 5), int(box["y"] + box["height"] - 5))) == (0xF8, 0xDC, 0xDC)
    page.close()


def test_pasted_markup_is_shown_as_text_and_never_runs(site, browser):
    _, url, _ = site
    attack = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> great film'
    page = submit(browser, url, attack)
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.inner_text("#echo") == attack  # shown back exactly, as text
    assert page.locator("#echo script, #echo img").count() == 0
    page.close()


def test_too_long_empty_and_oversized_input_get_clear_errors(site, browser):
    _, url, _ = site
    status, body = post(url + "/api/predict", json.dumps({"text": "great " * 500}).encode(), "application/json")
    assert status == 400 and "the limit is 2,000" in json.loads(body)["error"]
    status, body = post(url + "/", b"text=%20%20", "application/x-www-form-urlencoded")
    assert status == 400 and "the text is empty" in body
    status, body = post(url + "/api/predict", b'{"text": "' + b"a" * 20000 + b'"}', "application/json")
    assert status == 413 and "larger than 16,384 bytes" in json.loads(body)["error"]
    status, body = post(url + "/api/predict", b"not json", "application/json")
    assert status == 400 and "field named 'text'" in json.loads(body)["error"]
    # in the browser, the form itself stops at the limit
    page = browser.new_page()
    page.goto(url + "/")
    page.fill("#text", "x" * 2500)
    assert len(page.input_value("#text")) == 2000
    page.close()


def test_the_page_answers_as_batch_scoring_does_and_follows_production(site, spark):
    cfg, url, _ = site
    text = "the story was moving and the film was great"
    status, body = post(url + "/api/predict", json.dumps({"text": text}).encode(), "application/json")
    answer = json.loads(body)
    stored = load_model(cfg.model_store, cfg.models.name, 1)
    df = (spark.createDataFrame([(text,)], "text string").transform(with_tokens)
          .transform(with_token_ids, vocab=stored.vocabulary, max_len=SPEC.max_len)
          .transform(with_predictions, model=broadcast_model(spark, cfg.model_store, stored),
                     max_len=SPEC.max_len, batch_size=8))
    assert abs(df.select(F.col("probability")).first()[0] - answer["probability"]) < 1e-6
    assert answer["model"] == {"name": cfg.models.name, "version": 1} and answer["label"] == "positive"
    # the training side promotes a new version: the page answers with it, no restart
    negated = TextCNN(SPEC)
    negated.load_state_dict(stored.model.state_dict())
    with torch.no_grad():
        negated.head.weight.neg_()
        negated.head.bias.neg_()
    v2, _ = save_model(cfg.model_store, cfg.models.name, negated, VOCAB, {"data": {}})
    registry.set_alias(cfg.model_store, cfg.models.name, "production", v2)
    status, body = post(url + "/api/predict", json.dumps({"text": text}).encode(), "application/json")
    again = json.loads(body)
    assert again["model"]["version"] == v2 and again["label"] == "negative"
    assert abs(again["probability"] - (1 - answer["probability"])) < 1e-5
