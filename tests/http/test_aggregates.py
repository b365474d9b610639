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
