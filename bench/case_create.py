# ruff: noqa: RUF001  (table text uses the multiplication sign, micro and en dash on purpose)
"""Case 5: creating many posts on the real WordPress lab.

``client.create_posts([...])`` (``/batch/v1``, 25 a request, per-item results)
against ``client.create_post(...)`` in a loop, alternating which goes first.
The posts are drafts in the ``bench-create`` category; every post made is
deleted for good afterwards (batch DELETE, one by one where that fails), and
leftovers of an interrupted earlier run are swept first.
"""

from __future__ import annotations

import statistics
import time
from typing import Any

from common import CaseResult, Row, Stat, Target, lab_client
from lab import CREATE_SLUG, category_id

TARGET = 1.8


def _posts(n: int, cid: int, tag: str) -> list[dict[str, Any]]:
    text = ("lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor "
            "incididunt ut labore et dolore magna aliqua.")
    return [{"title": f"wp-rest bench create {tag} {i}", "status": "draft", "categories": [cid],
             "content": "".join(f"<!-- wp:paragraph -->\n<p>{text}</p>\n<!-- /wp:paragraph -->\n\n"
                                for _ in range(3))}
            for i in range(n)]


def delete_all(client: Any, ids: list[int]) -> None:
    """Delete posts for good: batch DELETE in chunks of 25, then one by one for any left."""
    import wp_rest

    left: list[int] = []
    for start in range(0, len(ids), 25):
        chunk = ids[start:start + 25]
        try:
            answer = client.request("POST", "/batch/v1", json={"requests": [
                {"method": "DELETE", "path": f"/wp/v2/posts/{i}?force=true"} for i in chunk]})
            statuses = [r.get("status") for r in answer.get("responses", [])]
            left += [i for i, s in zip(chunk, statuses, strict=False) if s != 200]
            left += chunk[len(statuses):]
        except wp_rest.WPError:
            left += chunk
    for post_id in left:
        try:
            client.delete_post(post_id, force=True)
        except wp_rest.NotFound:
            pass


def _sweep(client: Any, cid: int) -> int:
    ids = [p["id"] for p in client.iter_posts(categories=cid, status="any", context="edit", _fields="id")]
    delete_all(client, ids)
    return len(ids)


def run(quick: bool, site: dict[str, Any]) -> CaseResult:
    import wp_rest

    result = CaseResult(5, "create", "Creating many posts: create_posts (/batch/v1) vs one by one",
                        ratio_label="× one-by-one speed")
    client = lab_client(site, "admin", timeout=300)
    count, repeats = (25, 1) if quick else (100, 3)
    cid = category_id(client, CREATE_SLUG)
    if cid is None:
        cid = int(client.create_term("categories", name="Benchmark create", slug=CREATE_SLUG)["id"])
    swept = _sweep(client, cid)
    seconds: dict[str, list[float]] = {"create_posts() via /batch/v1": [], "create_post() one by one": []}
    made: list[int] = []
    try:
        for r in range(repeats):
            names = list(seconds)
            for name in (names if r % 2 == 0 else names[::-1]):
                posts = _posts(count, cid, f"{r}-{'batch' if 'batch' in name else 'single'}")
                started = time.perf_counter()
                if "batch" in name:
                    out: list[Any] = client.create_posts(posts)
                else:
                    out = [client.create_post(**p) for p in posts]
                seconds[name].append(time.perf_counter() - started)
                made += [p["id"] for p in out if isinstance(p, dict)]
                bad = [p for p in out if not isinstance(p, dict)]
                if bad or len(out) != count:
                    raise AssertionError(f"{name}: {len(bad)} of {len(out)} posts failed: {bad[:1]}")
        # Deleting is part of the case, and its speed is worth knowing too.
        started = time.perf_counter()
        delete_all(client, made)
        deleted_in = time.perf_counter() - started
        deleted = len(made)
        made = []
    finally:
        if made:
            delete_all(client, made)
        client.close()
    check = lab_client(site, "admin")
    left = check.list_posts(categories=cid, status="any", context="edit", per_page=1, _fields="id").total
    check.close()
    if left:
        raise AssertionError(f"{left} benchmark posts are left in category {CREATE_SLUG}")
    single = statistics.median(seconds["create_post() one by one"])
    for name, values in seconds.items():
        result.rows.append(Row(name, Stat([count / s for s in values]), "posts/s",
                               single / statistics.median(values),
                               note=f"{count} posts in {statistics.median(values):.1f} s"))
    speed = single / statistics.median(seconds["create_posts() via /batch/v1"])
    result.targets = [Target(f"create_posts at least {TARGET}× one by one", f"{speed:.2f}×",
                             speed >= TARGET)]
    result.notes = [
        f"{repeats} round(s) of {count} draft posts per method (3 short paragraphs, one category), "
        "order alternating; admin with an application password; value = posts per second.",
        f"Cleanup: {deleted} posts deleted for good with batch DELETE in {deleted_in:.1f} s "
        f"({deleted / deleted_in:.0f} posts/s); {swept} leftovers of earlier runs swept first; "
        "none left afterwards.",
        f"wp_rest {wp_rest.__version__}; each batch request of 25 authenticates once, and WordPress "
        "runs the 25 inserts in one PHP request.",
    ]
    return result
