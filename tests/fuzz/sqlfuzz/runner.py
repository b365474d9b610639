"""Running a case against the server: set up a database from a schema and steps, run one
oracle's queries, and say whether the oracle holds.

A `Case` is everything a finding needs to be replayed and reduced: schema, steps, oracle name
and parameters, and what went wrong (an oracle's mismatch or a server `Fault`). Cases are
saved as JSON next to each finding so that `--recheck` can tell which findings still fail.
"""

import copy
import json

from .gen import (Col, Model, Node, Row, Schema, Step, cols_after, final_cols, step_lp,
                  step_sql)
from .oracles import BY_NAME, Ctx, Result
from .server import Fault


class Case:
    def __init__(self, schema, steps, oracle=None, params=None):
        self.schema = schema
        self.steps = steps
        self.oracle = oracle  # None: the fault happened while setting up
        self.params = params or {}
        # what went wrong: ("mismatch", text) or ("fault", Fault)
        self.outcome = None
        self.failing_sql = None  # the request that faulted, or the queries that disagree
        self.results = None
        self.repro = None  # (failed, replays) of the reduced case

    def clone(self):
        c = Case(None, None, self.oracle, None)
        c.schema, c.steps, c.params = copy.deepcopy((self.schema, self.steps, self.params))
        c.outcome = self.outcome
        return c

    def signature(self):
        """A crash by where it happened; a hang or a wrong answer by its oracle and the kinds
        of expression nodes in the (reduced) case."""
        kind, what = self.outcome
        if kind == "fault" and what.kind != "hang":
            return what.signature
        labels = set()
        for v in self.params.values():
            for n in (v if isinstance(v, list) else [v]):
                if isinstance(n, Node):
                    labels.update(n.labels())
        # the relational oracles name the form of the query (join type, frame, set operator)
        shape = self.params.get("shape")
        shape = f" {{{shape}}}" if isinstance(shape, str) and kind != "fault" else ""
        return f"{'hang' if kind == 'fault' else self.oracle}{shape} [{' '.join(sorted(labels))}]"


class SetupError(Exception):
    """The database or table could not be created (a generator or reducer artefact)."""


class Outcome:
    OK, SKIP, FAIL = "ok", "skip", "fail"


class Runner:
    def __init__(self, server, log=None):
        self.srv = server
        self.log = log or (lambda msg: None)
        self.ndb = 0
        self.queries = 0
        self.rejected_steps = 0

    # ------------------------------------------------------------ setup

    def fresh_db(self, schema):
        self.ndb += 1
        schema.db = f"fz{self.ndb}"
        return schema.db

    def query(self, q, db):
        """q: SQL text, or (SQL text, {"accept": ..., "chunked": bool})."""
        self.queries += 1
        sql, opts = (q, {}) if isinstance(q, str) else q
        r = self.srv.sql(sql, db, **opts)
        return Result(r.status, r.text)

    def setup(self, schema, steps):
        """Creates the database and table and applies the steps; returns the steps that the
        server accepted (a refused step is logged and left out of the model)."""
        db = schema.db
        r = self.srv.sql(schema.create_db_sql(db), "public")
        if r.status != 200:
            raise SetupError(f"CREATE DATABASE failed: {r}")
        if not schema.via_lp:
            r = self.srv.sql(schema.create_sql(), db)
            if r.status != 200:
                raise SetupError(f"{schema.create_sql()} failed: {r}")
        done = []
        cols = list(schema.cols)
        for st in steps:
            before = cols
            cols = cols_after(cols, st)
            if st.kind in ("restart", "kill"):
                fault = self.srv.restart(kill=st.kind == "kill")
                if fault:
                    raise fault
                done.append(st)
                continue
            if st.kind in ("lp", "insert"):
                st = only_known(st, cols)
                if not st.rows:
                    continue
            if st.kind == "lp":
                r = self.srv.write(step_lp(schema, st, cols), db, schema.precision)
            else:
                r = self.srv.sql(step_sql(schema, st, cols), db)
            if r.status != 200:
                self.rejected_steps += 1
                self.log(f"step refused ({st.kind}): {r.status} {r.text[:300]}")
                cols = before
                continue
            done.append(st)
        return done

    def drop(self, schema):
        if self.srv.alive():
            try:
                self.srv.sql(f"DROP DATABASE IF EXISTS {schema.db}", "public")
            except Fault:
                pass

    # ------------------------------------------------------------ checks

    def run_check(self, ctx, oracle, params):
        """(outcome, detail, queries, results); raises Fault."""
        qs = oracle.queries(ctx, params)
        if qs is None:
            return Outcome.SKIP, None, [], []
        results = []
        for q in qs:
            try:
                res = self.query(q, ctx.schema.db)
            except Fault as f:
                f.request = q  # with its Accept header / chunked flag
                raise
            results.append(res)
            if not res.ok:
                return Outcome.SKIP, res.text[:600], qs, results
        try:
            d = oracle.check(ctx, params, results)
        except (ValueError, IndexError) as ex:
            d = f"unexpected answer shape: {ex}"
        return (Outcome.FAIL if d else Outcome.OK), d, qs, results

    def replay(self, case):
        """Runs a case from scratch in a fresh database. Returns the case's outcome as
        ("ok"|"skip", None) or ("mismatch", text) or ("fault", Fault); fills failing_sql."""
        schema = copy.deepcopy(case.schema)
        self.fresh_db(schema)
        try:
            steps = self.setup(schema, case.steps)
            if case.oracle is None:
                return ("ok", None)
            oracle = BY_NAME[case.oracle]
            ctx = Ctx(schema, final_cols(schema, steps), Model.of(steps),
                      any(s.kind == "delete" for s in steps))
            out, detail, qs, results = self.run_check(ctx, oracle, case.params)
            case.failing_sql = qs
            case.results = results
            if out == Outcome.FAIL:
                return ("mismatch", detail)
            return (out, detail)
        except SetupError as ex:
            return ("skip", str(ex))
        except Fault as f:
            case.failing_sql = [f.request]
            if not self.srv.alive():
                self.srv.start()
            return ("fault", f)
        finally:
            self.drop(schema)


