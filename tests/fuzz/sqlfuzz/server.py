"""The server under test: a strata binary (normally the ASan/UBSan build) on a free port with a
temporary data directory, and the crash/hang/sanitizer oracle.

Every request goes through `Server.sql` / `Server.write`, which turn what the server did into
either a `Resp` (any answer below 500) or a `Fault` exception:
  - crash:     the process died (with or without a sanitizer report),
  - sanitizer: an ASan/UBSan/LSan report appeared in its output (UBSan is built with
               -fno-sanitize-recover, so this normally comes with a crash),
  - http500:   an answer of 500 or above,
  - hang:      no answer within the request timeout.
A Fault leaves the server stopped; `start()` brings up a fresh one (new data directory, so a
finding never depends on what earlier rounds left behind).
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import requests

SAN_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "runtime error:",
    "ERROR: UndefinedBehaviorSanitizer",
    "AddressSanitizer:DEADLYSIGNAL",
)


class Fault(Exception):
    """What the crash/hang/sanitizer oracle saw; `signature` identifies the bug for dedup."""

    def __init__(self, kind, detail, request, report=""):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail
        self.request = request
        self.report = report
        self.signature = fault_signature(kind, detail, report)


class Resp:
    def __init__(self, status, text):
        self.status = status
        self.text = text

    @property
    def ok(self):
        return self.status == 200

    def __repr__(self):
        return f"<{self.status} {self.text[:200]!r}>"


def fault_signature(kind, detail, report):
    """A sanitizer report is identified by its first line naming a Strata source location
    (file:line of the runtime error, or the first src/ frame of the stack); a 500 by its
    message with numbers and quoted text blanked out."""
    if report:
        m = re.search(r"(src/[\w/]+\.c):(\d+)(?::\d+)?: runtime error: ([^:\n0-9]+)", report)
        if m:
            # the function rather than the line: lines move with every edit
            fn = re.search(r"#0 0x[0-9a-f]+ in (\w+) ", report)
            where = fn.group(1) if fn else m.group(2)
            return f"ubsan {m.group(1)} {where}: {m.group(3).strip()}"
        kind_m = re.search(r"ERROR: \w+Sanitizer: ([\w-]+)", report)
        frame = re.search(r"#\d+ 0x[0-9a-f]+ in (\w+) [^\n]*?(src/[\w/]+\.c):(\d+)", report)
        what = kind_m.group(1) if kind_m else "report"
        if frame:
            return f"asan {what} in {frame.group(1)} {frame.group(2)}"
        return f"asan {what}"
    m = re.search(r'"error_message":"((?:[^"\\]|\\.)*)', detail)
    text = m.group(1) if m else detail
    text = re.sub(r"'[^']*'|\\\"(?:[^\\]|\\[^\"])*\\\"", "'…'", text)
    text = re.sub(r"\d+", "N", text)
    return f"{kind} {text[:160]}"


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, binary, timeout=30.0, start_timeout=60.0, keep=False, log=None,
                 config=None, expected_500=()):
        """config: TOML text for --config; expected_500: regular expressions of 5xx messages
        that are answers, not faults (the limits a tight config sets)."""
        self.binary = os.path.abspath(binary)
        self.config = config
        self.expected_500 = [re.compile(x) for x in expected_500]
        self.timeout = timeout
        self.start_timeout = start_timeout
        self.keep = keep
        self.log = log or (lambda msg: None)
        self.proc = None
        self.tmp = None
        self.port = None
        self.starts = 0
        self.session = requests.Session()
        self._log_pos = 0

    # ------------------------------------------------------------ lifecycle

    def start(self, fresh=True):
        """Starts the server; fresh: on a new, empty data directory."""
        if fresh or self.tmp is None:
            self.stop()
            self.tmp = tempfile.mkdtemp(prefix="strata-sqlfuzz-")
            self.log_path = os.path.join(self.tmp, "server.log")
        env = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
        # Leaks are checked once, at the final shutdown: a report then cannot be tied to a
        # query, and leak checking on every restart would only slow the loop down.
        env.setdefault("ASAN_OPTIONS", "detect_leaks=0:abort_on_error=0:halt_on_error=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")
        for _ in range(3):
            self.port = free_port()
            cmd = [self.binary, "--data", os.path.join(self.tmp, "data"), "--port",
                   str(self.port), "--log-level", "warn"]
            if self.config:
                path = os.path.join(self.tmp, "strata.toml")
                with open(path, "w") as f:
                    f.write(self.config)
                cmd += ["--config", path]
            with open(self.log_path, "ab") as logf:
                self.proc = subprocess.Popen(cmd, stdout=logf, stderr=logf,
                                             stdin=subprocess.DEVNULL, env=env)
            if self._wait_ready():
                self.starts += 1
                self._log_pos = os.path.getsize(self.log_path)
                self.session = requests.Session()
                return
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        raise RuntimeError(f"server did not start:\n{self.log_tail()}")

    def _wait_ready(self):
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                r = requests.get(f"http://127.0.0.1:{self.port}/api/v1/ping", timeout=2)
                if r.status_code == 200:
                    return True
            except requests.RequestException:
                pass
            time.sleep(0.05)
        return False

    def restart(self, kill=False):
        """SIGTERM (or SIGKILL) and start again on the same data; a bad exit after SIGTERM
        is returned as a Fault."""
        if kill:
            self.kill()
            self._new_report()
        fault = self.stop(check_exit=not kill, remove=False)
        if fault:
            return fault
        self.start(fresh=False)
        return None

    def stop(self, check_exit=False, remove=True):
        """SIGTERM; with check_exit a non-zero exit or a (leak) report is returned as a Fault.
        remove: delete the data directory (unless the server was created with keep)."""
        fault = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            if check_exit:
                report = self._new_report()
                if report:
                    fault = Fault("sanitizer", "report at shutdown", "(shutdown)", report)
                elif self.proc.returncode != 0:
                    fault = Fault("crash", f"exit code {self.proc.returncode} at shutdown",
                                  "(shutdown)", self.log_tail())
        self.proc = None
        self.session.close()
        if remove:
            if self.tmp and not self.keep:
                shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None
        return fault

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, n=80):
        try:
            with open(self.log_path, "rb") as f:
                return "\n".join(f.read().decode("utf-8", "replace").splitlines()[-n:])
        except (OSError, AttributeError):
            return ""

    def _new_report(self):
        """Sanitizer text written since the last call ('' if none)."""
        try:
            size = os.path.getsize(self.log_path)
        except OSError:
            return ""
        if size == self._log_pos:
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_pos)
            text = f.read().decode("utf-8", "replace")
        self._log_pos = size
        if not any(m in text for m in SAN_MARKERS):
            return ""
        start = min(text.find(m) for m in SAN_MARKERS if m in text)
        # keep the line the report starts on (the file:line of a UBSan message)
        start = text.rfind("\n", 0, start) + 1
        return text[start:start + 6000]

    # ------------------------------------------------------------ requests

    def sql(self, query, db="public", accept=None, chunked=False):
        params = {"db": db}
        if chunked:
            params["chunked"] = "true"
        return self._post("/api/v1/sql", params, query,
                          {"Accept": accept} if accept else None)

    def write(self, lines, db, precision):
        return self._post("/api/v1/write", {"db": db, "precision": precision}, lines)

    def _post(self, path, params, body, headers=None):
        url = f"http://127.0.0.1:{self.port}{path}"
        try:
            r = self.session.post(url, params=params, data=body.encode("utf-8"),
                                  headers=headers, auth=("root", ""), timeout=self.timeout)
            resp = Resp(r.status_code, r.content.decode("utf-8", "replace"))
        except requests.Timeout:
            resp = None
            err = "timeout"
        except requests.RequestException as ex:
            resp = None
            err = f"{type(ex).__name__}"
        if resp is None:
            if err == "timeout" and self.alive():
                self.kill()
                raise Fault("hang", f"no answer within {self.timeout:g} s", body)
            # give a dying process the time to finish writing its report
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
            report = self._new_report()
            raise Fault("sanitizer" if report else "crash",
                        f"server died ({err}, exit {self.proc.returncode})", body,
                        report or self.log_tail(30))
        report = self._new_report()
        if report:
            self.kill()
            raise Fault("sanitizer", f"report after a {resp.status} answer", body, report)
        if resp.status >= 500 and not any(x.search(resp.text) for x in self.expected_500):
            raise Fault("http500", f"{resp.status} {resp.text[:300]}", body)
        return resp
