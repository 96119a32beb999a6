"""The review page's test fixtures, shared by tests/test_review_page.py and
tests/bad_input/test_review_api.py: a tiny model trained in a second and registered as
`production` in a real model store, the page served on loopback by the same server
`crosslake serve` runs (serving/server.py), and Debian's headless Chromium."""

from __future__ import annotations

import http.client
import random
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import torch

from crosslake.config import load_config
from serving.server import ReviewServer
from serving.web import create_app
from train import registry
from train.model import ModelSpec, TextCNN
from train.store import save_model

POSITIVE, NEGATIVE = ["great", "wonderful", "superb", "moving"], ["awful", "boring", "dreadful", "dull"]
NEUTRAL = ["the", "film", "was", "plot", "a", "and", "story", "acting"]
VOCAB = {w: i for i, w in enumerate(POSITIVE + NEGATIVE + NEUTRAL, start=2)}
SPEC = ModelSpec(vocab_size=len(VOCAB) + 2, max_len=24, embed_dim=16, num_filters=16, kernel_sizes=(2, 3), dropout=0.0)
SITE_OVERRIDES = ["serve.reload_seconds=0", "serve.max_chars=2000", "serve.max_request_bytes=16384"]


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
    root = tmp_path_factory.mktemp("page")
    cfg = load_config("test", lake_root=str(root / "lake"), overrides=SITE_OVERRIDES)
    version, _ = save_model(cfg.model_store, cfg.models.name, tiny_model(), VOCAB, {"data": {}})
    registry.set_alias(cfg.model_store, cfg.models.name, "production", version)
    server = ReviewServer(create_app(cfg), "127.0.0.1", 0, max_request_bytes=cfg.serve.max_request_bytes,
                          max_chars=cfg.serve.max_chars)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    yield cfg, f"http://127.0.0.1:{server.port}", root
    server.stop()
    thread.join(10)


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


def post(url: str, data: bytes, content_type: str | None) -> tuple[int, str]:
    """POST `data` as is (Content-Type None: no such header at all); the status and body text."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.putrequest("POST", parts.path or "/")
        if content_type is not None:
            conn.putheader("Content-Type", content_type)
        conn.putheader("Content-Length", str(len(data)))
        conn.endheaders(data)
        resp = conn.getresponse()
        return resp.status, resp.read().decode()
    finally:
        conn.close()
