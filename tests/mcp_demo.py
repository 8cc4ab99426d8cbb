"""An agent-style session with mcp_server.py over stdio, as an MCP host runs it.

Used by tests/demo.sh: lists the tools, creates a draft from Markdown, lists
drafts and reads the site info, printing each call and its structured answer.
Credentials come from the environment (WP_URL, WP_USERNAME, WP_APP_PASSWORD).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from mcp import ClientSession, StdioServerParameters, stdio_client

SERVER = Path(__file__).resolve().parent.parent / "mcp_server.py"


async def call(session: ClientSession, tool: str, args: dict[str, Any]) -> Any:
    print(f"\n> tools/call {tool} {json.dumps(args, ensure_ascii=False)}")
    result = await session.call_tool(tool, args)
    if result.is_error:
        print("  error:", result.content[0].text if result.content else "")  # type: ignore[union-attr]
        return None
    print("  " + json.dumps(result.structured_content, ensure_ascii=False, indent=1).replace("\n", "\n  "))
    return result.structured_content


async def main() -> None:
    env = {k: os.environ[k] for k in ("WP_URL", "WP_USERNAME", "WP_APP_PASSWORD", "PATH")}
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        print("> tools/list:", ", ".join(t.name for t in tools.tools))
        stamp = time.strftime("%H:%M:%S")
        await call(session, "create_post", {
            "title": f"Drafted by an agent {stamp}",
            "content": "## Hello\n\nWritten through **MCP**, as *Markdown*.",
            "content_format": "markdown"})
        await call(session, "create_post", {"title": "Straight to the front page", "status": "publish"})
        await call(session, "list_posts", {"status": "draft", "per_page": 3})


if __name__ == "__main__":
    anyio.run(main)
