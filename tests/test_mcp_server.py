"""Tests for mcp_server.py through the SDK's in-process client.

Offline tests (policy, schemas, Markdown, sanitising, uploads, the command line)
use a client whose transport answers from a handler and records every request,
so a refusal is shown to send nothing; tool errors over a loopback server that echoes
the credentials carry no secret (tests/faultkit.py). WordPress behaviour is tested against the
real lab (marker ``wordpress``; ``bash tests/wp/lab.sh up``).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import CallToolResult

import mcp_server
import wp_rest
from faultkit import (
    SECRET,
    SECRETS,
    Conn,
    Hit,
    client_for,
    echo_credentials,
    echo_in_status_line,
    echo_in_wp_error,
    fault_server,
    leaks,
    normalise,
    response,
)
from mcp_server import Config, build_server
from reliability_log import observe

ROOT = "http://127.0.0.1:9/wp-json/"
READ_TOOLS = {"list_posts", "get_post", "list_categories", "list_tags", "list_comments", "list_revisions",
              "list_media", "get_site_info", "diagnose_site", "list_abilities"}
WRITE_TOOLS = {"create_post", "update_post", "delete_post", "restore_revision", "moderate_comment",
               "reply_to_comment", "upload_media"}
DESTRUCTIVE = {"update_post", "delete_post", "restore_revision", "moderate_comment", "upload_media", "run_ability"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# --- An offline site: index and post types only; every request is recorded -----------


def _json(status: int, value: Any, **headers: str) -> wp_rest.Response:
    return wp_rest.Response(status, {"Content-Type": "application/json", **headers}, json.dumps(value).encode())


def offline_site(request: wp_rest.Request) -> wp_rest.Response:
    path = request.url.split("/wp-json", 1)[1].split("?")[0]
    if path in ("", "/"):
        return _json(200, {"name": "Offline", "url": "http://127.0.0.1:9", "namespaces": ["wp/v2"],
                           "timezone_string": "Europe/Paris", "gmt_offset": 1})
    if path == "/wp/v2/types":
        return _json(200, {"post": {"slug": "post", "rest_base": "posts", "rest_namespace": "wp/v2"},
                           "page": {"slug": "page", "rest_base": "pages", "rest_namespace": "wp/v2"}})
    return _json(404, {"code": "rest_no_route", "message": "No route.", "data": {"status": 404}})


def offline(config: Config | None = None,
            handler: Callable[[wp_rest.Request], wp_rest.Response] = offline_site,
            ) -> tuple[Any, wp_rest.MockTransport]:
    transport = wp_rest.MockTransport(handler)
    client = wp_rest.Client(ROOT, auth=wp_rest.ApplicationPassword("u", "abcd efgh ijkl mnop qrst uvwx"),
                                transport=transport, retry=False)
    return build_server(config or Config(), client), transport


@asynccontextmanager
async def connect(server: Any) -> AsyncIterator[Client]:
    async with Client(server) as client:
        yield client


def text(result: CallToolResult) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def writes(transport: wp_rest.MockTransport) -> list[str]:
    return [f"{r.method} {r.url}" for r in transport.requests if r.method != "GET"]


# --- tools/list: strict, titled, typed, lean (14.1, 14.9, 14.12) -----------------------


@pytest.mark.anyio
async def test_every_tool_is_titled_typed_and_refuses_unknown_arguments() -> None:
    server, _ = offline()
    async with connect(server) as client:
        tools = (await client.list_tools()).tools
    assert {t.name for t in tools} == READ_TOOLS | WRITE_TOOLS | {"run_ability"}
    for tool in tools:
        assert tool.title and tool.description and tool.output_schema, tool.name
        assert tool.input_schema["additionalProperties"] is False, tool.name
        assert "Title" not in json.dumps(tool.input_schema)  # generated titles are left out (size)


@pytest.mark.anyio
async def test_tools_list_is_under_24_kb() -> None:
    server, _ = offline()
    async with connect(server) as client:
        tools = (await client.list_tools()).tools
    size = len(json.dumps({"tools": [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools]},
                          separators=(",", ":")))
    assert size < 24 * 1024, size


@pytest.mark.anyio
async def test_annotations_are_honest() -> None:
    server, _ = offline()
    async with connect(server) as client:
        tools = {t.name: t.annotations for t in (await client.list_tools()).tools}
    for name, notes in tools.items():
        assert notes is not None
        assert bool(notes.read_only_hint) == (name in READ_TOOLS), name
        assert bool(notes.destructive_hint) == (name in DESTRUCTIVE), name


@pytest.mark.anyio
async def test_read_only_offers_reads_and_run_ability() -> None:
    server, _ = offline(Config(read_only=True))
    async with connect(server) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == READ_TOOLS | {"run_ability"}


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "args", "name"), [
    ("create_post", {"title": "x", "post_type": "page"}, "post_type"),
    ("create_post", {"title": "x", "foo": 1}, "foo"),
    ("list_posts", {"limit": 5}, "limit"),
    ("delete_post", {"post_id": 5, "permanent": True}, "permanent"),
])
async def test_unknown_argument_is_an_error_naming_it_and_nothing_is_sent(
    tool: str, args: dict[str, Any], name: str
) -> None:
    server, transport = offline(Config(allow_publish=True, allow_delete=True))
    async with connect(server) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error and f"unknown argument {name!r}" in text(result)
    assert transport.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize(("tool", "args", "field"), [
    ("create_post", {"title": 5}, "title"),
    ("get_post", {"post_id": "7"}, "post_id"),
    ("get_post", {"post_id": True}, "post_id"),
    ("list_posts", {"per_page": 1000}, "per_page"),
    ("create_post", {"title": "x", "status": "live"}, "status"),
    ("create_post", {"title": "x", "date": "tomorrow"}, "date"),
    ("create_post", {"title": "x", "categories": [{"id": 1}]}, "categories"),
])
async def test_a_wrong_type_is_one_short_sentence(tool: str, args: dict[str, Any], field: str) -> None:
    server, transport = offline()
    async with connect(server) as client:
        result = await client.call_tool(tool, args)
    message = text(result)
    assert result.is_error and f"'{field}'" in message, message
    assert len(message) < 300 and "pydantic" not in message and "\n" not in message, message
    assert transport.requests == []


# --- The publish gate (14.3) --------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("date", [None, "2020-01-01T10:00:00", "2001-05-05"])
async def test_future_needs_a_date_strictly_in_the_future_whatever_the_permissions(date: str | None) -> None:
    server, transport = offline(Config(allow_publish=True, allow_delete=True))
    args = {"title": "Later", "status": "future", **({"date": date} if date else {})}
    async with connect(server) as client:
        result = await client.call_tool("create_post", args)
    assert result.is_error and "future" in text(result) and "date" in text(result), text(result)
    assert writes(transport) == []


@pytest.mark.anyio
@pytest.mark.parametrize("status", ["publish", "future"])
async def test_publishing_is_refused_unless_allowed(status: str) -> None:
    server, transport = offline()
    async with connect(server) as client:
        result = await client.call_tool("create_post", {"title": "x", "status": status, "date": "2999-01-01"})
    assert result.is_error and "WP_MCP_ALLOW_PUBLISH" in text(result)
    assert writes(transport) == []


def test_a_date_without_offset_is_site_time() -> None:
    import datetime

    client = wp_rest.Client(ROOT, transport=wp_rest.MockTransport(offline_site))
    now = datetime.datetime(2030, 6, 1, 10, 0, tzinfo=datetime.timezone.utc)  # 12:00 in Paris (summer)
    assert client.schedule_time("2030-06-01T12:30:00", now=now).utcoffset() == datetime.timedelta(hours=2)
    with pytest.raises(wp_rest.ConfigError, match="not in the future"):
        client.schedule_time("2030-06-01T11:30:00", now=now)  # 09:30 UTC: past, though later than 10:00 UTC reads


# --- Markdown to blocks (14.4) -------------------------------------------------------------

SAMPLE = """# Title

