"""mcp_server.py as a real process: over stdio with the SDK's client, over
streamable HTTP with a bearer token (and 100 concurrent tool calls on one session),
and through the MCP Inspector CLI; all against the real WordPress lab
(``bash tests/wp/lab.sh up``).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client

import wp_rest
from faultkit import lab_secrets, leaks
from reliability_log import observe

ROOT = Path(__file__).resolve().parent.parent
SERVER = str(ROOT / "mcp_server.py")
LAB_JSON = ROOT / "tests" / "wp" / "lab.json"
#: Pinned: plain `npx @modelcontextprotocol/inspector` picks 0.15.0 on Node 20 (engines field).
INSPECTOR = "@modelcontextprotocol/inspector@2.12.0"

wordpress = pytest.mark.wordpress


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def lab_site(lab: dict[str, Any]) -> dict[str, Any]:
    """The lab's main site (conftest's ``lab`` fails, never skips, when the lab is not up)."""
    site: dict[str, Any] = lab["sites"]["main"]
    return site


def server_env(site: dict[str, Any], role: str = "author", **extra: str) -> dict[str, str]:
    user = site["users"][role]
    env = {"WP_URL": site["url"], "WP_USERNAME": user["username"], "WP_APP_PASSWORD": user["app_password"]}
    return {**env, **extra}


@pytest.fixture
def admin(lab_site: dict[str, Any]) -> Iterator[wp_rest.Client]:
    user = lab_site["users"]["admin"]
    client = wp_rest.Client(
        lab_site["url"], auth=wp_rest.ApplicationPassword(user["username"], user["app_password"])
    )
    yield client
    client.close()


@pytest.fixture
def post_ids(admin: wp_rest.Client) -> Iterator[list[int]]:
    """Ids of posts to delete for good after the test."""
    ids: list[int] = []
    yield ids
    for post_id in ids:
        try:
            admin.delete_post(post_id, force=True)
        except wp_rest.NotFound:
            pass


@asynccontextmanager
async def stdio_session(env: dict[str, str], cwd: Path) -> AsyncIterator[ClientSession]:
    """mcp_server.py as a subprocess, through the SDK's client; its stderr is kept in cwd/stderr.log."""
    params = StdioServerParameters(command=sys.executable, args=[SERVER], env=env, cwd=str(cwd))
    with (cwd / "stderr.log").open("w") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            yield session


def text(result: Any) -> str:
    return " ".join(getattr(c, "text", "") for c in result.content)


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, text(result)
    assert "\n" not in text(result)  # a one-line summary, not a pretty-printed copy (14.12)
    structured: dict[str, Any] = result.structured_content
    return structured


MARKDOWN = "## Plan\n\nWritten *over stdio*.\n\n- one\n- two\n\n```\nx < y\n```\n"


@wordpress
@pytest.mark.anyio
async def test_stdio_draft_logs_to_stderr_without_secrets(lab_site: dict[str, Any], tmp_path: Path,
                                                         admin: wp_rest.Client, post_ids: list[int]) -> None:
    async with stdio_session(server_env(lab_site), tmp_path) as session:
        made = ok(await session.call_tool("create_post", {"title": "MCP stdio draft", "content": "*hi*"}))
    post_ids.append(made["id"])
    seen = admin.get_post(made["id"], context="edit")
    assert seen["status"] == "draft"
    assert seen["content"]["raw"] == "<!-- wp:paragraph -->\n<p><em>hi</em></p>\n<!-- /wp:paragraph -->"
    stderr = (tmp_path / "stderr.log").read_text()
    assert "wp-rest-mcp" in stderr  # logs went to stderr (stdout is the protocol: any stray byte breaks it)
    assert lab_site["users"]["author"]["app_password"] not in stderr


@wordpress
@pytest.mark.anyio
async def test_stdio_strict_arguments_and_short_type_errors(lab_site: dict[str, Any], tmp_path: Path,
                                                            admin: wp_rest.Client) -> None:
    """14.1: an unknown argument is refused by name and nothing is written; a wrong type is one short line."""
    async with stdio_session(server_env(lab_site), tmp_path) as session:
        tools = (await session.list_tools()).tools
        unknown = await session.call_tool("create_post", {"title": "MCP stdio strict", "post_type": "page"})
        wrong = await session.call_tool("get_post", {"post_id": "twelve"})
    assert all(t.input_schema.get("additionalProperties") is False for t in tools)
    assert unknown.is_error and "unknown argument 'post_type'" in text(unknown)
    assert admin.list_posts(search="MCP stdio strict", status="any").items == []
    assert wrong.is_error and "'post_id'" in text(wrong) and len(text(wrong)) < 300
    assert "pydantic" not in text(wrong)


