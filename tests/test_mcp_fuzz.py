"""Hostile tool arguments, fuzzed with hypothesis, against mcp_server.py.

The server runs in-process on an in-memory WordPress behind the client's
transport seam; every request that reaches it is recorded and checked: a tool
call either fails with a message before WordPress hears of it, or sends only
values WordPress would accept. Each property records an observation for
RELIABILITY.md.
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client as MCPClient

import mcp_server
import wp_rest
from reliability_log import observe

ROOT = "http://127.0.0.1:9/wp-json/"
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")


class MemoryWP:
    """Just enough of WordPress's REST API, in memory, to let every tool run; keeps every request."""

    def __init__(self) -> None:
        self.requests: list[wp_rest.Request] = []
        self.items: dict[str, dict[int, dict[str, Any]]] = {"posts": {}, "pages": {}, "categories": {},
                                                            "tags": {}, "media": {}, "comments": {}}
        self.next_id = 100
        for status in ("draft", "draft", "publish"):
            self.add("posts", status=status, title={"raw": "T", "rendered": "T"})
        self.add("categories", name="News", slug="news")

    def add(self, kind: str, **fields: Any) -> dict[str, Any]:
        self.next_id += 1
        item = {"id": self.next_id, "status": "draft", "modified": "2024-01-01T00:00:00", "link": "", **fields}
        self.items[kind][self.next_id] = item
        return item

    def __call__(self, request: wp_rest.Request) -> wp_rest.Response:
        self.requests.append(request)
        url = urllib.parse.urlsplit(request.url)
        path = url.path.split("/wp-json", 1)[1].rstrip("/")
        query = dict(urllib.parse.parse_qsl(url.query))
        body = json.loads(request.body) if request.body and request.body[:1] == b"{" else {}
        if path == "":
            return self.json(200, {"name": "Mem", "url": "http://127.0.0.1:9", "namespaces": ["wp/v2"],
                                   "timezone_string": "UTC"})
        if path == "/wp/v2/types":
            caps = {"create_posts": "edit_posts", "edit_posts": "edit_posts"}
            return self.json(200, {"post": {"rest_base": "posts", "capabilities": caps},
                                   "page": {"rest_base": "pages", "capabilities": caps}})
        if path == "/wp/v2/users/me":
            return self.json(200, {"id": 1, "name": "Ed", "roles": ["editor"],
                                   "capabilities": {"edit_posts": True, "publish_posts": True}})
        match = re.fullmatch(r"/wp/v2/(\w+)(?:/(\d+))?(?:/revisions)?", path)
        if not match or match[1] not in self.items:
            return self.json(404, {"code": "rest_no_route", "message": "No route.", "data": {"status": 404}})
        kind, item_id = match[1], int(match[2]) if match[2] else None
        if item_id is None:
            return self.collection(request.method, kind, query, body)
        item = self.items[kind].get(item_id)
        if item is None:
            return self.json(404, {"code": "rest_post_invalid_id", "message": "Invalid ID.", "data": {"status": 404}})
        if request.method == "DELETE":
            item["status"] = "trash"
        elif request.method == "POST":
            item.update(body)
        return self.json(200, item)

    def collection(self, method: str, kind: str, query: dict[str, str], body: dict[str, Any]) -> wp_rest.Response:
        if method == "POST":
            return self.json(201, self.add(kind, **(body or {"name": "upload"})))
        items = list(self.items[kind].values())
        if "include" in query:
            wanted = {int(i) for i in query["include"].split(",")}
            items = [i for i in items if i["id"] in wanted]
        return self.json(200, items, **{"X-WP-Total": str(len(items)), "X-WP-TotalPages": "1"})

    @staticmethod
    def json(status: int, value: Any, **headers: str) -> wp_rest.Response:
        return wp_rest.Response(status, {"Content-Type": "application/json", **headers}, json.dumps(value).encode())


ANY_JSON = (st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=30)
            | st.lists(st.integers(-5, 5) | st.text(max_size=5), max_size=3)
            | st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))
