/* The SQL side of InfluxQL (see iql_int.h): running a CnosDB SQL statement and holding its
 * rows, a table's columns from DESCRIBE TABLE, and a WHERE clause as SQL. Time literals are
 * written as integers in the time column's unit; conditions on columns the table does not
 * have are false, as InfluxDB finds no point with them. */
#include "influxql/iql_int.h"

#include "util/timeutil.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int iql_fail(err *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, 400, EC_GENERIC, fmt, ap);
    va_end(ap);
    return -1;
}

/* Row i of column c as a value, strings copied into a. */
static value cell(arena *a, const vec *c, uint32_t i) {
    value v = {.type = c->type, .unit = c->unit};
    if (!vec_is_valid(c, i)) {
        v.null = true;
        return v;
    }
    switch (c->type) {
    case VT_BOOL:
        v.v.b = c->d.b[i];
        break;
    case VT_I64:
    case VT_TS:
    case VT_DATE:
        v.v.i = c->d.i64[i];
        break;
    case VT_U64:
        v.v.u = c->d.u64[i];
        break;
    case VT_F64:
        v.v.f = c->d.f64[i];
        break;
    case VT_STR:
        v.v.s.p = arena_strndup(a, c->d.s[i].p, c->d.s[i].len);
        v.v.s.len = c->d.s[i].len;
        break;
    default:
        v.null = true; /* other types do not come from a measurement */
    }
    if (c->type == VT_TS) { /* held in nanoseconds */
        int64_t ns;
        if (c->unit != TU_NS && !tunit_convert(v.v.i, (enum tunit)c->unit, TU_NS, &ns))
            ns = 0;
        else if (c->unit != TU_NS)
            v.v.i = ns;
        v.unit = TU_NS;
    }
    return v;
}

int iql_run_sql(sql_session *ss, arena *a, const char *sql, iql_rows *out, err *e) {
    memset(out, 0, sizeof *out);
    sql_result *res = NULL;
    int rc = sql_run(ss, sql, strlen(sql), &res, e);
    if (rc != 0) {
        if (rc > 0) err_set(e, 500, EC_GENERIC, "statement declined");
        return -1;
    }
    const rschema *sch = sql_result_schema(res);
    out->ncols = sch ? sch->ncols : 0;
    if (out->ncols) {
        out->names = arena_alloc(a, out->ncols * sizeof *out->names);
        out->types = arena_alloc(a, out->ncols);
        for (size_t c = 0; c < out->ncols; c++) {
            out->names[c] = arena_strdup(a, sch->names[c]);
            out->types[c] = sch->types[c];
        }
    }
    size_t cap = 0;
    batch b;
    uint64_t limit = ss->mem_limit;
    while ((rc = sql_result_next(res, &b, e)) > 0) {
        if (out->nrows + b.nrows > cap) {
            size_t nc = cap ? cap * 2 : 256;
            while (nc < out->nrows + b.nrows) nc *= 2;
            out->v = arena_realloc(a, out->v, cap * out->ncols * sizeof *out->v,
                                   nc * out->ncols * sizeof *out->v);
            cap = nc;
        }
        for (uint32_t r = 0; r < b.nrows; r++)
            for (size_t c = 0; c < out->ncols; c++)
                out->v[(out->nrows + r) * out->ncols + c] = cell(a, &b.cols[c], r);
        out->nrows += b.nrows;
        if (limit && arena_used(a) > limit) {
            rc = err_set(e, 500, EC_QUERY_INTERNAL,
                         "the rows of this statement are more than the query memory limit of "
                         "%llu bytes (query.query_memory_limit)",
                         (unsigned long long)limit);
            break;
        }
    }
    sql_result_close(res);
    return rc < 0 ? -1 : 0;
}

void iql_sql_ident(buf *b, const char *s) {
    buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"') buf_putc(b, '"');
        buf_putc(b, *s);
    }
    buf_putc(b, '"');
}

void iql_sql_str(buf *b, const char *s, size_t n) {
    buf_putc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\'') buf_putc(b, '\'');
        buf_putc(b, s[i]);
    }
    buf_putc(b, '\'');
}

