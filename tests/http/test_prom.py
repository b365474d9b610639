"""Prometheus remote storage: /api/v1/prom/write and /api/v1/prom/read with bodies built by
hand (promwire.py), as CnosDB maps them: table = metric name, labels = tags (__name__ kept),
field `value`, millisecond timestamps. The real Prometheus talks to Strata in
test_prom_real.py."""

import struct

import pytest

import promwire as pw
from strata_http import basic, set_root_password

T0 = 1700000000000  # ms


def prom_write(srv, timeseries, db=None, headers=None, **kw):
    path = "/api/v1/prom/write" + (f"?db={db}" if db else "")
    h = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}
    h.update(headers or {})
    return srv.request("POST", path, pw.compress(pw.write_request(timeseries)), h, **kw)


def prom_write_ok(srv, timeseries, db=None):
    r = prom_write(srv, timeseries, db=db)
    assert r.status == 200 and r.body == b"", r
    return r


def prom_read(srv, queries, db=None, accepted=(), **kw):
    path = "/api/v1/prom/read" + (f"?db={db}" if db else "")
    body = pw.compress(pw.read_request(queries, accepted))
    return srv.request("POST", path, body, {"Content-Type": "application/x-protobuf"}, **kw)


def prom_read_ok(srv, queries, db=None, accepted=()):
    r = prom_read(srv, queries, db=db, accepted=accepted)
    assert r.status == 200, r
    assert r.header("Content-Type") == "application/x-protobuf"
    assert r.header("Content-Encoding") == "snappy"
    return pw.decode_read_response(pw.decompress(r.body))


def bits(v):
    return struct.pack("<d", v).hex()


# ---------------------------------------------------------------- writes


def test_write_maps_series_to_table_tags_and_value(make_server):
    srv = make_server()
    prom_write_ok(srv, [
        ([("__name__", "http_requests_total"), ("job", "api"), ("instance", "a:80"),
          ("code", "")],  # an empty label is no label
         [(T0, 1), (T0 + 15000, 7.5)]),
        ([("__name__", "http_requests_total"), ("job", "web")], [(T0, 3)]),
        ([("job", "x")], [(T0, 4)]),  # no metric name
    ])
    assert srv.sql_ok("select * from http_requests_total order by job, time") == (
        "time,__name__,instance,job,value\n"
        "2023-11-14T22:13:20.000000000,http_requests_total,a:80,api,1.0\n"
        "2023-11-14T22:13:35.000000000,http_requests_total,a:80,api,7.5\n"
        "2023-11-14T22:13:20.000000000,http_requests_total,,web,3.0\n")
    assert srv.sql_ok("describe table http_requests_total") == (
        "column_name,data_type,column_type,compression_codec\n"
        "time,TIMESTAMP(NANOSECOND),TIME,DEFAULT\n"
        "__name__,STRING,TAG,DEFAULT\n"
        "instance,STRING,TAG,DEFAULT\n"
        "job,STRING,TAG,DEFAULT\n"
        "value,DOUBLE,FIELD,DEFAULT\n")
    assert srv.sql_ok("select job, value from prom_metric_not_specified") == "job,value\nx,4.0\n"


def test_write_millisecond_database_precision(make_server):
    srv = make_server()
    srv.sql_ok("create database pms with precision 'ms'")
    prom_write_ok(srv, [([("__name__", "m")], [(T0 + 1, 1)])], db="pms")
    assert srv.sql_ok("select time, value from m", db="pms") == (
        "time,value\n2023-11-14T22:13:20.001000000,1.0\n")
    assert "TIMESTAMP(MILLISECOND)" in srv.sql_ok("describe table m", db="pms")
    res = prom_read_ok(srv, [(T0, T0 + 1, [(pw.EQ, "__name__", "m")])], db="pms")
    assert res == [[([("__name__", "m")], [(T0 + 1, 1.0)])]]


