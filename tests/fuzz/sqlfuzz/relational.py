"""Oracles for relational SQL: joins, subqueries, window functions, set operations and grouping
sets. Same contract as oracles.py (gen / queries / check, answers below 500 that are errors
skip the check); registered in oracles.ORACLES.

Each join here is a self-join of the round's table (`t a JOIN t b`), and a row is named by its
identity: time and tags, which no two rows share. The oracles either compare two formulations
the engine runs differently (a join against GROUP BY counts, a semi join against EXISTS and
IN, a window against GROUP BY) or compute the reference in Python from rows fetched by plain
scans (windows, NOT IN, INTERSECT/EXCEPT), so the reference shares no code with the operator.

  join_count   count(*) of [INNER|LEFT|RIGHT|FULL] JOIN ON keys [AND pa] [AND pb] = the sum over
               GROUP BY keys of count_a * count_b, plus the unmatched rows of an outer side
  join_outer   outer join = inner join + each unmatched row NULL-extended (any ON condition;
               sides maybe filtered, so either may be the one hashed)
  join_hash    ON a.x = b.y as a hash key = ON (a.x = b.y) IS TRUE as a filter (keys of
               different types: BIGINT/UNSIGNED/DOUBLE, BIGINT/TIMESTAMP...)
  join_semi    LEFT SEMI/ANTI JOIN and correlated [NOT] EXISTS with any ON condition = the
               left rows that do / do not appear in the inner join
  join_tlp     TLP over a join: WHERE p / NOT p / p IS NULL recombine to the join
  join_forms   JOIN ON = comma join + WHERE = USING = over derived tables = over a CTE
  join_time    a join on (keys, time) with tag and time conditions in ON and WHERE = the same
               over (SELECT * FROM t), which nothing is pushed into
  sub_in       k IN (SELECT ...) = EXISTS (correlated) = LEFT SEMI JOIN = Python's reference
  sub_not_in   NOT IN (SQL's NULL rule) / NOT EXISTS / LEFT ANTI JOIN = Python's reference
  sub_scalar   (SELECT agg(x) FROM t b WHERE b.k = a.k [AND p]) = the GROUP BY answer joined
               back (count over no rows = 0); uncorrelated: = the aggregate query
  sub_cmp      WHERE x op (SELECT agg(x) ... [correlated]) = the value joined in (cross join /
               LEFT JOIN of the grouped aggregate)
  window       ranking, lag/lead, first/last/nth_value and aggregates OVER (PARTITION BY ...
               ORDER BY ... ROWS/RANGE/GROUPS frame) = Python over the fetched rows
  window_filter  WHERE p over a window's subquery = p computed inside and applied after (only
               a filter on the PARTITION BY keys may go below a window)
  window_group count/sum/min/max OVER (PARTITION BY k) and max(row_number()) = GROUP BY k
  set_tlp      UNION of the three TLP partitions = DISTINCT of the whole; UNION ALL = the
               whole (rows and count(*))
  set_ref      UNION/INTERSECT/EXCEPT [ALL] of two filtered selects = Python's sets of their
               fetched rows (NULL equal to NULL; the ALL forms of INTERSECT and EXCEPT are a
               semi/anti join without DISTINCT, as in DataFusion 27)
  grouping     GROUP BY ROLLUP / CUBE / GROUPING SETS = the union of one GROUP BY per set,
               absent keys NULL (no rows for an empty input)

Params may hold a "shape" (join type and form, window function / frame mode / argument type,
set operator), which the finding's signature names, so that findings of different forms are
not taken for one; the window check appends "overflow" when the differing row's RANGE bound
leaves BIGINT (a class of its own, see findings/rel F6).
"""

import bisect
import functools
import math

from .gen import UNIT_NS, Col, ExprGen, col_node
from .oracles import (Pushdown, key_items, key_types, multiset, multiset_diff, norm_zero,
                      partitions, render_list)

# rows a query may return before an oracle gives up on a round's table (CSV under ASan)
MAX_ROWS = 4000
# pairs a count(*)-only join may make
MAX_PAIRS = 400000
# table rows an oracle that returns about as many may read: more than one 4096-row batch
MAX_SCAN = 8000
KEY_TYPES = ("int", "uint", "str", "bool")


class AliasCol(Col):
    """A column read through a table alias: its SQL is `a.col`. Saved cases keep the text in
    the node, so a replay does not need the alias."""

    def __init__(self, alias, c):
        super().__init__(c.name, c.kind, c.ty, c.codec)
        self.alias = alias

    @property
    def sql(self):
        return f"{self.alias}.{Col.sql.fget(self)}"


def qualify(node, alias):
    """A copy of node whose column references read alias's columns."""
    n = node.copy()
    for x in n.nodes():
        if x.col is not None:
            x.fmt = f"{alias}.{Col.sql.fget(x.col)}"
    return n


def q(node, alias):
    return qualify(node, alias).render()


def id_items(ctx, alias=None):
    """The select items naming a row: time (as an integer) and each tag with its IS NULL."""
    pre = f"{alias}." if alias else ""
    items = [f"CAST({pre}time AS BIGINT)"]
    for c in ctx.cols:
        if c.kind == "tag":
            s = pre + Col.sql.fget(c)
            items += [s, f"({s}) IS NULL"]
    return items


def n_id(ctx):
    return 1 + 2 * sum(c.kind == "tag" for c in ctx.cols)


def null_id(ctx):
    """The identity items of the NULL row an outer join adds."""
    return ("",) + ("", "true") * sum(c.kind == "tag" for c in ctx.cols)


def model_value(row, c):
    tags, t, fields = row
    if c.kind == "time":
        return t
    if c.kind == "tag":
        return tags.get(c.name)
    return fields.get(c.name)


def pair_estimate(ctx, keys):
    """How many pairs a self-join on keys makes (by the model; n^2 for expressions)."""
    n = len(ctx.model.rows)
    if not keys or any(k.col is None for k in keys):
        return n * n
    counts = {}
    for row in ctx.model.rows.values():
        kv = tuple(model_value(row, k.col) for k in keys)
        if None not in kv:
            counts[kv] = counts.get(kv, 0) + 1
    return sum(c * c for c in counts.values())


def join_keys(g, ctx, allow_expr=True):
    r = g.rng
    cols = [c for c in ctx.cols if c.ty in KEY_TYPES or c.kind == "time"]
    keys = []
    for _ in range(r.choice([1, 1, 1, 2])):
        if allow_expr and r.random() < 0.2:
            keys.append(g.expr(r.choice(["int", "str", "bool"]), 2))
        else:
            keys.append(col_node(r.choice(cols)))
    return keys


def sized_keys(g, ctx, limit):
    """Join keys whose self-join makes at most `limit` pairs, or None."""
    keys = join_keys(g, ctx)
    return keys if pair_estimate(ctx, keys) <= limit else None


def aliased_gen(g, ctx, aliases, depth=3):
    cols = [AliasCol(a, c) for a in aliases for c in ctx.cols]
    return ExprGen(g.rng, cols, ctx.precision, g.pools, max_depth=depth)


def keys_on(keys, x="a", y="b"):
    return " AND ".join(f"{q(k, x)} = {q(k, y)}" for k in keys)


def conj(*parts):
    return " AND ".join(p for p in parts if p)


def group_rows(rows, nk):
    """Rows of `SELECT k1, k1 IS NULL, ..., aggs... GROUP BY` as {key or None: aggs}; a key
    with a NULL is None (it joins nothing) and its groups are listed under None."""
    out = {}
    nulls = []
    for row in rows:
        key = row[:2 * nk]
        if any(key[2 * i + 1] == "true" for i in range(nk)):
            nulls.append(row[2 * nk:])
        else:
            out[key] = row[2 * nk:]
    return out, nulls


def key_null_items(keys):
    out = []
    for k in keys:
        out += [k.render(), f"({k.render()}) IS NULL"]
    return out


def differ(got, want, what):
    """None if the two lists of rows are equal as multisets, else `what` and the rows whose
    counts differ (got vs want)."""
    if multiset(got) == multiset(want):
        return None
    return f"{what}:\n" + multiset_diff(got, want)


JOIN_KINDS = {"inner": ["JOIN", "INNER JOIN"], "left": ["LEFT JOIN", "LEFT OUTER JOIN"],
              "right": ["RIGHT JOIN", "RIGHT OUTER JOIN"], "full": ["FULL JOIN",
                                                                    "FULL OUTER JOIN"]}


