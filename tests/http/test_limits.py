"""Resource limits: the memory budget of one query, top-N sorts that stay small, and the
server-wide memory budget over request bodies and parsing."""

import time

from strata_http import ROOT_AUTH, read_http_response


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


def test_answer_bounded_by_query_memory_limit(make_server):
    """SQL fuzzer finding 020: the table format pads every row to the widest cell of its column,
    so one long string in a long answer made a reply of rows x width bytes, built whole in
    memory. Answers built before the status line (no chunked=true) count against the query's
    memory limit; the table is refused before it is drawn; streaming still works."""
    srv = make_server(config='[query]\nquery_memory_limit = "8MiB"\n')
    lines = [f't s="x" {i}' for i in range(1, 2000)] + [f't s="{"y" * 70000}" 2000']
    srv.write_ok("\n".join(lines))
    r = srv.sql("SELECT * FROM t", accept="text/table")
    assert r.status == 500, r
    msg = r.json()["error_message"]
    assert msg.startswith("Resources exhausted") and "text/table" in msg, msg
    # The same table streamed one box per batch is just as wide: refused too, in-stream.
    r = srv.sql("SELECT * FROM t", accept="text/table", params={"chunked": "true"})
    assert r.status == 200 and b"Resources exhausted" in r.body, r
    # The CSV answer is small: fine.
    csv = srv.sql_ok("SELECT s FROM t")
    assert len(csv) == 2 + 1999 * 2 + 70001
    # A CSV answer larger than the limit: refused without chunked=true, streamed with it.
    # (30,000 rows of 400 bytes in 20 series: each batch fits the limit, the whole answer not)
    srv.write_ok("\n".join(f'big,h=h{i % 20} s="{"z" * 400}" {i}' for i in range(1, 30001)))
    r = srv.sql("SELECT s FROM big")
    assert r.status == 500, r
    assert "chunked=true" in r.json()["error_message"], r
    r = srv.sql("SELECT s FROM big", params={"chunked": "true"})
    assert r.status == 200 and r.body.count(b"\n") == 30001, r
    assert srv.sql_ok("select count(*) from t") == "COUNT(*)\n2000\n"


# ------------------------------------------------------------------ the server-wide memory budget


def test_memory_budget_refuses_a_large_write_with_503(make_server):
    """A write the budget cannot take gets 503 with CnosDB's JSON body and Retry-After; ping
    answers meanwhile, and a write that fits passes right after (issue 6, failure 8)."""
    srv = make_server(config='[memory]\nmax_memory = "2MiB"\n')
    big = "\n".join(f"mb,h=h{i % 7} f={i} {i + 1}" for i in range(150000)).encode()
    assert len(big) > 3 << 20
    r = srv.write(big)
    assert r.status == 503, r
    assert r.header("Retry-After") == "1"
    body = r.json()
    assert list(body) == ["error_code", "error_message"]
    assert "memory.max_memory" in body["error_message"], body
    assert srv.request("GET", "/api/v1/ping", auth=None).status == 200
    srv.write_ok("mb,h=a f=1 1")
    assert srv.sql_ok("select count(*) from mb") == "COUNT(*)\n1\n"
    # without Content-Length (chunked upload) the body is refused as it grows past the budget
    s = srv.raw_socket()
    try:
        s.sendall((f"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nAuthorization: {ROOT_AUTH}\r\n"
                   "Transfer-Encoding: chunked\r\n\r\n").encode())
        for i in range(0, len(big), 65536):
            piece = big[i:i + 65536]
            s.sendall(b"%x\r\n" % len(piece) + piece + b"\r\n")
        s.sendall(b"0\r\n\r\n")
        status, headers, resp, _ = read_http_response(s, timeout=30)
    finally:
        s.close()
    assert status == 503 and headers.get("retry-after") == "1", resp
    # the memory went back: the same small write still passes, many times
    for i in range(20):
        srv.write_ok(f"mb,h=b f={i} {i + 10}")
    assert srv.sql_ok("select count(*) from mb") == "COUNT(*)\n21\n"


def test_large_writes_within_the_budget(make_server):
    """Bodies parsed a slice at a time are written whole: every line of a body larger than
    one slice, in all three formats, and an error on the last line refuses all of it."""
    srv = make_server()
    n = 150000
    srv.write_ok("\n".join(f"lw,h=h{i % 10} f={i}i {i + 1}" for i in range(n)))
    assert srv.sql_ok("select count(*), sum(f) from lw") == f"COUNT(*),SUM(lw.f)\n{n},{n * (n - 1) // 2}\n"
    r = srv.write("\n".join(f"lw2,h=h{i % 10} f={i}i {i + 1}" for i in range(n)) + "\nlw2 f=oops")
    assert r.status == 422 and f"line {n + 1}" in r.json()["error_message"], r
    # no row was written (the table itself may remain, as a schema change does in CnosDB)
    r = srv.sql("select count(*) from lw2")
    assert r.status == 422 or r.text == "COUNT(*)\n0\n", r
    text = "\n".join(f"put lw3 {i + 1} {i} h=h{i % 10}" for i in range(n))
    r = srv.request("POST", "/api/v1/opentsdb/write", text)
    assert r.status == 200, r
    assert srv.sql_ok("select count(*) from lw3") == f"COUNT(*)\n{n}\n"
    doc = "[" + ",".join('{"metric":"lw4","timestamp":%d,"value":%d,"tags":{"h":"h%d"}}'
                         % (i + 1, i, i % 10) for i in range(n)) + "]"
    r = srv.request("POST", "/api/v1/opentsdb/put", doc)
    assert r.status == 200, r
    assert srv.sql_ok("select count(*) from lw4") == f"COUNT(*)\n{n}\n"
    r = srv.request("POST", "/api/v1/opentsdb/put", doc[:-1] + ',{"metric":5}]')
    assert r.status == 400 and f"element {n + 1}" in r.json()["error_message"], r
    assert srv.sql_ok("select count(*) from lw4") == f"COUNT(*)\n{n}\n"


def test_memory_budget_bounds_queries(make_server):
    """Queries count against the server-wide budget too: past it, a query that needs more than
    a small allowance fails with a clear error naming memory.max_memory, while small queries
    and ping still answer (issue 6, Deliver 5)."""
    srv = make_server(config='[memory]\nmax_memory = "32MiB"\n')
    pad = "p" * 40
    for b in range(40):
        body = "\n".join(f'qb,h=h{i % 50} s="{pad}{i}" {i + 1}'
                         for i in range(b * 10000, (b + 1) * 10000))
        for _ in range(300):  # a cache being flushed for the budget may ask to come back
            r = srv.write(body)
            if r.status == 200:
                break
            assert r.status == 503, r
            time.sleep(0.1)
        else:
            raise AssertionError("the budget never came back")
    r = srv.sql("select s, count(*) from qb group by s order by s limit 1")
    assert r.status == 500, r
    msg = r.json()["error_message"]
    assert msg.startswith("Resources exhausted") and "memory.max_memory" in msg, msg
    assert srv.sql_ok("select count(*) from qb") == "COUNT(*)\n400000\n"
    assert srv.sql_ok("select s from qb where h = 'h7' order by time limit 1") == f"s\n{pad}7\n"
    assert srv.request("GET", "/api/v1/ping", auth=None).status == 200
