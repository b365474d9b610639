/* UPDATE, in CnosDB's two forms. See sql_int.h.
 *
 * Which form: every assigned column a field → field update; every one a tag → tag update;
 * `time` → "not implemented: update_time"; a mix → refused. Without WHERE both are refused
 * (CnosDB asks for `where true`), so a typo cannot rewrite a whole table.
 *
 * Field update (`SET f = expr, ... WHERE pred`): the query `SELECT time, <tags>,
 * CAST(expr AS <field type>) ... FROM t WHERE pred` is planned by plan_query and drained batch
 * by batch; each batch's rows go back through the normal write path (ingest_write: WAL, then
 * memcache) as points with the same series and time, so last-write-wins makes the new values
 * the visible ones and a restart replays them. A NULL result leaves that field as it was
 * (CnosDB: `SET f = NULL` changes nothing). Memory: one batch of points at a time, charged to
 * the query's budget. Each batch is durable when written; a crash in the middle of a large
 * UPDATE leaves the batches written so far (as in CnosDB, which writes per batch too).
 * Writing into the table being scanned is safe: a scan reads a cache piece of a series no
 * further than the time range it had when the scan reached it (see engine_scan.c), and rows
 * are rewritten only after they were read.
 *
 * Tag update (`SET tag = const, ... WHERE <tag predicates>`): the series the predicate selects
 * get new keys in the series index (engine_retag), keeping their ids, so every row of theirs
 * (in files, caches and the WAL) follows without being rewritten. Values must be constants; a
 * tag may become NULL, but not every tag of a series; a new key may not be one another series
 * has (or that two selected series would share). The result counts the selected series. */
#include "sql/sql_int.h"

#include "ingest/write.h"
#include "util/buf.h"
#include "util/timeutil.h"

#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ checks */

/* DataFusion's message for an unknown column, listing the table's columns unqualified as
 * CnosDB's UPDATE planner does. */
static int unknown_column(const meta_table *t, const char *name, err *e) {
    buf b;
    buf_init(&b);
    for (uint32_t i = 0; i < t->ncols; i++) {
        if (i) buf_append(&b, ", ", 2);
        buf_append(&b, t->cols[i].name, strlen(t->cols[i].name));
    }
    err_set(e, 422, EC_QUERY_INTERNAL,
            "Datafusion: Schema error: No field named %s. Valid fields are %.*s.", name, (int)b.len,
            b.p ? b.p : "");
    buf_free(&b);
    return -1;
}

/* Whether a column reference names table t (as `c`, `t.c` or `alias.c`). */
static bool refers_to_table(const expr *x, const meta_table *t, const char *alias) {
    if (!x->qual) return true;
    return strcmp(x->qual, alias ? alias : t->name) == 0;
}

/* Every column an expression names must be one of t's: the message is DataFusion's for the
 * first that is not. kinds (when not NULL) collects the kinds of the columns named. Subqueries
 * are left to the planner. */
static int check_columns(const expr *x, const meta_table *t, const char *alias, unsigned *kinds,
                         const char **first_non_tag, err *e) {
    if (!x) return 0;
    if (x->kind == EX_COLUMN && x->name[0] != '@' && refers_to_table(x, t, alias)) {
        int c = meta_table_col(t, x->name, strlen(x->name));
        if (c < 0) return unknown_column(t, x->name, e);
        if (kinds) *kinds |= 1u << t->cols[c].kind;
        if (first_non_tag && !*first_non_tag && t->cols[c].kind != CK_TAG)
            *first_non_tag = t->cols[c].name;
        return 0;
    }
    for (uint32_t i = 0; i < x->nargs; i++)
        if (check_columns(x->args[i], t, alias, kinds, first_non_tag, e) < 0) return -1;
    for (uint32_t i = 0; i < x->nwhen; i++)
        if (check_columns(x->when[i], t, alias, kinds, first_non_tag, e) < 0 ||
            check_columns(x->then[i], t, alias, kinds, first_non_tag, e) < 0)
            return -1;
    if (check_columns(x->operand, t, alias, kinds, first_non_tag, e) < 0 ||
        check_columns(x->els, t, alias, kinds, first_non_tag, e) < 0 ||
        check_columns(x->filter, t, alias, kinds, first_non_tag, e) < 0)
        return -1;
    return 0;
}

