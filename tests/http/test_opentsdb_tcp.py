"""OpenTSDB's telnet-style TCP listener (src/server/tsdb_tcp.h): `put` lines (LF or CRLF),
`version`, `help`, `exit`, error lines that keep the connection, long lines, many
connections, a batch with a bad point, its configuration, /metrics, shutdown, and the real
collectd (write_tsdb plugin) sending cpu and load every second."""

import calendar
import os
import shutil
import socket
import subprocess
import threading
import time

import pytest

from strata_http import csv_rows, free_port


def rows(text):
    """A CSV answer as lists of fields (no field here holds a comma)."""
    return [line.split(",") for line in csv_rows(text)]


def tcp_server(make_server, extra="", env=None):
    port = free_port()
    srv = make_server(config=f"[opentsdb]\ntcp_listen_port = {port}\n{extra}", env=env)
    srv.tsdb_port = port
    return srv


def connect(srv):
    s = socket.create_connection(("127.0.0.1", srv.tsdb_port), timeout=30)
    return s


def read_lines(s, n, timeout=30):
    """n answer lines (without their LF)."""
    s.settimeout(timeout)
    data = b""
    while data.count(b"\n") < n:
        chunk = s.recv(65536)
        assert chunk, f"connection closed after {data!r}"
        data += chunk
    lines = data.decode().split("\n")
    assert len(lines) == n + 1 and lines[-1] == "", f"more answers than expected: {data!r}"
    return lines[:n]


def wait_rows(srv, sql, want, timeout=30, db=None):
    """Polls sql until its CSV rows (header left out) equal want; the telnet protocol has no
    acknowledgement, so a test waits for the rows to appear."""
    deadline = time.monotonic() + timeout
    while True:
        r = srv.sql(sql, db=db)
        got = rows(r.text)[1:] if r.status == 200 else r.text
        if got == want or time.monotonic() > deadline:
            assert got == want, (sql, got)
            return
        time.sleep(0.05)


def test_put_lines_and_commands(make_server):
    srv = tcp_server(make_server)
    s = connect(srv)
    s.sendall(b"put sys.cpu.user 1700000000 1.5 host=web01 cpu=0\r\n"   # seconds, CRLF
              b"put sys.cpu.user 1700000001500 2 host=web01 cpu=0\n"    # milliseconds
              b"  put   sys.cpu.user\t1700000002 -3e1 host=web01  cpu=0\n"  # blanks
              b"\n\r\n"                                                  # empty lines
              b"version\n"
              b"help\n"
              b"put sys.cpu.user 1700000003 nope host=web01\n"
              b"put sys.cpu.user\n"
              b"put sys.cpu.user 1700000003 1 host\n"
              b"frobnicate now\n")
    ans = read_lines(s, 7)
    assert ans[0].startswith("net.opentsdb") and "Strata" in ans[1], ans
    assert ans[2] == "available commands: put version help exit", ans
    assert ans[3] == "put: illegal argument: invalid value 'nope'", ans
    assert ans[4] == "put: illegal argument: missing timestamp", ans
    assert ans[5] == "put: illegal argument: invalid tag 'host', expected key=value", ans
    assert ans[6] == "unknown command: frobnicate.  Try `help'.", ans
    # errors do not drop the connection
    s.sendall(b"put sys.cpu.user 1700000004 4 host=web01 cpu=0\n")
    wait_rows(srv, 'select time, host, cpu, value from "sys.cpu.user" order by time', [
        ["2023-11-14T22:13:20.000000000", "web01", "0", "1.5"],
        ["2023-11-14T22:13:21.500000000", "web01", "0", "2.0"],
        ["2023-11-14T22:13:22.000000000", "web01", "0", "-30.0"],
        ["2023-11-14T22:13:24.000000000", "web01", "0", "4.0"]])
    # exit: the server closes; what follows it on the line is not read
    s.sendall(b"exit\nput sys.cpu.user 1700000005 5 host=web01 cpu=0\n")
    s.settimeout(30)
    assert s.recv(100) == b""
    s.close()
    # a last line without its line end counts when the client closes
    s = connect(srv)
    s.sendall(b"put sys.cpu.user 1700000006 6 host=web02 cpu=0")
    s.shutdown(socket.SHUT_WR)
    assert s.recv(100) == b""
    s.close()
    wait_rows(srv, 'select count(*) from "sys.cpu.user" where host = \'web02\'', [["1"]])
    assert rows(srv.sql_ok('select count(*) from "sys.cpu.user"'))[1] == ["5"]


