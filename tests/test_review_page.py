"""The review page, end to end: the real server (waitress, on loopback, as `crosslake serve`
runs it) driven by Debian's headless Chromium through Playwright, backed by a model in a
real model store. The fixtures are in tests/review_site.py."""

from __future__ import annotations

import io
import json

import torch
from pyspark.sql import functions as F

from serving.udf import broadcast_model, with_predictions
from tests.review_site import SPEC, VOCAB, browser, post, site, submit, tiny_model  # noqa: F401  (fixtures)
from train import registry
from train.model import TextCNN
from train.store import load_model, save_model
from transforms.features import with_token_ids, with_tokens


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


def test_a_text_without_words_the_model_knows_is_not_judged(site, browser):
    """Symbols, emoji, or a language the vocabulary never saw: the page says it cannot judge
    (grey box, the reason, the model asked) and shows no verdict or confidence."""
    from PIL import Image

    cfg, url, _ = site
    for text, reason in [("@@@ ### !!!", "the text has no words"),
                         ("\U0001F600\U0001F389 \U0001F44D", "the text has no words"),
                         ("Ужасный фильм, очень скучный", "the text has no words"),
                         ("qwxz zzkq plorb vented", "none of its 4 word(s) is in the model's vocabulary"),
                         ("le film est nul et ennuyeux", "only 1 of its 6 words are in the model's vocabulary")]:
        page = submit(browser, url, text)
        assert page.locator("#verdict").count() == 0 and page.locator("#confidence").count() == 0
        assert page.inner_text("#label") == "cannot judge"
        assert page.inner_text("#reason").startswith("cannot judge this text: " + reason), text
        assert page.inner_text("#model").startswith(f"{cfg.models.name} v")
        assert page.inner_text("#echo") == text  # shown back, as text
        box = page.locator("#cannot-judge").bounding_box()
        image = Image.open(io.BytesIO(page.screenshot())).convert("RGB")
        assert image.getpixel((int(box["x"] + 5), int(box["y"] + box["height"] - 5))) == (0xE8, 0xE8, 0xE8)
        page.close()
    # a review in words the model knows still gets a verdict
    page = submit(browser, url, "the acting was superb and the film was wonderful")
    assert page.inner_text("#label") in ("positive", "negative") and page.locator("#cannot-judge").count() == 0
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
