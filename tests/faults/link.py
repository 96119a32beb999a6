"""A TCP link between the jobs and the object store that a test can cut and restore.

Stopping the store itself (moto keeps its objects in memory) would lose what it holds;
an outage is what the jobs see when the link goes down. `cut_on(pattern)` arms the link:
the first request whose bytes contain `pattern` (e.g. ``b"PUT /bucket/lake/bronze/part-"``)
is dropped unforwarded, every open connection is closed, and every new one is refused
until `restore()`. So a test can stop the store at an exact point of a write: after some
objects went through, before the one that matters.
"""

from __future__ import annotations

import socket
import threading


class CuttableLink:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.down = threading.Event()
        self.pattern: bytes | None = None
        self.cut_at: bytes | None = None    # the request line that tripped the cut
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cut_on(self, pattern: bytes) -> None:
        self.cut_at, self.pattern = None, pattern

    def cut(self) -> None:
        self.down.set()
        with self._lock:
            for s in list(self._open):
                _close(s)
            self._open.clear()

    def restore(self) -> None:
        self.pattern = None
        self.down.clear()

    def close(self) -> None:
        self.cut()
        self.server.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            if self.down.is_set():
                _close(client)
                continue
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, outbound: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if self.down.is_set():
                    break
                if outbound and self.pattern is not None and self.pattern in chunk:
                    self.cut_at = chunk.split(b"\r\n", 1)[0]
                    self.cut()
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(sink)


def _close(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()
