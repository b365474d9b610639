/* SQL entry point: parses a request, plans queries into a pull-based operator tree and runs the
 * statements that change rows (INSERT, DELETE); DDL and metadata statements run in their own
 * files (see sql_int.h). See sql.h. */
#include "sql/sql_int.h"

#include "ingest/write.h"
#include "sql/errstage.h"
#include "sql/explain.h"
#include "sql/parser.h"
#include "sql/queries.h"
#include "sql/sysview.h"
#include "util/timeutil.h"

#include <string.h>

/* ------------------------------------------------------------------ result helpers */

static sql_result *result_new(sql_session *s) {
    sql_result *r = arena_calloc(s->a, sizeof *r);
    r->q.a = s->a;
    r->q.ba = arena_new(1 << 16);
    r->q.budget.deadline_ns = s->deadline_ns;
    /* What parsing already took counts too: the statement arena is charged whole. */
    r->q.budget.limit = s->mem_limit;
    r->q.budget.server = true;
    r->q.parallelism = s->parallelism;
    arena_set_budget(r->q.a, &r->q.budget);
    arena_set_budget(r->q.ba, &r->q.budget);
    return r;
}

void set_schema(sql_result *r, uint32_t ncols, const char **names, const op *o) {
    arena *a = r->q.a;
    r->schema.ncols = ncols;
    r->schema.names = arena_alloc(a, sizeof *r->schema.names * (ncols + 1));
    r->schema.types = arena_alloc(a, ncols + 1);
    r->schema.units = arena_alloc(a, ncols + 1);
    r->schema.has_tz = arena_alloc(a, ncols + 1);
    for (uint32_t i = 0; i < ncols; i++) {
        r->schema.names[i] = names[i];
        r->schema.types[i] = o->types[i];
        r->schema.units[i] = o->units[i];
        r->schema.has_tz[i] = o->has_tz[i];
    }
}

void tb_init(struct table_builder *tb, arena *a, uint32_t ncols, const char **names,
             const uint8_t *types) {
    memset(tb, 0, sizeof *tb);
    tb->a = a;
    tb->ncols = ncols;
    tb->names = names;
    tb->types = arena_alloc(a, ncols);
    memcpy(tb->types, types, ncols);
}

value *tb_row(struct table_builder *tb) {
    if (tb->nrows == tb->cap) {
        uint32_t nc = tb->cap ? tb->cap * 2 : 16;
        tb->cells = arena_realloc(tb->a, tb->cells, sizeof *tb->cells * tb->ncols * tb->cap,
                                  sizeof *tb->cells * tb->ncols * nc);
        tb->cap = nc;
    }
    value *row = &tb->cells[tb->nrows++ * tb->ncols];
    memset(row, 0, sizeof *row * tb->ncols);
    return row;
}

value tb_str(arena *a, const char *s) {
    value v = {.type = VT_STR};
    v.v.s = (strv){arena_strdup(a, s), (uint32_t)strlen(s)};
    return v;
}

value tb_u64(uint64_t u) {
    value v = {.type = VT_U64};
    v.v.u = u;
    return v;
}

value tb_bool(bool b) {
    value v = {.type = VT_BOOL};
    v.v.b = b;
    return v;
}

op *tb_op(struct table_builder *tb, qctx *q) {
    arena *a = tb->a;
    batch *b = arena_calloc(a, sizeof *b);
    b->ncols = tb->ncols;
    b->nrows = tb->nrows;
    b->cols = arena_calloc(a, sizeof *b->cols * (tb->ncols + 1));
    for (uint32_t c = 0; c < tb->ncols; c++) {
        vec *v = &b->cols[c];
        vec_alloc(a, tb->types[c], 0, tb->nrows, v);
        for (uint32_t i = 0; i < tb->nrows; i++) {
            value *cell = &tb->cells[i * tb->ncols + c];
            if (cell->null || cell->type == VT_NULL) {
                vec_set_null(a, v, i);
                continue;
            }
            vec_put(v, i, cell);
        }
    }
    return op_values(q, tb->ncols, tb->types, NULL, b, tb->nrows ? 1 : 0);
}

