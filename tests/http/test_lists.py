"""Lists in every result format (issue 8, item 1): JSON and ND-JSON write a list as a JSON array
(strings quoted and escaped, NULL as null, timestamps as strings), as arrow-json does; CSV, TSV
and the table write the text Arrow's display gives ([a, NULL, b]: elements unquoted), quoted
as any text cell when needed; a NULL list is an empty cell, or left out of a JSON object."""

import json

Q = ("SELECT make_array('a,b', NULL, 'c\"d') AS s, make_array(1.5, 2.0) AS f, "
     "CASE WHEN false THEN [1] END AS n, "
     "make_array(TIMESTAMP '2022-01-01 00:00:00.5', NULL) AS t, make_array() AS e")


def test_list_csv_and_tsv(server):
    assert server.sql_ok(Q, accept="text/csv") == (
        's,f,n,t,e\n"[a,b, NULL, c""d]","[1.5, 2.0]",,"[2022-01-01T00:00:00.500, NULL]",[]\n')
    assert server.sql_ok(Q, accept="text/tsv") == (
        's\tf\tn\tt\te\n"[a,b, NULL, c""d]"\t[1.5, 2.0]\t\t[2022-01-01T00:00:00.500, NULL]\t[]\n')


def test_list_json_and_ndjson(server):
    body = server.sql_ok(Q, accept="application/json")
    assert body == ('[{"s":["a,b",null,"c\\"d"],"f":[1.5,2.0],'
                    '"t":["2022-01-01T00:00:00.500",null],"e":[]}]')
    assert json.loads(body)[0]["s"] == ["a,b", None, 'c"d']
    line = server.sql_ok(Q, accept="application/nd-json")
    assert json.loads(line) == json.loads(body)[0]


def test_list_table(server):
    lines = server.sql_ok(Q, accept="application/table").split("\n")
    assert lines[3] == "| [a,b, NULL, c\"d] | [1.5, 2.0] |   | [2022-01-01T00:00:00.500, NULL] | [] |"


def test_array_agg_over_many_batches_and_groups(server):
    """array_agg's lists are built in the aggregate's state and outlive every input batch."""
    server.sql_ok("CREATE TABLE la (v BIGINT, TAGS(k))")
    lines = "\n".join("la,k=k%d v=%di %d" % (i % 7, i, i + 1) for i in range(20000))
    server.write_ok(lines)
    rows = server.sql_ok("SELECT k, array_agg(v ORDER BY v) AS l FROM la GROUP BY k ORDER BY k",
                         accept="application/json")
    got = json.loads(rows)
    assert [r["k"] for r in got] == ["k%d" % i for i in range(7)]
    for i, r in enumerate(got):
        assert r["l"] == list(range(i, 20000, 7))


def test_list_headers(server):
    """Columns are named as DataFusion names the expressions: make_array(..), l[i] (its
    GetIndexedField, the key's Display), ARRAY_AGG(..)."""
    assert server.sql_ok("SELECT [1, 2][2], make_array('a')") == (
        '"make_array(Int64(1),Int64(2))[2]","make_array(Utf8(""a""))"\n2,[a]\n')
