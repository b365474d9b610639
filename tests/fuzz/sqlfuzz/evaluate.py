"""A reference evaluator for part of the generated expressions: integers, strings,
booleans and doubles (arithmetic and libm functions) with SQL's three-valued logic, as DataFusion defines them (and CnosDB where it
differs: lower, upper and ILIKE change ASCII letters only). The `eval` oracle
compares it with what the server computes over a stored row; the `fold` oracle cannot see a
wrong value that the vector kernels and constant folding share.

Anything outside the subset raises Unsupported: BIGINT UNSIGNED and timestamps, comparisons
with NaN or a zero (IEEE and arrow's total order disagree), casts from DOUBLE, an
integer overflow (DataFusion versions differ: wrap or error), a division by zero or a failing
CAST (the server answers an error), casts between other types.
"""

import math
import re

from .gen import I64_MAX, I64_MIN


class Unsupported(Exception):
    pass


CMP = {"=", "<>", "!=", "<", "<=", ">", ">="}
INT_RE = re.compile(r"^[+-]?[0-9]+$")


FLOAT_LITS = {"CAST('NaN' AS DOUBLE)": math.nan, "CAST('inf' AS DOUBLE)": math.inf,
              "CAST('-inf' AS DOUBLE)": -math.inf}


def literal(fmt, ty):
    if fmt in ("TRUE", "FALSE"):
        return fmt == "TRUE"
    if fmt == "NULL" or re.fullmatch(r"CAST\(NULL AS (BIGINT|STRING|BOOLEAN|DOUBLE)\)", fmt):
        return None
    if ty == "float":
        if fmt in FLOAT_LITS:
            return FLOAT_LITS[fmt]
        m = re.fullmatch(r"\(?(-?[0-9.]+(?:e[+-]?[0-9]+)?)\)?", fmt)
        if m:
            return float(m.group(1))
        raise Unsupported(f"literal {fmt}")
    m = re.fullmatch(r"\(?(-?[0-9]+)\)?", fmt)
    if m:
        return int(m.group(1))
    if len(fmt) >= 2 and fmt[0] == "'" and fmt[-1] == "'" and "'" not in fmt[1:-1].replace(
            "''", ""):
        return fmt[1:-1].replace("''", "'")
    raise Unsupported(f"literal {fmt}")


def checked(v):
    if not I64_MIN <= v <= I64_MAX:
        raise Unsupported("overflow")
    return v


def compare(op, a, b):
    if a is None or b is None:
        return None
    if isinstance(a, str) != isinstance(b, str):
        raise Unsupported("mixed comparison")
    for x, y in ((a, b), (b, a)):
        if isinstance(x, float):
            # NaN and the sign of zero: IEEE and arrow's total order disagree
            if math.isnan(x) or x == 0.0:
                raise Unsupported("NaN or zero compared")
            if isinstance(y, int) and not isinstance(y, bool) and abs(y) > 2**53:
                raise Unsupported("inexact integer")
    if isinstance(a, str):
        a, b = a.encode("utf-8"), b.encode("utf-8")
    return {"=": a == b, "<>": a != b, "!=": a != b, "<": a < b, "<=": a <= b, ">": a > b,
            ">=": a >= b}[op]


def and3(a, b):
    if a is False or b is False:
        return False
    if a is None or b is None:
        return None
    return True


def or3(a, b):
    if a is True or b is True:
        return True
    if a is None or b is None:
        return None
    return False


def not3(a):
    return None if a is None else not a


def like_tokens(pat):
    """The pattern as a list of ('%',), ('_',) and ('c', char); a backslash escapes."""
    out, i = [], 0
    while i < len(pat):
        ch = pat[i]
        if ch == "\\" and i + 1 < len(pat):
            out.append(("c", pat[i + 1]))
            i += 2
            continue
        out.append((ch,) if ch in "%_" else ("c", ch))
        i += 1
    return out


def fold_ascii(c):
    return c.lower() if c.isascii() else c


def like_match(s, pat, ci):
    """LIKE by dynamic programming over (pattern position, text position): linear in the text
    for a given pattern, where a backtracking regular expression can take exponential time
    (the fuzzer sends such patterns on purpose). ci: ILIKE, folding ASCII letters only, as
    CnosDB does (its string_func tests: lower('ÇÇçç') = 'ÇÇçç')."""
    toks = like_tokens(pat)
    if ci:
        s = "".join(fold_ascii(c) for c in s)
        toks = [(t[0], fold_ascii(t[1])) if t[0] == "c" else t for t in toks]
    # reach[j]: the first j characters of s are matched by the tokens seen so far
    reach = [True] + [False] * len(s)
    for t in toks:
        if t[0] == "%":
            seen = False
            for j in range(len(s) + 1):
                seen = seen or reach[j]
                reach[j] = seen
        else:
            nxt = [False] * (len(s) + 1)
            for j in range(len(s)):
                if reach[j] and (t[0] == "_" or s[j] == t[1]):
                    nxt[j + 1] = True
            reach = nxt
    return reach[len(s)]


