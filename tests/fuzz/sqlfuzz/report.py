"""Writing a finding: a text file a developer can read and replay by hand (setup, query,
expected vs got, sanitizer excerpt, a curl script), and the case as JSON for --recheck."""

import datetime
import os
import re

from .gen import cols_after, step_lp, step_sql

ORACLE_DOC = {
    "model": "count(*) and count(column) equal what was written",
    "tlp_where": "TLP: rows = rows WHERE p + WHERE NOT p + WHERE p IS NULL",
    "tlp_count": "TLP: count(*) = count WHERE p + WHERE NOT p + WHERE p IS NULL",
    "tlp_agg": "TLP: min/max/count/sum over the partitions recombine to the whole",
    "tlp_group": "TLP per GROUP BY group",
    "tlp_distinct": "TLP for SELECT DISTINCT",
    "tlp_having": "TLP over HAVING",
    "pushdown": "filter pushed into the scan = the same filter over a subquery",
    "norec": "NoREC: count(*) WHERE p = count(CASE WHEN p THEN 1 END)",
    "fold": "an expression over a stored row = the same over literals of its values",
    "topn": "ORDER BY LIMIT/OFFSET = the slice of the full sort, which is ordered",
    "minmax": "max/min = first row of ORDER BY DESC/ASC",
    "group_filter": "group v of GROUP BY k = the aggregates WHERE k = v",
    "formats": "chunked CSV = CSV; JSON, ND-JSON, TSV parse and have its rows",
    "limit": "LIMIT/OFFSET without ORDER BY: right row count, rows from the answer",
    "nested": "WHERE p1 AND p2 = subquery WHERE p1, outer WHERE p2; HAVING = outer filter",
    "show": "SHOW SERIES / SHOW TAG VALUES WHERE p = SELECT DISTINCT tags WHERE p",
    "delete": "DELETE WHERE removes exactly the rows the filter selects",
    "eval": "expression over a stored row = the reference evaluator's value",
    "join_count": "count(*) of a join ON keys = the GROUP BY keys counts (+ unmatched rows)",
    "join_outer": "outer join = inner join + the unmatched rows NULL-extended",
    "join_hash": "ON a.x = b.y (hash key) = ON (a.x = b.y) IS TRUE (nested-loop filter)",
    "join_semi": "LEFT SEMI/ANTI JOIN, [NOT] EXISTS = the left rows of the inner join",
    "join_tlp": "TLP over a join: WHERE p / NOT p / p IS NULL recombine to the join",
    "join_forms": "JOIN ON = comma join + WHERE = USING = derived tables = CTE",
    "join_time": "join on keys and time with tag/time filters = the same over subqueries",
    "sub_in": "IN (subquery) = EXISTS = LEFT SEMI JOIN = Python's reference",
    "sub_not_in": "NOT IN (NULL rule) / NOT EXISTS / LEFT ANTI JOIN = Python's reference",
    "sub_scalar": "scalar subquery (correlated) = the GROUP BY answer joined back",
    "window": "window function = Python over the fetched rows",
    "window_filter": "WHERE p over a window's subquery = p computed inside, applied after",
    "sub_cmp": "WHERE x op (scalar subquery) = the same with the value joined in",
    "window_group": "aggregates OVER (PARTITION BY k), max(row_number()) = GROUP BY k",
    "set_tlp": "UNION of the TLP partitions = DISTINCT whole; UNION ALL = whole",
    "set_ref": "UNION/INTERSECT/EXCEPT [ALL] = Python over the inputs' rows",
    "grouping": "ROLLUP/CUBE/GROUPING SETS = the union of one GROUP BY per set",
}


def setup_parts(case, db="fz"):
    """[(kind, text)] with kind sql, lp (body) or restart."""
    s = case.schema
    out = [("sql", s.create_db_sql(db))]
    if not s.via_lp:
        out.append(("sql", s.create_sql()))
    cols = list(s.cols)
    saved = s.db
    s.db = db
    try:
        for st in case.steps:
            cols = cols_after(cols, st)
            if st.kind in ("restart", "kill"):
                sig = "SIGKILL" if st.kind == "kill" else "SIGTERM"
                out.append(("restart", f"restart the server ({sig}, start again)"))
            elif st.kind == "lp":
                out.append(("lp", step_lp(s, st, cols)))
            else:
                out.append(("sql", step_sql(s, st, cols)))
    finally:
        s.db = saved
    return out


def show(q):
    """A query as text: the SQL, and the Accept header or ?chunked=true it was sent with."""
    if isinstance(q, str):
        return q
    sql, opts = q
    extra = [f"Accept: {opts['accept']}"] if opts.get("accept") else []
    extra += ["?chunked=true"] if opts.get("chunked") else []
    return f"{sql}   [{', '.join(extra)}]" if extra else sql


