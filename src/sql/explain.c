/* EXPLAIN: see explain.h. The operator tree is mirrored by a tree of nodes holding what each
 * operator said of itself (op_explain); the plans are rendered from those nodes, one line per
 * operator, children indented under their parent. */
#include "sql/explain.h"

#include "sql/sql_int.h"
#include "util/timeutil.h"

#include <string.h>
#include <strings.h>

struct ex_node {
    op *o; /* NULL: the TableWriter above an INSERT's source */
    op_explain x;
    struct ex_node **kids;
    uint32_t nk;
    const char **alias; /* o->ncols entries, or NULL */
};

static struct ex_node *ex_build(arena *a, op *o) {
    /* an operator with one input and no name of its own (op_gather) only changes how its
     * input runs, not what it computes: the plans show the input */
    while (!o->describe && !o->pname && o->nchildren == 1) o = o->children[0];
    struct ex_node *n = arena_calloc(a, sizeof *n);
    n->o = o;
    n->nk = o->nchildren;
    n->kids = arena_calloc(a, sizeof *n->kids * (n->nk + 1));
    for (uint32_t i = 0; i < n->nk; i++) n->kids[i] = ex_build(a, o->children[i]);
    return n;
}

static void ex_free(struct ex_node *n) {
    buf_free(&n->x.pd);
    buf_free(&n->x.ld);
    for (uint32_t i = 0; i < n->nk; i++) ex_free(n->kids[i]);
}

/* Describes n's subtree, children first: each operator is given its inputs' column names. */
static void ex_describe(arena *a, struct ex_node *n, bool analyzed) {
    for (uint32_t i = 0; i < n->nk; i++) ex_describe(a, n->kids[i], analyzed);
    ex_cols *in = arena_calloc(a, sizeof *in * (n->nk + 1));
    for (uint32_t i = 0; i < n->nk; i++) in[i] = n->kids[i]->x.out;
    op *o = n->o;
    op_explain *x = &n->x;
    buf_free(&x->pd);
    buf_free(&x->ld);
    memset(x, 0, sizeof *x);
    x->a = a;
    x->in = in;
    x->alias = n->alias;
    x->analyzed = analyzed;
    ex_cols_init(a, &x->out, o->ncols);
    for (uint32_t c = 0; c < o->ncols; c++) {
        bool from_child = n->nk && c < in[0].n;
        x->out.lname[c] = from_child ? in[0].lname[c] : arena_printf(a, "column%u", c + 1);
        x->out.pname[c] = from_child ? in[0].pname[c] : x->out.lname[c];
    }
    if (o->describe) {
        o->describe(o, x);
    } else {
        /* an operator that does not describe itself (op_explain_as, or nothing at all) */
        x->pname = o->pname ? o->pname : arena_printf(a, "UnknownExec(%u columns)", o->ncols);
        x->lname = o->lname ? o->lname : x->pname;
    }
}

/* Hands the query's output names down from n through the operators that pass their input's
 * columns on, to the one that makes them (a projection, an aggregate). */
static void ex_alias(arena *a, struct ex_node *n, const char **alias) {
    n->alias = alias;
    for (uint32_t i = 0; i < n->nk; i++) {
        const char **ka = NULL;
        if (i == 0 && alias && n->x.passthrough) {
            uint32_t kn = n->kids[0]->o->ncols;
            ka = arena_calloc(a, sizeof *ka * (kn + 1));
            memcpy(ka, alias, sizeof *ka * (n->o->ncols < kn ? n->o->ncols : kn));
        }
        ex_alias(a, n->kids[i], ka);
    }
}

/* ------------------------------------------------------------------ ANALYZE */

static int timed_next(op *o, batch *b, err *er) {
    struct op_stats *st = o->stats;
    int64_t t0 = time_mono_ns();
    int rc = st->next(o, b, er);
    st->ns += time_mono_ns() - t0;
    if (rc > 0) {
        st->rows += b->nrows;
        st->batches++;
    }
    return rc;
}

void explain_instrument(arena *a, op *root) {
    if (root->stats) return; /* an input shared by two parents */
    root->stats = arena_calloc(a, sizeof *root->stats);
    root->stats->next = root->next;
    root->next = timed_next;
    for (uint32_t i = 0; i < root->nchildren; i++) explain_instrument(a, root->children[i]);
}

/* A duration as Rust's Debug prints one (DataFusion's metrics): `1.5s`, `2.25ms`, `12.3µs`,
 * `800ns`: the largest unit under the value, its fraction without trailing zeros. */
