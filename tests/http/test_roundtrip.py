"""Write → query round trips: every field type, every output format (CSV, TSV, JSON, ND-JSON,
table), chunked streaming, response and request compression, /write, precisions, server time
for missing timestamps and the column order of SELECT *."""

import datetime
import json
import time

import pytest
import requests

import bodycoding
from strata_http import ROOT_AUTH, csv_rows, read_http_response

# ------------------------------------------------------------------ expected-text helpers

EPOCH = datetime.datetime(1970, 1, 1)


def ts_csv(ns):
    """CSV/TSV timestamp: always 9 fraction digits, no zone."""
    secs, frac = divmod(ns, 10**9)
    return (EPOCH + datetime.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S") + \
        f".{frac:09d}"


def ts_json(ns):
    """JSON/table timestamp: fraction trimmed to 0, 3, 6 or 9 digits."""
    secs, frac = divmod(ns, 10**9)
    base = (EPOCH + datetime.timedelta(seconds=secs)).strftime("%Y-%m-%dT%H:%M:%S")
    if frac == 0:
        return base
    if frac % 10**6 == 0:
        return f"{base}.{frac // 10**6:03d}"
    if frac % 1000 == 0:
        return f"{base}.{frac // 1000:06d}"
    return f"{base}.{frac:09d}"


def parse_ts(text):
    """CSV timestamp → ns since the epoch."""
    base, _, frac = text.partition(".")
    dt = datetime.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    secs = (dt - EPOCH) // datetime.timedelta(seconds=1)
    return secs * 10**9 + int(frac.ljust(9, "0") if frac else 0)


def render_table(header, rows):
    """The boxed layout of text/table (arrow's pretty printer): no trailing newline."""
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(header)]
    border = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells):
        return "|" + "|".join(" " + c.ljust(w) + " " for c, w in zip(cells, widths)) + "|"

    return "\n".join([border, line(header), border] + [line(r) for r in rows] + [border])