def join_from(ctx, form, kw, on, using=None):
    """FROM ... of a self-join in one of several forms; (prefix, from text, where text)."""
    t = ctx.table
    if form == "derived":
        return "", f"(SELECT * FROM {t}) a {kw} (SELECT * FROM {t}) b ON {on}", ""
    if form == "cte":
        return f"WITH c AS (SELECT * FROM {t}) ", f"c a {kw} c b ON {on}", ""
    if form == "comma":
        return "", f"{t} a, {t} b", on
    if form == "using":
        return "", f"{t} a {kw} {t} b USING ({using})", ""
    return "", f"{t} a {kw} {t} b ON {on}", ""


# ------------------------------------------------------------------ joins


class JoinCount:
    name = "join_count"

    def gen(self, g, ctx):
        r = g.rng
        keys = sized_keys(g, ctx, MAX_PAIRS)
        if keys is None:
            return None
        kind = r.choice(list(JOIN_KINDS))
        p = {"keys": keys, "kind": kind, "kw": r.choice(JOIN_KINDS[kind])}
        if r.random() < 0.4:
            p["pa"] = g.expr("bool")
        if r.random() < 0.4:
            p["pb"] = g.expr("bool")
        forms = ["on", "on", "derived", "cte"]
        if kind == "inner":
            forms.append("comma")
            if pair_estimate(ctx, keys) ** 1.5 <= MAX_PAIRS:
                forms.append("three")  # t a JOIN t b ON ... JOIN t c ON b.k = c.k
        if all(k.col is not None for k in keys) and "pa" not in p and "pb" not in p:
            forms.append("using")
        p["shape"] = f"{kind} {r.choice(forms)}"
        return p

    def queries(self, ctx, p):
        keys = p["keys"]
        form = p["shape"].split()[1]
        if form == "using" and any(k.col is None for k in keys):
            form = "on"
        if form == "comma" and p["kind"] != "inner":
            form = "on"
        pa = q(p["pa"], "a") if "pa" in p else None
        pb = q(p["pb"], "b") if "pb" in p else None
        on = conj(keys_on(keys), pa, pb)
        using = ", ".join(Col.sql.fget(k.col) for k in keys if k.col is not None)
        if form == "using" and (pa or pb or len(set(using.split(", "))) != len(keys)):
            form = "on"
        pre, frm, where = join_from(ctx, form, p["kw"], on, using)
        if form == "three":
            frm += f" JOIN {ctx.table} c ON {keys_on(keys, 'b', 'c')}"
        cnt = [f"count(CASE WHEN {p[s].render()} THEN 1 END)" if s in p else "count(*)"
               for s in ("pa", "pb")]
        nk = len(keys)
        return [f"SELECT {', '.join(key_null_items(keys))}, count(*), {', '.join(cnt)} "
                f"FROM {ctx.table} GROUP BY {', '.join(str(i + 1) for i in range(2 * nk))}",
                f"{pre}SELECT count(*) FROM {frm}" + (f" WHERE {where}" if where else "")]

    def check(self, ctx, p, rs):
        groups, nulls = group_rows(rs[0].rows, len(p["keys"]))
        n = sum(int(v[0]) for v in groups.values()) + sum(int(v[0]) for v in nulls)
        three = p["shape"].endswith("three")
        inner = sum(int(v[1]) * int(v[2]) * (int(v[0]) if three else 1)
                    for v in groups.values())
        left_un = n - sum(int(v[1]) for v in groups.values() if int(v[2]) > 0)
        right_un = n - sum(int(v[2]) for v in groups.values() if int(v[1]) > 0)
        want = inner + (left_un if p["kind"] in ("left", "full") else 0) + \
            (right_un if p["kind"] in ("right", "full") else 0)
        got = int(rs[1].scalar())
        if got != want:
            return (f"{p['kind']} join count(*) = {got}, the GROUP BY counts give {want} "
                    f"({inner} matched pairs, {left_un} unmatched left, {right_un} unmatched "
                    f"right rows of {n})")
        return None


def side(ctx, p, key, alias):
    """One side of a self-join: the table, or the rows of a filter over it (so that the two
    sides differ in size and either may be the one hashed)."""
    if key in p:
        return f"(SELECT * FROM {ctx.table} WHERE {p[key].render()}) {alias}"
    return f"{ctx.table} {alias}"


def side_rows(ctx, p, key):
    where = f" WHERE {p[key].render()}" if key in p else ""
    return f"SELECT {', '.join(id_items(ctx))} FROM {ctx.table}{where}"


class JoinOuter:
    name = "join_outer"

    def gen(self, g, ctx):
        r = g.rng
        keys = join_keys(g, ctx) if r.random() < 0.8 else []
        if pair_estimate(ctx, keys) > MAX_ROWS:
            return None
        p = {"keys": keys, "kind": r.choice(["left", "right", "full"])}
        if not keys or r.random() < 0.6:
            p["on"] = aliased_gen(g, ctx, "ab").expr("bool")
        for k in ("fa", "fb"):
            if r.random() < 0.3:
                p[k] = g.expr("bool")
        p["shape"] = p["kind"] + ("" if keys else " nokeys")
        return p

    def queries(self, ctx, p):
        on = conj(keys_on(p["keys"]), p["on"].render() if "on" in p else None) or "TRUE"
        ids = ", ".join(id_items(ctx, "a") + id_items(ctx, "b"))
        kw = JOIN_KINDS[p["kind"]][0]
        a, b = side(ctx, p, "fa", "a"), side(ctx, p, "fb", "b")
        return [f"SELECT {ids} FROM {a} JOIN {b} ON {on}",
                f"SELECT {ids} FROM {a} {kw} {b} ON {on}",
                side_rows(ctx, p, "fa"), side_rows(ctx, p, "fb")]

    def check(self, ctx, p, rs):
        ni = n_id(ctx)
        inner = rs[0].rows
        want = list(inner)
        if p["kind"] in ("left", "full"):
            seen = {r[:ni] for r in inner}
            want += [r + null_id(ctx) for r in rs[2].rows if r not in seen]
        if p["kind"] in ("right", "full"):
            seen = {r[ni:] for r in inner}
            want += [null_id(ctx) + r for r in rs[3].rows if r not in seen]
        got = rs[1].rows
        return differ(got, want, f"{p['kind']} join has {len(got)} rows, inner join + "
                      f"unmatched rows {len(want)} ({len(inner)} inner); rows (outer vs "
                      "expected)")


class JoinHash:
    """An equality between the sides as a hash key = the same equality hidden from the
    planner (`(a.x = b.y) IS TRUE`, a filter over a nested loop): keys of different types
    (BIGINT with BIGINT UNSIGNED or DOUBLE, strings, times), sides of different sizes."""

    name = "join_hash"
    PAIRS = [("int", "int"), ("int", "uint"), ("int", "float"), ("uint", "float"),
             ("uint", "uint"), ("float", "float"), ("str", "str"), ("ts", "ts"),
             ("bool", "bool"), ("int", "ts")]

    def gen(self, g, ctx):
        r = g.rng
        tya, tyb = r.choice(self.PAIRS)
        if r.random() < 0.5:
            tya, tyb = tyb, tya
        ka = g.leaf(tya) if r.random() < 0.8 else g.expr(tya, 2)
        kb = g.leaf(tyb) if r.random() < 0.8 else g.expr(tyb, 2)
        if not ka.columns() and not kb.columns() or self.pairs(ctx, ka, kb) > MAX_ROWS:
            return None
        p = {"ka": ka, "kb": kb, "kind": r.choice(list(JOIN_KINDS)),
             "shape": f"{tya}={tyb}"}
        for k in ("fa", "fb"):
            if r.random() < 0.4:
                p[k] = g.expr("bool")
        return p

    @staticmethod
    def pairs(ctx, ka, kb):
        """How many pairs the equality makes (by the model; n^2 unless both are columns)."""
        rows = ctx.model.rows.values()
        if ka.col is None or kb.col is None:
            return len(rows) ** 2
        count = {}
        for row in rows:
            v = model_value(row, kb.col)
            if v is not None:
                count[v] = count.get(v, 0) + 1
        return sum(count.get(model_value(row, ka.col), 0) for row in rows)

    def queries(self, ctx, p):
        eq = f"{q(p['ka'], 'a')} = {q(p['kb'], 'b')}"
        ids = ", ".join(id_items(ctx, "a") + id_items(ctx, "b"))
        kw = JOIN_KINDS[p["kind"]][0]
        frm = f"{side(ctx, p, 'fa', 'a')} {kw} {side(ctx, p, 'fb', 'b')}"
        return [f"SELECT {ids} FROM {frm} ON {eq}",
                f"SELECT {ids} FROM {frm} ON ({eq}) IS TRUE"]

    def check(self, ctx, p, rs):
        return differ(rs[0].rows, rs[1].rows, f"{p['kind']} join ON a = b (hash) gives "
                      f"{len(rs[0].rows)} rows, ON (a = b) IS TRUE (nested loop) "
                      f"{len(rs[1].rows)}")


