"""Parquet against another implementation: DuckDB (npm `@duckdb/node-api`, installed under
build/test/duckdb by scripts/install-deps.sh, or here on first use) writes files of every type,
codec, page version and with several row groups, which Strata reads and compares with the values
DuckDB was asked to write; files Strata writes are read back by DuckDB and compared with what
Strata holds. Without node or the package (npm unreachable) these tests skip, saying why."""

import datetime
import json
import os
import shutil
import subprocess
from decimal import Decimal

import pytest

from strata_http import REPO

DUCK_DIR = REPO / "build" / "test" / "duckdb"
DUCK_PKG = "@duckdb/node-api@1.5.6-r.1"  # the version install-deps.sh pins
RUNNER = """import { DuckDBInstance } from '@duckdb/node-api';
const con = await (await DuckDBInstance.create(':memory:')).connect();
let last = [];
for (const s of JSON.parse(process.argv[2])) last = (await con.runAndReadAll(s)).getRowsJson();
process.stdout.write(JSON.stringify(last));
"""
N = 10000


@pytest.fixture(scope="module")
def duck():
    if not shutil.which("node"):
        pytest.skip("node is not installed (scripts/install-deps.sh installs it)")
    if not (DUCK_DIR / "node_modules" / "@duckdb" / "node-api").is_dir():
        DUCK_DIR.mkdir(parents=True, exist_ok=True)
        try:
            r = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                                str(DUCK_DIR), DUCK_PKG], capture_output=True, text=True, timeout=600)
        except (OSError, subprocess.TimeoutExpired) as e:
            pytest.skip(f"cannot install {DUCK_PKG} with npm: {e}")
        if r.returncode != 0:
            pytest.skip(f"cannot install {DUCK_PKG} with npm: {r.stderr.strip()[-300:]}")
    (DUCK_DIR / "run.mjs").write_text(RUNNER)

    def run(*stmts):
        r = subprocess.run(["node", str(DUCK_DIR / "run.mjs"), json.dumps(stmts)], cwd=DUCK_DIR,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    return run


def rows_of(srv, q):
    r = srv.sql(q, accept="application/json")
    assert r.status == 200, r
    return json.loads(r.body, parse_float=Decimal)


# What DuckDB is asked to write for row i, and the value Strata should give back (its JSON).
BASE_TS = datetime.datetime(2021, 5, 6, 7, 8, 9, 123456)
COLUMNS = [
    ("i32", "i::INT", lambda i: i),
    ("i64", "(i * 1000000000000)::BIGINT", lambda i: i * 10**12),
    ("i8", "(i % 100 - 50)::TINYINT", lambda i: i % 100 - 50),
    ("i16", "(i - 5000)::SMALLINT", lambda i: i - 5000),
    ("u8", "(i % 200)::UTINYINT", lambda i: i % 200),
    ("u32", "(i * 400000)::UINTEGER", lambda i: i * 400000),
    ("u64", "(18446744073709551615 - i)::UBIGINT", lambda i: 18446744073709551615 - i),
    ("f32", "(i / 4)::FLOAT", lambda i: Decimal(i) / 4),
    ("f64", "(i / 8)::DOUBLE", lambda i: Decimal(i) / 8),
    ("s", "CASE WHEN i % 3 = 0 THEN NULL ELSE 'str' || (i % 10) END",
     lambda i: None if i % 3 == 0 else f"str{i % 10}"),
    ("uniq", "'u' || i || repeat('x', i % 7)", lambda i: f"u{i}" + "x" * (i % 7)),
    ("b", "CASE WHEN i % 5 = 0 THEN NULL ELSE i % 2 = 0 END",
     lambda i: None if i % 5 == 0 else i % 2 == 0),
    ("d", "DATE '2020-01-01' + i::INT", lambda i: str(datetime.date(2020, 1, 1) + datetime.timedelta(days=i))),
    ("ts_us", "TIMESTAMP '2021-05-06 07:08:09.123456' + to_seconds(i)",
     lambda i: (BASE_TS + datetime.timedelta(seconds=i)).isoformat()),
    ("ts_ms", "(TIMESTAMP_MS '2021-05-06 07:08:09.123' + to_seconds(i))::TIMESTAMP_MS",
     lambda i: (BASE_TS.replace(microsecond=123000) + datetime.timedelta(seconds=i)).isoformat()[:23]),
    ("ts_ns", "TIMESTAMP_NS '2021-05-06 07:08:09.123456789'", lambda i: "2021-05-06T07:08:09.123456789"),
    ("d5", "(i % 1000 / 100)::DECIMAL(5, 2)", lambda i: Decimal(i % 1000) / 100),
    ("d15", "(i / 1000)::DECIMAL(15, 3)", lambda i: Decimal(i) / 1000),
    ("d30", "(i / 100000)::DECIMAL(30, 5)", lambda i: Decimal(i) / 100000),
    ("bl", "'\\x01\\xAB'::BLOB", lambda i: "01ab"),
]


def fixture_query():
    cols = ", ".join(f"{expr} AS {name}" for name, expr, _ in COLUMNS)
    return f"SELECT {cols} FROM range(0, {N}) t(i)"


VARIANTS = [
    ("snappy", "COMPRESSION snappy, ROW_GROUP_SIZE 3000"),
    ("uncompressed", "COMPRESSION uncompressed, ROW_GROUP_SIZE 4096"),
    ("gzip", "COMPRESSION gzip"),
    ("zstd", "COMPRESSION zstd, ROW_GROUP_SIZE 2048"),
    ("lz4_raw", "COMPRESSION lz4_raw"),
    ("brotli", "COMPRESSION brotli"),
    ("v2", "PARQUET_VERSION v2, COMPRESSION zstd, ROW_GROUP_SIZE 3000"),
    ("v2_plain", "PARQUET_VERSION v2, COMPRESSION uncompressed, DICTIONARY_COMPRESSION_RATIO_THRESHOLD 0"),
]


def test_duckdb_files_read_back(duck, make_server, tmp_path):
    for name, opts in VARIANTS:
        duck(f"COPY ({fixture_query()}) TO '{tmp_path}/{name}.parquet' (FORMAT parquet, {opts})")
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    expected = [{c: f(i) for c, _, f in COLUMNS} for i in range(N)]
    for want in expected:
        for k in [k for k, v in want.items() if v is None]:
            del want[k]  # a NULL is left out of its JSON row
    for name, _ in VARIANTS:
        srv.sql_ok(f"CREATE EXTERNAL TABLE {name} STORED AS PARQUET LOCATION '{tmp_path}/{name}.parquet'")
        got = rows_of(srv, f"SELECT * FROM {name} ORDER BY i32")
        assert len(got) == N, name
        for i in (0, 1, 2, 3, 5, 2999, 3000, 3001, 4095, 4096, 7777, N - 1):
            assert got[i] == expected[i], (name, i)
        assert got == expected, name
    types = rows_of(srv, "SELECT column_name, data_type FROM information_schema.columns "
                         "WHERE table_name = 'snappy' ORDER BY ordinal_position")
    assert [t["data_type"] for t in types] == [
        "Int32", "Int64", "Int8", "Int16", "UInt8", "UInt32", "UInt64", "Float32", "Float64", "Utf8",
        "Utf8", "Boolean", "Date32", "Timestamp(Microsecond, None)", "Timestamp(Millisecond, None)",
        "Timestamp(Nanosecond, None)", "Decimal128(5, 2)", "Decimal128(15, 3)", "Decimal128(30, 5)",
        "Binary"]


def test_duckdb_directory_and_copy_into_table(duck, make_server, tmp_path):
    d = tmp_path / "parts"
    d.mkdir()
    for k in range(3):
        duck(f"COPY (SELECT TIMESTAMP '2024-01-01' + to_seconds(i + {k * 100}) AS time, "
             f"'h' || (i % 4) AS host, i * 0.5 AS v FROM range(0, 100) t(i)) "
             f"TO '{d}/p{k}.parquet' (FORMAT parquet)")
    (d / "notes.txt").write_text("not a parquet file, and not read")
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    srv.sql_ok(f"CREATE EXTERNAL TABLE parts STORED AS PARQUET LOCATION '{d}'")
    assert rows_of(srv, "SELECT count(*) AS n, sum(v) AS s FROM parts") == [{"n": 300, "s": Decimal("7425.0")}]
    srv.sql_ok("CREATE TABLE m (v DOUBLE, TAGS(host))")
    assert rows_of(srv, f"COPY INTO m FROM '{d}' FILE_FORMAT = (TYPE = 'PARQUET')") == [{"rows": 300}]
    got = rows_of(srv, "SELECT host, count(*) AS n, max(time) AS t FROM m GROUP BY host ORDER BY host")
    assert got == [{"host": f"h{k}", "n": 75, "t": f"2024-01-01T00:04:{56 + k}"} for k in range(4)]


def test_strata_files_read_by_duckdb(duck, make_server, tmp_path):
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    srv.sql_ok("CREATE TABLE t (f DOUBLE, n BIGINT, u BIGINT UNSIGNED, b BOOLEAN, s STRING, TAGS(host))")
    n = 20000
    lines = []
    for i in range(n):
        fields = [f"f={i / 4}", f"n={i - 10000}i", f"u={i * 3}u", f"b={'true' if i % 2 else 'false'}"]
        if i % 3:
            fields.append(f's="v{i % 50}"' if i % 7 else f's="unique {i}"')
        if i % 11 == 0:
            fields = fields[1:]  # f NULL
        lines.append(f"t,host=h{i % 3} {','.join(fields)} {1_700_000_000_000_000_000 + i * 1000}")
    r = srv.request("POST", srv.url("/api/v1/write", {"db": "public"}), "\n".join(lines).encode(), {})
    assert r.status == 200, r
    expr = ("time, host, f, n, u, b, s, CAST(f * 100 AS DECIMAL(12, 2)) AS dsmall, "
            "CAST(n AS DECIMAL(30, 4)) AS dwide, CAST(time AS DATE) AS day")
    for codec in ("snappy", "gzip", "zstd", "lz4", "uncompressed", "brotli"):
        got = rows_of(srv, f"COPY INTO '{tmp_path}/out_{codec}/' FROM (SELECT {expr} FROM t) "
                           f"FILE_FORMAT = (TYPE = 'PARQUET', COMPRESSION = '{codec}')")
        assert got == [{"rows": n}]
    ours = rows_of(srv, f"SELECT {expr} FROM t ORDER BY time")
    cols = ["time", "host", "f", "n", "u", "b", "s", "dsmall", "dwide", "day"]
    for codec in ("snappy", "gzip", "zstd", "lz4", "uncompressed", "brotli"):
        theirs = duck(f"SELECT strftime(time, '%Y-%m-%dT%H:%M:%S.%n'), host, f::VARCHAR, n::VARCHAR, "
                      f"u::VARCHAR, b, s, dsmall::VARCHAR, dwide::VARCHAR, day::VARCHAR "
                      f"FROM read_parquet('{tmp_path}/out_{codec}/*.parquet') ORDER BY time")
        assert len(theirs) == n, codec
        for mine, row in zip(ours, theirs):
            d = dict(zip(cols, row))
            assert d["time"].rstrip("0").rstrip(".").startswith(mine["time"].rstrip("0").rstrip(".")), (codec, d, mine)
            assert d["host"] == mine["host"]
            assert (d["f"] is None) == ("f" not in mine) and (d["f"] is None or Decimal(d["f"]) == mine["f"])
            assert int(d["n"]) == mine["n"] and int(d["u"]) == mine["u"] and d["b"] == mine["b"]
            assert d["s"] == mine.get("s")
            assert (d["dsmall"] is None) == ("dsmall" not in mine)
            if d["dsmall"] is not None:
                assert Decimal(d["dsmall"]) == mine["dsmall"]
            assert Decimal(d["dwide"]) == mine["dwide"] and d["day"] == mine["day"]
    # the chunk statistics DuckDB sees are the data's
    stats = duck(f"SELECT path_in_schema, stats_min_value, stats_max_value, stats_null_count, encodings "
                 f"FROM parquet_metadata('{tmp_path}/out_snappy/*.parquet') WHERE path_in_schema IN ('n', 's')")
    by = {r[0]: r for r in stats}
    assert by["n"][1:4] == ["-10000", "9999", "0"]
    assert by["s"][3] == str(sum(1 for i in range(n) if i % 3 == 0))
    assert "RLE_DICTIONARY" in by["s"][4]


def test_damaged_files_are_errors(duck, make_server, tmp_path):
    duck(f"COPY (SELECT i, 'x' || i AS s FROM range(0, 5000) t(i)) TO '{tmp_path}/good.parquet' (FORMAT parquet)")
    good = (tmp_path / "good.parquet").read_bytes()
    bad = {
        "truncated": good[: len(good) // 2],
        "no_footer": good[:-8],
        "flipped": good[:100] + bytes(b ^ 0x5A for b in good[100:400]) + good[400:],
        "bad_length": good[:-8] + (len(good) * 4).to_bytes(4, "little") + b"PAR1",
    }
    for name, data in bad.items():
        (tmp_path / f"{name}.parquet").write_bytes(data)
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    for name in bad:
        srv.sql_ok(f"CREATE EXTERNAL TABLE {name} (i BIGINT, s STRING) STORED AS PARQUET "
                   f"LOCATION '{tmp_path}/{name}.parquet'")
        r = srv.sql(f"SELECT count(*), max(s), sum(i) FROM {name}")
        assert r.status == 422, (name, r)
        assert "Parquet error" in r.json()["error_message"], (name, r)
    assert rows_of(srv, "SELECT 1 AS one") == [{"one": 1}]


def test_scans_read_only_the_columns_the_query_needs(duck, make_server, tmp_path):
    # i declared as a type the file's BIGINT column cannot be read as: only a query that reads
    # i meets the error, the others never decode it (count(*) reads no column at all)
    duck(f"COPY (SELECT i, 'x' || i AS s, i * 0.5 AS d FROM range(0, 3000) t(i)) "
         f"TO '{tmp_path}/p.parquet' (FORMAT parquet)")
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    srv.sql_ok(f"CREATE EXTERNAL TABLE p (i BOOLEAN, s STRING, d DOUBLE) STORED AS PARQUET "
               f"LOCATION '{tmp_path}/p.parquet'")
    assert rows_of(srv, "SELECT count(*) AS n FROM p") == [{"n": 3000}]
    assert rows_of(srv, "SELECT max(s) AS m, sum(d) AS t FROM p WHERE d >= 1000") == [
        {"m": "x2999", "t": sum(i * 0.5 for i in range(2000, 3000))}]
    assert rows_of(srv, "SELECT s FROM p WHERE s LIKE 'x299_' ORDER BY d DESC LIMIT 2") == [
        {"s": "x2999"}, {"s": "x2998"}]
    for q in ("SELECT i FROM p", "SELECT * FROM p", "SELECT count(*) FROM p WHERE i"):
        r = srv.sql(q)
        assert r.status == 422 and "Parquet column i" in r.json()["error_message"], (q, r)


def test_nested_and_unsupported_columns(duck, make_server, tmp_path):
    # a LIST, a STRUCT and a TIME column between flat ones: the flat ones still read from the
    # right column chunks; taking the file's schema names what cannot be read
    duck(f"COPY (SELECT i AS a, [i, i + 1] AS l, {{'x': i, 'y': 'v' || i}} AS st, "
         f"TIME '01:02:03' AS tm, 'z' || i AS b, i * 2 AS c FROM range(0, 50) t(i)) "
         f"TO '{tmp_path}/nested.parquet' (FORMAT parquet)")
    duck(f"COPY (SELECT i AS a FROM range(0, 0) t(i)) TO '{tmp_path}/empty.parquet' (FORMAT parquet)")
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    r = srv.sql(f"CREATE EXTERNAL TABLE n1 STORED AS PARQUET LOCATION '{tmp_path}/nested.parquet'")
    assert r.status == 422 and "Parquet column l" in r.json()["error_message"], r
    assert "nested column" in r.json()["error_message"]
    srv.sql_ok(f"CREATE EXTERNAL TABLE n2 (a BIGINT, b STRING, c BIGINT) STORED AS PARQUET "
               f"LOCATION '{tmp_path}/nested.parquet'")
    got = rows_of(srv, "SELECT a, b, c FROM n2 WHERE a IN (0, 49) ORDER BY a")
    assert got == [{"a": 0, "b": "z0", "c": 0}, {"a": 49, "b": "z49", "c": 98}]
    srv.sql_ok(f"CREATE EXTERNAL TABLE n3 (a BIGINT, tm STRING) STORED AS PARQUET "
               f"LOCATION '{tmp_path}/nested.parquet'")
    r = srv.sql("SELECT * FROM n3")
    assert r.status == 422 and "Parquet column tm" in r.json()["error_message"], r
    srv.sql_ok(f"CREATE EXTERNAL TABLE e STORED AS PARQUET LOCATION '{tmp_path}/empty.parquet'")
    assert rows_of(srv, "SELECT count(*) AS n FROM e") == [{"n": 0}]
