"""An agent-style session with mcp_server.py over stdio, as an MCP host runs it.

Used by tests/demo.sh: lists the tools, drafts a page from Markdown (stored as
block markup), reads it back, tries to schedule a post in the past (refused:
WordPress would publish it at once), and lists the drafts. Prints each call and
the server's answer. Credentials come from the environment (WP_URL,
WP_USERNAME, WP_APP_PASSWORD).
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

PAGE = """## Opening hours

We are open **every day** except Mondays.

- Tuesday to Friday: 9:00 to 18:00
- Weekends: 10:00 to 16:00

> Closed on public holidays.

| Day | Opens | Closes |
|:----|------:|-------:|
| Sat | 10:00 | 16:00 |
"""


async def call(session: ClientSession, tool: str, args: dict[str, Any]) -> Any:
    print(f"\n> tools/call {tool} {json.dumps(args, ensure_ascii=False)[:160]}")
    result = await session.call_tool(tool, args)
    text = " ".join(getattr(c, "text", "") for c in result.content)
    print(("  refused: " if result.is_error else "  ") + text[:400])
    return None if result.is_error else result.structured_content


async def main() -> None:
    env = {k: os.environ[k] for k in ("WP_URL", "WP_USERNAME", "WP_APP_PASSWORD", "PATH")}
    params = StdioServerParameters(command=sys.executable, args=[str(SERVER)], env=env)
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = await session.list_tools()
        print("> tools/list:", ", ".join(t.name for t in tools.tools))
        stamp = time.strftime("%H:%M:%S")
        page = await call(session, "create_post", {"title": f"Opening hours ({stamp})", "type": "page",
                                                   "content": PAGE})
        if page:
            read = await call(session, "get_post", {"post_id": page["id"], "type": "page"})
            if read:
                print("  block markup as stored:\n    " + read["content"][:300].replace("\n", "\n    "))
        await call(session, "create_post", {"title": "Yesterday's news", "status": "future",
                                            "date": "2020-01-01T09:00:00"})
        await call(session, "list_posts", {"type": "page", "status": "draft", "per_page": 3})


if __name__ == "__main__":
    anyio.run(main)
