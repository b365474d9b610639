"""Test oracles: each turns a random choice of parameters into queries and checks that the
answers agree with each other (or with the model of the data).

An oracle is a class with
  gen(g, ctx)            -> params (a dict of Nodes and plain values), from the ExprGen g
  queries(ctx, params)   -> list of SQL texts
  check(ctx, params, rs) -> None if consistent, else a text saying what differs
where `rs` holds one `Result` per query. If any query answered an error below 500 (a type
error, an overflow, a cast of a bad value...), the check is skipped: SQL does not fix the
order in which a filter and an expression see the rows, so one side may fail where the other
does not.

The oracles (SQLancer's TLP and NoREC, plus differential ones):
  model       count(*) and count(c) of every column equal what was written (after merges of
              a repeated (series, time), deletes, compactions and restarts), and DESCRIBE
              TABLE lists the columns, types and codecs the steps made
  tlp_where   rows of the table = rows WHERE p + WHERE NOT p + WHERE p IS NULL (multisets)
  tlp_count   the same with count(*)
  tlp_agg     min/max/count/sum over the three partitions recombine to the whole
  tlp_group   the same per GROUP BY group
  tlp_distinct  SELECT DISTINCT: the union of the partitions' rows is the whole's
  tlp_having  groups of the whole = HAVING p + HAVING NOT p + HAVING p IS NULL
  pushdown    a filter on tags and time that the planner pushes into the scan gives the rows
              the same filter gives over a subquery (which nothing is pushed into)
  norec       count(*) WHERE p = count(CASE WHEN p THEN 1 END) (filter vs projection)
  fold        an expression over one stored row = the same expression over literals of that
              row's values (vector kernels vs constant folding)
  topn        ORDER BY ... LIMIT n OFFSET m = the full sort's slice; the full sort is ordered
  minmax      max(x)/min(x) = the first row of ORDER BY x DESC/ASC (NULLs last)
  group_filter  group v of GROUP BY k = the aggregates WHERE k = v (every aggregate)
  formats     chunked CSV = CSV byte for byte; JSON, ND-JSON, TSV parse and have its rows
  limit       LIMIT/OFFSET without ORDER BY: the right number of rows, all from the answer
  nested      WHERE p1 AND p2 = (WHERE p1) WHERE p2; HAVING = a filter over a subquery
  show        SHOW SERIES / SHOW TAG VALUES WHERE p = SELECT DISTINCT of the tags WHERE p
  delete      DELETE WHERE (tags, time) removes exactly the rows the filter selects
  eval        an integer/string/boolean/double expression over a stored row = the reference
              evaluator's value (evaluate.py)

The relational oracles (relational.py, registered at the end of this file; `--oracles rel`
runs only them): self-joins of the table, rows named by time and tags.
  join_count  count(*) of [INNER|LEFT|RIGHT|FULL] JOIN ON keys [AND pa] [AND pb] (ON, USING,
              comma, derived tables, CTE) = the sum over GROUP BY keys of count_a * count_b,
              plus the unmatched rows of each outer side
  join_outer  an outer join (any ON condition, sides maybe filtered) = the inner join + each
              unmatched row with NULLs
  join_hash   ON a.x = b.y (a hash key; mixed types) = ON (a.x = b.y) IS TRUE (a filter)
  join_semi   LEFT SEMI/ANTI JOIN, correlated [NOT] EXISTS with any ON condition = the left
              rows that do / do not appear in the inner join
  join_tlp    a join's rows = WHERE p + WHERE NOT p + WHERE p IS NULL over it
  join_forms  JOIN ON = comma join + WHERE = USING = over derived tables = over a CTE
  join_time   a join on (tags, time) with tag and time filters in ON and WHERE = the same join
              over (SELECT * FROM t), which nothing is pushed into
  sub_in      k IN (SELECT k ... WHERE p [AND b.c = a.c]) = EXISTS = LEFT SEMI JOIN = Python
  sub_not_in  NOT IN (NULL rule) / NOT EXISTS / LEFT ANTI JOIN = Python over fetched rows
  sub_scalar  (SELECT agg(x) FROM t b WHERE b.k = a.k [AND p]) = the GROUP BY answer (count of
              no rows 0); uncorrelated: = the aggregate query
  sub_cmp     WHERE x op (scalar subquery [correlated]) = the value joined in
  window      ranking, lag/lead, first/last/nth_value, aggregates OVER (PARTITION BY, ORDER BY,
              ROWS/RANGE/GROUPS frames) = Python over the fetched rows
  window_filter  WHERE p over a window's subquery = p computed inside and applied after
  window_group  aggregates OVER (PARTITION BY k) and max(row_number()) = GROUP BY k
  set_tlp     UNION of the TLP partitions = DISTINCT of the whole; UNION ALL = the whole
  set_ref     UNION/INTERSECT/EXCEPT [ALL] = Python over the two inputs' rows (ALL forms of
              INTERSECT/EXCEPT are a semi/anti join without DISTINCT, as DataFusion 27)
  grouping    ROLLUP / CUBE / GROUPING SETS = the union of a GROUP BY per set, absent keys NULL
"""

import csv
import io
import json
import math
import sys

from .evaluate import Unsupported, csv_value, evaluate, same_value
from .gen import I64_MAX, I64_MIN, SQL_TYPE, Col, ExprGen, Node, col_node, lit_sql


csv.field_size_limit(sys.maxsize)  # the data has strings of 64 KiB and more


class Result:
    def __init__(self, status, text):
        self.status = status
        self.text = text
        self._rows = None

    @property
    def ok(self):
        return self.status == 200

    @property
    def rows(self):
        """The CSV answer without its header, as tuples of strings."""
        if self._rows is None:
            reader = csv.reader(io.StringIO(self.text, newline=""))
            rows = [tuple(r) for r in reader]
            self._rows = rows[1:]
        return self._rows

    def scalar(self):
        rows = self.rows
        if len(rows) != 1 or len(rows[0]) != 1:
            raise ValueError(f"expected one value, got {rows[:3]}")
        return rows[0][0]