def test_stale_markers_and_nan_round_trip_bit_for_bit(make_server):
    srv = make_server()
    nan = float("nan")
    samples = [(T0, pw.STALE_NAN), (T0 + 1, nan), (T0 + 2, float("inf")), (T0 + 3, -1e300)]
    prom_write_ok(srv, [([("__name__", "st"), ("a", "b")], samples)])
    q = [(T0, T0 + 10, [(pw.EQ, "__name__", "st")])]
    want = [bits(v) for _, v in samples]
    assert [bits(v) for _, v in prom_read_ok(srv, q)[0][0][1]] == want
    # through the WAL replay, and through a column file
    srv.stop()
    srv.start()
    assert [bits(v) for _, v in prom_read_ok(srv, q)[0][0][1]] == want
    srv.sql_ok("select count(*) from st")
    assert srv.sql_ok("select count(*) from st") == "COUNT(*)\n4\n"


def test_write_errors(server):
    h = {"Content-Encoding": "snappy"}
    r = server.request("POST", "/api/v1/prom/write", b"definitely not snappy", h)
    assert r.status == 422 and r.json()["error_code"] == "010055", r
    r = server.request("POST", "/api/v1/prom/write", pw.compress(b"\x0a\x05\x0a"), h)
    assert r.status == 422 and r.json()["error_code"] == "010057", r
    r = prom_write(server, [([("__name__", "dup"), ("a", "1"), ("a", "2")], [(T0, 1)])])
    assert r.status == 422 and r.json() == {
        "error_code": "010057", "error_message": "time series 1: label 'a' given twice"}, r
    r = prom_write(server, [([("__name__", "m")], [(T0, 1)])], db="nodb")
    assert r.status == 422 and r.json()["error_code"] == "030017", r
    # nothing of a refused request is written
    r = prom_write(server, [([("__name__", "half")], [(T0, 1)]),
                            ([("__name__", "half"), ("b", "1"), ("b", "2")], [(T0, 1)])])
    assert r.status == 422, r
    assert "half" not in server.sql_ok("show tables")
    r = server.request("GET", "/api/v1/prom/write")
    assert r.status == 405, r
    r = server.request("POST", "/api/v1/prom/write", pw.compress(b""), auth=None)
    assert r.status == 401, r  # no Authorization, as on the other write routes


@pytest.mark.parametrize("name", ["time", "value"])
def test_label_named_like_the_tables_own_columns_is_refused(server, name):
    r = prom_write(server, [([("__name__", "own_" + name), (name, "x")], [(T0, 1)])])
    assert r.status == 422 and r.json() == {
        "error_code": "050014",
        "error_message": f"time series 1: label '{name}' cannot be stored: it is the name of "
                         f"the table's {name} column"}, r
    assert "own_" + name not in server.sql_ok("show tables")


def test_read_merges_series_with_equal_labels(make_server):
    """A row written by line protocol into a Prometheus table has no __name__ tag, yet the
    same labels as the series Prometheus wrote: Prometheus gets one series."""
    srv = make_server()
    prom_write_ok(srv, [([("__name__", "mix"), ("job", "a")], [(T0, 1), (T0 + 2, 3)])])
    srv.write_ok(f"mix,job=a value=2 {(T0 + 1) * 1000000}")
    res = prom_read_ok(srv, [(T0, T0 + 5, [(pw.EQ, "__name__", "mix")])])
    assert res == [[([("__name__", "mix"), ("job", "a")],
                     [(T0, 1.0), (T0 + 1, 2.0), (T0 + 2, 3.0)])]]


def test_write_type_conflict_with_line_protocol(server):
    server.write_ok("lpconf,job=a value=1i 1")
    r = prom_write(server, [([("__name__", "lpconf"), ("job", "a")], [(T0, 1)])])
    assert r.status == 422 and r.json()["error_code"] == "050014", r


def test_size_limits_compressed_and_uncompressed(make_server):
    srv = make_server(config='[query]\nquery_sql_limit = "64KiB"\n')
    # over the limit as sent
    big = pw.write_request([([("__name__", "big"), ("i", str(i)), ("pad", "x" * 200)],
                             [(T0, i)]) for i in range(400)])
    r = srv.request("POST", "/api/v1/prom/write", big + b"x" * 65536)
    assert r.status == 413, r
    # small compressed, over the limit uncompressed
    assert len(pw.compress(big)) < 65536 < len(big)
    r = srv.request("POST", "/api/v1/prom/write", pw.compress(big))
    assert r.status == 413 and "uncompresses" in r.json()["error_message"], r
    r = srv.request("POST", "/api/v1/prom/read", pw.compress(b"\x00" * 70000))
    assert r.status == 413, r


