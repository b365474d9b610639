/* CREATE EXTERNAL TABLE, COPY INTO a table, COPY INTO a location: the statements over
 * sql/ext.h's files.
 *
 * - CREATE EXTERNAL TABLE records the table in the catalog (columns, and the source as JSON in
 *   meta_table.ext); it opens no file unless the columns are left out, when they are inferred
 *   from the first file of the location.
 * - COPY INTO t FROM 'path' scans the files as a table of t's columns (or of the columns
 *   listed) and writes the rows through INSERT's path (sqlx_insert_rows): durable when it
 *   answers, the count in `rows`. CSV columns are taken by position, JSON values by name;
 *   COPY_OPTIONS (auto_infer_schema = true) takes the file's own columns, which must then be
 *   as many as the target's.
 * - COPY INTO 'path' FROM t | (query) writes the query's rows as one CSV (with a header unless
 *   WITH_HEADER = false) or JSON-lines file, compressed if asked (FILE_FORMAT's COMPRESSION),
 *   through the HTTP result encoders (format.h), or as one Parquet file (sql/ext_parquet.c,
 *   snappy unless COMPRESSION says otherwise), and answers `rows`. A location ending in `/` (or
 *   a directory) gets a new part-*.csv|json|parquet file.
 * - COPY INTO an external table over a directory adds a file to it, in the table's format.
 * - A query over an external table scans its files (ext_table_scan, from plan_from.c). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "format/format.h"
#include "sql/ext.h"
#include "sql/sql_int.h"

int sqlx_create_external(sql_session *s, const sql_stmt *st, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    ext_source src;
    if (ext_source_from_sql(st->ext, false, &src, e) < 0) return -1;
    uint32_t n = st->ncols;
    col_def *defs = arena_calloc(s->a, sizeof *defs * (n + 1));
    const char **arrow = arena_alloc(s->a, sizeof *arrow * (n + 1));
    for (uint32_t i = 0; i < n; i++) {
        const sql_column_def *c = &st->cols[i];
        for (uint32_t k = 0; k < i; k++)
            if (!strcmp(st->cols[k].name, c->name))
                return err_set(e, 422, EC_QUERY_INTERNAL,
                               "Datafusion: Schema error: Schema contains duplicate unqualified "
                               "field name %s",
                               c->name);
        uint8_t unit;
        defs[i].name = c->name;
        defs[i].name_len = strlen(c->name);
        defs[i].kind = CK_FIELD;
        if (ext_column_type(s->a, &c->type, c->name, &defs[i].type, &unit, &arrow[i], e) < 0)
            return -1;
    }
    if (n == 0) {
        char **files;
        uint32_t nf;
        const char **names;
        uint8_t *types;
        if (ext_files(s->a, src.location, ext_dir_suffix(&src), &files, &nf, e) < 0) return -1;
        if (ext_infer(s->a, &src, files[0], &n, &names, &types, &arrow, e) < 0) return -1;
        defs = arena_calloc(s->a, sizeof *defs * (n + 1));
        for (uint32_t i = 0; i < n; i++)
            defs[i] = (col_def){
                .name = names[i], .name_len = strlen(names[i]), .kind = CK_FIELD, .type = types[i]};
    }
    char *def = ext_def_text(&src, arrow, n);
    if (!def) return err_set(e, 500, EC_INTERNAL, "cannot encode an external table definition");
    int rc = catalog_create_external_table(s->cat, s->tenant, db, st->table.name, defs, n, def,
                                           st->if_not_exists, e);
    free(def);
    return rc;
}

int ext_table_columns(arena *a, const meta_table *t, const char ***arrow, err *e) {
    ext_source src;
    return ext_def_parse(a, t->ext, t->ncols, &src, arrow, NULL, e);
}

int ext_table_scan(qctx *q, const meta_table *t, op **out, err *e) {
    ext_source src;
    const char **arrow;
    uint8_t *units;
    if (ext_def_parse(q->a, t->ext, t->ncols, &src, &arrow, &units, e) < 0) return -1;
    char **files;
    uint32_t nf;
    if (ext_files(q->a, src.location, ext_dir_suffix(&src), &files, &nf, e) < 0) return -1;
    const char **names = arena_alloc(q->a, sizeof *names * (t->ncols + 1));
    uint8_t *types = arena_alloc(q->a, t->ncols + 1);
    for (uint32_t i = 0; i < t->ncols; i++) {
        names[i] = arena_strdup(q->a, t->cols[i].name);
        types[i] = t->cols[i].type;
    }
    *out =
        op_ext_scan(q, &src, files, nf, t->ncols, arena_strdup(q->a, t->name), names, types, units);
    return 0;
}

static bool copy_option(const sql_ext *x, const char *name, bool *val) {
    for (uint32_t i = 0; i < x->nopts; i++)
        if (!strcmp(x->opts[i].name, name)) {
            const value *v = &x->opts[i].v;
            *val = v->type == VT_BOOL
                       ? v->v.b
                       : v->type == VT_STR && v->v.s.len == 4 && !strncasecmp(v->v.s.p, "true", 4);
            return true;
        }
    return false;
}

static int not_match(err *e) {
    return err_set(e, 422, EC_QUERY_INTERNAL,
                   "Semantic error: Insert columns and Source columns not match");
}

static int copy_into_external(sql_session *s, const sql_stmt *st, sql_result *r,
                              const meta_table *t, const ext_source *from, err *e);

int sqlx_copy_into_table(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    const char *db = st->table.db ? st->table.db : s->db;
    meta_table *t = catalog_get_table(s->cat, s->tenant, db, st->table.name, e);
    if (!t) return -1;
    arena *a = s->a;
    int rc = -1;
    ext_source src;
    char **files;
    uint32_t nf;
    uint32_t ncols = st->ninsert_cols ? st->ninsert_cols : t->ncols;
    int *idx = arena_alloc(a, sizeof *idx * (ncols + 1));
    const char **names = arena_alloc(a, sizeof *names * (ncols + 1));
    uint8_t *types = arena_alloc(a, ncols + 1), *units = arena_alloc(a, ncols + 1);
    bool infer = false;
    if (ext_source_from_sql(st->ext, true, &src, e) < 0) goto out;
    if (t->ext) {
        rc = copy_into_external(s, st, r, t, &src, e);
        goto out;
    }
    for (uint32_t i = 0; i < st->ext->nopts; i++) {
        const sql_option *o = &st->ext->opts[i];
        /* ON_ERROR = 'abort' is what COPY does; skipping bad rows is not offered */
        bool abort_ok = !strcmp(o->name, "ON_ERROR") && o->v.type == VT_STR && o->v.v.s.len == 5 &&
                        !strncasecmp(o->v.v.s.p, "abort", 5);
        if (strcmp(o->name, "AUTO_INFER_SCHEMA") && !abort_ok) {
            rc = err_set(e, 422, EC_NOT_IMPL,
                         "This feature is not implemented: COPY_OPTIONS option %s%s%.*s", o->name,
                         o->v.type == VT_STR ? " = " : "",
                         o->v.type == VT_STR ? (int)o->v.v.s.len : 0,
                         o->v.type == VT_STR ? o->v.v.s.p : "");
            goto out;
        }
    }
    copy_option(st->ext, "AUTO_INFER_SCHEMA", &infer);
    for (uint32_t c = 0; c < ncols; c++) {
        idx[c] = st->ninsert_cols
                     ? meta_table_col(t, st->insert_cols[c], strlen(st->insert_cols[c]))
                     : (int)c;
        if (idx[c] < 0) {
            rc = err_set(e, 422, EC_QUERY_INTERNAL,
                         "Datafusion: Schema error: No field named %s. Valid fields are ...",
                         st->insert_cols[c]);
            goto out;
        }
        const meta_column *mc = &t->cols[idx[c]];
        names[c] = mc->name;
        types[c] = mc->kind == CK_TIME ? VT_TS : mc->type;
        units[c] = mc->kind == CK_TIME ? t->precision : 0;
    }
    if (ext_files(a, src.location, ext_dir_suffix(&src), &files, &nf, e) < 0) goto out;
    if (infer) {
        uint32_t n;
        const char **inames, **arrow;
        uint8_t *itypes;
        if (ext_infer(a, &src, files[0], &n, &inames, &itypes, &arrow, e) < 0) goto out;
        if (n != ncols) {
            rc = not_match(e);
            goto out;
        }
        /* the file's columns, by position; JSON values found by the file's own names */
        names = inames;
    }
    op *files_op = op_ext_scan(&r->q, &src, files, nf, ncols, NULL, names, types, units);
    rc = sqlx_insert_rows(s, r, t, idx, ncols, files_op, e);