class Ctx:
    """What the oracles know about a round's table at query time."""

    def __init__(self, schema, cols, model, deleted=False):
        self.schema = schema
        self.cols = cols
        self.model = model
        self.deleted = deleted  # a DELETE ran: series may have no rows left
        self.table = schema.table_sql
        self.precision = schema.precision


def multiset(rows):
    d = {}
    for r in rows:
        d[r] = d.get(r, 0) + 1
    return d


def multiset_diff(a, b, limit=5):
    """Rows with a different count in a and b, as text."""
    ma, mb = multiset(a), multiset(b)
    out = []
    for k in list(ma) + [k for k in mb if k not in ma]:
        if ma.get(k, 0) != mb.get(k, 0):
            out.append(f"  {','.join(k)}: {ma.get(k, 0)} vs {mb.get(k, 0)}")
            if len(out) >= limit:
                break
    return "\n".join(out)


def partitions(p):
    """WHERE texts of the three TLP partitions of predicate node p."""
    s = p.render()
    return [s, f"NOT ({s})", f"({s}) IS NULL"]


def select_list(g, ctx, n=None):
    """Some columns and expressions to select."""
    r = g.rng
    items = []
    for _ in range(n or r.choice([1, 1, 2, 3])):
        if r.random() < 0.5:
            items.append(col_node(r.choice(ctx.cols)))
        else:
            items.append(g.expr(r.choice(["int", "float", "str", "bool", "ts", "uint"]), 1))
    return items


def gen_keys(g, ctx, types):
    """One or two GROUP BY / ORDER BY keys: mostly columns, sometimes expressions."""
    r = g.rng
    keys = []
    for _ in range(r.choice([1, 1, 2])):
        if r.random() < 0.7:
            keys.append(col_node(r.choice(ctx.cols)))
        else:
            keys.append(g.expr(r.choice(types), 2))
    return keys


def render_list(nodes):
    return ", ".join(n.render() for n in nodes)


def key_items(nodes):
    """The nodes' texts, and for each string node whether it is NULL: CSV writes NULL and ''
    alike, and grouping or DISTINCT keeps them apart."""
    items = [k.render() for k in nodes]
    items += [f"({k.render()}) IS NULL" for k in nodes if k.ty == "str"]
    return items


def key_types(nodes):
    """The types of key_items(nodes)."""
    return [k.ty for k in nodes] + ["bool" for k in nodes if k.ty == "str"]


def norm_zero(row, types):
    """-0.0 and 0.0 are one group / one distinct value of a DOUBLE; either may be shown."""
    return tuple("0.0" if i < len(types) and types[i] == "float" and v == "-0.0" else v
                 for i, v in enumerate(row))


def num(text, ty):
    """A CSV value as a number (None for NULL)."""
    if text == "":
        return None
    if ty == "float":
        return float(text)
    return int(text)


# ------------------------------------------------------------------ oracles


class Model:
    name = "model"

    def gen(self, g, ctx):
        return {}

    def queries(self, ctx, p):
        parts = ["count(*)"] + [f"count({c.sql})" for c in ctx.cols if c.kind != "time"]
        return [f"SELECT {', '.join(parts)} FROM {ctx.table}", f"DESCRIBE TABLE {ctx.table}"]

    @staticmethod
    def described(ctx):
        """DESCRIBE TABLE's rows for the model's columns, as a set."""
        unit = {"ns": "NANOSECOND", "us": "MICROSECOND", "ms": "MILLISECOND"}[ctx.precision]
        out = set()
        for c in ctx.cols:
            if c.kind == "time":
                out.add((c.name, f"TIMESTAMP({unit})", "TIME", "DEFAULT"))
            else:
                out.add((c.name, SQL_TYPE[c.ty], c.kind.upper(), c.codec))
        return out

    def check(self, ctx, p, rs):
        got_cols, want_cols = set(rs[1].rows), self.described(ctx)
        if got_cols != want_cols:
            return (f"DESCRIBE TABLE: missing {sorted(want_cols - got_cols)[:4]}, unexpected "
                    f"{sorted(got_cols - want_cols)[:4]}")
        want = [len(ctx.model.rows)]
        for c in ctx.cols:
            if c.kind == "time":
                continue
            n = 0
            for tags, _, fields in ctx.model.rows.values():
                n += (c.name in tags) if c.kind == "tag" else (c.name in fields)
            want.append(n)
        got = [int(x) for x in rs[0].rows[0]]
        if got != want:
            names = ["*"] + [c.name for c in ctx.cols if c.kind != "time"]
            diff = ", ".join(f"count({n}) {w} vs {g}" for n, w, g in zip(names, want, got)
                             if w != g)
            return f"expected vs got: {diff}"
        return None


class Tlp:
    """Ternary logic partitioning: the whole query, then the same with WHERE (or HAVING) p,
    NOT p and p IS NULL; subclasses say what is selected and how the answers recombine."""

    clause = "WHERE"

    def gen(self, g, ctx):
        return {"p": g.expr("bool"), "items": select_list(g, ctx)}

    def select(self, ctx, p):
        raise NotImplementedError

    def suffix(self, p):
        return ""

    def queries(self, ctx, p):
        sel, end = self.select(ctx, p), self.suffix(p)
        return [sel + end] + [f"{sel} {self.clause} {w}{end}" for w in partitions(p["p"])]