static void put_duration(buf *b, int64_t ns) {
    if (ns < 0) ns = 0;
    static const struct {
        int64_t div;
        const char *unit;
    } units[] = {{1000000000, "s"}, {1000000, "ms"}, {1000, "µs"}};
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
        int64_t d = units[u].div;
        if (ns < d) continue;
        buf_printf(b, "%lld", (long long)(ns / d));
        int64_t frac = ns % d;
        if (frac) {
            char digits[16];
            int w = 0;
            for (int64_t p = d / 10; p; p /= 10) digits[w++] = (char)('0' + (frac / p) % 10);
            while (w > 0 && digits[w - 1] == '0') w--;
            buf_printf(b, ".%.*s", w, digits);
        }
        buf_puts(b, units[u].unit);
        return;
    }
    buf_printf(b, "%lldns", (long long)ns);
}

/* ------------------------------------------------------------------ rendering */

static void put_metrics(buf *b, const struct ex_node *n, bool full) {
    const struct op_stats *st = n->o ? n->o->stats : NULL;
    if (!st) return;
    /* time in this operator: what its next() took minus what its inputs' took */
    int64_t self = st->ns;
    for (uint32_t i = 0; i < n->nk; i++)
        if (n->kids[i]->o->stats) self -= n->kids[i]->o->stats->ns;
    buf_printf(b, ", metrics=[output_rows=%llu, elapsed_compute=", (unsigned long long)st->rows);
    put_duration(b, self);
    if (full) {
        buf_printf(b, ", output_batches=%llu, elapsed_total=", (unsigned long long)st->batches);
        put_duration(b, st->ns);
    }
    buf_putc(b, ']');
}

static void put_schema(buf *b, const struct ex_node *n) {
    const op *o = n->o;
    buf_puts(b, ", schema=[");
    for (uint32_t c = 0; c < n->x.out.n; c++) {
        uint8_t t = o ? o->types[c] : VT_U64;
        buf_printf(b, "%s%s:%s", c ? ", " : "", n->x.out.pname[c],
                   vtype_arrow_name(t, o ? o->units[c] : 0));
    }
    buf_putc(b, ']');
}

static void ex_render(buf *b, const struct ex_node *n, int depth, enum explain_style st) {
    const op_explain *x = &n->x;
    bool logical = st == EXPLAIN_LOGICAL;
    if (logical && depth) buf_putc(b, '\n');
    for (int i = 0; i < depth; i++) buf_puts(b, "  ");
    const char *name = logical ? x->lname : x->pname;
    const buf *d = logical ? &x->ld : &x->pd;
    buf_puts(b, name);
    if (d->len) {
        buf_puts(b, name[strlen(name) - 1] == ':' ? " " : ": ");
        buf_append(b, d->p, d->len);
    }
    if (st == EXPLAIN_SCHEMA) put_schema(b, n);
    if (st == EXPLAIN_METRICS || st == EXPLAIN_FULL_METRICS)
        put_metrics(b, n, st == EXPLAIN_FULL_METRICS);
    if (!logical) buf_putc(b, '\n');
    for (uint32_t i = 0; i < n->nk; i++) ex_render(b, n->kids[i], depth + 1, st);
}

/* The described tree of root, whose output the query names names[0..root->ncols) (NULL: no
 * names). */
static struct ex_node *ex_tree(arena *a, op *root, const char *const *names, bool analyzed) {
    struct ex_node *tree = ex_build(a, root);
    /* described twice: the first finds the operators that pass columns on, so that the
     * query's names reach the one making them in the second */
    ex_describe(a, tree, analyzed);
    if (names) {
        const char **alias = arena_calloc(a, sizeof *alias * (root->ncols + 1));
        memcpy(alias, names, sizeof *alias * root->ncols);
        ex_alias(a, tree, alias);
        ex_describe(a, tree, analyzed);
    }
    return tree;
}

static char *ex_text(arena *a, const struct ex_node *tree, enum explain_style st) {
    buf b;
    buf_init(&b);
    ex_render(&b, tree, 0, st);
    char *r = arena_strndup(a, b.p ? b.p : "", b.len);
    buf_free(&b);
    return r;
}

char *explain_render(arena *a, op *root, const char *const *names, bool analyzed,
                     enum explain_style st) {
    struct ex_node *tree = ex_tree(a, root, names, analyzed);
    char *r = ex_text(a, tree, st);
    ex_free(tree);
    return r;
}

static void add_row(struct table_builder *tb, arena *a, const char *type, const char *text) {
    value *row = tb_row(tb);
    row[0] = tb_str(a, type);
    row[1] = tb_str(a, text);
}

static void add_plan(struct table_builder *tb, arena *a, const char *type,
                     const struct ex_node *root, enum explain_style st) {
    add_row(tb, a, type, ex_text(a, root, st));
}

/* ------------------------------------------------------------------ the statement */

