# ruff: noqa: RUF001  (table text uses the multiplication sign, micro and en dash on purpose)
"""Case 6: the MCP server (mcp_server.py) over stdio.

Start: from spawning ``python mcp_server.py`` to the answer of the first
``tools/list`` (``initialize``, ``notifications/initialized``, ``tools/list``
written by hand as JSON lines, so no client library is timed), against the
same for a hello-world ``MCPServer`` with one tool on the same SDK (target:
within 1.15x), runs interleaved. A Python process that only imports ``mcp``
(spawn to its first line of output) is shown as the floor.

Per call: ``call_tool("list_posts", {"per_page": 10})`` through the SDK's
``ClientSession`` over stdio against calling ``wp_rest`` directly with the
same parameters the tool sends, in alternating pairs. Measured twice: against
bench/fakewp.py (the MCP overhead in isolation) and against the real
WordPress lab (what an agent sees). The MCP ``ping`` round trip is the floor
of any stdio call.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from case_import import children, importtime
from common import ROOT, CaseResult, Row, Stat, Target, child_env, fake_wordpress

SERVER = str(ROOT / "mcp_server.py")
LIST_FIELDS = "id,title,status,date,modified,link,excerpt"
DUMMY_APP_PASSWORD = "abcd EFGH 1234 ijkl MNOP 6789"
#: The start-up target of the issue: within this ratio of a hello-world server.
START_TARGET = 1.15
HELLO_SERVER = """from mcp.server import MCPServer

server = MCPServer("hello")


@server.tool()
def hello(name: str) -> str:
    \"\"\"Say hello.\"\"\"
    return f"hello {name}"


server.run("stdio")
"""


def _start_to_tools_list(env: dict[str, str], cwd: str, script: str = SERVER, tool: str = "list_posts") -> float:
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, env=env, cwd=cwd, text=True)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        def call(message: dict[str, Any]) -> None:
            proc.stdin.write(json.dumps(message) + "\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]

        def answer(wanted: int) -> dict[str, Any]:
            while True:
                line = proc.stdout.readline()  # type: ignore[union-attr]
                if not line:
                    raise RuntimeError(f"{script} exited early ({proc.poll()})")
                message: dict[str, Any] = json.loads(line)
                if message.get("id") == wanted:
                    return message

        call({"jsonrpc": "2.0", "id": 1, "method": "initialize",
              "params": {"protocolVersion": "2025-11-25", "capabilities": {},
                         "clientInfo": {"name": "wp-rest-bench", "version": "0"}}})
        answer(1)
        call({"jsonrpc": "2.0", "method": "notifications/initialized"})
        call({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})
        tools = answer(2)["result"]["tools"]
        elapsed = time.perf_counter() - started
        if not any(t["name"] == tool for t in tools):
            raise RuntimeError(f"tools/list has no {tool}")
        return elapsed
    finally:
        proc.stdin.close()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.terminate()
            proc.wait(10)
        proc.stdout.close()


def _spawn_to_ready(code: str) -> float:
    """Spawn ``python -c code`` and time until it prints its first line (exit not counted,
    as the server's start is timed to its first answer, not to its exit)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", f"{code}; print('ready', flush=True)"],
                            stdout=subprocess.PIPE, text=True, env=child_env())
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    proc.wait(30)
    proc.stdout.close()
    if line.strip() != "ready":
        raise RuntimeError(f"python -c {code!r} failed")
    return elapsed


async def _per_call(env: dict[str, str], direct: Any, pairs: int, cwd: str) -> dict[str, list[float]]:
    from mcp import ClientSession, StdioServerParameters, stdio_client

    params = StdioServerParameters(command=sys.executable, args=[SERVER], env=env, cwd=cwd)
    args = {"per_page": 10}
    out: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryFile("w+") as errlog:
        async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as session:
            await session.initialize()

            async def mcp_call() -> None:
                result = await session.call_tool("list_posts", args)
                if result.is_error:
                    raise RuntimeError(f"list_posts over MCP failed: {result.content}")

            def direct_call() -> None:
                direct.list_posts(status="publish", orderby="date", order="desc", page=1, per_page=10,
                                  _fields=LIST_FIELDS)

            for _ in range(10):
                await mcp_call()
                direct_call()
                await session.send_ping()
            for i in range(pairs):
                for what in (("mcp", "direct", "ping") if i % 2 == 0 else ("direct", "mcp", "ping")):
                    started = time.perf_counter()
                    if what == "mcp":
                        await mcp_call()
                    elif what == "direct":
                        direct_call()
                    else:
                        await session.send_ping()
                    out[what].append((time.perf_counter() - started) * 1000)
    return out