class TlpWhere(Tlp):
    name = "tlp_where"

    def select(self, ctx, p):
        return f"SELECT {render_list(p['items'])} FROM {ctx.table}"

    def check(self, ctx, p, rs):
        whole = rs[0].rows
        parts = rs[1].rows + rs[2].rows + rs[3].rows
        if multiset(whole) != multiset(parts):
            return (f"whole has {len(whole)} rows, the partitions {len(rs[1].rows)} + "
                    f"{len(rs[2].rows)} + {len(rs[3].rows)}; rows (whole vs partitions):\n"
                    + multiset_diff(whole, parts))
        return None


class TlpCount(Tlp):
    name = "tlp_count"

    def gen(self, g, ctx):
        return {"p": g.expr("bool")}

    def select(self, ctx, p):
        return f"SELECT count(*) FROM {ctx.table}"

    def check(self, ctx, p, rs):
        n = [int(r.scalar()) for r in rs]
        if n[0] != n[1] + n[2] + n[3]:
            return f"count(*) {n[0]} != {n[1]} + {n[2]} + {n[3]}"
        return None


def agg_items(x):
    """Aggregates over x whose partition results recombine to the whole's."""
    s = x.render()
    items = [f"count({s})", f"min({s})", f"max({s})"]
    if x.ty in ("int", "uint", "float"):
        items.append(f"sum({s})")
    if x.ty == "float":
        items.append(f"sum(abs({s}))")
    return items


def recombine_check(x, whole, parts):
    """whole and parts are lists of values for agg_items(x); returns a difference or None."""
    ty = x.ty
    cnt = sum(int(p[0]) for p in parts)
    if int(whole[0]) != cnt:
        return f"count {whole[0]} != sum of partition counts {cnt}"
    for i, what in ((1, "min"), (2, "max")):
        # CSV writes NULL and '' alike: an empty text may be either
        vals = [p[i] for p in parts]
        w = whole[i]
        if all(v == "" for v in vals):
            if w != "":
                return f"{what} {w!r} but every partition is NULL"
            continue
        if w not in vals:
            return f"{what} {w!r} is none of the partitions' {vals}"
        vals = [v for v in vals if v != ""]
        if ty in ("int", "uint") and vals:
            want = (min if what == "min" else max)(int(v) for v in vals)
            if int(w) != want:
                return f"{what} {w} but the partitions give {want}"
    if ty in ("int", "uint"):
        vals = [num(p[3], ty) for p in parts if num(p[3], ty) is not None]
        w = num(whole[3], ty)
        if (w is None) != (not vals):
            return f"sum {whole[3]!r} vs partitions {[p[3] for p in parts]}"
        if vals and (w - sum(vals)) % 2**64 != 0:
            return f"sum {w} != sum of partition sums {[p[3] for p in parts]} (mod 2^64)"
    if ty == "float":
        vals = [num(p[3], ty) for p in parts if num(p[3], ty) is not None]
        w = num(whole[3], ty)
        if (w is None) != (not vals):
            return f"sum {whole[3]!r} vs partitions {[p[3] for p in parts]}"
        absw = num(whole[4], ty)
        if vals and absw is not None and math.isfinite(absw) and math.isfinite(w):
            s = math.fsum(vals)
            if abs(w - s) > 1e-9 * absw + 1e-300:
                return f"sum {w!r} != sum of partition sums {s!r} (sum of |x| {absw!r})"
    return None


class TlpAgg(Tlp):
    name = "tlp_agg"

    def gen(self, g, ctx):
        ty = g.rng.choice(["int", "float", "str", "uint", "ts", "bool"])
        x = g.expr(ty, 1) if g.rng.random() < 0.5 else g.leaf(ty)
        return {"p": g.expr("bool"), "x": x}

    def select(self, ctx, p):
        return f"SELECT {', '.join(agg_items(p['x']))} FROM {ctx.table}"

    def check(self, ctx, p, rs):
        return recombine_check(p["x"], rs[0].rows[0], [r.rows[0] for r in rs[1:]])


class TlpGroup(Tlp):
    name = "tlp_group"

    def gen(self, g, ctx):
        r = g.rng
        keys = gen_keys(g, ctx, ["int", "str", "bool", "ts"])
        ty = r.choice(["int", "float", "str", "uint"])
        return {"p": g.expr("bool"), "keys": keys, "x": g.leaf(ty)}

    def select(self, ctx, p):
        k = ", ".join(key_items(p["keys"]))
        return f"SELECT {k}, {', '.join(agg_items(p['x']))} FROM {ctx.table}"

    def suffix(self, p):
        return " GROUP BY " + ", ".join(str(i + 1) for i in range(len(p["keys"])))

    def check(self, ctx, p, rs):
        nk = len(key_items(p["keys"]))
        types = key_types(p["keys"])
        whole = {}
        for row in rs[0].rows:
            k = norm_zero(row[:nk], types)
            if k in whole:
                return f"group {row[:nk]} appears twice"
            whole[k] = row[nk:]
        parts = {}
        for r in rs[1:]:
            for row in r.rows:
                parts.setdefault(norm_zero(row[:nk], types), []).append(row[nk:])
        if set(whole) != set(parts):
            only_w = [k for k in whole if k not in parts][:3]
            only_p = [k for k in parts if k not in whole][:3]
            return f"groups differ: only in whole {only_w}, only in partitions {only_p}"
        for k in whole:
            d = recombine_check(p["x"], whole[k], parts[k])
            if d:
                return f"group {k}: {d}"
        return None


class TlpDistinct(Tlp):
    name = "tlp_distinct"

    def select(self, ctx, p):
        return f"SELECT DISTINCT {', '.join(key_items(p['items']))} FROM {ctx.table}"

    def check(self, ctx, p, rs):
        types = key_types(p["items"])
        whole = [norm_zero(r, types) for r in rs[0].rows]
        if len(set(whole)) != len(whole):
            return "DISTINCT returned a row twice:\n" + multiset_diff(whole, list(set(whole)))
        union = {norm_zero(r, types) for q in rs[1:] for r in q.rows}
        if set(whole) != union:
            return "rows (whole vs union of partitions):\n" + multiset_diff(whole, list(union))
        return None