void tb_finish(struct table_builder *tb, sql_result *r) {
    r->root = tb_op(tb, &r->q);
    set_schema(r, tb->ncols, tb->names, r->root);
}

void sqlx_rows_result(sql_session *s, sql_result *r, uint64_t n) {
    static const char *cols[] = {"rows"};
    static const uint8_t types[] = {VT_U64};
    struct table_builder tb;
    tb_init(&tb, s->a, 1, cols, types);
    tb_row(&tb)[0] = tb_u64(n);
    tb_finish(&tb, r);
}

/* A VALUES cell: the constant expression ve evaluated, with the type DataFusion gives it
 * (*type VT_NULL for a bare NULL, which takes any column's type). */
struct cell {
    value v;
    uint8_t type, unit;
    bool has_tz;
};

static int eval_cell(sql_session *s, sql_result *r, const expr *ve, struct cell *out, err *e) {
    /* planned in the scratch arena, so a long VALUES list costs its values, not a plan per
     * cell */
    sql_query q1 = {0};
    sql_body b1 = {0};
    sql_select sel = {0};
    sql_select_item it = {.e = (expr *)ve};
    sel.items = &it;
    sel.nitems = 1;
    b1.select = &sel;
    q1.body = &b1;
    qctx qc = {.a = q_scratch(&r->q)};
    qc.ba = qc.a;
    plan_out po;
    if (plan_query(s, &qc, &q1, &po, e) < 0) return -1;
    out->type = po.root->types[0];
    out->unit = po.root->units[0];
    out->has_tz = po.root->has_tz[0];
    batch bb;
    int nr = po.root->next(po.root, &bb, e);
    po.root->close(po.root);
    if (nr >= 0) vec_get(&bb.cols[0], 0, &out->v);
    if (nr >= 0 && !out->v.null && vtype_is_bytes(out->v.type))
        out->v.v.s.p = arena_strndup(s->a, out->v.v.s.p, out->v.v.s.len);
    arena_free(qc.scratch);
    return nr < 0 ? -1 : 0;
}

/* One evaluated cell into point p, cast to column mc's type. A NULL cell leaves the column out
 * of the point. */
static int insert_cell(sql_session *s, const meta_table *t, const meta_column *mc, value v,
                       point *p, err *e) {
    if (v.null) return 0;
    uint8_t want = mc->kind == CK_TIME ? VT_TS : mc->type;
    bexpr *cb = bx_const(s->a, v);
    if (want == VT_TS && v.type == VT_I64) {
        /* An integer inserted into time is taken in the column's unit. */
        p->ts = v.v.i;
        p->has_ts = true;
        return 0;
    }
    if (!bx_can_cast(v.type, want))
        return bx_cast_unsupported(e, v.type, v.unit, want, mc->kind == CK_TIME ? t->precision : 0,
                                   false);
    if (bx_cast(s->a, &cb, want, mc->kind == CK_TIME ? t->precision : 0, e) < 0) return -1;
    value cv = cb->cval;
    if (mc->kind == CK_TIME) {
        p->ts = cv.v.i;
        p->has_ts = true;
    } else if (mc->kind == CK_TAG) {
        p->tags[p->ntags++] = (pt_tag){{mc->name, (uint32_t)strlen(mc->name)}, cv.v.s};
    } else {
        pt_field *f = &p->fields[p->nfields++];
        f->key = (strv){mc->name, (uint32_t)strlen(mc->name)};
        f->type = want;
        switch (want) {
        case VT_F64:
            f->v.f = cv.v.f;
            break;
        case VT_I64:
            f->v.i = cv.v.i;
            break;
        case VT_U64:
            f->v.u = cv.v.u;
            break;
        case VT_BOOL:
            f->v.b = cv.v.b;
            break;
        case VT_STR:
            f->v.s = cv.v.s;
            break;
        }
    }
    return 0;
}

