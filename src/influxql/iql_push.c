/* What the SQL scan computes for a SELECT (see iql_select.h): aggregates per GROUP BY time
 * bucket and tag set (date_bin and GROUP BY), so that one row per bucket and series comes
 * back, and the filter of a raw query's rows without any field it names. */
#include "influxql/iql_select.h"

#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

/* Aggregates the SQL scan can compute itself, so that only one row per group and bucket
 * comes back: count, sum, mean, spread, min and max of a numeric field, first and last of
 * any, the selectors where the answer's time is the bucket's (not a lone selector without
 * GROUP BY time). */
static bool pushable_call(const sel_ctx *c, const iql_expr *x) {
    static const char *const fns[] = {"count", "sum", "mean",  "spread",
                                      "min",   "max", "first", "last"};
    bool known = false;
    for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) known |= !strcmp(x->s, fns[i]);
    if (!known || x->nargs != 1 || x->args[0]->k != IE_REF || x->args[0]->cast == IC_TAG)
        return false;
    /* first and last of any type (SQL's first(time, x) skips nulls as InfluxDB does) */
    bool any_type = !strcmp(x->s, "first") || !strcmp(x->s, "last") || !strcmp(x->s, "count");
    for (size_t j = 0; j < c->t->nfields; j++)
        if (!strcmp(c->t->fields[j], x->args[0]->s))
            return any_type || c->t->ftypes[j] == VT_F64 || c->t->ftypes[j] == VT_I64 ||
                   c->t->ftypes[j] == VT_U64;
    return false;
}

/* Collects the aggregate calls of x into c->pushed; false if one cannot be pushed. */
static bool collect_calls(sel_ctx *c, const iql_expr *x) {
    if (x->k == IE_BIN) return collect_calls(c, x->l) && collect_calls(c, x->r);
    if (x->k != IE_CALL) return true;
    if (iql_is_transform(x->s)) return x->args[0]->k == IE_CALL && collect_calls(c, x->args[0]);
    if (!pushable_call(c, x)) return false;
    const iql_expr **np = arena_alloc(c->a, (c->npushed + 1) * sizeof *np);
    if (c->npushed) memcpy(np, c->pushed, c->npushed * sizeof *np);
    np[c->npushed++] = x;
    c->pushed = np;
    return true;
}

bool iql_plan_push(sel_ctx *c) {
    if (!c->agg || c->zone_varies) return false;
    if (!c->sel->every && c->ncols == 1 && c->cols[0].e->k == IE_CALL &&
        iql_is_selector(c->cols[0].e->s))
        return false;
    for (size_t k = 0; k < c->ncols; k++)
        if (!collect_calls(c, c->cols[k].e)) {
            c->npushed = 0;
            return false;
        }
    return c->npushed > 0;
}

/* SELECT <bucket> AS time, <tags>, count(*), <aggregates> ... GROUP BY bucket, tags: the
 * bucket is date_bin over GROUP BY time's interval from its offset, else min(time). */
void iql_push_sql(const sel_ctx *c, buf *q, buf *group) {
    const iql_select *s = c->sel;
    if (s->every) {
        int64_t o, r;
        time_floor_divmod(c->boff, s->every, &o, &r);
        char origin[48];
        int64_t days, tod;
        time_floor_divmod(r, 86400000000000LL, &days, &tod);
        int64_t y;
        unsigned mo, d;
        civil_from_days(days, &y, &mo, &d);
        snprintf(origin, sizeof origin, "%04lld-%02u-%02uT%02lld:%02lld:%02lld.%09lldZ",
                 (long long)y, mo, d, (long long)(tod / 3600000000000LL),
                 (long long)(tod / 60000000000LL % 60), (long long)(tod / 1000000000LL % 60),
                 (long long)(tod % 1000000000LL));
        buf_printf(group, "date_bin(INTERVAL '%lld nanoseconds', \"time\", TIMESTAMP '%s')",
                   (long long)s->every, origin);
        buf_printf(q, "SELECT %s AS \"time\"", buf_cstr(group));
    } else {
        buf_puts(q, "SELECT min(\"time\") AS \"time\"");
    }
    for (size_t g = 0; g < c->ngtags; g++)
        if (iql_has(c->t->tags, c->t->ntags, c->gtags[g])) {
            buf_puts(q, ", ");
            iql_sql_ident(q, c->gtags[g]);
            buf_puts(group, group->len ? ", " : "");
            iql_sql_ident(group, c->gtags[g]);
        }
    buf_puts(q, ", count(*) AS \"_n\"");
    for (size_t i = 0; i < c->npushed; i++) {
        const iql_expr *x = c->pushed[i];
        buf f;
        buf_init(&f);
        iql_sql_ident(&f, x->args[0]->s);
        const char *a = buf_cstr(&f);
        /* spread as max and min apart: SQL's max(x) - min(x) holds the rows */
        if (!strcmp(x->s, "spread"))
            buf_printf(q, ", max(%s) AS \"_a%zu\", min(%s) AS \"_b%zu\"", a, i, a, i);
        else if (!strcmp(x->s, "first") || !strcmp(x->s, "last"))
            buf_printf(q, ", %s(\"time\", %s) AS \"_a%zu\"", x->s, a, i);
        else
            buf_printf(q, ", %s(%s) AS \"_a%zu\"", !strcmp(x->s, "mean") ? "avg" : x->s, a, i);
        buf_free(&f);
    }
}

/* A raw query keeps the rows where a column naming a field has a value: the scan leaves out
 * those where every field named is null (the same rows when every such column is a plain
 * field, a superset otherwise). Returns whether it is exact. */
bool iql_raw_filter(const sel_ctx *c, buf *w) {
    bool exact = true;
    size_t n = 0;
    for (size_t k = 0; k < c->ncols; k++) {
        if (!c->cols[k].has_field) continue;
        const iql_expr *x = c->cols[k].e;
        exact &= x->k == IE_REF;
        const char **refs = NULL;
        size_t nrefs = 0;
        iql_collect_refs(x, &refs, &nrefs, c->a);
        for (size_t i = 0; i < nrefs; i++) {
            if (!iql_has(c->t->fields, c->t->nfields, refs[i])) continue;
            buf_puts(w, n++ ? " OR " : "(");
            iql_sql_ident(w, refs[i]);
            buf_puts(w, " IS NOT NULL");
        }
    }
    buf_puts(w, n ? ")" : "FALSE");
    return exact;
}