def float_arith(op, a, b):
    a, b = float(a), float(b)
    if op in ("/", "%") and b == 0.0:
        if op == "%" or a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    if op == "%":
        return math.fmod(a, b) if math.isfinite(a) else math.nan
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    return a * b if op == "*" else a / b


def float_fn(fn, x):
    """One-argument math on a DOUBLE as C's libm computes it (Python calls the same)."""
    if fn in ("ceil", "floor", "trunc"):
        if not math.isfinite(x):
            return x
        if abs(x) >= 2**52:
            return x
        r = float({"ceil": math.ceil, "floor": math.floor, "trunc": math.trunc}[fn](x))
        return math.copysign(0.0, x) if r == 0.0 else r  # C's ceil(-0.5) is -0.0
    if fn in ("sign", "signum"):
        return 1.0 if x > 0 else -1.0 if x < 0 else 0.0 if x == 0 else math.nan
    if fn == "sqrt":
        return math.sqrt(x) if x >= 0 else math.nan if x == x else x
    if fn in ("ln", "log10", "log2"):
        if math.isnan(x) or x < 0:
            return math.nan
        if x == 0:
            return -math.inf
        return {"ln": math.log, "log10": math.log10, "log2": math.log2}[fn](x)
    if fn == "exp":
        try:
            return math.exp(x)
        except OverflowError:
            return math.inf
    raise Unsupported(fn)


def arith(op, a, b):
    if a is None or b is None:
        return None
    if isinstance(a, float) or isinstance(b, float):
        return float_arith(op, a, b)
    if op == "+":
        return checked(a + b)
    if op == "-":
        return checked(a - b)
    if op == "*":
        return checked(a * b)
    if b == 0:
        raise Unsupported("division by zero")
    q = abs(a) // abs(b)
    if op == "/":
        return checked(q if (a < 0) == (b < 0) else -q)
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def cast(label, v):
    """label: 'CAST int->str', 'TRY_CAST str->int', '::int->str', ..."""
    m = re.fullmatch(r"(CAST|TRY_CAST|::) ?(\w+)->(\w+)", label)
    if not m:
        raise Unsupported(label)
    kw, src, dst = m.groups()
    if v is None:
        return None
    if src == dst:
        return v
    if (src, dst) == ("int", "str"):
        return str(v)
    if (src, dst) == ("bool", "str"):
        return "1" if v else "0"  # Arrow 40's cast under DataFusion 27 (CnosDB's cases)
    if (src, dst) == ("int", "float"):
        if abs(v) > 2**53:
            raise Unsupported("inexact integer")
        return float(v)
    if (src, dst) == ("int", "bool"):
        return v != 0
    if (src, dst) == ("bool", "int"):
        return int(v)
    if (src, dst) == ("str", "int"):
        if INT_RE.match(v) and I64_MIN <= int(v) <= I64_MAX:
            return int(v)
        if kw == "TRY_CAST":
            return None
        raise Unsupported("failing CAST")
    raise Unsupported(label)


def evaluate(n, env):
    """The value of node n (None for NULL) with column values from env (name -> value)."""
    v = _evaluate(n, env)
    if n.ty == "float" and isinstance(v, int) and not isinstance(v, bool):
        # an integer branch of a DOUBLE CASE/coalesce is cast to DOUBLE
        if abs(v) > 2**53:
            raise Unsupported("inexact integer")
        return float(v)
    return v