def test_auth(make_server):
    srv = make_server(config="[query]\nauth_enabled = true\n")
    set_root_password(srv, "pw")
    ts = [([("__name__", "au")], [(T0, 1)])]
    r = prom_write(srv, ts, auth=basic("root", "wrong"))
    assert r.status == 401 and r.json()["error_code"] == "010016", r
    r = prom_write(srv, ts, auth=basic("root", "pw"))
    assert r.status == 200, r
    q = [(T0, T0, [(pw.EQ, "__name__", "au")])]
    r = prom_read(srv, q, auth=basic("root", "wrong"))
    assert r.status == 401, r
    r = prom_read(srv, q, auth=basic("root", "pw"))
    assert r.status == 200, r


# ---------------------------------------------------------------- reads

SERIES = [
    ([("__name__", "up"), ("job", "prom"), ("instance", "a:9090")], [(T0, 1), (T0 + 1000, 1)]),
    ([("__name__", "up"), ("job", "node"), ("instance", "b:9100")], [(T0, 0), (T0 + 1000, 1)]),
    ([("__name__", "up"), ("job", "prometheus")], [(T0 + 500, 1)]),
    ([("__name__", "go_goroutines"), ("job", "prom"), ("instance", "a:9090")], [(T0, 42)]),
]


@pytest.fixture(scope="module")
def loaded(server):
    server.sql_ok("create database promr")
    prom_write_ok(server, SERIES, db="promr")
    # a table from line protocol with a value field, and one without: only the first is read
    server.write_ok(f"lp_metric,job=prom value=5 {T0 * 1000000}\nno_value,job=prom v=1 1",
                    db="promr")
    return server


def labels_of(result):
    return [dict(l) for l, _ in result]


def test_read_equality_and_labels(loaded):
    res = prom_read_ok(loaded, [(T0, T0 + 1000, [(pw.EQ, "__name__", "up"),
                                                  (pw.EQ, "job", "prom")])], db="promr")
    assert res == [[([("__name__", "up"), ("instance", "a:9090"), ("job", "prom")],
                     [(T0, 1.0), (T0 + 1000, 1.0)])]]


def test_read_series_sorted_by_labels(loaded):
    res = prom_read_ok(loaded, [(T0, T0 + 1000, [(pw.EQ, "__name__", "up")])], db="promr")[0]
    assert [l for l, _ in res] == sorted(l for l, _ in res)
    assert labels_of(res) == [
        {"__name__": "up", "instance": "a:9090", "job": "prom"},
        {"__name__": "up", "instance": "b:9100", "job": "node"},
        {"__name__": "up", "job": "prometheus"}]


def test_read_regex_fully_anchored(loaded):
    q = lambda t, v: prom_read_ok(loaded, [(T0, T0 + 1000, [(pw.EQ, "__name__", "up"),
                                                             (t, "job", v)])], db="promr")[0]
    assert [d["job"] for d in labels_of(q(pw.RE, "prom"))] == ["prom"]  # not prometheus
    assert sorted(d["job"] for d in labels_of(q(pw.RE, "prom.*"))) == ["prom", "prometheus"]
    assert [d["job"] for d in labels_of(q(pw.NRE, "prom.*"))] == ["node"]
    assert sorted(d["job"] for d in labels_of(q(pw.NEQ, "prom"))) == ["node", "prometheus"]
    assert [d["job"] for d in labels_of(q(pw.RE, "no|node"))] == ["node"]


def test_read_missing_label_is_empty_string(loaded):
    q = lambda m: prom_read_ok(loaded, [(T0, T0 + 1000, [(pw.EQ, "__name__", "up"), m])],
                               db="promr")[0]
    assert labels_of(q((pw.EQ, "instance", ""))) == [{"__name__": "up", "job": "prometheus"}]
    assert len(q((pw.NEQ, "instance", ""))) == 2
    assert len(q((pw.NEQ, "instance", "a:9090"))) == 2  # the series without one too
    assert len(q((pw.RE, "nosuch", ".*"))) == 3
    assert q((pw.RE, "nosuch", ".+")) == []
    assert q((pw.EQ, "nosuch", "x")) == []