int iql_describe(sql_session *ss, arena *a, const char *name, iql_table *t, err *e) {
    memset(t, 0, sizeof *t);
    t->name = name;
    buf q;
    buf_init(&q);
    buf_puts(&q, "DESCRIBE TABLE ");
    iql_sql_ident(&q, name);
    iql_rows rows;
    int rc = iql_run_sql(ss, a, buf_cstr(&q), &rows, e);
    buf_free(&q);
    if (rc < 0) {
        if (!strcmp(e->code, EC_TABLE_NOT_FOUND)) {
            t->missing = true;
            return 0;
        }
        return -1;
    }
    t->tags = arena_alloc(a, (rows.nrows + 1) * sizeof *t->tags);
    t->fields = arena_alloc(a, (rows.nrows + 1) * sizeof *t->fields);
    t->ftypes = arena_alloc(a, rows.nrows + 1);
    for (size_t r = 0; r < rows.nrows; r++) {
        const value *v = rows.v + r * rows.ncols;
        const char *col = v[0].v.s.p, *type = v[1].v.s.p, *kind = v[2].v.s.p;
        if (!strcmp(kind, "TIME")) {
            t->unit = strstr(type, "MILLI")   ? TU_MS
                      : strstr(type, "MICRO") ? TU_US
                      : strstr(type, "NANO")  ? TU_NS
                                              : TU_S;
        } else if (!strcmp(kind, "TAG")) {
            t->tags[t->ntags++] = col;
        } else if (!strcmp(kind, "FIELD")) {
            t->ftypes[t->nfields] = !strcmp(type, "DOUBLE")            ? VT_F64
                                    : !strcmp(type, "BIGINT")          ? VT_I64
                                    : !strcmp(type, "BIGINT UNSIGNED") ? VT_U64
                                    : !strcmp(type, "BOOLEAN")         ? VT_BOOL
                                                                       : VT_STR;
            t->fields[t->nfields++] = col;
        }
    }
    return 0;
}

static bool is_time_ref(const iql_expr *x) {
    return x->k == IE_REF && !strcasecmp(x->s, "time");
}

bool iql_time_value(const iql_expr *x, int64_t now_ns, int64_t *ns) {
    switch (x->k) {
    case IE_NOW:
        *ns = now_ns;
        return true;
    case IE_INT:
    case IE_DUR: /* an integer is nanoseconds; `1600000000s` an epoch in seconds */
        *ns = x->i;
        return true;
    case IE_FLOAT:
        *ns = (int64_t)x->f;
        return true;
    case IE_STR:
        return time_parse_ts(x->s, strlen(x->s), ns);
    case IE_BIN: {
        int64_t l, r;
        if (x->op != IO_ADD && x->op != IO_SUB) return false;
        if (!iql_time_value(x->l, now_ns, &l) || !iql_time_value(x->r, now_ns, &r)) return false;
        return x->op == IO_ADD ? !__builtin_add_overflow(l, r, ns)
                               : !__builtin_sub_overflow(l, r, ns);
    }
    default:
        return false;
    }
}

static const char *op_sql(enum iql_op op) {
    static const char *const s[] = {
        [IO_ADD] = "+",   [IO_SUB] = "-", [IO_MUL] = "*", [IO_DIV] = "/", [IO_MOD] = "%",
        [IO_AND] = "AND", [IO_OR] = "OR", [IO_EQ] = "=",  [IO_NE] = "!=", [IO_LT] = "<",
        [IO_LE] = "<=",   [IO_GT] = ">",  [IO_GE] = ">=", [IO_RE] = "~",  [IO_NRE] = "!~"};
    return s[op];
}

static bool has_col(const char *const *cols, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cols[i], name)) return true;
    return false;
}

static bool is_cmp(enum iql_op op) {
    return op >= IO_EQ;
}

/* Mirrored comparison for `literal op column`. */
static enum iql_op flip(enum iql_op op) {
    switch (op) {
    case IO_LT:
        return IO_GT;
    case IO_LE:
        return IO_GE;
    case IO_GT:
        return IO_LT;
    case IO_GE:
        return IO_LE;
    default:
        return op;
    }
}

struct wctx {
    const iql_table *t;
    int64_t now;
    int64_t *tmin, *tmax;
    err *e;
};

static int operand(struct wctx *w, const iql_expr *x, buf *b);

/* time op x: the literal in the column's unit, and the bounds when top-level. */
static int time_cmp(struct wctx *w, enum iql_op op, const iql_expr *v, bool top, buf *b) {
    int64_t ns;
    if (!iql_time_value(v, w->now, &ns))
        return iql_fail(w->e, "invalid operation: time and %s do not compare",
                        v->k == IE_STR ? "a string that is not a time" : "this value");
    if (op == IO_RE || op == IO_NRE || op == IO_NE)
        return iql_fail(w->e, "invalid time comparison operator: %s", op_sql(op));
    if (top) {
        int64_t lo = INT64_MIN, hi = INT64_MAX;
        switch (op) {
        case IO_GT:
            lo = ns == INT64_MAX ? ns : ns + 1;
            break;
        case IO_GE:
            lo = ns;
            break;
        case IO_LT:
            hi = ns == INT64_MIN ? ns : ns - 1;
            break;
        case IO_LE:
            hi = ns;
            break;
        default:
            lo = hi = ns;
        }
        if (lo > *w->tmin) *w->tmin = lo;
        if (hi < *w->tmax) *w->tmax = hi;
    }
    int64_t per = tunit_per_sec(TU_NS) / tunit_per_sec(w->t->unit), q, r;
    time_floor_divmod(ns, per, &q, &r);
    /* a bound between two ticks of a coarser column: strict bounds round the right way */
    if (r && (op == IO_GE || op == IO_GT)) {
        q++;
        op = IO_GE;
    } else if (r && (op == IO_LE || op == IO_LT)) {
        op = IO_LE;
    } else if (r && op == IO_EQ) {
        buf_puts(b, "FALSE");
        return 0;
    }
    buf_printf(b, "\"time\" %s %lld", op_sql(op), (long long)q);
    return 0;
}