@wordpress
@pytest.mark.anyio
async def test_stdio_page_from_markdown_is_block_markup(lab_site: dict[str, Any], tmp_path: Path,
                                                        admin: wp_rest.Client) -> None:
    """14.2 and 14.4: a page written in Markdown is stored as block markup; get_post gives it back raw."""
    async with stdio_session(server_env(lab_site, role="admin"), tmp_path) as session:
        made = ok(await session.call_tool("create_post", {"title": "MCP stdio page", "type": "page",
                                                          "content": MARKDOWN}))
        read = ok(await session.call_tool("get_post", {"post_id": made["id"], "type": "page"}))
    try:
        stored = admin.request("GET", f"/wp/v2/pages/{made['id']}", params={"context": "edit"})
        assert stored["type"] == "page" and stored["status"] == "draft"
        assert stored["content"]["raw"] == read["content"]
        # WordPress 6.9+ (the Abilities API tells) saves headings with their class; older releases without.
        heading = '<h2 class="wp-block-heading">' if "wp-abilities/v1" in admin.index()["namespaces"] else "<h2>"
        assert stored["content"]["raw"].startswith(f"<!-- wp:heading -->\n{heading}Plan</h2>\n<!-- /wp:heading -->")
        assert '<pre class="wp-block-code"><code>x &lt; y</code></pre>' in stored["content"]["raw"]
    finally:
        admin.request("DELETE", f"/wp/v2/pages/{made['id']}", params={"force": True})


@wordpress
@pytest.mark.anyio
async def test_stdio_publish_gate(lab_site: dict[str, Any], tmp_path: Path, admin: wp_rest.Client,
                                  post_ids: list[int]) -> None:
    """14.3: future needs a date in the future even where publishing is allowed; a live post stays live."""
    live = admin.create_post(title="MCP stdio live", status="publish")
    post_ids.append(live["id"])
    env = server_env(lab_site, role="admin", WP_MCP_ALLOW_PUBLISH="1")
    async with stdio_session(env, tmp_path) as session:
        undated = await session.call_tool("create_post", {"title": "MCP stdio future", "status": "future"})
        past = await session.call_tool("create_post", {"title": "MCP stdio future", "status": "future",
                                                       "date": "2020-02-02T10:00:00"})
        trash = await session.call_tool("delete_post", {"post_id": live["id"]})
        unpublish = await session.call_tool("update_post", {"post_id": live["id"], "status": "draft"})
    assert undated.is_error and "date" in text(undated)
    assert past.is_error and "not in the future" in text(past)
    assert admin.list_posts(search="MCP stdio future", status="any").items == []
    for refused in (trash, unpublish):
        assert refused.is_error and "WP_MCP_ALLOW_DELETE" in text(refused)
    assert admin.get_post(live["id"])["status"] == "publish"


@wordpress
@pytest.mark.anyio
async def test_stdio_nothing_silently_dropped(lab_site: dict[str, Any], tmp_path: Path, admin: wp_rest.Client,
                                              post_ids: list[int]) -> None:
    """14.5: an unknown category id is refused before the write; an unregistered meta key is a warning."""
    async with stdio_session(server_env(lab_site), tmp_path) as session:
        bad = await session.call_tool("create_post", {"title": "MCP stdio bad cat", "categories": [998877]})
        made = ok(await session.call_tool("create_post", {"title": "MCP stdio meta", "meta": {"nope": 1}}))
    post_ids.append(made["id"])
    assert bad.is_error and "998877" in text(bad) and "categories" in text(bad)
    assert admin.list_posts(search="MCP stdio bad cat", status="any").items == []
    assert made["warnings"] and "nope" in made["warnings"][0]


