"""The client against the real WordPress lab (Debian's wordpress package, PHP, MariaDB).

Every behaviour of WordPress that the client relies on is shown here, on the
real server, not on a stub: round trips, discovery, errors, batches, terms, media,
the Abilities API, the client methods the MCP tools build on (post types, terms by
name, id checks, the stale-edit guard, scheduling, what WordPress kept), and
reliability: a proxy that loses answers after WordPress processed a create,
exactly-once creation, 8 threads x 100 mixed requests and no secret in anything
the client says. Every post made here is deleted for good.
"""

from __future__ import annotations

import contextlib
import datetime
import http.client
import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import wp_rest
from conftest import ROOT, WPFactory
from faultkit import Conn, FaultServer, Hit, Sleeps, describe, lab_secrets, leaks
from reliability_log import observe

pytestmark = pytest.mark.wordpress


def test_round_trip_create_list_get_update_trash(wp: WPFactory, cleanup: list[tuple[str, int]]) -> None:
    client = wp("admin")
    post = client.create_post(title="Round trip", content="<p>first</p>")
    cleanup.append(("main", post["id"]))
    assert post["status"] == "draft" and post["title"]["raw"] == "Round trip"

    drafts = client.list_posts(status="draft", search="Round trip", context="edit")
    assert post["id"] in [p["id"] for p in drafts.items]
    assert drafts.total >= 1

    got = client.get_post(post["id"], context="edit")
    assert got["content"]["raw"] == "<p>first</p>"

    updated = client.update_post(post["id"], title="Round trip 2", status="publish")
    assert (updated["title"]["raw"], updated["status"]) == ("Round trip 2", "publish")

    trashed = client.delete_post(post["id"])
    assert trashed["status"] == "trash"
    assert client.get_post(post["id"], context="edit")["status"] == "trash"

    deleted = client.delete_post(post["id"], force=True)
    assert deleted["deleted"] is True
    with pytest.raises(wp_rest.NotFound) as info:
        client.get_post(post["id"])
    assert info.value.code == "rest_post_invalid_id"


def test_unicode_emoji_and_html_round_trip_exactly(wp: WPFactory, cleanup: list[tuple[str, int]]) -> None:
    title = 'Crème brûlée 🍮 & "quotes" — 日本語 <em>x</em>'
    content = '<p>Ünïcödé 👩‍💻 <a href="https://example.com/?a=1&amp;b=2">link</a></p>\n<!-- c -->'
    client = wp("admin")
    post = client.create_post(title=title, content=content, excerpt="é🍮")
    cleanup.append(("main", post["id"]))
    got = client.get_post(post["id"], context="edit")
    assert got["title"]["raw"] == title
    assert got["content"]["raw"] == content
    assert got["excerpt"]["raw"] == "é🍮"


def test_a_subscriber_gets_permission_denied(wp: WPFactory) -> None:
    with pytest.raises(wp_rest.PermissionDenied) as info:
        wp("subscriber").create_post(title="not allowed")
    err = info.value
    assert (err.status, err.code) == (403, "rest_cannot_create")
    assert "(POST /wp/v2/posts)" in str(err)
    assert wp("subscriber").me()["roles"] == ["subscriber"]


def test_discovery_finds_the_pretty_root(wp: WPFactory, lab: dict[str, Any]) -> None:
    client = wp("admin")
    assert client.api_root == lab["sites"]["main"]["api_root"]
    assert client.api_root.endswith("/wp-json/")
    assert "wp/v2" in client.index()["namespaces"]


def test_plain_permalinks_site_works_through_discovery(wp: WPFactory, lab: dict[str, Any],
                                                       cleanup: list[tuple[str, int]]) -> None:
    client = wp("admin", "plain")
    assert "rest_route=" in client.api_root
    assert client.api_root == lab["sites"]["plain"]["api_root"]
    post = client.create_post(title="On plain permalinks")
    cleanup.append(("plain", post["id"]))
    assert client.get_post(post["id"], context="edit")["title"]["raw"] == "On plain permalinks"
    assert post["id"] in [p["id"] for p in client.list_posts(status="draft").items]


def test_plain_permalinks_pretty_route_is_not_json(lab: dict[str, Any]) -> None:
    # Why discovery matters: /wp-json/ is not the API there (it needs rewrite rules; rest_api_loaded() answers ?rest_route= on any setting).
    client = wp_rest.Client(lab["sites"]["plain"]["url"] + "/wp-json/", retry=False)
    with pytest.raises((wp_rest.InvalidResponse, wp_rest.RedirectError, wp_rest.NotFound)):
        client.list_posts()


