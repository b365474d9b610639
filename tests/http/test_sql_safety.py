"""SQL execution safety (issue 6): statements that once crashed the server, exhausted its memory
or ran unbounded. Each test sends the former killer and checks that the answer is a result or a
clean error body, and that the server still answers afterwards."""


def alive(srv):
    assert srv.sql_ok("SELECT 1") == "Int64(1)\n1\n"


def test_cast_to_null_string_then_compare(server):
    # A CAST yielding NULL left its string slots undefined; the comparison read them.
    server.sql_ok("CREATE TABLE cr1(f0 BIGINT, TAGS(t0))")
    server.sql_ok("INSERT cr1(TIME, f0) VALUES(1, 1)")
    lines = ["cr1,t0=z f0=-1i 999999"] + [f"cr1 f0={i}i {i}" for i in range(2, 3000)]
    server.write_ok("\n".join(lines))
    for _ in range(3):
        # leaves large doubles in memory the next query's vectors reuse
        server.sql_ok("SELECT CAST(f0 AS DOUBLE) * 1.0e300 + 7.7e299 FROM cr1")
        out = server.sql_ok("SELECT count(*) FROM cr1 WHERE CAST(t0 AS STRING) < 'a' OR f0 > 0")
        assert out == "COUNT(*)\n2999\n"
    assert server.sql_ok(
        "SELECT f0 FROM cr1 WHERE (CAST(t0 AS STRING) < 'a' OR f0 > 0) AND time < 2") == "f0\n1\n"
    alive(server)