class TlpHaving(Tlp):
    name = "tlp_having"
    clause = "HAVING"

    def gen(self, g, ctx):
        r = g.rng
        key = col_node(r.choice(ctx.cols))
        x = col_node(r.choice(ctx.cols))
        aggs = [Node("int", "count(*)", label="count(*)"),
                Node("int", f"count({x.render()})", label="count")]
        if x.ty in ("int", "float", "uint", "str", "ts"):
            aggs += [Node(x.ty, f"min({x.render()})", label="min"),
                     Node(x.ty, f"max({x.render()})", label="max")]
        if x.ty in ("int", "float"):
            aggs.append(Node(x.ty, f"sum({x.render()})", label="sum"))
        # the HAVING predicate sees the group key and the aggregates as its columns
        cols = [key.col] + [Col(a.fmt, "agg", a.ty) for a in aggs]
        hg = ExprGen(r, cols, ctx.precision, g.pools, max_depth=3)
        hp = hg.expr("bool")
        for n in hp.nodes():
            if n.col is not None and n.col.kind == "agg":
                n.fmt = n.col.name
        return {"key": key, "p": hp, "aggs": aggs}

    def select(self, ctx, p):
        return (f"SELECT {p['key'].render()}, {render_list(p['aggs'])} FROM {ctx.table} "
                f"GROUP BY {p['key'].render()}")

    def check(self, ctx, p, rs):
        whole = rs[0].rows
        parts = rs[1].rows + rs[2].rows + rs[3].rows
        if multiset(whole) != multiset(parts):
            return "groups (whole vs partitions):\n" + multiset_diff(whole, parts)
        return None


class Pushdown:
    name = "pushdown"

    def gen(self, g, ctx):
        r = g.rng
        conj = []
        tags = [c for c in ctx.cols if c.kind == "tag"]
        for _ in range(r.choice([1, 1, 2, 3])):
            k = r.random()
            if tags and k < 0.5:
                conj.append(self.tag_pred(g, r.choice(tags)))
            elif k < 0.8:
                conj.append(self.time_pred(g, ctx))
            elif tags and k < 0.9:
                # any expression over tags only is evaluated once per series
                tg = ExprGen(r, tags, ctx.precision, g.pools, max_depth=3)
                conj.append(tg.expr("bool"))
            else:
                conj.append(g.expr("bool"))
        return {"conj": conj, "items": select_list(g, ctx, r.choice([1, 2]))}

    @staticmethod
    def tag_pred(g, c):
        r = g.rng
        cn = col_node(c)
        k = r.random()
        if k < 0.4:
            op = r.choice(["=", "=", "!=", "<", ">="])
            lit = g.literal("str", [c])
            if r.random() < 0.5:
                return Node("bool", "({0} %s {1})" % op, [cn, lit], label="tag" + op)
            return Node("bool", "({1} %s {0})" % op, [cn, lit], label="tag" + op)
        if k < 0.6:
            items = [g.literal("str", [c]) for _ in range(r.choice([1, 2, 3]))]
            body = ", ".join("{%d}" % (i + 1) for i in range(len(items)))
            neg = r.choice(["", "", " NOT"])
            return Node("bool", "({0}%s IN (%s))" % (neg, body), [cn] + items, label="tag IN")
        if k < 0.75:
            return Node("bool", "({0} IS%s NULL)" % r.choice(["", " NOT"]), [cn], label="tag null")
        if k < 0.9:
            pat = g.like_pattern_from(cn)
            return Node("bool", "({0} LIKE %s)" % lit_sql("str", pat), [cn], label="tag LIKE")
        return Node("bool", "(NOT ({0} = {1}))", [cn, g.literal("str", [c])], label="tag NOT=")

    @staticmethod
    def time_pred(g, ctx):
        r = g.rng
        t = col_node(next(c for c in ctx.cols if c.kind == "time"))
        pool = g.pools.get("time") or [0]
        v = r.choice(pool) + r.choice([0, 0, -1, 1])
        v = max(I64_MIN, min(I64_MAX, v))
        k = r.random()
        if k < 0.5:
            lit = Node("int", lit_sql("int", v)) if r.random() < 0.5 else \
                Node("ts", lit_sql("ts", v, ctx.precision))
            op = r.choice(["=", "<", "<=", ">", ">="])
            if r.random() < 0.3:
                return Node("bool", "({1} %s {0})" % op, [t, lit], label="time" + op)
            return Node("bool", "({0} %s {1})" % op, [t, lit], label="time" + op)
        if k < 0.7:
            w = r.choice(pool)
            lo, hi = sorted([v, w])
            return Node("bool", "({0} BETWEEN %d AND %d)" % (lo, hi), [t], label="time between")
        if k < 0.75:
            # now() is not a constant: the planner leaves it to the filter
            now = r.choice(["now()", "(now() - INTERVAL '1000 weeks')"])
            return Node("bool", "({0} %s %s)" % (r.choice(["<", ">="]), now), [t],
                        label="time cmp now")
        if k < 0.85:
            ts = g.ts_literal()
            return Node("bool", "({0} %s {1})" % r.choice([">", "<=", "="]), [t, ts],
                        label="time cmp ts")
        return Node("bool", "({0} %s {1})" % r.choice([">", "<", ">="]), [t, g.time_as_other()],
                    label="time cmp other")

    def queries(self, ctx, p):
        w = " AND ".join(c.render() for c in p["conj"])
        items = render_list(p["items"])
        return [f"SELECT {items} FROM {ctx.table} WHERE {w}",
                f"SELECT {items} FROM (SELECT * FROM {ctx.table}) WHERE {w}",
                f"SELECT count(*) FROM {ctx.table} WHERE {w}"]

    def check(self, ctx, p, rs):
        a, b = rs[0].rows, rs[1].rows
        if multiset(a) != multiset(b):
            return (f"pushed-down filter gives {len(a)} rows, the filter over the subquery "
                    f"{len(b)}:\n" + multiset_diff(a, b))
        if int(rs[2].scalar()) != len(a):
            return f"count(*) {rs[2].scalar()} but the same WHERE selects {len(a)} rows"
        return None


