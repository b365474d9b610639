"""Query management over HTTP: SHOW QUERIES and information_schema.queries list the statements
running on other connections, KILL QUERY stops one at its next batch (its client gets the
error, whole or streamed answer alike), and query.query_timeout stops a query the same way.

The long query is a join whose key has two values over a table of 200,000 rows: about 2e10
pairs, far more than any test machine counts before the test kills it (nothing waits for it to
finish: if the kill failed, the client's request would run into its own timeout)."""

import time

from strata_http import Threads

ROWS = 200_000
LONG = "SELECT count(*) FROM big a JOIN big b ON a.h = b.h WHERE a.v + b.v >= 0"
LONG_STREAM = "SELECT a.v, b.v FROM big a JOIN big b ON a.h = b.h"


def fill(srv):
    lines = "\n".join(f"big,h=h{i % 2} v={i}i {i + 1}" for i in range(ROWS))
    r = srv.write(lines)
    assert r.status == 200, r


def running(srv, text):
    """The query_id of the statement whose text is `text`, once it is listed."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        rows = srv.sql_ok("SHOW QUERIES").splitlines()
        assert rows[0] == ("query_id,query_type,query_text,user_name,tenant_name,"
                           "database_name,state,duration")
        for row in rows[1:]:
            if text in row and "SHOW QUERIES" not in row:
                return row.split(",")[0]
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never listed")


def run_into(out, srv, q, params=None):
    out["resp"] = srv.sql(q, timeout=300, params=params)


def test_show_and_kill_a_running_query(make_server):
    srv = make_server()
    fill(srv)
    out = {}
    th = Threads()
    th.start(run_into, out, srv, LONG)
    qid = running(srv, LONG)
    # the view sees it too, with its state and counts
    row = srv.sql_ok(f"SELECT query_type, user_name, tenant_name, database_name, state, "
                     f"error_count FROM information_schema.queries WHERE query_id = '{qid}'")
    assert row.splitlines()[1] == "batch,root,cnosdb,public,SCHEDULING,0", row
    assert srv.sql_ok(f"KILL QUERY {qid}") == ""
    th.join(timeout=120)
    r = out["resp"]
    assert r.status == 422, r
    assert r.json() == {"error_code": "010014", "error_message": "The query has been canceled"}, r
    # gone from the list, and a second kill finds nothing
    assert LONG not in srv.sql_ok("SHOW QUERIES")
    r = srv.sql(f"KILL QUERY {qid}")
    assert r.status == 422, r
    assert r.json() == {"error_code": "010011", "error_message": f"Query not found: QueryId({qid})"}
    # the server goes on answering
    assert srv.sql_ok("SELECT count(*) FROM big") == f"COUNT(*)\n{ROWS}\n"


def test_kill_ends_a_streamed_answer(make_server):
    srv = make_server()
    fill(srv)
    out = {}
    th = Threads()
    th.start(run_into, out, srv, LONG_STREAM, {"chunked": "true"})
    qid = running(srv, LONG_STREAM)
    srv.sql_ok(f"KILL {qid}")
    th.join(timeout=120)
    r = out["resp"]
    # the status line went out with the first rows: the error ends the stream
    assert r.status == 200, r
    assert r.text.rstrip().endswith('"error_message": "Fetch result: The query has been canceled"}'), \
        r.text[-300:]
    assert LONG_STREAM not in srv.sql_ok("SHOW QUERIES")


def test_query_timeout_stops_a_query(make_server):
    srv = make_server(env={"STRATA_QUERY_QUERY_TIMEOUT": "1s"})
    fill(srv)
    r = srv.sql(LONG, timeout=300)
    assert r.status == 500, r
    assert "Query timeout" in r.json()["error_message"], r
    # it left the registry, and a short query still answers within the limit
    assert LONG not in srv.sql_ok("SHOW QUERIES")
    assert srv.sql_ok("SELECT count(*) FROM big") == f"COUNT(*)\n{ROWS}\n"