/* Evaluates every VALUES cell and checks, as DataFusion's VALUES does before any cast to the
 * table's types, that each column has one type across the rows (bare NULLs aside): `(1, 1),
 * (2, 2.5)` is refused rather than stored as 1 and 2. Rows and columns count from 0 in the
 * message, as in CnosDB's. */
static int eval_values(sql_session *s, sql_result *r, const sql_body *body, uint32_t ncols,
                       struct cell **out, err *e) {
    struct cell *cells = arena_alloc(s->a, sizeof *cells * ((size_t)body->nvalues * ncols + 1));
    for (uint32_t ri = 0; ri < body->nvalues; ri++) {
        if (body->nvalue_cols != ncols)
            return err_set(
                e, 422, EC_QUERY_INTERNAL,
                "Datafusion: Error during planning: Column count doesn't match insert query!");
        for (uint32_t c = 0; c < ncols; c++)
            if (eval_cell(s, r, body->values[ri][c], &cells[(size_t)ri * ncols + c], e) < 0)
                return -1;
    }
    for (uint32_t c = 0; c < ncols; c++) {
        const struct cell *first = NULL;
        for (uint32_t ri = 0; ri < body->nvalues; ri++) {
            const struct cell *x = &cells[(size_t)ri * ncols + c];
            if (x->type == VT_NULL) continue;
            if (!first) {
                first = x;
                continue;
            }
            bool same =
                x->type == first->type &&
                (x->type != VT_TS || (x->unit == first->unit && x->has_tz == first->has_tz));
            if (!same)
                return err_set(e, 422, EC_QUERY_INTERNAL,
                               "Datafusion: Error during planning: Inconsistent data type across "
                               "values list at row %u column %u",
                               ri, c);
        }
    }
    *out = cells;
    return 0;
}

/* An INSERT's write failed: worded as the running stage, as CnosDB words it, a value a GEOMETRY
 * column refuses (ingest/write.c) included. */
static void insert_write_err(err *e) {
    if (!strncmp(e->msg, "Invalid geometry", 16))
        err_prefix(e, "Could not chunk result: ");
    else
        errstage_running(e);
}

int sqlx_insert_rows(sql_session *s, sql_result *r, const meta_table *t, const int *idx,
                     uint32_t ncols, op *src, err *e) {
    arena *a = s->a;
    /* time, every tag in table order (NULL when not inserted), the inserted fields */
    bexpr **ex = arena_calloc(a, sizeof *ex * (t->ncols + 1));
    uint32_t *fcols = arena_alloc(a, sizeof *fcols * (ncols + 1)), nf = 0, n = 1;
    int rc = 0;
    for (uint32_t c = 0; c < t->ncols && rc == 0; c++) {
        const meta_column *mc = &t->cols[c];
        int at = -1;
        for (uint32_t k = 0; k < ncols; k++)
            if (idx[k] == (int)c) at = (int)k;
        bexpr *x = NULL;
        if (at >= 0) {
            x = bx_col(a, (uint32_t)at, src->types[at], src->units[at]);
            /* an integer time is taken in the table's unit, as INSERT ... VALUES takes it */
            uint8_t want = mc->kind == CK_TIME ? VT_TS : mc->kind == CK_TAG ? VT_STR : mc->type;
            rc = bx_cast(a, &x, want, mc->kind == CK_TIME ? t->precision : 0, e);
        } else if (mc->kind == CK_TAG) {
            value null = {.type = VT_STR, .null = true};
            x = bx_const(a, null);
        }
        if (rc < 0 || !x) continue;
        if (mc->kind == CK_TIME) {
            ex[0] = x;
        } else if (mc->kind == CK_TAG) {
            ex[n++] = x;
        } else {
            fcols[nf++] = c;
            ex[t->ntags + nf] = x;
        }
    }
    if (rc == 0 && !ex[0])
        rc = err_set(e, 422, EC_QUERY_INTERNAL,
                     "Datafusion: Error during planning: INSERT must provide the time column");
    if (rc < 0) {
        src->close(src);
        return -1;
    }
    op *root = op_project(&r->q, src, ex, 1 + t->ntags + nf);
    uint64_t rows;
    if (sqlx_write_rows(s, r, t, root, fcols, nf, true, &rows, e) < 0) {
        insert_write_err(e);
        return -1;
    }
    sqlx_rows_result(s, r, rows);
    return 0;
}