out:
    meta_table_release(t);
    return rc;
}

/* Writes the query's rows into o with encoder f; *rows counts them. */
static int write_rows(sql_result *r, op *root, fmt_enc *f, bool header, ext_out *o, uint64_t *rows,
                      err *e) {
    buf out;
    buf_init(&out);
    int rc = 0;
    bool apart = !header && fmt_enc_rows_apart(f);
    for (;;) {
        arena_reset(r->q.ba);
        batch b;
        int got = root->next(root, &b, e);
        if (got <= 0) {
            rc = got;
            break;
        }
        *rows += b.nrows;
        if (apart)
            fmt_enc_rows(f, &b, &out);
        else
            fmt_enc_batch(f, &b, &out);
        if (out.len >= (1u << 20)) {
            if ((rc = ext_out_write(o, out.p, out.len, e)) < 0) break;
            buf_reset(&out);
        }
    }
    if (rc == 0 && !apart) fmt_enc_finish(f, &out);
    if (rc == 0) rc = ext_out_write(o, out.p, out.len, e);
    buf_free(&out);
    return rc < 0 ? -1 : 0;
}

static enum fmt_kind out_kind(const ext_source *dst) {
    if (dst->format == EXT_JSON) return FMT_NDJSON;
    return dst->delimiter == '\t' ? FMT_TSV : FMT_CSV;
}

