"""The benchmark's corner of the WordPress lab: categories seeded with exactly N posts.

Reads are always filtered by such a category, so the posts other tests create
and delete never change the numbers. The 260 ``pagination-seed`` posts of
the lab are never touched. Seeding is idempotent and only runs when the
count is wrong: bench/seed.php as www-data through PHP CLI (fast, one
transaction) where this process may do that, else through the REST API.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from typing import Any

from common import BENCH, lab_client

#: Category slug -> number of published posts it must hold.
FULL_SLUG, QUICK_SLUG = "bench-posts-2000", "bench-posts-200"
CREATE_SLUG = "bench-create"


def category_id(client: Any, slug: str) -> int | None:
    found = client.request("GET", "/wp/v2/categories", params={"slug": slug, "_fields": "id"})
    return int(found[0]["id"]) if found else None


def count_ok(site: dict[str, Any], slug: str, count: int) -> int | None:
    """The category's id if it holds exactly ``count`` posts, all published; else None."""
    anon = lab_client(site)
    admin = lab_client(site, "admin")
    try:
        cid = category_id(anon, slug)
        if cid is None:
            return None
        public = anon.list_posts(categories=cid, per_page=1, _fields="id").total
        every = admin.list_posts(categories=cid, status="any", per_page=1, _fields="id",
                                 context="edit").total
        return cid if public == every == count else None
    finally:
        anon.close()
        admin.close()


def _php_possible() -> bool:
    return (hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("php") is not None
            and shutil.which("setpriv") is not None and os.path.isfile("/usr/share/wordpress/wp-load.php"))


def _seed_php(site: dict[str, Any], slug: str, count: int) -> dict[str, Any]:
    host = site["url"].removeprefix("http://").rstrip("/")
    args = ["setpriv", "--reuid=www-data", "--regid=www-data", "--init-groups", "--",
            "php", "-d", "display_errors=stderr", "-d", "memory_limit=1024M",
            str(BENCH / "seed.php"), f"--host={host}", f"--slug={slug}", f"--count={count}"]
    done = subprocess.run(args, capture_output=True, text=True, cwd="/", timeout=900, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench/seed.php failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _seed_rest(site: dict[str, Any], slug: str, count: int) -> dict[str, Any]:
    """The same as seed.php through the REST API (slower; for machines where PHP CLI is not ours)."""
    admin = lab_client(site, "admin", timeout=300)
    try:
        cid = category_id(admin, slug)
        if cid is None:
            cid = int(admin.create_term("categories", name=f"Benchmark {slug[6:]}", slug=slug)["id"])
        have: dict[int, int] = {}
        extra: list[int] = []
        for post in admin.iter_posts(categories=cid, status="any", context="edit",
                                     _fields="id,title,status"):
            title = post["title"]["raw"]
            n = int(title.rsplit(" ", 1)[1]) if title.startswith("Bench post ") and \
                title.rsplit(" ", 1)[1].isdigit() else 0
            if not 1 <= n <= count or n in have or post["status"] != "publish":
                extra.append(post["id"])
            else:
                have[n] = post["id"]
        for post_id in extra:
            admin.delete_post(post_id, force=True)
        paragraph = ("lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod "
                     "tempor incididunt ut labore et dolore magna aliqua.")
        missing = [n for n in range(1, count + 1) if n not in have]
        posts = [{"title": f"Bench post {n}", "slug": f"{slug}-{n}", "status": "publish",
                  "categories": [cid], "date_gmt": time.strftime(
                      "%Y-%m-%dT%H:%M:%S", time.gmtime(1514764800 + 60 * n)),
                  "content": "".join(f"<!-- wp:paragraph -->\n<p>Bench post {n}, paragraph {p}: "
                                     f"{paragraph}</p>\n<!-- /wp:paragraph -->\n\n" for p in (1, 2, 3))}
                 for n in missing]
        failed = [r for r in admin.create_posts(posts) if not isinstance(r, dict)]
        if failed:
            raise RuntimeError(f"seeding through REST: {len(failed)} posts failed, first: {failed[0]}")
        return {"category_id": cid, "created": len(missing), "deleted": len(extra)}
    finally:
        admin.close()


def ensure_category(site: dict[str, Any], slug: str, count: int, log: Any = print) -> int:
    """Id of category ``slug`` holding exactly ``count`` published bench posts (seeding if needed)."""
    cid = count_ok(site, slug, count)
    if cid is not None:
        return cid
    started = time.monotonic()
    how = "PHP CLI" if _php_possible() else "REST"
    log(f"seeding category {slug} with {count} posts through {how} (only when the count is wrong)...")
    result = _seed_php(site, slug, count) if how == "PHP CLI" else _seed_rest(site, slug, count)
    log(f"  done in {time.monotonic() - started:.0f} s: {result}")
    cid = count_ok(site, slug, count)
    if cid is None:
        raise RuntimeError(f"category {slug} still does not hold exactly {count} published posts")
    return cid


if __name__ == "__main__":
    # python bench/lab.py SLUG COUNT: seed by hand.
    sys.path.insert(0, str(BENCH.parent))
    from common import lab_site

    print(ensure_category(lab_site(), sys.argv[1], int(sys.argv[2])))