@wordpress
@pytest.mark.anyio
async def test_stdio_listing_comments_revisions_media(lab_site: dict[str, Any], tmp_path: Path,
                                                      post_ids: list[int]) -> None:
    """14.6-14.9: drafts are listed for their author; comments, revisions and media are tools."""
    async with stdio_session(server_env(lab_site), tmp_path) as session:
        made = ok(await session.call_tool("create_post", {"title": "MCP stdio listed", "content": "v1"}))
        post_ids.append(made["id"])
        ok(await session.call_tool("update_post", {"post_id": made["id"], "content": "v2"}))
        listed = ok(await session.call_tool("list_posts", {"search": "MCP stdio listed"}))
        revisions = ok(await session.call_tool("list_revisions", {"post_id": made["id"]}))
        comments = ok(await session.call_tool("list_comments", {"post_id": made["id"]}))
        media = ok(await session.call_tool("list_media", {"media_type": "image", "per_page": 1}))
    assert [p["status"] for p in listed["items"]] == ["draft"]
    assert revisions["total"] >= 1 and comments["items"] == [] and "total_pages" in media


@wordpress
@pytest.mark.anyio
async def test_stdio_errors_that_help(lab_site: dict[str, Any], tmp_path: Path, admin: wp_rest.Client,
                                      post_ids: list[int]) -> None:
    """14.10: a refused file type, trashing twice, and a missing post each say what to do."""
    draft = admin.create_post(title="MCP stdio twice")
    post_ids.append(draft["id"])
    async with stdio_session(server_env(lab_site, role="admin"), tmp_path) as session:
        exe = await session.call_tool("upload_media", {"content_base64": "TVqQAAMAAAAEAAAA", "filename": "x.exe"})
        ok(await session.call_tool("delete_post", {"post_id": draft["id"]}))
        again = await session.call_tool("delete_post", {"post_id": draft["id"]})
        missing = await session.call_tool("get_post", {"post_id": 987654321})
    assert exe.is_error and "refused this file or its type" in text(exe) and "try again" not in text(exe)
    assert again.is_error and "already in the trash" in text(again)
    assert missing.is_error and "list_" in text(missing)


def _start(env: dict[str, str], tmp_path: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, SERVER], env={"PATH": os.environ.get("PATH", ""), **env},
                          capture_output=True, text=True, timeout=60, cwd=tmp_path, input=stdin,
                          stdin=None if stdin is not None else subprocess.DEVNULL, check=False)


@wordpress
def test_wrong_credentials_stop_the_server_with_one_line(lab_site: dict[str, Any], tmp_path: Path) -> None:
    """14.11: users/me is checked before serving; a wrong password ends the server with exit status 1."""
    env = server_env(lab_site)
    done = _start({**env, "WP_APP_PASSWORD": "aaaa bbbb cccc dddd eeee ffff"}, tmp_path)
    assert done.returncode == 1 and done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("wp-rest-mcp:")]
    assert len(lines) == 1 and "WP_APP_PASSWORD" in lines[0] and "wp-rest doctor" in lines[0], done.stderr
    assert "aaaa" not in done.stderr


@pytest.mark.anyio
async def test_an_unreachable_site_does_not_stop_it(tmp_path: Path) -> None:
    """14.11: the server starts; the tools then report the failure."""
    env = {"WP_URL": "http://127.0.0.1:9", "WP_USERNAME": "u", "WP_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx",
           "PATH": os.environ.get("PATH", "")}
    async with stdio_session(env, tmp_path) as session:
        result = await session.call_tool("list_posts", {})
    assert result.is_error and "Could not" in text(result)


def test_insecure_http_has_an_environment_twin(tmp_path: Path) -> None:
    """14.11: WP_ALLOW_INSECURE_HTTP=1 lets credentials go over plain http to a remote host."""
    env = {"WP_URL": "http://wp.invalid", "WP_USERNAME": "u", "WP_APP_PASSWORD": "abcd efgh ijkl mnop qrst uvwx"}
    refused = _start(env, tmp_path)
    assert refused.returncode == 2 and "http" in refused.stderr
    allowed = _start({**env, "WP_ALLOW_INSECURE_HTTP": "1"}, tmp_path, stdin="")
    assert allowed.returncode == 0, allowed.stderr  # it served until stdin closed


@wordpress
@pytest.mark.anyio
async def test_stdio_tools_list_is_titled_and_under_24_kb(lab_site: dict[str, Any], tmp_path: Path) -> None:
    """14.12: every tool has a title and an output schema; the whole answer stays under 24 KB."""
    async with stdio_session(server_env(lab_site), tmp_path) as session:
        listed = await session.list_tools()
    size = len(listed.model_dump_json(by_alias=True, exclude_none=True))
    assert size < 24 * 1024, size
    assert all(t.title and t.output_schema for t in listed.tools)