/* INSERT INTO t (cols) SELECT ...: the query's rows, each column cast to its target's type,
 * become points through the normal write path (sqlx_insert_rows). */
static int insert_select(sql_session *s, const sql_stmt *st, sql_result *r, const meta_table *t,
                         const int *idx, uint32_t ncols, err *e) {
    plan_out po;
    if (plan_query(s, &r->q, st->q, &po, e) < 0) {
        errstage_folded(e);
        return -1;
    }
    if (po.ncols != ncols) {
        po.root->close(po.root);
        return err_set(e, 422, EC_QUERY_INTERNAL,
                       "Semantic error: Insert columns and Source columns not match");
    }
    return sqlx_insert_rows(s, r, t, idx, ncols, po.root, e);
}

int not_impl_external(const char *what, const char *table, err *e) {
    return err_set(e, 422, EC_NOT_IMPL,
                   "This feature is not implemented: %s of the external table %s", what, table);
}

/* INSERT INTO t (cols) VALUES (...): rows become points through the normal write path. */
static int run_insert(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_table *t = catalog_find_table(s->cat, s->tenant, db, st->table.name, e);
    if (!t) return -1;
    int rc = -1;
    if (t->ext) {
        rc = not_impl_external("INSERT", t->name, e);
        goto out;
    }
    const sql_body *body = st->q ? st->q->body : NULL;
    uint32_t ncols = st->ninsert_cols ? st->ninsert_cols : t->ncols;
    int *idx = arena_alloc(s->a, sizeof *idx * (ncols + 1));
    int time_pos = -1;
    for (uint32_t c = 0; c < ncols; c++) {
        if (st->ninsert_cols) {
            idx[c] = meta_table_col(t, st->insert_cols[c], strlen(st->insert_cols[c]));
            if (idx[c] < 0) {
                rc = err_set(e, 422, EC_QUERY_INTERNAL,
                             "Datafusion: Schema error: No field named %s. Valid fields are ...",
                             st->insert_cols[c]);
                goto out;
            }
        } else {
            idx[c] = (int)c;
        }
        if (t->cols[idx[c]].kind == CK_TIME) time_pos = (int)c;
    }
    if (time_pos < 0 && (!body || !body->values)) {
        rc = err_set(e, 422, EC_QUERY_INTERNAL,
                     "Datafusion: Error during planning: INSERT must provide the time column");
        goto out;
    }
    if (!body || !body->values || st->q->norder || st->q->limit || st->q->offset || st->q->nctes) {
        rc = insert_select(s, st, r, t, idx, ncols, e);
        goto out;
    }
    struct cell *cells = NULL;
    /* VALUES are constants DataFusion folds while planning; the cast to each column's type
     * runs in the table writer */
    if (eval_values(s, r, body, ncols, &cells, e) < 0) {
        errstage_folded(e);
        goto out;
    }
    point_batch pb = {0};
    int64_t now = time_now_ns() / (1000000000 / tunit_per_sec((enum tunit)t->precision));
    for (uint32_t ri = 0; ri < body->nvalues; ri++) {
        const struct cell *row = &cells[(size_t)ri * ncols];
        /* A NULL time is refused, not taken as now; rows without a time column at all are
         * written at the statement's time, as CnosDB does. */
        if (time_pos >= 0 && row[time_pos].v.null) {
            rc = err_set(e, 422, EC_QUERY_INTERNAL,
                         "Datafusion: Error during planning: INSERT: the time column is NULL in "
                         "row %u of VALUES",
                         ri + 1);
            goto out;
        }
        point *p = point_batch_push(s->a, &pb);
        p->table = (strv){t->name, (uint32_t)strlen(t->name)};
        p->line = ri + 1;
        p->tags = arena_calloc(s->a, sizeof *p->tags * (ncols + 1));
        p->fields = arena_calloc(s->a, sizeof *p->fields * (ncols + 1));
        for (uint32_t c = 0; c < ncols; c++)
            if (insert_cell(s, t, &t->cols[idx[c]], row[c].v, p, e) < 0) {
                errstage_running(e);
                goto out;
            }
        if (time_pos < 0) {
            p->ts = now;
            p->has_ts = true;
        }
        if (p->nfields == 0) {
            rc = err_set(e, 422, EC_WRITE, "Coordinator: Fields can't be empty");
            goto out;
        }
        point_normalize(p);
    }
    int64_t unit_ns = 1000000000 / tunit_per_sec((enum tunit)t->precision);
    if (ingest_write(s->cat, s->eng, s->tenant, db, unit_ns, &pb, s->a, e) < 0) {
        insert_write_err(e);
        goto out;
    }
    sqlx_rows_result(s, r, pb.n);
    rc = 0;
out:
    meta_table_release(t);
    return rc;
}

