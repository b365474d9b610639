// bench/duckdb_tsbs.cjs: DuckDB, in-process, for the query benchmark (bench/tsbs_queries.py).
//
// Loads the CSV files that build/bench/tsbs_gen --format csv wrote (the same rows the servers
// got as line protocol) into a DuckDB database file, then answers queries: one JSON request
// per line on stdin ({"sql": "..."}), one JSON answer per line on stdout ({"ms", "columns",
// "rows"} or {"error"}). "ms" is the time of runAndReadAll, the query run to its end with every
// row materialised; turning the rows into JSON for the pipe is not timed. The first line out
// is {"ready": true, ...} once the tables are loaded and checkpointed.
//
// Tags are VARCHAR (as in the servers, where "rack" is the string "10"), fields DOUBLE for cpu
// and BIGINT/DOUBLE for mem as written, time a TIMESTAMP (microseconds; the data is at whole
// seconds). A database file rather than :memory: so that DuckDB stores the tables compressed,
// as it does for a user's data.
//
// Usage: NODE_PATH=build/bench/duckdb/node_modules node bench/duckdb_tsbs.cjs
//          --db FILE --cpu CPU.csv [--mem MEM.csv] [--threads N]
'use strict';
const readline = require('readline');
const { DuckDBInstance } = require('@duckdb/node-api');

const TAGS = ['hostname', 'region', 'datacenter', 'rack', 'os', 'arch', 'team', 'service',
    'service_version', 'service_environment'];
const CPU = ['usage_user', 'usage_system', 'usage_idle', 'usage_nice', 'usage_iowait',
    'usage_irq', 'usage_softirq', 'usage_steal', 'usage_guest', 'usage_guest_nice'];
const MEM_INT = ['total', 'available', 'used', 'free', 'cached', 'buffered'];
const MEM_PCT = ['used_percent', 'available_percent', 'buffered_percent'];

function args() {
    const a = { threads: String(require('os').cpus().length) };
    const v = process.argv.slice(2);
    for (let i = 0; i < v.length; i += 2) {
        const k = v[i].replace(/^--/, '');
        if (!['db', 'cpu', 'mem', 'threads'].includes(k) || v[i + 1] === undefined) {
            throw new Error(`usage: duckdb_tsbs.cjs --db FILE --cpu CSV [--mem CSV] [--threads N] (bad '${v[i]}')`);
        }
        a[k] = v[i + 1];
    }
    if (!a.db || !a.cpu) throw new Error('--db and --cpu are required');
    return a;
}

function quote(s) {
    return `'${s.replace(/'/g, "''")}'`;
}

// CREATE TABLE name AS the CSV with every column typed: time (ns in the file) as TIMESTAMP.
function loadSql(name, file, fields) {
    const cols = { time: 'BIGINT' };
    for (const t of TAGS) cols[t] = 'VARCHAR';
    for (const [f, ty] of fields) cols[f] = ty;
    const spec = Object.entries(cols).map(([k, t]) => `'${k}': '${t}'`).join(', ');
    const sel = ['make_timestamp(time // 1000) AS time', ...TAGS, ...fields.map(([f]) => f)];
    return `CREATE OR REPLACE TABLE ${name} AS SELECT ${sel.join(', ')} FROM read_csv(${quote(file)}, ` +
        `header = true, columns = {${spec}})`;
}

async function main() {
    const a = args();
    const inst = await DuckDBInstance.create(a.db, { threads: a.threads });
    const conn = await inst.connect();
    const t0 = performance.now();
    await conn.run(loadSql('cpu', a.cpu, CPU.map((f) => [f, 'DOUBLE'])));
    if (a.mem) {
        await conn.run(loadSql('mem', a.mem,
            [...MEM_INT.map((f) => [f, 'BIGINT']), ...MEM_PCT.map((f) => [f, 'DOUBLE'])]));
    }
    await conn.run('CHECKPOINT');
    const loadS = (performance.now() - t0) / 1000;
    const info = await conn.runAndReadAll(
        "SELECT version() AS v, current_setting('threads') AS t, (SELECT count(*) FROM cpu) AS n");
    const [v, t, n] = info.getRows()[0];
    process.stdout.write(JSON.stringify({ ready: true, version: v, threads: Number(t), rows: Number(n),
        load_s: loadS }) + '\n');

    const rl = readline.createInterface({ input: process.stdin, terminal: false });
    for await (const line of rl) {
        if (!line.trim()) continue;
        const req = JSON.parse(line);
        const q0 = performance.now();
        let reader, ms;
        try {
            reader = await conn.runAndReadAll(req.sql);
            ms = performance.now() - q0;
        } catch (e) {
            const out = { ms: performance.now() - q0, error: String(e.message || e) };
            process.stdout.write(JSON.stringify(out) + '\n');
            continue;
        }
        // An answer of millions of rows (high-cpu-all on 4000 hosts) is written a slice of rows
        // at a time: one JSON string of it all would pass V8's string length limit.
        const rows = reader.getRowsJson();
        await write(`{"ms":${JSON.stringify(ms)},"columns":${JSON.stringify(reader.columnNames())},"rows":[`);
        const SLICE = 20000;
        for (let i = 0; i < rows.length; i += SLICE) {
            const part = rows.slice(i, i + SLICE).map((r) => JSON.stringify(r)).join(',');
            await write((i ? ',' : '') + part);
        }
        await write(']}\n');
    }
}

// Waits for the pipe to take the text, so a large answer is not all buffered at once.
function write(text) {
    return new Promise((resolve) => {
        if (process.stdout.write(text)) resolve();
        else process.stdout.once('drain', resolve);
    });
}

main().catch((e) => {
    process.stderr.write(`duckdb_tsbs: ${e.stack || e}\n`);
    process.exit(1);
});