INTS = st.integers(-2**64, 2**64) | st.sampled_from([0, -1, 1, 101, 2**63]) | st.booleans() | st.floats() | st.text(max_size=4)
FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "post_id": INTS, "page": INTS, "per_page": INTS, "author": INTS, "featured_media": INTS, "featured_for": INTS,
    "comment_id": INTS, "revision_id": INTS, "parent": INTS,
    "status": st.sampled_from(["draft", "publish", "future", "trash", "any", "auto-draft", "", "DRAFT"]) | ANY_JSON,
    "type": st.sampled_from(["post", "page", "attachment", "nope", "../x", ""]) | ANY_JSON,
    "title": st.text(max_size=30) | ANY_JSON, "content": st.text(max_size=30) | ANY_JSON,
    "content_format": st.sampled_from(["markdown", "html", "rtf", ""]) | ANY_JSON,
    "categories": st.lists(INTS | st.text(max_size=8), max_size=55) | ANY_JSON,
    "tags": st.lists(INTS | st.text(max_size=8), max_size=55) | ANY_JSON,
    "meta": st.dictionaries(st.text(max_size=5), ANY_JSON, max_size=3) | ANY_JSON,
    "search": st.text(max_size=250) | ANY_JSON, "slug": st.text(max_size=210) | ANY_JSON,
    "date": st.sampled_from(["2024-01-02", "2099-01-02T03:04:05", "2024-13-45", "tomorrow", ""]) | ANY_JSON,
    "force": ANY_JSON, "expected_modified": st.text(max_size=45) | ANY_JSON,
    "action": st.sampled_from(["approve", "hold", "spam", "trash", "delete"]) | ANY_JSON,
    "orderby": st.sampled_from(["date", "id", "rand"]) | ANY_JSON, "order": st.sampled_from(["asc", "up"]) | ANY_JSON,
    "filename": st.sampled_from(["a.png", "../a.png", "a", "/etc/passwd", "a\x00.png", "dir/a.png"]) | ANY_JSON,
    "content_base64": st.sampled_from(["AAAA", "!!", "data:image/png;base64,AAAA", ""]) | ANY_JSON,
    "path": st.sampled_from(["pic.png", "sub/pic.png", "../outside.png", "/etc/passwd", "link-out.png", "sub",
                             ".", "", "pic.png\x00", "sub/../pic.png", "sub/../../outside.png"]) | ANY_JSON,
    "alt_text": st.text(max_size=20) | ANY_JSON, "excerpt": st.text(max_size=20) | ANY_JSON,
    "before": st.sampled_from(["2024-01-02", "x"]) | ANY_JSON, "after": st.sampled_from(["2024-01-02", "x"]) | ANY_JSON,
    "media_type": st.sampled_from(["image", "exe"]) | ANY_JSON, "bogus_extra": ANY_JSON,
}
#: The doctor (diagnose_site) has its own tests; abilities need a 6.9+ site.
TOOLS = sorted(fn.__name__ for fn, *_ in mcp_server.TOOLS
               if "abilit" not in fn.__name__ and "diagnose" not in fn.__name__)


class Harness:
    """One in-memory MCP client on a MemoryWP, driven from sync hypothesis tests through a portal."""

    def __init__(self, upload_dir: Path) -> None:
        self.upload_dir = upload_dir
        self.reset()
        config = mcp_server.Config(upload_dir=upload_dir, max_upload_bytes=1024)
        transport = wp_rest.MockTransport(lambda request: self.wp(request))
        client = wp_rest.Client(ROOT, auth=wp_rest.ApplicationPassword("ed", "abcd efgh ijkl mnop qrst uvwx"),
                                    transport=transport, retry=False)
        self.server = mcp_server.build_server(config, client)

    def reset(self) -> None:
        """A fresh site for every example, so that hypothesis can replay a failure."""
        self.wp = MemoryWP()


@pytest.fixture(scope="module")
def mcp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Harness, Any, Any]]:
    base = tmp_path_factory.mktemp("mcp-fuzz")
    root = base / "uploads"
    (root / "sub").mkdir(parents=True)
    (root / "pic.png").write_bytes(PNG)
    (root / "sub" / "pic.png").write_bytes(PNG)
    (base / "outside.png").write_bytes(b"OUTSIDE")
    (root / "link-out.png").symlink_to(base / "outside.png")
    harness = Harness(root.resolve())
    with anyio.from_thread.start_blocking_portal("asyncio") as portal:
        with portal.wrap_async_context_manager(MCPClient(harness.server)) as client:
            yield harness, portal, client


def check_requests(harness: Harness) -> None:
    """Whatever the agent sent, WordPress only ever received valid values."""
    for request in harness.wp.requests:
        url = urllib.parse.urlsplit(request.url)
        for number in re.findall(r"/(\d+)(?=/|$)", url.path):
            assert 0 < int(number) < 2**63, request.url
        query = dict(urllib.parse.parse_qsl(url.query))
        if "per_page" in query:
            assert 1 <= int(query["per_page"]) <= 100, request.url
        if "page" in query:
            assert int(query["page"]) >= 1, request.url
        if request.method == "POST" and request.body and request.body[:1] == b"{":
            body = json.loads(request.body)
            assert body.get("status", "draft") in {"draft", "pending", "private", "hold", "spam", "approved"}, body
            for key in ("categories", "tags"):
                assert all(type(t) is int and t > 0 for t in body.get(key, [])), body
        if "/wp/v2/media" in url.path and request.method == "POST" and request.body:
            assert b"OUTSIDE" not in request.body and len(request.body) <= 1024


