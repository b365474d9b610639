"""OpenTSDB ingestion: text lines on /api/v1/opentsdb/write (several lines per request and
decimal values, as the contract extends CnosDB) and JSON on /api/v1/opentsdb/put. Each point
becomes a row of table <metric> with its tags and one DOUBLE field `value`."""

import json

import pytest

from strata_http import csv_rows

TEXT = ("put sys_cpu 1666165200290401000 1.5 host=web01 dc=lga\n"
        "sys_cpu 1666165200290402000 -2 host=web02 dc=lga\n"
        "put sys_cpu 1666165200290403000 3 host=web01 dc=lga\n"
        "put sys_cpu 1666165200290404000 0.25 host=web03 dc=ams\n")


def test_text_several_lines_decimal_values(server):
    r = server.request("POST", "/api/v1/opentsdb/write", TEXT)
    assert r.status == 200 and r.body == b"", r
    assert server.sql_ok("select * from sys_cpu order by time") == (
        "time,dc,host,value\n"
        "2022-10-19T07:40:00.290401000,lga,web01,1.5\n"
        "2022-10-19T07:40:00.290402000,lga,web02,-2.0\n"
        "2022-10-19T07:40:00.290403000,lga,web01,3.0\n"
        "2022-10-19T07:40:00.290404000,ams,web03,0.25\n")
    assert server.sql_ok("describe table sys_cpu") == (
        "column_name,data_type,column_type,compression_codec\n"
        "time,TIMESTAMP(NANOSECOND),TIME,DEFAULT\n"
        "dc,STRING,TAG,DEFAULT\n"
        "host,STRING,TAG,DEFAULT\n"
        "value,DOUBLE,FIELD,DEFAULT\n")


def test_dotted_metric_name(server):
    """OpenTSDB metrics are dotted (`sys.if.bytes.out`); the table is named exactly that and is
    queried as a quoted identifier."""
    r = server.request("POST", "/api/v1/opentsdb/write",
                       "sys.if.bytes.out 1666165200290401000 1 host=web01 interface=eth0\n")
    assert r.status == 200, r
    assert csv_rows(server.sql_ok("show tables")).count("sys.if.bytes.out") == 1
    assert server.sql_ok('select * from "sys.if.bytes.out"') == (
        "time,host,interface,value\n2022-10-19T07:40:00.290401000,web01,eth0,1.0\n")
    assert server.sql_ok('select value from "sys.if.bytes.out" where host = \'web01\'') == \
        "value\n1.0\n"
    assert server.sql_ok('select count(*) from "sys.if.bytes.out"') == "COUNT(*)\n1\n"


def test_text_single_point_like_cnosdb(server):
    # the form CnosDB's own tests send: one point, precision us, trailing newline
    r = server.request("POST", "/api/v1/opentsdb/write?precision=us",
                       "test2 1667456411000001 1 ta=a1 tb=b1\n")
    assert r.status == 200, r
    assert server.sql_ok("select * from test2") == (
        "time,ta,tb,value\n2022-11-03T06:20:11.000001000,a1,b1,1.0\n")
    # without a trailing newline, and precision ms
    r = server.request("POST", "/api/v1/opentsdb/write?precision=ms", "tsdbms 1 7 k=v")
    assert r.status == 200, r
    assert server.sql_ok("select * from tsdbms") == (
        "time,k,value\n1970-01-01T00:00:00.001000000,v,7.0\n")


@pytest.mark.parametrize("body", [
    "sys.bad 1666165200290401000 host=web01\n",        # no value
    "sys.bad\n",                                       # metric only
    "put\n",
    "sys.bad 1666165200290401000 abc host=web01\n",    # value not a number
    "sys.bad notatime 1 host=web01\n",
])
def test_text_parse_errors(server, body):
    r = server.request("POST", "/api/v1/opentsdb/write", body)
    assert r.status == 400, r
    assert r.header("Content-Type") == "application/json"
    assert r.json()["error_code"] == "040010", r
    assert r.json()["error_message"]


