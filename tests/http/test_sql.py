"""SQL basics over HTTP: metadata statements, filters, ordering, databases with their own
precision, empty bodies, and the exact CSV CnosDB's clients expect."""

import pytest

from strata_http import csv_rows

DATA = "\n".join([
    "air,station=XiaoMaiDao,region=north visibility=56,temperature=69i,ok=true 1690510331000000000",
    "air,station=XiaoMaiDao,region=north visibility=50,temperature=78i,ok=false 1690510332000000000",
    "air,station=LianYunGang,region=south visibility=60,temperature=65i,ok=true 1690510333000000000",
    "air,station=LianYunGang,region=south visibility=66,temperature=80i,ok=true 1690510334000000000",
    "air,station=XiaoMaiDao,region=north visibility=70,temperature=72i,ok=false 1690510335000000000",
    "air,station=LianYunGang,region=south visibility=49,temperature=71i,ok=true 1690510336000000000",
])

HEADER = "time,region,station,ok,temperature,visibility"
ROWS = [
    "2023-07-28T02:12:11.000000000,north,XiaoMaiDao,true,69,56.0",
    "2023-07-28T02:12:12.000000000,north,XiaoMaiDao,false,78,50.0",
    "2023-07-28T02:12:13.000000000,south,LianYunGang,true,65,60.0",
    "2023-07-28T02:12:14.000000000,south,LianYunGang,true,80,66.0",
    "2023-07-28T02:12:15.000000000,north,XiaoMaiDao,false,72,70.0",
    "2023-07-28T02:12:16.000000000,south,LianYunGang,true,71,49.0",
]


def csv(*rows, header=HEADER):
    return "\n".join((header,) + rows) + "\n"


def test_show_databases_on_fresh_server(make_server):
    srv = make_server()
    assert srv.sql_ok("SHOW DATABASES") == "database_name\ncluster_schema\npublic\nusage_schema\n"
    assert srv.sql_ok("show tables") == "table_name\n"
    r = srv.sql("show databases", accept="application/json")
    assert r.text == ('[{"database_name":"cluster_schema"},{"database_name":"public"},'
                      '{"database_name":"usage_schema"}]')


@pytest.fixture(scope="module")
def air(server):
    server.write_ok(DATA)
    return server


def test_select_star(air):
    assert air.sql_ok("SELECT * FROM air ORDER BY time") == csv(*ROWS)
    # identifiers are case-insensitive, keywords too
    assert air.sql_ok("select * from AIR order by TIME asc") == csv(*ROWS)


def test_show_tables(air):
    air.write_ok("zz_second f=1 1")
    lines = csv_rows(air.sql_ok("SHOW TABLES"))
    assert lines[0] == "table_name"
    assert "air" in lines[1:] and "zz_second" in lines[1:]
    assert len(lines[1:]) == len(set(lines[1:]))


def test_describe_table(air):
    assert air.sql_ok("DESCRIBE TABLE air") == (
        "column_name,data_type,column_type,compression_codec\n"
        "time,TIMESTAMP(NANOSECOND),TIME,DEFAULT\n"
        "region,STRING,TAG,DEFAULT\n"
        "station,STRING,TAG,DEFAULT\n"
        "ok,BOOLEAN,FIELD,DEFAULT\n"
        "temperature,BIGINT,FIELD,DEFAULT\n"
        "visibility,DOUBLE,FIELD,DEFAULT\n")
    r = air.sql("DESCRIBE TABLE nope")
    assert r.status == 422 and r.json() == {
        "error_code": "030019", "error_message": 'Table not found: "cnosdb.public.nope"'}


def test_unsigned_in_describe(server):
    server.write_ok("uns u=1u,s=\"x\" 1")
    assert server.sql_ok("describe table uns").split("\n")[1:3] == [
        "time,TIMESTAMP(NANOSECOND),TIME,DEFAULT", "s,STRING,FIELD,DEFAULT"]
    assert "u,BIGINT UNSIGNED,FIELD,DEFAULT" in server.sql_ok("describe table uns")


def test_count(air):
    assert air.sql_ok("SELECT count(*) FROM air") == "COUNT(*)\n6\n"
    assert air.sql_ok("SELECT COUNT(*) FROM air WHERE station = 'nowhere'") == "COUNT(*)\n0\n"
    r = air.sql("select count(*) from air", accept="application/json")
    assert r.text == '[{"COUNT(*)":6}]'


def test_where_time_and_tag(air):
    q = ("SELECT * FROM air WHERE time >= '2023-07-28T02:12:12' AND station = 'XiaoMaiDao' "
         "ORDER BY time")
    assert air.sql_ok(q) == csv(ROWS[1], ROWS[4])
    q = ("SELECT * FROM air WHERE time >= '2023-07-28T02:12:12Z' AND time < "
         "'2023-07-28T02:12:15.000000000' AND region = 'south' ORDER BY time")
    assert air.sql_ok(q) == csv(ROWS[2], ROWS[3])
    # a field filter and a projection
    q = "SELECT station, visibility FROM air WHERE visibility > 60 ORDER BY visibility"
    assert air.sql_ok(q) == "station,visibility\nLianYunGang,66.0\nXiaoMaiDao,70.0\n"
    q = "SELECT time, temperature FROM air WHERE ok AND temperature >= 71 ORDER BY time"
    assert air.sql_ok(q) == ("time,temperature\n2023-07-28T02:12:14.000000000,80\n"
                             "2023-07-28T02:12:16.000000000,71\n")


