/* Prometheus remote read over storage scans: see prom_read.h. Per table, the matchers on tags
 * become the scan's series predicate (and index lookups for equalities); the scan's rows come
 * series by series, each in time order, so a series is gathered while its rows last and
 * closed when the tags change. */
#include "sql/prom_read.h"

#include "sql/expr.h"
#include "sql/pattern.h"
#include "util/utf8.h"

#include <stdlib.h>
#include <string.h>

#define NAME_LABEL "__name__"

/* A matcher of the query, its regular expression compiled once. */
struct qm {
    const prom_matcher *m;
    regex_pat *re;
    bool is_name;
};

/* A matcher as one table runs it: on the tag at index `tag` of the scan's tags. */
struct tm {
    const struct qm *qm;
    uint32_t tag;
};

struct rd {
    engine *eng;
    arena *a;
    const prom_query *q;
    struct qm *qms;
    regex_run *run;
    err *e;
    bool failed; /* a regular expression hit a limit inside the series predicate: e holds it */
    /* the table being read */
    struct tm *tms;
    uint32_t ntms;
    /* the answer so far */
    prom_series *s;
    size_t n, cap;
};

static bool strv_eq(strv a, strv b) {
    return a.len == b.len && (!a.len || !memcmp(a.p, b.p, a.len));
}

/* 1 when v passes matcher qm, 0 when not, -1 with the error. */
static int match(struct rd *r, const struct qm *qm, strv v) {
    switch (qm->m->type) {
    case PROM_EQ:
        return strv_eq(v, qm->m->value);
    case PROM_NEQ:
        return !strv_eq(v, qm->m->value);
    default: {
        if (!v.p) v.p = "";
        int rc = regex_exec(r->run, qm->re, v, r->e);
        if (rc < 0) return -1;
        return qm->m->type == PROM_RE ? rc : !rc;
    }
    }
}

static bool series_pred(void *ctx, const strv *tags) {
    struct rd *r = ctx;
    if (r->failed) return false;
    for (uint32_t i = 0; i < r->ntms; i++) {
        strv v = tags[r->tms[i].tag];
        if (!v.p) v = (strv){"", 0}; /* a missing label is the empty string */
        int rc = match(r, r->tms[i].qm, v);
        if (rc < 0) r->failed = true;
        if (rc <= 0) return false;
    }
    return true;
}

static int scan_check(void *ctx, err *e) {
    struct rd *r = ctx;
    if (r->failed) return -1; /* e is r->e, filled by the predicate */
    return budget_check(arena_get_budget(r->a), e);
}

/* ms → the table's unit, rounded up (ceil) for a lower bound, down for an upper one;
 * saturating. */
static int64_t ms_to_unit(int64_t ms, uint8_t unit, bool ceil) {
    if (unit == TU_S) {
        int64_t q = ms / 1000, rem = ms % 1000;
        if (rem && (ms < 0) != ceil) q += ceil ? 1 : -1;
        return q;
    }
    int64_t mul = unit == TU_NS ? 1000000 : unit == TU_US ? 1000 : 1, out;
    if (__builtin_mul_overflow(ms, mul, &out)) return ms < 0 ? INT64_MIN : INT64_MAX;
    return out;
}

static int64_t unit_to_ms(int64_t t, uint8_t unit) {
    if (unit == TU_S)
        return t > INT64_MAX / 1000 ? INT64_MAX : t < INT64_MIN / 1000 ? INT64_MIN : t * 1000;
    int64_t div = unit == TU_NS ? 1000000 : unit == TU_US ? 1000 : 1;
    int64_t q = t / div;
    return (t % div < 0) ? q - 1 : q; /* floor */
}

static int cmp_col_name(const void *x, const void *y) {
    const meta_column *a = *(const meta_column *const *)x, *b = *(const meta_column *const *)y;
    return strcmp(a->name, b->name);
}

/* The labels of a series: __name__ = table, then its non-null tags, in name order (the tags
 * come sorted by name). */