def test_an_author_can_create_and_publish(wp: WPFactory, cleanup: list[tuple[str, int]]) -> None:
    post = wp("author").create_post(title="By the author", status="publish")
    cleanup.append(("main", post["id"]))
    assert post["status"] == "publish"


def test_errors_for_bad_parameters_carry_wordpress_details(wp: WPFactory) -> None:
    with pytest.raises(wp_rest.BadRequest) as info:
        wp("admin").create_post(title="x", status="nonsense")
    assert info.value.code == "rest_invalid_param"
    assert "status" in info.value.data["params"]


def test_request_reaches_any_route(wp: WPFactory) -> None:
    types = wp("admin").request("GET", "/wp/v2/types", params={"context": "edit"})
    assert "post" in types and types["post"]["rest_base"] == "posts"


# --- batch, terms, media ---------------------------------------------------------------


def test_create_posts_through_batch_with_per_item_errors(wp: WPFactory, cleanup: list[tuple[str, int]]) -> None:
    client = wp("admin")
    posts = [{"title": f"Batch {i}"} for i in range(30)]
    posts[7] = {"title": "bad one", "status": "nonsense"}
    results = client.create_posts(posts)
    assert len(results) == 30
    for i, result in enumerate(results):
        if i == 7:
            assert isinstance(result, wp_rest.BadRequest) and result.code == "rest_invalid_param"
            assert "(in /batch/v1)" in str(result)
        else:
            assert isinstance(result, dict), result
            cleanup.append(("main", result["id"]))
            assert (result["title"]["raw"], result["status"]) == (f"Batch {i}", "draft")
    ids = {r["id"] for r in results if isinstance(r, dict)}
    found = {p["id"] for p in client.iter_posts(status="draft", search="Batch", _fields="id")}
    assert ids <= found


def test_create_posts_by_a_subscriber_reports_each_refusal(wp: WPFactory) -> None:
    results = wp("subscriber").create_posts([{"title": "a"}, {"title": "b"}])
    assert [type(r) for r in results] == [wp_rest.PermissionDenied] * 2
    assert all(isinstance(r, wp_rest.APIError) and r.code == "rest_cannot_create" for r in results)


def test_terms_list_and_create(wp: WPFactory) -> None:
    client = wp("admin")
    name = "wp-rest test tag ✓"
    tag = client.create_term("tags", name=name)
    try:
        assert tag["name"] == name
        assert tag["id"] in [t["id"] for t in client.list_terms("tags", search="wp-rest test tag").items]
        with pytest.raises(wp_rest.BadRequest) as info:
            client.create_term("tags", name=name)
        assert info.value.code == "term_exists" and info.value.data["term_id"] == tag["id"]
    finally:
        client.request("DELETE", f"/wp/v2/tags/{tag['id']}", params={"force": True})
    categories = client.list_terms("categories", per_page=100)
    assert any(c["slug"] == "pagination-seed" for c in categories.items)


PNG_1PX = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e226059b0000000049454e44ae426082")


def test_upload_media_with_alt_text_and_parent(wp: WPFactory, cleanup: list[tuple[str, int]], tmp_path: Any) -> None:
    client = wp("author")
    post = client.create_post(title="With an image")
    cleanup.append(("main", post["id"]))
    path = tmp_path / "pixel ü.png"
    path.write_bytes(PNG_1PX)
    media = client.upload_media(path, alt_text="A single pixel", post=post["id"])
    try:
        assert media["mime_type"] == "image/png" and media["alt_text"] == "A single pixel"
        assert media["source_url"].endswith(".png") and "pixel" in media["source_url"]
        assert media["post"] == post["id"]
        assert client.update_post(post["id"], featured_media=media["id"])["featured_media"] == media["id"]
        raw = client.upload_media(PNG_1PX, filename="raw.png")
        client.request("DELETE", f"/wp/v2/media/{raw['id']}", params={"force": True})
    finally:
        wp("admin").request("DELETE", f"/wp/v2/media/{media['id']}", params={"force": True})


def test_an_upload_is_public_at_once_and_status_private_hides_only_its_entry(wp: WPFactory) -> None:
    import urllib.request

    media = wp("admin").upload_media(PNG_1PX, filename="private.png", status="private")
    try:
        assert media["status"] == "private"
        with urllib.request.urlopen(media["source_url"], timeout=10) as answer:
            assert answer.status == 200 and answer.read() == PNG_1PX  # the file itself: anyone
        with pytest.raises(wp_rest.AuthenticationError):
            wp(None).request("GET", f"/wp/v2/media/{media['id']}")  # its REST entry: not anonymous
    finally:
        wp("admin").request("DELETE", f"/wp/v2/media/{media['id']}", params={"force": True})


