"""Random schemas, data and expressions, all from one `random.Random` so that a round is
reproduced by its seed.

A round's case is plain data (`Schema`, a list of `Step`s) so that the reducer can drop parts
of it and render what is left:
  - Schema: database precision, table, columns (tags are strings; fields BIGINT, BIGINT
    UNSIGNED, DOUBLE, STRING, BOOLEAN, each with a codec), created by CREATE TABLE or by the
    first line-protocol write.
  - Steps: line-protocol batches, INSERT batches, COMPACT DATABASE (so data lies in files and
    in the cache), ALTER TABLE ADD (columns old rows do not have), DROP and RENAME COLUMN,
    DELETE, server restarts and kill -9.
  - Model: what the table holds after the steps (rows keyed by series and time, fields merged
    newest first, as Strata and CnosDB merge a repeated (series, time)).

Expressions are trees of `Node`s: a SQL template with {0}, {1}... for its children and a
type (int, uint, float, str, bool, ts). The reducer replaces nodes by a child of the same type
or by a plain literal.
"""

import datetime
import math
import random

I64_MIN, I64_MAX, U64_MAX = -(2**63), 2**63 - 1, 2**64 - 1

FIELD_TYPES = ("int", "uint", "float", "str", "bool")
SQL_TYPE = {"int": "BIGINT", "uint": "BIGINT UNSIGNED", "float": "DOUBLE", "str": "STRING",
            "bool": "BOOLEAN"}
CODECS = {"int": ["DEFAULT", "NULL", "DELTA", "DELTATS", "QUANTILE"],
          "uint": ["DEFAULT", "NULL", "DELTA", "DELTATS", "QUANTILE"],
          "float": ["DEFAULT", "NULL", "GORILLA", "QUANTILE", "SDT", "DEADBAND"],
          "str": ["DEFAULT", "NULL", "GZIP", "BZIP", "ZSTD", "SNAPPY", "ZLIB"],
          "bool": ["DEFAULT", "NULL", "BITPACK"]}
UNIT_NS = {"ns": 1, "us": 1000, "ms": 1000000}
TS_PREC = {"ns": 9, "us": 6, "ms": 3}

INTS = [0, 1, -1, 2, -2, 3, 7, 10, -10, 100, 255, 256, 1000, -1000, 65535, 2**31 - 1, -(2**31),
        2**32, 2**53 + 1, 10**15, -(10**15), I64_MAX, I64_MIN, I64_MAX - 1, I64_MIN + 1]
UINTS = [0, 1, 2, 3, 7, 10, 100, 1000, 2**32, 2**53 + 1, I64_MAX, 2**63, U64_MAX, U64_MAX - 1]
FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 1.5, 2.5, -2.5, 0.1, 3.14159, 100.0, 1e15, 1e-7,
          123456789.125, 9007199254740993.0, 1e308, -1e308, 1.7976931348623157e308, 5e-324,
          -5e-324, 2.2250738585072014e-308, 1e-300, math.inf, -math.inf, math.nan,
          2.0**63, -(2.0**63), 2.0**64]
STRS = ["", "a", "b", "A", "B", "ab", "abc", "Abc", "x y", "a,b", "a=b", "%", "_", "a%", "%a",
        "a_c", "it's", 'quote"d', "back\\slash", "ü", "Ünïcödé", "日本語", "😀", "ß", "İ",
        "tab\there", "new\nline", "0", "1", "-1", "1.5", "true", "false", "NaN", "inf",
        "2022-01-01T00:00:00", "2023-11-14T22:15:20+08:00", "null", "x" * 300, "ab" * 40 + "%",
        "nul\x00byte", "\x01\x1f", "\u00a0nbsp", "e\u0301"]
TAG_STRS = ["a", "b", "c", "A", "abc", "x y", "a,b", "a=b", "it's", "ü", "日本語", "😀", "%", "_",
            "0", "1", "-1", "true", "null", "2022-01-01", "x" * 120, "", "q\"q", "b\\s"]
INTERVALS = ["1 second", "90 seconds", "1 minute", "1 hour", "3 hours", "1 day", "2 days",
             "1 week", "1.5 week", "500 milliseconds", "1 microsecond", "1 nanosecond",
             "1 month", "1 year", "0 seconds", "-1 hour"]
BIN_INTERVALS = INTERVALS[:12]  # date_bin takes no months
DATE_UNITS = ["year", "quarter", "month", "week", "day", "hour", "minute", "second",
              "millisecond", "microsecond"]
DATE_FIELDS = ["year", "quarter", "month", "week", "day", "hour", "minute", "second",
               "millisecond", "microsecond", "nanosecond", "dow", "doy", "epoch"]
REGEXES = ["a", "^a", "a$", "^$", ".", ".*", "a|b", "[a-c]+", "[^a]", "\\d+", "\\w", "\\s",
           "(a+)+b", "(a|aa)*c", "(x+x+)+y", "^(a?){25}a{25}$", "ü", "(?i)abc", "[", "(",
           "a{2,}", "\\", "日本", "^[[:alpha:]]+$", "(?=a)a", "\\bx", "a{1000}", "(.*){20}z"]