class Norec:
    name = "norec"

    def gen(self, g, ctx):
        return {"p": g.expr("bool")}

    def queries(self, ctx, p):
        s = p["p"].render()
        return [f"SELECT count(*) FROM {ctx.table} WHERE {s}",
                f"SELECT count(CASE WHEN {s} THEN 1 END) FROM {ctx.table}",
                f"SELECT sum(CASE WHEN {s} THEN 1 ELSE 0 END) FROM {ctx.table}"]

    def check(self, ctx, p, rs):
        a, b = int(rs[0].scalar()), int(rs[1].scalar())
        c = rs[2].scalar()
        c = 0 if c == "" else int(c)
        if not a == b == c:
            return (f"count(*) WHERE p = {a}, count(CASE WHEN p THEN 1 END) = {b}, "
                    f"sum(CASE WHEN p THEN 1 ELSE 0 END) = {c}")
        return None


class Fold:
    name = "fold"

    def gen(self, g, ctx):
        r = g.rng
        if not ctx.model.rows:
            return None
        key = r.choice(sorted(ctx.model.rows, key=repr))
        ty = r.choice(["int", "float", "str", "bool", "ts", "uint"])
        return {"key": key, "e": g.expr(ty)}

    @staticmethod
    def row_where(ctx, key):
        tags, t = key
        conds = [f"time = {t}"]
        present = dict(tags)
        for c in ctx.cols:
            if c.kind != "tag":
                continue
            if c.name in present:
                conds.append(f"{c.sql} = {lit_sql('str', present[c.name])}")
            else:
                conds.append(f"{c.sql} IS NULL")
        return " AND ".join(conds)

    def literal_expr(self, ctx, p):
        row = ctx.model.rows.get(p["key"])
        if row is None:
            return None
        tags, t, fields = row
        e = p["e"].copy()
        for n in e.nodes():
            c = n.col
            if c is None:
                continue
            if c.kind == "time":
                v = t
            elif c.kind == "tag":
                v = tags.get(c.name)
            else:
                v = fields.get(c.name)
            n.fmt = "(%s)" % lit_sql(c.ty, v, ctx.precision)
            n.col = None
        return e.render()

    def queries(self, ctx, p):
        lit = self.literal_expr(ctx, p)
        if lit is None:
            return None
        e = p["e"].render()
        return [f"SELECT {e}, ({e}) IS NULL FROM {ctx.table} WHERE "
                f"{self.row_where(ctx, p['key'])}",
                f"SELECT {lit}, ({lit}) IS NULL"]

    def check(self, ctx, p, rs):
        a, b = rs[0].rows, rs[1].rows
        if len(a) != 1:
            return None  # the model oracle reports rows that are not there
        if a != b:
            return (f"over the stored row: {','.join(a[0])}; over literals: "
                    f"{','.join(b[0]) if b else b!r} (value, IS NULL)")
        return None


class TopN:
    name = "topn"

    def gen(self, g, ctx):
        r = g.rng
        keys = gen_keys(g, ctx, ["int", "float", "str", "ts", "uint", "bool"])
        dirs = [(r.choice(["", " ASC", " DESC"]), r.choice(["", "", " NULLS FIRST",
                                                             " NULLS LAST"])) for _ in keys]
        p = {"keys": keys, "dirs": dirs, "limit": r.choice([0, 1, 2, 3, 5, 10, 50]),
             "offset": r.choice([0, 0, 0, 1, 3])}
        if r.random() < 0.4:
            p["where"] = g.expr("bool")
        return p

    def queries(self, ctx, p):
        items = render_list(p["keys"])
        order = ", ".join(f"{i + 1}{d}{nl}" for i, (d, nl) in enumerate(p["dirs"]))
        where = f" WHERE {p['where'].render()}" if "where" in p else ""
        base = f"SELECT {items} FROM {ctx.table}{where} ORDER BY {order}"
        off = f" OFFSET {p['offset']}" if p["offset"] else ""
        return [base, f"{base} LIMIT {p['limit']}{off}"]

    def check(self, ctx, p, rs):
        floats = [k.ty == "float" for k in p["keys"]]

        def norm(rows):
            # -0.0 and 0.0 sort as equals, so either may come first: only in DOUBLE keys
            return [tuple("0.0" if f and v == "-0.0" else v for f, v in zip(floats, row))
                    for row in rows]
        full, top = norm(rs[0].rows), norm(rs[1].rows)
        want = full[p["offset"]:p["offset"] + p["limit"]]
        if top != want:
            return (f"LIMIT {p['limit']} OFFSET {p['offset']} gives {top[:6]}, the full sort's "
                    f"slice is {want[:6]}")
        return self.check_sorted(p, full)

    @staticmethod
    def check_sorted(p, rows):
        """The first key, when it is an integer or string, is in order."""
        ty = p["keys"][0].ty
        if ty not in ("int", "uint", "str"):
            return None
        d, nl = p["dirs"][0]
        desc = d == " DESC"
        nulls_first = nl == " NULLS FIRST" or (nl == "" and desc)

        def key(v):
            if v == "":
                return None
            return int(v) if ty != "str" else v.encode("utf-8")
        ks = [key(row[0]) for row in rows]
        if ty == "str":
            # an empty string and NULL look alike in CSV: check only the non-empty values
            ks = [k for k in ks if k is not None]
            nn = ks
        else:
            nulls = [k is None for k in ks]
            want = sorted(nulls, reverse=nulls_first)
            if nulls != want:
                return f"NULLs not {'first' if nulls_first else 'last'}"
            nn = [k for k in ks if k is not None]
        if nn != sorted(nn, reverse=desc):
            for i in range(len(nn) - 1):
                if (nn[i] > nn[i + 1]) != desc and nn[i] != nn[i + 1]:
                    return f"not sorted: {nn[i]!r} before {nn[i + 1]!r}"
        return None


