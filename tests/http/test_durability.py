"""Durability: what the server acknowledged survives SIGTERM, SIGKILL (also in the middle of
many concurrent writers), repeated restarts, flushes of small memcaches and a torn WAL tail."""

import glob
import http.client
import os
import random
import threading
import time

from strata_http import ROOT_AUTH, Threads, csv_rows

ROWS_EXPECTED_HEADER = "time,t,f,i,s"


def make_rows(table, start, n, tag="a"):
    return [f'{table},t={tag} f={k / 8},i={k}i,s="v{k}" {1_700_000_000_000_000_000 + k}'
            for k in range(start, start + n)]


def expected_csv(start, n, tag="a"):
    out = [ROWS_EXPECTED_HEADER]
    for k in range(start, start + n):
        ns = 1_700_000_000_000_000_000 + k
        secs, frac = divmod(ns, 10**9)
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(secs)) + f".{frac:09d}"
        out.append(f"{ts},{tag},{k / 8},{k},v{k}")
    return "\n".join(out) + "\n"


def test_sigterm_restart_keeps_data(make_server):
    srv = make_server()
    for b in range(5):
        srv.write_ok("\n".join(make_rows("dura", b * 200, 200)))
    exp = expected_csv(0, 1000)
    assert srv.sql_ok("select * from dura order by time") == exp
    assert srv.stop() == 0
    srv.start()
    assert srv.sql_ok("select * from dura order by time") == exp
    # replay is idempotent: a second restart neither loses nor duplicates rows
    assert srv.stop() == 0
    srv.start()
    assert srv.sql_ok("select count(*) from dura") == "COUNT(*)\n1000\n"
    assert srv.sql_ok("select * from dura order by time") == exp
    # schema, databases and tables survive too
    assert srv.sql_ok("describe table dura").split("\n")[1] == \
        "time,TIMESTAMP(NANOSECOND),TIME,DEFAULT"


def test_sigkill_restart_keeps_acknowledged_data(make_server):
    srv = make_server()
    for b in range(5):
        srv.write_ok("\n".join(make_rows("durk", b * 200, 200)))
    srv.kill()
    srv.start()
    assert srv.sql_ok("select * from durk order by time") == expected_csv(0, 1000)
    # more writes after recovery, another crash
    srv.write_ok("\n".join(make_rows("durk", 1000, 500)))
    srv.kill()
    srv.start()
    assert srv.sql_ok("select * from durk order by time") == expected_csv(0, 1500)
    # DDL is durable as well
    srv.write_ok("durk2 f=1 1")
    assert srv.sql_ok("create database durdb with precision 'ms'") == ""
    srv.write_ok("durk3 f=1 1", db="durdb")
    srv.kill()
    srv.start()
    assert "durdb" in srv.sql_ok("show databases")
    assert srv.sql_ok("select * from durk3", db="durdb") == \
        "time,f\n1970-01-01T00:00:00.000000000,1.0\n"
    assert srv.sql_ok("select * from durk2") == "time,f\n1970-01-01T00:00:00.000000001,1.0\n"