def only_known(step, cols):
    """The step without values of columns the table does not have (the reducer may have
    removed them) and without rows left with no field."""
    names = {c.name for c in cols}
    rows = []
    for r in step.rows:
        fields = {k: v for k, v in r.fields.items() if k in names}
        if fields:
            rows.append(Row({k: v for k, v in r.tags.items() if k in names}, r.time, fields))
    return step.copy(rows)


# ------------------------------------------------------------------ JSON


def node_to_json(n):
    return {"ty": n.ty, "fmt": n.fmt, "label": n.label,
            "col": col_to_json(n.col) if n.col is not None else None,
            "kids": [node_to_json(k) for k in n.kids]}


def node_from_json(d):
    return Node(d["ty"], d["fmt"], [node_from_json(k) for k in d["kids"]], d["label"],
                col_from_json(d["col"]) if d["col"] else None)


def col_to_json(c):
    return [c.name, c.kind, c.ty, c.codec]


def col_from_json(d):
    return Col(*d)


def param_to_json(v):
    if isinstance(v, Node):
        return {"node": node_to_json(v)}
    if isinstance(v, list):
        return {"list": [param_to_json(x) for x in v]}
    if isinstance(v, tuple):
        return {"tuple": [param_to_json(x) for x in v]}
    return {"value": v}


def param_from_json(d):
    if "node" in d:
        return node_from_json(d["node"])
    if "list" in d:
        return [param_from_json(x) for x in d["list"]]
    if "tuple" in d:
        return tuple(param_from_json(x) for x in d["tuple"])
    return d["value"]


def case_to_json(case):
    s = case.schema
    return json.dumps({
        "schema": {"db": s.db, "precision": s.precision, "table": s.table,
                   "cols": [col_to_json(c) for c in s.cols], "via_lp": s.via_lp,
                   "options": s.options},
        "steps": [{"kind": st.kind,
                   "rows": [[r.tags, r.time, r.fields] for r in st.rows],
                   "col": col_to_json(st.col) if st.col else None,
                   "delete": st.delete, "arg": st.arg} for st in case.steps],
        "oracle": case.oracle,
        "params": {k: param_to_json(v) for k, v in case.params.items()},
        "signature": case.signature(),
        # a fault's signature is recomputed from these when the signature format changes
        "fault": ([case.outcome[1].kind, case.outcome[1].detail, case.outcome[1].report[:6000]]
                  if case.outcome and case.outcome[0] == "fault" else None),
    }, indent=1)


def case_from_json(text):
    d = json.loads(text)
    s = d["schema"]
    schema = Schema(s["db"], s["precision"], s["table"], [col_from_json(c) for c in s["cols"]],
                    s["via_lp"], s.get("options", ""))
    steps = []
    for st in d["steps"]:
        rows = [Row(tags, t, fields) for tags, t, fields in st["rows"]]
        steps.append(Step(st["kind"], rows, col_from_json(st["col"]) if st["col"] else None,
                          tuple(st["delete"]) if st["delete"] else None, st.get("arg")))
    params = {k: param_from_json(v) for k, v in d["params"].items()}
    case = Case(schema, steps, d["oracle"], params)
    case.saved_signature = d.get("signature")
    if d.get("fault"):
        kind, detail, report = d["fault"]
        case.outcome = ("fault", Fault(kind, detail, "", report))
        case.saved_signature = case.signature()
    return case