class MinMax:
    name = "minmax"

    def gen(self, g, ctx):
        r = g.rng
        ty = r.choice(["int", "float", "str", "uint", "ts"])
        x = g.leaf(ty) if r.random() < 0.6 else g.expr(ty, 2)
        return {"x": x, "max": r.random() < 0.5}

    def queries(self, ctx, p):
        x = p["x"].render()
        fn, d = ("max", "DESC") if p["max"] else ("min", "ASC")
        return [f"SELECT {fn}({x}) FROM {ctx.table}",
                f"SELECT {x} FROM {ctx.table} WHERE ({x}) IS NOT NULL ORDER BY 1 {d} LIMIT 1"]

    def check(self, ctx, p, rs):
        a = rs[0].scalar()
        b = rs[1].rows[0][0] if rs[1].rows else ""
        if a != b and not ({a, b} <= {"0.0", "-0.0"}):
            fn = "max" if p["max"] else "min"
            return f"{fn}(x) = {a!r}, ORDER BY x {'DESC' if p['max'] else 'ASC'} LIMIT 1 = {b!r}"
        return None





# ------------------------------------------------------------------ more oracles

AGG_FNS = {"count": "any", "count_distinct": "any", "min": "any", "max": "any",
           "sum": "num", "avg": "num", "median": "num", "spread": "num", "stddev": "num",
           "stddev_pop": "num", "var": "num", "var_pop": "num", "first": "any", "last": "any",
           "mean": "num", "variance": "num", "stddev_samp": "num", "var_samp": "num"}


def agg_call(fn, x):
    if fn == "count_distinct":
        return f"count(DISTINCT {x})"
    if fn in ("first", "last"):
        return f"{fn}(time, {x})"
    return f"{fn}({x})"


def close(a, b):
    """Two answer values agree: the same text, or floats equal to rounding."""
    if a == b:
        return True
    try:
        fa, fb = float(a), float(b)
    except ValueError:
        return False
    if math.isnan(fa) or math.isnan(fb) or math.isinf(fa) or math.isinf(fb):
        return False
    return abs(fa - fb) <= 1e-9 * max(abs(fa), abs(fb))


def csv_text(ty, v):
    """How CSV shows a group key value."""
    if ty == "bool":
        return "true" if v else "false"
    return str(v)


class GroupFilter:
    """The row of group v in GROUP BY k = the aggregates over WHERE k = v (hash aggregation
    against a single group)."""

    name = "group_filter"

    def gen(self, g, ctx):
        r = g.rng
        keys = [c for c in ctx.cols if c.ty in ("str", "int", "bool", "uint")
                and c.kind != "time"]
        if not keys:
            return None
        k = r.choice(keys)
        pool = g.pools.get(k.name, [])
        v = r.choice(pool) if pool and r.random() < 0.85 else None
        ty = r.choice(["int", "float", "uint", "str", "ts", "bool"])
        x = g.leaf(ty) if r.random() < 0.7 else g.expr(ty, 2)
        # Sums in DOUBLE depend on the order rows are added in, which SQL leaves open: sum of
        # DOUBLEs, and avg/stddev/var of anything (they accumulate in DOUBLE; with values
        # near 2^63 the order changes the answer). Integer sums are exact (mod 2^64).
        in_double = ("avg", "mean", "stddev", "stddev_pop", "stddev_samp", "var", "var_pop",
                     "var_samp", "variance")
        fns = [f for f, kind in AGG_FNS.items() if kind == "any" or ty in ("int", "float", "uint")]
        fns = r.sample(fns, r.randint(1, min(5, len(fns))))
        unchecked = [f for f in fns if f in in_double or (ty == "float" and f == "sum")]
        # the unchecked ones still run (crashes, sanitizer reports), their values are not
        # compared
        p = {"key": col_node(k), "v": v, "x": x, "fns": fns, "unchecked": unchecked}
        if r.random() < 0.3:
            p["where"] = g.expr("bool")
        return p

    def queries(self, ctx, p):
        k, x = p["key"], p["x"].render()
        aggs = ", ".join(["count(*)"] + [agg_call(f, x) for f in p["fns"]])
        w = p["where"].render() if "where" in p else None
        cond = f"{k.render()} IS NULL" if p["v"] is None else \
            f"{k.render()} = {lit_sql(k.ty, p['v'])}"
        return [f"SELECT {k.render()}, ({k.render()}) IS NULL, {aggs} FROM {ctx.table}"
                + (f" WHERE {w}" if w else "") + " GROUP BY 1",
                f"SELECT {aggs} FROM {ctx.table} WHERE " + (f"({w}) AND " if w else "") + cond]

    def check(self, ctx, p, rs):
        want_null = "true" if p["v"] is None else "false"
        want_key = "" if p["v"] is None else csv_text(p["key"].ty, p["v"])
        rows = [r[2:] for r in rs[0].rows if r[0] == want_key and r[1] == want_null]
        single = rs[1].rows[0]
        if not rows:
            if single[0] != "0":
                return f"no group {want_key!r} in GROUP BY, but WHERE selects {single[0]} rows"
            return None
        if len(rows) > 1:
            return f"group {want_key!r} appears {len(rows)} times"
        names = ["count(*)"] + p["fns"]
        for n, a, b in zip(names, rows[0], single):
            if n not in p.get("unchecked", ()) and not close(a, b):
                return f"{n}: GROUP BY gives {a!r}, WHERE k = v gives {b!r}"
        return None


