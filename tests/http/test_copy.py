"""External tables and COPY INTO against the real server: the allowed directories from the
default, the config file and the environment; files larger than the reader's buffer and batch;
COPY's rows durable once it answers."""

import gzip
import json
import os


def rows_of(srv, q, db=None):
    r = srv.sql(q, db=db, accept="application/json")
    assert r.status == 200, r
    return r.json()


def error_of(srv, q):
    r = srv.sql(q)
    assert r.status == 422, r
    return r.json()["error_message"]


def test_default_allows_only_the_import_folder(make_server, tmp_path):
    srv = make_server()
    outside = tmp_path / "x.csv"
    outside.write_text("a\n1\n")
    srv.sql_ok(f"CREATE EXTERNAL TABLE o (a BIGINT) STORED AS CSV WITH HEADER ROW LOCATION '{outside}'")
    assert "Access denied" in error_of(srv, "SELECT * FROM o")
    imp = os.path.join(srv.data, "import")
    os.makedirs(imp)
    with open(os.path.join(imp, "x.csv"), "w") as f:
        f.write("a\n1\n2\n")
    srv.sql_ok(f"CREATE EXTERNAL TABLE i (a BIGINT) STORED AS CSV WITH HEADER ROW LOCATION '{imp}/x.csv'")
    assert rows_of(srv, "SELECT sum(a) AS s FROM i") == [{"s": 3}]
    # COPY writes there too, making the folders it needs.
    assert rows_of(srv, f"COPY INTO '{imp}/out/sub/' FROM i FILE_FORMAT = (TYPE = 'JSON')") == [{"rows": 2}]
    (name,) = os.listdir(os.path.join(imp, "out", "sub"))
    with open(os.path.join(imp, "out", "sub", name)) as f:
        assert [json.loads(l) for l in f] == [{"a": 1}, {"a": 2}]
    assert "Access denied" in error_of(srv, f"COPY INTO '{tmp_path}/y.csv' FROM i FILE_FORMAT = (TYPE = 'CSV')")
    assert not (tmp_path / "y.csv").exists()


def test_config_file_and_environment(make_server, tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for d in (a, b, c):
        d.mkdir()
        (d / "v.csv").write_text("v\n7\n")
    srv = make_server(config=f'[copy]\nallowed_dirs = "{a}:{b}"\n')
    for d, ok in ((a, True), (b, True), (c, False)):
        name = d.name
        srv.sql_ok(f"CREATE EXTERNAL TABLE {name} (v BIGINT) STORED AS CSV WITH HEADER ROW LOCATION '{d}/v.csv'")
        r = srv.sql(f"SELECT v FROM {name}")
        assert (r.status == 200) == ok, (name, r)
    # the environment overrides the file
    srv2 = make_server(config=f'[copy]\nallowed_dirs = "{a}"\n', env={"STRATA_COPY_ALLOWED_DIRS": str(c)})
    srv2.sql_ok(f"CREATE EXTERNAL TABLE a (v BIGINT) STORED AS CSV WITH HEADER ROW LOCATION '{a}/v.csv'")
    srv2.sql_ok(f"CREATE EXTERNAL TABLE c (v BIGINT) STORED AS CSV WITH HEADER ROW LOCATION '{c}/v.csv'")
    assert "Access denied" in error_of(srv2, "SELECT * FROM a")
    assert rows_of(srv2, "SELECT v FROM c") == [{"v": 7}]


def test_large_files_across_buffers_and_batches(make_server, tmp_path):
    # 300k rows, about 9 MB: many reader buffers (256 KiB) and batches (4096 rows); a quoted
    # field with a line break and doubled quotes in every 1000th row, so some straddle a buffer.
    n = 300_000
    lines = ["id,name,v"]
    for i in range(n):
        name = f'"row ""{i}""\nsecond line"' if i % 1000 == 0 else f"name{i}"
        lines.append(f"{i},{name},{i * 0.5}")
    text = "\n".join(lines) + "\n"
    (tmp_path / "big.csv").write_text(text)
    with gzip.open(tmp_path / "big.csv.gz", "wt") as f:
        f.write(text)
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    for name, extra in (("big", ""), ("bigz", "COMPRESSION TYPE GZIP"),):
        loc = tmp_path / ("big.csv" if name == "big" else "big.csv.gz")
        srv.sql_ok(f"CREATE EXTERNAL TABLE {name} (id BIGINT, name STRING, v DOUBLE) "
                   f"STORED AS CSV WITH HEADER ROW {extra} LOCATION '{loc}'")
        got = rows_of(srv, f"SELECT count(*) AS n, sum(id) AS s, sum(v) AS sv, "
                           f"count(CASE WHEN name LIKE '%second line' THEN 1 END) AS q FROM {name}")
        assert got == [{"n": n, "s": n * (n - 1) // 2, "sv": n * (n - 1) / 4, "q": n // 1000}]
        got = rows_of(srv, f"SELECT name FROM {name} WHERE id = 299000")
        assert got == [{"name": 'row "299000"\nsecond line'}]


def test_copy_rows_are_durable_when_acknowledged(make_server, tmp_path):
    src = tmp_path / "r.csv"
    src.write_text("time,host,v\n" + "".join(f"2024-01-01T00:00:{i:02d},h{i % 3},{i}\n" for i in range(60)))
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    srv.sql_ok("CREATE TABLE r (v BIGINT, TAGS(host))")
    assert rows_of(srv, f"COPY INTO r FROM '{src}' FILE_FORMAT = (TYPE = 'CSV')") == [{"rows": 60}]
    srv.kill()
    srv.start()
    assert rows_of(srv, "SELECT count(*) AS n, sum(v) AS s FROM r") == [{"n": 60, "s": 1770}]


def test_wide_file_in_smaller_batches(make_server, tmp_path):
    # 2000 columns: batches shrink (about 64Ki values each) instead of 4096 rows of every column
    ncols, nrows = 2000, 300
    with open(tmp_path / "wide.csv", "w") as f:
        f.write(",".join(f"c{i}" for i in range(ncols)) + "\n")
        for r in range(nrows):
            f.write(",".join(str(r * i) for i in range(ncols)) + "\n")
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    srv.sql_ok(f"CREATE EXTERNAL TABLE wide STORED AS CSV WITH HEADER ROW LOCATION '{tmp_path}/wide.csv'")
    got = rows_of(srv, f"SELECT count(*) AS n, sum(c{ncols - 1}) AS s FROM wide")
    assert got == [{"n": nrows, "s": (ncols - 1) * nrows * (nrows - 1) // 2}]


def test_line_protocol_refuses_an_external_table(make_server, tmp_path):
    (tmp_path / "e.csv").write_text("v\n1\n")
    srv = make_server(env={"STRATA_COPY_ALLOWED_DIRS": str(tmp_path)})
    srv.sql_ok(f"CREATE EXTERNAL TABLE ext (v BIGINT) STORED AS CSV WITH HEADER ROW LOCATION '{tmp_path}/e.csv'")
    r = srv.write("ext,host=a v=2i 1\n", db="public")
    assert r.status == 422, r
    assert "table ext is an external table: it reads files and takes no writes" in r.text
    assert rows_of(srv, "SELECT v FROM ext") == [{"v": 1}]
    # a new column of the same name is refused just the same
    assert srv.write("ext w=1 1\n", db="public").status == 422