def jdump(obj):
    """Compact JSON as serde_json writes it (raw UTF-8, no spaces)."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def ordered(body):
    return json.loads(body, object_pairs_hook=list)


# ------------------------------------------------------------------ the typed table

# One request; the first line names every field so the table's columns are
# time, host (tag), then b, f, i, s, u (fields in alphabetical order).
RT_LP = "\n".join([
    'rt,host=h1 b=t,f=1,i=-9223372036854775808i,s="plain",u=18446744073709551615u 1',
    'rt,host=h1 b=f,f=-10.5,i=9223372036854775807i,s="a, b",u=0u 2',
    'rt,host=h2 b=true,f=0.1,i=-1i,s="say \\"hi\\" \\\\ ok",u=1u 1000000000',
    'rt,host=h2 b=FALSE,f=1e10,i=0i,s="",u=7u 1690510331000000000',
    'rt,host=h\\ 4\\,x b=True,i=5i,s="ünï©ødé" 1690510331000001000',
    'rt,host=h3 f=2.5 1690510331123456789',
]) + "\n"

RT_COLS = ["time", "host", "b", "f", "i", "s", "u"]
# (time ns, host, b, f, i, s, u) with None = NULL; f also as CSV text
RT_ROWS = [
    (1, "h1", True, (1.0, "1.0"), -9223372036854775808, "plain", 18446744073709551615),
    (2, "h1", False, (-10.5, "-10.5"), 9223372036854775807, "a, b", 0),
    (10**9, "h2", True, (0.1, "0.1"), -1, 'say "hi" \\ ok', 1),
    (1690510331000000000, "h2", False, (1e10, "1.0e10"), 0, "", 7),
    (1690510331000001000, "h 4,x", True, None, 5, "ünï©ødé", None),
    (1690510331123456789, "h3", None, (2.5, "2.5"), None, None, None),
]


def _csv_cell(v, sep):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, tuple):
        return v[1]
    s = str(v)
    if any(c in s for c in (sep, '"', "\r", "\n")):
        return '"' + s.replace('"', '""') + '"'
    return s


def expected_sv(sep):
    lines = [sep.join(RT_COLS)]
    for t, *vals in RT_ROWS:
        lines.append(sep.join([ts_csv(t)] + [_csv_cell(v, sep) for v in vals]))
    return "\n".join(lines) + "\n"


def expected_objects():
    out = []
    for t, *vals in RT_ROWS:
        obj = {"time": ts_json(t)}
        for name, v in zip(RT_COLS[1:], vals):
            if v is None:
                continue
            obj[name] = v[0] if isinstance(v, tuple) else v
        out.append(obj)
    return out


def expected_table():
    rows = []
    for t, *vals in RT_ROWS:
        cells = [ts_json(t)]
        for v in vals:
            if v is None:
                cells.append("")
            elif isinstance(v, bool):
                cells.append("true" if v else "false")
            elif isinstance(v, tuple):
                cells.append(v[1])
            else:
                cells.append(str(v))
        rows.append(cells)
    return render_table(RT_COLS, rows)


RT_QUERY = "SELECT * FROM rt ORDER BY time"


@pytest.fixture(scope="module")
def rt(server):
    server.write_ok(RT_LP)
    return server


def test_csv_default_and_explicit(rt):
    exp = expected_sv(",")
    # no Accept at all, */*, application/* and the explicit types all give CSV
    for accept in (None, "*/*", "application/*", "", "text/csv", "application/csv"):
        r = rt.sql(RT_QUERY, accept=accept)
        assert r.status == 200, (accept, r)
        assert r.header("Content-Type") == "text/csv", (accept, r)
        assert r.text == exp, accept
        assert r.header("Content-Encoding") is None
        assert int(r.header("Content-Length")) == len(r.body)


def test_tsv(rt):
    for accept in ("text/tsv", "application/tsv"):
        r = rt.sql(RT_QUERY, accept=accept)
        assert r.status == 200
        assert r.header("Content-Type") == "text/tsv"
        assert r.text == expected_sv("\t")


def test_json(rt):
    exp = expected_objects()
    for accept in ("application/json", "text/json"):
        r = rt.sql(RT_QUERY, accept=accept)
        assert r.status == 200
        assert r.header("Content-Type") == "application/json"
        # exact text: keys in column order, NULLs left out, no whitespace, no newline
        assert r.text == jdump(exp)
        # and the same by structure (so a failure shows what differs)
        got = ordered(r.body)
        assert [[k for k, _ in o] for o in got] == [list(o) for o in exp]
        assert json.loads(r.body) == exp


def test_ndjson(rt):
    for accept in ("application/nd-json", "text/nd-json"):
        r = rt.sql(RT_QUERY, accept=accept)
        assert r.status == 200
        assert r.header("Content-Type") == "application/nd-json"
        assert r.text == "".join(jdump(o) + "\n" for o in expected_objects())


def test_table(rt):
    for accept in ("text/table", "application/table"):
        r = rt.sql(RT_QUERY, accept=accept)
        assert r.status == 200
        assert r.header("Content-Type") == "text/table"
        assert r.text == expected_table(), "\n" + r.text


def test_select_1_every_format(server):
    cases = {
        None: "Int64(1)\n1\n",
        "text/tsv": "Int64(1)\n1\n",
        "application/json": '[{"Int64(1)":1}]',
        "application/nd-json": '{"Int64(1)":1}\n',
        "text/table": "+----------+\n| Int64(1) |\n+----------+\n| 1        |\n+----------+",
    }
    for accept, exp in cases.items():
        r = server.sql("select 1", accept=accept)
        assert r.status == 200 and r.text == exp, (accept, r)


def test_empty_result_every_format(rt):
    q = "SELECT * FROM rt WHERE host = 'nobody'"
    assert rt.sql_ok(q) == "time,host,b,f,i,s,u\n"
    assert rt.sql_ok(q, accept="text/tsv") == "time\thost\tb\tf\ti\ts\tu\n"
    assert rt.sql_ok(q, accept="application/json") == "[]"
    assert rt.sql_ok(q, accept="application/nd-json") == ""
    assert rt.sql_ok(q, accept="text/table") == render_table(RT_COLS, [])


def test_booleans_all_spellings(server):
    spellings = ["t", "T", "true", "True", "TRUE", "f", "F", "false", "False", "FALSE"]
    server.write_ok("\n".join(f"bools b={s} {i + 1}" for i, s in enumerate(spellings)))
    exp = "time,b\n" + "".join(f"{ts_csv(i + 1)},{'true' if i < 5 else 'false'}\n"
                                for i in range(10))
    assert server.sql_ok("select * from bools order by time") == exp
    assert server.sql_ok("select count(*) from bools where b") == "COUNT(*)\n5\n"
    r = server.sql("select * from bools order by time", accept="application/json")
    assert json.loads(r.body) == [{"time": ts_json(i + 1), "b": i < 5} for i in range(10)]
    for bad in ("tRUE", "yes", "FALSe", "1b"):
        r = server.write(f"bools b={bad} 99")
        assert r.status == 422 and r.json()["error_code"] == "040004", (bad, r)


def test_integer_and_unsigned_limits(server):
    server.write_ok("ints i=-9223372036854775808i,u=18446744073709551615u 1\n"
                    "ints i=9223372036854775807i,u=0u 2\n"
                    "ints i=-1i,u=1u 3\n"
                    "ints i=5i,u=6u 4\n")
    assert server.sql_ok("select i, u from ints order by time") == (
        "i,u\n-9223372036854775808,18446744073709551615\n9223372036854775807,0\n-1,1\n5,6\n")
    assert server.sql_ok("select max(i), min(i), max(u) from ints") .split("\n")[1] == \
        "9223372036854775807,-9223372036854775808,18446744073709551615"
    for bad in ("i=9223372036854775808i", "i=-9223372036854775809i",
                "u=18446744073709551616u", "u=-1u", "i=1.5i", "u=1.5u"):
        r = server.write(f"ints {bad} 9")
        assert r.status == 422, (bad, r)
    assert server.sql_ok("select count(*) from ints") == "COUNT(*)\n4\n"


def test_float_text(server):
    vals = [("0.1", 0.1, "0.1"), ("-10.5", -10.5, "-10.5"), ("1e10", 1e10, "1.0e10"),
            ("1.5e-7", 1.5e-7, "1.5e-7"), ("123456789", 123456789.0, "123456789.0"),
            ("3.141592653589793", 3.141592653589793, "3.141592653589793"),
            ("-0.0", -0.0, "-0.0"), ("100", 100.0, "100.0"), ("1E3", 1000.0, "1000.0"),
            ("1.7976931348623157e308", 1.7976931348623157e308, None),
            ("5e-324", 5e-324, None), ("1e-5", 1e-5, None), ("1e9", 1e9, None),
            ("0.30000000000000004", 0.30000000000000004, None)]
    server.write_ok("\n".join(f"floats,k=k{i} f={lit} 1" for i, (lit, _, _) in enumerate(vals)))
    text = server.sql_ok("select k, f from floats")
    got = dict(line.split(",") for line in csv_rows(text)[1:])
    for i, (lit, value, exact) in enumerate(vals):
        cell = got[f"k{i}"]
        # always shortest round-trip text with a '.' or an exponent
        assert float(cell) == value and (str(float(cell)) == str(value)), (lit, cell)
        assert "." in cell or "e" in cell or cell in ("NaN", "inf", "-inf"), (lit, cell)
        if exact is not None:
            assert cell == exact, (lit, cell)
    r = server.sql("select k, f from floats", accept="application/json")
    for obj in json.loads(r.body):
        value = vals[int(obj["k"][1:])][1]
        assert obj["f"] == value and isinstance(obj["f"], float), obj


def test_strings_and_escapes(server):
    lp = ("ws s=\"tab\there\" 1\n"
          "ws s=\"line1\nline2\" 2\n"
          "ws s=\"ctl\x01x\" 3\n"
          "ws s=\"quote \\\" back \\\\ single ' esc-q \\' end\" 4\n"
          "ws s=\"emoji 😀 cjk 漢字\" 5\n"
          "ws s=\"a=b,c d\" 6\n")
    server.write_ok(lp)
    vals = ["tab\there", "line1\nline2", "ctl\x01x", "quote \" back \\ single ' esc-q \\' end",
            "emoji 😀 cjk 漢字", "a=b,c d"]
    q = "select time, s from ws order by time"
    csv_exp = "time,s\n" + "".join(f"{ts_csv(i + 1)},{_csv_cell(v, ',')}\n"
                                   for i, v in enumerate(vals))
    assert server.sql_ok(q) == csv_exp
    tsv_exp = "time\ts\n" + "".join(f"{ts_csv(i + 1)}\t{_csv_cell(v, chr(9))}\n"
                                    for i, v in enumerate(vals))
    assert server.sql_ok(q, accept="text/tsv") == tsv_exp
    objs = [{"time": ts_json(i + 1), "s": v} for i, v in enumerate(vals)]
    r = server.sql(q, accept="application/json")
    assert json.loads(r.body) == objs
    assert "\\u0001" in r.text and "\\n" in r.text and "\\t" in r.text  # escaped, not raw
    r = server.sql(q, accept="application/nd-json")
    lines = r.text.split("\n")
    assert lines[-1] == "" and [json.loads(x) for x in lines[:-1]] == objs


def test_tag_field_and_measurement_escapes(server):
    server.write_ok("tg,k\\ 1=v\\,1,k2=v\\=2,k3=a=b f=1 1\n"
                    "m\\ x\\,y f=2 1\n"
                    "esc f\\ 1=1,f\\,2=2,f\\=3=3 1\n")
    assert server.sql_ok("select * from tg") == (
        'time,k 1,k2,k3,f\n1970-01-01T00:00:00.000000001,"v,1",v=2,a=b,1.0\n')
    assert server.sql_ok('select * from "m x,y"') == "time,f\n1970-01-01T00:00:00.000000001,2.0\n"
    assert server.sql_ok("select * from esc") == (
        'time,f 1,"f,2",f=3\n1970-01-01T00:00:00.000000001,1.0,2.0,3.0\n')
    assert server.sql_ok("select f from tg where \"k 1\" = 'v,1'") == "f\n1.0\n"


def test_same_series_and_time_rows_merge(server):
    server.write_ok("ma,ta=a1 fa=1 1690510331000000000")
    server.write_ok("ma,ta=a1 fb=2 1690510331000000000")
    assert server.sql_ok("select * from ma") == \
        "time,ta,fa,fb\n2023-07-28T02:12:11.000000000,a1,1.0,2.0\n"
    server.write_ok("ma,ta=a1 fa=3 1690510331000000000")  # last write wins per field
    assert server.sql_ok("select * from ma") == \
        "time,ta,fa,fb\n2023-07-28T02:12:11.000000000,a1,3.0,2.0\n"


def test_negative_and_missing_tags(server):
    server.write_ok("neg,t=a f=1 -1\nneg f=2 0\n")
    assert server.sql_ok("select * from neg order by time") == (
        "time,t,f\n1969-12-31T23:59:59.999999999,a,1.0\n1970-01-01T00:00:00.000000000,,2.0\n")
    r = server.sql("select * from neg order by time", accept="application/json")
    assert r.text == '[{"time":"1969-12-31T23:59:59.999999999","t":"a","f":1.0},' \
                     '{"time":"1970-01-01T00:00:00","f":2.0}]'


# ------------------------------------------------------------------ column order


def test_select_star_column_order(server):
    server.write_ok("co,zt=1,at=2 zf=1,af=2i 1")
    assert csv_rows(server.sql_ok("select * from co"))[0] == "time,at,zt,af,zf"
    server.write_ok("co,zt=1,at=2 bf=true 2")  # a new field is appended
    assert csv_rows(server.sql_ok("select * from co"))[0] == "time,at,zt,af,zf,bf"
    server.write_ok("co,mt=x,zt=1,at=2 zf=3 3")  # a new tag is appended too
    text = server.sql_ok("select * from co order by time")
    assert text == ("time,at,zt,af,zf,bf,mt\n"
                    "1970-01-01T00:00:00.000000001,2,1,2,1.0,,\n"
                    "1970-01-01T00:00:00.000000002,2,1,,,true,\n"
                    "1970-01-01T00:00:00.000000003,2,1,,3.0,,x\n")
    desc = server.sql_ok("describe table co")
    assert desc == ("column_name,data_type,column_type,compression_codec\n"
                    "time,TIMESTAMP(NANOSECOND),TIME,DEFAULT\n"
                    "at,STRING,TAG,DEFAULT\n"
                    "zt,STRING,TAG,DEFAULT\n"
                    "af,BIGINT,FIELD,DEFAULT\n"
                    "zf,DOUBLE,FIELD,DEFAULT\n"
                    "bf,BOOLEAN,FIELD,DEFAULT\n"
                    "mt,STRING,TAG,DEFAULT\n")


# ------------------------------------------------------------------ chunked streaming

BIG_N = 20000


@pytest.fixture(scope="module")
def big(server):
    lines = [f'big,t=t{i % 7} f={i / 4},i={i - 10000}i,s="r{i}, x" {1690000000000000000 + i * 1000}'
             for i in range(BIG_N)]
    server.write_ok("\n".join(lines))
    return server


BIG_Q = "SELECT * FROM big ORDER BY time"


def raw_sql(srv, q, params="", headers=()):
    s = srv.raw_socket()
    try:
        q = q.encode()
        head = [f"POST /api/v1/sql{params} HTTP/1.1", "Host: x", f"Authorization: {ROOT_AUTH}",
                f"Content-Length: {len(q)}"] + [f"{k}: {v}" for k, v in headers]
        s.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + q)
        return read_http_response(s)
    finally:
        s.close()


@pytest.mark.parametrize("accept", [None, "text/tsv", "application/json", "application/nd-json"])
def test_chunked_equals_whole(big, accept):
    whole = big.sql(BIG_Q, accept=accept)
    assert whole.status == 200
    status, hdrs, body, chunks = raw_sql(big, BIG_Q, "?chunked=true",
                                         [("Accept", accept)] if accept else [])
    assert status == 200
    assert hdrs.get("transfer-encoding") == "chunked" and "content-length" not in hdrs
    assert hdrs.get("content-type") == whole.header("Content-Type")
    assert len(chunks) >= 2, f"a {len(body)}-byte result came in {len(chunks)} chunk(s)"
    assert body == whole.body
    text = body.decode()
    if accept is None:
        lines = csv_rows(text)
        assert len(lines) == BIG_N + 1 and text.count("time,t,f,i,s") == 1
        assert lines[1] == '2023-07-22T04:26:40.000000000,t0,0.0,-10000,"r0, x"'
    elif accept == "application/json":
        arr = json.loads(text)  # one valid array, not one per batch
        assert len(arr) == BIG_N and arr[-1]["s"] == f"r{BIG_N - 1}, x"
    elif accept == "application/nd-json":
        assert text.count("\n") == BIG_N


def parse_boxes(text):
    """text/table output → list of (header cells, rows of cells) per box."""
    boxes = []
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        assert lines[i].startswith("+-"), lines[i]
        header = [c.strip() for c in lines[i + 1].strip("|").split("|")]
        assert lines[i + 2].startswith("+-")
        i += 3
        rows = []
        while not lines[i].startswith("+-"):
            rows.append([c.strip() for c in lines[i][1:-1].split(" | ")])
            i += 1
        i += 1
        boxes.append((header, rows))
    return boxes


def test_chunked_table(big):
    whole = big.sql(BIG_Q, accept="text/table")
    assert whole.status == 200 and not whole.text.endswith("\n")
    (header, rows), = parse_boxes(whole.text)
    assert header == ["time", "t", "f", "i", "s"] and len(rows) == BIG_N
    status, hdrs, body, chunks = raw_sql(big, BIG_Q, "?chunked=true", [("Accept", "text/table")])
    assert status == 200 and hdrs.get("content-type") == "text/table"
    # CnosDB writes one box per batch; tolerate boxes glued without a newline between them
    boxes = parse_boxes(body.decode().replace("-++-", "-+\n+-"))
    assert len(boxes) >= 1
    assert all(h == header for h, _ in boxes)
    assert [r for _, rs in boxes for r in rs] == rows


def test_chunked_empty_and_errors(big):
    status, _, body, _ = raw_sql(big, "SELECT * FROM big WHERE t = 'none'", "?chunked=true")
    assert status == 200 and body == b"time,t,f,i,s\n"
    status, _, body, _ = raw_sql(big, "SELECT * FROM big WHERE t = 'none'", "?chunked=true",
                                 [("Accept", "application/json")])
    assert status == 200 and body == b"[]"
    status, hdrs, body, _ = raw_sql(big, "SELECT * FROM nope", "?chunked=true")
    assert status == 422 and json.loads(body)["error_code"] == "030019"
    status, _, body, _ = raw_sql(big, "select 1", "?chunked=true")
    assert status == 200 and body == b"Int64(1)\n1\n"


# ------------------------------------------------------------------ response compression


@pytest.mark.parametrize("chunked", [False, True])
@pytest.mark.parametrize("enc", ["gzip", "deflate", "zstd", "lz4", "snappy", "br", "identity"])
def test_response_encoding(big, enc, chunked):
    plain = big.sql(BIG_Q).body
    status, hdrs, body, _ = raw_sql(big, BIG_Q, "?chunked=true" if chunked else "",
                                    [("Accept-Encoding", enc)])
    assert status == 200
    assert hdrs.get("content-encoding") == enc  # echoed, identity too
    assert hdrs.get("content-type") == "text/csv"
    if enc in bodycoding.MAGIC:
        assert body.startswith(bodycoding.MAGIC[enc]), body[:16]
    if enc in bodycoding.DECODERS:
        assert bodycoding.DECODERS[enc](body) == plain
    else:
        assert body != plain and len(body) < len(plain) // 2


def test_accept_encoding_token_choice(server):
    for ae, chosen in (("gzip, deflate", "gzip"), ("xz, br", "br"), ("foo,  zstd ,gzip", "zstd"),
                       ("identity", "identity"), ("deflate", "deflate")):
        r = server.sql("select 1", headers={"Accept-Encoding": ae})
        assert r.status == 200 and r.header("Content-Encoding") == chosen, (ae, r)


def test_requests_gzip_roundtrip(rt):
    # python-requests sends `Accept-Encoding: gzip, deflate` by default and decodes gzip
    r = requests.post(f"http://127.0.0.1:{rt.port}/api/v1/sql", data=RT_QUERY.encode(),
                      headers={"Authorization": ROOT_AUTH}, timeout=30)
    assert r.status_code == 200
    assert r.headers["Content-Encoding"] == "gzip"
    assert r.content.decode() == expected_sv(",")
    r = requests.post(f"http://127.0.0.1:{rt.port}/api/v1/sql", data=RT_QUERY.encode(),
                      params={"chunked": "true"},
                      headers={"Authorization": ROOT_AUTH, "Accept": "application/json"},
                      timeout=30)
    assert r.status_code == 200 and r.headers["Content-Encoding"] == "gzip"
    assert r.json() == expected_objects()


# ------------------------------------------------------------------ request compression


@pytest.mark.parametrize("enc", list(bodycoding.ENCODERS))
def test_request_body_encodings(server, enc):
    table = f"renc_{enc}"
    n = 5000  # big enough for several blocks/chunks of every coding
    lp = "\n".join(f'{table},t=a f={i},s="{"x" * 20}" {i + 1}' for i in range(n)).encode()
    r = server.request("POST", "/api/v1/write", bodycoding.ENCODERS[enc](lp),
                       {"Content-Encoding": enc})
    assert r.status == 200 and r.body == b"", r
    q = f"select count(*), sum(f) from {table}".encode()
    r = server.request("POST", "/api/v1/sql", bodycoding.ENCODERS[enc](q),
                       {"Content-Encoding": enc})
    assert r.status == 200, r
    lines = csv_rows(r.text)
    assert len(lines) == 2 and lines[1] == f"{n},{float(sum(range(n)))}", r.text
    # empty bodies decode to nothing under every coding
    r = server.request("POST", "/api/v1/sql", b"", {"Content-Encoding": enc})
    assert r.status == 200 and r.body == b"", r


def test_request_gzip_with_opentsdb(server):
    import gzip

    r = server.request("POST", "/api/v1/opentsdb/write",
                       gzip.compress(b"renc_tsdb 1 2 host=a\n"), {"Content-Encoding": "gzip"})
    assert r.status == 200, r
    assert server.sql_ok("select * from renc_tsdb") == (
        "time,host,value\n1970-01-01T00:00:00.000000001,a,2.0\n")


# ------------------------------------------------------------------ /write and precision


def test_influx_v1_write_path(server):
    # InfluxDB's answers: 204 and its version header (Telegraf and the client libraries count
    # only 204 as written)
    r = server.request("POST", "/write?db=public", "v1w,t=a f=1 1\nv1w,t=b f=2 2", auth=None)
    assert r.status == 204 and r.body == b"", r
    assert r.header("X-Influxdb-Version") == "1.8.10"
    r = server.request("POST", "/write?db=public&precision=s", "v1w,t=c f=3 3", auth=None)
    assert r.status == 204, r
    r = server.request("POST", "/write?db=public&u=root&p=any", "v1w,t=d f=4 4", auth=None)
    assert r.status == 204, r
    r = server.request("POST", "/write?db=public", "v1w,t=e f=5 5", auth=ROOT_AUTH)
    assert r.status == 204, r
    r = server.request("POST", "/write", "v1w,t=f f=6 6", auth=None)  # db defaults to public
    assert r.status == 204, r
    assert server.sql_ok("select * from v1w order by time") == (
        "time,t,f\n"
        "1970-01-01T00:00:00.000000001,a,1.0\n"
        "1970-01-01T00:00:00.000000002,b,2.0\n"
        "1970-01-01T00:00:00.000000004,d,4.0\n"
        "1970-01-01T00:00:00.000000005,e,5.0\n"
        "1970-01-01T00:00:00.000000006,f,6.0\n"
        "1970-01-01T00:00:03.000000000,c,3.0\n")
    r = server.request("POST", "/write?db=public", "v1w,t=a f=oops 9", auth=None)
    assert r.status == 400 and list(r.json()) == ["error"] and "oops" in r.json()["error"], r
    r = server.request("POST", "/write?db=public&precision=x", "v1w f=1 1", auth=None)
    assert r.status == 400 and "invalid precision 'x'" in r.json()["error"], r


def test_influx_v1_ping(server):
    for method in ("GET", "HEAD"):
        r = server.request(method, "/ping", auth=None)
        assert r.status == 204 and r.body == b"", r
        assert r.header("X-Influxdb-Version") == "1.8.10" and r.header("X-Influxdb-Build") == "OSS"
    r = server.request("GET", "/ping?verbose=true", auth=None)
    assert r.status == 200 and r.json() == {"version": "1.8.10"}, r
    assert server.request("POST", "/ping", "x", auth=None).status == 405


@pytest.mark.parametrize("precision,expected", [
    ("ns", "1970-01-01T00:00:00.000000001"),
    ("NS", "1970-01-01T00:00:00.000000001"),
    ("us", "1970-01-01T00:00:00.000001000"),
    ("ms", "1970-01-01T00:00:00.001000000"),
    ("MS", "1970-01-01T00:00:00.001000000"),
    ("s", "1970-01-01T00:00:01.000000000"),
    ("m", "1970-01-01T00:01:00.000000000"),
    ("h", "1970-01-01T01:00:00.000000000"),
    (None, "1970-01-01T00:00:00.000000001"),
])
def test_precision(server, precision, expected):
    case = "u" if precision and precision.isupper() else "l"
    table = f"prec_{(precision or 'default').lower()}_{case}"
    server.write_ok(f"{table} f=1 1", precision=precision)
    assert server.sql_ok(f"select time from {table}") == f"time\n{expected}\n"


def test_precision_large_values(server):
    server.write_ok("precbig f=1 1690510331123", precision="ms")
    server.write_ok("precbig f=2 1690510332123456", precision="us")
    server.write_ok("precbig f=3 1690510333", precision="s")
    assert server.sql_ok("select time, f from precbig order by time") == (
        "time,f\n2023-07-28T02:12:11.123000000,1.0\n2023-07-28T02:12:12.123456000,2.0\n"
        "2023-07-28T02:12:13.000000000,3.0\n")
    # out of range once converted to ns
    r = server.write("precbig f=4 9223372036854775", precision="s")
    assert r.status == 422, r


@pytest.mark.parametrize("precision", [None, "ns", "us", "ms", "s"])
def test_missing_timestamp_uses_server_time(server, precision):
    table = f"nots_{precision or 'default'}"
    before = time.time()
    server.write_ok(f"{table},t=a f=1", precision=precision)
    after = time.time()
    text = server.sql_ok(f"select time from {table}")
    t = parse_ts(csv_rows(text)[1]) / 1e9
    assert before - 2 <= t <= after + 2, (before, t, after)


# ------------------------------------------------------------------ misc


def test_write_empty_and_comment_bodies(server):
    for body in ("", "\n\n", "# just a comment\n", "   \n# c\n"):
        r = server.write(body)
        assert r.status == 200 and r.body == b"", (body, r)
    server.write_ok("# header comment\ncmt f=1 1\n  # indented comment\n\ncmt f=2 2\r\ncmt f=3 3")
    assert server.sql_ok("select count(*) from cmt") == "COUNT(*)\n3\n"


def test_insert_and_ddl_outputs(server):
    assert server.sql_ok("create table ddlt (f double, tags(t))") == ""
    for accept in ("application/json", "text/table", "application/nd-json", "text/tsv"):
        r = server.sql("create table if not exists ddlt (f double, tags(t))", accept=accept)
        assert r.status == 200 and r.body == b"", (accept, r)
    assert server.sql_ok("insert into ddlt (time, t, f) values (1, 'a', 1.5)") == "rows\n1\n"
    r = server.sql("insert into ddlt (time, t, f) values (2, 'b', 2.5), (3, 'c', 3.5)",
                   accept="application/json")
    assert r.text == '[{"rows":2}]'
    assert server.sql_ok("select * from ddlt order by time") == (
        "time,t,f\n1970-01-01T00:00:00.000000001,a,1.5\n1970-01-01T00:00:00.000000002,b,2.5\n"
        "1970-01-01T00:00:00.000000003,c,3.5\n")


def test_unicode_names(server):
    server.write_ok("温度,城市=北京 值=1.5,名=\"晴\" 1")
    # fields in byte order: 值 (U+503C) before 名 (U+540D)
    assert server.sql_ok('select * from "温度"') == "time,城市,值,名\n1970-01-01T00:00:00.000000001,北京,1.5,晴\n"
    r = server.sql('select "值" from "温度" where "城市" = \'北京\'', accept="application/json")
    assert r.text == '[{"值":1.5}]'


def test_influx_v2_write_and_health(server):
    # InfluxDB 2.x: the bucket is the database; Token user:password or Basic; 204
    r = server.request("POST", "/api/v2/write?org=any&bucket=public&precision=s",
                       "v2w,t=a f=1 1", headers={"Authorization": "Token root:"}, auth=None)
    assert r.status == 204, r
    r = server.request("POST", "/api/v2/write?bucket=public&precision=ms", "v2w,t=b f=2 2")
    assert r.status == 204, r
    assert server.sql_ok("select t, f from v2w order by time") == "t,f\nb,2.0\na,1.0\n"
    r = server.request("POST", "/api/v2/write?org=x", "v2w f=1 1")  # no bucket
    assert r.status == 400 and r.json() == {"code": "invalid",
                                            "message": "bucket not specified"}, r
    r = server.request("POST", "/api/v2/write?bucket=nope", "v2w f=1 1")
    assert r.status == 404 and r.json()["code"] == "not found", r
    r = server.request("POST", "/api/v2/write?bucket=public", "v2w f=", auth=None,
                       headers={"Authorization": "Token root:"})
    assert r.status == 400 and r.json()["code"] == "invalid", r
    r = server.request("POST", "/api/v2/write?bucket=public", "v2w f=1 1", auth=None,
                       headers={"Authorization": "Token ghost:pw"})
    assert r.status == 401 and r.json()["code"] == "unauthorized", r
    r = server.request("GET", "/health", auth=None)
    assert r.status == 200 and r.json()["status"] == "pass", r


def test_opentsdb_api_put_units(server):
    # OpenTSDB's own path: 10 digits or fewer are seconds, longer are milliseconds
    body = ('[{"metric":"otu","timestamp":1700000000,"value":1,"tags":{"h":"s"}},'
            '{"metric":"otu","timestamp":1700000000500,"value":2,"tags":{"h":"ms"}}]')
    r = server.request("POST", "/api/put", body)
    assert r.status == 204, r  # OpenTSDB's answer
    assert server.sql_ok("select time, h, value from otu order by time") == (
        "time,h,value\n2023-11-14T22:13:20.000000000,s,1.0\n"
        "2023-11-14T22:13:20.500000000,ms,2.0\n")


def test_opentsdb_api_put_numeric_strings(server):
    # OpenTSDB takes a quoted number where a number is due; CnosDB's own path does not
    body = ('[{"metric":"ots","timestamp":"1700000000","value":"42.5","tags":{"h":"a"}},'
            '{"metric":"ots","timestamp":1700000001,"value":"-7","tags":{"h":"a"}}]')
    r = server.request("POST", "/api/put", body)
    assert r.status == 204, r
    assert server.sql_ok("select time, value from ots order by time") == (
        "time,value\n2023-11-14T22:13:20.000000000,42.5\n2023-11-14T22:13:21.000000000,-7.0\n")
    for bad, word in (('"value":"4x"', "'value' must be a number"),
                      ('"value":""', "'value' must be a number"),
                      ('"value":"inf1"', "'value' must be a number"),
                      ('"timestamp":"1.5"', "'timestamp' must be an integer")):
        doc = '{"metric":"ots","timestamp":1700000002,"value":1,"tags":{"h":"b"},' + bad + '}'
        r = server.request("POST", "/api/put", doc)
        assert r.status == 400 and word in r.text, (bad, r)
    r = server.request("POST", "/api/v1/opentsdb/put",
                       '{"metric":"ots","timestamp":1,"value":"1","tags":{}}')
    assert r.status == 400 and "'value' must be a number" in r.text, r
    assert server.sql_ok("select count(*) from ots") == "COUNT(*)\n2\n"


def test_metrics_endpoint(server):
    import re
    server.write_ok("met_m,h=a v=1 1\nmet_m,h=b v=2 2")
    server.sql_ok("select count(*) from met_m")
    assert server.request("GET", "/nope", auth=None).status == 404
    r = server.request("GET", "/metrics", auth=None)
    assert r.status == 200 and r.header("Content-Type").startswith("text/plain"), r
    text = r.text
    # every sample line is `name{labels} value` in Prometheus' text format
    sample = re.compile(r'^[a-z_]+(\{([a-z_]+="([^"\\]|\\.)*",?)*\})? [0-9.e+-]+$')
    for line in text.splitlines():
        assert line.startswith("# HELP ") or line.startswith("# TYPE ") or sample.match(line), line
    def value(prefix):
        for line in text.splitlines():
            if line.startswith(prefix):
                return float(line.rsplit(" ", 1)[1])
        raise AssertionError(f"no {prefix} in\n{text}")
    assert value('strata_http_requests_total{route="/api/v1/write",code="200"}') >= 1
    assert value('strata_http_requests_total{route="/api/v1/sql",code="200"}') >= 1
    assert value('strata_http_requests_total{route="unknown",code="404"}') >= 1
    assert value('strata_http_request_duration_seconds_count{route="/api/v1/sql"}') >= 1
    assert value("strata_written_points_total") >= 2
    assert value('strata_database_series{tenant="cnosdb",database="public"}') >= 2
    assert value("strata_resident_memory_bytes") > 0
    assert value("strata_up") == 1
    assert server.request("POST", "/metrics", "x", auth=None).status == 405