def test_long_line_is_answered_and_skipped(make_server):
    srv = tcp_server(make_server)
    s = connect(srv)
    long_tag = "v" * 70000
    s.sendall(f"put long 1700000000 1 t={long_tag}\nput long 1700000001 2 t=short\n".encode())
    assert read_lines(s, 1) == ["put: illegal argument: line longer than 65536 bytes"]
    wait_rows(srv, "select t, value from long", [["short", "2.0"]])
    # the connection is still usable
    s.sendall(b"version\n")
    assert len(read_lines(s, 2)) == 2


def test_long_line_in_pieces_is_answered_once(make_server):
    # the long line reaches the server in pieces (the first past the limit without its end),
    # or whole in one read (the test above may see either): one answer, the line skipped
    srv = tcp_server(make_server)
    s = connect(srv)
    data = f"put long 1700000000 1 t={'v' * 70000}\n".encode()
    for i in range(0, len(data), 8192):
        s.sendall(data[i:i + 8192])
        time.sleep(0.01)
    s.sendall(b"put long 1700000001 2 t=short\nversion\n")
    got = read_lines(s, 3)
    assert got[0] == "put: illegal argument: line longer than 65536 bytes"
    assert not any("longer than" in ln for ln in got[1:])
    wait_rows(srv, "select t, value from long", [["short", "2.0"]])


