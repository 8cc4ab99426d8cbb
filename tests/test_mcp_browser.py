"""The block editor opens what the agent wrote from Markdown without a warning.

A real browser (Debian's chromium and chromium-driver, through selenium,
headless) logs into wp-admin of the lab, opens a post written through the MCP
server in the block editor, and reads the editor's own verdict on every block
(``isValid``, recursively) and the page for "unexpected or invalid content".
Marker ``wordpress``; ``bash tests/wp/lab.sh up``.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client

import mcp_server
import wp_rest

pytestmark = pytest.mark.wordpress

MARKDOWN = """# A page the agent wrote

Some *emphasis*, **strong**, `inline code`, a [link](https://example.com/a?b=1&c=2), ~~struck~~ and a
hard\
break.

## Lists

- one
- two
  - two and a half
- three

3. third
4. fourth

> A quote
> on two lines.
>
> - with a list

```python
def f(a, b):
    return a < b and "[shortcode]" != "&amp;"
```

    indented code

---

| Left | Centre | Right |
|:-----|:------:|------:|
| a    | b      | 1     |
| c    | d      | 22    |

![A blue square](https://example.com/square.png)

###### Small heading
"""

WALK = """
const walk = bs => bs.map(b => ({name: b.name, valid: b.isValid, inner: walk(b.innerBlocks)}));
return walk(wp.data.select('core/block-editor').getBlocks());
"""


def flatten(blocks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for block in blocks:
        yield block
        yield from flatten(block["inner"])


@pytest.fixture
def browser() -> Iterator[Any]:
    """A new headless Chromium per test: nothing (cookies, a half-left editor page) carries over."""
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.fail("the browser test needs Debian's chromium and chromium-driver: apt-get install chromium "
                    "chromium-driver (and pip install selenium)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"):
        options.add_argument(flag)
    options.binary_location = chromium
    session = webdriver.Chrome(options=options, service=Service(driver))
    try:
        yield session
    finally:
        session.quit()


async def _create(client: Any, args: dict[str, Any]) -> dict[str, Any]:
    server = mcp_server.build_server(mcp_server.Config(), client)
    async with Client(server) as mcp:
        result = await mcp.call_tool("create_post", args)
    assert not result.is_error and result.structured_content, result.content
    return result.structured_content


def editor_blocks(browser: Any, info: dict[str, Any], post_id: int) -> tuple[list[dict[str, Any]], str]:
    """Log in as the admin, open the post in the block editor; its blocks (flattened) and its text."""
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    user = info["users"]["admin"]
    for attempt in (1, 2):  # a loaded machine can drop the first login's redirect; one more try
        browser.execute_cdp_cmd("Network.clearBrowserCookies", {})  # every site's, not just this page's
        browser.get(f"{info['url']}/wp-login.php")
        WebDriverWait(browser, 30).until(lambda b: b.execute_script("return document.readyState") == "complete")
        browser.find_element(By.ID, "user_login").send_keys(user["username"])
        browser.find_element(By.ID, "user_pass").send_keys(user["password"])
        browser.find_element(By.ID, "wp-submit").click()
        try:
            WebDriverWait(browser, 60).until(lambda b: "wp-admin" in b.current_url)
            break
        except TimeoutException:
            if attempt == 2:
                raise
    browser.get(f"{info['url']}/wp-admin/post.php?post={post_id}&action=edit")
    WebDriverWait(browser, 90).until(lambda b: b.execute_script(
        "return !!(window.wp && wp.data && wp.data.select('core/block-editor')"
        " && wp.data.select('core/block-editor').getBlocks().length)"))
    # The blocks are drawn once the editing area (7.1: inside the iframe) has its block list.
    WebDriverWait(browser, 90).until(lambda b: b.execute_script(
        "const f = document.querySelector('iframe[name=editor-canvas]');"
        "const d = f ? f.contentDocument : document;"
        "return !!(d && d.querySelector('.block-editor-block-list__block'))"))
    blocks = list(flatten(browser.execute_script(WALK)))
    # 7.1 draws the blocks inside iframe[name=editor-canvas]; 6.1 in the page itself.
    page = browser.execute_script(
        "return document.body.innerText + ' ' + Array.from(document.querySelectorAll("
        "'iframe[name=editor-canvas]')).map(f => (f.contentDocument && f.contentDocument.body) ?"
        " f.contentDocument.body.innerText : '')"
        ".join(' ')")
    return blocks, str(page)


def admin_client(lab: dict[str, Any], site: str) -> tuple[Any, dict[str, Any]]:
    name, _, release = site.partition("@")
    sites = lab["versions"].get(release, {}).get("sites", {}) if release else lab["sites"]
    if name not in sites:
        pytest.fail(f"the lab has no site {site!r}; start every release with `bash tests/wp/lab.sh up`")
    info: dict[str, Any] = sites[name]
    user = info["users"]["admin"]
    auth = wp_rest.ApplicationPassword(user["username"], user["app_password"])
    return wp_rest.Client(info["url"], auth=auth), info


@pytest.mark.parametrize("site", ["main", "main@6.8", "main@7.1"])
@pytest.mark.parametrize("post_type", ["post", "page"])
def test_the_block_editor_accepts_every_block(lab: dict[str, Any], browser: Any, site: str,
                                              post_type: str) -> None:
    client, info = admin_client(lab, site)
    made = anyio.run(_create, client, {"title": "Browser check", "type": post_type, "content": MARKDOWN})
    route = f"{client.type_route(post_type)}/{made['id']}"
    try:
        stored = client.request("GET", route, params={"context": "edit"})["content"]["raw"]
        blocks, page = editor_blocks(browser, info, made["id"])
        # The editor's own serialisation of what it parsed: the shape it saves on this release.
        saved = browser.execute_script("return wp.blocks.serialize(wp.data.select('core/block-editor').getBlocks())")
    finally:
        client.request("DELETE", route, params={"force": True})
    if info.get("version") in ("6.1", "7.1"):  # the shapes written: 6.1's, and 6.9's and later's
        assert saved == stored
    names = {b["name"] for b in blocks}
    assert names >= {"core/heading", "core/paragraph", "core/list", "core/list-item", "core/quote",
                     "core/code", "core/separator", "core/table", "core/image"}, names
    assert "core/freeform" not in names and "core/missing" not in names
    assert [b["name"] for b in blocks if not b["valid"]] == []
    assert "unexpected or invalid content" not in page


@pytest.mark.parametrize("site", ["main", "main@7.1"])
def test_the_probe_sees_an_invalid_block(lab: dict[str, Any], browser: Any, site: str) -> None:
    """The check above can fail: a separator without its classes is one the editor rejects."""
    client, info = admin_client(lab, site)
    bad = "<!-- wp:separator -->\n<hr/>\n<!-- /wp:separator -->"
    made = anyio.run(_create, client, {"title": "Browser negative", "content": bad, "content_format": "html"})
    try:
        blocks, page = editor_blocks(browser, info, made["id"])
    finally:
        client.request("DELETE", f"/wp/v2/posts/{made['id']}", params={"force": True})
    assert [(b["name"], b["valid"]) for b in blocks] == [("core/separator", False)]
    assert "unexpected or invalid content" in page
