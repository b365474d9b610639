"""Gap filling checked against a model (issue 11): random rows of three hosts, then random
time_window_gapfill queries (tumbling and sliding, slides wider and narrower than the width,
origins, inclusive and exclusive bounds), each answer compared row for row with the windows and
counts computed here from the rows themselves. The model is the rule CnosDB's slt cases show:
buckets start every slide from the origin, from the first window ending after the lower bound
to the last starting by the upper one, per host that has a row in some window."""

import csv
import io
import random

MS = 10**6
T0 = 1_700_000_000_000 * MS  # 2023-11-14T22:13:20Z, a whole second


def iso(ns):
    import datetime
    s, frac = divmod(ns, 10**9)
    d = datetime.datetime.fromtimestamp(s, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{d}.{frac:09d}"


def model(rows, width, slide, origin, lo, hi):
    """{(host, start): (count, sum)} of the gap-filled answer; rows in [lo, hi] only."""
    inrange = [(h, t, v) for h, t, v in rows if lo <= t <= hi]
    first = lo - width - origin
    first = first - first % slide + origin + slide  # the first window ending after lo
    starts = []
    s = first
    while s <= hi:
        starts.append(s)
        s += slide
    out = {}
    hosts = set()
    for h, t, v in inrange:
        k = (t - origin) // slide * slide + origin  # the latest window starting by t
        while k + width > t:
            hosts.add(h)
            c, sm = out.get((h, k), (0, 0))
            out[(h, k)] = (c + 1, sm + v)
            k -= slide
    answer = {}
    for h in sorted(hosts):
        for s in starts:
            answer[(h, s)] = out.get((h, s), (None, None))
    return answer


def test_sliding_and_tumbling_gapfill_match_the_model(server):
    rnd = random.Random(20261205)
    server.sql_ok("CREATE DATABASE gfm WITH TTL '100000d'")
    rows = []
    lines = []
    for host in ("a", "b", "c"):
        for _ in range(60):
            t = T0 + rnd.randrange(0, 600_000) * MS  # 10 minutes, millisecond steps
            v = rnd.randrange(1, 100)
            rows.append((host, t, v))
    # one value per (host, time): a repeated time overwrites, as the server keeps the last
    last = {}
    for h, t, v in rows:
        last[(h, t)] = v
    rows = [(h, t, v) for (h, t), v in last.items()]
    for h, t, v in rows:
        lines.append(f"m,host={h} v={v}i {t}")
    server.write_ok("\n".join(lines), db="gfm")
    for trial in range(40):
        slide = rnd.choice([7, 10, 30, 60, 90]) * 1000 * MS
        width = rnd.choice([slide, slide * 2, slide * 3, slide // 2, slide + 5000 * MS])
        origin = rnd.randrange(0, 100_000) * MS
        lo = T0 + rnd.randrange(-60_000, 400_000) * MS
        hi = lo + rnd.randrange(1, 300_000) * MS
        inclusive = rnd.random() < 0.5
        hi_q = hi if inclusive else hi + 1  # time < hi+1ns is time <= hi
        op = "<=" if inclusive else "<"
        q = (f"SELECT host, time_window_gapfill(time, INTERVAL '{width // MS} milliseconds', "
             f"INTERVAL '{slide // MS} milliseconds', TIMESTAMP '{iso(origin)}') AS w, "
             f"count(v) AS n, sum(v) AS s FROM m WHERE time >= {lo} AND time {op} {hi_q} "
             f"GROUP BY host, w")
        got = list(csv.reader(io.StringIO(server.sql_ok(q, db="gfm"))))[1:]
        want = model(rows, width, slide, origin % slide, lo, hi)
        want_rows = [[h, iso(s), "" if c is None else str(c), "" if sm is None else str(sm)]
                     for (h, s), (c, sm) in want.items()]
        got_rows = [[r[0], r[1], r[2], r[3]] for r in got]
        assert got_rows == want_rows, (trial, q)
