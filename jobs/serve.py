"""Serve the review page (serving/web.py) from the scoring side.

    crosslake serve --profile cloud-cpu                  # http://127.0.0.1:8080/
    crosslake serve --host 0.0.0.0 --port 8080 --model-version 3

No Spark: the page loads the registered model from the shared store and scores one
review at a time in-process. Werkzeug's threaded server is enough for a small team's
page; behind a load balancer, run several replicas (each follows the production alias).
"""

from __future__ import annotations

import sys

if __name__ == "__main__":  # run as a file: import from the project root, not jobs/
    sys.path[0] = str(__import__("pathlib").Path(__file__).resolve().parents[1])

import logging
import signal

from crosslake.config import Config
from crosslake.runner import job_main

NAME = "serve"
NEEDS_SPARK = False
RECORD_RUN = False
HELP = "Serve the review page: paste a review, see positive/negative, its confidence and the model version."
log = logging.getLogger(__name__)


def add_arguments(parser) -> None:
    parser.add_argument("--host", help="address to listen on (default: serve.host)")
    parser.add_argument("--port", type=int, help="port (default: serve.port; 0 picks a free one)")
    parser.add_argument("--model-version", help="pin a version or alias (default: follow production)")


def run(_spark, cfg: Config, *, host: str | None = None, port: int | None = None,
        model_version: str | None = None) -> str:
    from werkzeug.serving import make_server

    from serving.web import create_app

    app = create_app(cfg, model_version=model_version)
    server = make_server(host or cfg.serve.host, cfg.serve.port if port is None else port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown())
    print(f"review page: http://{server.host}:{server.port}/ (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return "review page stopped"


def main(argv: list[str] | None = None) -> int:
    return job_main(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