LIKE_PATTERNS = ["%", "_", "a%", "%a", "%a%", "a_", "_b%", "%%", "", "A%", "%ü%", "%\\%%",
                 "x%y", "%x%x%", "ab%c", "%日本%", "a", "%_%"]


# ------------------------------------------------------------------ literals


def quote_str(s):
    return "'" + s.replace("'", "''") + "'"


def quote_ident(name):
    return '"' + name.replace('"', '""') + '"'


def ns_to_rfc3339(ns):
    """Nanoseconds since the epoch as RFC 3339 (UTC, 9 fraction digits); None outside
    the years Python's datetime can show."""
    sec, frac = divmod(ns, 10**9)
    try:
        d = datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=sec)
    except OverflowError:
        return None
    return d.strftime("%Y-%m-%dT%H:%M:%S") + f".{frac:09d}"


def lit_sql(ty, v, precision="ns"):
    """A SQL literal of exactly type `ty` holding v (None is a typed NULL)."""
    if v is None:
        return "NULL" if ty == "bool" else f"CAST(NULL AS {sql_cast_type(ty, precision)})"
    if ty == "int":
        return f"({v})" if v < 0 else str(v)  # "-" after "-" would start a comment
    if ty == "uint":
        return f"CAST({v} AS BIGINT UNSIGNED)"
    if ty == "float":
        if math.isnan(v):
            return "CAST('NaN' AS DOUBLE)"
        if math.isinf(v):
            return "CAST('-inf' AS DOUBLE)" if v < 0 else "CAST('inf' AS DOUBLE)"
        r = repr(v)
        if r.startswith("-"):
            return f"(-{r[1:]})"
        return r
    if ty == "str":
        return quote_str(v)
    if ty == "bool":
        return "TRUE" if v else "FALSE"
    if ty == "ts":
        return f"CAST({v} AS TIMESTAMP({TS_PREC[precision]}))"
    raise ValueError(ty)


def sql_cast_type(ty, precision="ns"):
    return f"TIMESTAMP({TS_PREC[precision]})" if ty == "ts" else SQL_TYPE[ty]


def insert_value_sql(ty, v):
    """A value in INSERT ... VALUES for a column of type ty."""
    if v is None:
        return "NULL"
    if ty == "uint":
        return str(v)
    if ty == "float" and (math.isnan(v) or math.isinf(v)):
        return "'NaN'" if math.isnan(v) else ("'-inf'" if v < 0 else "'inf'")
    return lit_sql(ty, v)


