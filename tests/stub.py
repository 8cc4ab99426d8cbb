"""A loopback HTTP server for unit tests: scripted answers, counted connections, raw faults.

It stands in for the network, never for WordPress behaviour: tests that
claim how WordPress answers run against the real lab (tests/wp/lab.sh).
"""

from __future__ import annotations

import http.server
import json
import socketserver
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import wp_rest


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    body: bytes | str | Any = b""
    headers: dict[str, str] = field(default_factory=dict)
    #: Write these raw bytes instead of a proper response (then close).
    raw: bytes | None = None

    def encoded(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        if isinstance(self.body, str):
            return self.body.encode()
        return json.dumps(self.body).encode()


Handler = Callable[[Seen], "Answer | Callable[[Any], None]"]


def json_answer(value: Any, status: int = 200, **headers: str) -> Answer:
    hdrs = {"Content-Type": "application/json; charset=UTF-8"}
    hdrs.update({k.replace("_", "-"): v for k, v in headers.items()})
    return Answer(status, json.dumps(value).encode(), hdrs)


def json_response(value: Any) -> wp_rest.Response:
    return wp_rest.Response(200, {"Content-Type": "application/json"}, json.dumps(value).encode())


class StubServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Seen] = []
        self.connections = 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _RequestHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _RequestHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: StubServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        seen = Seen(self.command, self.path, dict(self.headers.items()), body)
        with self.server.lock:
            self.server.seen.append(seen)
        answer = self.server.handler(seen)
        if callable(answer):
            answer(self)  # raw control of the socket, for faults
            self.close_connection = True
            return
        if answer.raw is not None:
            self.wfile.write(answer.raw)
            self.wfile.flush()
            self.close_connection = True
            return
        data = answer.encoded()
        self.send_response(answer.status)
        for name, value in answer.headers.items():
            self.send_header(name, value)
        if "Content-Length" not in answer.headers:
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve


@contextmanager
def serve(handler: Handler, tls: ssl.SSLContext | None = None) -> Iterator[StubServer]:
    """Run a stub on 127.0.0.1 (over TLS with ``tls``, a server-side context) until the block ends."""
    server = StubServer(handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
