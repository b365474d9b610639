"""UPDATE against the real server: an acknowledged UPDATE (of fields, of tags) survives kill -9;
a field UPDATE over many rows spread over files and the cache rewrites each row exactly once
(never a row it already rewrote) and stays within a small query memory limit."""

from strata_http import csv_rows


def lines(table, host, start, n, base=1_000_000):
    return "\n".join(f"{table},host={host},dc=d1 v={k}i,w={k}.5 {base + k}"
                     for k in range(start, start + n))


def test_update_fields_exactly_once_and_durable(make_server):
    # an 8 MiB query memory limit: the UPDATE must stream, not hold the 60k rows it rewrites
    # (as points they take about 15 MiB; a scan returns a series' 30k cached rows as one batch)
    srv = make_server(config='[query]\nquery_memory_limit = "8MiB"\n')
    srv.write_ok(lines("uf", "a", 0, 30000))
    srv.write_ok(lines("uf", "b", 0, 10000))
    assert srv.sql_ok("compact database public") == ""
    # more rows of the same series in the cache, after the ones in files and between them
    srv.write_ok(lines("uf", "a", 30000, 30000))
    srv.write_ok(lines("uf", "b", 10000, 5000))
    r = srv.sql("update uf set v = v + 1000000 where host = 'a'", accept="text/csv")
    assert r.status == 200, r.text
    assert r.text == "rows\n60000\n"
    # kill -9 right after the acknowledged UPDATE; reading the rows back merges a series' files
    # and cache at once, which needs more than the UPDATE did: a larger limit from now on
    srv.kill()
    with open(srv.config_path, "w") as f:
        f.write('[query]\nquery_memory_limit = "512MiB"\n')
    srv.start()
    # exactly once: v = k + 1000000 (= time) for every row of a, untouched for b; w unchanged
    q = ("select count(*), sum(v), min(v - cast(time as bigint)), max(v - cast(time as bigint)), "
         "sum(w) from uf where host = '%s'")
    want = {h: srv.sql_ok(q % h) for h in "ab"}
    n = 60000
    assert csv_rows(want["a"])[1] == "%d,%d,0,0,%s" % (n, sum(range(n)) + 1000000 * n,
                                                      float(sum(range(n)) + n / 2))
    assert csv_rows(want["b"])[1] == "15000,%d,-1000000,-1000000,%s" % (
        sum(range(15000)), float(sum(range(15000)) + 15000 / 2))
    srv.kill()
    srv.start()
    assert {h: srv.sql_ok(q % h) for h in "ab"} == want
    # SET f = NULL rewrites nothing; the statement still counts its rows
    r = srv.sql("update uf set w = NULL where host = 'b' and time < 1001000", accept="text/csv")
    assert r.text == "rows\n1000\n"
    assert {h: srv.sql_ok(q % h) for h in "ab"} == want


def test_update_tags_survives_kill(make_server):
    srv = make_server()
    srv.write_ok(lines("ut", "a", 0, 500))
    assert srv.sql_ok("compact database public") == ""
    srv.write_ok(lines("ut", "a", 500, 500))  # in the WAL and the cache only
    srv.write_ok(lines("ut", "b", 0, 10))
    r = srv.sql("update ut set host = 'z', dc = NULL where host = 'a'", accept="text/csv")
    assert r.status == 200, r.text
    assert r.text == "rows\n1\n"
    srv.write_ok(lines("ut", "a", 2000, 3))  # the old tags again: a new series
    q = "select host, dc, count(*), sum(v) from ut group by host, dc order by host"
    want = "host,dc,COUNT(*),SUM(ut.v)\na,d1,3,%d\nb,d1,10,45\nz,,1000,%d\n" % (
        2000 + 2001 + 2002, sum(range(1000)))
    assert srv.sql_ok(q) == want
    for _ in range(2):
        srv.kill()
        srv.start()
        assert srv.sql_ok(q) == want
        assert srv.sql_ok("select count(*) from ut where host = 'z'") == "COUNT(*)\n1000\n"
    # a refused UPDATE leaves the keys as they were, also after a crash
    r = srv.sql("update ut set host = 'z', dc = NULL where host = 'b'")
    assert r.status == 422 and "already exists" in r.text
    srv.kill()
    srv.start()
    assert srv.sql_ok(q) == want
