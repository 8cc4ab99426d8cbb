"""Child process of case 7: iterate posts of a category and report peak memory as JSON.

    python bench/rss_probe.py API_ROOT CATEGORY_ID LIMIT PER_PAGE MODE CONCURRENCY

MODE is ``iterate`` (consume and drop each post, what iter_posts is for),
``list`` (keep every post: the accumulating contrast) or ``trace-iterate`` /
``trace-list`` (the same under tracemalloc, reporting the Python heap's peak).
"""

from __future__ import annotations

import itertools
import json
import resource
import sys
import time
import tracemalloc


def maxrss_mb() -> float:
    """Peak RSS of this process image in MB.

    ``VmHWM`` from /proc, not ``ru_maxrss``: Linux carries ``ru_maxrss`` over
    from the parent across fork and exec, so a child of a big runner would
    report the runner's size.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def main() -> int:
    root, category, limit, per_page, mode, concurrency = sys.argv[1:7]
    import wp_rest

    client = wp_rest.Client(root, timeout=120)
    # One small request first, so one-time costs (http.client, json, the connection) are in the baseline.
    client.list_posts(categories=int(category), per_page=1)
    tracing = mode.startswith("trace-")
    if tracing:
        tracemalloc.start()
    before = maxrss_mb()
    started = time.perf_counter()
    posts = itertools.islice(client.iter_posts(categories=int(category), per_page=int(per_page),
                                               concurrency=int(concurrency)), int(limit))
    kept = []
    count = 0
    for post in posts:
        count += 1
        if mode.endswith("list"):
            kept.append(post)
    seconds = time.perf_counter() - started
    out = {"count": count, "kept": len(kept), "before_mb": before, "peak_mb": maxrss_mb(),
           "seconds": seconds}
    if tracing:
        out["traced_peak_mb"] = tracemalloc.get_traced_memory()[1] / 2**20
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