def test_many_connections_and_metrics(make_server):
    srv = tcp_server(make_server)
    n_conn, per = 40, 250

    def send(c):
        s = connect(srv)
        lines = "".join(f"put many {1700000000 + i} {i} conn=c{c}\n" for i in range(per))
        s.sendall(lines.encode())
        s.shutdown(socket.SHUT_WR)
        assert s.recv(100) == b""  # nothing answered: every line was good
        s.close()

    threads = [threading.Thread(target=send, args=(c,)) for c in range(n_conn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    wait_rows(srv, "select count(*), count(distinct conn), sum(value) from many",
              [[str(n_conn * per), str(n_conn), str(float(n_conn * sum(range(per))))]])
    text = srv.request("GET", "/metrics", auth=None).text

    def value(name):
        line = next(l for l in text.splitlines() if l.startswith(name + " "))
        return float(line.split()[1])

    assert value("strata_opentsdb_tcp_connections_total") == n_conn
    assert value("strata_opentsdb_tcp_lines_total") == n_conn * per
    assert value("strata_opentsdb_tcp_errors_total") == 0
    assert value("strata_written_points_total") == n_conn * per
    # connections are counted closed once the server has seen them go
    deadline = time.monotonic() + 10
    while value("strata_opentsdb_tcp_connections") != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
        text = srv.request("GET", "/metrics", auth=None).text
    assert value("strata_opentsdb_tcp_connections") == 0


def test_bad_point_in_a_batch_fails_alone(make_server):
    """A batch that storage refuses (here: `value` is a string column of that table) is written
    line by line, so the good lines of the same round are kept and only the bad one answered."""
    srv = tcp_server(make_server)
    srv.write_ok('conflict,h=a value="text" 1')
    s = connect(srv)
    s.sendall(b"put fine 1700000000 1 h=a\nput conflict 1700000000 2 h=a\n"
              b"put fine 1700000001 3 h=a\n")
    ans = read_lines(s, 1)
    assert ans[0].startswith("put: ") and "value" in ans[0], ans
    wait_rows(srv, "select value from fine order by time", [["1.0"], ["3.0"]])
    assert rows(srv.sql_ok("select count(*) from conflict"))[1] == ["1"]
    text = srv.request("GET", "/metrics", auth=None).text
    assert "strata_opentsdb_tcp_errors_total 1" in text.splitlines(), text


def test_database_host_and_environment(make_server):
    port = free_port()
    srv = make_server(env={"STRATA_OPENTSDB_TCP_LISTEN_PORT": str(port),
                           "STRATA_OPENTSDB_TCP_LISTEN_HOST": "127.0.0.1",
                           "STRATA_OPENTSDB_DATABASE": "tsdb"})
    srv.tsdb_port = port
    s = connect(srv)
    # the database does not exist yet: every point is answered with the error
    s.sendall(b"put m 1700000000 1 h=a\n")
    ans = read_lines(s, 1)
    assert ans[0].startswith("put: ") and "tsdb" in ans[0], ans
    srv.sql_ok("CREATE DATABASE tsdb")
    s.sendall(b"put m 1700000001 2 h=a\n")
    wait_rows(srv, "select value from m", [["2.0"]], db="tsdb")
    assert srv.sql("select value from m").status != 200  # not in public


def test_off_by_default_and_port_in_use(make_server):
    srv = make_server()
    assert "opentsdb" not in srv.log_since_start()
    # a port already taken stops the start, as the HTTP port does
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        srv2 = make_server(config=f"[opentsdb]\ntcp_listen_port = {port}\n", start=False)
        srv2.start(wait=False)
        assert srv2.wait_exit() == 1
        assert f"opentsdb: cannot listen on 127.0.0.1:{port}" in srv2.log_since_start()


def test_shutdown_with_open_connections(make_server):
    srv = tcp_server(make_server)
    socks = [connect(srv) for _ in range(5)]
    socks[0].sendall(b"put sd 1700000000 1 h=a\n")
    wait_rows(srv, "select value from sd", [["1.0"]])
    socks[1].sendall(b"put sd 1700000001 2 h=a")  # half a line
    assert srv.stop() == 0  # exits 0 with clients still connected
    for s in socks:
        s.settimeout(30)
        try:
            assert s.recv(100) == b""
        except ConnectionResetError:
            pass
        s.close()


COLLECTD = shutil.which("collectd") or ("/usr/sbin/collectd"
                                        if os.path.exists("/usr/sbin/collectd") else None)


@pytest.mark.skipif(COLLECTD is None, reason="collectd (Debian collectd-core) is not installed")
def test_collectd_write_tsdb(make_server, tmp_path):
    """The real collectd, its cpu and load plugins read every second, sending with write_tsdb;
    the points appear in Strata as tables named collectd's way (`load.load.shortterm`,
    `cpu.0.cpu.user`) with its `fqdn` tag and the HostTags given."""
    srv = tcp_server(make_server)
    conf = tmp_path / "collectd.conf"
    conf.write_text(f"""
Interval 1
BaseDir "{tmp_path}"
PIDFile "{tmp_path}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
AutoLoadPlugin false
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File STDOUT
</Plugin>
LoadPlugin load
LoadPlugin cpu
LoadPlugin write_tsdb
<Plugin write_tsdb>
  <Node "strata">
    Host "127.0.0.1"
    Port "{srv.tsdb_port}"
    HostTags "source=collectd"
  </Node>
</Plugin>
""")
    log = open(tmp_path / "collectd.log", "wb")
    proc = subprocess.Popen([COLLECTD, "-f", "-C", str(conf)], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 60
        n = 0
        while time.monotonic() < deadline:
            r = srv.sql('select count(*) from "load.load.shortterm"')
            if r.status == 200:
                n = int(rows(r.text)[1][0])
                if n >= 3:
                    break
            time.sleep(0.2)
        assert n >= 3, (n, open(tmp_path / "collectd.log").read())
        got = rows(srv.sql_ok(
            'select time, fqdn, source, value from "load.load.shortterm" order by time'))
        assert got[0] == ["time", "fqdn", "source", "value"], got
        host = socket.gethostname().split(".")[0]
        for t, fqdn, source, value in got[1:]:
            assert fqdn.split(".")[0] == host and source == "collectd", got
            assert float(value) >= 0
        # timestamps in seconds, read as seconds (not nanoseconds): close to now
        last = calendar.timegm(time.strptime(got[-1][0][:19], "%Y-%m-%dT%H:%M:%S"))
        assert abs(time.time() - last) < 120, got[-1]
        tables = csv_rows(srv.sql_ok("show tables"))
        assert any(t.startswith("cpu.") and t.endswith(".cpu.user") for t in tables), tables
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()
    text = srv.request("GET", "/metrics", auth=None).text
    assert "strata_opentsdb_tcp_errors_total 0" in text.splitlines(), text
