#!/usr/bin/env python3
"""Runs sqllogictest-style files against a real strata server over HTTP.

Each file gets a fresh server (free port, temporary data directory). Records:

    statement ok                 the statement must succeed
    statement error <regex>      it must fail and the error message must match the regex
    query <types> [rowsort]      a query; after `----` the expected rows, cells separated by
                                 single spaces; NULL for a null, (empty) for an empty string;
                                 a multi-line last cell (a plan) gives a line of the other
                                 cells, then one per line of it, leading spaces as '-'
    restart                      stop the server (SIGTERM) and start it again on the same data
    kill                         kill -9 the server and start it again on the same data
    -- #DATABASE = db            run following records in database db
    -- #LP_BEGIN ... -- #LP_END  a line-protocol body posted to /api/v1/write
    -- #PRECISION = ms           precision of following line-protocol writes

In SQL, ${DATA} is the absolute path of the data/ folder beside the .slt files and ${OUT} a
fresh writable folder of the server's; the server may read and write external files only
under those two (STRATA_COPY_ALLOWED_DIRS), so paths anywhere else are refused.

Records are separated by blank lines; `#` lines outside records are comments.
Usage: run_slt.py --binary build/strata FILE_OR_DIR...
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, binary, data_dir):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="strata-slt-")
        self.data_dir = data_dir
        self.out_dir = os.path.join(self.dir, "out")
        os.makedirs(self.out_dir)
        self.proc = None
        self.port = None

    def start(self):
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        env = dict(os.environ)
        env["STRATA_COPY_ALLOWED_DIRS"] = self.data_dir + ":" + self.out_dir
        self.proc = subprocess.Popen(
            [self.binary, "--data", os.path.join(self.dir, "data"), "--port", str(self.port)],
            stdout=self.log, stderr=self.log, env=env)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited at start; log in " + self.dir)
            try:
                with urllib.request.urlopen(self.url("/api/v1/ping"), timeout=1) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, OSError):
                pass
            time.sleep(0.05)
        raise RuntimeError("server did not become ready")

    def stop(self, kill=False):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            rc = self.proc.wait(timeout=30)
            if not kill and rc != 0:
                raise RuntimeError("server exited with %d on SIGTERM" % rc)
        self.proc = None
        self.log.close()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.port, path)

    def post(self, path, body, headers=None):
        req = urllib.request.Request(self.url(path), data=body.encode(), method="POST")
        req.add_header("Authorization", "Basic cm9vdDo=")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def render(v):
    if v is None:
        return "NULL"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, float):
        return repr(v) if v != int(v) or abs(v) >= 1e16 else "%.1f" % v
    if isinstance(v, list):  # a list as Arrow displays it: [1, NULL, a b]
        return "[" + ", ".join("" if x == "" else render(x) for x in v) + "]"
    if isinstance(v, dict):  # a struct as Arrow displays it: {start: 2023-01-01T00:00:00, ...}
        return "{" + ", ".join("%s: %s" % (k, "" if x == "" else render(x)) for k, x in v.items()) + "}"
    if v == "":
        return "(empty)"
    return str(v)


def expand_row(cells):
    """A multi-line last cell (an EXPLAIN plan) becomes one line per non-empty line, its
    leading spaces written as '-', after a line of the other cells, as CnosDB's runner does."""
    if not cells or "\n" not in cells[-1]:
        return [" ".join(cells)]
    out = [" ".join(cells[:-1])]
    for l in cells[-1].split("\n"):
        if l:
            body = l.lstrip(" ")
            out.append("-" * (len(l) - len(body)) + body)
    return out


class Failure(Exception):
    pass