static int check_out_delimiter(const ext_source *dst, err *e) {
    if (dst->format == EXT_CSV && dst->delimiter != ',' && dst->delimiter != '\t')
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: writing CSV with the delimiter '%c' "
                       "(',' and tab are supported)",
                       dst->delimiter);
    return 0;
}

/* The rows of root (ncols columns called names) into a new file at dst, answering `rows`.
 * Closes root. */
static int copy_out(sql_session *s, sql_result *r, op *root, const char **names, uint32_t ncols,
                    const ext_source *dst, err *e) {
    char *path;
    bool pq = dst->format == EXT_PARQUET; /* compressed inside, page by page */
    const char *suffix = pq ? "parquet"
                            : arena_printf(s->a, "%s%s", dst->format == EXT_JSON ? "json" : "csv",
                                           ext_comp_suffix(dst->compression));
    ext_out *o;
    if (ext_out_path(s->a, dst->location, suffix, &path, e) < 0 ||
        ext_out_open(path, pq ? EXT_UNCOMPRESSED : dst->compression, &o, e) < 0) {
        root->close(root);
        return -1;
    }
    set_schema(r, ncols, names, root);
    uint64_t rows = 0;
    int rc;
    if (pq) {
        rc = ext_pq_write(&r->q, root, names, dst->compression, o, &rows, e);
    } else {
        fmt_enc *f = fmt_enc_new(out_kind(dst), &r->schema, false);
        rc = write_rows(r, root, f, dst->header, o, &rows, e);
        fmt_enc_free(f);
    }
    root->close(root);
    if (rc == 0)
        rc = ext_out_close(o, e);
    else
        ext_out_free(o);
    if (rc < 0) return -1;
    sqlx_rows_result(s, r, rows);
    return 0;
}

int sqlx_copy_into_location(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    ext_source dst;
    if (ext_source_from_sql(st->ext, true, &dst, e) < 0 || check_out_delimiter(&dst, e) < 0)
        return -1;
    plan_out po;
    if (plan_query(s, &r->q, st->q, &po, e) < 0) return -1;
    return copy_out(s, r, po.root, po.names, po.ncols, &dst, e);
}

/* COPY INTO an external table: the file's rows, read as the table's columns, become a new file
 * in the table's directory, in its format (CnosDB's way of appending to one). */
static int copy_into_external(sql_session *s, const sql_stmt *st, sql_result *r,
                              const meta_table *t, const ext_source *from, err *e) {
    if (st->ninsert_cols)
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: a column list in COPY INTO the external "
                       "table %s",
                       t->name);
    ext_source dst;
    const char **arrow;
    uint8_t *units;
    if (ext_def_parse(s->a, t->ext, t->ncols, &dst, &arrow, &units, e) < 0) return -1;
    const char *loc = dst.location;
    size_t len = strlen(loc);
    struct stat sb;
    const char *p = strncmp(loc, "file://", 7) ? loc : loc + 7;
    if (!(len && loc[len - 1] == '/') && !(stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)))
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: COPY INTO the external table %s over "
                       "one file (its location must be a directory)",
                       t->name);
    if (check_out_delimiter(&dst, e) < 0) return -1;
    char **files;
    uint32_t nf;
    if (ext_files(s->a, from->location, ext_dir_suffix(from), &files, &nf, e) < 0) return -1;
    const char **names = arena_alloc(s->a, sizeof *names * (t->ncols + 1));
    uint8_t *types = arena_alloc(s->a, t->ncols + 1);
    for (uint32_t i = 0; i < t->ncols; i++) {
        names[i] = t->cols[i].name;
        types[i] = t->cols[i].type;
    }
    op *rows = op_ext_scan(&r->q, from, files, nf, t->ncols, NULL, names, types, units);
    return copy_out(s, r, rows, names, t->ncols, &dst, e);
}
