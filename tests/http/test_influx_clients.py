"""InfluxDB's own clients, unmodified, against Strata: influxdb-python (Debian
python3-influxdb), the `influx` 1.6 shell (Debian influxdb-client), node-influx (npm `influx`)
and the InfluxDB 2.x JavaScript client (npm `@influxdata/influxdb-client`), all installed by
scripts/install-deps.sh (the npm ones under build/test/influx). A client that is not installed
fails the test with the command that installs it, rather than skipping it quietly."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from strata_http import REPO, csv_rows

NODE_MODULES = REPO / "build" / "test" / "influx" / "node_modules"
INSTALL = "run scripts/install-deps.sh"


def need(cond, what):
    if not cond:
        pytest.fail(f"{what} is not installed: {INSTALL}")


# ------------------------------------------------------------------ influxdb-python


def python_client(srv, db=None):
    try:
        from influxdb import InfluxDBClient
    except ImportError:
        need(False, "python3-influxdb")
    return InfluxDBClient(host="127.0.0.1", port=srv.port, username="root", password="",
                          database=db, timeout=30)


def test_influxdb_python_grafana_query(server):
    c = python_client(server, "grafana")
    assert c.ping() == "1.8.10"
    c.create_database("grafana")
    assert {"name": "grafana"} in c.get_list_database()
    now = int(time.time())
    minute0 = now // 60 * 60 - 30 * 60  # half an hour ago, on a minute
    points = []
    for i in range(30):
        for host, base in (("a", 0.0), ("b", 100.0)):
            # two points a minute: their mean is base + i + 0.5
            for k in (0, 1):
                points.append({"measurement": "m", "tags": {"host": host},
                               "time": minute0 + i * 60 + 10 + 20 * k,
                               "fields": {"v": base + i + k}})
    # batch_size: the client sends 7 requests and stops at the first not answered with 204
    assert c.write_points(points, time_precision="s", batch_size=17) is True
    assert server.sql_ok("select count(*) from m", db="grafana").splitlines()[1] == "120"
    rs = c.query('SELECT mean("v") FROM "m" WHERE time > now() - 1h GROUP BY time(1m), "host" '
                 "fill(null)", epoch="s")
    for host, base in (("a", 0.0), ("b", 100.0)):
        got = list(rs.get_points(measurement="m", tags={"host": host}))
        # every minute of the hour is there, those without points as null
        assert 60 <= len(got) <= 61
        byt = {p["time"]: p["mean"] for p in got}
        for i in range(30):
            assert byt[minute0 + i * 60] == base + i + 0.5
        assert sum(1 for p in got if p["mean"] is None) == len(got) - 30
    rs = c.query('SELECT last("v") FROM "m" GROUP BY "host"')
    assert list(rs.get_points(tags={"host": "b"}))[0]["last"] == 130.0
    c.drop_database("grafana")
    assert {"name": "grafana"} not in c.get_list_database()


def test_influxdb_python_errors(server):
    from influxdb.exceptions import InfluxDBClientError
    c = python_client(server, "public")
    with pytest.raises(InfluxDBClientError) as ei:
        c.query("SELECT FROM m")
    assert "error parsing query" in str(ei.value)
    with pytest.raises(InfluxDBClientError) as ei:
        c.write_points([{"measurement": "m", "fields": {"v": 1}}], database="nosuchdb")
    assert ei.value.code == 404


# ------------------------------------------------------------------ the influx 1.6 shell


def influx_shell(srv, *args, stdin=None):
    need(shutil.which("influx"), "influxdb-client (the influx shell)")
    r = subprocess.run(["influx", "-host", "127.0.0.1", "-port", str(srv.port), *args],
                       capture_output=True, text=True, timeout=60, input=stdin)
    return r


def test_influx_shell_execute_and_import(server, tmp_path):
    r = influx_shell(server, "-execute", "CREATE DATABASE shell")
    assert r.returncode == 0, r
    r = influx_shell(server, "-execute", "SHOW DATABASES")
    assert r.returncode == 0 and "shell" in r.stdout.split(), r
    dump = tmp_path / "import.txt"
    dump.write_text("# DDL\nCREATE DATABASE imported\n\n# DML\n# CONTEXT-DATABASE: imported\n"
                    "cpu,host=a v=1 1600000000\ncpu,host=b v=2 1600000060\n"
                    "cpu,host=a v=3 1600000120\n")
    r = influx_shell(server, "-import", "-path", str(dump), "-precision", "s")
    assert r.returncode == 0, r
    assert "Processed 3 inserts" in r.stdout and "Failed 0 inserts" in r.stdout, r
    r = influx_shell(server, "-database", "imported", "-format", "csv", "-execute",
                     "SELECT sum(v) FROM cpu GROUP BY host")
    assert r.returncode == 0, r
    # the shell writes the CSV itself from the JSON, a header per series
    assert r.stdout.splitlines() == ["name,tags,time,sum", "cpu,host=a,0,4",
                                     "name,tags,time,sum", "cpu,host=b,0,2"], r
    r = influx_shell(server, "-database", "imported", "-execute", "SELECT v FROM")
    assert r.returncode != 0 and "error parsing query" in r.stdout + r.stderr, r


# ------------------------------------------------------------------ node clients


def node(script, srv):
    need(shutil.which("node"), "node")
    need((NODE_MODULES / "influx").is_dir() and
         (NODE_MODULES / "@influxdata" / "influxdb-client").is_dir(),
         "the npm clients (influx, @influxdata/influxdb-client)")
    env = dict(os.environ, NODE_PATH=str(NODE_MODULES), PORT=str(srv.port))
    r = subprocess.run(["node", "-e", script], capture_output=True, text=True, timeout=60,
                       env=env)
    assert r.returncode == 0, r
    return r.stdout


NODE_INFLUX = r"""
const Influx = require('influx');
const db = new Influx.InfluxDB({host: '127.0.0.1', port: +process.env.PORT, database: 'nodedb',
                                username: 'root', password: ''});