def test_small_memcache_flushes_and_recovers(make_server):
    """With a tiny memcache the data lives in flushed files and the WAL at once."""
    srv = make_server(config='[storage]\nmax_memcache_size = "64KiB"\n')
    n, per = 20000, 1000
    for b in range(n // per):
        srv.write_ok("\n".join(make_rows("durf", b * per, per, tag=f"t{b % 3}")))
    total = f"COUNT(*)\n{n}\n"
    assert srv.sql_ok("select count(*) from durf") == total
    check = "select i, s from durf where i >= 9990 and i < 10010 order by i"
    spot = srv.sql_ok(check)
    assert spot == "i,s\n" + "".join(f"{k},v{k}\n" for k in range(9990, 10010))
    assert srv.stop() == 0
    srv.start()
    assert srv.sql_ok("select count(*) from durf") == total
    assert srv.sql_ok(check) == spot
    srv.write_ok("\n".join(make_rows("durf", n, per)))
    srv.kill()
    srv.start()
    assert srv.sql_ok("select count(*) from durf") == f"COUNT(*)\n{n + per}\n"
    assert srv.sql_ok("select sum(i) from durf").split("\n")[1] == str(sum(range(n + per)))


# ------------------------------------------------------------------ crash under concurrent load

WRITERS = 8
BATCH = 25


class Writer:
    """Posts batches of unique rows until it fails or time is up; remembers what was acked."""

    def __init__(self, port, rnd, wid, deadline):
        self.port, self.rnd, self.wid, self.deadline = port, rnd, wid, deadline
        self.acked = []  # sequence numbers of acknowledged rows
        self.sent = 0
        self.unexpected = []

    @staticmethod
    def value(rnd, wid, seq):
        return seq * 0.5 + wid

    def lines(self, seq0):
        return "\n".join(
            f"crash,r=r{self.rnd},w=w{self.wid} seq={s}i,v={self.value(self.rnd, self.wid, s)} "
            f"{1_600_000_000_000_000_000 + self.rnd * 10**12 + self.wid * 10**10 + s}"
            for s in range(seq0, seq0 + BATCH))

    def run(self):
        seq = 0
        while time.monotonic() < self.deadline:
            body = self.lines(seq).encode()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("POST", "/api/v1/write", body, {"Authorization": ROOT_AUTH})
                r = conn.getresponse()
                data = r.read()
                conn.close()
            except (OSError, http.client.HTTPException):
                return  # the server is gone
            if r.status == 200:
                self.acked.extend(range(seq, seq + BATCH))
            else:
                self.unexpected.append((r.status, data[:200]))
                return
            seq += BATCH
            self.sent += 1


def check_all_acked(srv, history):
    """history: {(round, writer): acked seqs}. Every acked row must be there, with its value,
    and no row may carry a wrong value."""
    text = srv.sql_ok("select r, w, seq, v from crash")
    present = {}
    for line in csv_rows(text)[1:]:
        r, w, seq, v = line.split(",")
        rnd, wid, seq = int(r[1:]), int(w[1:]), int(seq)
        assert float(v) == Writer.value(rnd, wid, seq), line
        present.setdefault((rnd, wid), set()).add(seq)
    for key, acked in history.items():
        missing = set(acked) - present.get(key, set())
        assert not missing, f"round {key[0]} writer {key[1]}: {len(missing)} acknowledged rows " \
                            f"lost, e.g. {sorted(missing)[:5]}"
    # count(*) agrees with the rows returned
    n = sum(len(s) for s in present.values())
    assert srv.sql_ok("select count(*) from crash") == f"COUNT(*)\n{n}\n"
    return present


def test_sigkill_under_concurrent_writers(make_server):
    srv = make_server()
    rng = random.Random(20240611)
    history = {}
    kill_windows = [(0.3, 0.8), (1.0, 1.8), (2.0, 2.7)]
    for rnd, (lo, hi) in enumerate(kill_windows):
        # the writers would stop by themselves after 3 s; the kill comes first
        deadline = time.monotonic() + 3.0
        writers = [Writer(srv.port, rnd, w, deadline) for w in range(WRITERS)]
        th = Threads()
        for w in writers:
            th.start(w.run)
        time.sleep(rng.uniform(lo, hi))
        # on a slow machine (sanitizers, load) wait for a first acknowledgement before killing
        while not any(w.acked for w in writers) and time.monotonic() < deadline - 0.1:
            time.sleep(0.01)
        srv.kill()
        th.join(timeout=30)
        for w in writers:
            assert not w.unexpected, f"writer {w.wid}: {w.unexpected}"
            history[(rnd, w.wid)] = list(w.acked)
        acked = sum(len(w.acked) for w in writers)
        assert acked > 0, "no write was acknowledged before the kill"
        print(f"round {rnd}: {acked} rows acknowledged by {sum(w.sent for w in writers)} requests")
        srv.start()
        check_all_acked(srv, history)
    # a final orderly restart keeps everything as well
    assert srv.stop() == 0
    srv.start()
    check_all_acked(srv, history)


def newest_wal_files(data_dir):
    out = []
    for wal_dir in glob.glob(os.path.join(data_dir, "storage", "db-*", "wal")):
        files = [f for f in glob.glob(os.path.join(wal_dir, "*")) if os.path.isfile(f)]
        if files:
            out.append(max(files, key=lambda f: (os.path.basename(f), os.path.getmtime(f))))
    return out


def test_torn_wal_tail(make_server):
    srv = make_server()
    rows = make_rows("torn", 0, 300)
    for b in range(3):
        srv.write_ok("\n".join(rows[b * 100:(b + 1) * 100]))
    srv.kill()
    files = newest_wal_files(srv.data)
    assert files, f"no WAL files under {srv.data}/storage/db-*/wal/"
    rng = random.Random(7)
    for f in files:
        with open(f, "ab") as fh:
            fh.write(bytes(rng.randrange(256) for _ in range(37)))
    srv.start()
    assert srv.sql_ok("select * from torn order by time") == expected_csv(0, 300)
    assert "public" in srv.sql_ok("show databases")
    # new writes after the cut are durable and readable (the garbage was cut, not appended to)
    srv.write_ok("\n".join(make_rows("torn", 300, 100)))
    srv.kill()
    for f in newest_wal_files(srv.data):  # a zero-filled tail, as after a crash on some FSes
        with open(f, "ab") as fh:
            fh.write(b"\0" * 4096)
    srv.start()
    assert srv.sql_ok("select * from torn order by time") == expected_csv(0, 400)
    srv.write_ok("\n".join(make_rows("torn", 400, 100)))
    assert srv.stop() == 0
    srv.start()
    assert srv.sql_ok("select * from torn order by time") == expected_csv(0, 500)


def test_torn_record_header(make_server):
    """A tail that looks like the start of a record (a plausible length and more) is cut too."""
    srv = make_server()
    srv.write_ok("\n".join(make_rows("tornh", 0, 50)))
    srv.kill()
    for f in newest_wal_files(srv.data):
        with open(f, "ab") as fh:
            fh.write((200).to_bytes(4, "little") + b"\x12\x34\x56\x78" + (99).to_bytes(8, "little")
                     + b"partial payload")
    srv.start()
    assert srv.sql_ok("select * from tornh order by time") == expected_csv(0, 50)
    srv.write_ok("\n".join(make_rows("tornh", 50, 50)))
    srv.kill()
    srv.start()
    assert srv.sql_ok("select * from tornh order by time") == expected_csv(0, 100)


def test_concurrent_writes_and_queries(make_server):
    """Writers and readers at once: every request succeeds, counts only grow, nothing is lost."""
    srv = make_server()
    stop = threading.Event()
    problems = []
    last = [0]

    def writer(w):
        k = 0
        while not stop.is_set() and k < 40:
            r = srv.write("\n".join(f"cons,w=w{w} f=1 {k * 100 + j + 1}" for j in range(100)))
            if r.status != 200:
                problems.append(r)
                return
            k += 1

    def reader():
        while not stop.is_set():
            r = srv.sql("select count(*) from cons")
            if r.status == 422:
                continue  # table not created yet
            if r.status != 200:
                problems.append(r)
                return
            n = int(csv_rows(r.text)[1])
            if n < last[0] or n > 16000:
                problems.append(f"count went from {last[0]} to {n}")
            last[0] = n

    th = Threads()
    for w in range(4):
        th.start(writer, w)
    th.start(reader)
    time.sleep(0.1)
    for t in th.threads[:4]:
        t.join(60)
    stop.set()
    th.join()
    assert not problems, problems[:3]
    assert srv.sql_ok("select count(*) from cons") == "COUNT(*)\n16000\n"


def test_503_while_replaying_wal(make_server):
    """Until its WAL is replayed the server answers 503 on every route (ping included), never
    anything else; then it serves everything that was acknowledged."""
    srv = make_server()
    n, per = 300_000, 50_000
    for b in range(n // per):
        srv.write_ok("\n".join(f"rep,t=t{k % 50} f={k} {k + 1}"
                                for k in range(b * per, (b + 1) * per)))
    srv.kill()
    srv.start(wait=False)
    seen = {"refused": 0, 503: 0}
    wrote = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert srv.running(), srv.log_tail()
        try:
            r = srv.sql("select count(*) from rep", timeout=10)
        except (OSError, http.client.HTTPException):
            seen["refused"] += 1
            time.sleep(0.001)
            continue
        if r.status == 200:
            break
        assert r.status == 503, r
        assert r.json()["error_code"] and r.header("Retry-After") is not None, r
        seen[503] += 1
        p = srv.request("GET", "/api/v1/ping", auth=None)
        assert p.status in (200, 503), p
        w = srv.write("rep f=1 1")  # 200 only if it became ready meanwhile
        assert w.status in (200, 503), w
        wrote = wrote or w.status == 200
    assert r.status == 200, r
    print(f"while starting: {seen}")
    assert csv_rows(r.text) == ["COUNT(*)", str(n + (1 if wrote else 0))]