class Formats:
    """The same query as CSV, chunked CSV, JSON, ND-JSON, TSV and a table: chunked CSV is
    byte for byte the CSV, the others have as many rows and parse."""

    name = "formats"
    ACCEPTS = ["application/json", "application/nd-json", "text/tsv", "text/table"]

    def gen(self, g, ctx):
        r = g.rng
        items = None if r.random() < 0.3 else select_list(g, ctx, r.choice([1, 2, 4]))
        p = {"items": items}
        if r.random() < 0.4:
            p["where"] = g.expr("bool")
        return p

    def queries(self, ctx, p):
        items = "*" if p["items"] is None else render_list(p["items"])
        sql = f"SELECT {items} FROM {ctx.table}"
        if "where" in p:
            sql += f" WHERE {p['where'].render()}"
        return [sql, (sql, {"chunked": True})] + [(sql, {"accept": a}) for a in self.ACCEPTS]

    def check(self, ctx, p, rs):
        n = len(rs[0].rows)
        if rs[1].text != rs[0].text:
            return "chunked CSV differs from CSV"
        try:
            js = json.loads(rs[2].text)
        except ValueError as ex:
            return f"JSON does not parse: {ex}: {rs[2].text[:200]!r}"
        if len(js) != n:
            return f"JSON has {len(js)} rows, CSV {n}"
        lines = [ln for ln in rs[3].text.split("\n") if ln]
        for ln in lines:
            try:
                json.loads(ln)
            except ValueError as ex:
                return f"ND-JSON line does not parse: {ex}: {ln[:200]!r}"
        if len(lines) != n:
            return f"ND-JSON has {len(lines)} rows, CSV {n}"
        tsv = list(csv.reader(io.StringIO(rs[4].text, newline=""), delimiter="\t"))
        if len(tsv) != n + 1:
            return f"TSV has {len(tsv) - 1} rows, CSV {n}"
        return None


class Limit:
    """LIMIT n without ORDER BY returns min(n, all) rows, each one of the full answer's."""

    name = "limit"

    def gen(self, g, ctx):
        r = g.rng
        p = {"items": select_list(g, ctx), "limit": r.choice([0, 1, 2, 5, 10, 100]),
             "offset": r.choice([0, 0, 1, 4])}
        if r.random() < 0.5:
            p["where"] = g.expr("bool")
        return p

    def queries(self, ctx, p):
        sql = f"SELECT {render_list(p['items'])} FROM {ctx.table}"
        if "where" in p:
            sql += f" WHERE {p['where'].render()}"
        off = f" OFFSET {p['offset']}" if p["offset"] else ""
        return [sql, f"{sql} LIMIT {p['limit']}{off}"]

    def check(self, ctx, p, rs):
        full, part = rs[0].rows, rs[1].rows
        want = max(0, min(p["limit"], len(full) - p["offset"]))
        if len(part) != want:
            return f"LIMIT {p['limit']} OFFSET {p['offset']} of {len(full)} rows gave {len(part)}"
        mf, mp = multiset(full), multiset(part)
        extra = [k for k in mp if mp[k] > mf.get(k, 0)]
        if extra:
            return f"LIMIT returned rows not in the full answer: {extra[:3]}"
        return None


class Nested:
    """Filters and aggregates split over a subquery give what the flat query gives:
    WHERE p1 AND p2 = (WHERE p1) WHERE p2, and HAVING = a filter over the grouped subquery."""

    name = "nested"

    def gen(self, g, ctx):
        r = g.rng
        if r.random() < 0.5:
            return {"p1": g.expr("bool"), "p": g.expr("bool"), "items": select_list(g, ctx)}
        k = col_node(r.choice(ctx.cols))
        x = col_node(r.choice([c for c in ctx.cols if c.kind != "time"] or ctx.cols))
        n = r.choice([0, 1, 2, 3, 5])
        return {"key": k, "x": x, "n": n, "op": r.choice([">", ">=", "<", "="])}

    def queries(self, ctx, p):
        if "p1" in p:
            items = render_list(p["items"])
            p1, p2 = p["p1"].render(), p["p"].render()
            return [f"SELECT {items} FROM {ctx.table} WHERE ({p1}) AND ({p2})",
                    f"SELECT {items} FROM (SELECT * FROM {ctx.table} WHERE {p1}) WHERE {p2}"]
        k, x = p["key"].render(), p["x"].render()
        items = ", ".join(key_items([p["key"]]))
        cond = f"count({x}) {p['op']} {p['n']}"
        return [f"SELECT {items}, count({x}) FROM {ctx.table} GROUP BY {k} HAVING {cond}",
                f"SELECT * FROM (SELECT {items}, count({x}) AS n FROM {ctx.table} "
                f"GROUP BY {k}) WHERE n {p['op']} {p['n']}"]

    def check(self, ctx, p, rs):
        types = [n.ty for n in p["items"]] if "p1" in p else key_types([p["key"]])
        a = [norm_zero(r, types) for r in rs[0].rows]
        b = [norm_zero(r, types) for r in rs[1].rows]
        if multiset(a) != multiset(b):
            return (f"flat query {len(a)} rows, over a subquery {len(b)}:\n"
                    + multiset_diff(a, b))
        return None


