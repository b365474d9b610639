"""Helpers for the black-box HTTP tests: start the real `strata` binary on a free port with a
fresh data directory, talk to it over plain HTTP, and stop it (SIGTERM, exit code 0) at the end.

Only the standard library is used for HTTP (http.client / raw sockets), so every header the
server sees is the one the test chose: `requests` would add `Accept-Encoding: gzip, deflate` and
`Accept: */*`, and http.client alone would add `Accept-Encoding: identity`.

The binary is $STRATA_BIN, else build/strata of this repository. Every server's output goes to a
log file; when a test fails, the logs of the servers it used are attached to its report.
Set STRATA_KEEP=1 to keep the temporary directories of every server for inspection.
"""

import atexit
import base64
import collections
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
STRATA_BIN = os.environ.get("STRATA_BIN") or str(REPO / "build" / "strata")

ROOT_AUTH = "Basic " + base64.b64encode(b"root:").decode()

# Ready wait and stop wait are generous so that a sanitizer build also passes.
START_TIMEOUT = float(os.environ.get("STRATA_START_TIMEOUT", "30"))
STOP_TIMEOUT = float(os.environ.get("STRATA_STOP_TIMEOUT", "30"))


def basic(user, password=""):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def set_root_password(srv, password):
    """With passwords checked, root starts as root/root and must change it before anything
    else (CnosDB): does that."""
    r = srv.sql("select 1", auth=basic("root", "root"))
    assert r.status == 422 and "change password" in r.text, r
    r = srv.sql(f"alter user root set password = '{password}'", auth=basic("root", "root"))
    assert r.status == 200, r


