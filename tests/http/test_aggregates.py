"""Aggregate functions (issue 8, item 2): tests/sql/aggregates.slt holds one expected answer per
query, and its 10000-row part is split across threads; the answers must be the same serial and
at every parallelism (partial states of mode, array_agg, the two-variable statistics and the
sketches merge back to the serial result)."""

import os
import subprocess
import sys

from strata_http import STRATA_BIN

HERE = os.path.dirname(os.path.abspath(__file__))
SLT = os.path.join(HERE, "..", "sql")


def test_aggregates_slt_at_every_parallelism():
    for n in (1, 3, 8):
        env = dict(os.environ, STRATA_QUERY_PARALLELISM=str(n))
        r = subprocess.run([sys.executable, os.path.join(SLT, "run_slt.py"), "--binary", STRATA_BIN,
                            os.path.join(SLT, "aggregates.slt")],
                           env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, f"parallelism {n}:\n{r.stdout}\n{r.stderr}"


def test_value_keeping_aggregates_over_memory_limit(make_server):
    """mode, array_agg, the percentiles and increase keep their input: past the query's memory
    limit each fails with the limit's error (not a crash, not unbounded growth), serial and on
    several threads, and the server answers the next query."""
    for n in (1, 4):
        srv = make_server(config=f'[query]\nparallelism = {n}\nquery_memory_limit = "16MiB"\n')
        lines = "\n".join(f"big,h=h{i % 16} v={i}i,s=\"{'x' * 40}{i}\" {i}" for i in range(150000))
        srv.write_ok(lines)
        for q in ("SELECT mode(s) FROM big", "SELECT array_agg(s) FROM big",
                  "SELECT h, array_agg(s ORDER BY time) FROM big GROUP BY h",
                  "SELECT mode(v), mode(s) FROM big GROUP BY h"):
            r = srv.sql(q)
            assert r.status == 500, (n, q, r)
            msg = r.json()["error_message"]
            assert msg.startswith("Resources exhausted") and "query_memory_limit" in msg, (q, msg)
        # bounded sketches fit where the values do not
        assert srv.sql_ok("SELECT approx_distinct(s) > 140000, approx_median(v) > 70000 FROM big") \
            == "APPROX_DISTINCT(big.s) > Int64(140000),APPROX_MEDIAN(big.v) > Int64(70000)\ntrue,true\n"
        assert srv.sql_ok("SELECT count(*) FROM big") == "COUNT(*)\n150000\n"
