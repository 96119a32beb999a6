"""The review page's HTTP server: waitress, a production WSGI server in pure Python.

Why not Werkzeug's development server (what `crosslake serve` ran before): it starts a
thread per connection with no limit and no read timeout, so a few hundred slow clients
hold a few hundred threads of a 2 GiB pod, and Werkzeug says it is not for production.
Waitress reads each request whole (headers and body, de-chunked, capped at
`serve.max_request_bytes`) on one I/O thread before a fixed pool of `THREADS` workers
sees it, closes idle connections after `channel_timeout`, and stops accepting beyond
`connection_limit` connections.

Stopping: `stop()` only sets a flag, so it is safe from a signal handler (SIGTERM from
Kubernetes or `docker stop`, SIGINT from Ctrl-C). The loop then stops accepting, lets
requests already received finish for up to `DRAIN_SECONDS`, closes every connection and
returns. Errors that waitress answers itself (a body over the limit, broken chunked
encoding, headers too large) get one line, as JSON under /api/, not waitress's page.
"""

from __future__ import annotations

import json
import logging
import time

from waitress.channel import HTTPChannel
from waitress.server import create_server
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge
from waitress import wasyncore

log = logging.getLogger(__name__)

THREADS = 4              # requests scored at once (each is a few milliseconds of CPU)
DRAIN_SECONDS = 5.0      # on stop, requests already received get this long to finish
POLL_SECONDS = 0.25      # how often the loop looks at the stop flag


def too_large_message(max_request_bytes: int, max_chars: int) -> str:
    return (f"the request is larger than {max_request_bytes:,} bytes; "
            f"reviews may be at most {max_chars:,} characters")


class ReviewServer:
    """One listening socket, served until stop() (from any thread or a signal handler)."""

    def __init__(self, app, host: str, port: int, *, max_request_bytes: int, max_chars: int):
        # waitress refuses a body of max_request_body_size bytes or more; the page allows
        # up to max_request_bytes inclusive
        self.server = create_server(
            app, host=host, port=port, threads=THREADS, ident="crosslake",
            max_request_body_size=max_request_bytes + 1, max_request_header_size=65536,
            channel_timeout=60, connection_limit=200,
            expose_tracebacks=False, clear_untrusted_proxy_headers=True)
        self.server.channel_class = _channel_class(too_large_message(max_request_bytes, max_chars))
        self.host, self.port = host, self.server.effective_port
        self._stopping = False

    def stop(self) -> None:
        self._stopping = True

    def serve(self) -> None:
        server = self.server
        try:
            while not self._stopping:
                wasyncore.loop(timeout=POLL_SECONDS, map=server._map, use_poll=True, count=1)
            self._drain()
        finally:
            for channel in list(server.active_channels.values()):
                channel.handle_close()
            # workers first: one still finishing after the drain pulls the trigger when it is done
            server.task_dispatcher.shutdown(cancel_pending=True, timeout=1)
            server.trigger.close()

    def _drain(self) -> None:
        """Stop accepting; finish what was received; close idle keep-alive connections."""
        server = self.server
        server.accepting = False
        wasyncore.dispatcher.close(server)  # the listening socket only (not the trigger)
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline:
            for channel in list(server.active_channels.values()):
                if not channel.requests and not channel.total_outbufs_len and channel.request is None:
                    channel.will_close = True
            if not server.active_channels:
                return
            wasyncore.loop(timeout=0.05, map=server._map, use_poll=True, count=1)
        if server.active_channels:
            log.warning("review page: %d connection(s) cut after %.0f s", len(server.active_channels), DRAIN_SECONDS)


def _channel_class(too_large: str) -> type:
    class OneLineErrorTask(ErrorTask):
        """waitress's own refusals, as one line (JSON under /api/) with the page's wording."""

        def execute(self):
            error = self.request.error
            message = too_large if isinstance(error, RequestEntityTooLarge) else f"{error.reason.lower()}: {error.body}"
            if str(getattr(self.request, "path", "") or "").startswith("/api/"):
                body, kind = json.dumps({"error": message}).encode(), "application/json"
            else:
                body, kind = (message + "\n").encode(), "text/plain; charset=utf-8"
            self.status = f"{error.code} {error.reason}"
            self.response_headers.extend([("Content-Type", kind), ("X-Content-Type-Options", "nosniff")])
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class Channel(HTTPChannel):
        error_task_class = OneLineErrorTask

    return Channel
