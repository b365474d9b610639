"""Storage engine, black box: what the column files, compactions, DELETE, DROP and retention do
as seen over HTTP and in the data directory.

Covered: rows survive COMPACT DATABASE and restarts; SIGKILL at random moments while small
memcaches flush and compact continuously loses no acknowledged row and duplicates none; TTL
expiry drops whole vnodes (and refuses writes older than the TTL); DELETE by tag and time range
over files and caches survives flush, compaction, SIGTERM and SIGKILL and does not hide later
writes; DROP TABLE and DROP DATABASE free their files; a data set many times a 1 MiB memcache
(dozens of flushes, several compactions) answers counts, sums and time ranges exactly.

Data directory layout relied on (docs/storage-format.md):
  <data>/storage/db-<id>/{wal/,index/series.log,TOMBSTONES,vnode-<tmin>_<tmax>_<shard>/}
  vnode directories hold MANIFEST (`<crc> <json>`) and f-<id>.col files.
"""

import csv
import glob
import http.client
import io
import json
import os
import random

import pytest
import threading
import time

T0 = 1_700_000_000_000_000_000  # 2023-11-14T22:13:20Z
SMALL_CACHE = '[storage]\nmax_memcache_size = "64KiB"\n'
MIB_CACHE = '[storage]\nmax_memcache_size = "1MiB"\n'


# ------------------------------------------------------------------ helpers


def rows_of(srv, sql, db=None):
    """A query's CSV rows (header left out), as lists of strings."""
    text = srv.sql_ok(sql, db=db)
    return list(csv.reader(io.StringIO(text)))[1:]


def one_row(srv, sql, db=None):
    r = rows_of(srv, sql, db=db)
    assert len(r) == 1, (sql, r)
    return r[0]


def db_dirs(srv):
    return set(glob.glob(os.path.join(srv.data, "storage", "db-*")))


def create_db(srv, name, options=""):
    """Creates a database and returns its storage directory."""
    before = db_dirs(srv)
    srv.sql_ok(f"CREATE DATABASE {name} {options}")
    new = wait_for(lambda: db_dirs(srv) - before, 5, "storage directory of " + name)
    assert len(new) == 1, new
    return new.pop()


def wait_for(fn, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.1)


def vnode_dirs(dbdir):
    return sorted(glob.glob(os.path.join(dbdir, "vnode-*")))


def col_files(path):
    return sorted(glob.glob(os.path.join(path, "**", "f-*.col"), recursive=True))


def manifest(vdir):
    """The vnode's MANIFEST as a dict, checking its checksum line shape."""
    with open(os.path.join(vdir, "MANIFEST")) as f:
        line = f.read()
    assert line[8] == " " and line.endswith("\n"), line
    return json.loads(line[9:])


def ts_csv(ns):
    secs, frac = divmod(ns, 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}"


# ------------------------------------------------------------------ restart after compaction


def test_compaction_and_restarts_keep_rows(make_server):
    srv = make_server()
    dbdir = create_db(srv, "stc")
    # four series, rows two years apart so they land in several vnodes, fields sometimes left out
    lines, want = [], []
    for k in range(600):
        host = "abcd"[k % 4]
        ts = T0 + k * 3 * 24 * 3600 * 10**9 // 2  # every 1.5 days: ~2.5 years
        fields = [f"i={k}i"]
        if k % 3:
            fields.append(f"f={k / 4}")
        if k % 5:
            fields.append(f's="v{k}"')
        lines.append(f"stc,host={host} {','.join(fields)} {ts}")
        want.append([ts_csv(ts), host, str(k), f"{k / 4}" if k % 3 else "",
                     f"v{k}" if k % 5 else ""])
    srv.write_ok("\n".join(lines[:300]), db="stc")
    srv.sql_ok("COMPACT DATABASE stc")
    srv.write_ok("\n".join(lines[300:]), db="stc")
    want.sort(key=lambda r: (r[1], r[0]))
    q = "select time, host, i, f, s from stc order by host, time"
    assert rows_of(srv, q, db="stc") == want
    srv.sql_ok("COMPACT DATABASE stc")
    assert rows_of(srv, q, db="stc") == want
    # every vnode now holds exactly one file, listed in its manifest
    vdirs = vnode_dirs(dbdir)
    assert len(vdirs) >= 3, vdirs
    for v in vdirs:
        m = manifest(v)
        assert len(m["files"]) == 1, (v, m)
        assert col_files(v) == [os.path.join(v, f"f-{m['files'][0][0]:016x}.col")]
    assert srv.stop() == 0
    srv.start()
    assert rows_of(srv, q, db="stc") == want
    srv.kill()
    srv.start()
    assert rows_of(srv, q, db="stc") == want
    assert one_row(srv, "select count(*), sum(i) from stc", db="stc") == \
        ["600", str(sum(range(600)))]


