"""Query resource limits: the memory budget of one query, and top-N sorts that stay small."""


def load(srv, n):
    lines = "\n".join(f"lim,h=h{i % 50} f={(i * 7919) % 100003}i,s=\"v{i}\" {i}" for i in range(n))
    srv.write_ok(lines)


def test_query_memory_limit(make_server):
    srv = make_server(config='[query]\nquery_memory_limit = "2MiB"\n')
    load(srv, 200000)
    # A full sort of 200k rows with strings needs far more than 2 MiB: a clean 500, and the
    # server stays up.
    r = srv.sql("select * from lim order by s")
    assert r.status == 500, r
    assert r.json()["error_message"].startswith("Resources exhausted"), r
    # ORDER BY ... LIMIT keeps only the rows it can return.
    top = srv.sql_ok("select f from lim order by f desc, time limit 3")
    expected = sorted(((i * 7919) % 100003 for i in range(200000)), reverse=True)[:3]
    assert top == "f\n" + "".join(f"{v}\n" for v in expected)
    assert srv.sql_ok("select count(*) from lim") == "COUNT(*)\n200000\n"


def test_top_n_equals_full_sort(server):
    load(server, 30000)
    full = server.sql_ok("select f, time from lim order by f, time").split("\n")[1:]
    for n in (1, 7, 100, 5000):
        top = server.sql_ok(f"select f, time from lim order by f, time limit {n}").split("\n")[1:-1]
        assert top == full[:n]
    off = server.sql_ok("select f, time from lim order by f, time limit 10 offset 20").split("\n")[1:-1]
    assert off == full[20:30]