def _evaluate(n, env):
    if n.ty not in ("int", "str", "bool", "float"):
        raise Unsupported(n.ty)
    if n.col is not None:
        return env.get(n.col.name)
    if not n.kids:
        return literal(n.fmt, n.ty)
    lab, fmt = n.label, n.fmt

    def ev(i):
        return evaluate(n.kids[i], env)

    if lab in CMP:
        return compare(lab, ev(0), ev(1))
    if lab == "AND":
        return and3(ev(0), ev(1))
    if lab == "OR":
        return or3(ev(0), ev(1))
    if lab == "NOT":
        return not3(ev(0))
    if lab == "IS NULL":
        v = ev(0) is None
        return not v if "IS NOT NULL" in fmt else v
    if lab.startswith("IS "):
        v = ev(0)
        what = lab[3:]
        neg = what.startswith("NOT ")
        what = what[4:] if neg else what
        r = v is None if what == "UNKNOWN" else v is (what == "TRUE")
        return not r if neg else r
    if lab == "DISTINCT":
        a, b = ev(0), ev(1)
        same = a is None and b is None or (a is not None and b is not None
                                          and compare("=", a, b))
        return bool(same) if "IS NOT DISTINCT" in fmt else not same
    if lab == "BETWEEN":
        x, lo, hi = ev(0), ev(1), ev(2)
        r = and3(compare(">=", x, lo), compare("<=", x, hi))
        return not3(r) if "NOT BETWEEN" in fmt else r
    if lab == "IN":
        x = ev(0)
        r = False
        if x is None:
            r = None
        else:
            for i in range(1, len(n.kids)):
                e = compare("=", x, ev(i))
                if e is True:
                    r = True
                    break
                if e is None:
                    r = None
        return not3(r) if " NOT IN " in fmt else r
    if lab in ("LIKE", "ILIKE", "NOT LIKE", "NOT ILIKE"):
        s, p = ev(0), ev(1)
        if s is None or p is None:
            return None
        r = like_match(s, p, "ILIKE" in lab)
        return not r if lab.startswith("NOT") else r
    if lab in ("starts_with", "ends_with"):
        a, b = ev(0), ev(1)
        if a is None or b is None:
            return None
        return a.startswith(b) if lab == "starts_with" else a.endswith(b)
    if lab == "CASE":
        pairs = len(n.kids) // 2
        for i in range(pairs):
            if ev(2 * i) is True:
                return ev(2 * i + 1)
        return ev(len(n.kids) - 1) if len(n.kids) % 2 else None
    if lab == "CASE op":
        x, w = ev(0), ev(1)
        return ev(2) if compare("=", x, w) is True else ev(3)
    if lab == "coalesce":
        for i in range(len(n.kids)):
            v = ev(i)
            if v is not None:
                return v
        return None
    if lab in ("nullif", "nullif0"):
        a = ev(0)
        b = ev(1) if lab == "nullif" else 0
        return None if compare("=", a, b) is True else a
    if lab in ("+", "-", "*", "/", "%"):
        return arith(lab, ev(0), ev(1))
    if lab == "neg":
        v = ev(0)
        return None if v is None else -v if isinstance(v, float) else checked(-v)
    if lab == "abs":
        v = ev(0)
        if v is None:
            return None
        if not isinstance(v, float) and abs(v) > 2**53:
            raise Unsupported("inexact integer")
        return float(abs(v))
    if lab in ("ceil", "floor", "trunc", "sign", "signum", "sqrt", "ln", "log10", "log2",
               "exp") and len(n.kids) == 1:
        v = ev(0)
        return None if v is None else float_fn(lab, float(v))
    if lab in ("length", "char_length", "character_length"):
        v = ev(0)
        return None if v is None else len(v)
    if lab in ("lower", "upper"):
        v = ev(0)
        if v is None:
            return None
        return "".join(c.lower() if c.isascii() else c for c in v) if lab == "lower" else \
            "".join(c.upper() if c.isascii() else c for c in v)
    if lab == "||":
        a, b = ev(0), ev(1)
        return None if a is None or b is None else a + b
    if lab == "concat":
        vals = [ev(i) for i in range(len(n.kids))]
        if all(v is None for v in vals):
            raise Unsupported("concat of NULLs")
        return "".join(v for v in vals if v is not None)
    if "->" in lab:
        return cast(lab, ev(0))
    raise Unsupported(lab)


def same_value(text, v):
    """The server's CSV text is the value v: DOUBLEs compared as numbers (close for the
    functions), NaN, infinities and the sign of zero exactly."""
    if not isinstance(v, float):
        return text == csv_value(v)
    try:
        got = float(text)
    except ValueError:
        return False
    if math.isnan(v) or math.isnan(got):
        return math.isnan(v) and math.isnan(got)
    if v == 0.0 or got == 0.0 or math.isinf(v) or math.isinf(got):
        return got == v and math.copysign(1, got) == math.copysign(1, v)
    return math.isclose(got, v, rel_tol=1e-14)


def csv_value(v):
    """How the CSV answer shows a value."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)
