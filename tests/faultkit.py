"""Fault injection for the reliability tests: a loopback HTTP server whose
answers are raw socket behaviour, and a scan for leaked secrets.

``FaultServer(handler)`` runs on 127.0.0.1 (a fixed port if asked). For each
request it parses the request line, headers and ``Content-Length`` body,
records a ``Hit``, and calls ``handler(hit, conn)``; the handler writes
whatever bytes it likes to ``conn`` (a ``Conn``) and may reset, stall or
trickle. Anything the handler does not close is answered as keep-alive.

At the end: the fault tests' credentials and client (short timeout, no retries),
handlers that echo those credentials back, and every form of the lab users'
application passwords (``lab_secrets``) for the leak scans.
"""

from __future__ import annotations

import base64
import email.utils
import gzip
import json
import re
import socket
import ssl
import struct
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wp_rest


@dataclass
class Hit:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Conn:
    """One accepted connection, as a fault handler sees it."""

    def __init__(self, sock: socket.socket, stop: threading.Event) -> None:
        self.sock = sock
        self.stop = stop
        self.closed = False

    def send(self, data: bytes) -> bool:
        """Write; False once the client has gone."""
        try:
            self.sock.sendall(data)
            return True
        except OSError:
            self.closed = True
            return False

    def trickle(self, data: bytes, *, every: float, chunk: int = 1) -> None:
        """Send ``chunk`` bytes every ``every`` seconds until done, the client leaves or the server stops."""
        for start in range(0, len(data), chunk):
            if self.stop.wait(every) or not self.send(data[start:start + chunk]):
                return

    def stall(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def close(self) -> None:
        """A clean close (FIN)."""
        if not self.closed:
            self.closed = True
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self.sock.close()

    def reset(self) -> None:
        """An abortive close: the client sees ECONNRESET (RST), not an orderly end."""
        if not self.closed:
            self.closed = True
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.sock.close()


Handler = Callable[[Hit, Conn], None]


class FaultServer:
    def __init__(self, handler: Handler, *, port: int = 0, host: str = "127.0.0.1",
                 tls: ssl.SSLContext | None = None) -> None:
        self.handler = handler
        self.hits: list[Hit] = []
        self.connections = 0
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, port))
        self.host = host
        self.tls = tls
        self._listener.listen(64)
        self._listener.settimeout(0.05)
        self.port: int = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._accepter = threading.Thread(target=self._accept, daemon=True)
        self._accepter.start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def methods(self) -> list[str]:
        with self._lock:
            return [h.method for h in self.hits]

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except (TimeoutError, OSError):
                continue
            with self._lock:
                self.connections += 1
                self._socks.append(sock)
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        sock.settimeout(5)
        if self.tls is not None:
            try:
                wrapped = self.tls.wrap_socket(sock, server_side=True)
            except OSError:  # the client refused our certificate
                sock.close()
                return
            with self._lock:  # close() must shut down the socket that now owns the descriptor
                self._socks.append(wrapped)
            sock = wrapped
        conn = Conn(sock, self.stop)
        reader = sock.makefile("rb")
        try:
            while not conn.closed and not self.stop.is_set():
                hit = _read_request(reader)
                if hit is None:
                    break
                with self._lock:
                    self.hits.append(hit)
                self.handler(hit, conn)
        except OSError:
            pass
        finally:
            reader.close()
            conn.close()

    def close(self) -> None:
        self.stop.set()
        self._accepter.join(2)
        self._listener.close()
        with self._lock:
            socks = list(self._socks)
        for sock in socks:  # wakes serving threads blocked in a read
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(2)