/* A constant folding error while planning the update: CnosDB reports it from its optimizer. */
static int from_optimizer(err *e) {
    if (strncmp(e->msg, "Arrow error: ", 13) != 0) return -1;
    char msg[sizeof e->msg];
    snprintf(msg, sizeof msg, "%s", e->msg);
    char code[sizeof e->code];
    memcpy(code, e->code, sizeof code);
    return err_set(e, e->http, code,
                   "Datafusion: Optimizer rule 'simplify_expressions' failed\ncaused by\n%s", msg);
}

/* ------------------------------------------------------------------ the query */

static expr *col_expr(arena *a, const char *name) {
    expr *x = arena_calloc(a, sizeof *x);
    x->kind = EX_COLUMN;
    x->name = name;
    x->height = 1;
    return x;
}

/* SELECT time, <tags>, <items...> FROM t WHERE where: the rows an UPDATE reads. */
static sql_query *update_query(arena *a, const sql_stmt *st, const meta_table *t, expr **items,
                               uint32_t nitems) {
    sql_select *sel = arena_calloc(a, sizeof *sel);
    uint32_t n = 1 + t->ntags + nitems, k = 0;
    sel->items = arena_calloc(a, sizeof *sel->items * n);
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols[i].kind == CK_TIME) sel->items[k++].e = col_expr(a, t->cols[i].name);
    for (uint32_t i = 0; i < t->ncols; i++)
        if (t->cols[i].kind == CK_TAG) sel->items[k++].e = col_expr(a, t->cols[i].name);
    for (uint32_t i = 0; i < nitems; i++) sel->items[k++].e = items[i];
    sel->nitems = k;
    sql_table_ref *from = arena_calloc(a, sizeof *from);
    from->kind = TR_TABLE;
    from->db = st->table.db;
    from->name = st->table.name;
    from->alias = st->table_alias;
    from->pos = st->table.pos;
    sel->from = from;
    sel->where = st->where;
    sql_body *body = arena_calloc(a, sizeof *body);
    body->select = sel;
    sql_query *q = arena_calloc(a, sizeof *q);
    q->body = body;
    q->pos = st->pos;
    return q;
}

/* ------------------------------------------------------------------ field update */

/* Rows written back per write record. */
#define UPDATE_SLICE_ROWS 2048

/* One batch of the update query as points: time, tags, then the new field values (NULL = not
 * changed); a row whose every new value is NULL is not written. */
static void batch_points(const meta_table *t, const uint32_t *fcols, uint32_t nf, const batch *b,
                         uint32_t from, uint32_t to, arena *pa, point_batch *pb) {
    strv table = {t->name, (uint32_t)strlen(t->name)};
    uint32_t tag0 = 1, f0 = 1 + t->ntags;
    for (uint32_t i = from; i < to; i++) {
        bool any = false;
        for (uint32_t k = 0; k < nf && !any; k++) any = vec_is_valid(&b->cols[f0 + k], i);
        if (!any) continue;
        point *p = point_batch_push(pa, pb);
        p->table = table;
        p->line = i + 1;
        p->has_ts = true;
        p->ts = b->cols[0].d.i64[i];
        p->tags = arena_alloc(pa, sizeof *p->tags * (t->ntags + 1));
        p->fields = arena_alloc(pa, sizeof *p->fields * nf);
        uint32_t k = 0;
        for (uint32_t c = 0; c < t->ncols; c++) {
            if (t->cols[c].kind != CK_TAG) continue;
            const vec *v = &b->cols[tag0 + k++];
            if (!vec_is_valid(v, i)) continue;
            const char *name = t->cols[c].name;
            p->tags[p->ntags++] = (pt_tag){{name, (uint32_t)strlen(name)}, v->d.s[i]};
        }
        for (uint32_t j = 0; j < nf; j++) {
            const vec *v = &b->cols[f0 + j];
            if (!vec_is_valid(v, i)) continue;
            const meta_column *mc = &t->cols[fcols[j]];
            pt_field *f = &p->fields[p->nfields++];
            f->key = (strv){mc->name, (uint32_t)strlen(mc->name)};
            f->type = mc->type;
            switch (mc->type) {
            case VT_F64:
                f->v.f = v->d.f64[i];
                break;
            case VT_I64:
                f->v.i = v->d.i64[i];
                break;
            case VT_U64:
                f->v.u = v->d.u64[i];
                break;
            case VT_BOOL:
                f->v.b = v->d.b[i];
                break;
            default:
                f->v.s = v->d.s[i];
                break;
            }
        }
        point_normalize(p);
    }
}

