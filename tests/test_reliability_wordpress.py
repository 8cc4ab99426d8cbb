"""Reliability against the real WordPress lab (``bash tests/wp/lab.sh up``):
a proxy that loses answers after WordPress processed a create, exactly-once
creation, 8 threads x 100 mixed requests, and 100 concurrent MCP tool calls
over streamable HTTP. Every post made here is deleted for good.
"""

from __future__ import annotations

import http.client
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client as MCPClient
from mcp.client.streamable_http import streamable_http_client

import wp_rest
from faultkit import Conn, FaultServer, Hit, Sleeps, describe, leaks, secret_forms
from reliability_log import observe

pytestmark = pytest.mark.wordpress

ROOT = Path(__file__).resolve().parent.parent
#: Once the lead adds it to wp_rest.Client, the method is what these tests exercise.
create_once: Callable[..., dict[str, Any]] = wp_rest.Client.create_post_once


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def lab_secrets(lab: dict[str, Any]) -> list[str]:
    users = lab["sites"]["main"]["users"].values()
    return [s for u in users for s in secret_forms(u["app_password"])]


# --- A proxy that loses answers -------------------------------------------------------


class LossyProxy:
    """Forwards requests to the lab; ``lose(hit)`` says what to do with each one:

    ``"pass"`` relays the answer; ``"answer"`` lets WordPress process the request,
    reads its whole answer, then resets the client's connection; ``"request"``
    resets it before forwarding anything.
    """

    def __init__(self, upstream: str, lose: Callable[[Hit], str]) -> None:
        self.upstream = upstream
        self.lose = lose
        self.log: list[tuple[str, str, str, int]] = []  # (method, path, what happened, status)
        self.server = FaultServer(self._handle)

    @property
    def url(self) -> str:
        return self.server.url

    def _handle(self, hit: Hit, conn: Conn) -> None:
        what = self.lose(hit)
        if what == "request":
            self.log.append((hit.method, hit.path, "lost before WordPress", 0))
            conn.reset()
            return
        host, port = self.upstream.split("//", 1)[1].split(":")
        upstream = http.client.HTTPConnection(host, int(port), timeout=60)
        headers = {k: v for k, v in hit.headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(hit.method, hit.path, body=hit.body or None, headers=headers)
        resp = upstream.getresponse()
        body = resp.read()  # WordPress has finished the request once its answer is complete
        upstream.close()
        if what == "answer":
            self.log.append((hit.method, hit.path, "answer lost after WordPress", resp.status))
            conn.reset()
            return
        self.log.append((hit.method, hit.path, "relayed", resp.status))
        head = f"HTTP/1.1 {resp.status} {resp.reason}\r\n"
        for name, value in resp.getheaders():
            if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                head += f"{name}: {value}\r\n"
        head += f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        conn.send(head.encode("latin-1") + body)
        conn.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def proxy(lab: dict[str, Any]) -> Iterator[Callable[[Callable[[Hit], str]], LossyProxy]]:
    made: list[LossyProxy] = []

    def factory(lose: Callable[[Hit], str]) -> LossyProxy:
        made.append(LossyProxy(lab["sites"]["main"]["url"], lose))
        return made[-1]

    yield factory
    for p in made:
        p.close()


def lose_first_create(what: str) -> Callable[[Hit], str]:
    lost = threading.Event()

    def lose(hit: Hit) -> str:
        if hit.method == "POST" and hit.path.startswith("/wp-json/wp/v2/posts") and not lost.is_set():
            lost.set()
            return what
        return "pass"

    return lose


def through(proxy: LossyProxy, lab: dict[str, Any], role: str = "author", **kwargs: Any) -> wp_rest.Client:
    user = lab["sites"]["main"]["users"][role]
    kwargs.setdefault("timeout", 30.0)
    return wp_rest.Client(proxy.url + "/wp-json/",
                          auth=wp_rest.ApplicationPassword(user["username"], user["app_password"]), **kwargs)


def posts_with_slug(admin: wp_rest.Client, slug: str) -> list[dict[str, Any]]:
    """Every post whose slug is ``slug`` or a WordPress-made variant ``slug-N``."""
    variants = [slug] + [f"{slug}-{n}" for n in range(2, 6)]
    return admin.list_posts(slug=variants, status="any", per_page=20, context="edit").items


@pytest.fixture
def admin(wp: Any) -> wp_rest.Client:
    client: wp_rest.Client = wp("admin")
    return client


@pytest.fixture
def doomed(admin: wp_rest.Client) -> Iterator[list[str]]:
    """Slugs whose posts (and -N variants) are deleted for good after the test."""
    slugs: list[str] = []
    yield slugs
    for slug in slugs:
        for post in posts_with_slug(admin, slug):
            try:
                admin.delete_post(int(post["id"]), force=True)
            except wp_rest.NotFound:
                pass


def test_a_lost_answer_to_a_create_says_the_post_may_exist(
        lab: dict[str, Any], proxy: Any, admin: wp_rest.Client, doomed: list[str]) -> None:
    slug = f"lost-answer-{uuid.uuid4().hex[:12]}"
    doomed.append(slug)
    with observe("exactly once", "real WordPress; proxy resets the connection after WordPress created the post",
                 "TransportError saying the write may have happened; not retried; the post exists once") as obs:
        lossy = proxy(lose_first_create("answer"))
        client = through(lossy, lab, retry=wp_rest.Retry(total=3, sleep=Sleeps()))
        with pytest.raises(wp_rest.TransportError) as info:
            client.create_post(title="Lost answer", slug=slug)
        found = posts_with_slug(admin, slug)
        obs.observed = (describe(info.value) + f"; WordPress has {len(found)} post(s) with the slug; "
                        f"proxy saw {[entry[:3] for entry in lossy.log]}")
        assert info.value.request_sent is True and "may have processed it" in str(info.value)
        assert [m for m, *_ in lossy.log].count("POST") == 1  # not retried
        assert len(found) == 1 and found[0]["slug"] == slug


@pytest.mark.parametrize(("what", "role"), [("answer", "author"), ("request", "author"), ("answer", "contributor")],
                         ids=["answer-lost", "request-lost", "contributor-answer-lost"])
def test_create_once_makes_exactly_one_post_when_a_message_is_lost(
        lab: dict[str, Any], proxy: Any, admin: wp_rest.Client, doomed: list[str], what: str, role: str) -> None:
    slug = f"once-{uuid.uuid4().hex}"
    doomed.append(slug)
    where = "after WordPress created it" if what == "answer" else "before it reached WordPress"
    with observe("exactly once", f"create_post_once as {role}; the first POST is lost {where}",
                 "exactly one post; the caller gets it") as obs:
        lossy = proxy(lose_first_create(what))
        sleeps = Sleeps()
        client = through(lossy, lab, role=role, retry=wp_rest.Retry(total=2, sleep=sleeps))
        post = create_once(client, slug, title=f"Exactly once ({what})", content="<p>once</p>")
        again = create_once(client, slug, title="a second call with the same slug")
        found = posts_with_slug(admin, slug)
        obs.observed = (f"returned post {post['id']} ({post['slug']}); a second call returned {again['id']}; "
                        f"WordPress has {len(found)} post(s) with the slug; proxy: "
                        f"{[entry[2] for entry in lossy.log if entry[0] == 'POST']}")
        assert len(found) == 1 and found[0]["id"] == post["id"] == again["id"]
        assert post["slug"] == slug and post["status"] == "draft"
        assert sleeps.calls == [2.0]  # one settle wait, before the look-up


def test_create_once_removes_a_duplicate_made_by_a_race(
        lab: dict[str, Any], admin: wp_rest.Client, doomed: list[str], wp: Any,
        caplog: pytest.LogCaptureFixture) -> None:
    """A copy already holds the slug (a lost attempt finished late): the new copy is deleted."""
    slug = f"race-{uuid.uuid4().hex}"
    doomed.append(slug)
    author = wp("author")
    with observe("exactly once", "create_post_once racing a copy that gets the slug first",
                 "the later copy (slug-2) is deleted; the first is returned") as obs:
        first = author.create_post(title="first", slug=slug)
        real_lookup = author.list_posts
        calls = {"n": 0}

        def blind_first_lookup(**params: Any) -> wp_rest.Page:  # the copy is not visible yet
            calls["n"] += 1
            if calls["n"] == 1:
                return wp_rest.Page(items=[], page=1, per_page=2, total=0, total_pages=0)
            return real_lookup(**params)

        author.list_posts = blind_first_lookup  # type: ignore[method-assign]
        with caplog.at_level(logging.WARNING, logger="wp_rest"):
            post = create_once(author, slug, title="second")
        found = posts_with_slug(admin, slug)
        twice = [r.getMessage() for r in caplog.records if "created twice" in r.getMessage()]
        obs.observed = (f"returned {post['id']} (first was {first['id']}); logged {twice}; "
                        f"left {[p['slug'] for p in found]}")
        assert post["id"] == first["id"] and [p["id"] for p in found] == [first["id"]]
        assert len(twice) == 1


def test_create_once_refuses_a_slug_wordpress_would_change() -> None:
    client = wp_rest.Client("http://127.0.0.1:1/wp-json/")
    for bad in ("Hello", "a b", "12345", "a--b", "-a", "é", "x" * 191, "", "feed", "rss2", "atom", "embed"):
        with pytest.raises(wp_rest.ConfigError, match="slug"):
            create_once(client, bad, title="t")


def test_wordpress_rewrites_feed_slugs_on_publishing(admin: wp_rest.Client, cleanup: list[tuple[str, int]]) -> None:
    """Why create_post_once refuses them: the slug it would look for is not the one stored."""
    with observe("exactly once", "a published post asking for the slug 'feed' (real WordPress)",
                 "WordPress stores another slug, so create_post_once refuses 'feed'") as obs:
        post = admin.create_post(title="feed slug", slug="feed", status="publish")
        cleanup.append(("main", int(post["id"])))
        obs.observed = f"stored slug {post['slug']!r}"
        assert post["slug"] != "feed" and post["slug"].startswith("feed-")


def test_create_once_refuses_a_pending_post_of_a_contributor_and_creates_nothing(
        lab: dict[str, Any], proxy: Any, admin: wp_rest.Client, doomed: list[str],
        cleanup: list[tuple[str, int]], wp: Any) -> None:
    contributor = wp("contributor")
    slug = f"pending-{uuid.uuid4().hex}"
    doomed.append(slug)
    with observe("exactly once", "create_post_once(status='pending') as a contributor; the first POST's "
                 "answer is lost", "ConfigError before any POST; no post; a plain create shows why") as obs:
        lossy = proxy(lose_first_create("answer"))
        client = through(lossy, lab, role="contributor", retry=wp_rest.Retry(total=2, sleep=Sleeps()))
        with pytest.raises(wp_rest.ConfigError, match="cannot publish"):
            create_once(client, slug, title="pending", status="pending")
        made = contributor.create_post(title="plain pending", slug=slug + "-plain", status="pending")
        cleanup.append(("main", int(made["id"])))
        obs.observed = (f"refused; proxy saw {[m for m, *_ in lossy.log]}; WordPress stored a contributor's "
                        f"pending slug as {made['slug']!r}")
        assert "POST" not in [m for m, *_ in lossy.log] and posts_with_slug(admin, slug) == []
        assert made["slug"] == ""


# --- Load -----------------------------------------------------------------------------


def open_lab_sockets(port: int) -> int:
    """Sockets of this process connected to ``port`` (from /proc), for the connection bound."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    for table in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[9] in inodes:
                count += 1
    return count


THREADS, REQUESTS = 8, 100


def test_eight_threads_of_mixed_requests_share_one_client(
        lab: dict[str, Any], wp: Any, admin: wp_rest.Client, caplog: pytest.LogCaptureFixture) -> None:
    client: wp_rest.Client = wp("author")
    port = int(lab["sites"]["main"]["url"].rsplit(":", 1)[1])
    token = uuid.uuid4().hex[:10]
    errors: list[str] = []
    counts = [0] * THREADS
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], open_lab_sockets(port))
            time.sleep(0.005)

    def work(n: int) -> None:
        def check(ok: bool, what: str) -> None:
            counts[n] += 1
            if not ok:
                errors.append(f"thread {n}: {what}")

        try:
            me = client.me()
            check(me["slug"] == "author", "me")
            cycle = 0
            while counts[n] < REQUESTS:
                cycle += 1
                title = f"load {token} t{n} c{cycle}"
                post = client.create_post(title=title, content=f"<p>{n}/{cycle}</p>")
                check(post["title"]["raw"] == title and post["status"] == "draft", "create")
                got = client.get_post(post["id"], context="edit")
                check(got["content"]["raw"] == f"<p>{n}/{cycle}</p>", "get")
                changed = client.update_post(post["id"], title=title + " v2")
                check(changed["title"]["raw"] == title + " v2", "update")
                listed = client.list_posts(search=f"{token} t{n} c{cycle} v2", status="draft", per_page=5)
                check([p["id"] for p in listed.items] == [post["id"]], "list")
                gone = client.delete_post(post["id"], force=True)
                check(gone.get("deleted") is True, "delete")
                if counts[n] < REQUESTS:
                    page = client.list_posts(per_page=3, _fields="id,title")
                    check(len(page.items) <= 3 and page.total >= 0, "list published")
                if counts[n] < REQUESTS:
                    index = client.index()
                    check("wp/v2" in index["namespaces"], "index")
                if counts[n] < REQUESTS:
                    try:
                        client.get_post(999_999_999)
                        check(False, "missing post found")
                    except wp_rest.NotFound:
                        check(True, "")
        except Exception as exc:  # collected for the assertion below
            errors.append(f"thread {n}: {type(exc).__name__}: {exc}")

    with observe("load", f"{THREADS} threads x {REQUESTS} mixed requests (create, get, update, search, delete, "
                 "list, index, 404) on one shared client, real WordPress (php -S, 4 workers)",
                 "all correct; at most one connection per thread; nothing left behind") as obs:
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        start = time.monotonic()
        with caplog.at_level(logging.DEBUG, logger="wp_rest"):
            threads = [threading.Thread(target=work, args=(n,)) for n in range(THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        elapsed = time.monotonic() - start
        done.set()
        sampler.join()
        left = admin.list_posts(search=f"load {token}", status="any", per_page=100).items
        for post in left:
            admin.delete_post(post["id"], force=True)
        obs.observed = (f"{sum(counts)} requests in {elapsed:.1f} s ({sum(counts) / elapsed:.0f}/s), "
                        f"{len(errors)} errors, peak {peak[0]} open connections, "
                        f"{client.transport.connections_opened} opened in all (the lab closes each), "
                        f"{len(left)} posts left")
        assert errors == []
        assert sum(counts) >= THREADS * REQUESTS
        assert 1 <= peak[0] <= THREADS
        assert left == []
        assert leaks(lab_secrets(lab), caplog.text) == []


# --- Secrets, end to end ----------------------------------------------------------------


def test_no_secret_in_anything_the_client_says(lab: dict[str, Any], wp: Any, caplog: pytest.LogCaptureFixture,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    site = lab["sites"]["main"]
    secrets = lab_secrets(lab)
    with observe("secrets", "real WordPress: 401 (wrong app password), 403, 404, 400, refused port, "
                 "repr of clients and auth; logs at DEBUG; wp-rest CLI output",
                 "no application password in any message, repr, log line or CLI output") as obs:
        seen: list[Any] = []
        with caplog.at_level(logging.DEBUG, logger="wp_rest"):
            wrong = wp_rest.Client(site["url"], auth=wp_rest.ApplicationPassword("author", "x" * 24), retry=False)
            subscriber = wp("subscriber")
            author = wp("author")
            for action in (lambda: wrong.me(), lambda: subscriber.create_post(title="no"),
                           lambda: author.get_post(999_999_999), lambda: author.list_posts(per_page=500),
                           lambda: wp_rest.Client(f"http://127.0.0.1:{_free_port()}/wp-json/",
                                                  auth=author.auth, retry=False).me()):
                try:
                    action()
                except wp_rest.WPError as exc:
                    seen.append(exc)
            seen += [repr(wrong), repr(author), repr(author.auth), str(author.auth), vars(author.auth)]
            user = site["users"]["author"]
            env = {**os.environ, "WP_URL": site["url"], "WP_USERNAME": user["username"],
                   "WP_APP_PASSWORD": user["app_password"]}
            cli = subprocess.run([sys.executable, str(ROOT / "wp_rest.py"), "-v", "posts", "get", "999999999"],
                                 env=env, capture_output=True, text=True, timeout=60, check=False)
        captured = capsys.readouterr()
        kinds = sorted({type(e).__name__ for e in seen if isinstance(e, BaseException)})
        obs.observed = (f"{len(seen)} objects ({', '.join(kinds)}), {len(caplog.text)} log chars, CLI exit "
                        f"{cli.returncode} with {len(cli.stderr)} stderr chars: no secret found")
        assert len([e for e in seen if isinstance(e, BaseException)]) == 5
        assert cli.returncode == 1 and "404" in cli.stderr
        assert leaks(secrets, seen, caplog.text, captured.out, captured.err, cli.stdout, cli.stderr) == []
        # the auth object keeps only the header, never the password itself
        assert all(user["app_password"].replace(" ", "") not in str(v) for v in vars(author.auth).values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- MCP over streamable HTTP ----------------------------------------------------------


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
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(urllib.request.Request(url, data=b"{}", method="POST"), timeout=5)
                except urllib.error.HTTPError:
                    break  # 401: it is up
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        pytest.fail("the MCP HTTP server did not start")
                    time.sleep(0.2)
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