class JoinSemi:
    """Semi and anti joins with any ON condition (LEFT SEMI/ANTI JOIN, correlated [NOT] EXISTS)
    = the left rows that do / do not appear in the inner join with that condition."""

    name = "join_semi"

    def gen(self, g, ctx):
        keys = sized_keys(g, ctx, MAX_ROWS)
        if keys is None:
            return None
        return {"keys": keys, "on": aliased_gen(g, ctx, "ab").expr("bool")}

    def queries(self, ctx, p):
        cond = conj(keys_on(p["keys"]), p["on"].render())
        t, ida = ctx.table, ", ".join(id_items(ctx, "a"))
        return [f"SELECT {ida}, {', '.join(id_items(ctx, 'b'))} FROM {t} a JOIN {t} b ON {cond}",
                f"SELECT {ida} FROM {t} a LEFT SEMI JOIN {t} b ON {cond}",
                f"SELECT {ida} FROM {t} a LEFT ANTI JOIN {t} b ON {cond}",
                f"SELECT {ida} FROM {t} a WHERE EXISTS (SELECT 1 FROM {t} b WHERE {cond})",
                f"SELECT {ida} FROM {t} a WHERE NOT EXISTS (SELECT 1 FROM {t} b WHERE {cond})",
                f"SELECT {', '.join(id_items(ctx))} FROM {t}"]

    def check(self, ctx, p, rs):
        ni = n_id(ctx)
        matched = {r[:ni] for r in rs[0].rows}
        semi = [r for r in rs[5].rows if r in matched]
        anti = [r for r in rs[5].rows if r not in matched]
        for name, r, want in (("LEFT SEMI JOIN", rs[1], semi), ("LEFT ANTI JOIN", rs[2], anti),
                              ("EXISTS", rs[3], semi), ("NOT EXISTS", rs[4], anti)):
            d = differ(r.rows, want, f"{name} gives {len(r.rows)} rows, the left rows of the "
                       f"inner join {len(semi)} of {len(rs[5].rows)} (got vs expected)")
            if d:
                return d
        return None


class JoinTlp:
    name = "join_tlp"

    def gen(self, g, ctx):
        r = g.rng
        keys = sized_keys(g, ctx, MAX_ROWS)
        if keys is None:
            return None
        kind = r.choice(list(JOIN_KINDS))
        p = {"keys": keys, "kind": kind, "p": aliased_gen(g, ctx, "ab", 4).expr("bool"),
             "shape": kind}
        if r.random() < 0.3:
            p["on"] = aliased_gen(g, ctx, "ab").expr("bool")
        return p

    def queries(self, ctx, p):
        on = conj(keys_on(p["keys"]), p["on"].render() if "on" in p else None)
        ids = ", ".join(id_items(ctx, "a") + id_items(ctx, "b"))
        base = f"SELECT {ids} FROM {ctx.table} a {JOIN_KINDS[p['kind']][0]} {ctx.table} b ON {on}"
        return [base] + [f"{base} WHERE {w}" for w in partitions(p["p"])]

    def check(self, ctx, p, rs):
        whole = rs[0].rows
        parts = rs[1].rows + rs[2].rows + rs[3].rows
        return differ(whole, parts, f"join has {len(whole)} rows, WHERE p / NOT p / p IS NULL "
                      f"{len(rs[1].rows)} + {len(rs[2].rows)} + {len(rs[3].rows)}; rows (join "
                      "vs partitions)")


class JoinForms:
    name = "join_forms"

    def gen(self, g, ctx):
        r = g.rng
        keys = sized_keys(g, ctx, MAX_ROWS)
        if keys is None:
            return None
        p = {"keys": keys}
        if r.random() < 0.5:
            p["w"] = aliased_gen(g, ctx, "ab").expr("bool")
        return p

    def queries(self, ctx, p):
        keys = p["keys"]
        on = keys_on(keys)
        w = p["w"].render() if "w" in p else None
        ids = ", ".join(id_items(ctx, "a") + id_items(ctx, "b"))
        out = []
        forms = ["on", "comma", "derived", "cte"]
        using = [Col.sql.fget(k.col) for k in keys if k.col is not None]
        if len(using) == len(keys) and len(set(using)) == len(using):
            forms.append("using")
        for form in forms:
            pre, frm, where = join_from(ctx, form, "JOIN", on, ", ".join(using))
            where = conj(where, w)
            out.append(f"{pre}SELECT {ids} FROM {frm}" + (f" WHERE {where}" if where else ""))
        return out

    def check(self, ctx, p, rs):
        names = ["ON", "comma join + WHERE", "derived tables", "a CTE", "USING"]
        for name, r in zip(names[1:], rs[1:]):
            d = differ(rs[0].rows, r.rows, f"JOIN ON gives {len(rs[0].rows)} rows, {name} "
                       f"{len(r.rows)}")
            if d:
                return d
        return None


class JoinTime:
    """The time-series join: equal keys and time, filters on tags and time in ON and WHERE,
    which the planner pushes into each side's scan (and copies across a.time = b.time)."""

    name = "join_time"

    def gen(self, g, ctx):
        r = g.rng
        tags = [c for c in ctx.cols if c.kind == "tag"]
        keys = [col_node(c) for c in r.sample(tags, min(len(tags), r.choice([0, 1, 1, 2])))]
        keys.append(col_node(ctx.cols[0]))
        if pair_estimate(ctx, keys) > MAX_ROWS:
            return None
        kind = r.choice(list(JOIN_KINDS) + ["inner"])
        conds = {"on": [], "where": []}
        for _ in range(r.choice([1, 2, 2, 3])):
            alias = r.choice("ab")
            if tags and r.random() < 0.4:
                c = Pushdown.tag_pred(g, r.choice(tags))
            else:
                c = Pushdown.time_pred(g, ctx)
            where = "where" if r.random() < 0.6 else "on"
            conds[where].append(qualify(c, alias))
        return {"keys": keys, "kind": kind, "on": conds["on"], "where": conds["where"],
                "shape": kind}

    def queries(self, ctx, p):
        on = conj(keys_on(p["keys"]), *(c.render() for c in p["on"]))
        where = conj(*(c.render() for c in p["where"]))
        where = f" WHERE {where}" if where else ""
        ids = ", ".join(id_items(ctx, "a") + id_items(ctx, "b"))
        kw = JOIN_KINDS[p["kind"]][0]
        t = ctx.table
        return [f"SELECT {ids} FROM {t} a {kw} {t} b ON {on}{where}",
                f"SELECT {ids} FROM (SELECT * FROM {t}) a {kw} (SELECT * FROM {t}) b ON "
                f"{on}{where}"]

    def check(self, ctx, p, rs):
        a, b = rs[0].rows, rs[1].rows
        return differ(a, b, f"join over the tables gives {len(a)} rows, over (SELECT * FROM t) "
                      f"{len(b)}")


# ------------------------------------------------------------------ subqueries