# ------------------------------------------------------------------ SIGKILL during flushes


def crash_lines(s0, n):
    return "\n".join(f"crash,t=t{s % 5} seq={s}i,v={s * 0.5} {T0 + s}" for s in range(s0, s0 + n))


def check_crash_rows(srv, acked, inflight):
    """Every acknowledged row once; the batch in flight at the kill wholly or not at all.
    Returns the batches now known to be present."""
    count, distinct, ssum, vsum = (int(float(x)) if i == 3 else int(x) for i, x in enumerate(
        one_row(srv, "select count(*), count(distinct time), sum(seq), sum(v) from crash",
                db="crashdb")))
    n = sum(b[1] for b in acked)
    s = sum(sum(range(s0, s0 + k)) for s0, k in acked)
    if inflight and count == n + inflight[1]:
        acked = acked + [inflight]
        n += inflight[1]
        s += sum(range(inflight[0], inflight[0] + inflight[1]))
    assert count == n, f"{count} rows, {n} acknowledged (in flight: {inflight})"
    assert distinct == count, "a row came back twice"
    assert ssum == s
    assert vsum == s // 2  # v = seq / 2 summed over integers (exact in a double)
    return acked


def test_sigkill_during_flush_and_compaction(make_server):
    srv = make_server(config=SMALL_CACHE)
    dbdir = create_db(srv, "crashdb")
    seed = random.randrange(1 << 30)
    print(f"seed {seed}")
    rnd = random.Random(seed)
    acked = []
    seq = [0]
    for it in range(6):
        stop = threading.Event()
        state = {"inflight": None, "error": None}

        def writer():
            while not stop.is_set():
                s0, n = seq[0], rnd.choice((200, 700, 1500))
                seq[0] += n
                state["inflight"] = (s0, n)
                try:
                    r = srv.write(crash_lines(s0, n), db="crashdb", timeout=10)
                except (OSError, http.client.HTTPException):
                    return  # killed
                if r.status != 200:
                    state["error"] = r
                    return
                acked.append((s0, n))
                state["inflight"] = None

        def compactor():
            while not stop.is_set():
                try:
                    srv.sql("COMPACT DATABASE crashdb", timeout=10)
                except (OSError, http.client.HTTPException):
                    return
                time.sleep(0.02)

        threads = [threading.Thread(target=writer, daemon=True)]
        if it % 2:
            threads.append(threading.Thread(target=compactor, daemon=True))
        for t in threads:
            t.start()
        time.sleep(rnd.uniform(0.3, 1.2))
        wait_for(lambda: acked, 10, "a first acknowledged write")
        srv.kill()
        stop.set()
        for t in threads:
            t.join(30)
        assert state["error"] is None, state["error"]
        srv.start()
        before = len(acked)
        acked = check_crash_rows(srv, acked, state["inflight"])
        print(f"kill {it}: {sum(b[1] for b in acked)} rows acknowledged, in flight "
              f"{state['inflight']} {'present' if len(acked) > before else 'absent'}")
    # flushes and compactions did happen all along
    made = sum(manifest(v)["next_file"] - 1 for v in vnode_dirs(dbdir))
    # (kills that cut a flush or compaction short show up as leftovers removed at the restart)
    print(f"{made} files made; {srv.log_text().count('removing leftover')} leftovers removed")
    assert made >= 20, f"only {made} files were ever made"
    assert srv.stop() == 0
    srv.start()
    check_crash_rows(srv, acked, None)


