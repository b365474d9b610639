"""The command line and configuration: --help, --version, bad config files, and the layering
defaults < config file < STRATA_<SECTION>_<KEY> environment < flags."""

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest

from strata_http import STRATA_BIN, basic, free_port, set_root_password


@pytest.fixture
def tmp_path():
    """A temporary directory removed at the end of the test, failed or not."""
    with tempfile.TemporaryDirectory(prefix="strata-cli-") as d:
        yield Path(d)


def run(args, env=None, timeout=20):
    e = {k: v for k, v in os.environ.items() if not k.startswith("STRATA_")}
    e.update(env or {})
    return subprocess.run([STRATA_BIN] + args, capture_output=True, text=True, timeout=timeout,
                          env=e, stdin=subprocess.DEVNULL)


def test_help(strata_bin):
    for flag in ("--help", "-h"):
        p = run([flag])
        assert p.returncode == 0, p
        for word in ("Usage", "--data", "--port", "--config", "--auth", "--wal-sync", "--host",
                     "--version", "STRATA_"):
            assert word in p.stdout, (word, p.stdout)


def test_version(server):
    ping = server.request("GET", "/api/v1/ping", auth=None).json()["version"]
    for flag in ("--version", "-V"):
        p = run([flag])
        assert p.returncode == 0, p
        assert re.search(r"\d+\.\d+\.\d+", p.stdout), p.stdout
        assert ping in p.stdout, (ping, p.stdout)


@pytest.mark.parametrize("args", [["--bogus"], ["--port"], ["extra-arg"], ["--wal-sync", "maybe"],
                                  ["-l", "loud"], ["--port", "notaport"], ["--port", "70000"]])
def test_bad_flags(strata_bin, args):
    with tempfile.TemporaryDirectory() as d:
        p = run(args + ["--data", os.path.join(d, "data")])
        assert p.returncode != 0, p
        assert p.stderr.strip(), p
        assert not os.path.exists(os.path.join(d, "data", "meta")), "started despite a bad flag"


BAD_CONFIGS = [
    # (file text, line of the error)
    ('[service]\nhttp_listen_port = "abc"\n', 2),
    ("[query]\nauth_enabled = maybe\n", 2),
    ("# comment\n\n[query]\nmax_server_connections = 1.5\n", 4),
    ("[query\nauth_enabled = true\n", 1),
    ("[service]\nhttp_listen_port =\n", 2),
    ('[log]\nlevel = "loud"\n', 2),
    ("[query]\njust_a_key\n", 2),
    ('[storage]\npath = "unterminated\n', 2),
    ('[query]\nquery_sql_limit = "16 Mibbles"\n', 2),
    ('[query]\nwrite_sql_limit = -5\n', 2),
    ("[wal]\nsync = 1\n", 2),
]


@pytest.mark.parametrize("text,line", BAD_CONFIGS)
def test_bad_config_file(strata_bin, text, line):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "bad.toml")
        with open(path, "w") as f:
            f.write(text)
        p = run(["--config", path, "--data", os.path.join(d, "data"), "--port", str(free_port())])
        assert p.returncode != 0, p
        out = p.stderr + p.stdout
        assert path in out, out
        assert re.search(rf"(:{line}\b|line {line}\b)", out), out
        assert not os.path.exists(os.path.join(d, "data", "meta"))


def test_missing_config_file(strata_bin):
    p = run(["--config", "/nonexistent/strata.toml"])
    assert p.returncode != 0
    assert "/nonexistent/strata.toml" in p.stderr + p.stdout


def test_bad_environment_value(strata_bin):
    with tempfile.TemporaryDirectory() as d:
        p = run(["--data", os.path.join(d, "data"), "--port", str(free_port())],
                env={"STRATA_QUERY_AUTH_ENABLED": "perhaps"})
        assert p.returncode != 0
        assert "STRATA_QUERY_AUTH_ENABLED" in p.stderr or "auth_enabled" in p.stderr, p.stderr


CNOSDB_STYLE = """
# a CnosDB config.toml: keys Strata does not know are ignored with a warning
deployment_mode = "singleton"

[deployment]
mode = "singleton"
cpu = 4

[global]
node_id = 100
host = "localhost"
cluster_name = 'cluster_xxx'
store_metrics = true

[service]
http_listen_port = {port}
grpc_listen_port = 8903

[query]
max_server_connections = 10240
query_sql_limit = "16M"   # trailing comment
write_sql_limit = "160 MiB"
auth_enabled = false

[storage]
path = '{path}'
max_summary_size = "128M"

[wal]
sync = false

[cache]
max_buffer_size = "128M"
partition = 16

[log]
level = "info"

[trace]
auto_generate_span = false

[cluster]
meta_service_addr = ["127.0.0.1:8901", "127.0.0.1:8911"]
"""


