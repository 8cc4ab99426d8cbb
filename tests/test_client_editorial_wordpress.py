"""The client methods the MCP tools build on (post types, terms by name, id checks,
the stale-edit guard, scheduling, what WordPress kept), called directly against
the real WordPress lab (marker ``wordpress``; ``bash tests/wp/lab.sh up``).
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

import wp_rest

pytestmark = pytest.mark.wordpress


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