def run(quick: bool, site: dict[str, Any] | None) -> CaseResult:
    import wp_rest

    result = CaseResult(6, "mcp", "MCP server over stdio: start, per-call overhead",
                        ratio_label="× baseline")
    starts = 3 if quick else 11
    fake_pairs, real_pairs = (60, 10) if quick else (300, 60)
    with tempfile.TemporaryDirectory() as cwd, fake_wordpress() as base:
        fake_env = child_env(WP_URL=base + "/wp-json/", WP_USERNAME="bench",
                             WP_APP_PASSWORD=DUMMY_APP_PASSWORD)
        hello = str(Path(cwd) / "hello_server.py")
        Path(hello).write_text(HELLO_SERVER)
        for code in ("import mcp", "pass"):
            _spawn_to_ready(code)
        _start_to_tools_list(fake_env, cwd)
        _start_to_tools_list(fake_env, cwd, hello, "hello")
        spans: dict[str, list[float]] = defaultdict(list)
        for i in range(starts):
            runs = [("server", lambda: _start_to_tools_list(fake_env, cwd)),
                    ("hello", lambda: _start_to_tools_list(fake_env, cwd, hello, "hello")),
                    ("import mcp", lambda: _spawn_to_ready("import mcp"))]
            for name, fn in (runs if i % 2 == 0 else runs[::-1]):
                spans[name].append(fn() * 1000)
        floor = statistics.median(spans["hello"])
        ratio = statistics.median(spans["server"]) / floor
        result.rows += [
            Row("start → first tools/list answer", Stat(spans["server"]), "ms", ratio,
                note="ratio vs the hello-world server"),
            Row("hello-world MCPServer, one tool: start → tools/list", Stat(spans["hello"]), "ms", 1.0),
            Row("python -c 'import mcp' (spawn to its first output)", Stat(spans["import mcp"]), "ms",
                statistics.median(spans["import mcp"]) / floor),
        ]
        result.targets = [Target(f"start to tools/list within {START_TARGET}× of a hello-world MCPServer",
                                 f"{ratio:.2f}×", ratio <= START_TARGET)]
        direct = wp_rest.Client(base + "/wp-json/",
                                auth=wp_rest.ApplicationPassword("bench", DUMMY_APP_PASSWORD))
        fake = asyncio.run(_per_call(fake_env, direct, fake_pairs, cwd))
        direct.close()
        real: dict[str, list[float]] = {}
        if site is not None:
            user = site["users"]["author"]
            real_env = child_env(WP_URL=site["url"], WP_USERNAME=user["username"],
                                 WP_APP_PASSWORD=user["app_password"])
            direct = wp_rest.Client(site["url"], auth=wp_rest.ApplicationPassword(
                user["username"], user["app_password"]))
            real = asyncio.run(_per_call(real_env, direct, real_pairs, cwd))
            direct.close()
    for label, data in (("local fake server", fake), ("real WordPress", real)):
        if not data:
            continue
        base_ms = statistics.median(data["direct"])
        over = Stat([m - d for m, d in zip(data["mcp"], data["direct"], strict=True)])
        result.rows += [
            Row(f"{label}: wp_rest list_posts() direct", Stat(data["direct"]), "ms/call", 1.0),
            Row(f"{label}: MCP call_tool('list_posts') over stdio", Stat(data["mcp"]), "ms/call",
                statistics.median(data["mcp"]) / base_ms,
                note=f"overhead {over.median:+.2f} ms (IQR {over.q1:+.2f}…{over.q3:+.2f})"),
            Row(f"{label}: MCP ping over stdio", Stat(data["ping"]), "ms/call",
                statistics.median(data["ping"]) / base_ms),
        ]
    lines = importtime("mcp_server")
    parts = children(lines, "mcp_server")
    top = sorted(((ms, name) for name, ms in parts.items()), reverse=True)[:8]
    total_ms = next(c for d, n, c in lines if d == 0 and n == "mcp_server") / 1000
    result.profile = (f"`-X importtime -S` of `import mcp_server` (one run): {total_ms:.0f} ms in all; "
                      "largest imports:\n" + "\n".join(f"  {ms:6.0f} ms  {name}" for ms, name in top))
    result.notes = [
        f"Start: {starts} runs of each, interleaved, server configured for bench/fakewp.py (its "
        "credential check, users/me, runs while the tools are built); raw JSON-RPC lines, protocol "
        "2025-11-25.",
        f"Per call: {fake_pairs} (fake) / {real_pairs} (real) alternating pairs after 10 warm-up "
        "calls; SDK ClientSession over stdio; the direct call sends the tool's exact parameters "
        f"(status, orderby, order, page, per_page, _fields={LIST_FIELDS}); overhead = median of "
        "per-pair differences.",
    ]
    if site is None:
        result.notes.append("Real WordPress part skipped: the lab is not running.")
    return result
