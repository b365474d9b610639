/* FROM (SELECT ...) (see iql_select.h): the inner statement's series as the rows of a table
 * (their tag keys its tags, their columns its fields), the outer WHERE clause evaluated on
 * them here (time, tags, fields, regexes), then grouped as a scan's rows are. */
#include "influxql/iql_select.h"

#include <stdlib.h>
#include <string.h>

static bool is_time(const iql_expr *x) {
    return x->k == IE_REF && !strcasecmp(x->s, "time");
}

/* x's regex, compiled once per statement. */
static regex_pat *regex_of(sel_ctx *c, const iql_expr *x) {
    for (size_t i = 0; i < c->nre; i++)
        if (c->re_x[i] == x) return c->re_p[i];
    regex_pat *p = regex_compile(c->a, (strv){x->s, (uint32_t)strlen(x->s)}, false, c->e);
    if (!p) return NULL;
    const iql_expr **nx = arena_alloc(c->a, (c->nre + 1) * sizeof *nx);
    regex_pat **np = arena_alloc(c->a, (c->nre + 1) * sizeof *np);
    if (c->nre) {
        memcpy(nx, c->re_x, c->nre * sizeof *nx);
        memcpy(np, c->re_p, c->nre * sizeof *np);
    }
    nx[c->nre] = x;
    np[c->nre++] = p;
    c->re_x = nx;
    c->re_p = np;
    return p;
}

/* -1, 0, 1 as a < b, or 2 when they do not compare (a missing value compares as ""). */
static int compare(value a, value b) {
    bool as = a.type == VT_STR || (a.null && b.type == VT_STR);
    bool bs = b.type == VT_STR || (b.null && a.type == VT_STR);
    if (as && bs) {
        uint32_t al = a.null ? 0 : a.v.s.len, bl = b.null ? 0 : b.v.s.len;
        int k = memcmp(a.null ? "" : a.v.s.p, b.null ? "" : b.v.s.p, al < bl ? al : bl);
        if (!k) k = (al > bl) - (al < bl);
        return (k > 0) - (k < 0);
    }
    if (a.null || b.null || as || bs) return 2;
    double x = iql_num(&a), y = iql_num(&b);
    return x < y ? -1 : x > y ? 1 : x == y ? 0 : 2;
}

/* The WHERE clause of an outer statement on one of its rows. */
static int cond_eval(sel_ctx *c, const iql_expr *x, size_t row, bool *out) {
    if (x->k == IE_BIN && (x->op == IO_AND || x->op == IO_OR)) {
        bool l, r;
        if (cond_eval(c, x->l, row, &l) < 0 || cond_eval(c, x->r, row, &r) < 0) return -1;
        *out = x->op == IO_AND ? l && r : l || r;
        return 0;
    }
    if (x->k == IE_BOOL) {
        *out = x->i != 0;
        return 0;
    }
    if (x->k != IE_BIN || x->op < IO_EQ)
        return iql_fail(c->e, "invalid condition: expected a comparison");
    enum iql_op op = x->op;
    value a, b;
    if (op == IO_RE || op == IO_NRE) {
        regex_pat *re = x->r->k == IE_REGEX ? regex_of(c, x->r) : NULL;
        if (!re) return x->r->k == IE_REGEX ? -1 : iql_fail(c->e, "invalid regex comparison");
        a = iql_ev_row(c, x->l, row);
        strv sv = a.null || a.type != VT_STR ? (strv){"", 0} : a.v.s;
        regex_run *run = regex_begin();
        int m = regex_exec(run, re, sv, c->e);
        regex_end(run);
        if (m < 0) return -1;
        *out = op == IO_RE ? m : !m;
        return 0;
    }
    if (is_time(x->l) || is_time(x->r)) {
        int64_t ns;
        if (!iql_time_value(is_time(x->l) ? x->r : x->l, c->now, &ns))
            return iql_fail(c->e, "invalid operation: time and this value do not compare");
        a = (value){.type = VT_I64};
        b = (value){.type = VT_I64};
        a.v.i = is_time(x->l) ? iql_row_time(c, row) : ns;
        b.v.i = is_time(x->l) ? ns : iql_row_time(c, row);
        int k = a.v.i < b.v.i ? -1 : a.v.i > b.v.i;
        *out = op == IO_EQ   ? !k
               : op == IO_NE ? k
               : op == IO_LT ? k < 0
               : op == IO_LE ? k <= 0
               : op == IO_GT ? k > 0
                             : k >= 0;
        return 0;
    }
    int k = compare(iql_ev_row(c, x->l, row), iql_ev_row(c, x->r, row));
    *out = k != 2 && (op == IO_EQ   ? !k
                      : op == IO_NE ? k != 0
                      : op == IO_LT ? k < 0
                      : op == IO_LE ? k <= 0
                      : op == IO_GT ? k > 0
                                    : k >= 0);
    return 0;
}

static _Thread_local const sel_ctx *sort_ctx;