/* ------------------------------------------------------------------ DELETE */

int sqlx_series_filter(sql_session *s, sql_result *r, meta_table *t, const expr *where,
                       series_filter *sf, uint32_t **sids, size_t *n, err *e) {
    if (plan_series_filter(s, &r->q, t, where, sf, e) < 0) return -1;
    if (engine_table_sids(s->eng, t->db_id, t->id, sf->ntags, sf->tag_ids, sf->pred, sf->ctx, s->a,
                          sids, n, e) < 0)
        return -1;
    return series_filter_check(sf, e);
}

static bool has_column(const expr *x) {
    if (!x) return false;
    if (x->kind == EX_COLUMN) return true;
    for (uint32_t i = 0; i < x->nargs; i++)
        if (has_column(x->args[i])) return true;
    return false;
}

/* A DELETE's condition becomes a range of tags and time: an operator that computes a value
 * from a column (arithmetic, ||, bitwise) has no place there, as CnosDB refuses it (one over
 * constants is folded first). */
static int delete_operators(const expr *x, err *e) {
    if (!x) return 0;
    if (x->kind == EX_BINARY && has_column(x)) {
        switch (x->op) {
        case OP_ADD:
        case OP_SUB:
        case OP_MUL:
        case OP_DIV:
        case OP_MOD:
        case OP_CONCAT:
        case OP_BITAND:
        case OP_BITOR:
        case OP_BITXOR:
        case OP_SHL:
        case OP_SHR:
            return err_set(e, 422, EC_NOT_IMPL,
                           "Execute logical plan: Datafusion: This feature is not implemented: "
                           "operator %s in delete statement",
                           plan_op_text(x->op));
        default:
            break;
        }
    }
    for (uint32_t i = 0; i < x->nargs; i++)
        if (delete_operators(x->args[i], e) < 0) return -1;
    return 0;
}

static int run_delete(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    if (delete_operators(st->where, e) < 0) return -1;
    const char *db = st->table.db ? st->table.db : s->db;
    meta_table *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!t) return -1;
    if (t->ext) {
        meta_table_release(t);
        return not_impl_external("DELETE", st->table.name, e);
    }
    series_filter sf;
    uint32_t *sids;
    size_t n;
    int rc = sqlx_series_filter(s, r, t, st->where, &sf, &sids, &n, e);
    if (rc == 0 && sf.has_other)
        rc = err_set(e, 422, EC_NOT_IMPL,
                     "This feature is not implemented: Filtering on the field column on the tskv "
                     "table in delete statement");
    if (rc == 0 && n && sf.tmin <= sf.tmax)
        rc = engine_delete(s->eng, t->db_id, t->id, sids, n, sf.tmin, sf.tmax, e);
    meta_table_release(t);
    return rc;
}

static int not_impl(const char *what, err *e) {
    return err_set(e, 422, EC_NOT_IMPL, "This feature is not implemented: %s", what);
}

/* ------------------------------------------------------------------ entry */

/* Queries whose scans read fewer values (sql_result_estimate) run on one thread. */
#define PARALLEL_MIN_VALUES 16384