def _read_request(reader: Any) -> Hit | None:
    line = reader.readline(65537)
    if not line.strip():
        return None
    method, path, _ = line.decode("latin-1").split(" ", 2)
    headers: dict[str, str] = {}
    while True:
        raw = reader.readline(65537)
        if raw in (b"\r\n", b"\n", b""):
            break
        name, _, value = raw.decode("latin-1").partition(":")
        headers[name.strip()] = value.strip()
    length = int(next((v for k, v in headers.items() if k.lower() == "content-length"), "0"))
    body = reader.read(length) if length else b""
    return Hit(method, path, headers, body)


@contextmanager
def fault_server(handler: Handler, *, port: int = 0, host: str = "127.0.0.1",
                 tls: ssl.SSLContext | None = None) -> Iterator[FaultServer]:
    server = FaultServer(handler, port=port, host=host, tls=tls)
    try:
        yield server
    finally:
        server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def self_signed_cert(directory: Path) -> Path:
    """A self-signed certificate and key (one PEM file) for localhost and 127.0.0.1."""
    pem = directory / "localhost.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        check=True, capture_output=True)
    pem.write_text((directory / "cert.pem").read_text() + (directory / "key.pem").read_text())
    return pem


def tls_server_context(pem: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pem)
    return ctx


# --- Ready-made answers -------------------------------------------------------

API_LINK = '<http://127.0.0.1/wp-json/>; rel="https://api.w.org/"'


def response(status: int, body: bytes | str | Any = b"", headers: dict[str, str] | None = None,
             *, reason: str = "X", length: int | None = None) -> bytes:
    """The bytes of one HTTP/1.1 response; ``length`` overrides Content-Length (to lie)."""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    hdrs = {"Content-Type": "application/json; charset=UTF-8"}
    hdrs.update(headers or {})
    if "Transfer-Encoding" not in hdrs:
        hdrs.setdefault("Content-Length", str(len(body) if length is None else length))
    head = f"HTTP/1.1 {status} {reason}\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    return head.encode("latin-1") + b"\r\n" + body


def wp_error(status: int, code: str = "rest_x", message: str = "No.") -> bytes:
    return response(status, {"code": code, "message": message, "data": {"status": status}})


def answer(data: bytes) -> Handler:
    """Always send ``data`` and keep the connection."""
    def handler(hit: Hit, conn: Conn) -> None:
        conn.send(data)
    return handler


def script(*steps: Handler) -> Handler:
    """The n-th request gets the n-th step; the last step repeats."""
    count = iter(range(10**9))

    def handler(hit: Hit, conn: Conn) -> None:
        n = next(count)
        steps[min(n, len(steps) - 1)](hit, conn)

    return handler