_counts: dict[str, int] = {}


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(tool=st.sampled_from(TOOLS), data=st.data())
def prop_tools_validate_every_argument(mcp: tuple[Harness, Any, Any], tool: str, data: st.DataObject) -> None:
    harness, portal, client = mcp
    harness.reset()
    names = data.draw(st.lists(st.sampled_from(sorted(FIELDS)), max_size=5, unique=True), label="fields")
    args = {name: data.draw(FIELDS[name], label=name) for name in names}
    if "post_id" not in args and data.draw(st.booleans()):
        args["post_id"] = data.draw(st.sampled_from(sorted(harness.wp.items["posts"])))
    _counts[tool] = _counts.get(tool, 0) + 1
    result = portal.call(client.call_tool, tool, args)
    if result.is_error:
        message = " ".join(getattr(c, "text", "") for c in result.content)
        assert message.strip() and len(message) < 2000, result
        assert "Traceback" not in message and "pydantic" not in message, message
        # The SDK withholds the text of an unexpected exception: a bare "Error executing tool x" is a crash.
        assert not re.fullmatch(r"Error executing tool \w+", message.strip()), (tool, args)
    check_requests(harness)


def test_mcp_argument_observation(mcp: tuple[Harness, Any, Any]) -> None:
    with observe("mcp arguments", f"fuzzed arguments for {len(TOOLS)} tools: ids <= 0, 2**64, bools, floats, "
                 "strings; per_page/page out of range; statuses; unknown types; paths ../, absolute, symlink out, "
                 "NUL; oversized base64; unknown fields",
                 "refused with a short message (is_error) before WordPress is called, or only valid values "
                 "reach WordPress") as obs:
        prop_tools_validate_every_argument(mcp)
        obs.observed = (f"{sum(_counts.values())} calls ("
                        + ", ".join(f"{k} {v}" for k, v in sorted(_counts.items())) + "), all held")


@pytest.mark.parametrize(("tool", "args", "needle"), [
    ("get_post", {"post_id": -1}, "post_id"),
    ("get_post", {"post_id": 1.5}, "post_id"),
    ("get_post", {"post_id": True}, "post_id"),
    ("get_post", {"post_id": "7"}, "post_id"),
    ("delete_post", {"post_id": "5 OR 1=1"}, "post_id"),
    ("delete_post", {"post_id": 2**63}, "post_id"),
    ("list_posts", {"page": 0}, "page"),
    ("list_posts", {"author": 0}, "author"),
    ("list_posts", {"status": "auto-draft"}, "status"),
    ("list_categories", {"per_page": 101}, "per_page"),
    ("list_tags", {"per_page": 0}, "per_page"),
    ("create_post", {"title": "x" * 1001}, "title"),
    ("create_post", {"title": "x", "featured_media": -1}, "featured_media"),
    ("create_post", {"title": "x", "tags": list(range(1, 60))}, "tags"),
    ("create_post", {"title": "x", "type": "../users"}, "type"),
    ("create_post", {"title": "x", "sticky": True}, "sticky"),
    ("update_post", {"post_id": 101, "expected_modified": "x" * 41}, "expected_modified"),
    ("moderate_comment", {"comment_id": 1, "action": "delete"}, "action"),
    ("upload_media", {"content_base64": "AAAA", "filename": "a.png", "featured_for": 0}, "featured_for"),
    ("upload_media", {"content_base64": "AAAA", "filename": "dir/a.png"}, "filename"),
])
def test_mcp_refusals_name_the_argument(mcp: tuple[Harness, Any, Any], tool: str, args: dict[str, Any],
                                        needle: str) -> None:
    harness, portal, client = mcp
    with observe("mcp arguments", f"{tool} {json.dumps(args)[:80]}", f"is_error naming {needle}") as obs:
        harness.reset()
        result = portal.call(client.call_tool, tool, args)
        message = " ".join(getattr(c, "text", "") for c in result.content)
        obs.observed = f"is_error={result.is_error}: {' '.join(message.split())[:160]}"
        assert result.is_error and needle in message and len(message) < 300
        assert harness.wp.requests == []