Some *emphasis*, **strong**, `code`, a [link](https://example.com) and ~~gone~~.

## Section

- one
- two
  1. nested

3. three
4. four

> quoted
> text

```python
if a < b and c & d: print("[x]")
```

---

| left | right |
|:-----|------:|
| a    | 1     |

![A cat](https://example.com/cat.jpg)
"""


def balanced(markup: str) -> list[str]:
    """The block names in order; fails unless every opener has its closer, properly nested."""
    stack: list[str] = []
    names = []
    for closing, name, void in re.findall(r"<!-- (/?)wp:([a-z0-9/-]+)(?: \{.*?\})? ?(/?)-->", markup):
        if void:
            names.append(name)
        elif closing:
            assert stack and stack.pop() == name, markup
        else:
            stack.append(name)
            names.append(name)
    assert stack == []
    return names


def test_markdown_becomes_balanced_blocks_in_the_editor_s_shape() -> None:
    markup = mcp_server.markdown_to_blocks(SAMPLE)
    assert balanced(markup) == ["heading", "paragraph", "heading", "list", "list-item", "list-item", "list",
                                "list-item", "list", "list-item", "list-item", "quote", "paragraph", "code",
                                "separator", "table", "image"]
    assert '<!-- wp:heading {"level":1} -->\n<h1>Title</h1>' in markup
    assert "<!-- wp:heading -->\n<h2>Section</h2>" in markup
    assert '<!-- wp:list {"ordered":true,"start":3} -->\n<ol start="3">' in markup
    assert '<blockquote class="wp-block-quote"><!-- wp:paragraph -->\n<p>quoted text</p>' in markup
    assert ('<pre class="wp-block-code language-python"><code>if a &lt; b and c &amp; d: print("&#91;x]")'
            in markup)
    assert '<hr class="wp-block-separator has-alpha-channel-opacity"/>' in markup
    assert '<td class="has-text-align-right" data-align="right">1</td>' in markup and "style=" not in markup
    assert '<figure class="wp-block-image"><img src="https://example.com/cat.jpg" alt="A cat"/></figure>' in markup


def test_markdown_in_the_shape_of_wordpress_6_9_and_later() -> None:
    markup = mcp_server.markdown_to_blocks(SAMPLE, modern=True)
    assert balanced(markup) == balanced(mcp_server.markdown_to_blocks(SAMPLE))
    assert '<h1 class="wp-block-heading">Title</h1>' in markup and '<ul class="wp-block-list">' in markup
    assert '<ol start="3" class="wp-block-list">' in markup
    assert '<!-- wp:table {"hasFixedLayout":false} -->\n<figure class="wp-block-table"><table>' in markup


def test_raw_html_in_markdown_is_text() -> None:
    markup = mcp_server.markdown_to_blocks("Hi <script>alert(1)</script> [x](javascript:alert(1))")
    assert "<script>" not in markup and "&lt;script&gt;" in markup and 'href="javascript' not in markup


# --- Agent-written HTML (12.9) ---------------------------------------------------------------


def test_sanitising_keeps_block_markup_and_says_what_it_removed() -> None:
    blocks = mcp_server.markdown_to_blocks(SAMPLE)
    image = ('<!-- wp:image {"id":5} -->\n<figure class="wp-block-image size-large" id="f"><img src="a.jpg" '
             'srcset="a.jpg 1x, a2.jpg 2x" sizes="100vw" alt="x" class="wp-image-5"/></figure>\n<!-- /wp:image -->')
    for safe in (blocks, image):
        assert mcp_server.sanitize_html(safe) == (safe, [])  # stored exactly as given
    cleaned, removed = mcp_server.sanitize_html(
        '<p onclick="steal()">Hi<script>alert(1)</script><a href="javascript:x">l</a></p><svg onload="x()"></svg>'
    )
    assert cleaned == "<p>Hi<a>l</a></p>"
    assert {"<script>", "<svg>"} <= set(removed) and any(r.startswith("onclick=") for r in removed)
    assert any(r.startswith("href=") for r in removed)


def test_titles_are_text() -> None:
    notes: list[str] = []
    assert mcp_server._text_field("title", "Hello <img src=x onerror=alert(1)>world", notes) == "Hello world"
    assert notes == ["title: tags removed (it is plain text)"]
    assert mcp_server._text_field("title", "Fish & chips", []) == "Fish & chips"
    kept: list[str] = []
    assert mcp_server._text_field("title", "a < b", kept) == "a &lt; b" and kept == []


# --- Uploads stay inside the upload directory (12.6) ------------------------------------------


@pytest.fixture
def upload_dir(tmp_path: Path) -> Path:
    root = tmp_path / "uploads"
    (root / "sub").mkdir(parents=True)
    (root / "pic.png").write_bytes(b"PNG")
    (root / "sub" / "pic.png").write_bytes(b"SUBPNG")
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "pic.png").write_bytes(b"OUTSIDE")
    (root / "link.png").symlink_to(tmp_path / "outside" / "pic.png")
    (root / "linkdir").symlink_to(tmp_path / "outside")
    return root.resolve()


@pytest.mark.parametrize("path", ["../outside/pic.png", "/etc/passwd", "link.png", "linkdir/pic.png", "sub",
                                  "sub/../../outside/pic.png", "", "pic.png\x00"])
def test_upload_refuses_what_is_not_a_file_inside(upload_dir: Path, path: str) -> None:
    config = Config(upload_dir=upload_dir)
    with pytest.raises(mcp_server.ToolError):
        mcp_server._read_upload(config, path)


def test_upload_reads_files_inside(upload_dir: Path) -> None:
    config = Config(upload_dir=upload_dir)
    assert mcp_server._read_upload(config, "sub/pic.png") == (b"SUBPNG", "pic.png")


def test_no_symlink_race_reads_outside(upload_dir: Path) -> None:
    """A thread swaps sub/ for a symlink to outside/ and back, as fast as it can, while we read."""
    config = Config(upload_dir=upload_dir)
    sub, real = upload_dir / "sub", upload_dir / "sub-real"
    stop = threading.Event()

    def swap() -> None:
        while not stop.is_set():
            os.rename(sub, real)
            os.symlink(upload_dir.parent / "outside", sub)
            os.unlink(sub)
            os.rename(real, sub)

    swapper = threading.Thread(target=swap)
    swapper.start()
    seen: set[bytes] = set()
    try:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            try:
                seen.add(mcp_server._read_upload(config, "sub/pic.png")[0])
            except mcp_server.ToolError:
                seen.add(b"refused")
    finally:
        stop.set()
        swapper.join()
    assert b"OUTSIDE" not in seen and b"SUBPNG" in seen, seen


# --- Configuration and the command line (14.11) ------------------------------------------------


def test_config_from_env_defaults_and_flags(tmp_path: Path) -> None:
    assert Config.from_env({}) == Config()
    config = Config.from_env({"WP_MCP_READ_ONLY": "yes", "WP_MCP_ALLOW_PUBLISH": "1", "WP_MCP_ALLOW_DELETE": "on",
                              "WP_MCP_UPLOAD_DIR": str(tmp_path), "WP_MCP_MAX_UPLOAD_MB": "2"})
    assert config.read_only and config.allow_publish and config.allow_delete
    assert config.upload_dir == tmp_path.resolve() and config.max_upload_bytes == 2 * 1024 * 1024
    for bad in ({"WP_MCP_READ_ONLY": "maybe"}, {"WP_MCP_MAX_UPLOAD_MB": "0"}, {"WP_MCP_HTTP_TOKEN": "short"},
                {"WP_MCP_UPLOAD_DIR": str(tmp_path / "missing")}):
        with pytest.raises(wp_rest.ConfigError, match=next(iter(bad))):
            Config.from_env(bad)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    for name in list(os.environ):
        if name.startswith("WP_"):
            monkeypatch.delenv(name)

    def setenv(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return setenv


def test_main_plain_http_to_a_remote_host_needs_the_opt_in(
    clean_env: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env(WP_URL="http://wp.example", WP_USERNAME="u", WP_APP_PASSWORD="abcd efgh ijkl mnop qrst uvwx")
    assert mcp_server.main([]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "http" in err and "abcd" not in err


def test_main_http_transport_needs_a_token(
    clean_env: Callable[..., None], capsys: pytest.CaptureFixture[str]
) -> None:
    clean_env(WP_URL="http://127.0.0.1:9")
    assert mcp_server.main(["--transport", "streamable-http"]) == 2
    assert "WP_MCP_HTTP_TOKEN" in capsys.readouterr().err


def test_help_documents_the_environment(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        mcp_server.main(["--help"])
    out = capsys.readouterr().out
    for name in ("WP_MCP_READ_ONLY", "WP_MCP_ALLOW_PUBLISH", "WP_MCP_ALLOW_DELETE", "WP_ALLOW_INSECURE_HTTP",
                 "--insecure-http", "--allow-unfiltered-html", "WP_MCP_UPLOAD_DIR", "WP_MCP_HTTP_TOKEN"):
        assert name in out, name


@pytest.mark.anyio
@pytest.mark.parametrize(("header", "status"), [(None, 401), (b"Bearer wrong-token-wrong-token", 401),
                                                (b"Basic abc", 401), (b"Bearer right-token-0123456789", 200)])
async def test_bearer_auth_guards_http(header: bytes | None, status: int) -> None:
    sent: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"authorization", header)] if header else []
    guard = mcp_server._BearerAuth(app, "right-token-0123456789")
    await guard({"type": "http", "headers": headers}, None, send)
    assert sent[0]["status"] == status


# --- Errors that help (14.10), from WordPress answers injected at the transport ---------------


@pytest.mark.anyio
async def test_a_site_error_is_not_an_invitation_to_retry_a_refused_upload() -> None:
    def site(request: wp_rest.Request) -> wp_rest.Response:
        if "/wp/v2/media" in request.url and request.method == "POST":
            return _json(500, {"code": "rest_upload_sideload_error",
                               "message": "Sorry, you are not allowed to upload this file type.",
                               "data": {"status": 500}})
        return offline_site(request)

    server, _ = offline(handler=site)
    async with connect(server) as client:
        result = await client.call_tool("upload_media", {"content_base64": "AAAA", "filename": "x.exe"})
    assert result.is_error and "refused this file or its type" in text(result)
    assert "try again" not in text(result)


# --- Against the real WordPress lab -------------------------------------------------------------

wordpress = pytest.mark.wordpress
#: The lab's main site on WordPress 6.1, and on 7.1 (site ids NAME@RELEASE in tests/wp/lab.json).
MAIN_SITES = ["main", "main@7.1"]


def lab_site(lab: dict[str, Any], address: str) -> dict[str, Any]:
    """A lab site: "main" (the release pytest runs against) or "main@7.1" (that release)."""
    name, _, release = address.partition("@")
    sites = lab["versions"].get(release, {}).get("sites", {}) if release else lab["sites"]
    if name not in sites:
        pytest.fail(f"the lab has no site {address!r}; start every release with `bash tests/wp/lab.sh up`")
    info: dict[str, Any] = sites[name]
    return info


def lab_client(lab: dict[str, Any], role: str, site: str = "main", password: str | None = None) -> Any:
    info = lab_site(lab, site)
    user = info["users"][role]
    auth = wp_rest.ApplicationPassword(user["username"], password or user["app_password"])
    return wp_rest.Client(info["url"], auth=auth, timeout=60)


@pytest.fixture
def cleanup(lab: dict[str, Any]) -> Iterator[Callable[[str, int, str], None]]:
    """cleanup(route, id, site): delete it for good after the test, as the admin."""
    made: list[tuple[str, int, str]] = []
    yield lambda route, item_id, site="main": made.append((route, item_id, site))
    for route, item_id, site in reversed(made):
        try:
            lab_client(lab, "admin", site).request("DELETE", f"{route}/{item_id}", params={"force": True})
        except wp_rest.NotFound:
            pass


async def call(server: Any, tool: str, args: dict[str, Any]) -> CallToolResult:
    async with connect(server) as client:
        return await client.call_tool(tool, args)


def ok(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert result.structured_content is not None
    assert "\n" not in text(result)  # a one-line summary, not a pretty-printed copy
    return result.structured_content


@wordpress
@pytest.mark.anyio
@pytest.mark.parametrize("site", MAIN_SITES)
async def test_lab_page_from_markdown_is_stored_as_block_markup(
    lab: dict[str, Any], cleanup: Callable[..., None], site: str
) -> None:
    server = build_server(Config(), lab_client(lab, "admin", site))
    made = ok(await call(server, "create_post", {"title": "MCP page", "type": "page", "content": SAMPLE}))
    cleanup("/wp/v2/pages", made["id"], site)
    assert made["type"] == "page" and made["status"] == "draft" and made["warnings"] == []
    read = ok(await call(server, "get_post", {"post_id": made["id"], "type": "page"}))
    modern = "wp-abilities/v1" in lab_client(lab, "admin", site).index()["namespaces"]  # 6.9 and later
    assert modern == (site == "main@7.1" or lab.get("version") == "7.1")
    assert read["content_is_raw"] and read["content"] == mcp_server.markdown_to_blocks(SAMPLE, modern=modern)
    balanced(read["content"])


@wordpress
@pytest.mark.anyio
async def test_lab_html_is_stored_as_given(lab: dict[str, Any], cleanup: Callable[..., None]) -> None:
    markup = ('<!-- wp:paragraph {"align":"center"} -->\n<p class="has-text-align-center">Hi <strong>there'
              '</strong></p>\n<!-- /wp:paragraph -->')
    server = build_server(Config(), lab_client(lab, "author"))
    made = ok(await call(server, "create_post", {"title": "As is", "content": markup, "content_format": "html"}))
    cleanup("/wp/v2/posts", made["id"])
    assert ok(await call(server, "get_post", {"post_id": made["id"]}))["content"] == markup


@wordpress
@pytest.mark.anyio
async def test_lab_unknown_type_lists_the_valid_ones_and_site_info_the_writable(lab: dict[str, Any]) -> None:
    author = build_server(Config(), lab_client(lab, "author"))
    result = await call(author, "create_post", {"title": "x", "type": "recipe"})
    assert result.is_error and "recipe" in text(result) and "page" in text(result) and "post" in text(result)
    info = ok(await call(author, "get_site_info", {}))
    assert "post" in info["writable_types"] and "page" not in info["writable_types"]  # authors cannot edit pages
    assert info["timezone"] and info["policy"]["publish"] is False
    admin = ok(await call(build_server(Config(), lab_client(lab, "admin")), "get_site_info", {}))
    assert {"post", "page"} <= set(admin["writable_types"])


@wordpress
@pytest.mark.anyio
async def test_lab_scheduling_and_taking_live_content_offline(
    lab: dict[str, Any], cleanup: Callable[..., None]
) -> None:
    admin = lab_client(lab, "admin")
    publisher = build_server(Config(allow_publish=True), admin)
    past = await call(publisher, "create_post", {"title": "MCP past schedule", "status": "future",
                                                 "date": "2021-03-04T05:06:07"})
    assert past.is_error and "not in the future" in text(past)
    assert admin.list_posts(search="MCP past schedule", status="any").items == []  # nothing stored
    later = ok(await call(publisher, "create_post", {"title": "MCP scheduled", "status": "future",
                                                     "date": "2099-01-01T09:00:00"}))
    cleanup("/wp/v2/posts", later["id"])
    assert later["status"] == "future"
    live = ok(await call(publisher, "create_post", {"title": "MCP live", "status": "publish"}))
    cleanup("/wp/v2/posts", live["id"])
    for tool, args in (("delete_post", {"post_id": live["id"]}),
                       ("update_post", {"post_id": live["id"], "status": "draft"})):
        refused = await call(publisher, tool, args)
        assert refused.is_error and "WP_MCP_ALLOW_DELETE" in text(refused), text(refused)
    assert admin.get_post(live["id"])["status"] == "publish"
    drafter = build_server(Config(), admin)
    refused = await call(drafter, "update_post", {"post_id": live["id"], "title": "changed"})
    assert refused.is_error and "WP_MCP_ALLOW_PUBLISH" in text(refused)
    both = build_server(Config(allow_publish=True, allow_delete=True), admin)
    assert ok(await call(both, "delete_post", {"post_id": live["id"]}))["status"] == "trash"


@wordpress
@pytest.mark.anyio
async def test_lab_unknown_ids_are_refused_and_dropped_meta_is_a_warning(
    lab: dict[str, Any], cleanup: Callable[..., None]
) -> None:
    admin = lab_client(lab, "admin")
    server = build_server(Config(), admin)
    for field, value in (("categories", [987654]), ("tags", [987655]), ("featured_media", 987656)):
        result = await call(server, "create_post", {"title": "MCP bad id", field: value})
        assert result.is_error and field in text(result) and str(value).strip("[]") in text(result)
    assert admin.list_posts(search="MCP bad id", status="any").items == []
    made = ok(await call(server, "create_post", {"title": "MCP meta", "meta": {"not_registered": "x"}}))
    cleanup("/wp/v2/posts", made["id"])
    assert any("not_registered" in w for w in made["warnings"]), made


@wordpress
@pytest.mark.anyio
async def test_lab_list_posts_shows_an_editor_every_status_with_filters(
    lab: dict[str, Any], cleanup: Callable[..., None]
) -> None:
    server = build_server(Config(), lab_client(lab, "author"))
    made = ok(await call(server, "create_post", {"title": "MCP listed draft", "tags": ["mcp-list-tag"]}))
    cleanup("/wp/v2/posts", made["id"])
    found = ok(await call(server, "list_posts", {"search": "MCP listed draft"}))
    assert [p["status"] for p in found["items"]] == ["draft"]
    by_tag = ok(await call(server, "list_posts", {"tags": ["mcp-list-tag"], "author": 2, "orderby": "modified",
                                                  "after": "2000-01-01"}))
    assert [p["id"] for p in by_tag["items"]] == [made["id"]]
    seeded = ok(await call(server, "list_posts", {"status": "publish", "per_page": 100}))
    assert seeded["total_pages"] >= 2 and seeded["next_page"] == 2
    past = await call(server, "list_posts", {"status": "publish", "per_page": 100, "page": 999})
    assert past.is_error and f"there are {seeded['total_pages']} pages" in text(past)
    stranger = build_server(Config(), lab_client(lab, "subscriber"))
    assert {p["status"] for p in ok(await call(stranger, "list_posts", {}))["items"]} == {"publish"}


@wordpress
@pytest.mark.anyio
async def test_lab_comments_list_moderate_and_reply(lab: dict[str, Any], cleanup: Callable[..., None]) -> None:
    admin = lab_client(lab, "admin")
    post = admin.create_post(title="MCP comments", status="publish")
    cleanup("/wp/v2/posts", post["id"])
    comment = admin.request("POST", "/wp/v2/comments", json={"post": post["id"], "content": "First!"})
    server = build_server(Config(), admin)
    listed = ok(await call(server, "list_comments", {"post_id": post["id"]}))
    assert [c["id"] for c in listed["items"]] == [comment["id"]]
    for action, status in (("hold", "hold"), ("spam", "spam"), ("approve", "approved"), ("trash", "trash")):
        done = ok(await call(server, "moderate_comment", {"comment_id": comment["id"], "action": action}))
        assert done["status"] == status
    ok(await call(server, "moderate_comment", {"comment_id": comment["id"], "action": "approve"}))
    reply = ok(await call(server, "reply_to_comment", {"comment_id": comment["id"], "content": "Thanks *a lot*"}))
    seen = admin.request("GET", f"/wp/v2/comments/{reply['id']}", params={"context": "edit"})
    assert seen["parent"] == comment["id"] and "<em>a lot</em>" in seen["content"]["raw"]
    reader = build_server(Config(read_only=True), admin)
    refused = await call(reader, "moderate_comment", {"comment_id": comment["id"], "action": "spam"})
    assert refused.is_error and "Unknown tool" in text(refused)


@wordpress
@pytest.mark.anyio
async def test_lab_revisions_list_and_restore(lab: dict[str, Any], cleanup: Callable[..., None]) -> None:
    server = build_server(Config(), lab_client(lab, "author"))
    made = ok(await call(server, "create_post", {"title": "MCP rev", "content": "first"}))
    cleanup("/wp/v2/posts", made["id"])
    ok(await call(server, "update_post", {"post_id": made["id"], "content": "second"}))
    ok(await call(server, "update_post", {"post_id": made["id"], "content": "third"}))
    revisions = ok(await call(server, "list_revisions", {"post_id": made["id"]}))["items"]
    assert len(revisions) >= 2
    restored = ok(await call(server, "restore_revision", {"post_id": made["id"], "revision_id": revisions[-1]["id"]}))
    content = ok(await call(server, "get_post", {"post_id": restored["id"]}))["content"]
    assert "first" in content or "second" in content


@wordpress
@pytest.mark.anyio
async def test_lab_upload_list_media_and_errors_that_help(
    lab: dict[str, Any], cleanup: Callable[..., None]
) -> None:
    png = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")
    server = build_server(Config(), lab_client(lab, "author"))
    post = ok(await call(server, "create_post", {"title": "MCP media"}))
    cleanup("/wp/v2/posts", post["id"])
    media = ok(await call(server, "upload_media", {"content_base64": png, "filename": "mcp-dot.png",
                                                   "alt_text": "a dot", "featured_for": post["id"]}))
    cleanup("/wp/v2/media", media["id"])
    listed = ok(await call(server, "list_media", {"parent": post["id"], "media_type": "image"}))
    assert [m["id"] for m in listed["items"]] == [media["id"]]
    refused = await call(server, "upload_media", {"content_base64": png, "filename": "tool.exe"})
    assert refused.is_error and "refused this file or its type" in text(refused), text(refused)
    ok(await call(server, "delete_post", {"post_id": post["id"]}))
    again = await call(server, "delete_post", {"post_id": post["id"]})
    assert again.is_error and "already in the trash" in text(again)
    wrong = build_server(Config(), lab_client(lab, "author", password="aaaa bbbb cccc dddd eeee ffff"))
    denied = await call(wrong, "create_post", {"title": "never"})
    assert denied.is_error and "wp-rest doctor" in text(denied) and "WP_APP_PASSWORD" in text(denied)


@wordpress
@pytest.mark.anyio
async def test_lab_admin_html_is_sanitised_unless_unfiltered_is_allowed(
    lab: dict[str, Any], cleanup: Callable[..., None]
) -> None:
    admin = lab_client(lab, "admin")  # WordPress gives administrators unfiltered_html: it keeps scripts
    hostile = '<p onclick="x()">Hi<script>alert(1)</script></p>'
    safe = ok(await call(build_server(Config(), admin), "create_post",
                         {"title": "MCP <b>x</b>", "content": hostile, "content_format": "html",
                          "excerpt": "<i>e</i>"}))
    cleanup("/wp/v2/posts", safe["id"])
    stored = admin.get_post(safe["id"], context="edit")
    assert stored["content"]["raw"] == "<p>Hi</p>" and "<" not in stored["title"]["raw"]
    assert "<" not in stored["excerpt"]["raw"]
    assert any("<script>" in w for w in safe["warnings"]) and any("title" in w for w in safe["warnings"])
    raw = ok(await call(build_server(Config(allow_unfiltered_html=True), admin), "create_post",
                        {"title": "MCP raw", "content": hostile, "content_format": "html"}))
    cleanup("/wp/v2/posts", raw["id"])
    assert admin.get_post(raw["id"], context="edit")["content"]["raw"] == hostile


@wordpress
@pytest.mark.anyio
async def test_lab_stale_edit_is_refused(lab: dict[str, Any], cleanup: Callable[..., None]) -> None:
    admin = lab_client(lab, "admin")
    server = build_server(Config(), admin)
    made = ok(await call(server, "create_post", {"title": "MCP stale"}))
    cleanup("/wp/v2/posts", made["id"])
    time.sleep(1.1)  # modified has a resolution of one second
    admin.update_post(made["id"], title="edited by someone else")
    stale = await call(server, "update_post", {"post_id": made["id"], "expected_modified": made["modified"],
                                               "title": "mine"})
    assert stale.is_error and "get_post" in text(stale)
    assert admin.get_post(made["id"], context="edit")["title"]["raw"] == "edited by someone else"


@wordpress
@pytest.mark.anyio
async def test_lab_diagnose_site_is_the_real_report(lab: dict[str, Any]) -> None:
    client = lab_client(lab, "author")
    report = ok(await call(build_server(Config(), client), "diagnose_site", {}))
    assert report == client.diagnose().to_dict() | {"checks": report["checks"]}
    assert report["writes_possible"] is True and {c["name"] for c in report["checks"]} >= {"credentials"}


# --- The Abilities API (WordPress 6.9+; the lab's 7.1 has test abilities) ---------------------

LAB71 = "main@7.1"


@wordpress
@pytest.mark.anyio
async def test_lab_list_abilities_gives_what_an_agent_needs_to_call_them(lab: dict[str, Any]) -> None:
    server = build_server(Config(read_only=True), lab_client(lab, "author", LAB71))
    found = ok(await call(server, "list_abilities", {"category": "wprest-lab"}))
    abilities = {a["name"]: a for a in found["items"]}
    assert {"wprest-lab/echo", "wprest-lab/save-note", "wprest-lab/delete-note"} <= set(abilities)
    echo = abilities["wprest-lab/echo"]
    assert echo["input_schema"]["required"] == ["text"] and echo["annotations"]["readonly"] is True
    assert abilities["wprest-lab/delete-note"]["annotations"]["destructive"] is True


@wordpress
@pytest.mark.anyio
async def test_lab_run_ability_follows_each_ability_s_annotations(lab: dict[str, Any]) -> None:
    admin = lab_client(lab, "admin", LAB71)
    reader = build_server(Config(read_only=True), admin)
    echo = ok(await call(reader, "run_ability", {"name": "wprest-lab/echo",
                                                 "input": {"text": "a b&c", "n": 3, "tags": ["x", "y"]}}))
    assert echo["result"]["input"] == {"text": "a b&c", "n": 3, "tags": ["x", "y"]}
    note = {"name": "wprest-lab/save-note", "input": {"key": "mcp-test", "text": "hello"}}
    refused = await call(reader, "run_ability", note)
    assert refused.is_error and "read-only" in text(refused)
    writer = build_server(Config(), admin)
    assert ok(await call(writer, "run_ability", note))["result"]["saved"] is True
    delete = {"name": "wprest-lab/delete-note", "input": {"key": "mcp-test"}}
    refused = await call(writer, "run_ability", delete)
    assert refused.is_error and "WP_MCP_ALLOW_DELETE" in text(refused)
    deleter = build_server(Config(allow_delete=True), admin)
    assert ok(await call(deleter, "run_ability", delete))["result"]["deleted"] is True
    bad = await call(reader, "run_ability", {"name": "wprest-lab/echo", "input": {"text": "x", "n": "three"}})
    assert bad.is_error and "input[n] is not of type integer" in text(bad)
    missing = await call(reader, "run_ability", {"name": "wprest-lab/nothing-here"})
    assert missing.is_error and "404" in text(missing)


@wordpress
@pytest.mark.anyio
async def test_lab_site_info_reports_the_version_where_the_user_may_learn_it(lab: dict[str, Any]) -> None:
    release = lab["versions"]["7.1"]["wordpress"]
    admin = ok(await call(build_server(Config(), lab_client(lab, "admin", LAB71)), "get_site_info", {}))
    assert admin["wordpress_version"] == release and admin["abilities_api"] is True
    author = ok(await call(build_server(Config(), lab_client(lab, "author", LAB71)), "get_site_info", {}))
    assert author["wordpress_version"].startswith("unknown") and "manage_options" in author["wordpress_version"]
    old = ok(await call(build_server(Config(), lab_client(lab, "admin", "main@6.1")), "get_site_info", {}))
    assert old["abilities_api"] is False and old["wordpress_version"].startswith("unknown")
    lacking = await call(build_server(Config(), lab_client(lab, "admin", "main@6.1")), "list_abilities", {})
    assert lacking.is_error and "6.9" in text(lacking)


# --- Several sites: a site argument that lists them --------------------------------------


def _named_site(name: str) -> Callable[[wp_rest.Request], wp_rest.Response]:
    def answer(request: wp_rest.Request) -> wp_rest.Response:
        path = request.url.split("/wp-json", 1)[1].split("?")[0]
        if path in ("", "/"):
            return _json(200, {"name": name, "url": f"http://{name}.example", "namespaces": ["wp/v2"],
                               "timezone_string": "UTC", "gmt_offset": 0})
        if path == "/wp/v2/users/me":
            return _json(200, {"id": 1, "name": name, "roles": ["editor"], "capabilities": {}})
        return offline_site(request)
    return answer


def _site_client(name: str) -> tuple[wp_rest.Client, wp_rest.MockTransport]:
    transport = wp_rest.MockTransport(_named_site(name))
    return wp_rest.Client(f"http://127.0.0.1:9/{name}/wp-json/", transport=transport, retry=False), transport


@pytest.mark.anyio
async def test_several_sites_add_a_site_argument_listing_them() -> None:
    (shop, shop_sent), (blog, blog_sent) = _site_client("shop"), _site_client("blog")
    async with connect(build_server(Config(read_only=True), {"shop": shop, "blog": blog})) as client:
        tools = (await client.list_tools()).tools
        for tool in tools:
            site = tool.input_schema["properties"]["site"]
            assert site["enum"] == ["blog", "shop"] and "site" in tool.input_schema["required"], tool.name
        info = await client.call_tool("get_site_info", {"site": "blog"})
        missing = await client.call_tool("get_site_info", {})
        wrong = await client.call_tool("get_site_info", {"site": "elsewhere"})
    assert not info.is_error and info.structured_content["name"] == "blog"
    assert blog_sent.requests and not shop_sent.requests
    assert missing.is_error and "'site'" in text(missing)
    assert wrong.is_error and "'site'" in text(wrong)


@pytest.mark.anyio
async def test_one_site_adds_no_site_argument() -> None:
    server, _ = offline()
    async with connect(server) as client:
        assert all("site" not in t.input_schema["properties"] for t in (await client.list_tools()).tools)


# --- MCP output over a server that echoes the credentials (tests/faultkit.py) ---------------


@pytest.mark.anyio
async def test_mcp_tool_errors_and_logs_carry_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    from mcp import Client as MCPClient

    import mcp_server

    def hostile(hit: Hit, conn: Conn) -> None:
        if hit.path.startswith("/wp-json/wp/v2/posts/1"):
            echo_in_wp_error(hit, conn)  # get_post: a 401 quoting the password and token
        elif hit.path.startswith("/wp-json/wp/v2/posts/2"):
            echo_in_status_line(hit, conn)
        elif hit.path.startswith("/wp-json/wp/v2/posts?"):
            echo_credentials(hit, conn)  # list_posts: an HTML page echoing them
        elif hit.method == "POST":
            conn.reset()  # create_post: lost
        else:
            conn.send(response(500, {"code": "x", "message": SECRET, "data": {"status": 500}}))

    with observe("secrets", "MCP tools over a server that echoes the credentials (401 text, HTML page, "
                 "status line) or resets", "tool errors (is_error) with no secret; none in the logs") as obs:
        with fault_server(hostile) as server, caplog.at_level(logging.DEBUG):
            wp = client_for(server.url)
            async with MCPClient(mcp_server.build_server(mcp_server.Config(), wp)) as client:
                results = [await client.call_tool("get_post", {"post_id": 1}),
                           await client.call_tool("get_post", {"post_id": 2}),
                           await client.call_tool("list_posts", {}),
                           await client.call_tool("create_post", {"title": "t"}),
                           await client.call_tool("get_site_info", {})]
        texts = [c.text for r in results for c in r.content if hasattr(c, "text")]
        obs.observed = (f"{sum(r.is_error for r in results)}/{len(results)} tool errors, "
                        f"{len(caplog.text)} log chars; e.g. {normalise(texts[0])[:120]!r}")
        assert all(r.is_error for r in results)
        assert leaks(SECRETS, texts, [r.structured_content for r in results], caplog.text) == []