def test_read_without_metric_name_spans_tables(loaded):
    res = prom_read_ok(loaded, [(T0, T0 + 1000, [(pw.EQ, "job", "prom")])], db="promr")[0]
    assert labels_of(res) == [
        {"__name__": "go_goroutines", "instance": "a:9090", "job": "prom"},
        {"__name__": "lp_metric", "job": "prom"},
        {"__name__": "up", "instance": "a:9090", "job": "prom"}]
    res = prom_read_ok(loaded, [(T0, T0 + 1000, [(pw.RE, "__name__", "go_.*|lp_.*")])],
                       db="promr")[0]
    assert [d["__name__"] for d in labels_of(res)] == ["go_goroutines", "lp_metric"]
    res = prom_read_ok(loaded, [(T0, T0 + 1000, [(pw.NEQ, "__name__", "up")])], db="promr")[0]
    assert [d["__name__"] for d in labels_of(res)] == ["go_goroutines", "lp_metric"]


def test_read_time_range_inclusive_and_queries_in_order(loaded):
    up = [(pw.EQ, "__name__", "up"), (pw.EQ, "job", "node")]
    res = prom_read_ok(loaded, [(T0 + 1, T0 + 1000, up), (T0, T0, up), (T0 + 1001, T0 + 9999, up),
                                (T0, T0 + 1000, [(pw.EQ, "__name__", "nosuch")])], db="promr")
    assert [[s for _, s in r] for r in res] == [[[(T0 + 1000, 1.0)]], [[(T0, 0.0)]], [], []]


def test_read_errors(loaded):
    r = prom_read(loaded, [(T0, T0, [(pw.RE, "job", "(")])], db="promr")
    assert r.status == 422 and "job" in r.json()["error_message"], r
    r = prom_read(loaded, [(T0, T0, [])], db="nodb")
    assert r.status == 422 and r.json()["error_code"] == "030017", r
    r = prom_read(loaded, [(T0, T0, [])], db="promr", accepted=[7])
    assert r.status == 400 and "STREAMED_XOR_CHUNKS" in r.json()["error_message"], r
    # an unknown type first, then one Strata answers with
    res = prom_read_ok(loaded, [(T0, T0, [(pw.EQ, "__name__", "go_goroutines")])], db="promr",
                       accepted=[7, pw.SAMPLES, pw.STREAMED_XOR_CHUNKS])
    assert res == [[([("__name__", "go_goroutines"), ("instance", "a:9090"), ("job", "prom")],
                     [(T0, 42.0)])]]
    r = loaded.request("POST", "/api/v1/prom/read", b"not snappy")
    assert r.status == 422 and r.json()["error_code"] == "010055", r
    r = loaded.request("POST", "/api/v1/prom/read", pw.compress(b"\xff"))
    assert r.status == 422 and r.json()["error_code"] == "010057", r


def test_read_past_the_query_memory_limit_is_refused(make_server):
    srv = make_server(config='[query]\nquery_memory_limit = "2MiB"\n')
    ts = [([("__name__", "many"), ("s", str(i))], [(T0 + k, k) for k in range(100)])
          for i in range(2000)]
    for i in range(0, len(ts), 500):
        prom_write_ok(srv, ts[i:i + 500])
    r = prom_read(srv, [(T0, T0 + 1000, [(pw.EQ, "__name__", "many")])])
    assert r.status == 500 and r.json()["error_message"].startswith("Resources exhausted"), r
    # a narrower read answers, and the server is fine
    res = prom_read_ok(srv, [(T0, T0 + 1000, [(pw.EQ, "__name__", "many"), (pw.EQ, "s", "7")])])
    assert len(res[0]) == 1 and len(res[0][0][1]) == 100


def read_chunked(srv, queries, db=None):
    r = prom_read(srv, queries, db=db, accepted=[pw.STREAMED_XOR_CHUNKS, pw.SAMPLES])
    assert r.status == 200, r
    assert r.header("Content-Type") == (
        "application/x-streamed-protobuf; proto=prometheus.ChunkedReadResponse")
    assert r.header("Content-Encoding") is None
    return pw.decode_frames(r.body)


