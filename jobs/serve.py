"""Serve the review page (serving/web.py) from the scoring side.

    crosslake serve --profile cloud-cpu                  # http://127.0.0.1:8080/
    crosslake serve --host 0.0.0.0 --port 8080 --model-version 3

No Spark: the page loads the registered model from the shared store and scores one
review at a time in-process, under waitress (serving/server.py: a fixed pool of worker
threads, requests read whole and capped before the app sees them). Behind a load
balancer, run several replicas (each follows the production alias).

Stopping: SIGTERM (Kubernetes, `docker stop`) and SIGINT (Ctrl-C) stop the page within
about a second plus the time requests already received need to finish (at most
serving.server.DRAIN_SECONDS); new connections are refused from the signal on. It exits 0:
a requested stop is not a failure (Kubernetes counts any exit after SIGTERM as terminated).
Before, the SIGTERM handler called werkzeug's server.shutdown() from the main thread,
which waits for serve_forever(), running in that same thread, to return: it never did.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file: import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import logging
import signal
import time

from crosslake.cli import STAGES
from crosslake.config import Config
from crosslake.errors import ConfigError
from crosslake.runner import job_main

NAME = "serve"
LAKE = "read"  # an existing lake (its model store); a read-only mount is fine: the page writes nothing
NEEDS_SPARK = False
RECORD_RUN = False
HELP = STAGES[NAME].help  # the one-line help lives in crosslake/cli.py (read by `crosslake --help`)
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--host", help="address to listen on (default: serve.host)")
    parser.add_argument("--port", type=int, help="port (default: serve.port; 0 picks a free one)")
    parser.add_argument("--model-version", help="pin a version or alias (default: follow production)")


def run(_spark, cfg: Config, *, host: str | None = None, port: int | None = None,
        model_version: str | None = None) -> str:
    from serving.server import ReviewServer
    from serving.web import create_app

    app = create_app(cfg, model_version=model_version)
    try:
        server = ReviewServer(app, host or cfg.serve.host, cfg.serve.port if port is None else port,
                              max_request_bytes=cfg.serve.max_request_bytes, max_chars=cfg.serve.max_chars)
    except OSError as exc:  # port taken, address not on this host, no permission
        raise ConfigError(f"cannot listen on {host or cfg.serve.host}:{cfg.serve.port if port is None else port} "
                          f"({exc.strerror or exc}): pick another --port / --host (serve.port, serve.host)") from None
    received = []

    def stop(signum, _frame):
        received.append((signal.Signals(signum).name, time.monotonic()))
        server.stop()  # only sets a flag (no lock, no I/O): the serving loop notices it within POLL_SECONDS

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    print(f"review page: http://{server.host}:{server.port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not received:
        return "review page stopped"
    name, at = received[0]
    log.info("review page: stopped by %s in %.1f s", name, time.monotonic() - at)
    return f"review page stopped ({name})"


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
