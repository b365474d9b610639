"""CORS (src/server/cors.h): allowed origins from the config file or the environment, their
answers' headers, preflights answered 204 (allowed) or 403 (not allowed), nothing at all when
CORS is off, and bad origin lists refused at start."""

import pytest

A = "https://a.example"
B = "http://b.example:3000"
CONFIG = f'[http]\ncors_allowed_origins = ["{A}", \'{B}\']\n'


def preflight(srv, origin, path="/api/v1/sql", method="POST", headers=None):
    h = {"Origin": origin, "Access-Control-Request-Method": method}
    h.update(headers or {})
    return srv.request("OPTIONS", path, headers=h, auth=None)


def cors_headers(r):
    return {k: v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


def test_off_by_default(server):
    r = server.sql("select 1", headers={"Origin": A})
    assert r.status == 200 and not cors_headers(r) and r.header("Vary") is None, r
    # OPTIONS is not a method of the API: 405, as before CORS existed
    r = preflight(server, A)
    assert r.status == 405 and not cors_headers(r), r


def test_allowed_origin_gets_its_headers(make_server):
    srv = make_server(config=CONFIG)
    assert f"http: CORS allowed for {A},{B}" in srv.log_since_start()
    for origin in (A, B):
        r = srv.sql("select 1", headers={"Origin": origin})
        assert r.status == 200, r
        assert r.header("Access-Control-Allow-Origin") == origin, r
        assert r.header("Access-Control-Allow-Credentials") == "true", r
        assert "X-Influxdb-Version" in r.header("Access-Control-Expose-Headers"), r
        assert r.header("Vary") == "Origin", r
    # errors and head-only answers carry them too (a page must be able to read the error)
    r = srv.sql("select nope from nowhere", headers={"Origin": A})
    assert r.status >= 400 and r.header("Access-Control-Allow-Origin") == A, r
    r = srv.request("GET", "/api/v1/ping", headers={"Origin": A}, auth=None)
    assert r.status == 200 and r.header("Access-Control-Allow-Origin") == A, r
    # the comparison is of the whole origin: another port, scheme or a suffix is another origin
    for other in ("https://a.example:8443", "http://a.example", "https://a.example.evil",
                  "null"):
        r = srv.sql("select 1", headers={"Origin": other})
        assert r.status == 200 and not cors_headers(r), (other, r)
        assert r.header("Vary") == "Origin", r
    # no Origin: not a cross-origin request, nothing added
    r = srv.sql("select 1")
    assert not cors_headers(r) and r.header("Vary") is None, r


def test_preflight(make_server):
    srv = make_server(config=CONFIG)
    r = preflight(srv, A, headers={"Access-Control-Request-Headers": "authorization, content-type"})
    assert r.status == 204 and r.body == b"", r
    assert r.header("Access-Control-Allow-Origin") == A, r
    assert r.header("Access-Control-Allow-Credentials") == "true", r
    assert set(r.header("Access-Control-Allow-Methods").split(", ")) >= {"GET", "POST", "OPTIONS"}
    assert r.header("Access-Control-Allow-Headers") == "authorization, content-type", r
    assert int(r.header("Access-Control-Max-Age")) > 0, r
    # a header list that is not plain header names is not echoed: the fixed list instead
    r = preflight(srv, A, headers={"Access-Control-Request-Headers": "x;y"})
    allowed = r.header("Access-Control-Allow-Headers")
    assert r.status == 204 and "Authorization" in allowed and "x;y" not in allowed, r
    # every route of the API, head-only ones included
    for path in ("/api/v1/write", "/write", "/api/v2/write", "/api/v1/ping", "/metrics",
                 "/api/put"):
        r = preflight(srv, B, path=path)
        assert r.status == 204 and r.header("Access-Control-Allow-Origin") == B, (path, r)
    # an unknown path stays unknown
    assert preflight(srv, A, path="/nope").status == 404
    # an origin not allowed: 403 naming it, no CORS headers, the connection still usable
    r = preflight(srv, "https://evil.example")
    assert r.status == 403 and "https://evil.example" in r.json()["error_message"], r
    assert not cors_headers(r), r
    # OPTIONS without an Origin is no preflight
    assert srv.request("OPTIONS", "/api/v1/sql", auth=None).status == 405


def test_preflight_keeps_the_connection(make_server):
    """A preflight answered from its head must not close a keep-alive connection: the browser
    sends the real request right after on the same one."""
    srv = make_server(config=CONFIG)
    s = srv.raw_socket()
    req = (f"OPTIONS /api/v1/sql HTTP/1.1\r\nHost: x\r\nOrigin: {A}\r\n"
           "Access-Control-Request-Method: POST\r\n\r\n"
           "POST /api/v1/sql HTTP/1.1\r\nHost: x\r\nAuthorization: Basic cm9vdDo=\r\n"
           f"Origin: {A}\r\nContent-Length: 8\r\n\r\nselect 1")
    s.sendall(req.encode())
    data = b""
    while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"1\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    assert data.startswith(b"HTTP/1.1 204"), data
    assert b"HTTP/1.1 200" in data and data.endswith(b"1\n"), data


def test_wildcard_and_environment(make_server):
    srv = make_server(env={"STRATA_HTTP_CORS_ALLOWED_ORIGINS": "*"})
    r = srv.sql("select 1", headers={"Origin": "https://any.example"})
    # with credentials allowed the origin is echoed, never `*`
    assert r.header("Access-Control-Allow-Origin") == "https://any.example", r
    # `*` does not cover "null" (sandboxed frames, file:// pages)
    r = srv.sql("select 1", headers={"Origin": "null"})
    assert r.header("Access-Control-Allow-Origin") is None, r
    srv2 = make_server(env={"STRATA_HTTP_CORS_ALLOWED_ORIGINS": f"{A},{B}"})
    assert preflight(srv2, B).status == 204
    assert preflight(srv2, "https://c.example").status == 403


@pytest.mark.parametrize("value", ['["a.example"]', '["https://a.example/path"]',
                                   '["https://a.example", 3]', '"https://a example"'])
def test_bad_origin_list_stops_the_start(make_server, value):
    srv = make_server(config=f"[http]\ncors_allowed_origins = {value}\n", start=False)
    srv.start(wait=False)
    assert srv.wait_exit() == 2
    assert "cors_allowed_origins" in srv.log_since_start(), srv.log_since_start()