# ------------------------------------------------------------------ TTL


def test_ttl_expires_whole_vnodes(make_server):
    srv = make_server()
    dbdir = create_db(srv, "ttldb", "WITH TTL '1m' VNODE_DURATION '1m'")
    now = time.time_ns()
    # the old row must fall in another minute than the new one (and the new vnode must not
    # expire during the test)
    if now // 10**9 % 60 >= 53:
        time.sleep(61 - now // 10**9 % 60)
        now = time.time_ns()
    r = srv.write(f"m,t=a v=1 {now - 5 * 60 * 10**9}", db="ttldb")
    assert r.status == 422, r
    assert r.json()["error_code"] == "030034", r
    old, new = now - 55 * 10**9, now
    srv.write_ok(f"m,t=a v=1 {old}\nm,t=b v=2 {new}", db="ttldb")
    assert one_row(srv, "select count(*) from m", db="ttldb") == ["2"]
    assert len(vnode_dirs(dbdir)) == 2
    # the old vnode (its minute) is wholly older than now - 1m at most ~65 s from now
    t0 = time.monotonic()
    wait_for(lambda: one_row(srv, "select count(*) from m", db="ttldb") == ["1"], 80,
             "the old vnode to expire")
    took = time.monotonic() - t0
    print(f"expired after {took:.1f}s")
    assert took < 75
    assert rows_of(srv, "select t, v from m", db="ttldb") == [["b", "2.0"]]
    wait_for(lambda: len(vnode_dirs(dbdir)) == 1, 5, "the vnode directory to go")
    assert srv.stop() == 0
    srv.start()
    assert rows_of(srv, "select t, v from m", db="ttldb") == [["b", "2.0"]]


# ------------------------------------------------------------------ DELETE


class Model:
    """(host, k) -> v for table dl."""

    def __init__(self):
        self.rows = {}

    def lines(self, hosts, ks, base=0):
        out = []
        for h in hosts:
            for k in ks:
                v = base + k
                self.rows[(h, k)] = v
                region = "r2" if h == "c" else "r1"
                out.append(f"dl,host={h},region={region} v={v}i,w=\"s{v}\" {T0 + k * 10**9}")
        return "\n".join(out)

    def delete(self, pred):
        self.rows = {key: v for key, v in self.rows.items() if not pred(*key)}

    def expected(self):
        return [[h, ts_csv(T0 + k * 10**9), str(v), f"s{v}"]
                for (h, k), v in sorted(self.rows.items())]


def check_dl(srv, m, what):
    got = rows_of(srv, "select host, time, v, w from dl order by host, time", db="deldb")
    exp = m.expected()
    assert len(got) == len(exp), f"{what}: {len(got)} rows, expected {len(exp)}"
    assert got == exp, what
    per_host = rows_of(srv, "select host, count(*), sum(v) from dl group by host order by host",
                       db="deldb")
    hosts = sorted({h for h, _ in m.rows})
    assert per_host == [[h, str(sum(1 for (x, _) in m.rows if x == h)),
                         str(sum(v for (x, _), v in m.rows.items() if x == h))] for h in hosts]


def test_delete_by_tag_and_time(make_server):
    srv = make_server()
    create_db(srv, "deldb")
    m = Model()
    srv.write_ok(m.lines("abc", range(0, 500)), db="deldb")
    srv.sql_ok("COMPACT DATABASE deldb")  # these rows are in files
    srv.write_ok(m.lines("abc", range(500, 1000)), db="deldb")  # these in the caches
    # tag and time range, across files and cache
    srv.sql_ok(f"DELETE FROM dl WHERE host = 'a' AND time >= {T0 + 200 * 10**9} "
               f"AND time <= {T0 + 700 * 10**9}", db="deldb")
    m.delete(lambda h, k: h == "a" and 200 <= k <= 700)
    check_dl(srv, m, "after delete")
    # a field predicate is refused
    r = srv.sql("DELETE FROM dl WHERE v > 3", db="deldb")
    assert r.status == 422 and r.json()["error_code"] == "010005", r
    # rows written after the delete, inside its range, are not hidden
    srv.write_ok(m.lines("a", range(300, 310), base=10000), db="deldb")
    check_dl(srv, m, "rewritten")
    srv.sql_ok("COMPACT DATABASE deldb")
    check_dl(srv, m, "compacted")
    assert srv.stop() == 0
    srv.start()
    check_dl(srv, m, "restarted")
    # a tag (no time), then time only (every series)
    srv.sql_ok("DELETE FROM dl WHERE region = 'r2'", db="deldb")
    m.delete(lambda h, k: h == "c")
    srv.sql_ok(f"DELETE FROM dl WHERE time < {T0 + 50 * 10**9}", db="deldb")
    m.delete(lambda h, k: k < 50)
    check_dl(srv, m, "second deletes")
    srv.kill()
    srv.start()
    check_dl(srv, m, "killed")
    srv.write_ok(m.lines("c", range(0, 20), base=500), db="deldb")
    srv.sql_ok("COMPACT DATABASE deldb")
    check_dl(srv, m, "compacted again")
    srv.kill()
    srv.start()
    check_dl(srv, m, "killed again")


@pytest.mark.parametrize("seed", [5, 6, 7, 8])
def test_delete_with_small_cache(make_server, seed):
    """Deletes interleaved with continuous flushes and compactions (64 KiB caches).

    Regression: compaction used the tombstones of the start of a background round, so a DELETE
    that came while the round flushed a newer cache was not applied to an output file whose
    data LSN then hid the rows from the tombstone (deleted rows came back, ~1 run in 3). Several
    seeds make a return of that race very likely to show."""
    srv = make_server(config=SMALL_CACHE)
    create_db(srv, "deldb")
    m = Model()
    rnd = random.Random(seed)
    for step in range(12):
        srv.write_ok(m.lines("abc", range(step * 300, step * 300 + 400), base=step * 7), db="deldb")
        h = rnd.choice("abc")
        lo = rnd.randrange(0, step * 300 + 400)
        hi = lo + rnd.randrange(1, 300)
        srv.sql_ok(f"DELETE FROM dl WHERE host = '{h}' AND time >= {T0 + lo * 10**9} "
                   f"AND time <= {T0 + hi * 10**9}", db="deldb")
        m.delete(lambda hh, k, h=h, lo=lo, hi=hi: hh == h and lo <= k <= hi)
        if step % 4 == 3:
            srv.sql_ok("COMPACT DATABASE deldb")
    check_dl(srv, m, "loaded")
    srv.kill()
    srv.start()
    check_dl(srv, m, "killed")


# ------------------------------------------------------------------ DROP


def test_drop_table_and_database_free_files(make_server):
    srv = make_server()
    dbdir = create_db(srv, "dropdb")
    y2000, y2020 = 946_684_800 * 10**9, 1_577_836_800 * 10**9
    srv.write_ok("\n".join(f"t1,h=x v={k} {y2000 + k * 10**9}" for k in range(1000)), db="dropdb")
    srv.write_ok("\n".join(f"t2,h=y v={k} {y2020 + k * 10**9}" for k in range(1000)), db="dropdb")
    srv.sql_ok("COMPACT DATABASE dropdb")
    vdirs = sorted(vnode_dirs(dbdir), key=lambda p: int(os.path.basename(p)[6:].split("_")[0]))
    assert len(vdirs) == 2, vdirs
    v1, v2 = vdirs  # the year 2000 vnode, the year 2020 one
    assert col_files(v1) and col_files(v2)
    srv.sql_ok("DROP TABLE t1", db="dropdb")
    wait_for(lambda: not col_files(v1), 10, "t1's files to go")
    assert col_files(v2)
    assert one_row(srv, "select count(*), sum(v) from t2", db="dropdb") == ["1000", "499500.0"]
    r = srv.sql("select * from t1", db="dropdb")
    assert r.status == 422, r
    # a table dropped while its rows are only in the cache leaves no file behind either
    srv.write_ok("\n".join(f"t3,h=z v={k} {y2000 + k * 10**9}" for k in range(100)), db="dropdb")
    srv.sql_ok("DROP TABLE t3", db="dropdb")
    assert srv.stop() == 0
    srv.start()
    assert not col_files(v1)
    assert one_row(srv, "select count(*) from t2", db="dropdb") == ["1000"]
    # a table created again under a dropped name starts empty
    srv.write_ok(f"t1,h=x v=5 {y2000}", db="dropdb")
    assert rows_of(srv, "select h, v from t1", db="dropdb") == [["x", "5.0"]]
    srv.sql_ok("DROP DATABASE dropdb")
    wait_for(lambda: not os.path.exists(dbdir), 10, "the database directory to go")
    srv.kill()
    srv.start()
    assert not os.path.exists(dbdir)
    assert "dropdb" not in srv.sql_ok("show databases")


# ------------------------------------------------------------------ more data than the cache


def test_dataset_larger_than_memcache(make_server):
    srv = make_server(config=MIB_CACHE)
    dbdir = create_db(srv, "bigdb")
    n, hosts, batch = 1_000_000, 16, 10_000  # a request is ~0.6 MiB of cache
    step = 1_000_000  # 1 ms
    for b in range(0, n, batch):
        srv.write_ok("\n".join(f"big,host=h{k % hosts} i={k}i,f={k * 0.25},s=\"v{k % 1000}\" "
                                f"{T0 + k * step}" for k in range(b, b + batch)), db="bigdb")
    # a second pass over every 10th row replaces i (last write wins across files)
    for b in range(0, n, batch * 4):
        srv.write_ok("\n".join(f"big,host=h{k % hosts} i={3 * k}i {T0 + k * step}"
                                for k in range(b, min(n, b + batch * 4), 10)), db="bigdb")

    def i_of(k):
        return 3 * k if k % 10 == 0 else k

    total_i = sum(i_of(k) for k in range(n))
    lo, hi = 123_457, 876_543  # a time range cutting through files and chunks
    range_i = sum(i_of(k) for k in range(lo, hi + 1))
    range_min = min(i_of(k) for k in range(lo, hi + 1))

    def check(what):
        assert one_row(srv, "select count(*), sum(i), min(time), max(time) from big",
                       db="bigdb") == [str(n), str(total_i), ts_csv(T0),
                                       ts_csv(T0 + (n - 1) * step)], what
        assert one_row(srv, f"select count(*), sum(i), min(i) from big where time >= "
                            f"{T0 + lo * step} and time <= {T0 + hi * step}",
                       db="bigdb") == [str(hi - lo + 1), str(range_i), str(range_min)], what
        per_host = rows_of(srv, "select host, count(*), sum(i), sum(f) from big group by host "
                                "order by host", db="bigdb")
        exp = []
        for h in sorted(range(hosts), key=lambda x: f"h{x}"):
            ks = range(h, n, hosts)
            exp.append([f"h{h}", str(len(ks)), str(sum(i_of(k) for k in ks)),
                        repr(float(sum(k * 0.25 for k in ks)))])
        assert per_host == exp, what

    check("loaded")
    mans = [manifest(v) for v in vnode_dirs(dbdir)]
    made = sum(m["next_file"] - 1 for m in mans)
    live = sum(len(m["files"]) for m in mans)
    print(f"{made} files made, {live} live: levels {[f[1] for m in mans for f in m['files']]}")
    assert made >= 40, f"only {made} flushes/compactions"
    assert made - live >= 8, "hardly any file was compacted away"
    assert any(f[1] >= 1 for m in mans for f in m["files"]), "no file above level 0"
    assert srv.stop() == 0
    srv.start()
    check("restarted")
    srv.sql_ok("COMPACT DATABASE bigdb")
    check("compacted")
