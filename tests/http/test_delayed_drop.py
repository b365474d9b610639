"""DROP DATABASE ... AFTER: the database is hidden at once, durably (a kill -9 and restart keep it
hidden and recoverable), and dropped for real by the server once the delay has passed."""

import time


def setup_db(srv, name):
    srv.sql_ok(f"CREATE DATABASE {name}")
    srv.sql_ok(f"CREATE TABLE {name}.air (v DOUBLE, TAGS(st))")
    srv.sql_ok(f"INSERT INTO {name}.air (time, st, v) VALUES (1, 'a', 56), (2, 'b', 57)")


def test_hidden_database_survives_kill_and_recovers(make_server):
    srv = make_server()
    setup_db(srv, "dly")
    srv.sql_ok("DROP DATABASE dly AFTER '1h'")
    assert "dly" not in srv.sql_ok("SHOW DATABASES")
    r = srv.write("air,st=c v=1 3", db="dly")
    assert r.status == 404 or r.status == 422, r
    srv.kill()
    srv.start()
    assert "dly" not in srv.sql_ok("SHOW DATABASES")
    assert srv.sql("SELECT * FROM dly.air").status == 422
    srv.sql_ok("RECOVER DATABASE dly")
    assert srv.sql_ok("SELECT st, v FROM dly.air ORDER BY st") == "st,v\na,56.0\nb,57.0\n"
    srv.kill()
    srv.start()
    assert srv.sql_ok("SELECT count(*) FROM dly.air") == "COUNT(*)\n2\n"


def test_delayed_drop_comes_due(make_server):
    srv = make_server()
    setup_db(srv, "soon")
    srv.sql_ok("DROP DATABASE soon AFTER '1s'")
    # the server checks once a second; wait for the drop with a generous deadline
    deadline = time.time() + 60
    while "its delayed drop came due" not in srv.log_text() and time.time() < deadline:
        time.sleep(0.2)
    assert "its delayed drop came due" in srv.log_text()
    # the name is free again, and nothing of the old data comes back, even after a restart
    srv.sql_ok("CREATE DATABASE soon")
    srv.sql_ok("CREATE TABLE soon.air (v DOUBLE, TAGS(st))")
    assert srv.sql_ok("SELECT count(*) FROM soon.air") == "COUNT(*)\n0\n"
    assert srv.stop() == 0
    srv.start()
    assert srv.sql_ok("SELECT count(*) FROM soon.air") == "COUNT(*)\n0\n"
    assert srv.sql("RECOVER DATABASE gone").status == 422
