/* The columns of a SELECT (see iql_select.h): `*` and `f(*)` expanded over the table, names
 * as InfluxDB gives them (`mean`, `mean_1`, `mean_v`), each checked (functions and their
 * arguments, raw and aggregate not mixed). */
#include "influxql/iql_select.h"

#include <stdlib.h>
#include <string.h>

bool iql_is_transform(const char *fn) {
    static const char *const s[] = {
        "derivative",     "non_negative_derivative", "difference", "non_negative_difference",
        "moving_average", "cumulative_sum",          "elapsed"};
    for (size_t i = 0; i < sizeof s / sizeof *s; i++)
        if (!strcmp(fn, s[i])) return true;
    return false;
}

bool iql_has(const char *const *names, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return true;
    return false;
}

int iql_cmp_str(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The name InfluxDB gives an unnamed column. */
static const char *expr_name(arena *a, const iql_expr *x) {
    switch (x->k) {
    case IE_REF:
    case IE_CALL:
        return x->s;
    case IE_BIN: {
        const char *l = expr_name(a, x->l), *r = expr_name(a, x->r);
        if (l && r) return arena_printf(a, "%s_%s", l, r);
        return l ? l : r;
    }
    default:
        return NULL;
    }
}

/* The arguments after the first: a count (top, bottom, sample, moving_average), a percentile,
 * a unit (derivative, elapsed, integral ...), each of the right kind and range. */
static int check_args(sel_ctx *c, const iql_expr *x) {
    const char *fn = x->s;
    bool two = !strcmp(fn, "percentile") || !strcmp(fn, "top") || !strcmp(fn, "bottom") ||
               !strcmp(fn, "sample") || !strcmp(fn, "moving_average");
    bool unit = !strcmp(fn, "derivative") || !strcmp(fn, "non_negative_derivative") ||
                !strcmp(fn, "elapsed") || !strcmp(fn, "integral");
    size_t max = two || unit ? 2 : 1;
    if (x->nargs == 0 || (two && x->nargs != 2) || x->nargs > max)
        return iql_fail(c->e, "invalid number of arguments for %s, expected %s%zu, got %zu", fn,
                        two ? "" : "at most ", max, x->nargs);
    if (x->nargs < 2) return 0;
    const iql_expr *a = x->args[1];
    if (!strcmp(fn, "percentile")) {
        double p = a->k == IE_INT ? (double)a->i : a->f;
        if ((a->k != IE_INT && a->k != IE_FLOAT) || !(p >= 0 && p <= 100))
            return iql_fail(c->e, "expected a number from 0 to 100 as percentile()'s second "
                                  "argument");
    } else if (two) {
        if (a->k != IE_INT || a->i <= 0 || a->i > 1000000)
            return iql_fail(c->e,
                            "expected a positive integer (at most 1000000) as %s()'s "
                            "second argument",
                            fn);
    } else if (a->k != IE_DUR || a->i <= 0) {
        return iql_fail(c->e, "second argument to %s must be a duration, got %s", fn,
                        a->k == IE_INT ? "an integer" : "something else");
    }
    return 0;
}

/* Checks a select expression: 1 aggregate, 0 raw; -1 with e. */
static int classify(sel_ctx *c, const iql_expr *x, bool in_call, bool *field) {
    switch (x->k) {
    case IE_REF:
        if (strcasecmp(x->s, "time") && x->cast != IC_TAG &&
            !iql_has(c->t->tags, c->t->ntags, x->s))
            *field = true;
        return 0;
    case IE_BIN: {
        int l = classify(c, x->l, in_call, field), r;
        if (l < 0 || (r = classify(c, x->r, in_call, field)) < 0) return -1;
        return l | r;
    }
    case IE_CALL: {
        bool tr = iql_is_transform(x->s);
        if (!tr && !iql_is_aggregate(x->s)) return iql_fail(c->e, "undefined function %s()", x->s);
        if (check_args(c, x) < 0) return -1;
        if (in_call && !tr && x->args[0]->k == IE_CALL)
            return iql_fail(c->e, "expected field argument in %s()", x->s);
        if (tr && x->args[0]->k == IE_CALL) {
            bool f = false;
            if (classify(c, x->args[0], true, &f) < 0) return -1;
            *field = true;
            return 1;
        }
        if (x->args[0]->k != IE_REF) return iql_fail(c->e, "expected field argument in %s()", x->s);
        *field = true;
        return tr && !c->sel->every ? 0 : 1; /* derivative(v) over raw points */
    }
    default:
        return 0;
    }
}

/* Expands * and f(*), names the columns, and tells raw from aggregate. */
int iql_columns(sel_ctx *c) {
    const iql_select *s = c->sel;
    /* at most: every field of * or f(*) expanded to all fields and tags */
    size_t cap = s->nfields * (c->t->nfields + c->t->ntags + 1), n = 0;
    out_col *cols = arena_calloc(c->a, (cap + 1) * sizeof *cols);
    int agg = -1;
    for (size_t i = 0; i < s->nfields; i++) {
        const iql_expr *x = s->fields[i].e;
        if (x->k == IE_STAR) {
            size_t m = c->t->nfields + c->t->ntags, k = 0;
            const char **names = arena_alloc(c->a, (m + 1) * sizeof *names);
            for (size_t j = 0; j < c->t->nfields; j++) names[k++] = c->t->fields[j];
            for (size_t j = 0; j < c->t->ntags; j++)
                if (!iql_has(c->gtags, c->ngtags, c->t->tags[j])) names[k++] = c->t->tags[j];
            qsort(names, k, sizeof *names, iql_cmp_str);
            for (size_t j = 0; j < k; j++) {
                iql_expr *r = arena_calloc(c->a, sizeof *r);
                r->k = IE_REF;
                r->s = names[j];
                cols[n++] = (out_col){r, names[j], iql_has(c->t->fields, c->t->nfields, names[j])};
            }
            if (agg == 1) goto mixed;
            agg = 0;
            continue;
        }
        if (x->k == IE_CALL && x->nargs && x->args[0]->k == IE_STAR) {
            /* f(*): f over every field it can take, named f_field */
            bool numeric = strcmp(x->s, "count") && strcmp(x->s, "first") && strcmp(x->s, "last") &&
                           strcmp(x->s, "distinct") && strcmp(x->s, "mode") &&
                           strcmp(x->s, "sample");
            for (size_t j = 0; j < c->t->nfields; j++) {
                uint8_t ty = c->t->ftypes[j];
                if (numeric && ty != VT_F64 && ty != VT_I64 && ty != VT_U64) continue;
                iql_expr *call = arena_calloc(c->a, sizeof *call), *r;
                *call = *x;
                call->args = arena_alloc(c->a, x->nargs * sizeof *call->args);
                memcpy(call->args, x->args, x->nargs * sizeof *call->args);
                r = arena_calloc(c->a, sizeof *r);
                r->k = IE_REF;
                r->s = c->t->fields[j];
                call->args[0] = r;
                cols[n++] = (out_col){call, arena_printf(c->a, "%s_%s", x->s, r->s), true};
            }
            if (!iql_is_aggregate(x->s)) return iql_fail(c->e, "undefined function %s()", x->s);
            if (agg == 0) goto mixed;
            agg = 1;
            continue;
        }
        if (x->k == IE_REF && !strcasecmp(x->s, "time")) continue; /* always column 0 */
        bool field = false;
        int k = classify(c, x, false, &field);
        if (k < 0) return -1;
        if (agg >= 0 && agg != k) goto mixed;
        agg = k;
        const char *name = s->fields[i].alias ? s->fields[i].alias : expr_name(c->a, x);
        cols[n++] = (out_col){x, name ? name : "", field};
    }
    /* the same name twice: _1, _2 ... as InfluxDB does */
    for (size_t i = 0; i < n; i++) {
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            if (!strcmp(cols[j].name, cols[i].name)) dup++;
        if (dup) cols[i].name = arena_printf(c->a, "%s_%d", cols[i].name, dup);
    }
    c->cols = cols;
    c->ncols = n;
    c->agg = agg == 1;
    if (!c->agg && s->every)
        return iql_fail(c->e, "GROUP BY requires at least one aggregate function");
    bool any_field = false;
    for (size_t i = 0; i < n; i++) any_field |= cols[i].has_field;
    if (n && !any_field && !c->agg)
        return iql_fail(c->e, "statement must have at least one field in select clause");
    for (size_t i = 0; i < n; i++) {
        const iql_expr *x = cols[i].e;
        if (x->k == IE_CALL && iql_is_multi(x->s) && n > 1)
            return iql_fail(c->e, "%s function %s() cannot be combined with other functions%s",
                            strcmp(x->s, "distinct") ? "selector" : "aggregate", x->s,
                            strcmp(x->s, "distinct") ? "" : " or fields");
    }
    return 0;
mixed:
    return iql_fail(c->e, "mixing aggregate and non-aggregate queries is not supported");
}

void iql_collect_refs(const iql_expr *x, const char ***refs, size_t *n, arena *a) {
    if (!x) return;
    if (x->k == IE_REF) {
        for (size_t i = 0; i < *n; i++)
            if (!strcmp((*refs)[i], x->s)) return;
        const char **nr = arena_alloc(a, (*n + 1) * sizeof *nr);
        if (*n) memcpy(nr, *refs, *n * sizeof *nr);
        nr[(*n)++] = x->s;
        *refs = nr;
        return;
    }
    iql_collect_refs(x->l, refs, n, a);
    iql_collect_refs(x->r, refs, n, a);
    for (size_t i = 0; i < x->nargs; i++)
        if (i == 0) iql_collect_refs(x->args[i], refs, n, a);
}