int sql_run(sql_session *s, const char *text, size_t len, sql_result **out, err *e) {
    const size_t text_len = len;
    sql_stmt **stmts;
    size_t n;
    if (sql_parse(s->a, text, len, &stmts, &n, e) < 0) return -1;
    if (n > 1) {
        /* the text goes back in the message, but never a password in it */
        for (size_t i = 0; i < n; i++) {
            size_t l = len;
            if (sqlx_secret_free_text(s->a, stmts[i], text, &l) != text)
                return err_set(e, 422, EC_MULTI_STMT,
                               "Multi-statement not allow, found num:%zu, sql:(not shown: it "
                               "sets a password)",
                               n);
        }
        return err_set(e, 422, EC_MULTI_STMT, "Multi-statement not allow, found num:%zu, sql:%.*s",
                       n, (int)(len > 800 ? 800 : len), text);
    }
    if (s->queries_only && n && stmts[0]->kind != ST_QUERY) return 1;
    sql_result *r = result_new(s);
    *out = r;
    if (n == 0) return 0;
    /* SHOW QUERIES shows every statement's text, but never a password */
    const char *shown = sqlx_secret_free_text(s->a, stmts[0], text, &len);
    r->qe = queries_enter(s->tenant, s->user, s->db, shown, len, &r->q.budget);
    const sql_stmt *st = stmts[0];
    int rc = sqlx_authorize(s, st, e);
    if (rc < 0) {
        sql_result_close(r);
        *out = NULL;
        return rc;
    }
    switch (st->kind) {
    case ST_QUERY: {
        plan_out po;
        rc = plan_query(s, &r->q, st->q, &po, e);
        /* an evaluation error while planning is a constant folded */
        if (rc < 0) errstage_folded(e);
        /* Threads cost more than they save on a small query: starting them and handing over
         * its few batches take longer than its work. */
        if (rc == 0 && r->q.parallelism > 1 &&
            sql_result_estimate(r, PARALLEL_MIN_VALUES) <= PARALLEL_MIN_VALUES)
            r->q.parallelism = 1;
        if (rc == 0) {
            r->root = op_gather(&r->q, po.root);
            set_schema(r, po.ncols, po.names, po.root);
        }
        break;
    }
    case ST_SHOW_DATABASES:
        rc = sqlx_show_databases(s, r, e);
        break;
    case ST_SHOW_TABLES:
        rc = sqlx_show_tables(s, st, r, e);
        break;
    case ST_DESCRIBE_TABLE:
        rc = sqlx_describe_table(s, st, r, e);
        break;
    case ST_DESCRIBE_DATABASE:
        rc = sqlx_describe_db(s, st, r, e);
        break;
    case ST_CREATE_DATABASE:
        rc = sqlx_create_db(s, st, e);
        break;
    case ST_ALTER_DATABASE:
        rc = sqlx_alter_db(s, st, e);
        break;
    case ST_DROP_DATABASE:
        rc = sqlx_drop_db(s, st, e);
        break;
    case ST_RECOVER_DATABASE:
        rc = sqlx_recover_db(s, st, e);
        break;
    case ST_CREATE_TABLE:
        rc = sqlx_create_table(s, st, e);
        break;
    case ST_DROP_TABLE:
        rc = sqlx_drop_table(s, st, e);
        break;
    case ST_ALTER_TABLE:
        rc = sqlx_alter_table(s, st, e);
        break;
    case ST_INSERT:
        rc = sqlx_stream_insert(s, st, text, text_len, e);
        if (rc == 0) rc = run_insert(s, st, r, e);
        if (rc > 0) rc = 0; /* a continuous job started */
        break;
    case ST_CREATE_STREAM_TABLE:
        rc = sqlx_create_stream_table(s, st, e);
        break;
    case ST_CREATE_STREAM:
        /* a job's run executes the INSERT it keeps */
        rc = s->stream ? run_insert(s, st->inner, r, e)
                       : sqlx_create_stream(s, st, text, text_len, e);
        break;
    case ST_DROP_STREAM:
        rc = sqlx_drop_stream(s, st, e);
        break;
    case ST_SHOW_STREAMS:
        rc = sqlx_show_streams(s, st, r, e);
        break;
    case ST_DELETE:
        rc = run_delete(s, st, r, e);
        break;
    case ST_UPDATE:
        rc = sqlx_update(s, st, r, e);
        break;
    case ST_EXPLAIN:
        rc = sqlx_explain(s, st, r, e);
        break;
    case ST_SHOW_SERIES:
        rc = sqlx_show_series(s, st, r, e);
        break;
    case ST_SHOW_TAG_VALUES:
        rc = sqlx_show_tag_values(s, st, r, e);
        break;
    case ST_COMPACT:
        rc = sqlx_compact(s, st, e);
        break;
    case ST_CREATE_EXTERNAL_TABLE:
        rc = sqlx_create_external(s, st, e);
        break;
    case ST_COPY_INTO_TABLE:
        rc = sqlx_copy_into_table(s, st, r, e);
        break;
    case ST_COPY_INTO_LOCATION:
        rc = sqlx_copy_into_location(s, st, r, e);
        break;
    case ST_CREATE_USER:
    case ST_ALTER_USER:
    case ST_DROP_USER:
    case ST_CREATE_TENANT:
    case ST_ALTER_TENANT:
    case ST_DROP_TENANT:
    case ST_RECOVER_TENANT:
    case ST_CREATE_ROLE:
    case ST_DROP_ROLE:
    case ST_GRANT:
    case ST_REVOKE:
        rc = sqlx_dcl(s, st, e);
        break;
    case ST_SHOW_QUERIES:
        rc = sqlx_show_queries(s, r, e);
        break;
    case ST_KILL_QUERY:
        rc = sqlx_kill_query(s, st, e);
        break;
    default:
        rc = not_impl("this statement", e);
        break;
    }
    if (rc < 0) {
        sql_result_close(r);
        *out = NULL;
    } else {
        queries_running(r->qe);
    }
    return rc;
}