static int update_fields(sql_session *s, const sql_stmt *st, sql_result *r, meta_table *t,
                         const uint32_t *cols, err *e) {
    arena *a = s->a;
    uint32_t nf = st->nassigns;
    expr **items = arena_alloc(a, sizeof *items * nf);
    for (uint32_t i = 0; i < nf; i++) {
        const meta_column *mc = &t->cols[cols[i]];
        expr *c = arena_calloc(a, sizeof *c);
        c->kind = EX_CAST;
        c->pos = st->assigns[i].pos;
        c->args = arena_alloc(a, sizeof *c->args);
        c->args[0] = st->assigns[i].e;
        c->nargs = 1;
        c->height = st->assigns[i].e->height + 1;
        c->cast_type.vt = mc->type;
        c->cast_type.name = c->cast_type.text = vtype_sql_name(mc->type, 0);
        items[i] = c;
    }
    plan_out po;
    if (plan_query(s, &r->q, update_query(a, st, t, items, nf), &po, e) < 0)
        return from_optimizer(e);
    uint64_t rows;
    if (sqlx_write_rows(s, r, t, po.root, cols, nf, false, &rows, e) < 0) return -1;
    sqlx_rows_result(s, r, rows);
    return 0;
}

int sqlx_write_rows(sql_session *s, sql_result *r, const meta_table *t, op *root,
                    const uint32_t *fcols, uint32_t nf, bool need_time, uint64_t *rows, err *e) {
    arena *pa = arena_new(0);
    arena_set_budget(pa, &r->q.budget);
    int64_t unit_ns = 1000000000 / tunit_per_sec((enum tunit)t->precision);
    *rows = 0;
    int rc = 0;
    for (;;) {
        arena_reset(r->q.ba);
        batch b;
        int got = root->next(root, &b, e);
        if (got <= 0) {
            rc = got;
            break;
        }
        for (uint32_t i = 0; i < b.nrows && need_time; i++)
            if (!vec_is_valid(&b.cols[0], i)) {
                rc = err_set(e, 422, EC_QUERY_INTERNAL,
                             "Datafusion: Execution error: the time of an inserted row is NULL");
                break;
            }
        if (rc < 0) break;
        *rows += b.nrows;
        /* A batch can be large (a scan returns a series' cached rows at once): its points go
         * in slices, so what they cost stays bounded whatever the batch. */
        for (uint32_t from = 0; from < b.nrows && rc == 0; from += UPDATE_SLICE_ROWS) {
            uint32_t to = b.nrows - from > UPDATE_SLICE_ROWS ? from + UPDATE_SLICE_ROWS : b.nrows;
            arena_reset(pa);
            point_batch pb = {0};
            batch_points(t, fcols, nf, &b, from, to, pa, &pb);
            if (pb.n) rc = ingest_write(s->cat, s->eng, s->tenant, t->db, unit_ns, &pb, pa, e);
        }
        if (rc < 0) break;
    }
    root->close(root);
    arena_set_budget(pa, NULL);
    arena_free(pa);
    return rc < 0 ? -1 : 0;
}

/* ------------------------------------------------------------------ tag update */

/* CnosDB refuses to rewrite more series than this in one statement. */
#define MAX_RETAG_SERIES 10000

/* `table,tag=value,...` of a series key, for messages. */
static const char *key_text(arena *a, const meta_table *t, const strv *vals) {
    buf b;
    buf_init(&b);
    buf_append(&b, t->name, strlen(t->name));
    uint32_t k = 0;
    for (uint32_t c = 0; c < t->ncols; c++) {
        if (t->cols[c].kind != CK_TAG) continue;
        const strv *v = &vals[k++];
        if (!v->p) continue;
        buf_putc(&b, ',');
        buf_append(&b, t->cols[c].name, strlen(t->cols[c].name));
        buf_putc(&b, '=');
        buf_append(&b, v->p, v->len);
    }
    const char *out = arena_strndup(a, b.p ? (const char *)b.p : "", b.len);
    buf_free(&b);
    return out;
}