class SubIn:
    """x IN (subquery) and its rewrites against a reference computed from two plain scans;
    correlated on a second column c when params has one."""

    name = "sub_in"
    neg = False

    def gen(self, g, ctx):
        r = g.rng
        if len(ctx.model.rows) > MAX_SCAN:
            return None
        cols = [c for c in ctx.cols if c.ty in KEY_TYPES or c.kind == "time"]
        k = col_node(r.choice(cols)) if r.random() < 0.8 else \
            g.expr(r.choice(["int", "str"]), 2)
        p = {"k": k, "p": g.expr("bool")}
        if r.random() < 0.4:
            p["c"] = col_node(r.choice(cols))
        p["shape"] = "correlated" if "c" in p else "plain"
        return p

    def queries(self, ctx, p):
        k, t = p["k"], ctx.table
        ids = ", ".join(id_items(ctx, "a"))
        corr = f" AND {q(p['c'], 'b')} = {q(p['c'], 'a')}" if "c" in p else ""
        notk = " NOT" if self.neg else ""
        pb = q(p["p"], "b")
        sel = f"{k.render()} AS sk" + (f", {p['c'].render()} AS sc" if "c" in p else "")
        semi_on = f"{q(k, 'a')} = s.sk" + (f" AND {q(p['c'], 'a')} = s.sc" if "c" in p else "")
        c_items = key_null_items([p["c"]]) if "c" in p else []
        return [
            f"SELECT {ids} FROM {t} a WHERE {q(k, 'a')}{notk} IN (SELECT {q(k, 'b')} FROM {t} b "
            f"WHERE ({pb}){corr})",
            f"SELECT {ids} FROM {t} a WHERE{notk} EXISTS (SELECT 1 FROM {t} b WHERE ({pb}) AND "
            f"{q(k, 'b')} = {q(k, 'a')}{corr})",
            f"SELECT {ids} FROM {t} a LEFT {'ANTI' if self.neg else 'SEMI'} JOIN (SELECT {sel} "
            f"FROM {t} WHERE {p['p'].render()}) s ON {semi_on}",
            f"SELECT {', '.join(id_items(ctx) + key_null_items([k]) + c_items)} FROM {t}",
            f"SELECT {', '.join(key_null_items([k]) + c_items)} FROM {t} WHERE {p['p'].render()}",
        ]

    def reference(self, ctx, p, rs):
        """(rows of IN / NOT IN, rows of EXISTS / NOT EXISTS) by Python."""
        ni = n_id(ctx)
        corr = "c" in p
        sets = {}  # correlation value -> list of (k, k is null)
        for row in rs[4].rows:
            if corr and row[3] == "true":
                continue  # b.c = a.c is never true
            sets.setdefault(row[2] if corr else None, []).append((row[0], row[1] == "true"))
        want_in, want_ex = [], []
        for row in rs[3].rows:
            kv, knull = row[ni], row[ni + 1] == "true"
            if corr and row[ni + 3] == "true":
                s = []
            else:
                s = sets.get(row[ni + 2] if corr else None, [])
            vals = {v for v, isnull in s if not isnull}
            has_null = any(isnull for _, isnull in s)
            found = not knull and kv in vals
            if self.neg:
                # NOT IN: true over an empty set; else NULL (dropped) when k or any value is NULL
                if not s or (not knull and not found and not has_null):
                    want_in.append(row[:ni])
                if not found:
                    want_ex.append(row[:ni])
            elif found:
                want_in.append(row[:ni])
                want_ex.append(row[:ni])
        return want_in, want_ex

    def check(self, ctx, p, rs):
        want_in, want_ex = self.reference(ctx, p, rs)
        neg = "NOT " if self.neg else ""
        for name, r, want in ((f"{neg}IN", rs[0], want_in), (f"{neg}EXISTS", rs[1], want_ex),
                              ("anti join" if self.neg else "semi join", rs[2], want_ex)):
            d = differ(r.rows, want, f"{name} gives {len(r.rows)} rows, the reference "
                       f"{len(want)} (rows got vs expected)")
            if d:
                return d
        return None


class SubNotIn(SubIn):
    name = "sub_not_in"
    neg = True


class SubScalar:
    name = "sub_scalar"

    def gen(self, g, ctx):
        r = g.rng
        if len(ctx.model.rows) > MAX_SCAN:
            return None
        cols = [c for c in ctx.cols if c.ty in KEY_TYPES or c.kind == "time"]
        xs = [c for c in ctx.cols if c.kind != "time"] or ctx.cols
        x = col_node(r.choice(xs))
        fns = ["count(*)", "count", "min", "max"]
        if x.ty in ("int", "uint"):
            fns.append("sum")
        if x.ty in ("int", "uint", "float"):
            fns.append("avg")
        p = {"x": x, "fn": r.choice(fns)}
        if r.random() < 0.8:
            p["k"] = col_node(r.choice(cols))
        if r.random() < 0.4:
            p["p"] = g.expr("bool")
        p["shape"] = p["fn"] + (" correlated" if "k" in p else "")
        return p

    @staticmethod
    def agg(p, alias):
        x = q(p["x"], alias) if alias else p["x"].render()
        return "count(*)" if p["fn"] == "count(*)" else f"{p['fn']}({x})"

    def queries(self, ctx, p):
        t = ctx.table
        conds = [f"({q(p['p'], 'b')})"] if "p" in p else []
        if "k" in p:
            conds.append(f"{q(p['k'], 'b')} = {q(p['k'], 'a')}")
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        ids = id_items(ctx, "a")
        out = [f"SELECT {', '.join(ids)}, (SELECT {self.agg(p, 'b')} FROM {t} b{where}) "
               f"FROM {t} a"]
        fw = f" WHERE {p['p'].render()}" if "p" in p else ""
        if "k" in p:
            out += [f"SELECT {', '.join(key_null_items([p['k']]))}, {self.agg(p, None)} FROM {t}"
                    f"{fw} GROUP BY 1, 2",
                    f"SELECT {', '.join(id_items(ctx) + key_null_items([p['k']]))} FROM {t}"]
        else:
            out.append(f"SELECT {self.agg(p, None)} FROM {t}{fw}")
        return out

    def check(self, ctx, p, rs):
        ni = n_id(ctx)
        got = {r[:ni]: r[ni] for r in rs[0].rows}
        if len(got) != len(rs[0].rows):
            return f"a row appears twice in the answer ({len(rs[0].rows)} rows)"
        none = "0" if p["fn"].startswith("count") else ""
        if "k" in p:
            groups, _ = group_rows(rs[1].rows, 1)
            want = {}
            for row in rs[2].rows:
                key = tuple(row[ni:ni + 2])
                want[row[:ni]] = groups[key][0] if key in groups else none
        else:
            v = rs[1].scalar()
            want = {r[:ni]: v for r in rs[0].rows}
        if set(got) != set(want):
            return f"the outer query has {len(got)} rows, the table {len(want)}"
        for rid, w in want.items():
            g = got[rid]
            if g != w and not (p["fn"] == "avg" and close_float(g, w)) and \
                    not ({g, w} <= {"0.0", "-0.0"}):
                return (f"row {','.join(rid)}: the scalar subquery gives {g!r}, the GROUP BY "
                        f"answer {w!r}")
        return None


class SubCompare:
    """A scalar subquery in WHERE = its value joined in: uncorrelated, a cross join with the
    one-row aggregate; correlated on k, a LEFT JOIN of the aggregate grouped by k (count
    over no rows is 0)."""

    name = "sub_cmp"

    def gen(self, g, ctx):
        r = g.rng
        if len(ctx.model.rows) > MAX_SCAN:
            return None
        xs = [c for c in ctx.cols if c.ty in ("int", "uint", "float", "str")]
        if not xs:
            return None
        x = col_node(r.choice(xs))
        fns = ["min", "max"] + (["count", "sum", "avg"] if x.ty != "str" else [])
        p = {"x": x, "fn": r.choice(fns), "op": r.choice(["=", "<", ">=", "<>"])}
        if r.random() < 0.6:
            p["k"] = col_node(r.choice([c for c in ctx.cols if c.ty in KEY_TYPES] or
                                       [ctx.cols[0]]))
        if r.random() < 0.5:
            p["p"] = g.expr("bool")
        p["shape"] = p["fn"] + (" correlated" if "k" in p else "")
        return p

    def queries(self, ctx, p):
        t, fn, op = ctx.table, p["fn"], p["op"]
        ids = ", ".join(id_items(ctx, "a"))
        conds = [f"({q(p['p'], 'b')})"] if "p" in p else []
        if "k" in p:
            conds.append(f"{q(p['k'], 'b')} = {q(p['k'], 'a')}")
        where = f" WHERE {' AND '.join(conds)}" if conds else ""
        xa = q(p["x"], "a")
        fw = f" WHERE {p['p'].render()}" if "p" in p else ""
        out = [f"SELECT {ids} FROM {t} a WHERE {xa} {op} (SELECT {fn}({q(p['x'], 'b')}) FROM "
               f"{t} b{where})"]
        if "k" in p:
            v = "coalesce(s.v, 0)" if fn == "count" else "s.v"
            out.append(f"SELECT {ids} FROM {t} a LEFT JOIN (SELECT {p['k'].render()} AS sk, "
                       f"{fn}({p['x'].render()}) AS v FROM {t}{fw} GROUP BY 1) s ON "
                       f"{q(p['k'], 'a')} = s.sk WHERE {xa} {op} {v}")
        else:
            out.append(f"SELECT {ids} FROM {t} a, (SELECT {fn}({p['x'].render()}) AS v FROM "
                       f"{t}{fw}) s WHERE {xa} {op} s.v")
        return out

    def check(self, ctx, p, rs):
        return differ(rs[0].rows, rs[1].rows, f"WHERE x {p['op']} (scalar subquery) gives "
                      f"{len(rs[0].rows)} rows, with the value joined in {len(rs[1].rows)}")