static int cond(struct wctx *w, const iql_expr *x, bool top, buf *b) {
    if (x->k == IE_BIN && (x->op == IO_AND || x->op == IO_OR)) {
        buf_putc(b, '(');
        if (cond(w, x->l, top && x->op == IO_AND, b) < 0) return -1;
        buf_printf(b, " %s ", op_sql(x->op));
        if (cond(w, x->r, top && x->op == IO_AND, b) < 0) return -1;
        buf_putc(b, ')');
        return 0;
    }
    if (x->k == IE_BOOL) {
        buf_puts(b, x->i ? "TRUE" : "FALSE");
        return 0;
    }
    if (x->k != IE_BIN || !is_cmp(x->op))
        return iql_fail(w->e, "invalid condition: expected a comparison");
    const iql_expr *l = x->l, *r = x->r;
    enum iql_op op = x->op;
    if (is_time_ref(r) && !is_time_ref(l)) {
        const iql_expr *t = l;
        l = r;
        r = t;
        op = flip(op);
    }
    if (is_time_ref(l)) return time_cmp(w, op, r, top, b);
    if (op == IO_RE || op == IO_NRE) {
        if (l->k != IE_REF || r->k != IE_REGEX)
            return iql_fail(w->e, "invalid operation: =~ and !~ compare a tag or field with "
                                  "a regex");
        bool tag = has_col(w->t->tags, w->t->ntags, l->s);
        if (!tag && !has_col(w->t->fields, w->t->nfields, l->s)) {
            /* a missing tag is the empty string to InfluxDB */
            buf_puts(b, "(");
            iql_sql_str(b, "", 0);
            buf_printf(b, " %s ", op_sql(op));
            iql_sql_str(b, r->s, strlen(r->s));
            buf_puts(b, ")");
            return 0;
        }
        buf_puts(b, tag ? "(coalesce(" : "(");
        iql_sql_ident(b, l->s);
        buf_puts(b, tag ? ", '')" : "");
        buf_printf(b, " %s ", op_sql(op));
        iql_sql_str(b, r->s, strlen(r->s));
        buf_putc(b, ')');
        return 0;
    }
    /* a tag compared with '' also matches points without the tag */
    const iql_expr *ref = l->k == IE_REF ? l : r->k == IE_REF ? r : NULL;
    const iql_expr *lit = ref == l ? r : l;
    if (ref && lit->k == IE_STR && has_col(w->t->tags, w->t->ntags, ref->s) &&
        (op == IO_EQ || op == IO_NE)) {
        buf_puts(b, "(coalesce(");
        iql_sql_ident(b, ref->s);
        buf_printf(b, ", '') %s ", op_sql(op));
        iql_sql_str(b, lit->s, strlen(lit->s));
        buf_putc(b, ')');
        return 0;
    }
    buf_putc(b, '(');
    size_t mark = b->len;
    int rc = operand(w, l, b);
    if (rc == 0) {
        buf_printf(b, " %s ", op_sql(op));
        rc = operand(w, r, b);
    }
    if (rc == 1) { /* a column the table lacks: no point matches */
        b->len = mark;
        buf_puts(b, "FALSE");
        rc = 0;
    }
    if (rc < 0) return -1;
    buf_putc(b, ')');
    return 0;
}

/* A value in a condition: 1 when it names a column the table does not have. */
static int operand(struct wctx *w, const iql_expr *x, buf *b) {
    switch (x->k) {
    case IE_INT:
        buf_printf(b, "%lld", (long long)x->i);
        return 0;
    case IE_FLOAT:
        buf_printf(b, "%.17g", x->f);
        return 0;
    case IE_BOOL:
        buf_puts(b, x->i ? "TRUE" : "FALSE");
        return 0;
    case IE_STR:
        iql_sql_str(b, x->s, strlen(x->s));
        return 0;
    case IE_REF:
        if (!has_col(w->t->tags, w->t->ntags, x->s) && !has_col(w->t->fields, w->t->nfields, x->s))
            return 1;
        iql_sql_ident(b, x->s);
        return 0;
    case IE_BIN:
        if (x->op <= IO_MOD) {
            buf_putc(b, '(');
            int rc = operand(w, x->l, b);
            if (rc) return rc;
            buf_printf(b, " %s ", op_sql(x->op));
            if ((rc = operand(w, x->r, b))) return rc;
            buf_putc(b, ')');
            return 0;
        }
        break;
    default:
        break;
    }
    return iql_fail(w->e, "invalid expression in a WHERE clause");
}

int iql_sql_where(const iql_expr *x, const iql_table *t, int64_t now_ns, buf *b, int64_t *tmin,
                  int64_t *tmax, err *e) {
    *tmin = INT64_MIN;
    *tmax = INT64_MAX;
    if (!x) return 0;
    struct wctx w = {.t = t, .now = now_ns, .tmin = tmin, .tmax = tmax, .e = e};
    return cond(&w, x, true, b);
}