def test_a_contributor_may_draft_but_not_publish(wp: WPFactory, cleanup: list[tuple[str, int]]) -> None:
    client = wp("contributor")
    with pytest.raises(wp_rest.PermissionDenied) as info:
        client.create_post(title="Contributor publishes", status="publish")
    assert info.value.code == "rest_cannot_publish"
    draft = client.create_post(title="Contributor drafts")
    cleanup.append(("main", draft["id"]))
    assert draft["status"] == "draft"


# --- The Abilities API: WordPress 7.1 has it, 6.1 and 6.8 do not -------------------------------


def _on(lab: dict[str, Any], version: str, role: str | None = "admin", site: str = "main") -> wp_rest.Client:
    info = lab["versions"][version]["sites"][site]
    auth = None
    if role is not None:
        auth = wp_rest.ApplicationPassword(info["users"][role]["username"], info["users"][role]["app_password"])
    return wp_rest.Client(info["url"], auth=auth)


def test_abilities_are_listed_with_their_schemas_and_filters(lab: dict[str, Any]) -> None:
    client = _on(lab, "7.1")
    names = {a["name"] for a in client.abilities()}
    assert {"core/get-site-info", "wprest-lab/echo", "wprest-lab/save-note"} <= names
    assert "wprest-lab/hidden" not in names
    ours = client.abilities(category="wprest-lab")
    assert ours and all(a["category"] == "wprest-lab" for a in ours)
    assert {a["name"].split("/")[0] for a in client.abilities(namespace="core")} == {"core"}
    echo = client.ability("wprest-lab/echo")
    assert echo["meta"]["annotations"]["readonly"] is True and "input_schema" in echo


def test_run_ability_sends_input_the_way_wordpress_reads_it(lab: dict[str, Any]) -> None:
    client = _on(lab, "7.1")
    text = "a b&c=d/é"
    result = client.run_ability("wprest-lab/echo", {"text": text, "n": 3, "tags": ["x", "y,z"]})  # GET, query
    assert result["input"]["text"] == text and result["input"]["tags"] == ["x", "y,z"]
    assert str(result["input"]["n"]) == "3"
    key = "sdk-" + os.urandom(4).hex()
    client.run_ability("wprest-lab/save-note", {"key": key, "text": "kept"})  # POST, JSON body
    client.run_ability("wprest-lab/delete-note", {"key": key})  # DELETE, query
    client.run_ability("wprest-lab/bump-counter")  # POST without input


def test_ability_errors_are_typed(lab: dict[str, Any]) -> None:
    client = _on(lab, "7.1")
    with pytest.raises(wp_rest.NotFound) as missing:
        client.run_ability("wprest-lab/hidden")
    assert missing.value.code == "rest_ability_not_found"
    with pytest.raises(wp_rest.BadRequest) as bad:
        client.run_ability("wprest-lab/echo", {"text": "x", "n": "three"})
    assert bad.value.code == "ability_invalid_input" and "n" in bad.value.message
    with pytest.raises(wp_rest.PermissionDenied) as denied:
        _on(lab, "7.1", "subscriber").run_ability("wprest-lab/save-note", {"key": "k", "text": "t"})
    assert denied.value.code == "rest_ability_cannot_execute"
    with pytest.raises(wp_rest.AuthenticationError):
        _on(lab, "7.1", None).abilities()


@pytest.mark.parametrize("version", ["6.1", "6.8"])
def test_a_site_without_the_abilities_api_says_which_wordpress_it_needs(lab: dict[str, Any], version: str) -> None:
    with pytest.raises(wp_rest.NotFound, match=r"no Abilities API.*WordPress 6\.9 or later"):
        _on(lab, version).abilities()
    with pytest.raises(wp_rest.NotFound, match=r"no Abilities API"):
        _on(lab, version).run_ability("core/get-site-info")


def test_php_style_params_round_trip_through_php(lab: dict[str, Any]) -> None:
    for version in ("6.1", "7.1"):
        client = _on(lab, version)
        sent = {"a": {"b": "1", "c": ["x", "y z&"]}, "flag": True, "list": [3, 4]}
        echoed = client.request("GET", "/wprest-lab/v1/echo", params=sent)
        assert echoed["get"]["a"] == {"b": "1", "c": ["x", "y z&"]}
        assert echoed["get"]["flag"] == "true" and echoed["get"]["list"] == ["3", "4"]