def test_cnosdb_style_config_only(make_server, tmp_path):
    port = free_port()
    data = tmp_path / "from-config"
    srv = make_server(config=CNOSDB_STYLE.format(port=port, path=data), port_flag=False,
                      data_flag=False, port=port)
    srv.write_ok("cfg f=1 1")
    assert srv.sql_ok("select f from cfg") == "f\n1.0\n"
    assert (data / "meta").is_dir() or any(data.iterdir()), "data not under storage.path"
    assert srv.stop() == 0  # before tmp_path goes: a server that loses its directory exits 1


def test_layering(make_server, tmp_path):
    p_file, p_env, p_flag = free_port(), free_port(), free_port()
    d_file, d_env, d_flag = tmp_path / "file", tmp_path / "env", tmp_path / "flag"
    cfg = f"""
[service]
http_listen_port = {p_file}
[storage]
path = "{d_file}"
[query]
auth_enabled = true
"""
    # env overrides the file (port, path, auth)
    env = {"STRATA_SERVICE_HTTP_LISTEN_PORT": str(p_env), "STRATA_STORAGE_PATH": str(d_env),
           "STRATA_QUERY_AUTH_ENABLED": "false"}
    srv = make_server(config=cfg, env=env, port_flag=False, data_flag=False, port=p_env)
    srv.write_ok("layer f=1 1", auth=basic("root", "anything"))  # auth is off again
    assert srv.stop() == 0
    assert d_env.is_dir() and not d_file.exists()

    # flags override env and file
    srv2 = make_server(config=cfg, env=env, port_flag=False, data_flag=False, port=p_flag,
                       args=["--port", str(p_flag), "--data", str(d_flag), "--auth"])
    r = srv2.sql("select 1", auth=basic("root", "wrong"))
    assert r.status == 401, r  # --auth wins over STRATA_QUERY_AUTH_ENABLED=false
    set_root_password(srv2, "s3cret")
    assert srv2.sql("select 1", auth=basic("root", "s3cret")).status == 200
    # a different data directory
    assert srv2.sql("show tables", auth=basic("root", "s3cret")).text == "table_name\n"
    assert srv2.stop() == 0
    assert d_flag.is_dir() and not d_file.exists()

    # the file alone
    srv3 = make_server(config=cfg, port_flag=False, data_flag=False, port=p_file)
    r = srv3.sql("select 1", auth=basic("root", "wrong"))
    assert r.status == 401, r
    assert srv3.stop() == 0
    assert d_file.is_dir()


def test_env_turns_auth_on(make_server):
    srv = make_server(env={"STRATA_QUERY_AUTH_ENABLED": "true"})
    r = srv.sql("select 1", auth=basic("root", "xxx"))
    assert r.status == 401, r
    assert r.json() == {"error_code": "010016", "error_message":
                        "Auth error: Access denied for user 'root' (using xxx) username or "
                        "password invalid"}
    set_root_password(srv, "s3cret")
    assert srv.sql("select 1", auth=basic("root", "s3cret")).text == "Int64(1)\n1\n"


def test_env_limits_and_connections(make_server):
    srv = make_server(env={"STRATA_QUERY_QUERY_SQL_LIMIT": "1KiB",
                           "STRATA_QUERY_WRITE_SQL_LIMIT": "2KiB"})
    assert srv.sql("select 1" + " " * 2000).status == 413
    assert srv.sql("select 1" + " " * 900).status == 200
    assert srv.write("e f=1 1" + "\n" * 3000).status == 413
    assert srv.write("e f=1 1" + "\n" * 1000).status == 200


def test_wal_sync_false_and_log_level_flags(make_server):
    srv = make_server(args=["--wal-sync", "false", "-l", "debug"])
    srv.write_ok("ws f=1 1")
    assert srv.stop() == 0  # an orderly stop syncs everything
    srv.start()
    assert srv.sql_ok("select f from ws") == "f\n1.0\n"


def test_host_flag(make_server):
    srv = make_server(args=["--host", "127.0.0.1"])
    assert srv.sql_ok("select 1") == "Int64(1)\n1\n"
    with tempfile.TemporaryDirectory() as d:
        p = run(["--host", "not-an-address", "--data", os.path.join(d, "data"),
                 "--port", str(free_port())])
        assert p.returncode != 0 and p.stderr.strip()


def test_log_path_sends_the_log_to_a_file(make_server, tmp_path):
    logf = tmp_path / "strata.log"
    srv = make_server(env={"STRATA_LOG_PATH": str(logf)})
    srv.write_ok("logp f=1 1")
    assert srv.stop() == 0
    text = logf.read_text()
    assert "listening on http://" in text and "ready" in text and "stopped" in text, text
    assert "listening on http://" not in srv.log_since_start()
    # a path that cannot be written stops the start with a clear message
    p = subprocess.run([STRATA_BIN, "--data", str(tmp_path / "d2"), "--port", "0"],
                       env={**os.environ, "STRATA_LOG_PATH": str(tmp_path / "no" / "dir" / "x")},
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "cannot open the log file" in p.stderr, p