(async () => {
  await db.createDatabase('nodedb');
  const names = await db.getDatabaseNames();
  await db.writePoints([
    {measurement: 'm', tags: {host: 'a'}, fields: {v: 1.5, n: 2}, timestamp: new Date(1600000000000)},
    {measurement: 'm', tags: {host: 'b'}, fields: {v: 2.5, n: 3}, timestamp: new Date(1600000060000)},
  ]);
  const rows = await db.query('SELECT v, n, host FROM m ORDER BY time');
  const agg = await db.query('SELECT sum(v) FROM m GROUP BY host');
  console.log(JSON.stringify({names, rows: rows.map(r => [r.time.toISOString(), r.v, r.n, r.host]),
                              agg: agg.map(r => [r.host, r.sum])}));
})().catch(e => { console.error(e); process.exit(1); });
"""


def test_node_influx(server):
    out = json.loads(node(NODE_INFLUX, server))
    assert "nodedb" in out["names"]
    assert out["rows"] == [["2020-09-13T12:26:40.000Z", 1.5, 2, "a"],
                           ["2020-09-13T12:27:40.000Z", 2.5, 3, "b"]]
    assert out["agg"] == [["a", 1.5], ["b", 2.5]]


NODE_V2 = r"""
const {InfluxDB, Point} = require('@influxdata/influxdb-client');
const w = new InfluxDB({url: 'http://127.0.0.1:' + process.env.PORT, token: 'root:'})
  .getWriteApi('anyorg', 'v2db', 's');
for (let i = 0; i < 5; i++)
  w.writePoint(new Point('m').tag('host', 'h' + (i % 2)).floatField('v', i + 0.5)
                 .timestamp(1600000000 + i));
w.flush().then(() => w.close()).then(() => console.log('ok'))
  .catch(e => { console.error(e); process.exit(1); });
"""


def test_influxdb_client_v2_write(server):
    server.sql_ok("CREATE DATABASE v2db")
    assert node(NODE_V2, server).strip() == "ok"
    rows = csv_rows(server.sql_ok("SELECT host, v FROM m ORDER BY time", db="v2db"))
    assert rows[1:] == ["h0,0.5", "h1,1.5", "h0,2.5", "h1,3.5", "h0,4.5"]
