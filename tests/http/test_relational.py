"""Joins and window functions over large inputs (issue 7): a join of 1M x 100k rows and a window
over 1M rows give exact answers, and under a small query memory limit the same queries fail
with the limit's error while the server keeps answering."""

import pytest

HOSTS = 1000
CPU_POINTS = 1000  # per host: 1,000,000 rows
MEM_EVERY = 10  # mem has every 10th timestamp: 100,000 rows
T0 = 1672531200000000000
SEC = 1000000000


def load(srv):
    for h0 in range(0, HOSTS, 100):
        lines = []
        for h in range(h0, h0 + 100):
            for i in range(CPU_POINTS):
                lines.append(f"cpu,host=h{h} usage={(h * 7 + i) % 100}i {T0 + i * SEC}")
        srv.write_ok("\n".join(lines))
        lines = []
        for h in range(h0, h0 + 100):
            for i in range(0, CPU_POINTS, MEM_EVERY):
                lines.append(f"mem,host=h{h} free={i}i {T0 + i * SEC}")
        srv.write_ok("\n".join(lines))


def expected_join_sum():
    return sum((h * 7 + i) % 100 + i for h in range(HOSTS) for i in range(0, CPU_POINTS, MEM_EVERY))


def one(srv, q):
    out = srv.sql_ok(q).strip().split("\n")
    assert len(out) == 2, out
    return out[1]


@pytest.fixture(scope="module")
def big(server):
    load(server)
    return server


def test_join_of_a_million_by_a_hundred_thousand_rows(big):
    q = ("SELECT count(*), sum(usage + free) FROM cpu JOIN mem "
         "ON cpu.host = mem.host AND cpu.time = mem.time")
    n, s = one(big, q).split(",")
    assert int(n) == HOSTS * CPU_POINTS // MEM_EVERY
    assert int(s) == expected_join_sum()
    # a LEFT JOIN keeps every cpu row; the unmatched ones have no mem value
    q = ("SELECT count(*), count(free) FROM cpu LEFT JOIN mem "
         "ON cpu.host = mem.host AND cpu.time = mem.time")
    assert one(big, q) == f"{HOSTS * CPU_POINTS},{HOSTS * CPU_POINTS // MEM_EVERY}"
    # the time range of one side narrows the other's scan, and the answer is the same as
    # filtering after the join
    t = T0 + 500 * SEC
    q1 = ("SELECT count(*) FROM cpu JOIN mem ON cpu.host = mem.host AND cpu.time = mem.time "
          f"WHERE cpu.time >= {t}")
    q2 = ("SELECT count(*) FROM (SELECT cpu.time AS ct FROM cpu JOIN mem "
          f"ON cpu.host = mem.host AND cpu.time = mem.time) AS j WHERE ct >= {t}")
    assert one(big, q1) == one(big, q2) == str(HOSTS * 50)


def test_window_over_a_million_rows(big):
    q = ("SELECT count(*), max(rn), sum(rn) FROM (SELECT row_number() OVER "
         "(PARTITION BY host ORDER BY time) AS rn FROM cpu) AS w")
    assert one(big, q) == f"{HOSTS * CPU_POINTS},{CPU_POINTS},{HOSTS * CPU_POINTS * (CPU_POINTS + 1) // 2}"
    # a running sum per host ends at the host's total
    q = ("SELECT host, max(rs) FROM (SELECT host, sum(usage) OVER (PARTITION BY host ORDER BY "
         "time) AS rs FROM cpu WHERE host = 'h3') AS w GROUP BY host")
    total = sum((3 * 7 + i) % 100 for i in range(CPU_POINTS))
    assert one(big, q) == f"h3,{total}"
    # a sliding frame over the whole table: every value is the mean of at most 3 rows
    q = ("SELECT count(*) FROM (SELECT avg(usage) OVER (PARTITION BY host ORDER BY time ROWS "
         "BETWEEN 1 PRECEDING AND 1 FOLLOWING) AS m FROM cpu) AS w WHERE m >= 0 AND m <= 99")
    assert one(big, q) == str(HOSTS * CPU_POINTS)


def test_memory_limit_stops_joins_and_windows(make_server):
    srv = make_server(env={"STRATA_QUERY_QUERY_MEMORY_LIMIT": "8MiB"})
    load(srv)
    for q in ("SELECT count(*) FROM cpu JOIN mem ON cpu.host = mem.host",
              "SELECT count(*) FROM (SELECT row_number() OVER (ORDER BY usage) AS r FROM cpu) AS w",
              "SELECT count(*) FROM cpu a JOIN cpu b ON a.time = b.time AND a.host = b.host",
              "SELECT count(*) FROM (SELECT host, time FROM cpu UNION "
              "SELECT host, time + INTERVAL '1 day' FROM cpu) AS u"):
        r = srv.sql(q)
        assert r.status == 500, (q, r.status, r.text[:300])
        assert "memory limit" in r.json()["error_message"], r.text
    # the server is still there, and a query within the limit runs
    assert srv.request("GET", "/api/v1/ping").status == 200
    assert one(srv, "SELECT count(*) FROM mem WHERE host = 'h1'") == str(CPU_POINTS // MEM_EVERY)