def slug(text):
    t = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return t[:50].rstrip("-") or "finding"


def finding_title(case):
    kind, what = case.outcome
    if kind == "fault":
        return f"{what.kind}: {what.signature}"
    return f"{case.oracle} oracle: {what.splitlines()[0][:120]}"


def next_number(directory):
    """One more than the highest number in directory and its fixed/ folder."""
    n = 0
    for sub in (directory, os.path.join(directory, "fixed")):
        for name in os.listdir(sub) if os.path.isdir(sub) else []:
            m = re.match(r"(\d+)-", name)
            if m:
                n = max(n, int(m.group(1)))
    return n + 1


def render(case, origin, binary_rev):
    kind, what = case.outcome
    db = "fz"
    lines = [f"# {finding_title(case)}", ""]
    if kind == "fault":
        lines.append(f"Oracle: crash/hang/sanitizer ({what.kind}: {what.detail})")
    else:
        lines.append(f"Oracle: {case.oracle} ({ORACLE_DOC.get(case.oracle, '')})")
    if case.repro:
        lines.append(f"Reproduced: failed {case.repro[0]} of {case.repro[1]} replays of the "
                     "reduced case" + (" (timing-dependent)" if case.repro[0] < case.repro[1]
                                       else ""))
    lines += [f"Signature: {case.signature()}",
              f"Found: {datetime.datetime.now().isoformat(timespec='seconds')}, {origin}",
              f"Binary: {binary_rev}", ""]
    lines += ["## Setup (minimized)", "", f"Database {db}; line protocol goes to "
              f"POST /api/v1/write?db={db}&precision={case.schema.precision}.", "", "```"]
    for k, text in setup_parts(case, db):
        if k == "lp":
            lines.append("-- line protocol:")
            lines.append(text.rstrip("\n"))
        elif k == "restart":
            lines.append(f"-- {text}")
        else:
            lines.append(text + ";")
    lines += ["```", ""]
    qs = case.failing_sql or []
    if kind == "fault":
        lines += ["## Request that failed", "", "```", (show(qs[0]) if qs else "?"), "```", ""]
        lines += ["## Expected vs got", "",
                  "Expected: an answer (200 or a 4xx error), the server alive.",
                  f"Got: {what.detail}", ""]
        if what.report:
            lines += ["## Sanitizer report (excerpt)", "", "```"]
            lines += what.report.strip().splitlines()[:60]
            lines += ["```", ""]
    else:
        lines += ["## Queries and answers", ""]
        for i, q in enumerate(qs):
            lines += [f"Q{i + 1}: `{show(q)}`", "```"]
            res = case.results[i] if case.results and i < len(case.results) else None
            if res is not None:
                body = res.text.rstrip("\n").splitlines()
                lines += body[:25] + ([f"... ({len(body)} lines)"] if len(body) > 25 else [])
            lines += ["```"]
        lines += ["", "## Expected vs got", "", what, ""]
    lines += ["## Reproduce", "", "```sh", "S=http://127.0.0.1:8902   # a running strata"]
    for k, text in setup_parts(case, db):
        if k == "lp":
            lines.append(f"curl -s -u root: \"$S/api/v1/write?db={db}&precision="
                         f"{case.schema.precision}\" --data-binary @- <<'EOF'")
            lines.append(text.rstrip("\n"))
            lines.append("EOF")
        elif k == "restart":
            lines.append("# restart the server here")
        else:
            lines.append(f"curl -s -u root: \"$S/api/v1/sql?db={db}\" --data-binary @- <<'EOF'")
            lines.append(text)
            lines.append("EOF")
    for q in qs:
        sql, opts = (q, {}) if isinstance(q, str) else q
        hdr = f" -H 'Accept: {opts['accept']}'" if opts.get("accept") else ""
        chunked = "&chunked=true" if opts.get("chunked") else ""
        lines.append(f"curl -s -u root:{hdr} \"$S/api/v1/sql?db={db}{chunked}\" "
                     f"--data-binary @- <<'EOF'")
        lines.append(sql)
        lines.append("EOF")
    lines += ["```", ""]
    return "\n".join(lines)


def write_finding(directory, case, origin, binary_rev, case_json):
    os.makedirs(directory, exist_ok=True)
    n = next_number(directory)
    kind, what = case.outcome
    base = what.signature if kind == "fault" else case.signature()
    name = f"{n:03d}-{slug(base)}"
    path = os.path.join(directory, name + ".txt")
    with open(path, "w") as f:
        f.write(render(case, origin, binary_rev))
    with open(os.path.join(directory, name + ".json"), "w") as f:
        f.write(case_json)
    return path