def test_bad_configuration_fails_at_start_with_one_line(tmp_path: Path) -> None:
    done = _start({"WP_URL": "ftp://example.com"}, tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "WP_URL" in done.stderr, done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for_http(url: str, proc: subprocess.Popen[Any]) -> int:
    """Poll the MCP HTTP endpoint until it answers (with an HTTP error: no token sent); its status."""
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=5)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("the MCP HTTP server did not start")
            time.sleep(0.2)
        else:
            pytest.fail("the MCP HTTP server answered a request without its token")


@wordpress
@pytest.mark.anyio
async def test_streamable_http_requires_the_bearer_token(lab_site: dict[str, Any], tmp_path: Path) -> None:
    port, token = _free_port(), "lab-http-token-0123456789"
    env = {**os.environ, **server_env(lab_site, WP_MCP_HTTP_TOKEN=token, WP_MCP_READ_ONLY="1")}
    with (tmp_path / "stderr.log").open("w+") as errlog:
        proc = subprocess.Popen(
            [sys.executable, SERVER, "--transport", "streamable-http", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            stdout=errlog,
            stderr=errlog,
        )
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            assert _wait_for_http(url, proc) == 401
            headers = {"Authorization": f"Bearer {token}"}
            async with (
                httpx2.AsyncClient(headers=headers) as http,
                Client(streamable_http_client(url, http_client=http)) as client,
            ):
                names = {t.name for t in (await client.list_tools()).tools}
                info = await client.call_tool("get_site_info", {})
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        errlog.seek(0)
        logs = errlog.read()
    assert "create_post" not in names and "get_site_info" in names
    assert (
        not info.is_error
        and info.structured_content
        and info.structured_content["policy"]["read_only"] is True
    )
    assert token not in logs


def _inspector(site: dict[str, Any], tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    npx = shutil.which("npx")
    if npx is None:
        pytest.fail("npx (Node.js) is needed for the MCP Inspector CLI test: apt-get install nodejs npm")
    env_args = [arg for key, value in server_env(site).items() for arg in ("-e", f"{key}={value}")]
    return subprocess.run(
        [npx, "-y", INSPECTOR, "--cli", *env_args, sys.executable, SERVER, *args],
        env={**os.environ, "MCP_CATALOG_PATH": str(tmp_path / "catalog.json")},
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        check=False,
    )


@wordpress
def test_inspector_cli_lists_tools_and_creates_a_draft(
    lab_site: dict[str, Any], admin: wp_rest.Client, post_ids: list[int], tmp_path: Path
) -> None:
    listed = _inspector(lab_site, tmp_path, "--strict", "--method", "tools/list")
    assert listed.returncode == 0, listed.stderr[-2000:]
    names = {t["name"] for t in json.loads(listed.stdout)["tools"]}
    assert {"create_post", "list_posts", "upload_media", "get_site_info"} <= names
    called = _inspector(
        lab_site,
        tmp_path,
        "--method",
        "tools/call",
        "--tool-name",
        "create_post",
        "--tool-arg",
        "title=MCP inspector draft",
        "--tool-arg",
        "content=Made by *Inspector*",
    )
    assert called.returncode == 0, called.stderr[-2000:]
    result = json.loads(called.stdout)
    assert result["isError"] is False
    post_ids.append(result["structuredContent"]["id"])
    seen = admin.get_post(post_ids[0], context="edit")
    assert seen["status"] == "draft" and "<em>Inspector</em>" in seen["content"]["raw"]


@wordpress
@pytest.mark.anyio
async def test_stdio_abilities_and_site_facts_on_7_1(lab: dict[str, Any], tmp_path: Path) -> None:
    """13.4 and 13.5: abilities listed and run by their annotations; the version where the user may learn it."""
    site = lab["versions"]["7.1"]["sites"]["main"]
    async with stdio_session(server_env(site, role="admin", WP_MCP_READ_ONLY="1"), tmp_path) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        listed = ok(await session.call_tool("list_abilities", {"category": "wprest-lab"}))
        clock = ok(await session.call_tool("run_ability", {"name": "wprest-lab/clock"}))
        counter = await session.call_tool("run_ability", {"name": "wprest-lab/bump-counter"})
        info = ok(await session.call_tool("get_site_info", {}))
    assert "run_ability" in names and "create_post" not in names
    assert any(a["name"] == "wprest-lab/echo" and a["input_schema"] for a in listed["items"])
    assert clock["result"]["utc"].endswith("Z")
    assert counter.is_error and "read-only" in text(counter)
    assert info["wordpress_version"] == lab["versions"]["7.1"]["wordpress"] and info["abilities_api"] is True


@wordpress
@pytest.mark.anyio
async def test_stdio_serves_several_named_sites_from_the_credentials_file(lab: dict[str, Any],
                                                                          tmp_path: Path) -> None:
    """15.5: sites stored by `wp-rest login --name`, served together; each tool takes a site argument."""
    stored = {}
    for name, version in (("old", "6.1"), ("new", "7.1")):
        site = lab["versions"][version]["sites"]["main"]
        user = site["users"]["author"]
        stored[name] = {"url": site["url"], "username": user["username"], "application_password": user["app_password"]}
    config = tmp_path / "credentials.json"
    config.write_text(json.dumps({"sites": stored}))
    config.chmod(0o600)
    env = {"WP_REST_CONFIG": str(config), "WP_MCP_SITES": "old,new", "WP_MCP_READ_ONLY": "1"}
    async with stdio_session(env, tmp_path) as session:
        tools = (await session.list_tools()).tools
        old = ok(await session.call_tool("get_site_info", {"site": "old"}))
        new = ok(await session.call_tool("get_site_info", {"site": "new"}))
        nameless = await session.call_tool("get_site_info", {})
    assert all(t.input_schema["properties"]["site"]["enum"] == ["new", "old"] for t in tools)
    assert (old["abilities_api"], new["abilities_api"]) == (False, True)
    assert old["user"]["roles"] == new["user"]["roles"] == ["author"]
    assert nameless.is_error and "'site'" in text(nameless)


# --- 100 concurrent tool calls over streamable HTTP (real WordPress) -------------------------


@wordpress
@pytest.mark.anyio
async def test_mcp_streamable_http_answers_100_concurrent_tool_calls(lab: dict[str, Any], tmp_path: Path) -> None:
    site, token = lab["sites"]["main"], f"reliability-{uuid.uuid4().hex}"
    user = site["users"]["author"]
    port = _free_port()
    env = {**os.environ, "WP_URL": site["url"], "WP_USERNAME": user["username"],
           "WP_APP_PASSWORD": user["app_password"], "WP_MCP_HTTP_TOKEN": token}
    calls = 100
    with observe("load", f"MCP server over streamable HTTP: {calls} concurrent tool calls "
                 "(get_site_info, list_posts, get_post of a missing id) on one session",
                 "every call answered: the reads succeed, the 404 is a tool error; no secret in logs") as obs, \
            (tmp_path / "server.log").open("w+") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "mcp_server.py"), "--transport", "streamable-http",
                                 "--port", str(port), "--log-level", "DEBUG"],
                                env=env, cwd=tmp_path, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        try:
            url = f"http://127.0.0.1:{port}/mcp"
            assert _wait_for_http(url, proc) == 401
            results: list[Any] = [None] * calls
            start = time.monotonic()
            async with (
                httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=120) as http,
                MCPClient(streamable_http_client(url, http_client=http)) as client,
            ):
                async def one(i: int) -> None:
                    if i % 10 == 9:
                        results[i] = ("missing", await client.call_tool("get_post", {"post_id": 999_999_999}))
                    elif i % 2:
                        results[i] = ("list", await client.call_tool("list_posts", {"per_page": 5}))
                    else:
                        results[i] = ("info", await client.call_tool("get_site_info", {}))

                async with anyio.create_task_group() as group:
                    for i in range(calls):
                        group.start_soon(one, i)
            elapsed = time.monotonic() - start
        finally:
            proc.terminate()
            proc.wait(timeout=30)
        log.seek(0)
        logs = log.read()
        failures = [(kind, r) for kind, r in results if (kind == "missing") != bool(r.is_error)]
        info_ok = all(r.structured_content["user"]["roles"] == ["author"] for kind, r in results if kind == "info")
        obs.observed = (f"{calls} calls in {elapsed:.1f} s: {sum(1 for k, r in results if not r.is_error)} "
                        f"succeeded, {sum(1 for k, r in results if r.is_error)} tool errors (all for the "
                        f"missing post), {len(failures)} unexpected; server log {len(logs)} chars, no secret")
        assert failures == [] and info_ok
        assert all("the list_* tools give ids" in r.content[0].text for kind, r in results if kind == "missing")
        texts = [c.text for _, r in results for c in r.content if hasattr(c, "text")]
        assert leaks([token, *lab_secrets(lab)], logs, texts) == []
