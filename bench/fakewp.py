"""A minimal HTTP/1.1 keep-alive server that answers every request with one
fixed WordPress-shaped page of posts.

It is the baseline server of case 1 (per-request client overhead) and the fast
backend of case 6's per-call MCP measurement: run in its own process so that
its work never shares the client's interpreter (the GIL).

It is deliberately minimal, so that what the benchmark sees is the client's
cost: it reads the request head, skips any body, and sends a pre-built
answer (headers and body in one ``sendall``, TCP_NODELAY set). The answer is a
``/wp/v2/posts?per_page=10`` page as WordPress 6.1 sends it: ten posts with
``_links``, ``X-WP-Total``/``X-WP-TotalPages``, and the ``Link`` headers
(``rel="next"`` and the API root ``rel="https://api.w.org/"``). ``HEAD`` gets
the headers only; ``Connection: close`` (urllib) closes after the answer.

    python bench/fakewp.py            # prints the port, then serves until killed
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import sys
from typing import Any

POSTS_PER_PAGE = 10
TOTAL_POSTS = 2000

_PARAGRAPH = (
    "WordPress REST benchmark paragraph {n}: lorem ipsum dolor sit amet, consectetur "
    "adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua. "
    "Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip."
)


def post(base: str, n: int) -> dict[str, Any]:
    """One post as ``GET /wp/v2/posts`` (context view) renders it on WordPress 6.1."""
    api = f"{base}/wp-json/wp/v2"
    content = "".join(f"\n<p>{_PARAGRAPH.format(n=i)}</p>\n" for i in range(1, 4))
    return {
        "id": n,
        "date": f"2019-01-01T00:{n % 60:02d}:00",
        "date_gmt": f"2019-01-01T00:{n % 60:02d}:00",
        "guid": {"rendered": f"{base}/?p={n}"},
        "modified": f"2019-01-01T00:{n % 60:02d}:00",
        "modified_gmt": f"2019-01-01T00:{n % 60:02d}:00",
        "slug": f"bench-post-{n}",
        "status": "publish",
        "type": "post",
        "link": f"{base}/bench-post-{n}/",
        "title": {"rendered": f"Bench post {n}"},
        "content": {"rendered": content, "protected": False},
        "excerpt": {"rendered": f"<p>{_PARAGRAPH.format(n=1)[:150]} [&hellip;]</p>\n", "protected": False},
        "author": 1,
        "featured_media": 0,
        "comment_status": "open",
        "ping_status": "open",
        "sticky": False,
        "template": "",
        "format": "standard",
        "meta": [],
        "categories": [2],
        "tags": [],
        "_links": {
            "self": [{"href": f"{api}/posts/{n}"}],
            "collection": [{"href": f"{api}/posts"}],
            "about": [{"href": f"{api}/types/post"}],
            "author": [{"embeddable": True, "href": f"{api}/users/1"}],
            "replies": [{"embeddable": True, "href": f"{api}/comments?post={n}"}],
            "version-history": [{"count": 0, "href": f"{api}/posts/{n}/revisions"}],
            "wp:attachment": [{"href": f"{api}/media?parent={n}"}],
            "wp:term": [
                {"taxonomy": "category", "embeddable": True, "href": f"{api}/categories?post={n}"},
                {"taxonomy": "post_tag", "embeddable": True, "href": f"{api}/tags?post={n}"},
            ],
            "curies": [{"name": "wp", "href": "https://api.w.org/{rel}", "templated": True}],
        },
    }


def page_body(base: str) -> bytes:
    """The JSON body: ten posts, compact with escaped slashes, as PHP's json_encode writes it."""
    posts = [post(base, TOTAL_POSTS - i) for i in range(POSTS_PER_PAGE)]
    return json.dumps(posts, separators=(",", ":")).replace("/", "\\/").encode()


def answer(base: str, *, head: bool) -> bytes:
    body = page_body(base)
    pages = -(-TOTAL_POSTS // POSTS_PER_PAGE)
    headers = [
        "HTTP/1.1 200 OK",
        "Date: Tue, 01 Jan 2019 00:00:00 GMT",
        "Server: fakewp",
        "X-Powered-By: PHP/8.2",
        "Content-Type: application/json; charset=UTF-8",
        "X-Robots-Tag: noindex",
        "X-Content-Type-Options: nosniff",
        "Access-Control-Expose-Headers: X-WP-Total, X-WP-TotalPages, Link",
        "Access-Control-Allow-Headers: Authorization, X-WP-Nonce, Content-Disposition, "
        "Content-MD5, Content-Type",
        f"X-WP-Total: {TOTAL_POSTS}",
        f"X-WP-TotalPages: {pages}",
        f'Link: <{base}/wp-json/wp/v2/posts?per_page={POSTS_PER_PAGE}&page=2>; rel="next"',
        f'Link: <{base}/wp-json/>; rel="https://api.w.org/"',
        "Allow: GET",
        "Vary: Origin",
        f"Content-Length: {len(body)}",
    ]
    head_bytes = ("\r\n".join(headers) + "\r\n\r\n").encode("latin-1")
    return head_bytes if head else head_bytes + body


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            head, _, buf = buf.partition(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, _, rest = lines[0].partition(" ")
            version = rest.rpartition(" ")[2]
            fields = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip().lower()
            length = int(fields.get("content-length", "0") or 0)
            while len(buf) < length:
                data = sock.recv(65536)
                if not data:
                    return
                buf += data
            buf = buf[length:]
            sock.sendall(self.server.head if method == "HEAD" else self.server.full)
            connection = fields.get("connection", "")
            if connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive"):
                return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    head: bytes = b""
    full: bytes = b""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: any free one)")
    args = parser.parse_args()
    with _Server(("127.0.0.1", args.port), _Handler) as server:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        server.head = answer(base, head=True)
        server.full = answer(base, head=False)
        print(server.server_address[1], flush=True)
        try:
            server.serve_forever(poll_interval=0.5)
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