def close_float(a, b, rel=1e-9):
    try:
        fa, fb = float(a), float(b)
    except ValueError:
        return False
    if fa == fb or (math.isnan(fa) and math.isnan(fb)):
        return True
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return False
    return abs(fa - fb) <= rel * max(abs(fa), abs(fb))


# ------------------------------------------------------------------ windows

RANKING = ("row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile")
VALUE_FNS = ("lag", "lead", "first_value", "last_value", "nth_value")
AGGS = ("count(*)", "count", "sum", "min", "max", "avg")
ORDER_TYPES = ("int", "uint", "str", "bool")


def parse_val(ty, text, isnull):
    if isnull:
        return None
    if ty in ("int", "uint"):
        return int(text)
    if ty == "float":
        return float(text)
    if ty == "bool":
        return text == "true"
    return text


class Window:
    """One window function over the table (optionally filtered), checked row by row against
    Python: rows are fetched with their identity, partition and order keys and argument, sorted
    as the ORDER BY says (ASC NULLS LAST, DESC NULLS FIRST by default) and the function
    computed over each row's frame."""

    name = "window"

    def gen(self, g, ctx):
        r = g.rng
        if len(ctx.model.rows) > MAX_SCAN:
            return None
        fn = r.choice(RANKING + VALUE_FNS + AGGS + AGGS)
        pcols = [c for c in ctx.cols if c.ty in KEY_TYPES]
        part = [col_node(c) for c in r.sample(pcols, min(len(pcols), r.choice([0, 1, 1, 2])))]
        ocols = [c for c in ctx.cols if c.ty in ORDER_TYPES] + [ctx.cols[0]]
        keys = []
        for _ in range(r.choice([0, 1, 1, 1, 2])):
            keys.append(col_node(r.choice(ocols)) if r.random() < 0.85 else g.expr("int", 2))
        dirs = [(r.choice(["", " ASC", " DESC"]), r.choice(["", "", " NULLS FIRST",
                                                            " NULLS LAST"])) for _ in keys]
        xs = [c for c in ctx.cols if c.kind != "time"] or ctx.cols
        x = col_node(r.choice(xs)) if r.random() < 0.8 else \
            g.expr(r.choice(["int", "float", "str"]), 2)
        p = {"fn": fn, "part": part, "keys": keys, "dirs": dirs, "x": x,
             "unique": fn in ("row_number", "ntile") + VALUE_FNS or r.random() < 0.3}
        if fn == "ntile":
            p["n"] = r.choice([1, 2, 3, 4, 7, 100])
        if fn in ("lag", "lead"):
            p["n"] = r.choice([0, 1, 1, 2, 3])
            if r.random() < 0.5:
                p["default"] = g.literal(x.ty)
        if fn == "nth_value":
            p["n"] = r.choice([1, 1, 2, 3, 5])
        if fn in AGGS + ("first_value", "last_value", "nth_value") and r.random() < 0.7:
            p["frame"] = self.frame(r, p, ctx.precision)
        if r.random() < 0.25:
            p["where"] = g.expr("bool")
        if r.random() < 0.4:
            # a second window, sorted differently, in the same SELECT: count(*) over the whole
            # partition by another column, checked too
            p["extra"] = col_node(r.choice(pcols or [ctx.cols[0]]))
        p["shape"] = fn + (" " + p["frame"][0] if "frame" in p else "") + \
            ("" if fn in RANKING else f" {x.ty}")
        return p

    @staticmethod
    def frame(r, p, precision):
        modes = ["ROWS", "GROUPS", "RANGE"]
        mode = r.choice(modes)
        single = len(p["keys"]) == 1 and not p["unique"]
        numeric = single and p["keys"][0].ty in ("int", "uint")
        bounds = [["UP"], ["P", r.choice([0, 1, 2, 5, 100])], ["C"],
                  ["F", r.choice([0, 1, 2, 5, 100])], ["UF"]]
        if mode == "RANGE" and single and p["keys"][0].col is not None and \
                p["keys"][0].col.kind == "time":
            # RANGE over time takes INTERVAL offsets; the reference works in the table's unit
            bounds = [["UP"], Window.interval(r, "P", precision), ["C"],
                      Window.interval(r, "F", precision), ["UF"]]
        elif mode == "RANGE" and not numeric:
            bounds = [["UP"], ["C"], ["UF"]]
        if mode == "ROWS":
            p["unique"] = True
        if mode == "GROUPS" and not p["keys"] and not p["unique"]:
            p["unique"] = True
        i = r.randrange(len(bounds) - 1)
        j = r.randrange(max(i, 1), len(bounds))
        return [mode, bounds[i], bounds[j]]

    @staticmethod
    def interval(r, kind, precision):
        """A bound of INTERVAL n unit: [kind, offset in the table's unit, SQL text]."""
        n, unit, ns = r.choice([(0, "seconds", 10**9), (1, "second", 10**9),
                                (90, "seconds", 10**9), (1, "minute", 60 * 10**9),
                                (2, "hours", 3600 * 10**9), (1, "day", 86400 * 10**9),
                                (500, "milliseconds", 10**6), (1, "microsecond", 1000),
                                (3, "nanoseconds", 1)])
        per = UNIT_NS[precision]
        if (n * ns) % per:
            n, unit, ns = 1, "second", 10**9  # not a whole number of the table's unit
        return [kind, n * ns // per, f"INTERVAL '{n} {unit}'"]

    @staticmethod
    def bound_sql(b, start):
        return {"UP": "UNBOUNDED PRECEDING", "C": "CURRENT ROW",
                "UF": "UNBOUNDED FOLLOWING"}.get(b[0]) or \
            f"{b[2] if len(b) > 2 else b[1]} {'PRECEDING' if b[0] == 'P' else 'FOLLOWING'}"

    def order_nodes(self, ctx, p):
        """The ORDER BY items as (sql, fetched item, type, desc, nulls first)."""
        out = []
        for k, (d, nl) in zip(p["keys"], p["dirs"]):
            desc = d == " DESC"
            nf = nl == " NULLS FIRST" or (nl == "" and desc)
            item = k.render() if k.ty != "ts" else f"CAST({k.render()} AS BIGINT)"
            out.append((f"{k.render()}{d}{nl}", item, "int" if k.ty == "ts" else k.ty, desc,
                        nf))
        if p["unique"]:
            out.append(("time", "CAST(time AS BIGINT)", "int", False, False))
            for c in ctx.cols:
                if c.kind == "tag":
                    out.append((Col.sql.fget(c), Col.sql.fget(c), "str", False, False))
        return out

    def call(self, p):
        fn, x = p["fn"], p["x"].render()
        if fn in ("row_number", "rank", "dense_rank", "percent_rank", "cume_dist"):
            return f"{fn}()"
        if fn == "ntile":
            return f"ntile({p['n']})"
        if fn in ("lag", "lead"):
            d = f", {p['default'].render()}" if "default" in p else ""
            return f"{fn}({x}, {p['n']}{d})"
        if fn == "nth_value":
            return f"nth_value({x}, {p['n']})"
        if fn == "count(*)":
            return "count(*)"
        return f"{fn}({x})"

    def queries(self, ctx, p):
        order = self.order_nodes(ctx, p)
        over = []
        if p["part"]:
            over.append("PARTITION BY " + render_list(p["part"]))
        if order:
            over.append("ORDER BY " + ", ".join(o[0] for o in order))
        if "frame" in p:
            mode, b1, b2 = p["frame"]
            over.append(f"{mode} BETWEEN {self.bound_sql(b1, True)} AND "
                        f"{self.bound_sql(b2, False)}")
        items = id_items(ctx) + key_null_items(p["part"])
        for o in order:
            items += [o[1], f"({o[1]}) IS NULL"]
        items += key_null_items([p["x"]])
        items.append(p["default"].render() if "default" in p else "NULL")
        if "extra" in p:
            e = p["extra"].render()
            items += key_null_items([p["extra"]])
            items.append(f"count(*) OVER (PARTITION BY {e} ORDER BY time DESC ROWS BETWEEN "
                         "UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)")
        items.append(f"{self.call(p)} OVER ({' '.join(over)})")
        where = f" WHERE {p['where'].render()}" if "where" in p else ""
        return [f"SELECT {', '.join(items)} FROM {ctx.table}{where}"]

    def check(self, ctx, p, rs):
        ni, npart = n_id(ctx), 2 * len(p["part"])
        order = self.order_nodes(ctx, p)
        no = 2 * len(order)
        parts = {}
        for row in rs[0].rows:
            parts.setdefault(row[ni:ni + npart], []).append(row)
        if "extra" in p:
            sizes = multiset(r[-4:-2] for r in rs[0].rows)
            for row in rs[0].rows:
                if row[-2] != str(sizes[row[-4:-2]]):
                    return (f"row {','.join(row[:ni])}: the second window, count(*) OVER "
                            f"(PARTITION BY {p['extra'].render()}), = {row[-2]}, the partition "
                            f"has {sizes[row[-4:-2]]} rows")
        for rows in parts.values():
            rows.sort(key=functools.cmp_to_key(lambda a, b: self.cmp(order, ni + npart, a, b)))
            d = self.check_partition(p, order, ni + npart, no, rows)
            if d:
                return d
        return None

    @staticmethod
    def okey(order, base, row):
        return [parse_val(o[2], row[base + 2 * i], row[base + 2 * i + 1] == "true")
                for i, o in enumerate(order)]

    def cmp(self, order, base, a, b):
        ka, kb = self.okey(order, base, a), self.okey(order, base, b)
        for (_, _, _, desc, nf), x, y in zip(order, ka, kb):
            if x == y:
                continue
            if x is None or y is None:
                return (-1 if x is None else 1) * (1 if nf else -1)
            c = -1 if x < y else 1
            return -c if desc else c
        return 0

    def check_partition(self, p, order, base, no, rows):
        n = len(rows)
        keys = [tuple(self.okey(order, base, r)) for r in rows]
        # peer groups: rows equal on every ORDER BY key
        gid, firsts = [], []
        for i in range(n):
            if i == 0 or keys[i] != keys[i - 1]:
                firsts.append(i)
            gid.append(len(firsts) - 1)
        lasts = firsts[1:] + [n]
        xi = base + no
        xty = p["x"].ty
        xs = [parse_val(xty, r[xi], r[xi + 1] == "true") for r in rows]
        xtext = [r[xi] for r in rows]
        poss = None
        if "frame" in p and p["frame"][0] == "RANGE" and \
                any(b[0] in ("P", "F") for b in p["frame"][1:]):
            desc, nf = order[0][3], order[0][4]
            # the key as an ascending position, NULLs first or last as the ORDER BY puts them
            poss = [(-math.inf if nf else math.inf) if k[0] is None else (-k[0] if desc else k[0])
                    for k in keys]
        for i, row in enumerate(rows):
            if n > 400 and not (i < 50 or i >= n - 50 or i % (n // 200) == 0):
                continue  # a large partition: the ends and a sample of the rest
            got = row[-1]
            fn = p["fn"]
            if fn in RANKING:
                rank = firsts[gid[i]] + 1
                want = {"row_number": i + 1, "rank": rank, "dense_rank": gid[i] + 1,
                        "percent_rank": (rank - 1) / (n - 1) if n > 1 else 0.0,
                        "cume_dist": lasts[gid[i]] / n,
                        "ntile": i * p.get("n", 1) // n + 1}[fn]
                ok = close_float(got, want) if isinstance(want, float) else got == str(want)
            elif fn in ("lag", "lead"):
                j = i - p["n"] if fn == "lag" else i + p["n"]
                want = xtext[j] if 0 <= j < n else row[xi + 2]
                ok = got == want or (xty == "float" and close_float(got, want, 0))
            else:
                lo, hi = self.frame_of(p, keys, firsts, lasts, gid, i, n, poss)
                want, ok = self.agg_check(p, xs, xtext, lo, hi, got)
            if not ok:
                if self.offset_overflows(p, order, keys[i]):
                    # a class of its own: the key plus the offset leaves the key's type
                    p["shape"] = p["shape"].split(" overflow")[0] + " overflow"
                what = self.call(p) + (f" over rows {lo}..{hi}" if fn not in RANKING +
                                       ("lag", "lead") else "")
                return (f"row {','.join(row[:-1])} (position {i + 1} of {n} in its partition): "
                        f"{what} = {got!r}, expected {want!r}")
        return None

    @staticmethod
    def offset_overflows(p, order, key):
        if "frame" not in p or p["frame"][0] != "RANGE" or not key or key[0] is None:
            return False
        # BIGINT UNSIGNED keys past BIGINT's end belong to the class too (finding 019: the
        # bounds are computed in BIGINT)
        lo, hi = (0 if order[0][2] == "uint" else -(2**63)), 2**63 - 1
        offs = [b[1] for b in p["frame"][1:] if b[0] in ("P", "F")]
        return any(not lo <= key[0] + d <= hi for o in offs for d in (o, -o))

    def frame_of(self, p, keys, firsts, lasts, gid, i, n, poss):
        """[lo, hi] of row i's frame (lo > hi: empty); poss: the positions of a RANGE key."""
        if "frame" not in p:
            return 0, lasts[gid[i]] - 1  # without ORDER BY, every row is a peer
        mode, b1, b2 = p["frame"]
        return (self.bound(mode, b1, True, keys, firsts, lasts, gid, i, n, poss),
                self.bound(mode, b2, False, keys, firsts, lasts, gid, i, n, poss))

    @staticmethod
    def bound(mode, b, start, keys, firsts, lasts, gid, i, n, poss):
        kind = b[0]
        if kind == "UP":
            return 0
        if kind == "UF":
            return n - 1
        if mode == "ROWS":
            off = 0 if kind == "C" else (-b[1] if kind == "P" else b[1])
            return i + off
        if mode == "GROUPS" or kind == "C":
            off = 0 if kind == "C" else (-b[1] if kind == "P" else b[1])
            g = gid[i] + off
            if g < 0:
                return 0 if start else -1
            if g >= len(firsts):
                return n if start else n - 1
            return firsts[g] if start else lasts[g] - 1
        # RANGE with an offset over one numeric key: a NULL row's frame is its NULL peers;
        # otherwise the bounds are searched in the sorted rows, where NULLs stand first or
        # last as the ORDER BY puts them (as DataFusion's bisection over the sort does)
        if keys[i][0] is None:
            return firsts[gid[i]] if start else lasts[gid[i]] - 1
        lim = poss[i] + (b[1] if kind == "F" else -b[1])
        if start:
            return bisect.bisect_left(poss, lim)
        return bisect.bisect_right(poss, lim) - 1

    @staticmethod
    def agg_check(p, xs, xtext, lo, hi, got):
        fn, xty = p["fn"], p["x"].ty
        lo, hi = max(lo, 0), min(hi, len(xs) - 1)
        fr = list(range(lo, hi + 1)) if lo <= hi else []
        vals = [xs[j] for j in fr if xs[j] is not None]
        if fn == "count(*)":
            return len(fr), got == str(len(fr))
        if fn == "count":
            return len(vals), got == str(len(vals))
        if fn == "first_value":
            want = xtext[lo] if fr else ""
            return want, got == want or close_float(got, want, 0)
        if fn == "last_value":
            want = xtext[hi] if fr else ""
            return want, got == want or close_float(got, want, 0)
        if fn == "nth_value":
            j = lo + p["n"] - 1
            want = xtext[j] if fr and j <= hi else ""
            return want, got == want or close_float(got, want, 0)
        if not vals:
            return "", got == ""
        if fn in ("min", "max"):
            want = (min if fn == "min" else max)(vals)
            if xty == "float" and any(math.isnan(v) for v in vals):
                # NaN is above every number (DataFusion's total order for floats)
                nums = [v for v in vals if not math.isnan(v)]
                want = min(nums) if fn == "min" and nums else math.nan
            if xty == "float":
                return want, close_float(got, repr(want), 0) or \
                    (want == 0 and got in ("0.0", "-0.0"))
            if xty == "bool":
                return want, got == ("true" if want else "false")
            if xty in ("int", "uint"):
                return want, got == str(want)
            # strings: the text itself; timestamps and others: one of the frame's values
            return want, got == want if xty == "str" else got in [xtext[j] for j in fr]
        if xty in ("int", "uint") and fn == "sum":
            want = sum(vals)
            return want, got != "" and (int(got) - want) % 2**64 == 0
        if xty not in ("int", "uint", "float"):
            return None, True  # sum/avg of other types: an error or a coercion, not checked
        if any(not math.isfinite(v) for v in vals):
            return None, True  # Inf/NaN in the frame: the order of the additions decides
        try:
            want = math.fsum(vals) if fn == "sum" else math.fsum(vals) / len(vals)
            absum = math.fsum(abs(v) for v in vals)
        except OverflowError:
            return None, True
        if not math.isfinite(absum):
            return want, True
        if xty in ("int", "uint"):
            absum += len(vals)  # ints summed in DOUBLE round to 1 ulp each
        try:
            g = float(got)
        except ValueError:
            return want, False
        scale = absum / (len(vals) if fn == "avg" else 1)
        return want, abs(g - want) <= 1e-9 * scale + 1e-300


class WindowFilter:
    """A filter over a window's subquery = the same filter computed inside it and applied
    after: a filter may go below a window only when it reads nothing but the PARTITION BY
    keys, so the planner must not push any other."""

    name = "window_filter"

    def gen(self, g, ctx):
        r = g.rng
        if len(ctx.model.rows) > MAX_SCAN:
            return None
        tags = [c for c in ctx.cols if c.kind == "tag"]
        pcols = [c for c in ctx.cols if c.ty in KEY_TYPES]
        part = [col_node(c) for c in r.sample(pcols, min(len(pcols), r.choice([0, 1, 1, 2])))]
        xs = [c for c in ctx.cols if c.ty in ("int", "uint", "float")] or ctx.cols
        p = {"part": part, "x": col_node(r.choice(xs)),
             "fn": r.choice(["row_number", "count", "sum", "rank", "lag", "min"])}
        if r.random() < 0.5 and (part or tags):
            # over the partition keys (or tags) only: a filter that may be pushed down
            cols = [n.col for n in part] or tags
            p["p"] = ExprGen(r, cols, ctx.precision, g.pools, max_depth=3).expr("bool")
        else:
            p["p"] = g.expr("bool")
        p["shape"] = p["fn"]
        return p

    @staticmethod
    def window(ctx, p):
        part = f"PARTITION BY {render_list(p['part'])} " if p["part"] else ""
        uniq = ", ".join(["time"] + [Col.sql.fget(c) for c in ctx.cols if c.kind == "tag"])
        x = p["x"].render()
        return {"row_number": f"row_number() OVER ({part}ORDER BY {uniq})",
                "count": f"count(*) OVER ({part})",
                "sum": f"sum({x}) OVER ({part}ORDER BY {uniq})",
                "rank": f"rank() OVER ({part}ORDER BY {x})",
                "lag": f"lag({x}) OVER ({part}ORDER BY {uniq})",
                "min": f"min({x}) OVER ({part}ORDER BY {uniq} ROWS BETWEEN 1 PRECEDING AND 1 "
                       "FOLLOWING)"}[p["fn"]]

    def queries(self, ctx, p):
        cols = ", ".join(Col.sql.fget(c) for c in ctx.cols)
        ids = ", ".join(id_items(ctx))
        w, pr = self.window(ctx, p), p["p"].render()
        return [f"SELECT {ids}, w FROM (SELECT {cols}, {w} AS w FROM {ctx.table}) WHERE {pr}",
                f"SELECT {ids}, w FROM (SELECT {cols}, {w} AS w, ({pr}) AS pv FROM "
                f"{ctx.table}) WHERE pv"]

    def check(self, ctx, p, rs):
        return differ(rs[0].rows, rs[1].rows, f"WHERE p over the window's subquery gives "
                      f"{len(rs[0].rows)} rows, p computed inside and applied after "
                      f"{len(rs[1].rows)}")


class WindowGroup:
    """Aggregates OVER (PARTITION BY k) equal the GROUP BY k aggregates on every row of the
    group, and max(row_number()) over a partition is its count."""

    name = "window_group"

    def gen(self, g, ctx):
        r = g.rng
        keys = [col_node(r.choice(ctx.cols)) if r.random() < 0.75 else
                g.expr(r.choice(["int", "str", "bool"]), 2) for _ in range(r.choice([1, 1, 2]))]
        ty = r.choice(["int", "str", "uint", "bool", "float"])
        x = g.leaf(ty)
        p = {"keys": keys, "x": x}
        if r.random() < 0.3:
            p["where"] = g.expr("bool")
        return p

    @staticmethod
    def aggs(p):
        x = p["x"].render()
        out = ["count(*)", f"count({x})"]
        if p["x"].ty != "bool":
            out += [f"min({x})", f"max({x})"]
        if p["x"].ty in ("int", "uint"):
            out.append(f"sum({x})")
        return out

    def queries(self, ctx, p):
        k = key_items(p["keys"])
        ks = ", ".join(k)
        part = render_list(p["keys"])
        where = f" WHERE {p['where'].render()}" if "where" in p else ""
        aggs = self.aggs(p)
        wins = [f"{a} OVER (PARTITION BY {part}) AS w{i}" for i, a in enumerate(aggs)]
        wins.append(f"row_number() OVER (PARTITION BY {part} ORDER BY time) AS rn")
        gb = ", ".join(str(i + 1) for i in range(len(k)))
        outer = [f"min(w{i}), max(w{i})" for i in range(len(aggs))]
        return [f"SELECT {ks}, {', '.join(aggs)}, count(*) FROM {ctx.table}{where} GROUP BY {gb}",
                f"SELECT {', '.join(f'k{i}' for i in range(len(k)))}, {', '.join(outer)}, "
                f"max(rn) FROM (SELECT {', '.join(f'{e} AS k{i}' for i, e in enumerate(k))}, "
                f"{', '.join(wins)} FROM {ctx.table}{where}) GROUP BY {gb}"]

    def check(self, ctx, p, rs):
        nk = len(key_items(p["keys"]))
        types = key_types(p["keys"])
        na = len(self.aggs(p))
        want = {norm_zero(r[:nk], types): r[nk:] for r in rs[0].rows}
        got = {}
        for r in rs[1].rows:
            k = norm_zero(r[:nk], types)
            if k in got:
                return f"partition {k} appears twice after GROUP BY"
            got[k] = r[nk:]
        if set(want) != set(got):
            return (f"GROUP BY has {len(want)} groups, the windows' partitions {len(got)}: "
                    f"only in GROUP BY {[k for k in want if k not in got][:3]}, only in the "
                    f"windows {[k for k in got if k not in want][:3]}")
        names = self.aggs(p)
        for k, w in want.items():
            g = got[k]
            for i in range(na):
                lo, hi = g[2 * i], g[2 * i + 1]
                if lo != hi:
                    return f"partition {k}: {names[i]} OVER differs between its rows ({lo}, {hi})"
                if lo != w[i] and not ({lo, w[i]} <= {"0.0", "-0.0"}):
                    return f"partition {k}: {names[i]} OVER = {lo!r}, GROUP BY gives {w[i]!r}"
            if g[-1] != w[-1]:
                return f"partition {k}: max(row_number()) = {g[-1]}, count(*) = {w[-1]}"
        return None


# ------------------------------------------------------------------ set operations


def set_items(g, ctx):
    r = g.rng
    items = []
    for _ in range(r.choice([1, 1, 2, 3])):
        if r.random() < 0.7:
            items.append(col_node(r.choice(ctx.cols)))
        else:
            items.append(g.expr(r.choice(["int", "str", "bool", "ts", "uint", "float"]), 1))
    return items


class SetTlp:
    name = "set_tlp"

    def gen(self, g, ctx):
        return {"p": g.expr("bool"), "items": set_items(g, ctx)}

    def queries(self, ctx, p):
        sel = f"SELECT {', '.join(key_items(p['items']))} FROM {ctx.table}"
        parts = [f"{sel} WHERE {w}" for w in partitions(p["p"])]
        return [f"SELECT DISTINCT {', '.join(key_items(p['items']))} FROM {ctx.table}",
                " UNION ".join(parts), sel, " UNION ALL ".join(parts),
                f"SELECT count(*) FROM ({' UNION ALL '.join(parts)})",
                f"SELECT count(*) FROM {ctx.table}"]

    def check(self, ctx, p, rs):
        types = key_types(p["items"])
        whole = [norm_zero(r, types) for r in rs[0].rows]
        union = [norm_zero(r, types) for r in rs[1].rows]
        if len(set(union)) != len(union):
            return "UNION returned a row twice:\n" + multiset_diff(union, list(set(union)))
        if set(whole) != set(union):
            return ("rows (DISTINCT of the whole vs UNION of the partitions):\n"
                    + multiset_diff(whole, union))
        if multiset(rs[2].rows) != multiset(rs[3].rows):
            return ("rows (the whole vs UNION ALL of the partitions):\n"
                    + multiset_diff(rs[2].rows, rs[3].rows))
        if rs[4].scalar() != rs[5].scalar():
            return f"count(*) over UNION ALL of the partitions {rs[4].scalar()}, of the table " \
                f"{rs[5].scalar()}"
        return None


class SetRef:
    name = "set_ref"
    OPS = ["UNION", "UNION ALL", "INTERSECT", "INTERSECT ALL", "EXCEPT", "EXCEPT ALL"]

    def gen(self, g, ctx):
        r = g.rng
        p = {"items": set_items(g, ctx), "p1": g.expr("bool"), "p2": g.expr("bool"),
             "op": r.choice(self.OPS)}
        if r.random() < 0.2:
            p["items2"] = [g.expr(i.ty, 1) if r.random() < 0.5 else g.leaf(i.ty)
                           for i in p["items"]]
        if r.random() < 0.3:
            # ORDER BY and LIMIT over the whole set operation
            p["limit"] = r.choice([0, 1, 2, 5, 20])
        p["shape"] = p["op"] + (" LIMIT" if "limit" in p else "")
        return p

    def queries(self, ctx, p):
        s1 = f"SELECT {', '.join(key_items(p['items']))} FROM {ctx.table} WHERE {p['p1'].render()}"
        s2 = (f"SELECT {', '.join(key_items(p.get('items2') or p['items']))} FROM {ctx.table} "
              f"WHERE {p['p2'].render()}")
        end = ""
        if "limit" in p:
            n = len(key_items(p["items"]))
            end = f" ORDER BY {', '.join(str(i + 1) for i in range(n))} LIMIT {p['limit']}"
        return [s1, s2, f"{s1} {p['op']} {s2}{end}"]

    def check(self, ctx, p, rs):
        types = key_types(p["items"])
        a = [norm_zero(r, types) for r in rs[0].rows]
        b = [norm_zero(r, types) for r in rs[1].rows]
        got = [norm_zero(r, types) for r in rs[2].rows]
        sb = set(b)
        op = p["op"]
        want = {"UNION": list(set(a + b)), "UNION ALL": a + b,
                "INTERSECT": list({r for r in a if r in sb}),
                "INTERSECT ALL": [r for r in a if r in sb],
                "EXCEPT": list({r for r in a if r not in sb}),
                "EXCEPT ALL": [r for r in a if r not in sb]}[op]
        if "float" in types and "ALL" not in op:
            # NaN, and -0.0 vs 0.0, as one value: which of equal rows survives is open
            got, want = list(set(got)), list(set(want))
        if "limit" in p:
            # LIMIT n of the ordered whole: n rows (or all), each one of the whole's
            mg, mw = multiset(got), multiset(want)
            extra = [k for k in mg if mg[k] > mw.get(k, 0)]
            if len(got) != min(p["limit"], len(want)) or extra:
                return (f"{op} ... LIMIT {p['limit']} gives {len(got)} rows of a whole of "
                        f"{len(want)}; rows not in the whole: {extra[:3]}")
            return None
        return differ(got, want, f"{op} gives {len(got)} rows, Python over the inputs' "
                      f"{len(a)} and {len(b)} rows {len(want)} (got vs expected)")


# ------------------------------------------------------------------ grouping sets


class Grouping:
    name = "grouping"

    def gen(self, g, ctx):
        r = g.rng
        cols = [c for c in ctx.cols if c.ty in KEY_TYPES]
        if not cols:
            return None
        keys = [col_node(c) for c in r.sample(cols, min(len(cols), r.choice([1, 2, 2, 3])))]
        xs = [c for c in ctx.cols if c.kind != "time"]
        x = col_node(r.choice(xs))
        kind = r.choice(["ROLLUP", "CUBE", "SETS"])
        p = {"keys": keys, "x": x, "kind": kind, "shape": kind}
        if kind == "SETS":
            n = len(keys)
            p["sets"] = [sorted(r.sample(range(n), r.randint(0, n)))
                         for _ in range(r.randint(1, 4))]
            # a key that no set groups by cannot be selected
            missing = [i for i in range(n) if not any(i in s for s in p["sets"])]
            if missing:
                p["sets"].append(missing)
        if r.random() < 0.3:
            p["where"] = g.expr("bool")
        return p

    def sets(self, p):
        n = len(p["keys"])
        if p["kind"] == "ROLLUP":
            return [list(range(i)) for i in range(n, -1, -1)]
        if p["kind"] == "CUBE":
            return [[i for i in range(n) if m >> i & 1] for m in range(2**n)]
        sets = [s for s in p["sets"] if all(i < n for i in s)]
        if any(not any(i in s for s in sets) for i in range(n)):
            return []  # the reducer dropped a set: a key no set has cannot be selected
        return sets

    def aggs(self, p):
        x = p["x"].render()
        out = ["count(*)", f"count({x})"]
        if p["x"].ty != "bool":
            out += [f"min({x})", f"max({x})"]
        if p["x"].ty in ("int", "uint"):
            out.append(f"sum({x})")
        return out

    def queries(self, ctx, p):
        keys = p["keys"]
        where = f" WHERE {p['where'].render()}" if "where" in p else ""
        items = ", ".join(key_null_items(keys) + self.aggs(p))
        k = render_list(keys)
        sets = self.sets(p)
        if not sets:
            return None
        if p["kind"] == "SETS":
            gb = "GROUPING SETS (" + ", ".join(
                "(" + ", ".join(keys[i].render() for i in s) + ")" for s in sets) + ")"
        else:
            gb = f"{p['kind']}({k})"
        out = [f"SELECT {items} FROM {ctx.table}{where} GROUP BY {gb}",
               f"SELECT count(*) FROM {ctx.table}{where}"]
        for s in sets:
            sel = ", ".join(item for i in range(len(keys)) if i in s
                            for item in key_null_items([keys[i]]))
            sel = ", ".join(x for x in [sel, ", ".join(self.aggs(p))] if x)
            g = f" GROUP BY {', '.join(keys[i].render() for i in s)}" if s else ""
            out.append(f"SELECT {sel} FROM {ctx.table}{where}{g}")
        return out

    def check(self, ctx, p, rs):
        nk = len(p["keys"])
        want = []
        empty = rs[1].scalar() == "0"
        for s, r in zip(self.sets(p), rs[2:]):
            if not s and empty:
                continue  # an empty input gives no rows (as DataFusion)
            for row in r.rows:
                vals = list(row[:2 * len(s)])
                full = []
                for i in range(nk):
                    full += [vals.pop(0), vals.pop(0)] if i in s else ["", "true"]
                want.append(tuple(full) + row[2 * len(s):])
        got = rs[0].rows
        if p["x"].ty == "float":
            types = ["x"] * (2 * nk + 2) + ["float", "float"]
            got = [norm_zero(r, types) for r in got]
            want = [norm_zero(r, types) for r in want]
        return differ(got, want, f"GROUP BY {p['kind']} gives {len(got)} rows, the GROUP BY "
                      f"of each set {len(want)} (got vs expected)")


REL_ORACLES = [JoinCount(), JoinOuter(), JoinHash(), JoinSemi(), JoinTlp(), JoinForms(),
               JoinTime(), SubIn(), SubNotIn(), SubScalar(), SubCompare(), Window(),
               WindowFilter(), WindowGroup(), SetTlp(), SetRef(), Grouping()]
REL_WEIGHTS = {"join_count": 6, "join_outer": 5, "join_hash": 5, "join_semi": 4, "join_tlp": 5,
               "join_forms": 4, "join_time": 5, "sub_in": 4, "sub_not_in": 4, "sub_scalar": 4,
               "sub_cmp": 4, "window": 12, "window_filter": 5, "window_group": 4, "set_tlp": 4,
               "set_ref": 5, "grouping": 4}
