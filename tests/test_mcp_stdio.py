"""mcp_server.py as a real process: over stdio with the SDK's client, over
streamable HTTP with a bearer token, and through the MCP Inspector CLI; all
against the real WordPress lab (``bash tests/wp/lab.sh up``).
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
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

import wp_rest

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


@wordpress
@pytest.mark.anyio
async def test_stdio_subprocess_with_the_sdk_client(
    lab_site: dict[str, Any], admin: wp_rest.Client, post_ids: list[int], tmp_path: Path
) -> None:
    params = StdioServerParameters(
        command=sys.executable, args=[SERVER], env=server_env(lab_site), cwd=str(tmp_path)
    )
    with (tmp_path / "stderr.log").open("w+") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            tools = {t.name: t for t in (await session.list_tools()).tools}
            result = await session.call_tool("create_post", {"title": "MCP stdio draft", "content": "*hi*"})
            assert not result.is_error, result.content
            assert result.structured_content is not None
            post_ids.append(result.structured_content["id"])
            missing = await session.call_tool("get_post", {"post_id": 987654321})
        errlog.seek(0)
        stderr = errlog.read()
    assert tools["create_post"].output_schema and tools["list_posts"].annotations
    assert missing.is_error and "list_posts" in missing.content[0].text  # type: ignore[union-attr]
    seen = admin.get_post(post_ids[0], context="edit")
    assert seen["status"] == "draft" and seen["content"]["raw"] == "<p><em>hi</em></p>\n"
    assert "wp-rest-mcp" in stderr  # logs went to stderr (stdout is the protocol: any stray byte breaks it)
    assert lab_site["users"]["author"]["app_password"] not in stderr


def test_bad_configuration_fails_at_start_with_one_line(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "WP_URL": "ftp://example.com"}
    done = subprocess.run(
        [sys.executable, SERVER],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and "WP_URL" in done.stderr, done.stderr


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=5)
                except urllib.error.HTTPError as exc:
                    status = exc.code
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        pytest.fail("the HTTP server did not start")
                    time.sleep(0.2)
            assert status == 401
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
