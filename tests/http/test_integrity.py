"""On-disk integrity and operational faults: a damaged WAL or series index is refused (naming
the file and offset) rather than silently cut, `--wal-salvage` keeps every intact record, a
byte flipped in any file never gives a wrong answer, one server per data directory, a server
whose data directory disappears stops acknowledging writes and says it is unhealthy, and a
shutdown that cannot make everything durable exits non-zero."""

import glob
import os
import re
import shutil
import signal
import time

from strata_http import csv_rows

BATCHES, PER = 20, 100


def rows(batch, prefix="t"):
    """One series per row: tag t=<prefix><batch>_<k>, field f=k, so every row says which
    series it belongs to."""
    return "\n".join(f"m,t={prefix}{batch}_{k} f={k}i {1000 + k}" for k in range(PER))


def fill(srv, prefix="t", batches=BATCHES):
    for b in range(batches):
        srv.write_ok(rows(b, prefix))


def check_consistent(srv):
    """Every row's tag agrees with its value (a series id given to another series would
    show rows under the wrong tags); returns the number of rows."""
    lines = csv_rows(srv.sql_ok("select t, f from m"))[1:]
    for line in lines:
        t, f = line.split(",")
        assert t.split("_")[1] == f, f"row {line!r} shows up under another series' tag"
    assert srv.sql_ok("select count(*) from m") == f"COUNT(*)\n{len(lines)}\n"
    return len(lines)


def db_files(srv, pattern):
    return sorted(glob.glob(os.path.join(srv.data, "storage", "db-*", pattern)))


def flip(path, pos, mask=0x40):
    with open(path, "r+b") as f:
        f.seek(pos)
        b = f.read(1)
        f.seek(pos)
        f.write(bytes([b[0] ^ mask]))


def start_refused(srv):
    """Starts the server, expects it to exit 1 while starting; returns its log."""
    srv.start(wait=False)
    rc = srv.wait_exit(timeout=30)
    assert rc == 1, f"expected exit 1, got {rc}:\n{srv.log_tail()}"
    return srv.log_since_start()


def the_wal(srv):
    files = [f for f in db_files(srv, "wal/wal-*.log") if os.path.getsize(f) > 0]
    assert len(files) == 1, files
    return files[0]