/* The constant an assignment gives a tag, as text (CnosDB prints non-string constants);
 * *null when it is NULL. */
static int tag_value(sql_session *s, sql_result *r, const sql_assign *as, strv *out, bool *null,
                     err *e) {
    expr *c = arena_calloc(s->a, sizeof *c);
    c->kind = EX_CAST;
    c->pos = as->pos;
    c->args = arena_alloc(s->a, sizeof *c->args);
    c->args[0] = as->e;
    c->nargs = 1;
    c->height = as->e->height + 1;
    c->cast_type.vt = VT_STR;
    c->cast_type.name = c->cast_type.text = "STRING";
    sql_select sel = {0};
    sql_select_item it = {.e = c};
    sel.items = &it;
    sel.nitems = 1;
    sql_body body = {.select = &sel};
    sql_query q = {.body = &body};
    qctx qc = {.a = q_scratch(&r->q)};
    qc.ba = qc.a;
    plan_out po;
    if (plan_query(s, &qc, &q, &po, e) < 0) return from_optimizer(e);
    batch b;
    int got = po.root->next(po.root, &b, e);
    po.root->close(po.root);
    if (got > 0 && b.nrows) {
        value v;
        vec_get(&b.cols[0], 0, &v);
        *null = v.null;
        if (!v.null) *out = (strv){arena_strndup(s->a, v.v.s.p, v.v.s.len), v.v.s.len};
    }
    arena_free(qc.scratch);
    return got < 0 ? -1 : 0;
}

static int update_tags(sql_session *s, const sql_stmt *st, sql_result *r, meta_table *t,
                       const uint32_t *cols, err *e) {
    arena *a = s->a;
    const char *bad = NULL;
    if (check_columns(st->where, t, st->table_alias, NULL, &bad, e) < 0) return -1;
    if (bad)
        return err_set(e, 422, EC_QUERY_INTERNAL,
                       "Datafusion: transform_update\ncaused by\nAnalysis error: Where clause "
                       "cannot contain field/time column, but found: %s",
                       bad);
    /* New values: constants only. */
    uint32_t ntag = t->ntags;
    uint32_t *tag_ids = arena_alloc(a, sizeof *tag_ids * (ntag + 1));
    int *slot_of = arena_alloc(a, sizeof *slot_of * (t->ncols + 1));
    for (uint32_t c = 0, k = 0; c < t->ncols; c++) {
        slot_of[c] = -1;
        if (t->cols[c].kind != CK_TAG) continue;
        slot_of[c] = (int)k;
        tag_ids[k++] = t->cols[c].id;
    }
    strv *set = arena_calloc(a, sizeof *set * (ntag + 1));
    bool *is_set = arena_calloc(a, ntag + 1);
    for (uint32_t i = 0; i < st->nassigns; i++) {
        unsigned kinds = 0;
        if (check_columns(st->assigns[i].e, t, st->table_alias, &kinds, NULL, e) < 0) return -1;
        if (kinds)
            return err_set(e, 422, EC_QUERY_INTERNAL,
                           "Datafusion: Error during planning: The value of tag %s must be a "
                           "constant; it may not refer to columns",
                           st->assigns[i].col);
        int k = slot_of[cols[i]];
        bool null = false;
        strv v = {NULL, 0};
        if (tag_value(s, r, &st->assigns[i], &v, &null, e) < 0) return -1;
        set[k] = null ? (strv){NULL, 0} : v;
        is_set[k] = true;
    }
    /* The series the tag predicates select. */
    series_filter sf;
    uint32_t *sids;
    size_t n;
    if (sqlx_series_filter(s, r, t, st->where, &sf, &sids, &n, e) < 0) return -1;
    if (sf.has_other)
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: this WHERE clause in an UPDATE of tags "
                       "(only predicates over tags)");
    if (n > MAX_RETAG_SERIES)
        return err_set(e, 422, EC_QUERY_INTERNAL,
                       "Datafusion: Execution error: The number of update records %zu exceeds the "
                       "maximum limit %d",
                       n, MAX_RETAG_SERIES);
    strv *keys = arena_alloc(a, sizeof *keys * (n + 1));
    strv **vals = arena_alloc(a, sizeof *vals * (n + 1));
    buf kb;
    buf_init(&kb);
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        strv *v = vals[i] = arena_alloc(a, sizeof *v * (ntag + 1));
        engine_series_tags(s->eng, t->db_id, sids[i], ntag, tag_ids, a, v);
        uint32_t nn = 0;
        for (uint32_t k = 0; k < ntag; k++) {
            if (is_set[k]) v[k] = set[k];
            nn += v[k].p != NULL;
        }
        if (!nn) {
            rc = err_set(e, 422, EC_QUERY_INTERNAL,
                         "Datafusion: Execution error: UPDATE would leave series '%s' without "
                         "any tag: at least one tag must keep a value",
                         key_text(a, t, v));
            break;
        }
        /* tag_ids follow the table's column order; keys list tags by increasing id */
        uint32_t *order = arena_alloc(a, sizeof *order * (ntag + 1)), m = 0;
        for (uint32_t k = 0; k < ntag; k++)
            if (v[k].p) order[m++] = k;
        for (uint32_t x = 1; x < m; x++)
            for (uint32_t y = x; y > 0 && tag_ids[order[y - 1]] > tag_ids[order[y]]; y--) {
                uint32_t tmp = order[y];
                order[y] = order[y - 1];
                order[y - 1] = tmp;
            }
        series_key_begin(&kb, m);
        for (uint32_t x = 0; x < m; x++)
            series_key_tag(&kb, tag_ids[order[x]], v[order[x]].p, v[order[x]].len);
        keys[i] = (strv){arena_strndup(a, (const char *)kb.p, kb.len), (uint32_t)kb.len};
    }
    buf_free(&kb);
    if (rc < 0) return -1;
    size_t conflict;
    if (n && engine_retag(s->eng, t->db_id, t->id, n, sids, keys, &conflict, e) < 0) {
        if (conflict == SIZE_MAX) return -1;
        return err_set(e, 422, EC_WRITE, "Coordinator: Tskv: Index: series '%s' already exists",
                       key_text(a, t, vals[conflict]));
    }
    sqlx_rows_result(s, r, n);
    return 0;
}