def gzipped(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def http_date(seconds_from_now: float) -> str:
    return email.utils.formatdate(time.time() + seconds_from_now, usegmt=True)


# --- Secrets ------------------------------------------------------------------


def secret_forms(*secrets: str) -> list[str]:
    """The secrets plus their spelling without spaces (how application passwords travel)."""
    forms: list[str] = []
    for secret in secrets:
        forms += [secret, secret.replace(" ", "")]
    return sorted(set(f for f in forms if len(f) >= 8))


def basic_token(username: str, password: str) -> str:
    return base64.b64encode(f"{username}:{password.replace(' ', '')}".encode()).decode()


def texts_of(obj: Any, _seen: set[int] | None = None) -> Iterator[str]:
    """Every text an object shows: str/repr, attributes, args, and the exception chain."""
    seen = _seen if _seen is not None else set()
    if id(obj) in seen or obj is None:
        return
    seen.add(id(obj))
    if isinstance(obj, (str, bytes)):
        yield obj.decode("latin-1") if isinstance(obj, bytes) else obj
        return
    if isinstance(obj, (int, float, bool)):
        return
    yield str(obj)
    yield repr(obj)
    if isinstance(obj, dict):
        for key, value in obj.items():
            yield from texts_of(key, seen)
            yield from texts_of(value, seen)
        return
    if isinstance(obj, (list, tuple, set, frozenset)):
        for item in obj:
            yield from texts_of(item, seen)
        return
    if isinstance(obj, BaseException):
        yield from texts_of(obj.args, seen)
        yield from texts_of(getattr(obj, "__notes__", None), seen)
        yield from texts_of(obj.__cause__, seen)
        yield from texts_of(obj.__context__, seen)
    attrs = getattr(obj, "__dict__", None)
    if isinstance(attrs, dict):
        yield from texts_of(attrs, seen)


def leaks(secrets: Iterable[str], *objects: Any) -> list[str]:
    """Which secrets appear anywhere in ``objects`` (see ``texts_of``)."""
    forms = list(secrets)
    found = set()
    for obj in objects:
        for text in texts_of(obj):
            for secret in forms:
                if secret in text:
                    found.add(secret)
    return sorted(found)


def normalise(text: str) -> str:
    """A message with the run's random ports and addresses made stable, for the report."""
    text = re.sub(r"(127\.0\.0\.\d+):\d+", r"\1:PORT", text)
    text = re.sub(r"\b\d+(\.\d+)? bytes read\b", "N bytes read", text)
    return " ".join(text.split())


@dataclass
class Sleeps:
    """An injectable ``sleep`` that records instead of waiting."""

    calls: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def describe(outcome: Any, elapsed: float | None = None) -> str:
    """One line for the report: the exception type, its telling attributes, its message."""
    if isinstance(outcome, BaseException):
        attrs = []
        for name in ("status", "code", "request_sent", "retry_after"):
            value = getattr(outcome, name, None)
            if value is not None:
                attrs.append(f"{name}={round(value, 1) if isinstance(value, float) else value!r}")
        first = str(outcome).split("\n")
        text = normalise(first[0])
        if len(first) > 1:
            text += " / " + normalise(first[-1])
        if len(text) > 240:
            text = text[:237] + "..."
        head = type(outcome).__name__ + (f"({', '.join(attrs)})" if attrs else "")
        line = f"{head}: {text}"
    else:
        line = normalise(str(outcome))[:240]
    return line + (f" [{elapsed:.2f} s]" if elapsed is not None else "")


# --- The fault tests' client and credentials, and servers that echo them -------------------


USER = "admin"
SECRET = "abcd EFGH 1234 ijkl MNOP 6789"
SECRETS = [*secret_forms(SECRET), basic_token(USER, SECRET)]
#: Seconds one attempt may take; slow faults must end within it (plus scheduling slack).
TIMEOUT = 0.3


def client_for(url: str, **kwargs: Any) -> wp_rest.Client:
    kwargs.setdefault("auth", wp_rest.ApplicationPassword(USER, SECRET))
    kwargs.setdefault("timeout", TIMEOUT)
    kwargs.setdefault("retry", False)
    return wp_rest.Client(url + "/wp-json/", **kwargs)


def echo_credentials(hit: Hit, conn: Conn) -> None:
    """A debug page or WAF block page that prints the request's headers back."""
    auth = hit.headers.get("Authorization", "")
    password = SECRET.replace(" ", "")
    page = f"<html><pre>Authorization: {auth}\nPHP_AUTH_PW: {password}</pre></html>"
    conn.send(response(200, page, {"Content-Type": "text/html"}))


def echo_in_status_line(hit: Hit, conn: Conn) -> None:
    conn.send(f"{hit.headers.get('Authorization', '')} 200 OK\r\n\r\n".encode())
    conn.close()


def echo_in_wp_error(hit: Hit, conn: Conn) -> None:
    password = SECRET.replace(" ", "")
    conn.send(response(401, {"code": "rest_bad", "message": f"Bad password {password} for\\/ "
                             f"{hit.headers.get('Authorization', '').replace('/', chr(92) + '/')}",
                             "data": {"status": 401}}))


def lab_secrets(lab: dict[str, Any]) -> list[str]:
    users = lab["sites"]["main"]["users"].values()
    return [s for u in users for s in secret_forms(u["app_password"])]