def test_streamed_xor_chunks(loaded):
    q = [(pw.EQ, "__name__", "up")]
    frames = read_chunked(loaded, [(T0, T0 + 1000, q), (T0, T0, [(pw.EQ, "job", "node")])],
                          db="promr")
    samples = prom_read_ok(loaded, [(T0, T0 + 1000, q), (T0, T0, [(pw.EQ, "job", "node")])],
                           db="promr")
    # the same series in the same order, query by query, and the same samples in the chunks
    got = [[] for _ in samples]
    for qi, labels, chunks in frames:
        vals = []
        for lo, hi, typ, data in chunks:
            assert typ == 1  # XOR
            dec = pw.xor_decode(data)
            assert dec[0][0] == lo and dec[-1][0] == hi
            vals += [(t, struct.unpack("<d", struct.pack("<Q", v))[0]) for t, v in dec]
        got[qi].append((labels, vals))
    assert got == samples


def test_streamed_chunks_split_by_count_and_frame_size(make_server):
    """120 samples a chunk, as Prometheus cuts them; a series whose chunks pass 1 MiB goes on in
    another frame with the same labels; every value bit for bit."""
    import random
    rnd = random.Random(7)
    srv = make_server()
    n = 130000
    samples = [(T0 + k * 1000 + rnd.choice([0, 0, 1, 999]), rnd.uniform(-1e9, 1e9))
               for k in range(n)]
    samples[5] = (samples[5][0], pw.STALE_NAN)
    for i in range(0, n, 40000):
        prom_write_ok(srv, [([("__name__", "long")], samples[i:i + 40000])])
    frames = read_chunked(srv, [(T0, T0 + n * 1000, [(pw.EQ, "__name__", "long")])])
    assert len(frames) == 2 and frames[0][1] == frames[1][1] == [("__name__", "long")]
    chunks = frames[0][2] + frames[1][2]
    assert [len(pw.xor_decode(c[3])) for c in chunks] == [120] * (n // 120) + [n % 120]
    assert sum(len(c[3]) for c in frames[0][2]) >= 1 << 20
    got = [x for c in chunks for x in pw.xor_decode(c[3])]
    assert got == [(t, struct.unpack("<Q", struct.pack("<d", v))[0]) for t, v in samples]


def test_privileges_and_tenant(make_server):
    """Remote read needs read, remote write needs write, on the database of `tenant` and `db`."""
    srv = make_server()
    for q, t in [("create tenant pt", None), ("create user pr_u", None),
                 ("create user pw_u", None), ("create database pdb", "pt"),
                 ("create role pr inherit member", "pt"), ("create role pw inherit member", "pt"),
                 ("grant read on database pdb to pr", "pt"),
                 ("grant write on database pdb to pw", "pt"),
                 ("alter tenant pt add user pr_u as pr", None),
                 ("alter tenant pt add user pw_u as pw", None)]:
        r = srv.sql(q, params={"tenant": t} if t else None)
        assert r.status == 200, (q, r)
    body = pw.compress(pw.write_request([([("__name__", "pm")], [(T0, 1)])]))
    read = pw.compress(pw.read_request([(T0, T0, [(pw.EQ, "__name__", "pm")])]))
    url = lambda path: f"/api/v1/prom/{path}?tenant=pt&db=pdb"
    r = srv.request("POST", url("write"), body, auth=basic("pr_u", ""))
    assert r.status == 422 and r.json()["error_code"] == "010004", r
    r = srv.request("POST", url("write"), body, auth=basic("pw_u", ""))
    assert r.status == 200, r
    r = srv.request("POST", url("read"), read, auth=basic("pr_u", ""))
    assert r.status == 200, r
    res = pw.decode_read_response(pw.decompress(r.body))
    assert res == [[([("__name__", "pm")], [(T0, 1.0)])]]
    # the same table name in tenant cnosdb's public database is another table
    assert prom_read_ok(srv, [(T0, T0, [(pw.EQ, "__name__", "pm")])]) == [[]]
