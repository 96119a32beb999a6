"""Bad input for the review page's API and for `crosslake serve` itself: what a hostile or
careless client sends, and how the process is stopped. Each malformed request gets a 4xx
with its own one-line message (never a 500 or a traceback); a text without words the
model knows gets "cannot judge"; SIGTERM stops the real process within seconds, exit 0.
The page runs as `crosslake serve` runs it (tests/review_site.py)."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.review_site import SITE_OVERRIDES, post, site  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[2]
JSON = "application/json"


def api(url: str, data: bytes, content_type: str | None = JSON) -> tuple[int, dict]:
    status, body = post(url + "/api/predict", data, content_type)
    return status, json.loads(body)


def test_sigterm_stops_the_real_crosslake_serve_within_seconds_exit_0(site):
    """Kubernetes and `docker stop` send SIGTERM: the page must go, not wait for SIGKILL.
    An idle keep-alive connection must not hold it open either."""
    cfg, _, root = site
    cmd = [str(ROOT / ".venv/bin/crosslake"), "serve", "--profile", "test", "--lake-root", str(root / "lake"),
           "--host", "127.0.0.1", "--port", "0", *sum((["--set", o] for o in SITE_OVERRIDES), [])]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    lines: list[tuple[float, str, str]] = []  # (when, stream, line), read as they come

    def read(stream, name):
        for line in stream:
            lines.append((time.monotonic(), name, line))

    readers = [threading.Thread(target=read, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=read, args=(proc.stderr, "err"), daemon=True)]
    for reader in readers:
        reader.start()

    def first(text: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for when, _, line in list(lines):
                if text in line:
                    return when
            time.sleep(0.05)
        return None

    try:
        assert first("review page: http://127.0.0.1:", 120), lines
        url = next(line for _, _, line in lines if line.startswith("review page: http")).split()[2].rstrip("/")
        status, body = api(url, json.dumps({"text": "the acting was superb"}).encode())
        assert status == 200 and body["model"] == {"name": cfg.models.name, "version": 1}
        parts = urlsplit(url)
        idle = socket.create_connection((parts.hostname, parts.port), timeout=5)  # keep-alive, never used
        time.sleep(0.5)  # accepted by now
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stopped = first("review page: stopped by SIGTERM", 10)
        assert stopped is not None and stopped - sent < 5.0, ("not stopped within 5 s", lines)
        try:
            assert idle.recv(1) == b""  # the idle connection was closed, not left hanging
        except ConnectionResetError:
            pass  # or reset, if it was still in the listen backlog: not hanging either
        with pytest.raises(OSError):
            socket.create_connection((parts.hostname, parts.port), timeout=2)
        rc = proc.wait(timeout=30)  # the interpreter's own exit (torch, GX unloading) takes a few s more here
        for reader in readers:
            reader.join(5)
        assert rc == 0, lines
        assert any(name == "out" and line.strip() == "review page stopped (SIGTERM)" for _, name, line in lines)
        assert not any("Traceback" in line for _, _, line in lines)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_request_in_flight_at_stop_is_answered_and_a_stalled_one_cut(site, monkeypatch):
    """After stop(): a request being received still gets its answer; one that stalls is cut
    when the drain time is up, and the server returns (no thread left waiting)."""
    import serving.server
    from serving.server import ReviewServer
    from serving.web import create_app

    cfg, _, _ = site
    monkeypatch.setattr(serving.server, "DRAIN_SECONDS", 1.5)
    server = ReviewServer(create_app(cfg), "127.0.0.1", 0, max_request_bytes=16384, max_chars=2000)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    body = json.dumps({"text": "the acting was superb"}).encode()
    head = (b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body))
    finishing = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    stalled = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    finishing.sendall(head + body[:5])
    stalled.sendall(head + body[:5])
    time.sleep(0.5)
    stopped = time.monotonic()
    server.stop()
    time.sleep(0.5)
    finishing.sendall(body[5:])
    reply = b""
    while data := finishing.recv(65536):  # until the server closes: no keep-alive past a stop
        reply += data
    assert reply.startswith(b"HTTP/1.1 200 ") and b'"verdict":' in reply
    thread.join(10)
    assert not thread.is_alive() and 1.4 < time.monotonic() - stopped < 4
    assert stalled.recv(1) == b""  # cut, cleanly
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)


def test_the_page_and_its_server_do_not_import_spark():
    """`crosslake serve` needs no Spark: the page's modules must not pull pyspark in."""
    code = ("import sys, serving.web, jobs.serve; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pyspark'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=ROOT, env=os.environ.copy())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_json_nested_too_deeply_is_400_not_500(site):
    _, url, _ = site
    for body in (b"[" * 16000, b'{"text": ' + b"[" * 16000, b'{"a": ' * 2700):
        status, answer = api(url, body)
        assert (status, answer) == (400, {"error": 'JSON nested too deeply: send an object one level deep, '
                                                   '{"text": "..."}'})


def test_invalid_json_non_utf8_and_content_type_mistakes_each_get_their_own_message(site):
    _, url, _ = site
    fix = 'send {"text": "..."} with Content-Type: application/json'
    cases = {
        "invalid JSON": (b'{"text": "great film"', JSON, 400,
                         "the body is not valid JSON (Expecting ',' delimiter at line 1, column 22): send an object "
                         "with the review in a field named 'text'"),
        "not UTF-8": (b'{"text": "caf\xe9 great"}', JSON, 400,
                      "the body is not UTF-8 (byte 0xe9 at offset 13): send JSON encoded as UTF-8"),
        "no Content-Type": (b'{"text": "great film"}', None, 415, f"the request has no Content-Type: {fix}"),
        "wrong Content-Type": (b'{"text": "great film"}', "text/plain", 415,
                               f"the Content-Type is 'text/plain', not JSON: {fix}"),
        "form Content-Type": (b"text=great", "application/x-www-form-urlencoded", 415,
                              f"the Content-Type is 'application/x-www-form-urlencoded', not JSON: {fix}"),
        "not UTF-8 charset": (b'{"text": "great film"}', "application/json; charset=latin-1", 415,
                              f"the Content-Type names charset 'latin-1'; JSON is UTF-8: {fix}"),
        "empty body": (b"", JSON, 400, f"the body is empty: {fix}"),
        "blank body": (b" \r\n ", JSON, 400, f"the body is empty: {fix}"),
    }
    seen = {}
    for case, (data, kind, want_status, want) in cases.items():
        status, answer = api(url, data, kind)
        assert (status, answer) == (want_status, {"error": want}), case
        assert "\n" not in answer["error"]
        seen[answer["error"]] = case
    assert len(seen) == len(cases) - 1  # one message per mistake (empty and blank are the same mistake)
    # a number longer than int() takes is invalid JSON to Python, not a crash
    status, answer = api(url, b'{"text": ' + b"1" * 5000 + b"}")
    assert status == 400 and answer["error"].startswith("the body is not valid JSON (Exceeds the limit")
    # the same text, correctly sent, is judged; a UTF-8 BOM is tolerated
    for data in (b'{"text": "great film"}', b'\xef\xbb\xbf{"text": "great film"}'):
        status, answer = api(url, data, "application/json; charset=utf-8")
        assert status == 200 and answer["verdict"] in ("positive", "negative")


def test_an_oversized_chunked_body_is_413_and_read_with_a_cap(site):
    """No Content-Length: the server must stop reading at the limit, not buffer 64 MiB."""
    cfg, url, _ = site
    parts = urlsplit(url)
    chunk = b"a" * 8192
    total, sent = 64 * 1024 * 1024, 0
    sock = socket.create_connection((parts.hostname, parts.port), timeout=10)
    try:
        sock.sendall(b"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n" + b'%x\r\n{"text": "\r\n' % len(b'{"text": "'))
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break  # the server has answered: stop sending
            try:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        reply = b""
        while True:
            try:
                data = sock.recv(65536)
            except ConnectionResetError:
                break
            if not data:
                break
            reply += data
    finally:
        sock.close()
    head, _, body = reply.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413 "), reply[:300]
    assert json.loads(body) == {"error": "the request is larger than 16,384 bytes; reviews may be at most "
                                         "2,000 characters"}
    assert sent < 4 * 1024 * 1024  # answered long before the client finished


@pytest.mark.parametrize("value, kind", [(42, "a number"), (4.5, "a number"), (True, "a boolean"),
                                         ({"body": "great"}, "an object"), (["great", "film"], "a list"),
                                         (None, "null")])
def test_a_field_of_the_wrong_type_is_400_naming_the_field(site, value, kind):
    _, url, _ = site
    status, answer = api(url, json.dumps({"text": value}).encode())
    assert (status, answer) == (400, {"error": f"the field 'text' must be a string, got {kind}"})


def test_json_that_is_not_an_object_with_one_text_is_400_saying_so(site):
    _, url, _ = site
    cases = {b'["great film"]': "the JSON is a list, not an object: send the review in a field named 'text', "
                                '{"text": "..."}',
             b'"great film"': "the JSON is a string, not an object: send the review in a field named 'text', "
                              '{"text": "..."}',
             b'{"review": "great film"}': "the JSON object has no field named 'text': send the review as "
                                          '{"text": "..."}',
             b'{"text": "great film", "text": "awful"}': "the JSON object has the field 'text' twice: send it once"}
    for data, want in cases.items():
        assert api(url, data) == (400, {"error": want}), data


@pytest.mark.parametrize("text, reason, known, tokens", [
    ("!!!", "no_known_words", 0, 0),
    ("@@@ ###", "no_known_words", 0, 0),
    ("\U0001F600\U0001F44D\U0001F3AC", "no_known_words", 0, 0),                  # emoji only
    ("これは素晴らしい映画です", "no_known_words", 0, 0),                          # a script the tokenizer skips
    ("Der Zug kommt heute spät", "no_known_words", 0, 6),                        # words, none known
    ("le film est nul et ennuyeux", "too_few_known_words", 1, 6),                # 1/6 < serve.min_known_fraction
])
def test_a_text_with_no_words_the_model_knows_gets_cannot_judge(site, text, reason, known, tokens):
    cfg, url, _ = site
    status, answer = api(url, json.dumps({"text": text}).encode())
    assert status == 200
    assert answer["verdict"] is None and answer["label"] is None and answer["probability"] is None
    assert answer["confidence"] is None
    assert (answer["reason"], answer["known_tokens"], answer["tokens"]) == (reason, known, tokens)
    assert answer["message"].startswith("cannot judge this text: ") and "\n" not in answer["message"]
    assert answer["model"]["name"] == cfg.models.name
    # one known word among few is enough at the floor; the rule is the known share, not a keyword
    status, answer = api(url, json.dumps({"text": "superb acting, bravo"}).encode())
    assert status == 200 and answer["verdict"] in ("positive", "negative")
    assert (answer["known_tokens"], answer["tokens"]) == (2, 3)


def test_serve_setting_mistakes_are_one_line_errors_exit_2(site, capsys):
    """A port already taken and an impossible serve.min_known_fraction: `error:` lines, exit 2."""
    from jobs.serve import main

    _, _, root = site
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        assert main(["--profile", "test", "--lake-root", str(root / "lake"), "--port", str(port)]) == 2
        err = capsys.readouterr().err.strip()
        assert err == (f"error: cannot listen on 127.0.0.1:{port} (Address already in use): pick another --port / "
                       f"--host (serve.port, serve.host)")
    finally:
        taken.close()
    assert main(["--profile", "test", "--lake-root", str(root / "lake"), "--set", "serve.min_known_fraction=1.5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: serve.min_known_fraction must be between 0 and 1 (got 1.5): fix --set serve.min_known_fraction=...")
