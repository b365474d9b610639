/* EXPLAIN of a query over a stream table (sql/sql_stream.c): CnosDB shows its streaming
 * logical plan, a Watermark over a StreamScan of the stream's columns (with the WHERE as a
 * Filter between, and a Projection on top for a stream that took its source's columns). Only
 * `SELECT * FROM stream [WHERE ...]` is shown so; another query over a stream is refused, as
 * running one is. */
#include <string.h>

#include "sql/plan_int.h"
#include "util/buf.h"

int plan_stream_explain(sql_session *s, arena *a, const sql_query *q, char **text, err *er) {
    const sql_body *b = q->body;
    const sql_select *sel = b && !b->setop && !b->nested ? b->select : NULL;
    if (!sel || !sel->from || sel->from->kind != TR_TABLE || sel->from->tenant) return 0;
    const sql_table_ref *tr = sel->from;
    err ignored = {0};
    meta_table *t =
        catalog_get_table(s->cat, s->tenant, tr->db ? tr->db : s->db, tr->name, &ignored);
    err_clear(&ignored);
    if (!t) return 0;
    if (!meta_table_is_stream(t)) {
        meta_table_release(t);
        return 0;
    }
    bool star = sel->nitems == 1 && sel->items[0].e->kind == EX_STAR && !sel->items[0].e->qual;
    if (!star || sel->ngroup || sel->group_kind || sel->having || sel->distinct || q->norder ||
        q->limit || q->offset || q->nctes) {
        meta_table_release(t);
        return err_set(er, 422, EC_NOT_IMPL,
                       "This feature is not implemented: EXPLAIN of a streaming query other than "
                       "SELECT * FROM stream [WHERE ...]");
    }
    const char *qual = tr->alias ? tr->alias : t->name;
    struct scope sc = {arena_calloc(a, sizeof *sc.cols * (t->ncols + 1)), t->ncols};
    for (uint32_t i = 0; i < t->ncols; i++)
        sc.cols[i] = (struct col_ref){.qual = qual,
                                      .name = arena_strdup(a, t->cols[i].name),
                                      .type = t->cols[i].type,
                                      .unit = t->cols[i].type == VT_TS ? t->precision : 0,
                                      .kind = 0xff};
    bool derived = strstr(t->ext, "\"derived\":true") != NULL;
    const char *tcol = strstr(t->ext, "\"event_time_column\":\"");
    char timecol[256] = "time";
    if (tcol) {
        tcol += strlen("\"event_time_column\":\"");
        size_t n = strcspn(tcol, "\"");
        if (n < sizeof timecol) {
            memcpy(timecol, tcol, n);
            timecol[n] = 0;
        }
    }
    buf out;
    buf_init(&out);
    int depth = 0;
    if (derived) {
        buf_puts(&out, "Projection: ");
        for (uint32_t i = 0; i < t->ncols; i++)
            buf_printf(&out, "%s%s.%s", i ? ", " : "", qual, t->cols[i].name);
        buf_putc(&out, '\n');
        depth++;
    }
    buf_printf(&out, "%*sWatermark: event_time=%s, delay=0ms\n", 2 * depth, "", timecol);
    depth++;
    if (sel->where) {
        buf_printf(&out, "%*sFilter: %s\n", 2 * depth, "", plan_expr_display(a, sel->where, &sc));
        depth++;
    }
    buf_printf(&out, "%*sStreamScan: [", 2 * depth, "");
    for (uint32_t i = 0; i < t->ncols; i++)
        buf_printf(&out, "%s%s.%s", i ? "," : "", qual, t->cols[i].name);
    buf_putc(&out, ']');
    meta_table_release(t);
    *text = arena_strdup(a, buf_cstr(&out));
    buf_free(&out);
    return 1;
}