@pytest.mark.parametrize(("version", "batched"), [("6.1", False), ("6.8", True), ("7.1", True)])
def test_create_users_batches_where_the_version_allows_it(lab: dict[str, Any], version: str, batched: bool) -> None:
    client = _on(lab, version)
    assert client.api_root
    sent: list[str] = []
    inner = client.transport

    class Counting:
        def send(self, request: wp_rest.Request, *, timeout: float) -> wp_rest.Response:
            sent.append(f"{request.method} {request.route}")
            return inner.send(request, timeout=timeout)

        def close(self) -> None:
            inner.close()

    client.transport = Counting()
    tag = os.urandom(3).hex()
    users = [{"username": f"batch-{tag}-{n}", "email": f"b{tag}{n}@example.com", "password": "pw-" + tag * 4}
             for n in range(3)]
    made = client.create_users(users)
    try:
        assert [u["username"] for u in made if isinstance(u, dict)] == [u["username"] for u in users]
        if batched:
            assert sent == ["POST /batch/v1"]
        else:  # 6.1 refuses users in a batch (rest_batch_not_allowed) and nothing ran: one by one
            assert sent == ["POST /batch/v1"] + ["POST /wp/v2/users"] * 3
    finally:
        for user in made:
            if isinstance(user, dict):
                client.request("DELETE", f"/wp/v2/users/{user['id']}", params={"force": True, "reassign": 1})


# --- The client methods the MCP tools build on --------------------------------------------


def client_for(lab: dict[str, Any], role: str, address: str = "main") -> Any:
    name, _, release = address.partition("@")
    sites = lab["versions"][release]["sites"] if release else lab["sites"]
    user = sites[name]["users"][role]
    return wp_rest.Client(sites[name]["url"], auth=wp_rest.ApplicationPassword(user["username"],
                                                                                     user["app_password"]))


@pytest.fixture
def admin(lab: dict[str, Any]) -> Iterator[Any]:
    client = client_for(lab, "admin")
    yield client
    client.close()


@pytest.mark.parametrize("address", ["main", "main@7.1"])
def test_post_type_routes_and_writable_types(lab: dict[str, Any], address: str) -> None:
    admin, author = client_for(lab, "admin", address), client_for(lab, "author", address)
    assert admin.type_route("page") == "/wp/v2/pages" and admin.type_route("wp_block") == "/wp/v2/blocks"
    with pytest.raises(wp_rest.ConfigError, match=r"unknown post type 'recipe'.*page.*post"):
        admin.type_route("recipe")
    assert {"post", "page"} <= set(admin.writable_types(admin.me()["capabilities"]))
    mine = author.writable_types(author.me()["capabilities"])
    assert "post" in mine and "page" not in mine


def test_terms_by_name_found_created_and_refused(admin: Any) -> None:
    name = f"MCP term {uuid.uuid4().hex[:8]}"
    with pytest.raises(wp_rest.ConfigError, match="no term named"):
        admin.term_id("tags", name)
    made = admin.term_id("tags", name, create=True)
    try:
        assert admin.term_id("tags", name.upper()) == made  # names match case-insensitively
        assert admin.term_id("tags", name, create=True) == made  # no duplicate
    finally:
        admin.request("DELETE", f"/wp/v2/tags/{made}", params={"force": True})


def test_check_ids_refuses_what_the_site_lacks(admin: Any) -> None:
    existing = admin.list_terms("categories", per_page=1).items[0]["id"]
    admin.check_ids({"categories": [existing]})
    for field, value in (("categories", [existing, 987654]), ("tags", [987655]), ("featured_media", 987656)):
        with pytest.raises(wp_rest.ConfigError, match=f"{field}.*98765"):
            admin.check_ids({field: value})


def test_guard_modified_refuses_a_stale_edit(admin: Any) -> None:
    post = admin.create_post(title="MCP guard")
    try:
        route = f"/wp/v2/posts/{post['id']}"
        assert admin.guard_modified(route, post["modified"])["status"] == "draft"
        time.sleep(1.1)  # modified has a resolution of one second
        admin.update_post(post["id"], title="changed")
        with pytest.raises(wp_rest.EditConflict, match="modified at"):
            admin.guard_modified(route, post["modified"])
    finally:
        admin.delete_post(post["id"], force=True)


def test_schedule_time_needs_a_later_date_read_in_site_time(admin: Any) -> None:
    now = datetime.datetime.now(datetime.timezone.utc)
    with pytest.raises(wp_rest.ConfigError, match="none was given"):
        admin.schedule_time(None)
    with pytest.raises(wp_rest.ConfigError, match="not in the future"):
        admin.schedule_time("2020-01-01T00:00:00")
    later = admin.schedule_time("2099-01-01T00:00:00")
    assert later > now and later.utcoffset() == admin.site_timezone().utcoffset(later.replace(tzinfo=None))