def free_port():
    """A port that was free a moment ago (the server cannot be given port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Resp:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # http.client.HTTPMessage (case-insensitive get)
        self.body = body

    @property
    def text(self):
        # invalid UTF-8 shows up as \\xNN in a failing comparison instead of an exception
        return self.body.decode("utf-8", "backslashreplace")

    def json(self):
        return json.loads(self.body)

    def header(self, name):
        return self.headers.get(name)

    def __repr__(self):
        return f"<Resp {self.status} {dict(self.headers)!r} {self.body[:300]!r}>"


def _register(srv):
    _LIVE.add(srv)


@atexit.register
def _kill_leftovers():
    """An interrupted run (Ctrl-C, a crash of pytest) must not leave servers or data behind."""
    for srv in list(_LIVE):
        srv.cleanup()


_LIVE = set()
# (nodeid during which the server was cleaned up, name, log text)
_RECENT = collections.deque(maxlen=20)
_CURRENT = {"nodeid": None}


class Strata:
    """One server process over one data directory (kept across restarts)."""

    counter = 0

    def __init__(self, args=(), env=None, config=None, data=None, binary=None, port_flag=True,
                 data_flag=True, port=None):
        Strata.counter += 1
        self.name = f"strata#{Strata.counter}"
        self.tmp = tempfile.mkdtemp(prefix="strata-http-")
        self.data = data or os.path.join(self.tmp, "data")
        self.log_path = os.path.join(self.tmp, "server.log")
        self.args = list(args)
        self.env = dict(os.environ)
        # The test environment must not leak settings into the server.
        for k in list(self.env):
            if k.startswith("STRATA_") and k not in ("STRATA_BIN",):
                del self.env[k]
        self.env.update(env or {})
        self.config_path = None
        if config is not None:
            self.config_path = os.path.join(self.tmp, "strata.toml")
            with open(self.config_path, "w") as f:
                f.write(config)
        self.binary = binary or STRATA_BIN
        self.proc = None
        # Without port_flag/data_flag the port and data directory come from the config file or
        # the environment, and `port` must say where the server will listen.
        self.port_flag = port_flag
        self.data_flag = data_flag
        self.port = port
        self.exit_codes = []
        self.cleaned = False
        self.used_by = _CURRENT["nodeid"]  # the test that last talked to it
        _register(self)

    # ---------------------------------------------------------------- lifecycle

    def command(self, port):
        cmd = [self.binary]
        if self.config_path:
            cmd += ["--config", self.config_path]
        if self.data_flag:
            cmd += ["--data", self.data]
        if self.port_flag:
            cmd += ["--port", str(port)]
        return cmd + self.args

    def start(self, wait=True):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        last = None
        for _attempt in range(3 if self.port_flag else 1):
            if self.port_flag:
                self.port = free_port()
            with open(self.log_path, "ab") as log:
                log.write(f"==== start {' '.join(self.command(self.port))}\n".encode())
                log.flush()
                self._log_offset = log.tell()
                self.proc = subprocess.Popen(self.command(self.port), stdout=log, stderr=log,
                                             stdin=subprocess.DEVNULL, env=self.env)
            if not wait:
                return self
            try:
                self.wait_ready()
                return self
            except _BindFailed as ex:  # somebody took the port meanwhile: try another
                last = ex
        raise AssertionError(f"{self.name} could not start: {last}\n{self.log_tail()}")

    def log_since_start(self):
        with open(self.log_path, "rb") as f:
            f.seek(getattr(self, "_log_offset", 0))
            return f.read().decode("utf-8", "replace")

    def wait_ready(self, timeout=START_TIMEOUT):
        """Polls ping until 200. Anything but 200 or 503 (starting) on the way is a failure."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rc = self.proc.poll()
            if rc is not None:
                self.exit_codes.append(rc)
                text = self.log_since_start()
                if "cannot listen" in text or "Address already in use" in text:
                    raise _BindFailed(text)
                raise AssertionError(f"{self.name} exited with {rc} while starting:\n"
                                     f"{self.log_tail()}")
            try:
                r = self.request("GET", "/api/v1/ping", auth=None, timeout=2)
            except (OSError, http.client.HTTPException):
                time.sleep(0.02)
                continue
            if r.status == 200:
                return
            assert r.status == 503, f"ping while starting answered {r!r}"
            time.sleep(0.02)
        raise AssertionError(f"{self.name} not ready after {timeout}s:\n{self.log_tail()}")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM and wait; returns the exit code (None if it had to be killed)."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self.exit_codes.append(None)
                return None
        rc = self.proc.returncode
        self.exit_codes.append(rc)
        return rc

    def wait_exit(self, timeout=STOP_TIMEOUT):
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self.exit_codes.append(rc)
        return rc

    def kill(self):
        """SIGKILL: no chance to flush anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
            self.exit_codes.append(self.proc.returncode)

    def restart(self):
        self.start()
        return self

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, lines=150):
        return "\n".join(self.log_text().splitlines()[-lines:])

    def cleanup(self):
        """Kills if still running and removes the temporary directory (idempotent)."""
        if self.cleaned:
            return
        self.kill()
        _RECENT.append((_CURRENT["nodeid"], self.name, self.log_tail(300)))
        _LIVE.discard(self)
        self.cleaned = True
        if not os.environ.get("STRATA_KEEP"):
            shutil.rmtree(self.tmp, ignore_errors=True)

    # ---------------------------------------------------------------- HTTP

    def request(self, method, path, body=None, headers=None, auth=ROOT_AUTH, timeout=60):
        """One request on a fresh connection; exactly the headers given (plus Host and, with a
        body, Content-Length)."""
        self.used_by = _CURRENT["nodeid"]
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.putrequest(method, path, skip_accept_encoding=True)
            hdrs = dict(headers or {})
            if auth is not None and "Authorization" not in hdrs:
                hdrs["Authorization"] = auth
            if body is not None:
                if isinstance(body, str):
                    body = body.encode("utf-8")
                hdrs.setdefault("Content-Length", str(len(body)))
            for k, v in hdrs.items():
                if v is not None:
                    conn.putheader(k, v)
            conn.endheaders(body if body else None)
            r = conn.getresponse()
            data = r.read()
            return Resp(r.status, r.headers, data)
        finally:
            conn.close()

    def sql(self, q, db=None, accept=None, params=None, headers=None, auth=ROOT_AUTH, **kw):
        h = dict(headers or {})
        if accept is not None:
            h["Accept"] = accept
        p = dict(params or {})
        if db is not None:
            p["db"] = db
        return self.request("POST", self.url("/api/v1/sql", p), q, h, auth=auth, **kw)

    def sql_ok(self, q, db=None, accept=None, **kw):
        r = self.sql(q, db=db, accept=accept, **kw)
        assert r.status == 200, f"{q!r} -> {r!r}"
        return r.text

    def write(self, lines, db=None, precision=None, path="/api/v1/write", headers=None,
              auth=ROOT_AUTH, params=None, **kw):
        p = dict(params or {})
        if precision is not None:
            p["precision"] = precision
        if db is not None:
            p["db"] = db
        return self.request("POST", self.url(path, p), lines, headers, auth=auth, **kw)

    def write_ok(self, lines, db=None, precision=None, **kw):
        r = self.write(lines, db=db, precision=precision, **kw)
        assert r.status == 200, f"write -> {r!r}"
        assert r.body == b""
        return r

    @staticmethod
    def url(path, params):
        q = {k: v for k, v in params.items() if v is not None}
        return path + ("?" + urllib.parse.urlencode(q) if q else "")

    def raw_socket(self, timeout=30):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return s


class _BindFailed(Exception):
    pass


def finish_servers(servers):
    """Stops every server still running with SIGTERM; returns the failures."""
    problems = []
    for srv in servers:
        try:
            if srv.running():
                rc = srv.stop()
                if rc != 0:
                    problems.append(f"{srv.name}: exit code {rc} after SIGTERM\n{srv.log_tail()}")
        finally:
            srv.cleanup()
    return problems


def read_http_response(sock, timeout=30, on_headers=None):
    """Reads one HTTP/1.1 response from a raw socket (Content-Length, chunked, or to EOF).
    Returns (status, headers dict with lower-case names, body bytes, chunk sizes or None).
    on_headers(status, headers) is called once the head is read, before the body."""
    sock.settimeout(timeout)
    f = sock.makefile("rb")
    status_line = f.readline()
    if not status_line:
        raise ConnectionError("connection closed before a response")
    parts = status_line.decode("latin-1").split(" ", 2)
    status = int(parts[1])
    headers = {}
    while True:
        line = f.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        k, _, v = line.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if on_headers is not None:
        on_headers(status, headers)
    chunks = None
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        body = bytearray()
        while True:
            size_line = f.readline()
            size = int(size_line.split(b";")[0].strip(), 16)
            if size == 0:
                # trailers until blank line
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            data = f.read(size)
            body += data
            chunks.append(size)
            f.readline()
        body = bytes(body)
    elif "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    else:
        body = f.read()
    return status, headers, body, chunks


def csv_rows(text):
    """CSV body → list of lines (without the final newline). Asserts the final newline."""
    assert text.endswith("\n"), f"CSV must end with a newline: {text!r}"
    return text[:-1].split("\n")


class Threads:
    """Runs callables in threads and joins them (re-raising the first exception)."""

    def __init__(self):
        self.threads = []
        self.errors = []

    def start(self, fn, *args):
        def run():
            try:
                fn(*args)
            except BaseException as ex:  # noqa: B902 - reported by join
                self.errors.append(ex)

        t = threading.Thread(target=run, daemon=True)
        t.start()
        self.threads.append(t)
        return t

    def join(self, timeout=60):
        for t in self.threads:
            t.join(timeout)
        if self.errors:
            raise self.errors[0]
