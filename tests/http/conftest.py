"""pytest fixtures for the black-box HTTP tests (see strata_http.py for the helpers): a server per
test module, a factory for servers with their own configuration, and the server logs attached to
the report of a failing test."""

import os

import pytest

from strata_http import _CURRENT, _LIVE, _RECENT, STRATA_BIN, Strata, finish_servers


# -------------------------------------------------------------------- pytest plumbing


def pytest_runtest_logstart(nodeid, location):
    _CURRENT["nodeid"] = nodeid


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed:
        return
    seen = set()
    for srv in list(_LIVE):
        if srv.used_by != item.nodeid:
            continue
        seen.add(srv.name)
        rep.sections.append((f"server log {srv.name} (last lines)", srv.log_tail()))
    for nodeid, name, text in list(_RECENT):
        if nodeid == item.nodeid and name not in seen:
            rep.sections.append((f"server log {name} (last lines)", text))


@pytest.fixture(scope="session")
def strata_bin():
    if not os.path.exists(STRATA_BIN) or not os.access(STRATA_BIN, os.X_OK):
        pytest.fail(f"strata binary not found at {STRATA_BIN} (run `make build/strata`)")
    return STRATA_BIN


@pytest.fixture(scope="module")
def server(strata_bin):
    """A default server shared by the tests of one module."""
    srv = Strata()
    try:
        srv.start()
    except BaseException:
        srv.cleanup()
        raise
    yield srv
    problems = finish_servers([srv])
    assert not problems, "\n".join(problems)


@pytest.fixture
def make_server(strata_bin):
    """Factory for servers with their own config; all are stopped (SIGTERM, exit 0 asserted
    for those still running) and removed at the end of the test."""
    servers = []

    def make(args=(), env=None, config=None, start=True, data=None, **kw):
        srv = Strata(args=args, env=env, config=config, data=data, **kw)
        servers.append(srv)
        if start:
            srv.start()
        return srv

    yield make
    problems = finish_servers(servers)
    assert not problems, "\n".join(problems)