def test_wal_flip_refuses_then_salvage_keeps_the_rest(make_server):
    srv = make_server()
    fill(srv)
    srv.kill()  # everything is in the WAL only
    wal = the_wal(srv)
    size = os.path.getsize(wal)
    flip(wal, size // 3)
    log = start_refused(srv)
    m = re.search(r"wal: (\S+): checksum mismatch at offset (\d+) \(LSN (\d+) expected\), and an "
                  r"intact record \(LSN (\d+)\) follows", log)
    assert m, log
    assert m.group(1) == wal and int(m.group(2)) < size // 3 and m.group(4) > m.group(3)
    assert "--wal-salvage" in log
    assert os.path.getsize(wal) == size, "a refused start must not touch the log"

    # Salvage through the environment (wal.salvage): one batch of 100 rows is gone, the other
    # 19 batches are all there.
    srv.env["STRATA_WAL_SALVAGE"] = "true"
    srv.start()
    assert check_consistent(srv) == (BATCHES - 1) * PER
    log = srv.log_since_start()
    assert re.search(r"wal salvage: \S+: skipping \d+ damaged bytes at offsets \d+\.\.\d+", log)
    assert re.search(r"1 damaged segments repaired; 19 intact records kept", log), log
    assert glob.glob(wal + ".damaged-*"), "the damaged original is kept for inspection"
    # Writes go on, and the repair is for good: a normal start (no salvage) accepts the log.
    fill(srv, prefix="n", batches=3)
    srv.kill()
    del srv.env["STRATA_WAL_SALVAGE"]
    srv.start()
    assert check_consistent(srv) == (BATCHES + 2) * PER


def test_torn_wal_tail_still_cut(make_server):
    """The last record cut short or flipped is a torn write: cut, and the start goes on."""
    srv = make_server()
    fill(srv, batches=3)
    srv.kill()
    wal = the_wal(srv)
    flip(wal, os.path.getsize(wal) - 5)
    srv.start()
    assert check_consistent(srv) == 2 * PER
    assert "torn tail" in srv.log_since_start()


def test_series_log_flip_refuses_then_salvage(make_server):
    srv = make_server()
    fill(srv)
    assert srv.stop() == 0  # rows now in column files, which use series ids
    log_path = db_files(srv, "index/series.log")
    log_path = [p for p in log_path if os.path.getsize(p) > 0]
    assert len(log_path) == 1
    log_path = log_path[0]
    size = os.path.getsize(log_path)
    flip(log_path, size // 3)
    log = start_refused(srv)
    m = re.search(r"series index (\S+): damaged record at offset (\d+), and an intact record "
                  r"follows at offset (\d+)", log)
    assert m and m.group(1) == log_path, log
    assert os.path.getsize(log_path) == size

    srv.args = ["--wal-salvage"]
    srv.start()
    # One series (one row) lost, never a row under another series' tag.
    assert check_consistent(srv) == BATCHES * PER - 1
    # New series do not take the lost one's id.
    fill(srv, prefix="n", batches=2)
    assert check_consistent(srv) == (BATCHES + 2) * PER - 1
    srv.args = []
    assert srv.stop() == 0
    srv.start()
    assert check_consistent(srv) == (BATCHES + 2) * PER - 1


def test_series_log_last_record_flip(make_server):
    """Damage in the last record of series.log looks like a torn write, but column files use
    that series' id: refused (the id would go to the next new series), salvage retires it."""
    srv = make_server()
    fill(srv, batches=2)
    assert srv.stop() == 0
    log_path = [p for p in db_files(srv, "index/series.log") if os.path.getsize(p) > 0][0]
    flip(log_path, os.path.getsize(log_path) - 2)
    log = start_refused(srv)
    assert re.search(r"series index \S+ knows 199 series ids, but \S+\.col uses series id 199",
                     log), log
    srv.args = ["--wal-salvage"]
    srv.start()
    assert check_consistent(srv) == 2 * PER - 1
    fill(srv, prefix="n", batches=1)
    assert check_consistent(srv) == 3 * PER - 1
    srv.args = []
    assert srv.stop() == 0
    srv.start()
    assert check_consistent(srv) == 3 * PER - 1


def test_byte_flips_in_every_file_never_give_wrong_answers(make_server):
    """A byte flipped anywhere in any file: the server refuses to start naming the file, or
    answers exactly as before, or fails the query naming the file. Never another answer."""
    srv = make_server()
    fill(srv, batches=4)
    srv.sql_ok("delete from m where t = 't0_1'")
    assert srv.stop() == 0  # rows in column files
    fill_more = rows(9, "w")
    srv.start()
    srv.write_ok(fill_more)  # and some in the WAL
    srv.kill()
    srv.start()
    query = "select t, f from m order by t"
    want = srv.sql_ok(query)
    srv.kill()
    files = []
    for root, _dirs, names in os.walk(srv.data):
        for n in names:
            p = os.path.join(root, n)
            if n != "LOCK" and os.path.getsize(p) > 0:
                files.append(p)
    kinds = {os.path.basename(p).split("-")[0].split(".")[0] for p in files}
    assert {"catalog", "series", "wal", "MANIFEST", "TOMBSTONES", "f"} <= kinds, kinds
    saved = {p: open(p, "rb").read() for p in files}
    outcomes = {"refused": 0, "same": 0, "query error": 0}
    for p in files:
        size = len(saved[p])
        for pos in sorted({0, 3, size // 4, size // 2, 3 * size // 4, size - 2}):
            if pos < 0 or pos >= size:
                continue
            for q, data in saved.items():  # every file back as it was
                with open(q, "wb") as f:
                    f.write(data)
            for extra in glob.glob(os.path.join(srv.data, "**", "*.damaged-*"), recursive=True):
                os.unlink(extra)
            flip(p, pos)
            where = f"{os.path.relpath(p, srv.data)} byte {pos}"
            srv.start(wait=False)
            try:
                srv.wait_ready()
            except AssertionError:
                assert srv.wait_exit(timeout=30) == 1, where
                log = srv.log_since_start()
                assert os.path.basename(p) in log or os.path.dirname(p) in log, \
                    f"{where}: refused without naming the file:\n{log}"
                outcomes["refused"] += 1
                continue
            r = srv.sql(query)
            if r.status == 200:
                # The last record of a log may be cut as torn: only the newest WAL batch can
                # go that way, never anything older.
                if r.text != want:
                    got, exp = set(csv_rows(r.text)), set(csv_rows(want))
                    assert got <= exp and all(line.startswith("w9_") for line in exp - got), \
                        f"{where}: wrong answer"
                outcomes["same"] += 1
            else:
                assert r.status >= 500 and os.path.basename(p) in r.text, f"{where}: {r!r}"
                outcomes["query error"] += 1
            srv.kill()
    print(outcomes)


def test_catalog_last_line_flip_refused(make_server):
    """The catalog's last line is often a table: cutting it as torn would lose the table and
    let compaction drop its rows. A whole line (newline included) that fails its checksum is
    damage; only a line without its newline is a torn append."""
    srv = make_server()
    srv.sql_ok("create database db2")
    srv.write_ok("m2,t=a f=1 1", db="db2")
    assert srv.stop() == 0
    path = os.path.join(srv.data, "meta", "catalog.log")
    text = open(path, "rb").read()
    lines = text.split(b"\n")
    assert b'"name":"m2"' in lines[-2], lines[-2]
    flip(path, len(text) - 5)
    log = start_refused(srv)
    assert f"catalog: corrupt record at {path}:{len(lines) - 1}" in log, log
    with open(path, "wb") as f:  # a torn append: the line without its newline
        f.write(text + b"0123abcd {\"t\":\"seq\",\"ne")
    srv.start()
    assert srv.sql_ok("select f from m2", db="db2") == "f\n1.0\n"


def test_second_server_on_same_directory_exits(make_server):
    first = make_server()
    first.write_ok("m f=1 1")
    second = make_server(data=first.data, start=False)
    second.start(wait=False)
    assert second.wait_exit(timeout=30) == 1
    log = second.log_since_start()
    assert f"data directory {first.data} is in use by another process " \
           f"(pid {first.proc.pid})" in log, log
    # the first one is unharmed and keeps its data
    first.write_ok("m f=2 2")
    assert first.sql_ok("select count(*) from m") == "COUNT(*)\n2\n"
    assert first.stop() == 0
    # once it is gone the directory is free again (the lock dies with its process)
    first.start()
    first.kill()
    second.start()
    assert second.sql_ok("select count(*) from m") == "COUNT(*)\n2\n"
    assert second.stop() == 0  # before the first one's cleanup removes the directory


def test_lost_data_directory(make_server):
    srv = make_server()
    srv.write_ok("m f=1 1")
    shutil.rmtree(srv.data)
    w = srv.write("m f=2 2")
    assert w.status == 500, w
    body = w.json()
    assert body["error_code"] == "020000" and "removed" in body["error_message"], body
    p = srv.request("GET", "/api/v1/ping", auth=None)
    assert p.status == 503 and p.json()["status"] == "unhealthy", p
    for _ in range(3):  # stays so: nothing is acknowledged any more
        assert srv.write("m f=3 3").status == 500
        assert srv.sql("create database x").status == 500
    assert srv.stop() == 1, "shutdown cannot have made anything durable"
    assert "not everything could be made durable" in srv.log_since_start()


def test_replaced_data_directory(make_server):
    """Moved away and replaced by an empty one: same thing, found by the background thread
    without any write."""
    srv = make_server()
    srv.write_ok("m f=1 1")
    os.rename(srv.data, srv.data + ".old")
    os.mkdir(srv.data)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if "replaced by another directory" in srv.log_since_start():
            break
        time.sleep(0.05)
    assert "replaced by another directory" in srv.log_since_start()
    p = srv.request("GET", "/api/v1/ping", auth=None)
    assert p.status == 503 and p.json()["status"] == "unhealthy", p
    assert srv.write("m f=2 2").status == 500
    assert srv.stop() == 1


def test_shutdown_flush_failure_exits_nonzero(make_server):
    """The final flush cannot write its file: exit 1 and the reason in the log; the rows are
    still in the WAL and come back."""
    srv = make_server()
    fill(srv, batches=2)
    vnodes = db_files(srv, "vnode-*")
    assert vnodes
    for v in vnodes:  # a file where the vnode's directory was: the flush cannot create files
        shutil.rmtree(v)
        open(v, "w").close()
    srv.signal(signal.SIGTERM)
    assert srv.wait_exit() == 1
    log = srv.log_since_start()
    assert "flush at shutdown" in log and "not everything could be made durable" in log, log
    for v in vnodes:
        os.unlink(v)
    srv.start()
    assert check_consistent(srv) == 2 * PER


def test_wal_lost_with_files_kept_does_not_reuse_lsns(make_server):
    """A WAL that lost its segments (or its tail) while the column files stayed: new records
    must get LSNs past what the files hold, or replay would take them for flushed rows and skip
    them (acknowledged rows gone after the next crash)."""
    srv = make_server()
    fill(srv, batches=5)
    assert srv.stop() == 0  # flushed: MANIFEST records the LSN
    for d in db_files(srv, "wal"):
        shutil.rmtree(d)
    srv.start()
    assert "were used; continuing at LSN" in srv.log_since_start()
    fill(srv, prefix="n", batches=2)
    srv.kill()
    srv.start()
    assert check_consistent(srv) == 7 * PER