/* Runs the instrumented tree to its end, dropping the rows; the number of rows in *rows. */
static int ex_run(sql_result *r, op *root, uint64_t *rows, err *e) {
    *rows = 0;
    for (;;) {
        arena_reset(r->q.ba);
        batch b;
        int rc = root->next(root, &b, e);
        if (rc <= 0) return rc;
        *rows += b.nrows;
    }
}

/* The TableWriter an INSERT puts above its source (it is not an operator in Strata: INSERT
 * writes its rows itself). */
static struct ex_node *ex_writer(arena *a, const sql_stmt *ins, struct ex_node *src) {
    struct ex_node *n = arena_calloc(a, sizeof *n);
    n->nk = 1;
    n->kids = arena_calloc(a, sizeof *n->kids * 2);
    n->kids[0] = src;
    op_explain *x = &n->x;
    const char *table = ins->table.name;
    x->lname = "TableWriter:";
    x->pname = "TableWriterExec";
    buf_printf(&x->ld, "%s", table);
    buf_printf(&x->pd, "table=%s", table);
    if (ins->ninsert_cols) {
        buf_puts(&x->pd, ", columns=[");
        for (uint32_t i = 0; i < ins->ninsert_cols; i++)
            buf_printf(&x->pd, "%s%s", i ? "," : "", ins->insert_cols[i]);
        buf_putc(&x->pd, ']');
    }
    static const char *rows_name = "rows";
    x->out = (ex_cols){1, &rows_name, &rows_name, 0};
    return n;
}

int sqlx_explain(sql_session *s, const sql_stmt *st, sql_result *r, err *e) {
    const sql_stmt *in = st->inner;
    arena *a = r->q.a;
    if (st->explain_format && strcasecmp(st->explain_format, "text") != 0)
        return err_set(e, 422, EC_NOT_IMPL, "This feature is not implemented: EXPLAIN FORMAT %s",
                       st->explain_format);
    bool insert = in->kind == ST_INSERT && in->q;
    if (in->kind != ST_QUERY && !insert)
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: explain non-query statement.");
    if (insert && st->analyze)
        return err_set(e, 422, EC_NOT_IMPL,
                       "This feature is not implemented: EXPLAIN ANALYZE INSERT");
    char *stream_plan = NULL;
    int sr = in->kind == ST_QUERY && !st->analyze
                 ? plan_stream_explain(s, a, in->q, &stream_plan, e)
                 : 0;
    if (sr < 0) return -1;
    if (sr > 0) { /* only the logical plan, as CnosDB shows a streaming one */
        static const char *scols[] = {"plan_type", "plan"};
        static const uint8_t stypes[] = {VT_STR, VT_STR};
        struct table_builder sb;
        tb_init(&sb, a, 2, scols, stypes);
        value *row = tb_row(&sb);
        row[0] = tb_str(a, "logical_plan");
        row[1] = tb_str(a, stream_plan);
        tb_finish(&sb, r);
        return 0;
    }
    plan_out po;
    if (plan_query(s, &r->q, in->q, &po, e) < 0) return -1;
    op *root = po.root;
    uint64_t rows = 0;
    int64_t took = 0;
    int rc = 0;
    if (st->analyze) {
        explain_instrument(a, root);
        int64_t t0 = time_mono_ns();
        rc = ex_run(r, root, &rows, e);
        took = time_mono_ns() - t0;
    }
    root->close(root);
    if (rc < 0) return -1;
    struct ex_node *tree = ex_tree(a, root, po.names, st->analyze);
    if (insert) tree = ex_writer(a, in, tree);

    static const char *cols[] = {"plan_type", "plan"};
    static const uint8_t types[] = {VT_STR, VT_STR};
    struct table_builder tb;
    tb_init(&tb, a, 2, cols, types);
    if (!st->analyze) {
        add_plan(&tb, a, "logical_plan", tree, EXPLAIN_LOGICAL);
        add_plan(&tb, a, "physical_plan", tree, EXPLAIN_PHYSICAL);
        if (st->verbose) add_plan(&tb, a, "physical_plan_with_schema", tree, EXPLAIN_SCHEMA);
    } else {
        add_plan(&tb, a, "Plan with Metrics", tree, EXPLAIN_METRICS);
        if (st->verbose) {
            add_plan(&tb, a, "Plan with Full Metrics", tree, EXPLAIN_FULL_METRICS);
            add_row(&tb, a, "Output Rows", arena_printf(a, "%llu", (unsigned long long)rows));
            buf d;
            buf_init(&d);
            put_duration(&d, took);
            add_row(&tb, a, "Duration", buf_cstr(&d));
            buf_free(&d);
        }
    }
    ex_free(tree);
    tb_finish(&tb, r);
    return 0;
}