def test_not_kept_names_dropped_meta_and_terms(admin: Any) -> None:
    asked = {"title": "MCP kept", "meta": {"not_registered": "x"}, "status": "draft"}
    post = admin.create_post(**asked)
    try:
        assert admin.not_kept(asked, post) == [
            "meta 'not_registered' was not kept: the key is not registered for the REST API"]
        assert admin.not_kept({"tags": [5, 6]}, {"tags": [5]}) == ["tags [6] were not kept"]
    finally:
        admin.delete_post(post["id"], force=True)


def test_writable_types_of_a_user_who_may_not_list_them_is_empty(wp: WPFactory) -> None:
    """WordPress refuses /wp/v2/types?context=edit to a subscriber (403) and to nobody (401)."""
    subscriber, anonymous = wp("subscriber"), wp(None)
    with pytest.raises(wp_rest.PermissionDenied):
        subscriber.request("GET", "/wp/v2/types", params={"context": "edit"})
    assert subscriber.writable_types(subscriber.me()["capabilities"]) == []
    assert anonymous.writable_types({"edit_posts": True}) == []


def test_a_term_whose_stored_name_differs_is_found_through_term_exists(admin: Any) -> None:
    """WordPress stores "&" as "&amp;", so the name search misses it; creating it again answers
    400 term_exists with the id, which term_id returns."""
    name = f"R & D {uuid.uuid4().hex[:8]}"
    made = admin.term_id("tags", name, create=True)
    try:
        assert admin.find_term("tags", name) is None
        assert admin.term_id("tags", name, create=True) == made
    finally:
        admin.request("DELETE", f"/wp/v2/tags/{made}", params={"force": True})


def test_iteration_ends_when_deletions_empty_the_later_pages(admin: Any) -> None:
    """Once every match is gone WordPress answers a later page with 200 [] (no total left to exceed)."""
    tag = uuid.uuid4().hex
    ids = [admin.create_post(title=f"shrinking {tag} {n}")["id"] for n in range(3)]
    try:
        items = admin.iter_posts(search=tag, status="draft", per_page=1)
        first = next(items)
        for post_id in ids:
            admin.delete_post(post_id, force=True)
        assert first["id"] in ids and list(items) == []
    finally:
        for post_id in ids:
            with contextlib.suppress(wp_rest.NotFound):
                admin.delete_post(post_id, force=True)


@pytest.mark.parametrize("address", ["main", "main@7.1"])
def test_create_once_refuses_a_slug_held_by_a_draft_the_user_cannot_see(lab: dict[str, Any],
                                                                        address: str) -> None:
    """An author cannot read an administrator's draft: WordPress gives the author's post "<slug>-2"
    and the lookup finds no holder. Returning that copy would make another on every call."""
    admin, author = client_for(lab, "admin", address), client_for(lab, "author", address)
    slug = f"held-{uuid.uuid4().hex}"
    held = admin.create_post(title="held", slug=slug)
    try:
        with pytest.raises(wp_rest.ConfigError, match="belongs to a post this user cannot see"):
            author.create_post_once(slug, title="mine", settle=0)
        assert [p["id"] for p in admin.list_posts(search="mine", slug=f"{slug}-2", status="any").items] == []
        assert [p["id"] for p in admin.list_posts(slug=slug, status="any").items] == [held["id"]]
    finally:
        admin.delete_post(held["id"], force=True)


@pytest.mark.parametrize("address", ["main", "main@7.1"])
def test_create_users_returns_the_refusal_of_one_user_in_place(lab: dict[str, Any], address: str) -> None:
    """6.1 creates users one by one (no batching of users), 7.1 in a batch: the same results."""
    admin = client_for(lab, "admin", address)
    tag = uuid.uuid4().hex[:8]
    new = {"username": f"one-{tag}", "email": f"one{tag}@example.com", "password": "pw-" + tag * 3}
    taken = {**new, "username": admin.me()["username"], "email": f"dup{tag}@example.com"}
    made = admin.create_users([taken, new])
    try:
        # wp_insert_user()'s error carries no status: WordPress answers it with 500.
        assert isinstance(made[0], wp_rest.ServerError) and made[0].code == "existing_user_login"
        assert isinstance(made[1], dict) and made[1]["username"] == new["username"]
    finally:
        for user in made:
            if isinstance(user, dict):
                admin.request("DELETE", f"/wp/v2/users/{user['id']}", params={"force": True, "reassign": 1})


# --- A proxy that loses answers -------------------------------------------------------


#: The method under test.
create_once: Callable[..., dict[str, Any]] = wp_rest.Client.create_post_once


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