static prom_label *series_labels(arena *a, const char *table, const meta_column *const *tags,
                                 const strv *vals, uint32_t ntags, uint32_t *n) {
    prom_label *l = arena_alloc(a, (ntags + 1) * sizeof *l);
    const prom_label name = {{NAME_LABEL, sizeof NAME_LABEL - 1}, {table, (uint32_t)strlen(table)}};
    uint32_t k = 0;
    bool named = false;
    for (uint32_t i = 0; i < ntags; i++) {
        if (!vals[i].p || !vals[i].len) continue; /* an empty label is no label */
        if (!named && strcmp(tags[i]->name, NAME_LABEL) > 0) {
            l[k++] = name;
            named = true;
        }
        l[k++] = (prom_label){{tags[i]->name, (uint32_t)strlen(tags[i]->name)}, vals[i]};
    }
    if (!named) l[k++] = name;
    *n = k;
    return l;
}

static void push_series(struct rd *r, const prom_series *s) {
    if (r->n == r->cap) {
        size_t nc = r->cap ? 2 * r->cap : 64;
        r->s = arena_realloc(r->a, r->s, r->cap * sizeof *r->s, nc * sizeof *r->s);
        r->cap = nc;
    }
    r->s[r->n++] = *s;
}

/* Reads one table's matching series into r. */
static int read_table(struct rd *r, meta_table *t) {
    if (t->ext) return 0;
    int vi = meta_table_col(t, "value", 5);
    if (vi < 0 || t->cols[vi].kind != CK_FIELD ||
        (t->cols[vi].type != VT_F64 && t->cols[vi].type != VT_I64 && t->cols[vi].type != VT_U64))
        return 0;
    const meta_column *vcol = &t->cols[vi];
    /* the tags but __name__ (the table's name stands for it), sorted by name */
    const meta_column **tags = arena_alloc(r->a, (t->ntags + 1) * sizeof *tags);
    uint32_t ntags = 0;
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols[i].kind == CK_TAG && strcmp(t->cols[i].name, NAME_LABEL))
            tags[ntags++] = &t->cols[i];
    qsort(tags, ntags, sizeof *tags, cmp_col_name);
    uint32_t *tag_ids = arena_alloc(r->a, (ntags + 1) * sizeof *tag_ids);
    for (uint32_t i = 0; i < ntags; i++) tag_ids[i] = tags[i]->id;
    /* the matchers on this table's tags; one on a label the table lacks is decided now */
    r->tms = arena_alloc(r->a, (r->q->nm + 1) * sizeof *r->tms);
    r->ntms = 0;
    uint32_t *eq_ids = arena_alloc(r->a, (r->q->nm + 1) * sizeof *eq_ids);
    uint32_t *eq_off = arena_alloc(r->a, (r->q->nm + 2) * sizeof *eq_off);
    strv *eq_vals = arena_alloc(r->a, (r->q->nm + 1) * sizeof *eq_vals);
    uint32_t neq = 0;
    eq_off[0] = 0;
    for (uint32_t i = 0; i < r->q->nm; i++) {
        const struct qm *qm = &r->qms[i];
        if (qm->is_name) continue; /* decided by the caller on the table's name */
        uint32_t k = 0;
        while (k < ntags && !(strlen(tags[k]->name) == qm->m->name.len &&
                              !memcmp(tags[k]->name, qm->m->name.p, qm->m->name.len)))
            k++;
        if (k == ntags) {
            int rc = match(r, qm, (strv){"", 0});
            if (rc <= 0) return rc;
            continue;
        }
        r->tms[r->ntms++] = (struct tm){qm, k};
        if (qm->m->type == PROM_EQ && qm->m->value.len) {
            eq_ids[neq] = tag_ids[k];
            eq_vals[neq] = qm->m->value;
            neq++;
            eq_off[neq] = neq;
        }
    }
    uint32_t field_id = vcol->id;
    uint8_t field_type = vcol->type;
    scan_spec spec = {.db_id = t->db_id,
                      .table_id = t->id,
                      .precision = t->precision,
                      .tmin = ms_to_unit(r->q->start_ms, t->precision, true),
                      .tmax = ms_to_unit(r->q->end_ms, t->precision, false),
                      .ntags = ntags,
                      .tag_ids = tag_ids,
                      .nfields = 1,
                      .field_ids = &field_id,
                      .field_types = &field_type,
                      .series_pred = r->ntms ? series_pred : NULL,
                      .pred_ctx = r,
                      .neq = neq,
                      .eq_tag_ids = eq_ids,
                      .eq_off = eq_off,
                      .eq_vals = eq_vals,
                      .need_time = true,
                      .check = scan_check,
                      .check_ctx = r};
    if (spec.tmin > spec.tmax) return 0;
    scan *sc;
    if (engine_scan_open(r->eng, &spec, r->a, &sc, r->e) < 0) return -1;
    arena *ba = arena_new(0);
    prom_series cur = {0};
    strv *cur_tags = NULL; /* the current series' tag values, each series its own array */
    size_t cap = 0;
    bool open = false;
    int rc;
    batch b;
    while ((rc = engine_scan_next(sc, ba, &b, r->e)) > 0) {
        const vec *tv = &b.cols[0], *vv = &b.cols[1 + ntags];
        for (uint32_t row = 0; row < b.nrows; row++) {
            if (!vec_is_valid(vv, row)) continue;
            bool same = open;
            for (uint32_t k = 0; same && k < ntags; k++) {
                const vec *c = &b.cols[1 + k];
                strv v = vec_is_valid(c, row) ? c->d.s[row] : (strv){NULL, 0};
                same = strv_eq(v, cur_tags[k]) && !v.p == !cur_tags[k].p;
            }
            if (!same) {
                if (open) push_series(r, &cur);
                /* copies: the labels outlive the batch */
                cur_tags = arena_alloc(r->a, (ntags + 1) * sizeof *cur_tags);
                for (uint32_t k = 0; k < ntags; k++) {
                    const vec *c = &b.cols[1 + k];
                    strv v = vec_is_valid(c, row) ? c->d.s[row] : (strv){NULL, 0};
                    cur_tags[k] =
                        v.p ? (strv){arena_strndup(r->a, v.p, v.len), v.len} : (strv){NULL, 0};
                }
                memset(&cur, 0, sizeof cur);
                cur.labels = series_labels(r->a, t->name, tags, cur_tags, ntags, &cur.nlabels);
                cap = 0;
                open = true;
            }
            if (cur.n == cap) {
                size_t nc = cap ? 2 * cap : 16;
                cur.samples = arena_realloc(r->a, cur.samples, cap * sizeof *cur.samples,
                                            nc * sizeof *cur.samples);
                cap = nc;
            }
            double v = vv->type == VT_F64   ? vv->d.f64[row]
                       : vv->type == VT_I64 ? (double)vv->d.i64[row]
                                            : (double)vv->d.u64[row];
            cur.samples[cur.n++] = (prom_sample){unit_to_ms(tv->d.i64[row], t->precision), v};
        }
        arena_reset(ba);
        if (budget_check(arena_get_budget(r->a), r->e) < 0) {
            rc = -1;
            break;
        }
    }
    if (rc == 0 && open) push_series(r, &cur);
    engine_scan_close(sc);
    arena_free(ba);
    if (r->failed) rc = -1;
    return rc < 0 ? -1 : 0;
}