def lp_escape_key(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace("=", "\\=").replace(" ", "\\ ")


def lp_escape_measurement(s):
    return s.replace("\\", "\\\\").replace(",", "\\,").replace(" ", "\\ ")


def lp_field_value(ty, v):
    if ty == "int":
        return f"{v}i"
    if ty == "uint":
        return f"{v}u"
    if ty == "float":
        return repr(v)
    if ty == "str":
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if ty == "bool":
        return "true" if v else "false"
    raise ValueError(ty)


def lp_ok_value(ty, v):
    """Line protocol has no NaN or infinity, and no newline inside a string."""
    if ty == "float":
        return math.isfinite(v)
    if ty == "str":
        return "\n" not in v
    return True


def lp_ok_tag(v):
    return v != "" and "\n" not in v and not v.endswith("\\")


# ------------------------------------------------------------------ schema and data


class Col:
    def __init__(self, name, kind, ty, codec="DEFAULT"):
        self.name = name
        self.kind = kind  # time, tag, field
        self.ty = ty
        self.codec = codec

    @property
    def sql(self):
        return quote_ident(self.name) if needs_quote(self.name) else self.name

    def __repr__(self):
        return f"Col({self.name!r}, {self.kind}, {self.ty})"


def needs_quote(name):
    return not (name.isascii() and name.replace("_", "a").isalnum() and name[0].isalpha()
                and name.islower())


class Schema:
    def __init__(self, db, precision, table, cols, via_lp, options=""):
        self.db = db
        self.precision = precision
        self.table = table
        self.cols = cols  # includes time first; columns added later by ALTER are not here
        self.via_lp = via_lp
        self.options = options  # of CREATE DATABASE, besides the precision

    def create_db_sql(self, db):
        opts = f"{self.options} " if self.options else ""
        return f"CREATE DATABASE {db} WITH {opts}PRECISION '{self.precision}'"

    @property
    def table_sql(self):
        return quote_ident(self.table) if needs_quote(self.table) else self.table

    def tags(self):
        return [c for c in self.cols if c.kind == "tag"]

    def fields(self):
        return [c for c in self.cols if c.kind == "field"]

    def col(self, name):
        for c in self.cols:
            if c.name == name:
                return c
        return None

    def create_sql(self):
        parts = []
        for c in self.fields():
            codec = f" CODEC({c.codec})" if c.codec != "DEFAULT" else ""
            parts.append(f"{c.sql} {SQL_TYPE[c.ty]}{codec}")
        tags = self.tags()
        if tags:
            parts.append("TAGS(" + ", ".join(c.sql for c in tags) + ")")
        return f"CREATE TABLE {self.table_sql} ({', '.join(parts)})"



class Row:
    __slots__ = ("tags", "time", "fields")

    def __init__(self, tags, time, fields):
        self.tags = tags  # name -> str (missing tags absent)
        self.time = time  # in the database's unit
        self.fields = fields  # name -> value (missing fields absent)

    def key(self):
        return (tuple(sorted(self.tags.items())), self.time)


class Step:
    """kind: lp | insert | compact | alter (ADD) | drop | rename | delete | restart | kill."""

    def __init__(self, kind, rows=None, col=None, delete=None, arg=None):
        self.kind = kind
        self.rows = rows or []
        self.col = col  # alter: the column added; drop, rename: the column
        self.delete = delete  # delete: (tag name or None, tag value, tmin, tmax)
        self.arg = arg  # rename: the new name

    def copy(self, rows=None):
        return Step(self.kind, list(self.rows if rows is None else rows), self.col, self.delete,
                    self.arg)


def cols_after(cols, step):
    """The table's columns after a schema step (the same list for other steps)."""
    if step.kind == "alter":
        return cols + [step.col]
    if step.kind == "drop":
        return [c for c in cols if c.name != step.col.name]
    if step.kind == "rename":
        return [Col(step.arg, c.kind, c.ty, c.codec) if c.name == step.col.name else c
                for c in cols]
    return cols


def step_sql(schema, step, cols):
    """The SQL statement of an insert/compact/alter/delete step (None for lp/restart); cols:
    every column the table has by then."""
    if step.kind == "insert":
        cols = [c for c in cols if c.kind != "time" and any(
            c.name in r.tags or c.name in r.fields for r in step.rows)]
        values = []
        for r in step.rows:
            vals = [str(r.time)]
            for c in cols:
                v = r.tags.get(c.name) if c.kind == "tag" else r.fields.get(c.name)
                vals.append(insert_value_sql(c.ty, v))
            values.append("(" + ", ".join(vals) + ")")
        names = ", ".join(["time"] + [c.sql for c in cols])
        return f"INSERT INTO {schema.table_sql} ({names}) VALUES " + ", ".join(values)
    if step.kind == "compact":
        return f"COMPACT DATABASE {schema.db}"
    if step.kind == "alter":
        c = step.col
        if c.kind == "tag":
            return f"ALTER TABLE {schema.table_sql} ADD TAG {c.sql}"
        codec = f" CODEC({c.codec})" if c.codec != "DEFAULT" else ""
        return f"ALTER TABLE {schema.table_sql} ADD FIELD {c.sql} {SQL_TYPE[c.ty]}{codec}"
    if step.kind == "drop":
        return f"ALTER TABLE {schema.table_sql} DROP {step.col.sql}"
    if step.kind == "rename":
        new = quote_ident(step.arg) if needs_quote(step.arg) else step.arg
        return f"ALTER TABLE {schema.table_sql} RENAME COLUMN {step.col.sql} TO {new}"
    if step.kind == "delete":
        tag, val, tmin, tmax = step.delete
        conds = []
        if tag is not None:
            conds.append(f"{quote_ident(tag)} = {quote_str(val)}")
        if tmin is not None:
            conds.append(f"time >= {tmin}")
        if tmax is not None:
            conds.append(f"time <= {tmax}")
        where = " WHERE " + " AND ".join(conds) if conds else ""
        return f"DELETE FROM {schema.table_sql}{where}"
    return None


def step_lp(schema, step, cols):
    """The line-protocol body of an lp step; cols: every column the table has by then."""
    types = {c.name: c.ty for c in cols}
    lines = []
    for r in step.rows:
        key = lp_escape_measurement(schema.table)
        for name in sorted(r.tags):
            key += f",{lp_escape_key(name)}={lp_escape_key(r.tags[name])}"
        fields = []
        for name, v in r.fields.items():
            fields.append(f"{lp_escape_key(name)}={lp_field_value(types[name], v)}")
        lines.append(f"{key} {','.join(fields)} {r.time}")
    return "\n".join(lines) + "\n"


class Model:
    """The table's contents after a list of steps."""

    def __init__(self):
        self.rows = {}  # key -> (tags dict, time, fields dict)

    def apply(self, step):
        if step.kind in ("lp", "insert"):
            for r in step.rows:
                k = r.key()
                if k not in self.rows:
                    self.rows[k] = (dict(r.tags), r.time, {})
                self.rows[k][2].update(r.fields)
        elif step.kind == "delete":
            tag, val, tmin, tmax = step.delete
            for k in list(self.rows):
                tags, t, _ = self.rows[k]
                if tag is not None and tags.get(tag) != val:
                    continue
                if tmin is not None and t < tmin:
                    continue
                if tmax is not None and t > tmax:
                    continue
                del self.rows[k]
        elif step.kind == "drop":
            for _, _, fields in self.rows.values():
                fields.pop(step.col.name, None)
        elif step.kind == "rename":
            old, new, rows = step.col.name, step.arg, {}
            for tags, t, fields in self.rows.values():
                tags = {new if k == old else k: v for k, v in tags.items()}
                fields = {new if k == old else k: v for k, v in fields.items()}
                rows[(tuple(sorted(tags.items())), t)] = (tags, t, fields)
            self.rows = rows

    @staticmethod
    def of(steps):
        m = Model()
        for s in steps:
            m.apply(s)
        return m


def final_cols(schema, steps):
    """Columns at the end of the steps."""
    cols = list(schema.cols)
    for s in steps:
        cols = cols_after(cols, s)
    return cols


# ------------------------------------------------------------------ case generation


class DataGen:
    def __init__(self, rng):
        self.rng = rng

    def value(self, ty):
        r = self.rng
        if ty == "int":
            return r.choice(INTS) if r.random() < 0.5 else r.randint(-50, 50)
        if ty == "uint":
            return r.choice(UINTS) if r.random() < 0.5 else r.randint(0, 60)
        if ty == "float":
            if r.random() < 0.5:
                return r.choice(FLOATS)
            return round(r.uniform(-100, 100), r.choice([0, 1, 2, 6]))
        if ty == "str":
            if r.random() < 0.003:
                return r.choice("yzü") * r.choice([4095, 4096, 65535, 65536, 70000])
            return r.choice(STRS) if r.random() < 0.7 else "".join(
                r.choice("abcAB%_ü ") for _ in range(r.randint(0, 6)))
        if ty == "bool":
            return r.random() < 0.5
        raise ValueError(ty)

    def name(self, prefix, i, used):
        r = self.rng
        if r.random() < 0.85:
            n = f"{prefix}{i}"
        else:
            n = r.choice([f"{prefix.upper()}{i}", f"{prefix} {i}", f"{prefix}é{i}",
                          f"{prefix}_x{i}", f"温{i}", f"{prefix}.{i}", f"Ab{i}"])
        while n in used:
            n += "_"
        used.add(n)
        return n

    def schema(self, db):
        r = self.rng
        used = {"time"}
        precision = r.choice(["ns", "us", "ms"])
        table = r.choice(["t", "t", "m", "Cpu", "air quality", "tbl_1"])
        cols = [Col("time", "time", "ts")]
        for i in range(r.choice([0, 1, 1, 2, 2, 3, 4])):
            cols.append(Col(self.name("t", i, used), "tag", "str"))
        for i in range(r.randint(1, 6) if r.random() < 0.97 else r.randint(20, 60)):
            ty = r.choice(FIELD_TYPES)
            codec = r.choice(CODECS[ty]) if r.random() < 0.3 else "DEFAULT"
            cols.append(Col(self.name("f", i, used), "field", ty, codec))
        options = []
        if r.random() < 0.3:
            options.append(f"SHARD {r.choice([1, 2, 3, 8])}")
        if r.random() < 0.3:
            options.append(f"VNODE_DURATION '{r.choice(['1h', '1d', '7d', '30d', '1y'])}'")
        via_lp = r.random() < 0.25
        if via_lp:
            for c in cols:
                c.codec = "DEFAULT"
        return Schema(db, precision, table, cols, via_lp, " ".join(options))

    def times(self, precision):
        r = self.rng
        per_s = 10**9 // UNIT_NS[precision]
        base = 1_700_000_000 * per_s
        step = r.choice([1, per_s, 60 * per_s, 3600 * per_s, 86400 * per_s])
        pool = [base + k * step for k in range(r.randint(1, 30))]
        extremes = [0, -1, 1, I64_MAX, I64_MIN, I64_MAX - 1, I64_MIN + 1,
                    -(10**18) // UNIT_NS[precision], 9 * 10**18 // UNIT_NS[precision],
                    946684800 * per_s, 86400 * per_s * 365 * 300]
        extremes = [t for t in extremes if I64_MIN <= t <= I64_MAX]
        if r.random() < 0.3:
            pool += r.sample(extremes, r.randint(1, 3))
        return pool

    def case(self, db):
        """(schema, steps)."""
        r = self.rng
        schema = self.schema(db)
        used = {c.name for c in schema.cols}
        times = self.times(schema.precision)
        big = r.random() < 0.04  # more rows than one 4096-row batch, many series
        tag_pools = {c.name: self.tag_pool(big) for c in schema.tags()}
        series = []
        for _ in range(r.randint(100, 300) if big else r.randint(1, 8)):
            series.append({c.name: r.choice(tag_pools[c.name]) for c in schema.tags()
                           if r.random() < 0.85})
        pools = {c.name: [self.value(c.ty) for _ in range(r.randint(1, 8))]
                 for c in schema.fields()}
        null_rate = r.choice([0.0, 0.1, 0.3, 0.7])
        cols = list(schema.cols)
        late_tags = set()
        steps = []
        for b in range(r.choice([1, 1, 2, 3, 4, 6])):
            if b > 0 and r.random() < 0.2:
                st = self.schema_step(cols, used, tag_pools, pools)
                if st is not None:
                    steps.append(st)
                    if st.kind == "alter" and st.col.kind == "tag":
                        late_tags.add(st.col.name)
                    if st.kind == "rename":
                        pool = tag_pools if st.col.kind == "tag" else pools
                        pool[st.arg] = pool[st.col.name]
                        if st.col.name in late_tags:
                            late_tags.add(st.arg)
                        for s in series:
                            if st.col.name in s:
                                s[st.arg] = s.pop(st.col.name)
                    cols = cols_after(cols, st)
            use_lp = r.random() < 0.5 or (b == 0 and schema.via_lp) or big
            nrows = r.randint(3000, 6000) if big else r.randint(1, r.choice([5, 20, 60]))
            rows = []
            fields_now = [c for c in cols if c.kind == "field"]
            by_name = {c.name: c for c in cols}
            for _ in range(nrows):
                tags = dict(r.choice(series))
                for name in late_tags:
                    if name in by_name and r.random() < 0.6:
                        tags[name] = r.choice(tag_pools[name])
                fields = {}
                for c in fields_now:
                    if r.random() >= null_rate:
                        pool = pools[c.name]
                        fields[c.name] = r.choice(pool) if r.random() < 0.7 else self.value(c.ty)
                if use_lp:
                    tags = {k: v for k, v in tags.items() if lp_ok_tag(v)}
                    fields = {k: v for k, v in fields.items() if lp_ok_value(by_name[k].ty, v)}
                if not fields:
                    f = r.choice(fields_now)
                    fields[f.name] = {"int": 1, "uint": 1, "float": 1.0, "str": "s",
                                      "bool": True}[f.ty]
                rows.append(Row(tags, r.choice(times), fields))
            if b == 0 and schema.via_lp:
                rows.insert(0, self.full_row(schema, tag_pools, pools, times))
            steps.append(Step("lp" if use_lp else "insert", rows=rows))
            if r.random() < 0.35:
                steps.append(Step("compact"))
            if r.random() < 0.08:
                tags = [c for c in cols if c.kind == "tag"]
                tag = r.choice(tags) if tags and r.random() < 0.7 else None
                val = r.choice(tag_pools[tag.name]) if tag else None
                t = sorted(r.sample(times, min(2, len(times))))
                tmin = t[0] if r.random() < 0.5 else None
                tmax = t[-1] if r.random() < 0.5 else None
                steps.append(Step("delete", delete=(tag.name if tag else None, val, tmin, tmax)))
            if r.random() < 0.03:
                # acknowledged writes survive a restart, and kill -9 too (the WAL is synced
                # before a write is answered)
                steps.append(Step(r.choice(["restart", "kill"])))
        return schema, steps

    def tag_pool(self, big):
        r = self.rng
        if big:
            return [f"v{i}" for i in range(r.randint(20, 400))]
        return r.sample(TAG_STRS, r.randint(1, 5))

    def full_row(self, schema, tag_pools, pools, times):
        """The first line of a table created by line protocol: every column, so that the
        table has them all."""
        r = self.rng
        tags = {c.name: r.choice([v for v in tag_pools[c.name] if lp_ok_tag(v)] or ["a"])
                for c in schema.tags()}
        fields = {}
        for c in schema.fields():
            vals = [v for v in pools[c.name] if lp_ok_value(c.ty, v)]
            fields[c.name] = vals[0] if vals else {"int": 0, "uint": 0, "float": 0.0, "str": "",
                                                   "bool": False}[c.ty]
        return Row(tags, r.choice(times), fields)

    def schema_step(self, cols, used, tag_pools, pools):
        """ALTER TABLE between two batches: ADD TAG/FIELD, DROP a field, RENAME a column."""
        r = self.rng
        fields = [c for c in cols if c.kind == "field"]
        k = r.random()
        if k < 0.55:
            if r.random() < 0.3:
                c = Col(self.name("t", len(cols) + 10, used), "tag", "str")
                tag_pools[c.name] = r.sample(TAG_STRS, r.randint(1, 4))
            else:
                ty = r.choice(FIELD_TYPES)
                c = Col(self.name("f", len(cols) + 10, used), "field", ty,
                        r.choice(CODECS[ty]) if r.random() < 0.3 else "DEFAULT")
                pools[c.name] = [self.value(c.ty) for _ in range(r.randint(1, 6))]
            return Step("alter", col=c)
        if k < 0.75 and len(fields) > 1:
            return Step("drop", col=r.choice(fields))
        c = r.choice([c for c in cols if c.kind != "time"])
        return Step("rename", col=c, arg=self.name(c.name[:1] + "r", len(cols) + 20, used))


# ------------------------------------------------------------------ expressions


class Node:
    __slots__ = ("ty", "fmt", "kids", "label", "col")

    def __init__(self, ty, fmt, kids=(), label=None, col=None):
        self.ty = ty
        self.fmt = fmt
        self.kids = list(kids)
        self.label = label or ("lit" if not kids else fmt)
        self.col = col  # the Col of a column reference

    def render(self):
        if not self.kids:
            return self.fmt
        return self.fmt.format(*(k.render() for k in self.kids))

    def nodes(self):
        yield self
        for k in self.kids:
            yield from k.nodes()

    def copy(self):
        return Node(self.ty, self.fmt, [k.copy() for k in self.kids], self.label, self.col)

    def labels(self):
        return sorted({n.label for n in self.nodes() if n.label != "lit"})

    def columns(self):
        return [n.col for n in self.nodes() if n.col is not None]


def col_node(c):
    return Node(c.ty, c.sql, label=f"col:{c.ty}", col=c)


def lit_node(ty, v, precision="ns"):
    return Node(ty, lit_sql(ty, v, precision))


def simple_lit(ty, precision="ns"):
    return lit_node(ty, {"int": 0, "uint": 0, "float": 0.0, "str": "", "bool": True,
                         "ts": 0}[ty], precision)


class ExprGen:
    """Typed random expressions over the columns of one table.

    `pools` maps a column name to values present in the data, so that comparisons with
    constants select some rows and not always none or all."""

    def __init__(self, rng, cols, precision, pools, max_depth=4):
        self.rng = rng
        self.cols = cols
        self.precision = precision
        self.pools = pools
        self.max_depth = max_depth
        self.data = DataGen(rng)

    # -- leaves

    def cols_of(self, ty):
        return [c for c in self.cols if c.ty == ty]

    def leaf(self, ty):
        r = self.rng
        cs = self.cols_of(ty)
        if cs and r.random() < 0.65:
            return col_node(r.choice(cs))
        return self.literal(ty)

    def literal(self, ty, near=None):
        r = self.rng
        if r.random() < 0.04:
            return Node(ty, lit_sql(ty, None, self.precision))
        if ty == "ts":
            return self.ts_literal()
        if ty == "bool":
            return lit_node("bool", r.random() < 0.5)
        pool = []
        for c in (near or self.cols_of(ty)):
            if c.ty == ty:
                pool += self.pools.get(c.name, [])
        if pool and r.random() < 0.6:
            return lit_node(ty, r.choice(pool), self.precision)
        return lit_node(ty, self.data.value(ty), self.precision)

    def ts_literal(self):
        r = self.rng
        pool = self.pools.get("time", [])
        t = r.choice(pool) if pool and r.random() < 0.8 else r.choice([0, 1, I64_MAX, I64_MIN])
        if r.random() < 0.3:
            t += r.choice([-1, 1])
            t = max(I64_MIN, min(I64_MAX, t))
        text = ns_to_rfc3339(t * UNIT_NS[self.precision]) \
            if I64_MIN <= t * UNIT_NS[self.precision] <= I64_MAX else None
        if text and r.random() < 0.5:
            if r.random() < 0.2:
                text = text[:19] + r.choice(["Z", "+00:00", "+08:00", "-05:30"])
            return Node("ts", f"TIMESTAMP '{text}'")
        return lit_node("ts", t, self.precision)

    # -- by type

    def expr(self, ty, depth=0):
        if depth >= self.max_depth or self.rng.random() < 0.25 + 0.15 * depth:
            return self.leaf(ty)
        return getattr(self, "gen_" + ty)(depth + 1)

    def cmp_operand_types(self):
        r = self.rng
        present = sorted({c.ty for c in self.cols})
        if present and r.random() < 0.8:
            return r.choice(present)
        return r.choice(["int", "uint", "float", "str", "bool", "ts"])

    def gen_bool(self, d):
        r = self.rng
        k = r.random()
        if k < 0.30:
            ty = self.cmp_operand_types()
            a = self.expr(ty, d)
            if ty in ("int", "float") and r.random() < 0.2:
                ty = "float" if ty == "int" else "int"  # numeric coercion
            b = self.expr(ty, d) if r.random() < 0.5 else self.literal(ty, a.columns() or None)
            if ty == "ts" and r.random() < 0.2:
                b = self.time_as_other()
            op = r.choice(["=", "<>", "!=", "<", "<=", ">", ">="] if ty != "bool"
                          else ["=", "<>", "<", ">="])
            return Node("bool", "({0} %s {1})" % op, [a, b], label=op)
        if k < 0.45:
            op = r.choice(["AND", "OR"])
            return Node("bool", "({0} %s {1})" % op, [self.expr("bool", d), self.expr("bool", d)],
                        label=op)
        if k < 0.50:
            return Node("bool", "(NOT {0})", [self.expr("bool", d)], label="NOT")
        if k < 0.58:
            ty = self.cmp_operand_types()
            neg = r.choice(["", " NOT"])
            return Node("bool", "({0} IS%s NULL)" % neg, [self.expr(ty, d)], label="IS NULL")
        if k < 0.62:
            what = r.choice(["TRUE", "FALSE", "UNKNOWN", "NOT TRUE", "NOT FALSE", "NOT UNKNOWN"])
            return Node("bool", "({0} IS %s)" % what, [self.expr("bool", d)], label="IS " + what)
        if k < 0.66:
            ty = self.cmp_operand_types()
            neg = r.choice(["", " NOT"])
            return Node("bool", "({0} IS%s DISTINCT FROM {1})" % neg,
                        [self.expr(ty, d), self.expr(ty, d)], label="DISTINCT")
        if k < 0.73:
            ty = r.choice([t for t in ("int", "float", "str", "ts", "uint")
                           if self.cols_of(t)] or ["int"])
            a = self.expr(ty, d)
            lo, hi = self.literal(ty, a.columns() or None), self.literal(ty, a.columns() or None)
            neg = r.choice(["", " NOT"])
            return Node("bool", "({0}%s BETWEEN {1} AND {2})" % neg, [a, lo, hi],
                        label="BETWEEN")
        if k < 0.82:
            ty = r.choice([t for t in ("int", "float", "str", "ts", "uint", "bool")
                           if self.cols_of(t)] or ["str"])
            a = self.expr(ty, d)
            items = [self.literal(ty, a.columns() or None)
                     for _ in range(r.choice([1, 2, 3, 5]) if r.random() < 0.97
                                    else r.choice([20, 100, 500]))]
            if r.random() < 0.15:
                items.append(self.expr(ty, d))
            neg = r.choice(["", " NOT"])
            body = ", ".join("{%d}" % (i + 1) for i in range(len(items)))
            return Node("bool", "({0}%s IN (%s))" % (neg, body), [a] + items, label="IN")
        if k < 0.90:
            a = self.expr("str", d)
            pat = r.choice(LIKE_PATTERNS) if r.random() < 0.7 else self.like_pattern_from(a)
            if r.random() < 0.004:
                # many wildcards against a long subject: backtracking matchers take
                # exponential time here (the hang oracle catches them)
                a = Node("str", "({0} || {1})",
                         [a, Node("str", quote_str("a" * r.choice([40, 200, 3000])))], label="||")
                pat = "%a" * r.choice([8, 15, 40]) + r.choice(["%b", "b", "%"])
            op = r.choice(["LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"])
            p = Node("str", quote_str(pat)) if r.random() < 0.9 else self.expr("str", d)
            return Node("bool", "({0} %s {1})" % op, [a, p], label=op)
        if k < 0.915:
            op = r.choice(["~", "~*", "!~", "!~*"])
            p = Node("str", quote_str(r.choice(REGEXES))) if r.random() < 0.9 \
                else self.expr("str", d)
            return Node("bool", "({0} %s {1})" % op, [self.expr("str", d), p], label=op)
        if k < 0.93:
            fn = r.choice(["starts_with", "ends_with"])
            return Node("bool", fn + "({0}, {1})", [self.expr("str", d), self.expr("str", d)],
                        label=fn)
        if k < 0.96:
            return self.conditional("bool", d)
        src = r.choice(["int", "str", "float", "uint"])
        return self.cast(src, "bool", d)

    def like_pattern_from(self, a):
        cs = a.columns()
        pool = []
        for c in cs:
            pool += [v for v in self.pools.get(c.name, []) if isinstance(v, str)]
        if not pool:
            return "%"
        s = self.rng.choice(pool)
        i = self.rng.randint(0, len(s))
        return s[:i] + "%"

    def time_as_other(self):
        """time compared with a string or an integer (DataFusion coerces both)."""
        r = self.rng
        pool = self.pools.get("time", [0])
        t = r.choice(pool)
        text = ns_to_rfc3339(t * UNIT_NS[self.precision]) \
            if I64_MIN <= t * UNIT_NS[self.precision] <= I64_MAX else None
        if r.random() < 0.5 or not text:
            return Node("int", lit_sql("int", t))
        return Node("str", quote_str(text + r.choice(["", "Z", "+00:00"])))

    def conditional(self, ty, d):
        r = self.rng
        k = r.random()
        if k < 0.4:
            n = r.choice([1, 1, 2])
            kids, parts = [], []
            for i in range(n):
                kids += [self.expr("bool", d), self.expr(ty, d)]
                parts.append("WHEN {%d} THEN {%d}" % (2 * i, 2 * i + 1))
            fmt = "(CASE " + " ".join(parts)
            if r.random() < 0.7:
                kids.append(self.expr(ty, d))
                fmt += " ELSE {%d}" % (len(kids) - 1)
            return Node(ty, fmt + " END)", kids, label="CASE")
        # coalesce and nullif take DataFusion 27's list of types, which has no timestamps: two
        # timestamps coerce to text
        if k < 0.55 or ty == "ts":
            oty = self.cmp_operand_types()
            kids = [self.expr(oty, d), self.literal(oty), self.expr(ty, d), self.expr(ty, d)]
            return Node(ty, "(CASE {0} WHEN {1} THEN {2} ELSE {3} END)", kids, label="CASE op")
        if k < 0.8:
            n = r.choice([2, 2, 3])
            body = ", ".join("{%d}" % i for i in range(n))
            return Node(ty, f"coalesce({body})", [self.expr(ty, d) for _ in range(n)],
                        label="coalesce")
        return Node(ty, "nullif({0}, {1})", [self.expr(ty, d), self.expr(ty, d)], label="nullif")

    def cast(self, src, dst, d):
        r = self.rng
        kw = r.choice(["CAST", "TRY_CAST", "TRY_CAST"])
        if r.random() < 0.15 and kw == "CAST":
            return Node(dst, "({0})::%s" % sql_cast_type(dst, self.precision),
                        [self.expr(src, d)], label=f"::{src}->{dst}")
        return Node(dst, "%s({0} AS %s)" % (kw, sql_cast_type(dst, self.precision)),
                    [self.expr(src, d)], label=f"{kw} {src}->{dst}")

    def arith(self, ty, d):
        r = self.rng
        op = r.choice(["+", "-", "*", "+", "-", "*", "/", "%"])
        a, b = self.expr(ty, d), self.expr(ty, d)
        if op in ("/", "%") and ty != "float" and r.random() < 0.8:
            b = Node(ty, "nullif({0}, %s)" % lit_sql(ty, 0), [b], label="nullif0")
        return Node(ty, "({0} %s {1})" % op, [a, b], label=op)

    def gen_int(self, d):
        r = self.rng
        k = r.random()
        if k < 0.35:
            return self.arith("int", d)
        if k < 0.42:
            return Node("int", "(-{0})", [self.expr("int", d)], label="neg")
        if k < 0.55:
            fn = r.choice(["length", "char_length", "character_length"])
            return Node("int", fn + "({0})", [self.expr("str", d)], label=fn)
        if k < 0.80:
            return self.conditional("int", d)
        return self.cast(r.choice(["float", "str", "bool", "uint", "ts"]), "int", d)

    def gen_uint(self, d):
        r = self.rng
        k = r.random()
        if k < 0.35:
            return self.arith("uint", d)
        if k < 0.65:
            return self.conditional("uint", d)
        return self.cast(r.choice(["int", "float", "str"]), "uint", d)

    def gen_float(self, d):
        r = self.rng
        k = r.random()
        if k < 0.30:
            if r.random() < 0.3:
                a, b = self.expr("float", d), self.expr(r.choice(["int", "float"]), d)
                if r.random() < 0.5:
                    a, b = b, a
                op = r.choice(["+", "-", "*", "/"])
                return Node("float", "({0} %s {1})" % op, [a, b], label=op)
            return self.arith("float", d)
        if k < 0.36:
            return Node("float", "(-{0})", [self.expr("float", d)], label="neg")
        if k < 0.50:
            fn = r.choice(["abs", "ceil", "floor", "round", "trunc", "sqrt", "cbrt", "ln", "log10",
                           "log2", "exp", "sign", "signum", "sin", "cos", "tan", "asin", "acos",
                           "atan"])
            # each takes DOUBLE (an integer argument is cast) and gives DOUBLE, abs too
            arg = self.expr(r.choice(["float", "int"]), d)
            return Node("float", fn + "({0})", [arg], label=fn)
        if k < 0.56:
            fn = r.choice(["pow", "power", "log", "round"])  # trunc takes one argument
            if fn == "round":
                return Node("float", fn + "({0}, {1})",
                            [self.expr("float", d), Node("int", str(r.randint(-3, 5)))], label=fn)
            return Node("float", fn + "({0}, {1})", [self.expr("float", d), self.expr("float", d)],
                        label=fn)
        if k < 0.64:
            f = r.choice(DATE_FIELDS)
            if r.random() < 0.5:
                return Node("float", "date_part('%s', {0})" % f, [self.expr("ts", d)],
                            label="date_part")
            return Node("float", "EXTRACT(%s FROM {0})" % f, [self.expr("ts", d)],
                        label="extract")
        if k < 0.82:
            return self.conditional("float", d)
        return self.cast(r.choice(["int", "uint", "str", "bool"]), "float", d)

    def gen_str(self, d):
        r = self.rng
        k = r.random()
        if k < 0.15:
            return Node("str", "({0} || {1})", [self.expr("str", d), self.expr("str", d)],
                        label="||")
        if k < 0.30:
            fn = r.choice(["lower", "upper"])
            return Node("str", fn + "({0})", [self.expr("str", d)], label=fn)
        if k < 0.40:
            n = r.choice([1, 2, 3])
            body = ", ".join("{%d}" % i for i in range(n))
            return Node("str", f"concat({body})", [self.expr("str", d) for _ in range(n)],
                        label="concat")
        if k < 0.65:
            return self.conditional("str", d)
        return self.cast(r.choice(["int", "uint", "float", "bool", "ts"]), "str", d)

    def gen_ts(self, d):
        r = self.rng
        k = r.random()
        if k < 0.3:
            op = r.choice(["+", "-"])
            iv = r.choice(INTERVALS)
            return Node("ts", "({0} %s INTERVAL '%s')" % (op, iv), [self.expr("ts", d)],
                        label="ts" + op + "interval")
        if k < 0.45:
            u = r.choice(DATE_UNITS)
            return Node("ts", "date_trunc('%s', {0})" % u, [self.expr("ts", d)],
                        label="date_trunc")
        if k < 0.6:
            iv = r.choice(BIN_INTERVALS)
            if r.random() < 0.5:
                return Node("ts", "date_bin(INTERVAL '%s', {0})" % iv, [self.expr("ts", d)],
                            label="date_bin")
            return Node("ts", "date_bin(INTERVAL '%s', {0}, {1})" % iv,
                        [self.expr("ts", d), self.ts_literal()], label="date_bin3")
        if k < 0.7:
            fn = r.choice(["to_timestamp", "to_timestamp_seconds", "to_timestamp_millis",
                           "to_timestamp_micros", "to_timestamp_nanos", "from_unixtime"])
            arg = self.expr(r.choice(["int", "int", "float"]) if fn == "to_timestamp" else "int",
                            d)
            return Node("ts", fn + "({0})", [arg], label=fn)

        if k < 0.85:
            return self.conditional("ts", d)
        return self.cast(r.choice(["int", "str"]), "ts", d)


def value_pools(schema_cols, model):
    """Values present in the data, per column name (and 'time')."""
    pools = {}
    for tags, t, fields in model.rows.values():
        pools.setdefault("time", set()).add(t)
        for k, v in tags.items():
            pools.setdefault(k, set()).add(v)
        for k, v in fields.items():
            if isinstance(v, float) and math.isnan(v):
                continue
            pools.setdefault(k, set()).add(v)
    return {k: sorted(v, key=repr)[:40] for k, v in pools.items()}


def make_rng(seed):
    return random.Random(seed)