def test_order_by_time_desc_limit(air):
    assert air.sql_ok("SELECT * FROM air ORDER BY time DESC LIMIT 2") == csv(ROWS[5], ROWS[4])
    assert air.sql_ok("SELECT * FROM air ORDER BY time DESC LIMIT 0") == csv()
    assert air.sql_ok("SELECT * FROM air ORDER BY time LIMIT 2 OFFSET 3") == csv(ROWS[3], ROWS[4])
    assert air.sql_ok("SELECT * FROM air ORDER BY time DESC LIMIT 100") == csv(*ROWS[::-1])


def test_aggregates(air):
    q = ("SELECT station, count(*), max(temperature), min(visibility) FROM air "
         "GROUP BY station ORDER BY station")
    assert air.sql_ok(q) == ("station,COUNT(*),MAX(air.temperature),MIN(air.visibility)\n"
                             "LianYunGang,3,80,49.0\nXiaoMaiDao,3,78,50.0\n")
    q = "SELECT avg(visibility), sum(temperature) FROM air WHERE region = 'north'"
    assert air.sql_ok(q) == "AVG(air.visibility),SUM(air.temperature)\n58.666666666666664,219\n"


def test_empty_body(air):
    for body in ("", "   ", "\n\t\n"):
        r = air.sql(body)
        assert r.status == 200 and r.body == b"", (body, r)
    r = air.sql("", accept="application/json")
    assert r.status == 200 and r.body == b""


def test_select_1(air):
    assert air.sql_ok("select 1") == "Int64(1)\n1\n"
    assert air.sql_ok("SELECT 1;") == "Int64(1)\n1\n"


def test_database_with_ms_precision(air):
    assert air.sql_ok("CREATE DATABASE d WITH PRECISION 'ms'") == ""
    lines = csv_rows(air.sql_ok("SHOW DATABASES"))
    assert lines == ["database_name", "cluster_schema", "d", "public", "usage_schema"]
    r = air.sql("CREATE DATABASE d WITH PRECISION 'ms'")
    assert r.status == 422 and r.json() == {"error_code": "030018",
                                            "error_message": 'Database "d" already exists'}
    assert air.sql_ok("CREATE DATABASE IF NOT EXISTS d") == ""
    air.write_ok("m,t=a f=1 1690510331123", db="d", precision="ms")
    air.write_ok("m,t=b f=2 1690510331123456789", db="d")  # ns: truncated to ms
    assert air.sql_ok("select * from m order by t", db="d") == (
        "time,t,f\n2023-07-28T02:12:11.123000000,a,1.0\n2023-07-28T02:12:11.123000000,b,2.0\n")
    r = air.sql("select * from m order by t", db="d", accept="application/json")
    assert r.text == ('[{"time":"2023-07-28T02:12:11.123","t":"a","f":1.0},'
                      '{"time":"2023-07-28T02:12:11.123","t":"b","f":2.0}]')
    assert air.sql_ok("describe table m", db="d").split("\n")[1] == \
        "time,TIMESTAMP(MILLISECOND),TIME,DEFAULT"
    # the table lives in d only
    r = air.sql("select * from m")
    assert r.status == 422 and r.json()["error_message"] == 'Table not found: "cnosdb.public.m"'
    # SHOW TABLES follows ?db=
    assert csv_rows(air.sql_ok("show tables", db="d")) == ["table_name", "m"]
    # and a dropped database is gone for writes and queries
    assert air.sql_ok("DROP DATABASE d") == ""
    r = air.write("m f=1 1", db="d")
    assert r.status == 422 and r.json() == {"error_code": "030017",
                                            "error_message": 'Database not found: "d"'}
    assert "d" not in csv_rows(air.sql_ok("SHOW DATABASES"))


def test_database_us_precision(air):
    assert air.sql_ok("create database dus with precision 'us'") == ""
    air.write_ok("m f=1 1690510331123456789", db="dus")
    assert air.sql_ok("select time from m", db="dus") == "time\n2023-07-28T02:12:11.123456000\n"
    assert air.sql_ok("describe table m", db="dus").split("\n")[1] == \
        "time,TIMESTAMP(MICROSECOND),TIME,DEFAULT"


@pytest.mark.parametrize("q,expected", [
    ("select 1", "Int64(1)\n1\n"),
    ("select 1.5", "Float64(1.5)\n1.5\n"),
    ("select 'x'", '"Utf8(""x"")"\nx\n'),
    ("select true", "Boolean(true)\ntrue\n"),
    ("select 1.5, 'x', true", 'Float64(1.5),"Utf8(""x"")",Boolean(true)\n1.5,x,true\n'),
    ("select 2 as two, 'a b' as s", "two,s\n2,a b\n"),
])
def test_literal_column_names(server, q, expected):
    """Expression columns are named as DataFusion names them."""
    for _ in range(3):  # the same answer every time
        assert server.sql_ok(q) == expected


def test_aggregate_over_no_rows(air):
    assert air.sql_ok("select count(*) from air where visibility > 1000") == "COUNT(*)\n0\n"
    # a row of one NULL is written as "" in CSV (a bare empty line would be no row at all)
    assert air.sql_ok("select max(visibility) from air where visibility > 1000") == \
        'MAX(air.visibility)\n""\n'