def test_text_error_refuses_whole_request(server):
    r = server.request("POST", "/api/v1/opentsdb/write",
                       "sys.half 1 1 host=a\nsys.half 2 host=b\n")
    assert r.status == 400 and r.json()["error_code"] == "040010", r
    r = server.sql('select * from "sys.half"')
    assert r.status == 422 and r.json()["error_code"] == "030019", r


def test_text_to_unknown_database(server):
    r = server.request("POST", "/api/v1/opentsdb/write?db=nodb", "sys.x 1 1 host=a\n")
    assert r.status == 422, r
    assert r.json() == {"error_code": "030017", "error_message": 'Database not found: "nodb"'}


def test_json_single_object(server):
    obj = {"metric": "nice", "timestamp": 1667456411000001, "value": 18,
           "tags": {"host": "web01", "dc": "lga"}}
    r = server.request("POST", "/api/v1/opentsdb/put?precision=us", json.dumps(obj))
    assert r.status == 200 and r.body == b"", r
    assert server.sql_ok("select * from nice") == (
        "time,dc,host,value\n2022-11-03T06:20:11.000001000,lga,web01,18.0\n")


def test_json_array(server):
    arr = [
        {"metric": "jarr", "timestamp": 1, "value": 1.25, "tags": {"host": "a"}},
        {"metric": "jarr", "timestamp": 2, "value": -3, "tags": {"host": "b"}, "extra": [1]},
        {"metric": "jarr2", "timestamp": 3, "value": 1e3, "tags": {}},
    ]
    r = server.request("POST", "/api/v1/opentsdb/put", json.dumps(arr))
    assert r.status == 200 and r.body == b"", r
    assert server.sql_ok("select * from jarr order by time") == (
        "time,host,value\n1970-01-01T00:00:00.000000001,a,1.25\n"
        "1970-01-01T00:00:00.000000002,b,-3.0\n")
    assert server.sql_ok("select * from jarr2") == \
        "time,value\n1970-01-01T00:00:00.000000003,1000.0\n"
    r = server.sql("describe table jarr", accept="application/json")
    assert [c["data_type"] for c in r.json()] == ["TIMESTAMP(NANOSECOND)", "STRING", "DOUBLE"]
    # an empty array writes nothing and succeeds
    r = server.request("POST", "/api/v1/opentsdb/put", "[]")
    assert r.status == 200 and r.body == b"", r


@pytest.mark.parametrize("body", [
    "not json",
    "{",
    '{"metric":"jbad","timestamp":1,"value":1}',                           # no tags
    '{"metric":"jbad","timestamp":1,"tags":{"a":"b"}}',                    # no value
    '{"metric":"jbad","value":1,"tags":{"a":"b"}}',                        # no timestamp
    '{"timestamp":1,"value":1,"tags":{"a":"b"}}',                          # no metric
    '{"metric":"jbad","timestamp":1,"value":"1","tags":{"a":"b"}}',        # value a string
    '{"metric":"jbad","timestamp":1.5,"value":1,"tags":{"a":"b"}}',        # float timestamp
    '{"metric":"jbad","timestamp":1,"value":1,"tags":["a"]}',              # tags not an object
    '{"metric":"jbad","timestamp":1,"value":1,"tags":{"a":1}}',            # tag value a number
    '[{"metric":"jbad","timestamp":1,"value":1,"tags":{}}, 5]',
])
def test_json_parse_errors(server, body):
    r = server.request("POST", "/api/v1/opentsdb/put", body)
    assert r.status == 400, r
    assert r.header("Content-Type") == "application/json"
    assert r.json()["error_code"] == "040011", r
    assert r.json()["error_message"].startswith("Error parsing message"), r
    r = server.sql("select * from jbad")
    assert r.status == 422, r


def test_json_conflicting_type_with_existing_table(server):
    server.write_ok("tsdbconf,host=a value=1i 1")  # value is BIGINT here
    r = server.request("POST", "/api/v1/opentsdb/put",
                       '{"metric":"tsdbconf","timestamp":2,"value":2,"tags":{"host":"a"}}')
    assert r.status == 422 and r.json()["error_code"] == "050014", r
