"""Shrinking a failing case to the smallest one that still fails the same way.

"The same way": a fault with the same signature, or the same oracle disagreeing (any
mismatch). Passes, each repeated while it helps, within a time budget:
  1. drop steps, then rows of each data step (delta debugging: halves, quarters, ... ones);
  2. schema: a table made by line protocol becomes a CREATE TABLE, columns added by ALTER move
     into it, unused columns and codecs go;
  3. rows: drop fields, simplify values;
  4. expressions: drop items of lists, replace a node by a child of its type or by a plain
     literal.
Every attempt is a full replay in a fresh database, so the result reproduces on its own.
"""

import time

from .gen import Node, simple_lit


class Reducer:
    def __init__(self, runner, budget=300.0, log=None):
        self.runner = runner
        self.budget = budget
        self.log = log or (lambda msg: None)
        self.attempts = 0

    def same(self, case, outcome):
        kind, what = outcome
        want_kind, want = case.outcome
        if kind != want_kind:
            return False
        if kind == "fault":
            return what.kind == want.kind if want.kind == "hang" else \
                what.signature == want.signature
        return True

    def test(self, cand):
        """True if cand still fails like the original; records the last outcome on cand."""
        if time.monotonic() > self.deadline:
            raise TimeoutError
        self.attempts += 1
        out = self.runner.replay(cand)
        if self.same(cand, out):
            cand.outcome = out
            return True
        return False

    def reduce(self, case):
        self.deadline = time.monotonic() + self.budget
        best = case
        srv = self.runner.srv
        saved_timeout = srv.timeout
        if case.outcome[0] == "fault" and case.outcome[1].kind == "hang":
            # a query that takes seconds on a few rows is as good a witness, and each
            # attempt that hangs costs the whole timeout
            srv.timeout = min(srv.timeout, 5.0)
        try:
            return self._reduce(best)
        finally:
            srv.timeout = saved_timeout

    def _reduce(self, case):
        best = case
        try:
            changed = True
            while changed:
                changed = False
                for p in (self.drop_steps, self.drop_rows, self.schema_passes, self.row_passes,
                          self.expr_passes):
                    c = p(best)
                    if c is not None:
                        best, changed = c, True
        except TimeoutError:
            self.log(f"reduction stopped by its budget after {self.attempts} attempts")
        # The last replays fill failing_sql/results of the reduced case and say how often it
        # fails: a race or a timing shows as "2 of 5".
        self.deadline = time.monotonic() + 120
        tries = 1 if case.outcome[0] == "fault" and case.outcome[1].kind == "hang" else 5
        fails = 0
        for _ in range(tries):
            try:
                fails += self.test(best.clone() if fails else best)
            except TimeoutError:
                break
        best.repro = (fails, tries)
        if fails < tries:
            self.log(f"the reduced case failed {fails} of {tries} replays")
        return best

    # ------------------------------------------------------------ helpers

    def ddmin(self, case, items, rebuild):
        """Removes chunks of items while the case fails; rebuild(case, kept) makes the
        candidate from the original case and the indexes kept. Returns the reduced case or
        None."""
        best, found = None, False
        n = 2
        while len(items) >= 1:
            chunk = max(1, len(items) // n)
            i, removed = 0, False
            while i < len(items):
                kept = items[:i] + items[i + chunk:]
                cand = rebuild(case, kept)
                if cand is not None and self.test(cand):
                    items, best, found, removed = kept, cand, True, True
                else:
                    i += chunk
            if chunk == 1 and not removed:
                break
            if not removed:
                n = min(n * 2, len(items))
        return best if found else None

    # ------------------------------------------------------------ passes

    def drop_steps(self, case):
        return self.ddmin(case, list(range(len(case.steps))), _pick)

    def drop_rows(self, case):
        best = None
        for si in range(len(case.steps)):
            cur = best or case
            if not cur.steps[si].rows:
                continue
            res = self.ddmin(cur, list(range(len(cur.steps[si].rows))),
                             lambda c, kept, si=si: _rows(c, si, kept))
            if res is not None:
                best = res
        return best

    def schema_passes(self, case):
        best = None
        cur = case
        if cur.schema.via_lp:
            cand = cur.clone()
            cand.schema.via_lp = False
            if self.test(cand):
                best = cur = cand
        for i, st in enumerate(cur.steps):
            if st.kind != "alter":
                continue
            cand = cur.clone()
            col = cand.steps[i].col
            del cand.steps[i]
            cand.schema.cols.append(col)
            if self.test(cand):
                best = cur = cand
                return best  # indexes moved: the next round of passes goes on
        used = set()
        for v in cur.params.values():
            for n in (v if isinstance(v, list) else [v]):
                if isinstance(n, Node):
                    used.update(c.name for c in n.columns())
        for c in list(cur.schema.cols):
            if c.kind == "time" or c.name in used:
                continue
            cand = cur.clone()
            cand.schema.cols = [x for x in cand.schema.cols if x.name != c.name]
            for st in cand.steps:
                for r in st.rows:
                    r.tags.pop(c.name, None)
                    r.fields.pop(c.name, None)
                st.rows = [r for r in st.rows if r.fields]
            if self.test(cand):
                best = cur = cand
        for c in cur.schema.cols:
            if c.codec != "DEFAULT":
                cand = cur.clone()
                for x in cand.schema.cols:
                    if x.name == c.name:
                        x.codec = "DEFAULT"
                if self.test(cand):
                    best = cur = cand
        return best

    def row_passes(self, case):
        best = None
        cur = case
        simple = {bool: False, int: 0, float: 0.0, str: "a"}
        for si, st in enumerate(cur.steps):
            for ri in range(len(st.rows)):
                for name in list(cur.steps[si].rows[ri].fields):
                    row = cur.steps[si].rows[ri]
                    if len(row.fields) > 1:
                        cand = cur.clone()
                        del cand.steps[si].rows[ri].fields[name]
                        if self.test(cand):
                            best = cur = cand
                            continue
                    v = row.fields[name]
                    s = simple[type(v)]
                    if v != s or type(v) is not type(s):
                        cand = cur.clone()
                        cand.steps[si].rows[ri].fields[name] = s
                        if self.test(cand):
                            best = cur = cand
        return best

    def expr_passes(self, case):
        best = None
        cur = case
        for key in list(cur.params):
            v = cur.params[key]
            if isinstance(v, list) and len(v) > 1 and all(isinstance(x, Node) for x in v):
                i = 0
                while i < len(cur.params[key]) and len(cur.params[key]) > 1:
                    cand = cur.clone()
                    del cand.params[key][i]
                    # keys and directions of an ORDER BY go together
                    if key == "keys" and "dirs" in cand.params:
                        del cand.params["dirs"][i]
                    if self.test(cand):
                        best = cur = cand
                    else:
                        i += 1
        for key in list(cur.params):
            v = cur.params[key]
            nodes = v if isinstance(v, list) else [v]
            for li in range(len(nodes)):
                if not isinstance(nodes[li], Node):
                    continue
                idx = 0
                while True:
                    root = _get(cur, key, li)
                    all_nodes = list(root.nodes())
                    if idx >= len(all_nodes):
                        break
                    node = all_nodes[idx]
                    replaced = False
                    for repl in _replacements(node, cur.schema.precision):
                        cand = cur.clone()
                        target = list(_get(cand, key, li).nodes())[idx]
                        _assign(target, repl)
                        if self.test(cand):
                            best = cur = cand
                            replaced = True
                            break
                    if not replaced:
                        idx += 1
        return best


def _pick(case, kept):
    n = case.clone()
    n.steps = [n.steps[i] for i in kept]
    return n


def _rows(case, si, kept):
    n = case.clone()
    rows = n.steps[si].rows
    n.steps[si].rows = [rows[i] for i in kept]
    return n


def _get(case, key, li):
    v = case.params[key]
    return v[li] if isinstance(v, list) else v


def _assign(target, repl):
    target.ty, target.fmt, target.kids, target.label, target.col = (
        repl.ty, repl.fmt, [k.copy() for k in repl.kids], repl.label, repl.col)


def _replacements(node, precision):
    """Smaller nodes of the same type: its children, then a plain literal."""
    out = [k for k in node.kids if k.ty == node.ty]
    if node.kids or node.col is not None:
        lit = simple_lit(node.ty, precision)
        if lit.fmt != node.fmt:
            out.append(lit)
    if node.ty == "bool" and node.fmt not in ("TRUE", "FALSE") and node.kids:
        out.append(Node("bool", "FALSE"))
    return out