/* Accounts a batch (or the end, or an error) of r in the registry of running statements. */
static int result_counted(sql_result *r, const batch *b, int rc) {
    if (rc > 0)
        queries_processed(r->qe, b->nrows);
    else if (rc < 0)
        queries_failed(r->qe);
    return rc;
}

const rschema *sql_result_schema(const sql_result *r) {
    return r ? &r->schema : NULL;
}

int sql_result_next(sql_result *r, batch *b, err *e) {
    if (!r->root) return 0;
    arena_reset(r->q.ba);
    int rc = r->root->next(r->root, b, e);
    if (rc < 0) errstage_running(e);
    return result_counted(r, b, rc);
}

size_t sql_result_estimate(sql_result *r, size_t cap) {
    /* a count below its cap was exact: good for any cap */
    if (r->est_cap && (r->est <= r->est_cap || cap <= r->est_cap))
        return r->est > cap ? cap + 1 : r->est;
    r->est = op_scans_estimate(&r->q, cap);
    r->est_cap = cap;
    return r->est;
}

void sql_result_encode_apart(sql_result *r, sql_encode_fn fn, void *ctx) {
    if (r->root) (void)op_gather_encode(r->root, fn, ctx);
}

int sql_result_next_text(sql_result *r, batch *b, const buf **text, err *e) {
    *text = NULL;
    if (!r->root) return 0;
    arena_reset(r->q.ba);
    int rc = op_gather_next_text(r->root, b, text, e);
    if (rc < 0) errstage_running(e);
    return result_counted(r, b, rc);
}

void sql_result_close(sql_result *r) {
    if (!r) return;
    /* before the budget the registry points at goes */
    queries_leave(r->qe);
    r->qe = NULL;
    if (r->root) {
        r->root->close(r->root);
        r->root = NULL;
    }
    arena_free(r->q.ba);
    r->q.ba = NULL;
    arena_free(r->q.scratch);
    r->q.scratch = NULL;
    /* the budget lives in the statement arena, which outlives this call */
    arena_set_budget(r->q.a, NULL);
}