/* Rows by the GROUP BY tags (missing first), then time. */
static int cmp_row(const void *pa, const void *pb) {
    const sel_ctx *c = sort_ctx;
    const value *a = pa, *b = pb;
    for (size_t g = 0; g < c->ngtags; g++) {
        if (c->gidx[g] < 0) continue;
        int k = compare(a[c->gidx[g]], b[c->gidx[g]]);
        if (k) return k;
    }
    return (a[0].v.i > b[0].v.i) - (a[0].v.i < b[0].v.i);
}

/* The subquery's rows that pass the WHERE clause, in series order, as c->rows. */
int iql_sub_rows(sel_ctx *c) {
    c->rows = *c->given;
    size_t nc = c->rows.ncols, n = 0;
    value *v = arena_alloc(c->a, (c->rows.nrows + 1) * nc * sizeof *v);
    for (size_t r = 0; r < c->rows.nrows; r++) {
        bool keep = true;
        if (c->sel->where && cond_eval(c, c->sel->where, r, &keep) < 0) return -1;
        if (keep) memcpy(v + n++ * nc, c->rows.v + r * nc, nc * sizeof *v);
    }
    c->rows.v = v;
    c->rows.nrows = n;
    c->gidx = arena_alloc(c->a, (c->ngtags + 1) * sizeof *c->gidx);
    for (size_t g = 0; g < c->ngtags; g++) c->gidx[g] = iql_row_col(c, c->gtags[g]);
    sort_ctx = c;
    qsort(v, n, nc * sizeof *v, cmp_row);
    sort_ctx = NULL;
    return 0;
}

int iql_cmp_series_name(const void *a, const void *b) {
    const iql_series *x = a, *y = b;
    return strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

static void add_name(arena *a, const char ***names, size_t *n, const char *s) {
    for (size_t i = 0; i < *n; i++)
        if (!strcmp((*names)[i], s)) return;
    const char **nn = arena_alloc(a, (*n + 1) * sizeof *nn);
    if (*n) memcpy(nn, *names, *n * sizeof *nn);
    nn[(*n)++] = s;
    *names = nn;
}

static int name_index(const char *const *names, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    return -1;
}

/* FROM (subquery): the inner series of one name [lo, hi) as a table (their tag keys its tags,
 * their columns its fields) and its rows (time, tags, fields), then the outer statement. */
int iql_sub_measurement(sel_ctx *c, const iql_series *ser, size_t lo, size_t hi, iql_result *out,
                        size_t *cap) {
    arena *a = c->a;
    iql_table *t = arena_calloc(a, sizeof *t);
    t->name = ser[lo].name ? ser[lo].name : "";
    t->unit = TU_NS;
    size_t nrows = 0;
    for (size_t i = lo; i < hi; i++) {
        for (size_t k = 0; k < ser[i].ntags; k++)
            add_name(a, &t->tags, &t->ntags, ser[i].tag_keys[k]);
        for (size_t k = ser[i].time_col; k < ser[i].ncols; k++)
            add_name(a, &t->fields, &t->nfields, ser[i].cols[k]);
        nrows += ser[i].nrows;
    }
    if (t->ntags) qsort(t->tags, t->ntags, sizeof *t->tags, iql_cmp_str);
    t->ftypes = arena_alloc(a, t->nfields + 1);
    for (size_t f = 0; f < t->nfields; f++) t->ftypes[f] = VT_F64;
    iql_rows *rows = arena_calloc(a, sizeof *rows);
    rows->ncols = 1 + t->ntags + t->nfields;
    rows->names = arena_alloc(a, rows->ncols * sizeof *rows->names);
    rows->names[0] = "time";
    if (t->ntags) memcpy(rows->names + 1, t->tags, t->ntags * sizeof *t->tags);
    if (t->nfields) memcpy(rows->names + 1 + t->ntags, t->fields, t->nfields * sizeof *t->fields);
    rows->v = arena_alloc(a, (nrows + 1) * rows->ncols * sizeof *rows->v);
    for (size_t i = lo; i < hi; i++) {
        const iql_series *s = &ser[i];
        for (size_t r = 0; r < s->nrows; r++) {
            value *row = rows->v + rows->nrows++ * rows->ncols;
            for (size_t k = 0; k < rows->ncols; k++) row[k] = iql_null();
            row[0] = (value){.type = VT_TS};
            row[0].v.i = s->time_col ? s->vals[r * s->ncols].v.i : 0;
            for (size_t k = 0; k < s->ntags; k++) {
                value *tv = &row[1 + name_index(t->tags, t->ntags, s->tag_keys[k])];
                *tv = (value){.type = VT_STR};
                tv->v.s = (strv){s->tag_vals[k], (uint32_t)strlen(s->tag_vals[k])};
            }
            for (size_t k = s->time_col; k < s->ncols; k++) {
                int f = name_index(t->fields, t->nfields, s->cols[k]);
                value v = s->vals[r * s->ncols + k];
                row[1 + t->ntags + (size_t)f] = v;
                if (!v.null) t->ftypes[f] = v.type; /* the type of its values */
            }
        }
    }
    c->t = t;
    c->given = rows;
    return iql_measurement(c, out, cap);
}