def parse_records(text):
    """Yields (line_no, kind, header, body_lines, expected_lines)."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        s = line.strip()
        if not s or s.startswith("#"):
            i += 1
            continue
        if s.startswith("-- #LP_BEGIN"):
            start = i + 1
            j = start
            while j < len(lines) and not lines[j].strip().startswith("-- #LP_END"):
                j += 1
            yield (i + 1, "lp", s, lines[start:j], [])
            i = j + 1
            continue
        if s.startswith("-- #"):
            yield (i + 1, "directive", s[4:], [], [])
            i += 1
            continue
        if s.startswith("--"):
            i += 1
            continue
        start_line = i + 1
        header = s
        i += 1
        body, expected = [], []
        in_expected = False
        while i < len(lines) and lines[i].strip() != "":
            if lines[i].strip() == "----":
                in_expected = True
            elif in_expected:
                expected.append(lines[i].rstrip())
            else:
                body.append(lines[i])
            i += 1
        yield (start_line, "record", header, body, expected)


def run_file(path, binary, verbose):
    srv = Server(binary, os.path.join(os.path.dirname(os.path.abspath(path)), "data"))
    srv.start()
    db = "public"
    precision = "ns"
    failures = 0
    count = 0
    try:
        with open(path) as f:
            text = f.read()
        for line_no, kind, header, body, expected in parse_records(text):
            where = "%s:%d" % (path, line_no)
            try:
                if kind == "directive":
                    m = re.match(r"(\w+)\s*=\s*(.*)", header)
                    if m and m.group(1) == "DATABASE":
                        db = m.group(2).strip()
                    elif m and m.group(1) == "PRECISION":
                        precision = m.group(2).strip()
                    continue
                if kind == "lp":
                    status, resp = srv.post("/api/v1/write?db=%s&precision=%s" % (db, precision),
                                            "\n".join(body))
                    if status != 200:
                        raise Failure("line protocol write failed: %d %s" % (status, resp))
                    continue
                count += 1
                words = header.split()
                if words[0] in ("restart", "kill"):
                    srv.stop(kill=words[0] == "kill")
                    srv.start()
                    continue
                sql = "\n".join(body).replace("${DATA}", srv.data_dir).replace("${OUT}", srv.out_dir)
                status, resp = srv.post("/api/v1/sql?db=%s" % db, sql,
                                        {"Accept": "application/json"})
                if words[0] == "statement":
                    if words[1] == "ok":
                        if status != 200:
                            raise Failure("expected success, got %d %s\n  sql: %s" % (status, resp, sql))
                    elif words[1] == "error":
                        pattern = header.split(None, 2)[2] if len(words) > 2 else ""
                        if status == 200:
                            raise Failure("expected an error, got success\n  sql: %s" % sql)
                        msg = json.loads(resp).get("error_message", "")
                        if pattern and not re.search(pattern, msg):
                            raise Failure("error %r does not match %r\n  sql: %s" % (msg, pattern, sql))
                    else:
                        raise Failure("bad statement record: " + header)
                elif words[0] == "query":
                    if status != 200:
                        raise Failure("query failed: %d %s\n  sql: %s" % (status, resp, sql))
                    rows = json.loads(resp) if resp.strip() else []
                    # JSON leaves NULL columns out of each object: take the column names from
                    # the CSV header of the same query.
                    # A statement that changes rows (UPDATE ... answering `rows`) must run once:
                    # its one column is never NULL, so the JSON keys name it.
                    if sql.split(None, 1)[0].upper() in ("UPDATE", "INSERT", "DELETE", "COPY"):
                        header_line = list(rows[0].keys()) if rows else []
                    else:
                        st2, csv_text = srv.post("/api/v1/sql?db=%s" % db, sql, {"Accept": "text/csv"})
                        header_line = next(iter(__import__("csv").reader([csv_text.split("\n", 1)[0]])), [])
                    if len(header_line) != len(words[1]):
                        raise Failure("query returned %d columns, record says %d (%s)\n  sql: %s" % (
                            len(header_line), len(words[1]), words[1], sql))
                    lines = []
                    for r in rows:
                        lines.extend(expand_row([render(r.get(c)) for c in header_line]))
                    if "rowsort" in words[2:]:
                        lines.sort()
                        expected = sorted(expected)
                    if lines != expected:
                        raise Failure("result mismatch\n  sql: %s\n  expected:\n    %s\n  got:\n    %s" % (
                            sql, "\n    ".join(expected), "\n    ".join(lines)))
                else:
                    raise Failure("unknown record: " + header)
            except Failure as e:
                failures += 1
                print("FAIL %s: %s" % (where, e))
        srv.stop()
    finally:
        if srv.proc:
            srv.stop(kill=True)
        if failures == 0:
            srv.cleanup()
        else:
            print("  (server data and log kept in %s)" % srv.dir)
    if verbose or failures:
        print("%s: %d records, %d failed" % (path, count, failures))
    return count, failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", required=True)
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("paths", nargs="+")
    args = ap.parse_args()
    files = []
    for p in args.paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".slt"))
        else:
            files.append(p)
    total = failed = 0
    for f in files:
        c, n = run_file(f, os.path.abspath(args.binary), args.verbose)
        total += c
        failed += n
    print("sqllogictest: %d files, %d records, %d failed" % (len(files), total, failed))
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