/* ------------------------------------------------------------------ entry */

int sqlx_update(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_table *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!t) return -1;
    if (t->ext) {
        meta_table_release(t);
        return not_impl_external("UPDATE", st->table.name, e);
    }
    int rc = -1;
    uint32_t *cols = arena_alloc(s->a, sizeof *cols * (st->nassigns + 1));
    unsigned kinds = 0;
    for (uint32_t i = 0; i < st->nassigns; i++) {
        const char *name = st->assigns[i].col;
        int c = meta_table_col(t, name, strlen(name));
        if (c < 0) {
            unknown_column(t, name, e);
            goto out;
        }
        cols[i] = (uint32_t)c;
        kinds |= 1u << t->cols[c].kind;
        if (check_columns(st->assigns[i].e, t, st->table_alias, NULL, NULL, e) < 0) goto out;
    }
    if (check_columns(st->where, t, st->table_alias, NULL, NULL, e) < 0) goto out;
    if (!st->where) {
        err_set(e, 422, EC_QUERY_INTERNAL,
                "Datafusion: Error during planning: Disable updating of the entire table, if you "
                "want to continue, please add `where true`");
        goto out;
    }
    if (kinds == 1u << CK_TIME) {
        err_set(e, 422, EC_NOT_IMPL,
                "Datafusion: transform_update\ncaused by\nExternal error: This feature is not "
                "implemented: update_time");
    } else if (kinds == 1u << CK_FIELD) {
        rc = update_fields(s, st, r, t, cols, e);
    } else if (kinds == 1u << CK_TAG) {
        rc = update_tags(s, st, r, t, cols, e);
    } else {
        err_set(
            e, 422, EC_QUERY_INTERNAL,
            "Datafusion: transform_update\ncaused by\nAnalysis error: Update the time/tag/field "
            "columns at the same statement is not supported");
    }
out:
    meta_table_release(t);
    return rc;
}