class Show:
    """SHOW SERIES / SHOW TAG VALUES with a tag predicate list the series and values that
    SELECT DISTINCT finds with the same predicate (rounds without DELETE)."""

    name = "show"

    def gen(self, g, ctx):
        r = g.rng
        tags = [c for c in ctx.cols if c.kind == "tag"]
        if not tags or ctx.deleted:
            return None
        tg = ExprGen(r, tags, ctx.precision, g.pools, max_depth=3)
        p = None
        if r.random() < 0.8:
            # SHOW takes only predicates on tags (one without any column is refused)
            p = tg.expr("bool")
            if not p.columns():
                p = Pushdown.tag_pred(g, r.choice(tags))
        return {"p": p, "key": col_node(r.choice(tags))}

    def queries(self, ctx, p):
        tags = [c for c in ctx.cols if c.kind == "tag"]
        where = f" WHERE {p['p'].render()}" if p["p"] is not None else ""
        k = p["key"].render()
        return [f"SHOW SERIES FROM {ctx.table}{where}",
                f"SELECT DISTINCT {', '.join(key_items([col_node(c) for c in tags]))} "
                f"FROM {ctx.table}{where}",
                f"SHOW TAG VALUES FROM {ctx.table} WITH KEY = {k}{where}",
                f"SELECT DISTINCT {k} FROM {ctx.table}{where}" +
                (" AND " if where else " WHERE ") + f"{k} IS NOT NULL"]

    def check(self, ctx, p, rs):
        if len(rs[0].rows) != len(rs[1].rows):
            return (f"SHOW SERIES lists {len(rs[0].rows)} series, SELECT DISTINCT of the tags "
                    f"{len(rs[1].rows)}")
        shown = sorted(r[1] for r in rs[2].rows)
        sel = sorted(r[0] for r in rs[3].rows)
        if shown != sel:
            return f"SHOW TAG VALUES {shown[:8]} vs SELECT DISTINCT {sel[:8]}"
        return None


class Delete:
    """DELETE with a filter on tags and time removes exactly the rows the filter selects.
    It changes the table, so it runs last in a round."""

    name = "delete"
    last = True

    def gen(self, g, ctx):
        r = g.rng
        conj = []
        tags = [c for c in ctx.cols if c.kind == "tag"]
        for _ in range(r.choice([1, 1, 2])):
            if tags and r.random() < 0.6:
                conj.append(Pushdown.tag_pred(g, r.choice(tags)))
            else:
                conj.append(Pushdown.time_pred(g, ctx))
        return {"conj": conj}

    def queries(self, ctx, p):
        w = " AND ".join(c.render() for c in p["conj"])
        t = ctx.table
        return [f"SELECT count(*) FROM {t}", f"SELECT count(*) FROM {t} WHERE {w}",
                f"DELETE FROM {t} WHERE {w}",
                f"SELECT count(*) FROM {t}", f"SELECT count(*) FROM {t} WHERE {w}"]

    def check(self, ctx, p, rs):
        before, match = int(rs[0].scalar()), int(rs[1].scalar())
        after, left = int(rs[3].scalar()), int(rs[4].scalar())
        if after != before - match or left != 0:
            return (f"{before} rows, {match} matching; after DELETE {after} rows, "
                    f"{left} matching")
        return None


class Eval:
    """An integer/string/boolean expression over a stored row = what the reference
    evaluator (evaluate.py) computes from the row's values."""

    name = "eval"

    def env(self, ctx, key):
        row = ctx.model.rows.get(key)
        if row is None:
            return None
        tags, t, fields = row
        env = dict(tags)
        env.update(fields)
        return env

    def gen(self, g, ctx):
        r = g.rng
        if not ctx.model.rows:
            return None
        key = r.choice(sorted(ctx.model.rows, key=repr))
        cols = [c for c in ctx.cols if c.ty in ("int", "str", "bool", "float")]
        eg = ExprGen(r, cols, ctx.precision, g.pools, max_depth=3)
        env = self.env(ctx, key)
        for _ in range(10):
            e = eg.expr(r.choice(["int", "str", "bool", "bool", "float"]))
            if not e.kids:
                continue
            try:
                evaluate(e, env)
            except Unsupported:
                continue
            return {"key": key, "e": e}
        return None

    def queries(self, ctx, p):
        if self.env(ctx, p["key"]) is None:
            return None
        e = p["e"].render()
        return [f"SELECT {e}, ({e}) IS NULL FROM {ctx.table} WHERE "
                f"{Fold.row_where(ctx, p['key'])}"]

    def check(self, ctx, p, rs):
        rows = rs[0].rows
        if len(rows) != 1:
            return None  # the model oracle reports rows that are not there
        try:
            want = evaluate(p["e"], self.env(ctx, p["key"]))
        except Unsupported:
            return None  # the reducer made it so
        isnull = "true" if want is None else "false"
        if rows[0][1] != isnull or (want is not None and not same_value(rows[0][0], want)):
            return (f"got {','.join(rows[0])}, expected {csv_value(want)!r},{isnull} "
                    "(value, IS NULL)")
        return None


# The relational oracles use the helpers above, so they are imported here, at the end.
from .relational import REL_ORACLES, REL_WEIGHTS  # noqa: E402

ORACLES = [Model(), TlpWhere(), TlpCount(), TlpAgg(), TlpGroup(), TlpDistinct(), TlpHaving(),
           Pushdown(), Norec(), Fold(), TopN(), MinMax(), GroupFilter(), Formats(), Limit(),
           Nested(), Show(), Delete(), Eval()] + REL_ORACLES
BY_NAME = {o.name: o for o in ORACLES}
# How often each oracle is picked (the model check runs first in every round, and delete,
# which changes the table, at most once at the end).
WEIGHTS = {"model": 0, "tlp_where": 14, "tlp_count": 6, "tlp_agg": 8, "tlp_group": 8,
           "tlp_distinct": 4, "tlp_having": 5, "pushdown": 14, "norec": 8, "fold": 14,
           "topn": 8, "minmax": 4, "group_filter": 8, "formats": 4, "limit": 4, "nested": 6,
           "show": 3, "delete": 0, "eval": 12, **REL_WEIGHTS}
