"""The client against the real WordPress lab (Debian's wordpress package, PHP, MariaDB).

Every behaviour of WordPress that the client relies on is shown here, on the
real server, not on a stub.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import pytest

import wp_rest
from conftest import ROOT, WPFactory

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


def test_pagination_over_the_seeded_posts_has_correct_totals(wp: WPFactory, lab: dict[str, Any]) -> None:
    site = lab["sites"]["main"]
    client = wp(None)
    [category] = client.request("GET", "/wp/v2/categories", params={"slug": site["seed_category_slug"]})
    expected = site["seed_posts"]
    assert expected >= 250

    first = client.list_posts(categories=category["id"], per_page=100)
    assert (first.total, first.total_pages, first.page, first.next_page) == (expected, 3, 1, 2)
    last = client.list_posts(categories=category["id"], per_page=100, page=3)
    assert len(last.items) == expected - 200 and last.next_page is None

    default = client.list_posts(categories=category["id"])
    assert (default.per_page, len(default.items), default.total_pages) == (10, 10, 26)

    ids = [p["id"] for p in client.iter_posts(categories=category["id"], _fields="id")]
    assert len(ids) == expected == len(set(ids))


def test_iter_posts_is_lazy(wp: WPFactory, lab: dict[str, Any]) -> None:
    client = wp(None)
    it = client.iter_posts(per_page=5, _fields="id")
    assert len([next(it) for _ in range(5)]) == 5  # one page fetched, nothing more needed


def test_a_subscriber_gets_permission_denied(wp: WPFactory) -> None:
    with pytest.raises(wp_rest.PermissionDenied) as info:
        wp("subscriber").create_post(title="not allowed")
    err = info.value
    assert (err.status, err.code) == (403, "rest_cannot_create")
    assert "(POST /wp/v2/posts)" in str(err)
    assert wp("subscriber").me()["roles"] == ["subscriber"]


@pytest.mark.parametrize(("site", "code"), [("apache", "rest_not_logged_in"), ("main", "incorrect_password")])
def test_a_wrong_application_password_is_explained(wp: WPFactory, lab: dict[str, Any], site: str, code: str) -> None:
    """Bare WordPress answers a wrong application password as if none was sent; on a site with
    WooCommerce (the lab's main site runs its authentication), its rest_authentication_errors
    fallback makes core report it: 401 incorrect_password."""
    wrong = wp_rest.ApplicationPassword("admin", "abcd EFGH 1234 ijkl MNOP 6789")
    client = wp(None, site, auth=wrong)
    with pytest.raises(wp_rest.AuthenticationError) as me:
        client.me()
    assert (me.value.status, me.value.code) == (401, code)
    assert "application password" in str(me.value) and "wp-rest doctor" in str(me.value)
    with pytest.raises(wp_rest.AuthenticationError) as create:
        client.create_post(title="x")
    assert create.value.code in ("rest_cannot_create", code)
    if code == "rest_not_logged_in":  # ...and serves public reads anonymously.
        assert client.list_posts(per_page=1).total >= 1


def test_the_login_password_is_not_an_application_password(wp: WPFactory, lab: dict[str, Any]) -> None:
    user = lab["sites"]["main"]["users"]["admin"]
    with pytest.raises(wp_rest.AuthenticationError):
        wp(None, auth=wp_rest.ApplicationPassword(user["username"], user["password"])).me()


def test_application_password_spaces_are_optional_and_case_matters(wp: WPFactory, lab: dict[str, Any]) -> None:
    user = lab["sites"]["main"]["users"]["author"]
    compact = user["app_password"].replace(" ", "")
    assert wp(None, auth=wp_rest.ApplicationPassword("author", compact)).me()["username"] == "author"
    with pytest.raises(wp_rest.AuthenticationError):
        wp(None, auth=wp_rest.ApplicationPassword("author", compact.swapcase())).me()


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


def test_application_passwords_are_ignored_on_a_production_http_site(wp: WPFactory) -> None:
    client = wp("admin", "production")
    assert client.index()["authentication"] == []
    with pytest.raises(wp_rest.AuthenticationError) as info:
        client.me()
    assert info.value.code == "rest_not_logged_in"


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


# --- command line ------------------------------------------------------------


def _cli(lab: dict[str, Any], *args: str, role: str = "admin", stdin: str = "",
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    user = lab["sites"]["main"]["users"][role]
    full_env = {"PATH": os.environ["PATH"], "WP_URL": lab["sites"]["main"]["url"],
                "WP_USERNAME": user["username"], "WP_APP_PASSWORD": user["app_password"]}
    full_env.update(env or {})
    return subprocess.run([sys.executable, str(ROOT / "wp_rest.py"), *args], input=stdin,
                          capture_output=True, text=True, env=full_env, timeout=60, check=False)


def test_cli_create_get_list_delete(lab: dict[str, Any], cleanup: list[tuple[str, int]]) -> None:
    made = _cli(lab, "posts", "create", "--title", "From the CLI ✓", "--content-file", "-",
                stdin="<p>piped</p>")
    assert made.returncode == 0, made.stderr
    post = json.loads(made.stdout)
    cleanup.append(("main", post["id"]))
    assert post["status"] == "draft"

    got = _cli(lab, "posts", "get", str(post["id"]))
    assert got.returncode == 0 and json.loads(got.stdout)["id"] == post["id"]

    listed = _cli(lab, "posts", "list", "--status", "draft", "--search", "From the CLI", "--table")
    assert listed.returncode == 0 and str(post["id"]) in listed.stdout and "From the CLI ✓" in listed.stdout

    lines = _cli(lab, "posts", "list", "--per-page", "3")
    assert lines.returncode == 0 and len(lines.stdout.splitlines()) == 3
    assert all("id" in json.loads(line) for line in lines.stdout.splitlines())

    me = _cli(lab, "me")
    assert me.returncode == 0 and json.loads(me.stdout)["roles"] == ["administrator"]

    gone = _cli(lab, "posts", "delete", str(post["id"]), "--force")
    assert gone.returncode == 0 and json.loads(gone.stdout)["deleted"] is True


def test_cli_errors_are_one_line_and_non_zero(lab: dict[str, Any]) -> None:
    bad = _cli(lab, "me", env={"WP_APP_PASSWORD": "abcd EFGH 1234 ijkl MNOP 6789"})
    assert bad.returncode == 1
    # main runs the lab's WooCommerce auth, which makes core name the wrong application password
    assert bad.stderr.count("\n") == 1 and "401 incorrect_password" in bad.stderr
    assert "abcd" not in bad.stderr + bad.stdout

    denied = _cli(lab, "posts", "create", "--title", "x", role="subscriber")
    assert denied.returncode == 1 and "403 rest_cannot_create" in denied.stderr

    unset = _cli(lab, "me", env={"WP_URL": ""})
    assert unset.returncode == 2 and "WP_URL" in unset.stderr


# --- batch, concurrency, terms, media ----------------------------------------


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


def test_concurrent_iteration_keeps_order_and_totals(wp: WPFactory, lab: dict[str, Any]) -> None:
    client = wp(None)
    [category] = client.request("GET", "/wp/v2/categories", params={"slug": lab["sites"]["main"]["seed_category_slug"]})
    params = {"categories": category["id"], "_fields": "id", "per_page": 20, "orderby": "id", "order": "asc"}
    serial = [p["id"] for p in client.iter_posts(**params)]
    parallel = [p["id"] for p in client.iter_posts(concurrency=4, **params)]
    assert serial == parallel and len(parallel) == lab["sites"]["main"]["seed_posts"]
    assert parallel == sorted(parallel)


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
