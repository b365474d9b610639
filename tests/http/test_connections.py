"""Connections an attacker or a careless client holds open: idle sockets, heads and bodies sent a
byte at a time, more sockets than the server allows. Ping and a normal write must keep being
answered, and the held sockets must be closed once their deadline passes (issue 6, failure 6).

The deadlines are configured short (about a second) and the tests wait for their effect with a
generous bound, never on a measured duration."""

import select
import socket
import time

from strata_http import ROOT_AUTH, read_http_response

LONG_WAIT = 30  # upper bound for something that should happen within about a second


def open_sockets(srv, n, first=b""):
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
        if first:
            s.sendall(first)
        socks.append(s)
    return socks


def closed_by_server(s):
    """True if the server closed (or reset) the socket, False if it is still open."""
    r, _, _ = select.select([s], [], [], 0)
    if not r:
        return False
    try:
        return s.recv(1) == b""
    except OSError:
        return True


def wait_closed(socks, keep_alive=None, timeout=LONG_WAIT):
    """Waits until the server closed every socket; keep_alive(s) is called on the open ones
    every 0.2 s (to trickle bytes). Returns the sockets still open at the deadline."""
    deadline = time.monotonic() + timeout
    open_ = list(socks)
    while open_ and time.monotonic() < deadline:
        open_ = [s for s in open_ if not closed_by_server(s)]
        if keep_alive:
            for s in open_:
                try:
                    keep_alive(s)
                except OSError:
                    pass
        time.sleep(0.2)
    return open_


def answers(srv):
    """Ping and a one-line write both succeed."""
    assert srv.request("GET", "/api/v1/ping", auth=None, timeout=10).status == 200
    r = srv.write("conn_probe,t=a f=1 1", timeout=10)
    assert r.status == 200, r


def close_all(socks):
    for s in socks:
        s.close()


def test_idle_connections_past_the_limit_close_the_oldest(make_server):
    """300 idle sockets against a limit of 200: the oldest are closed to make room, so ping and
    writes still get in (before, idle sockets past the limit locked everyone out)."""
    srv = make_server(config="[service]\nhttp_max_connections = 200\n")
    socks = open_sockets(srv, 300)
    try:
        answers(srv)
        # the first ones opened were closed for the later ones; the newest stay open
        assert wait_closed(socks[:90]) == []
        assert not any(closed_by_server(s) for s in socks[-50:])
        # a socket kept open still works
        s = socks[-1]
        s.sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
        status, _, body, _ = read_http_response(s, timeout=10)
        assert status == 200 and b"healthy" in body
    finally:
        close_all(socks)


def test_idle_connections_closed_after_idle_timeout(make_server):
    srv = make_server(config='[service]\nhttp_idle_timeout = "1s"\n')
    socks = open_sockets(srv, 100)
    try:
        answers(srv)
        assert wait_closed(socks) == []
    finally:
        close_all(socks)


def test_kept_alive_connection_closed_after_idle_timeout(make_server):
    """After a response, a kept-alive connection waits idle_timeout for its next request."""
    srv = make_server(config='[service]\nhttp_idle_timeout = "1s"\n')
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        for _ in range(3):  # keep-alive works while requests keep coming
            s.sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
            status, _, _, _ = read_http_response(s, timeout=10)
            assert status == 200
        assert wait_closed([s]) == []
    finally:
        s.close()


def test_slowloris_heads_do_not_take_request_slots(make_server):
    """170 heads trickled a byte at a time with max_server_connections = 100: they are not
    requests yet, so writes are not refused with 429; each is closed header_timeout after its
    request line however often it sends a byte."""
    srv = make_server(config='[query]\nmax_server_connections = 100\n'
                             '[service]\nhttp_header_timeout = "1s"\n')
    head = (f"POST /api/v1/write HTTP/1.1\r\nHost: 127.0.0.1:{srv.port}\r\n"
            f"Authorization: {ROOT_AUTH}\r\nContent-Length: 10\r\n").encode()
    socks = open_sockets(srv, 170, first=head)
    try:
        for _ in range(3):
            answers(srv)
        assert wait_closed(socks, keep_alive=lambda s: s.sendall(b"X")) == []
        answers(srv)
    finally:
        close_all(socks)


