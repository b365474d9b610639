"""Memory held by caches and the series index against the server-wide budget (issue 6,
failure 8): caches count against memory.max_memory, and a budget smaller than the caches' own
size limit makes them flush instead of refusing writes for good."""

import time

T0 = 1_700_000_000_000_000_000


def test_caches_flush_under_a_small_budget(make_server):
    """With an 8 MiB budget and the default 128 MiB cache limit, 40 MB of rows go in: a write
    may be told to come back (503 + Retry-After) while a cache is flushed, but every batch is
    taken in the end and every row is there. Before caches flushed for the budget, the cache
    filled the budget once and every later write got 503 forever."""
    srv = make_server(config='[memory]\nmax_memory = "8MiB"\n')
    batches, rows = 400, 2500
    refused = 0
    for b in range(batches):
        body = "\n".join(f"bud,host=h{(b * rows + j) % 5000} v={b * rows + j}i "
                         f"{T0 + (b * rows + j) * 1000}" for j in range(rows))
        for attempt in range(300):
            r = srv.write(body)
            if r.status == 200:
                break
            assert r.status == 503 and r.header("Retry-After") == "1", r
            refused += 1
            time.sleep(0.1)
        else:
            raise AssertionError(f"batch {b} refused 300 times: the budget never came back")
    n = batches * rows
    assert srv.sql_ok("select count(*), sum(v) from bud") == \
        f"COUNT(*),SUM(bud.v)\n{n},{n * (n - 1) // 2}\n"
    assert srv.request("GET", "/api/v1/ping", auth=None).status == 200
