"""Tests for mcp_server.py: the SDK's in-process client against a fake wp_rest.Client,
then (marker ``wordpress``) against the real WordPress lab (``bash tests/wp/lab.sh up``).
"""

from __future__ import annotations

import base64
import json
import logging
import os
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.types import CallToolResult

import mcp_server
import wp_rest
from mcp_server import Config, build_server

READ_TOOLS = {"list_posts", "get_post", "list_categories", "list_tags", "get_site_info"}
WRITE_TOOLS = {"create_post", "update_post", "delete_post", "upload_media"}
SITE = "http://wp.test"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- A fake wp_rest.Client ----------------------------------------------------


def _error(
    cls: type[wp_rest.APIError], status: int, code: str, message: str, data: Any = None
) -> wp_rest.APIError:
    return cls(
        status, code, message, data if data is not None else {"status": status}, method="GET", url=SITE
    )


class FakeWP:
    """The wp_rest.Client methods mcp_server uses, backed by dicts; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.posts: dict[int, dict[str, Any]] = {}
        self.terms: dict[str, dict[int, dict[str, Any]]] = {"categories": {}, "tags": {}}
        self.media: dict[int, dict[str, Any]] = {}
        self.next_id = 100
        self.fail: dict[str, Exception] = {}  # method name -> exception to raise
        self.caps = {
            "edit_posts": True,
            "publish_posts": True,
            "upload_files": True,
            "manage_categories": True,
        }

    def _call(self, method: str, /, *args: Any, **kwargs: Any) -> None:
        self.calls.append((method, args, kwargs))
        if method in self.fail:
            raise self.fail[method]

    def called(self, name: str) -> list[dict[str, Any]]:
        return [kw for n, _, kw in self.calls if n == name]

    def _id(self) -> int:
        self.next_id += 1
        return self.next_id

    def add_post(self, **fields: Any) -> dict[str, Any]:
        pid = self._id()
        post = {
            "id": pid,
            "status": "draft",
            "title": {"raw": "T", "rendered": "T"},
            "content": {"raw": "", "rendered": ""},
            "excerpt": {"raw": "", "rendered": ""},
            "date": "2024-01-01T10:00:00",
            "modified": "2024-01-01T10:00:00",
            "slug": f"p{pid}",
            "link": f"{SITE}/?p={pid}",
            "author": 1,
            "categories": [],
            "tags": [],
            "featured_media": 0,
        }
        post.update(fields)
        self.posts[pid] = post
        return post

    def add_term(self, taxonomy: str, name: str) -> int:
        tid = self._id()
        self.terms[taxonomy][tid] = {
            "id": tid,
            "name": name,
            "slug": name.lower().replace(" ", "-"),
            "count": 0,
            "parent": 0,
        }
        return tid

    def _post(self, pid: int) -> dict[str, Any]:
        if pid not in self.posts:
            raise _error(wp_rest.NotFound, 404, "rest_post_invalid_id", "Invalid post ID.")
        return self.posts[pid]

    # -- the API --
    def index(self) -> dict[str, Any]:
        self._call("index")
        return {
            "name": "Lab &amp; Co",
            "description": "Just <b>another</b> site",
            "url": SITE,
            "home": SITE,
            "namespaces": ["oembed/1.0", "wp/v2"],
            "authentication": {},
        }

    def me(self) -> dict[str, Any]:
        self._call("me")
        return {
            "id": 2,
            "name": "Ann Author",
            "slug": "author",
            "roles": ["author"],
            "capabilities": self.caps,
        }

    def create_post(
        self, *, title: str, content: str = "", status: str = "draft", **fields: Any
    ) -> dict[str, Any]:
        self._call("create_post", title=title, content=content, status=status, **fields)
        return self.add_post(
            title={"raw": title, "rendered": title},
            status=status,
            content={"raw": content, "rendered": content},
            **fields,
        )

    def list_posts(self, **params: Any) -> wp_rest.Page:
        self._call("list_posts", **params)
        items = [
            {
                "id": 7,
                "title": {"rendered": "Caf&eacute; <em>news</em>"},
                "status": "publish",
                "date": "d",
                "modified": "m",
                "link": f"{SITE}/cafe/",
                "excerpt": {"rendered": "<p>" + "word " * 200 + "</p>"},
            },
        ]
        return wp_rest.Page(
            items=items,
            page=params.get("page", 1),
            per_page=params.get("per_page", 10),
            total=25,
            total_pages=3,
        )

    def get_post(self, id: int, **params: Any) -> dict[str, Any]:
        self._call("get_post", id, **params)
        post = dict(self._post(id))
        if params.get("context") != "edit":
            post["content"] = {"rendered": post["content"].get("rendered", "")}
            post["title"] = {"rendered": post["title"]["rendered"]}
        return post

    def update_post(self, id: int, **fields: Any) -> dict[str, Any]:
        self._call("update_post", id, **fields)
        post = self._post(id)
        post.update(fields)
        if "title" in fields:
            post["title"] = {"raw": fields["title"], "rendered": fields["title"]}
        post["modified"] = "2024-06-01T12:00:00"
        return post

    def delete_post(self, id: int, *, force: bool = False) -> dict[str, Any]:
        self._call("delete_post", id, force=force)
        post = self._post(id)
        if force:
            del self.posts[id]
            return {"deleted": True, "previous": post}
        post["status"] = "trash"
        return post

    def list_terms(self, taxonomy: str, **params: Any) -> wp_rest.Page:
        self._call("list_terms", taxonomy, **params)
        search = str(params.get("search", "")).lower()
        items = [t for t in self.terms[taxonomy].values() if search in t["name"].lower()]
        return wp_rest.Page(
            items=items,
            page=params.get("page", 1),
            per_page=params.get("per_page", 10),
            total=len(items),
            total_pages=1 if items else 0,
        )

    def create_term(self, taxonomy: str, *, name: str, **fields: Any) -> dict[str, Any]:
        self._call("create_term", taxonomy, name=name, **fields)
        return self.terms[taxonomy][self.add_term(taxonomy, name)]

    def upload_media(
        self, file: Any, *, filename: str | None = None, content_type: str | None = None, **fields: Any
    ) -> dict[str, Any]:
        self._call("upload_media", file, filename=filename, content_type=content_type, **fields)
        mid = self._id()
        self.media[mid] = {
            "id": mid,
            "source_url": f"{SITE}/wp-content/uploads/{filename}",
            "mime_type": content_type,
            "alt_text": fields.get("alt_text", ""),
            "bytes": file,
        }
        return self.media[mid]


class DoctorWP(FakeWP):
    class Report:
        def to_dict(self) -> dict[str, Any]:
            return {"ok": True, "checks": [{"name": "reachable", "ok": True}]}

    def diagnose(self) -> DoctorWP.Report:
        self._call("diagnose")
        return self.Report()


@asynccontextmanager
async def connect(config: Config | None = None, wp: Any = None) -> AsyncIterator[Client]:
    async with Client(build_server(config or Config(), wp if wp is not None else FakeWP())) as client:
        yield client


def text(result: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


async def ok(client: Client, tool: str, args: dict[str, Any] | None = None) -> dict[str, Any]:
    result = await client.call_tool(tool, args or {})
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    return result.structured_content


async def refused(client: Client, tool: str, args: dict[str, Any] | None = None) -> str:
    result = await client.call_tool(tool, args or {})
    assert result.is_error, result
    return text(result)


# --- Listing: schemas, annotations, read-only --------------------------------


@pytest.mark.anyio
async def test_tools_list_has_schemas_and_annotations() -> None:
    async with connect() as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == READ_TOOLS | WRITE_TOOLS
    for name, tool in tools.items():
        assert tool.description, name
        assert tool.input_schema["type"] == "object", name
        assert tool.output_schema and tool.output_schema["type"] == "object", name
        assert tool.annotations is not None, name
        assert tool.annotations.read_only_hint is (name in READ_TOOLS), name
    assert tools["delete_post"].annotations.destructive_hint is True
    assert tools["update_post"].annotations.destructive_hint is True
    assert tools["create_post"].annotations.destructive_hint is False
    props = tools["list_posts"].input_schema["properties"]
    assert props["per_page"]["minimum"] == 1 and props["per_page"]["maximum"] == 100
    assert props["per_page"]["description"]
    assert set(tools["list_posts"].output_schema["properties"]) >= {
        "items",
        "total",
        "total_pages",
        "next_page",
    }
    create = tools["create_post"].input_schema
    assert create["required"] == ["title"]
    assert create["properties"]["content_format"]["enum"] == ["markdown", "html"]
    assert create["properties"]["status"]["default"] == "draft"
    # descriptions sit at the top of each property, not inside anyOf, so every client shows them
    assert all("description" in p for p in create["properties"].values())
    assert set(tools["create_post"].output_schema["required"]) >= {"id", "status", "link", "edit_link"}


@pytest.mark.anyio
async def test_read_only_hides_write_tools() -> None:
    wp = FakeWP()
    async with connect(Config(read_only=True), wp) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool("create_post", {"title": "x"})
    assert names == READ_TOOLS
    assert result.is_error and "Unknown tool" in text(result)
    assert wp.called("create_post") == []


@pytest.mark.anyio
async def test_diagnose_site_only_when_wp_rest_has_diagnose() -> None:
    async with connect(wp=DoctorWP()) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        report = await ok(client, "diagnose_site")
    assert "diagnose_site" in names
    assert report == {"ok": True, "checks": [{"name": "reachable", "ok": True}]}


# --- create_post ---------------------------------------------------------------


@pytest.mark.anyio
async def test_create_post_makes_a_markdown_draft() -> None:
    wp = FakeWP()
    async with connect(wp=wp) as client:
        post = await ok(client, "create_post", {"title": "Hello", "content": "# Head\n\nSome *text*."})
    [call] = wp.called("create_post")
    assert call["status"] == "draft"
    assert call["content"] == "<h1>Head</h1>\n<p>Some <em>text</em>.</p>\n"
    assert post["status"] == "draft" and post["title"] == "Hello"
    assert post["edit_link"] == f"{SITE}/wp-admin/post.php?post={post['id']}&action=edit"
    assert post["modified"]


@pytest.mark.anyio
async def test_markdown_escapes_raw_html_and_html_passes_through() -> None:
    wp = FakeWP()
    async with connect(wp=wp) as client:
        await ok(
            client, "create_post", {"title": "a", "content": "<script>x()</script>\n\n[l](javascript:x)"}
        )
        await ok(
            client, "create_post", {"title": "b", "content": "<p class='x'>hi</p>", "content_format": "html"}
        )
        await ok(client, "create_post", {"title": "c", "content": "| a |\n|---|\n| 1 |"})
    md, raw, table = (c["content"] for c in wp.called("create_post"))
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert 'href="javascript' not in md
    assert raw == "<p class='x'>hi</p>"
    assert "<table>" in table


@pytest.mark.anyio
async def test_create_post_succeeds_even_if_the_index_cannot_be_read() -> None:
    wp = FakeWP()
    wp.url = SITE + "/"  # type: ignore[attr-defined]
    wp.fail["index"] = wp_rest.TransportError("timed out")
    async with connect(wp=wp) as client:
        post = await ok(client, "create_post", {"title": "x"})
    assert post["edit_link"] == f"{SITE}/wp-admin/post.php?post={post['id']}&action=edit"


@pytest.mark.anyio
@pytest.mark.parametrize("status", ["publish", "future"])
async def test_publish_refused_unless_allowed(status: str) -> None:
    wp = FakeWP()
    async with connect(wp=wp) as client:
        message = await refused(client, "create_post", {"title": "x", "status": status})
    assert "WP_MCP_ALLOW_PUBLISH" in message and "draft" in message
    assert wp.called("create_post") == []
    async with connect(Config(allow_publish=True), wp) as client:
        post = await ok(client, "create_post", {"title": "x", "status": status})
    assert post["status"] == status


@pytest.mark.anyio
async def test_create_post_passes_optional_fields() -> None:
    wp = FakeWP()
    async with connect(wp=wp) as client:
        await ok(
            client,
            "create_post",
            {
                "title": "x",
                "excerpt": "e",
                "slug": "s",
                "date": "2030-01-02",
                "featured_media": 5,
                "status": "pending",
            },
        )
    [call] = wp.called("create_post")
    assert call["excerpt"] == "e" and call["slug"] == "s" and call["featured_media"] == 5
    assert call["date"] == "2030-01-02T00:00:00" and call["status"] == "pending"


@pytest.mark.anyio
async def test_terms_by_name_are_resolved_and_created() -> None:
    wp = FakeWP()
    news = wp.add_term("categories", "News")
    async with connect(wp=wp) as client:
        await ok(client, "create_post", {"title": "x", "categories": ["news", 3], "tags": ["Brand New"]})
    [call] = wp.called("create_post")
    assert call["categories"] == [news, 3]
    [created] = wp.called("create_term")
    assert created["name"] == "Brand New"
    assert call["tags"] == [next(iter(wp.terms["tags"]))]


@pytest.mark.anyio
async def test_missing_terms_not_created_when_disabled() -> None:
    wp = FakeWP()
    async with connect(Config(allow_new_terms=False), wp) as client:
        message = await refused(client, "create_post", {"title": "x", "categories": ["Nope"]})
    assert "no category named 'Nope'" in message and "list_categories" in message
    assert wp.called("create_term") == [] and wp.called("create_post") == []


@pytest.mark.anyio
async def test_term_created_meanwhile_uses_existing_id() -> None:
    wp = FakeWP()
    wp.fail["create_term"] = _error(
        wp_rest.BadRequest, 400, "term_exists", "A term with the name exists.", {"status": 400, "term_id": 42}
    )
    async with connect(wp=wp) as client:
        await ok(client, "create_post", {"title": "x", "tags": ["race"]})
    assert wp.called("create_post")[0]["tags"] == [42]


# --- update_post ---------------------------------------------------------------


@pytest.mark.anyio
async def test_update_post_refuses_stale_expected_modified() -> None:
    wp = FakeWP()
    post = wp.add_post(modified="2024-05-05T09:00:00")
    async with connect(wp=wp) as client:
        message = await refused(
            client,
            "update_post",
            {"post_id": post["id"], "title": "Mine", "expected_modified": "2024-01-01T10:00:00"},
        )
        assert "2024-05-05T09:00:00" in message and "get_post" in message
        assert wp.called("update_post") == []
        done = await ok(
            client,
            "update_post",
            {"post_id": post["id"], "title": "Mine", "expected_modified": "2024-05-05T09:00:00"},
        )
    assert done["title"] == "Mine" and done["modified"] == "2024-06-01T12:00:00"
    assert wp.called("update_post") == [{"title": "Mine"}]


@pytest.mark.anyio
async def test_update_post_converts_markdown_and_keeps_omitted_fields() -> None:
    wp = FakeWP()
    post = wp.add_post()
    async with connect(wp=wp) as client:
        await ok(client, "update_post", {"post_id": post["id"], "content": "**b**"})
    assert wp.called("update_post") == [{"content": "<p><strong>b</strong></p>\n"}]


@pytest.mark.anyio
async def test_update_post_leaves_live_posts_alone_unless_publishing_allowed() -> None:
    wp = FakeWP()
    live = wp.add_post(status="publish")
    async with connect(wp=wp) as client:
        message = await refused(client, "update_post", {"post_id": live["id"], "title": "x"})
        assert "already publish" in message and "WP_MCP_ALLOW_PUBLISH" in message
        assert "WP_MCP_ALLOW_PUBLISH" in await refused(
            client, "update_post", {"post_id": live["id"], "status": "publish"}
        )
    assert wp.called("update_post") == []
    async with connect(Config(allow_publish=True), wp) as client:
        await ok(client, "update_post", {"post_id": live["id"], "title": "x"})
    assert wp.called("update_post") == [{"title": "x"}]


@pytest.mark.anyio
async def test_update_post_needs_a_field() -> None:
    wp = FakeWP()
    post = wp.add_post()
    async with connect(wp=wp) as client:
        assert "Nothing to update" in await refused(client, "update_post", {"post_id": post["id"]})


# --- delete_post ---------------------------------------------------------------


@pytest.mark.anyio
async def test_delete_post_trashes_and_force_needs_permission() -> None:
    wp = FakeWP()
    post = wp.add_post(title={"raw": "Bye", "rendered": "Bye"})
    async with connect(wp=wp) as client:
        assert await ok(client, "delete_post", {"post_id": post["id"]}) == {
            "id": post["id"],
            "status": "trash",
            "title": "Bye",
        }
        message = await refused(client, "delete_post", {"post_id": post["id"], "force": True})
    assert "WP_MCP_ALLOW_DELETE" in message and "trash" in message
    assert wp.called("delete_post") == [{"force": False}]
    async with connect(Config(allow_delete=True), wp) as client:
        assert (await ok(client, "delete_post", {"post_id": post["id"], "force": True}))[
            "status"
        ] == "deleted"
    assert post["id"] not in wp.posts


# --- reading ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_list_posts_trims_items_and_fetches_only_those_fields() -> None:
    wp = FakeWP()
    wp.add_term("tags", "Python")
    async with connect(wp=wp) as client:
        result = await ok(
            client,
            "list_posts",
            {
                "search": "cafe",
                "per_page": 5,
                "page": 2,
                "tags": ["python"],
                "after": "2024-01-01",
                "status": "draft",
            },
        )
    [call] = wp.called("list_posts")
    assert call["_fields"] == "id,title,status,date,modified,link,excerpt"
    assert call["after"] == "2024-01-01T00:00:00" and call["status"] == "draft" and call["search"] == "cafe"
    assert call["tags"] == [next(iter(wp.terms["tags"]))]
    assert "before" not in call and "author" not in call
    assert (
        result["page"],
        result["per_page"],
        result["total"],
        result["total_pages"],
        result["next_page"],
    ) == (2, 5, 25, 3, 3)
    [item] = result["items"]
    assert item["title"] == "Café news"
    assert len(item["excerpt"]) <= 300 and item["excerpt"].endswith("…") and "<p>" not in item["excerpt"]


@pytest.mark.anyio
async def test_list_posts_with_unknown_category_name_does_not_create_it() -> None:
    wp = FakeWP()
    async with connect(wp=wp) as client:
        assert "list_categories" in await refused(client, "list_posts", {"categories": ["ghost"]})
    assert wp.called("create_term") == []


@pytest.mark.anyio
async def test_get_post_returns_raw_content_or_falls_back_to_view() -> None:
    wp = FakeWP()
    post = wp.add_post(content={"raw": "<!-- wp:p -->x", "rendered": "<p>x</p>"})
    async with connect(wp=wp) as client:
        got = await ok(client, "get_post", {"post_id": post["id"]})
        assert got["content"] == "<!-- wp:p -->x" and got["content_is_raw"] is True
        wp.fail["get_post"] = _error(wp_rest.PermissionDenied, 403, "rest_forbidden_context", "Sorry.")
        result = await client.call_tool("get_post", {"post_id": post["id"]})
    assert result.is_error and "403" in text(result)  # the public view failed too: both were tried
    assert [kw.get("context") for kw in wp.called("get_post")] == ["edit", "edit", None]


@pytest.mark.anyio
async def test_get_post_public_view_for_posts_the_user_cannot_edit() -> None:
    wp = FakeWP()
    post = wp.add_post(status="publish", content={"raw": "r", "rendered": "<p>x</p>"})
    original = wp.get_post

    def get_post(id: int, **params: Any) -> dict[str, Any]:
        if params.get("context") == "edit":
            raise _error(wp_rest.PermissionDenied, 403, "rest_forbidden_context", "Sorry.")
        return original(id, **params)

    wp.get_post = get_post  # type: ignore[method-assign]
    async with connect(wp=wp) as client:
        got = await ok(client, "get_post", {"post_id": post["id"]})
    assert got["content"] == "<p>x</p>" and got["content_is_raw"] is False


@pytest.mark.anyio
async def test_list_categories_and_tags() -> None:
    wp = FakeWP()
    wp.add_term("categories", "A &amp; B")
    wp.add_term("tags", "t1")
    async with connect(wp=wp) as client:
        cats = await ok(client, "list_categories", {"per_page": 50})
        tags = await ok(client, "list_tags", {"search": "t"})
    assert [c["name"] for c in cats["items"]] == ["A & B"]
    assert tags["items"][0]["name"] == "t1" and tags["next_page"] is None
    assert wp.called("list_terms")[0]["_fields"] == "id,name,slug,count,parent"


@pytest.mark.anyio
async def test_get_site_info_reports_user_and_policy() -> None:
    async with connect(Config(allow_publish=True)) as client:
        info = await ok(client, "get_site_info")
    assert info["name"] == "Lab & Co" and info["description"] == "Just another site" and info["url"] == SITE
    assert info["user"]["roles"] == ["author"] and info["user"]["capabilities"]["publish_posts"] is True
    assert info["user"]["capabilities"]["edit_others_posts"] is False
    assert info["policy"]["can_publish"] is True and info["policy"]["can_delete_permanently"] is False
    assert info["wordpress_version"] is None


# --- errors ------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (
            _error(wp_rest.NotFound, 404, "rest_post_invalid_id", "Invalid post ID."),
            "call list_posts to find ids",
        ),
        (
            _error(wp_rest.AuthenticationError, 401, "rest_not_logged_in", "You are not logged in."),
            "WP_APP_PASSWORD",
        ),
        (
            _error(wp_rest.PermissionDenied, 403, "rest_cannot_publish", "Sorry."),
            "cannot publish; keep status 'draft'",
        ),
        (_error(wp_rest.PermissionDenied, 403, "rest_cannot_edit", "Sorry."), "get_site_info"),
        (
            _error(
                wp_rest.BadRequest,
                400,
                "rest_invalid_param",
                "Invalid parameter(s): slug",
                {"status": 400, "params": {"slug": "slug is bad"}},
            ),
            "slug: slug is bad",
        ),
        (
            _error(wp_rest.ServerError, 500, "internal_server_error", "<p>Critical error</p>"),
            "internal error",
        ),
        (wp_rest.TransportError("connection refused", method="POST", request_sent=False), "Could not reach WordPress"),
        (wp_rest.TransportError("reset", method="POST", request_sent=True), "may have happened. Check first"),
    ],
)
async def test_wordpress_errors_become_tool_errors_with_advice(exc: Exception, expected: str) -> None:
    wp = FakeWP()
    post = wp.add_post()
    wp.fail["update_post"] = exc
    async with connect(Config(allow_publish=True), wp) as client:
        result = await client.call_tool("update_post", {"post_id": post["id"], "title": "x"})
    assert result.is_error and result.structured_content is None
    assert expected in text(result)
    assert "<p>" not in text(result)


@pytest.mark.anyio
async def test_not_found_points_to_list_posts() -> None:
    async with connect() as client:
        message = await refused(client, "get_post", {"post_id": 999999})
    assert "404 rest_post_invalid_id" in message and "list_posts" in message


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("tool", "args", "field"),
    [
        ("list_posts", {"per_page": 101}, "per_page"),
        ("list_posts", {"per_page": 0}, "per_page"),
        ("get_post", {"post_id": 0}, "post_id"),
        ("get_post", {}, "post_id"),
        ("create_post", {"title": ""}, "title"),
        ("create_post", {"title": "x", "content_format": "rtf"}, "content_format"),
        ("create_post", {"title": "x", "status": "live"}, "status"),
        ("create_post", {"title": "x", "date": "next tuesday"}, "date"),
        ("update_post", {"post_id": 1, "categories": [0]}, "categories"),
    ],
)
async def test_bad_arguments_are_rejected_by_the_schema(tool: str, args: dict[str, Any], field: str) -> None:
    wp = FakeWP()
    async with connect(wp=wp) as client:
        message = await refused(client, tool, args)
    assert field in message
    assert wp.calls == []


# --- upload_media ------------------------------------------------------------------

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    root = tmp_path / "uploads"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "pic.png").write_bytes(PNG)
    (tmp_path / "secret.png").write_bytes(b"outside")
    return root


@pytest.mark.anyio
async def test_upload_from_the_upload_dir_with_alt_text_and_featured_image(upload_dir: Path) -> None:
    wp = FakeWP()
    post = wp.add_post()
    async with connect(Config(upload_dir=upload_dir), wp) as client:
        media = await ok(
            client, "upload_media", {"path": "sub/pic.png", "alt_text": "A dot", "featured_for": post["id"]}
        )
    [call] = wp.called("upload_media")
    assert call["filename"] == "pic.png" and call["content_type"] == "image/png"
    assert call["alt_text"] == "A dot" and call["post"] == post["id"]
    assert wp.calls[-2][1][0] == PNG
    assert wp.called("update_post") == [{"featured_media": media["id"]}]
    assert media["featured_for"] == post["id"] and media["mime_type"] == "image/png"


@pytest.mark.anyio
async def test_upload_says_which_media_was_made_when_featuring_fails() -> None:
    wp = FakeWP()
    post = wp.add_post()
    wp.fail["update_post"] = _error(wp_rest.PermissionDenied, 403, "rest_cannot_edit", "Sorry.")
    async with connect(wp=wp) as client:
        message = await refused(
            client,
            "upload_media",
            {"content_base64": "AAAA", "filename": "a.png", "featured_for": post["id"]},
        )
    assert f"media {next(iter(wp.media))} the featured image of post {post['id']}" in message


@pytest.mark.anyio
async def test_upload_base64_content() -> None:
    wp = FakeWP()
    async with connect(wp=wp) as client:
        media = await ok(
            client, "upload_media", {"content_base64": base64.b64encode(PNG).decode(), "filename": "dot.png"}
        )
        assert "filename" in await refused(client, "upload_media", {"content_base64": "AAAA"})
        assert "not valid base64" in await refused(
            client, "upload_media", {"content_base64": "!!!", "filename": "a.png"}
        )
        assert "either path" in await refused(client, "upload_media", {})
        await ok(
            client, "upload_media", {"content_base64": "data:image/png;base64,AAAA", "filename": "a.zzzz9"}
        )
    assert media["url"].endswith("/dot.png") and media["featured_for"] is None
    first, unknown = wp.called("upload_media")
    assert first["content_type"] == "image/png"
    assert unknown["content_type"] == "application/octet-stream"  # WordPress judges the extension itself


@pytest.mark.anyio
async def test_upload_filename_may_not_be_a_path() -> None:
    async with connect() as client:
        assert "filename" in await refused(
            client, "upload_media", {"content_base64": "AAAA", "filename": "../x.png"}
        )


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path", ["../secret.png", "sub/../../secret.png", "/etc/passwd", "sub", ".", "missing.png", "a\x00.png"]
)
async def test_upload_refuses_paths_outside_the_upload_dir(upload_dir: Path, path: str) -> None:
    wp = FakeWP()
    async with connect(Config(upload_dir=upload_dir), wp) as client:
        message = await refused(client, "upload_media", {"path": path})
    assert "upload directory" in message or "regular file" in message
    assert wp.called("upload_media") == []


@pytest.mark.anyio
async def test_upload_refuses_symlinks_escaping_and_non_regular_files(upload_dir: Path) -> None:
    (upload_dir / "link.png").symlink_to(upload_dir.parent / "secret.png")
    (upload_dir / "inside-link.png").symlink_to(upload_dir / "sub" / "pic.png")
    os.mkfifo(upload_dir / "pipe.png")
    wp = FakeWP()
    async with connect(Config(upload_dir=upload_dir), wp) as client:
        assert "upload directory" in await refused(client, "upload_media", {"path": "link.png"})
        assert "regular file" in await refused(client, "upload_media", {"path": "pipe.png"})
        await ok(client, "upload_media", {"path": "inside-link.png"})  # a symlink that stays inside is fine
    assert len(wp.called("upload_media")) == 1


@pytest.mark.anyio
async def test_upload_size_limit(upload_dir: Path) -> None:
    (upload_dir / "big.png").write_bytes(b"x" * 2048)
    wp = FakeWP()
    async with connect(Config(upload_dir=upload_dir, max_upload_bytes=1024), wp) as client:
        assert "limit of 1024" in await refused(client, "upload_media", {"path": "big.png"})
        big = base64.b64encode(b"x" * 2048).decode()
        assert "limit" in await refused(
            client, "upload_media", {"content_base64": big, "filename": "big.png"}
        )
    assert wp.called("upload_media") == []


@pytest.mark.anyio
async def test_upload_from_disk_needs_an_upload_dir() -> None:
    async with connect() as client:
        assert "WP_MCP_UPLOAD_DIR" in await refused(client, "upload_media", {"path": "pic.png"})


@pytest.mark.anyio
async def test_featured_image_of_a_live_post_needs_publish_permission() -> None:
    wp = FakeWP()
    live = wp.add_post(status="publish")
    async with connect(wp=wp) as client:
        message = await refused(
            client,
            "upload_media",
            {"content_base64": "AAAA", "filename": "a.png", "featured_for": live["id"]},
        )
    assert "WP_MCP_ALLOW_PUBLISH" in message and wp.called("upload_media") == []


# --- configuration and command line -----------------------------------------------


def test_config_from_env_defaults_and_flags(tmp_path: Path) -> None:
    assert Config.from_env({}) == Config()
    config = Config.from_env(
        {
            "WP_MCP_READ_ONLY": "yes",
            "WP_MCP_ALLOW_PUBLISH": "1",
            "WP_MCP_ALLOW_DELETE": "true",
            "WP_MCP_ALLOW_NEW_TERMS": "0",
            "WP_MCP_UPLOAD_DIR": str(tmp_path),
            "WP_MCP_MAX_UPLOAD_MB": "3",
            "WP_MCP_HTTP_TOKEN": "t" * 20,
        }
    )
    assert config == Config(
        read_only=True,
        allow_publish=True,
        allow_delete=True,
        allow_new_terms=False,
        upload_dir=tmp_path.resolve(),
        max_upload_bytes=3 * 1024 * 1024,
        http_token="t" * 20,
    )
    assert "t" * 20 not in repr(config)


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"WP_MCP_ALLOW_PUBLISH": "maybe"}, "WP_MCP_ALLOW_PUBLISH"),
        ({"WP_MCP_MAX_UPLOAD_MB": "0"}, "WP_MCP_MAX_UPLOAD_MB"),
        ({"WP_MCP_MAX_UPLOAD_MB": "lots"}, "WP_MCP_MAX_UPLOAD_MB"),
        ({"WP_MCP_UPLOAD_DIR": "/nonexistent/dir"}, "WP_MCP_UPLOAD_DIR"),
        ({"WP_MCP_HTTP_TOKEN": "short"}, "WP_MCP_HTTP_TOKEN"),
    ],
)
def test_config_from_env_rejects_bad_values(env: dict[str, str], names: str) -> None:
    with pytest.raises(wp_rest.ConfigError, match=names):
        Config.from_env(env)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    for name in list(os.environ):
        if name.startswith(("WP_", "JWT_")):
            monkeypatch.delenv(name)

    def set_env(**values: str) -> None:
        for key, value in values.items():
            monkeypatch.setenv(key, value)

    return set_env


def test_main_bad_configuration_is_one_line_on_stderr(
    clean_env: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    assert mcp_server.main([]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and "WP_URL" in err


def test_main_http_needs_a_token(clean_env: Callable[..., None], capsys: pytest.CaptureFixture[str]) -> None:
    clean_env(WP_URL="http://127.0.0.1:9", WP_USERNAME="u", WP_APP_PASSWORD="abcd" * 6)
    assert mcp_server.main(["--transport", "streamable-http"]) == 2
    err = capsys.readouterr().err
    assert "WP_MCP_HTTP_TOKEN" in err and "abcd" not in err


def test_main_help_documents_everything(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        mcp_server.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for word in (
        "--transport",
        "streamable-http",
        "--host",
        "--port",
        "WP_URL",
        "WP_APP_PASSWORD",
        "WP_MCP_READ_ONLY",
        "WP_MCP_ALLOW_PUBLISH",
        "WP_MCP_ALLOW_DELETE",
        "WP_MCP_ALLOW_NEW_TERMS",
        "WP_MCP_UPLOAD_DIR",
        "WP_MCP_MAX_UPLOAD_MB",
        "WP_MCP_HTTP_TOKEN",
    ):
        assert word in out, word


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("header", "status"),
    [
        (None, 401),
        (b"Bearer wrong-token-wrong-token", 401),
        (b"Basic abc", 401),
        (b"Bearer right-token-0123456789", 200),
        (b"bearer right-token-0123456789", 200),
    ],
)
async def test_bearer_auth_guards_http(header: bytes | None, status: int) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"authorization", header)] if header else []
    await mcp_server._BearerAuth(app, "right-token-0123456789")(
        {"type": "http", "headers": headers}, None, send
    )
    assert sent[0]["status"] == status


# --- Against the real WordPress lab ---------------------------------------------

LAB_JSON = Path(__file__).parent / "wp" / "lab.json"


@pytest.fixture(scope="module")
def lab_site(lab: dict[str, Any]) -> dict[str, Any]:
    """The lab's main site (conftest's ``lab`` fails, never skips, when the lab is not up)."""
    site: dict[str, Any] = lab["sites"]["main"]
    return site


def lab_client(site: dict[str, Any], role: str) -> wp_rest.Client:
    user = site["users"][role]
    return wp_rest.Client(
        site["url"], auth=wp_rest.ApplicationPassword(user["username"], user["app_password"])
    )


@pytest.fixture
def admin(lab_site: dict[str, Any]) -> Iterator[wp_rest.Client]:
    client = lab_client(lab_site, "admin")
    yield client
    client.close()


@pytest.fixture
def lab_cleanup(admin: wp_rest.Client) -> Iterator[list[tuple[str, int]]]:
    """Routes and ids to delete for good after the test: ("posts", 12), ("categories", 5)..."""
    made: list[tuple[str, int]] = []
    yield made
    for kind, ident in reversed(made):
        try:
            admin.request("DELETE", f"/wp/v2/{kind}/{ident}", params={"force": True})
        except wp_rest.NotFound:
            pass


@asynccontextmanager
async def lab_server(
    site: dict[str, Any], role: str = "author", config: Config | None = None
) -> AsyncIterator[Client]:
    wp = lab_client(site, role)
    try:
        async with connect(config or Config(), wp) as client:
            yield client
    finally:
        wp.close()


wordpress = pytest.mark.wordpress


@wordpress
@pytest.mark.anyio
async def test_lab_tools_list(lab_site: dict[str, Any]) -> None:
    async with lab_server(lab_site) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} >= READ_TOOLS | WRITE_TOOLS
    assert all(t.input_schema and t.output_schema and t.annotations for t in tools)


@wordpress
@pytest.mark.anyio
async def test_lab_create_post_makes_a_markdown_draft(
    lab_site: dict[str, Any], admin: wp_rest.Client, lab_cleanup: list[tuple[str, int]]
) -> None:
    async with lab_server(lab_site) as client:
        post = await ok(
            client, "create_post", {"title": "MCP lab draft", "content": "Hello **world**\n\n- a\n- b"}
        )
    lab_cleanup.append(("posts", post["id"]))
    seen = admin.get_post(post["id"], context="edit")
    assert post["status"] == seen["status"] == "draft"
    assert seen["title"]["raw"] == "MCP lab draft"
    assert "<strong>world</strong>" in seen["content"]["raw"] and "<li>a</li>" in seen["content"]["raw"]
    assert post["edit_link"] == f"{lab_site['url']}/wp-admin/post.php?post={post['id']}&action=edit"
    assert seen["modified"] == post["modified"]


@wordpress
@pytest.mark.anyio
async def test_lab_publish_refused_unless_allowed(
    lab_site: dict[str, Any], admin: wp_rest.Client, lab_cleanup: list[tuple[str, int]]
) -> None:
    before = admin.list_posts(status="any", search="MCP lab publish", per_page=1, context="edit").total
    async with lab_server(lab_site) as client:
        message = await refused(client, "create_post", {"title": "MCP lab publish", "status": "publish"})
    assert "draft" in message
    assert (
        admin.list_posts(status="any", search="MCP lab publish", per_page=1, context="edit").total == before
    )
    async with lab_server(lab_site, config=Config(allow_publish=True)) as client:
        post = await ok(client, "create_post", {"title": "MCP lab publish", "status": "publish"})
    lab_cleanup.append(("posts", post["id"]))
    assert admin.get_post(post["id"])["status"] == "publish"


@wordpress
@pytest.mark.anyio
async def test_lab_read_only_hides_writes(lab_site: dict[str, Any]) -> None:
    async with lab_server(lab_site, config=Config(read_only=True)) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        listed = await ok(client, "list_posts", {"per_page": 2})
    assert not names & WRITE_TOOLS
    assert len(listed["items"]) <= 2 and listed["total"] >= len(listed["items"])


@wordpress
@pytest.mark.anyio
async def test_lab_stale_expected_modified_is_refused(
    lab_site: dict[str, Any], admin: wp_rest.Client, lab_cleanup: list[tuple[str, int]]
) -> None:
    async with lab_server(lab_site) as client:
        post = await ok(client, "create_post", {"title": "MCP lab stale", "content": "v1"})
        lab_cleanup.append(("posts", post["id"]))
        read = await ok(client, "get_post", {"post_id": post["id"]})
        await anyio.sleep(1.1)  # WordPress's modified has one-second resolution
        admin.update_post(post["id"], content="person's edit")  # a person edits it in WordPress
        person = admin.get_post(post["id"], context="edit")
        if person["modified"] == read["modified"]:
            pytest.fail("the person's edit did not change modified; the test cannot tell stale from fresh")
        message = await refused(
            client,
            "update_post",
            {"post_id": post["id"], "content": "agent", "expected_modified": read["modified"]},
        )
        assert "get_post" in message
        assert admin.get_post(post["id"], context="edit")["content"]["raw"] == "person's edit"
        fresh = await ok(
            client,
            "update_post",
            {"post_id": post["id"], "content": "agent", "expected_modified": person["modified"]},
        )
    assert fresh["id"] == post["id"]
    assert "agent" in admin.get_post(post["id"], context="edit")["content"]["raw"]


@wordpress
@pytest.mark.anyio
async def test_lab_errors_come_back_as_is_error(lab_site: dict[str, Any]) -> None:
    async with lab_server(lab_site) as client:
        not_found = await refused(client, "get_post", {"post_id": 987654321})
    assert "404" in not_found and "list_posts" in not_found
    async with lab_server(lab_site, "subscriber") as client:
        denied = await refused(client, "create_post", {"title": "MCP lab subscriber"})
    assert "403" in denied and "rest_cannot_create" in denied and "get_site_info" in denied


@wordpress
@pytest.mark.anyio
async def test_lab_get_site_info_and_no_secrets(
    lab_site: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with lab_server(lab_site) as client:
        result = await client.call_tool("get_site_info", {})
    info = result.structured_content
    assert info is not None
    assert info["url"] == lab_site["url"] and info["user"]["roles"] == ["author"]
    assert info["user"]["capabilities"]["publish_posts"] is True
    assert info["policy"]["can_publish"] is False
    secret = lab_site["users"]["author"]["app_password"]
    for shown in (json.dumps(info), text(result), caplog.text):
        assert secret not in shown and secret.replace(" ", "") not in shown


@wordpress
@pytest.mark.anyio
async def test_lab_delete_post_trashes(
    lab_site: dict[str, Any], admin: wp_rest.Client, lab_cleanup: list[tuple[str, int]]
) -> None:
    async with lab_server(lab_site) as client:
        post = await ok(client, "create_post", {"title": "MCP lab delete"})
        lab_cleanup.append(("posts", post["id"]))
        assert (await ok(client, "delete_post", {"post_id": post["id"]}))["status"] == "trash"
        assert "WP_MCP_ALLOW_DELETE" in await refused(
            client, "delete_post", {"post_id": post["id"], "force": True}
        )
    assert admin.get_post(post["id"], context="edit")["status"] == "trash"


@wordpress
@pytest.mark.anyio
async def test_lab_terms_by_name(
    lab_site: dict[str, Any], admin: wp_rest.Client, lab_cleanup: list[tuple[str, int]]
) -> None:
    async with lab_server(lab_site, "admin") as client:
        post = await ok(
            client,
            "create_post",
            {"title": "MCP lab terms", "categories": ["MCP Lab Category"], "tags": ["mcp-lab-tag"]},
        )
        lab_cleanup.append(("posts", post["id"]))
        seen = admin.get_post(post["id"], context="edit")
        for kind in ("categories", "tags"):
            lab_cleanup.extend((kind, ident) for ident in seen[kind] if ident != 1)  # 1 is Uncategorized
        cats = await ok(client, "list_categories", {"search": "MCP Lab Category"})
    assert [c["name"] for c in cats["items"]] == ["MCP Lab Category"]
    assert seen["categories"] == [cats["items"][0]["id"]]


@wordpress
@pytest.mark.anyio
async def test_lab_upload_media_sets_featured_image(
    lab_site: dict[str, Any], admin: wp_rest.Client, lab_cleanup: list[tuple[str, int]], upload_dir: Path
) -> None:
    async with lab_server(lab_site, config=Config(upload_dir=upload_dir)) as client:
        post = await ok(client, "create_post", {"title": "MCP lab media"})
        lab_cleanup.append(("posts", post["id"]))
        media = await ok(
            client, "upload_media", {"path": "sub/pic.png", "alt_text": "A dot", "featured_for": post["id"]}
        )
        lab_cleanup.append(("media", media["id"]))
    assert media["mime_type"] == "image/png" and media["alt_text"] == "A dot"
    assert admin.get_post(post["id"])["featured_media"] == media["id"]


@wordpress
@pytest.mark.anyio
async def test_lab_contributor_cannot_publish_even_when_allowed(lab_site: dict[str, Any]) -> None:
    # The server allows publishing, WordPress does not (a contributor lacks publish_posts):
    # the agent is told to keep the post a draft, and nothing is created.
    async with lab_server(lab_site, role="contributor", config=Config(allow_publish=True)) as client:
        message = await refused(client, "create_post", {"title": "MCP contributor publish", "status": "publish"})
    assert "403 rest_cannot_publish" in message and "draft" in message
    assert lab_client(lab_site, "admin").list_posts(status="any", search="MCP contributor publish").total == 0


@wordpress
@pytest.mark.anyio
async def test_lab_diagnose_site_reports_the_doctor_verdict(lab_site: dict[str, Any]) -> None:
    async with lab_server(lab_site) as client:
        report = await ok(client, "diagnose_site")
    assert report["writes_possible"] is True
    assert {c["name"] for c in report["checks"]} >= {"reachable", "api", "credentials"}
    assert lab_site["users"]["author"]["app_password"] not in json.dumps(report)