def test_slow_request_line_closed_after_idle_timeout(make_server):
    """A request line trickled a byte at a time never completes: the idle deadline closes it."""
    srv = make_server(config='[service]\nhttp_idle_timeout = "1s"\n')
    socks = open_sockets(srv, 20, first=b"GET /api/v1/")
    try:
        answers(srv)
        assert wait_closed(socks, keep_alive=lambda s: s.sendall(b"p")) == []
    finally:
        close_all(socks)


def test_silent_body_closed_after_body_timeout(make_server):
    """Headers complete, then part of the body, then silence: closed after body_timeout, and
    its request slot is given back (max_server_connections = 1)."""
    srv = make_server(config='[query]\nmax_server_connections = 1\n'
                             '[service]\nhttp_body_timeout = "1s"\n')
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    try:
        s.sendall((f"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nAuthorization: {ROOT_AUTH}\r\n"
                   "Content-Length: 100\r\n\r\nconn_body f=1").encode())
        assert wait_closed([s]) == []
        deadline = time.monotonic() + LONG_WAIT
        while srv.write("conn_after f=1 1").status == 429 and time.monotonic() < deadline:
            time.sleep(0.1)
        answers(srv)
        assert srv.sql_ok("select count(*) from conn_probe") == "COUNT(*)\n1\n"
    finally:
        s.close()


def test_body_sent_slowly_but_steadily_is_accepted(make_server):
    """body_timeout is silence, not total time: a body arriving a piece at a time, each piece
    well within the timeout, is written."""
    srv = make_server(config='[service]\nhttp_body_timeout = "2s"\nhttp_idle_timeout = "2s"\n')
    lines = b"".join(b"conn_slow,t=t%d f=%d %d\n" % (i, i, i + 1) for i in range(6))
    s = socket.create_connection(("127.0.0.1", srv.port), timeout=30)
    try:
        s.sendall((f"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nAuthorization: {ROOT_AUTH}\r\n"
                   f"Content-Length: {len(lines)}\r\n\r\n").encode())
        # six pieces, 0.5 s apart: 3 s in all, longer than either timeout
        for i in range(0, len(lines), len(lines) // 6):
            s.sendall(lines[i:i + len(lines) // 6])
            time.sleep(0.5)
        status, _, body, _ = read_http_response(s, timeout=30)
        assert status == 200, body
    finally:
        s.close()
    assert srv.sql_ok("select count(*) from conn_slow") == "COUNT(*)\n6\n"


def test_all_connections_busy_refuses_new_ones_cleanly(make_server):
    """When every allowed connection carries a request, a new one is closed at once (no
    reset for those already in), and service resumes when they finish."""
    srv = make_server(config="[service]\nhttp_max_connections = 4\n")
    body = b"conn_busy f=1 1\n"
    head = (f"POST /api/v1/write HTTP/1.1\r\nHost: x\r\nAuthorization: {ROOT_AUTH}\r\n"
            f"Content-Length: {len(body) + 1}\r\n\r\n").encode()
    socks = open_sockets(srv, 4, first=head + body)
    try:
        deadline = time.monotonic() + LONG_WAIT
        while True:
            assert time.monotonic() < deadline, "the four requests never all got in"
            time.sleep(0.2)  # let the server read the heads
            # a request closed to make room while its head was still unread: send it again
            for i, s in enumerate(socks):
                if closed_by_server(s):
                    s.close()
                    socks[i] = open_sockets(srv, 1, first=head + body)[0]
            extra = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
            extra.sendall(b"GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = extra.recv(100)
            except OSError:
                data = b""
            extra.close()
            if data == b"" and not any(closed_by_server(s) for s in socks):
                break
        for s in socks:
            s.sendall(b"\n")
        for s in socks:
            status, _, resp, _ = read_http_response(s, timeout=10)
            assert status == 200, resp
    finally:
        close_all(socks)
    answers(srv)
    assert srv.sql_ok("select count(*) from conn_busy") == "COUNT(*)\n1\n"