static int cmp_labels(const void *x, const void *y) {
    const prom_series *a = x, *b = y;
    for (uint32_t i = 0; i < a->nlabels && i < b->nlabels; i++) {
        const prom_label *la = &a->labels[i], *lb = &b->labels[i];
        uint32_t n = la->name.len < lb->name.len ? la->name.len : lb->name.len;
        int c = memcmp(la->name.p, lb->name.p, n);
        if (c || la->name.len != lb->name.len) return c ? c : la->name.len < lb->name.len ? -1 : 1;
        n = la->value.len < lb->value.len ? la->value.len : lb->value.len;
        c = n ? memcmp(la->value.p, lb->value.p, n) : 0;
        if (c || la->value.len != lb->value.len)
            return c ? c : la->value.len < lb->value.len ? -1 : 1;
    }
    return a->nlabels < b->nlabels ? -1 : a->nlabels > b->nlabels;
}

static int cmp_samples(const void *x, const void *y) {
    const prom_sample *a = x, *b = y;
    return a->ts_ms < b->ts_ms ? -1 : a->ts_ms > b->ts_ms;
}

int prom_read_query(catalog *cat, engine *eng, const char *tenant, const char *db,
                    const prom_query *q, arena *a, prom_result *out, err *e) {
    *out = (prom_result){0};
    meta_db_info info;
    if (catalog_get_db(cat, tenant, db, &info, e) < 0) return -1;
    struct rd r = {.eng = eng, .a = a, .q = q, .e = e};
    r.qms = arena_calloc(a, (q->nm + 1) * sizeof *r.qms);
    char *only = NULL;
    for (uint32_t i = 0; i < q->nm; i++) {
        const prom_matcher *m = &q->m[i];
        r.qms[i].m = m;
        r.qms[i].is_name = m->name.len == sizeof NAME_LABEL - 1 &&
                           !memcmp(m->name.p, NAME_LABEL, sizeof NAME_LABEL - 1);
        if (r.qms[i].is_name && m->type == PROM_EQ)
            only = arena_strndup(a, m->value.p, m->value.len);
        if (m->type == PROM_RE || m->type == PROM_NRE) {
            /* fully anchored, as Prometheus matches */
            char *p = arena_printf(a, "^(?:%.*s)$", (int)m->value.len, m->value.p);
            r.qms[i].re = regex_compile(a, (strv){p, (uint32_t)strlen(p)}, false, e);
            if (!r.qms[i].re) {
                err_prefix(e, "remote read: matcher %.*s: ", (int)m->name.len, m->name.p);
                return -1;
            }
        }
    }
    r.run = regex_begin();
    char **names = NULL;
    size_t nt = 0;
    int rc = 0;
    if (only) {
        names = &only;
        nt = 1;
    } else {
        rc = catalog_list_tables(cat, tenant, db, a, &names, &nt, e);
    }
    for (size_t i = 0; rc == 0 && i < nt; i++) {
        strv name = {names[i], (uint32_t)strlen(names[i])};
        bool pass = true;
        for (uint32_t j = 0; pass && j < q->nm; j++) {
            if (!r.qms[j].is_name) continue;
            int m = match(&r, &r.qms[j], name);
            if (m < 0) rc = -1;
            pass = m > 0;
        }
        if (!pass || !*names[i]) continue;
        err te;
        meta_table *t = catalog_get_table(cat, tenant, db, names[i], &te);
        if (!t) continue; /* dropped meanwhile, or never there: no series */
        rc = read_table(&r, t);
        meta_table_release(t);
    }
    regex_end(r.run);
    if (rc < 0) return -1;
    if (r.n) qsort(r.s, r.n, sizeof *r.s, cmp_labels);
    /* Series with equal labels (a `__name__` tag missing from some rows of a table written by
     * line protocol) are one series to Prometheus: merged, as neighbours after the sort. */
    size_t n = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (n && !cmp_labels(&r.s[n - 1], &r.s[i])) {
            prom_series *d = &r.s[n - 1];
            prom_sample *m = arena_alloc(a, (d->n + r.s[i].n) * sizeof *m);
            memcpy(m, d->samples, d->n * sizeof *m);
            memcpy(m + d->n, r.s[i].samples, r.s[i].n * sizeof *m);
            d->samples = m;
            d->n += r.s[i].n;
        } else {
            r.s[n++] = r.s[i];
        }
    }
    r.n = n;
    for (size_t i = 0; i < r.n; i++) {
        prom_series *s = &r.s[i];
        for (size_t k = 1; k < s->n; k++)
            if (s->samples[k].ts_ms < s->samples[k - 1].ts_ms) {
                qsort(s->samples, s->n, sizeof *s->samples, cmp_samples);
                break;
            }
    }
    out->s = r.s;
    out->n = r.n;
    return 0;
}
