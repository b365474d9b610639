/* The write path: see write.h. */
#include "ingest/write.h"

#include "gis/gis.h"

#include "util/buf.h"
#include "util/hmap.h"
#include "util/mem.h"
#include "util/timeutil.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int64_t write_precision_ns(const char *text) {
    static const struct {
        const char *name;
        int64_t ns;
    } units[] = {{"ns", 1},       {"n", 1},          {"us", 1000},         {"u", 1000},
                 {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000LL}, {"h", 3600000000000LL}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(text, units[i].name) == 0) return units[i].ns;
    return 0;
}

/* One table of the request: its points and the catalog version that has all their columns. */
struct tgroup {
    strv name;
    size_t *pts;
    size_t npts, cap;
    col_def *cols;
    size_t ncols, colcap;
    uint32_t *col_line; /* line where each col_def was first seen */
    meta_table *t;
};

static struct tgroup *group_for(arena *a, hmap *byname, struct tgroup **groups, size_t *ng,
                                size_t *gcap, strv name) {
    bool ins;
    uint64_t *slot = hmap_upsert(byname, name.p, name.len, &ins);
    if (!ins) return &(*groups)[*slot];
    if (*ng == *gcap) {
        size_t nc = *gcap ? *gcap * 2 : 4;
        *groups = arena_realloc(a, *groups, sizeof **groups * *gcap, sizeof **groups * nc);
        *gcap = nc;
    }
    *slot = *ng;
    struct tgroup *g = &(*groups)[(*ng)++];
    memset(g, 0, sizeof *g);
    g->name = name;
    return g;
}

static const char *short_lower(uint8_t t) {
    switch (t) {
    case VT_F64:
        return "f64";
    case VT_I64:
        return "i64";
    case VT_U64:
        return "u64";
    case VT_BOOL:
        return "bool";
    case VT_STR:
        return "string";
    default:
        return "unknown";
    }
}

/* Adds a column use to the group, checking it against earlier lines of the request. */
static int group_col(arena *a, struct tgroup *g, hmap *cols, strv key, uint8_t kind, uint8_t type,
                     uint32_t line, err *e) {
    bool ins;
    uint64_t *slot = hmap_upsert(cols, key.p, key.len, &ins);
    if (!ins) {
        col_def *c = &g->cols[*slot];
        if (c->kind != kind || (kind == CK_FIELD && c->type != type)) {
            return err_set(e, 422, EC_WRITE,
                           "line to batch error: Expected %s column: line %u: column '%.*s' of "
                           "table '%.*s' is %s here but %s on line %u",
                           c->kind == CK_TAG ? "tag" : short_lower(c->type), line, (int)key.len,
                           key.p, (int)g->name.len, g->name.p,
                           kind == CK_TAG ? "a tag" : short_lower(type),
                           c->kind == CK_TAG ? "a tag" : short_lower(c->type), g->col_line[*slot]);
        }
        return 0;
    }
    if (g->ncols == g->colcap) {
        size_t nc = g->colcap ? g->colcap * 2 : 16;
        g->cols = arena_realloc(a, g->cols, sizeof *g->cols * g->colcap, sizeof *g->cols * nc);
        g->col_line = arena_realloc(a, g->col_line, sizeof *g->col_line * g->colcap,
                                    sizeof *g->col_line * nc);
        g->colcap = nc;
    }
    *slot = g->ncols;
    g->col_line[g->ncols] = line;
    g->cols[g->ncols++] = (col_def){key.p, key.len, kind, type, 0, line, 0};
    return 0;
}

/* ts (in request units of prec_ns nanoseconds) → database units; false on overflow. */
/* A value for a GEOMETRY column must be WKT of the column's sub_type: checked before anything of
 * the request is written, so a bad row fails the whole request and loses nothing acknowledged. */
static int geo_check(strv s, uint8_t want, err *e) {
    char *msg = NULL;
    if (gis_check_value(s.p, s.len, (enum gis_type)want, &msg) == 0) return 0;
    err_set(e, 422, EC_WRITE, "%s", msg);
    free(msg);
    return -1;
}

static bool convert_ts(int64_t ts, int64_t prec_ns, int64_t db_unit_ns, int64_t *out) {
    if (prec_ns == db_unit_ns) {
        *out = ts;
        return true;
    }
    if (prec_ns > db_unit_ns) {
        int64_t mul = prec_ns / db_unit_ns;
        if (__builtin_mul_overflow(ts, mul, out)) return false;
        return true;
    }
    int64_t div = db_unit_ns / prec_ns;
    int64_t q = ts / div;
    if (ts % div != 0 && ts < 0) q--;
    *out = q;
    return true;
}

/* A tag of a point: its column id and its index in the point. */
struct tag_ref {
    uint32_t id, j;
};

static int cmp_tag_ref(const void *a, const void *b) {
    uint32_t x = ((const struct tag_ref *)a)->id, y = ((const struct tag_ref *)b)->id;
    return (x > y) - (x < y);
}

/* Insertion sort for the usual handful of tags; qsort keeps a line with very many tags
 * O(n log n). */
static void sort_tag_refs(struct tag_ref *t, uint32_t n) {
    if (n > 16) {
        qsort(t, n, sizeof *t, cmp_tag_ref);
        return;
    }
    for (uint32_t i = 1; i < n; i++)
        for (uint32_t m = i; m > 0 && t[m - 1].id > t[m].id; m--) {
            struct tag_ref tmp = t[m];
            t[m] = t[m - 1];
            t[m - 1] = tmp;
        }
}

struct sgroup {
    size_t *pts;
    size_t n, cap;
    uint32_t key_off, key_len; /* in the keys buffer */
};

void ingest_begin(ingest_req *r, arena *ra) {
    *r = (ingest_req){.w = wrec_new(ra), .now_ns = time_now_ns()};
}

int ingest_commit(engine *eng, ingest_req *r, err *e) {
    return r->points ? engine_write(eng, r->db_id, r->w, e) : 0;
}

int ingest_write(catalog *cat, engine *eng, const char *tenant, const char *db,
                 int64_t precision_ns, point_batch *pb, arena *a, err *e) {
    ingest_req r;
    ingest_begin(&r, a);
    if (ingest_add(cat, tenant, db, precision_ns, pb, a, &r, e) < 0) return -1;
    return ingest_commit(eng, &r, e);
}

int ingest_add(catalog *cat, const char *tenant, const char *db, int64_t precision_ns,
               point_batch *pb, arena *a, ingest_req *r, err *e) {
    meta_db_info info;
    if (catalog_get_db(cat, tenant, db, &info, e) < 0) return -1;
    r->db_id = info.id;
    if (pb->n == 0) return 0;
    int64_t db_unit_ns = 1000000000 / tunit_per_sec((enum tunit)info.opts.precision);
    int64_t now_ns = r->now_ns;
    int64_t now_db = now_ns / db_unit_ns;
    int64_t oldest = INT64_MIN;
    if (info.opts.ttl_ns > 0) oldest = (now_ns - info.opts.ttl_ns) / db_unit_ns;

    int rc = -1;
    hmap *byname = hmap_new(8);
    hmap *colmap = NULL, *sermap = NULL;
    struct tgroup *groups = NULL;
    size_t ng = 0, gcap = 0;
    buf key, keys;
    buf_init(&key);
    buf_init(&keys);

    /* 1. Group points by table and collect each table's columns. */
    for (size_t i = 0; i < pb->n; i++) {
        point *p = &pb->pts[i];
        struct tgroup *g = group_for(a, byname, &groups, &ng, &gcap, p->table);
        if (g->npts == g->cap) {
            size_t nc = g->cap ? g->cap * 2 : 64;
            g->pts = arena_realloc(a, g->pts, sizeof *g->pts * g->cap, sizeof *g->pts * nc);
            g->cap = nc;
        }
        g->pts[g->npts++] = i;
    }
    for (size_t gi = 0; gi < ng; gi++) {
        struct tgroup *g = &groups[gi];
        colmap = hmap_new(32);
        /* Points of one table usually share their layout: skip re-checking a repeat. */
        const point *prev = NULL;
        for (size_t k = 0; k < g->npts; k++) {
            point *p = &pb->pts[g->pts[k]];
            bool same = prev && prev->ntags == p->ntags && prev->nfields == p->nfields;
            for (uint32_t t = 0; same && t < p->ntags; t++)
                same = prev->tags[t].key.len == p->tags[t].key.len &&
                       !memcmp(prev->tags[t].key.p, p->tags[t].key.p, p->tags[t].key.len);
            for (uint32_t f = 0; same && f < p->nfields; f++)
                same = prev->fields[f].type == p->fields[f].type &&
                       prev->fields[f].key.len == p->fields[f].key.len &&
                       !memcmp(prev->fields[f].key.p, p->fields[f].key.p, p->fields[f].key.len);
            if (same) continue;
            for (uint32_t t = 0; t < p->ntags; t++)
                if (group_col(a, g, colmap, p->tags[t].key, CK_TAG, VT_STR, p->line, e) < 0)
                    goto out;
            for (uint32_t f = 0; f < p->nfields; f++)
                if (group_col(a, g, colmap, p->fields[f].key, CK_FIELD, p->fields[f].type, p->line,
                              e) < 0)
                    goto out;
            prev = p;
        }
        hmap_free(colmap);
        colmap = NULL;
    }
    /* The schema step for every table at once: one catalog change however many are new. */
    table_cols *tabs = arena_alloc(a, sizeof *tabs * ng);
    meta_table **vers = arena_calloc(a, sizeof *vers * ng);
    for (size_t gi = 0; gi < ng; gi++)
        tabs[gi] =
            (table_cols){groups[gi].name.p, groups[gi].name.len, groups[gi].cols, groups[gi].ncols};
    if (catalog_ensure_tables(cat, tenant, db, tabs, ng, vers, e) < 0) goto out;
    for (size_t gi = 0; gi < ng; gi++) groups[gi].t = vers[gi];

    /* 2. Encode rows grouped by series. */
    wrec *w = r->w;
    for (size_t gi = 0; gi < ng; gi++) {
        struct tgroup *g = &groups[gi];
        meta_table *t = g->t;
        wrec_table(w, t->id);
        sermap = hmap_new(64);
        struct sgroup *sg = NULL;
        size_t nsg = 0, sgcap = 0;
        buf_reset(&keys);
        /* Per-point scratch, sized by the widest point rather than the table. */
        uint32_t maxtags = 0, maxfields = 0;
        for (size_t k = 0; k < g->npts; k++) {
            const point *p = &pb->pts[g->pts[k]];
            if (p->ntags > maxtags) maxtags = p->ntags;
            if (p->nfields > maxfields) maxfields = p->nfields;
        }
        struct tag_ref *tags = arena_alloc(a, sizeof *tags * (maxtags + 1));
        uint32_t *fids = arena_alloc(a, sizeof *fids * (maxfields + 1));
        /* the GEOMETRY sub_type of each field's column, when the table has any */
        uint8_t *geo = t->ngeo ? arena_calloc(a, maxfields + 1) : NULL;
        for (size_t k = 0; k < g->npts; k++) {
            point *p = &pb->pts[g->pts[k]];
            /* Tag column ids, then the tags sorted by id. */
            for (uint32_t j = 0; j < p->ntags; j++) {
                int ci = meta_table_col(t, p->tags[j].key.p, p->tags[j].key.len);
                tags[j] = (struct tag_ref){t->cols[ci].id, j};
            }
            sort_tag_refs(tags, p->ntags);
            series_key_begin(&key, p->ntags);
            for (uint32_t j = 0; j < p->ntags; j++)
                series_key_tag(&key, tags[j].id, p->tags[tags[j].j].val.p,
                               p->tags[tags[j].j].val.len);
            bool ins;
            uint64_t *slot = hmap_upsert(sermap, key.p, key.len, &ins);
            if (ins) {
                if (nsg == sgcap) {
                    size_t nc = sgcap ? sgcap * 2 : 64;
                    sg = arena_realloc(a, sg, sizeof *sg * sgcap, sizeof *sg * nc);
                    sgcap = nc;
                }
                *slot = nsg;
                sg[nsg] = (struct sgroup){NULL, 0, 0, (uint32_t)keys.len, (uint32_t)key.len};
                buf_append(&keys, key.p, key.len);
                nsg++;
            }
            struct sgroup *s = &sg[*slot];
            if (s->n == s->cap) {
                size_t nc = s->cap ? s->cap * 2 : 8;
                s->pts = arena_realloc(a, s->pts, sizeof *s->pts * s->cap, sizeof *s->pts * nc);
                s->cap = nc;
            }
            s->pts[s->n++] = g->pts[k];
        }
        hmap_free(sermap);
        sermap = NULL;
        for (size_t si = 0; si < nsg; si++) {
            wrec_series(w, keys.p + sg[si].key_off, sg[si].key_len);
            const point *prev = NULL;
            for (size_t k = 0; k < sg[si].n; k++) {
                point *p = &pb->pts[sg[si].pts[k]];
                int64_t ts;
                if (p->has_ts) {
                    if (!convert_ts(p->ts, precision_ns, db_unit_ns, &ts)) {
                        err_set(e, 422, EC_WRITE, "timestamp overflow: line %u", p->line);
                        goto out;
                    }
                } else {
                    ts = now_db;
                }
                if (ts < oldest) {
                    err_set(e, 422, EC_EXPIRED,
                            "Operation not support: create expired bucket: line %u is older "
                            "than the database's TTL",
                            p->line);
                    goto out;
                }
                bool same = prev && prev->nfields == p->nfields;
                for (uint32_t f = 0; same && f < p->nfields; f++)
                    same = prev->fields[f].key.len == p->fields[f].key.len &&
                           !memcmp(prev->fields[f].key.p, p->fields[f].key.p, p->fields[f].key.len);
                if (!same) {
                    for (uint32_t f = 0; f < p->nfields; f++) {
                        const meta_column *mc =
                            &t->cols[meta_table_col(t, p->fields[f].key.p, p->fields[f].key.len)];
                        fids[f] = mc->id;
                        if (geo) geo[f] = mc->geo;
                    }
                }
                prev = p;
                wrec_row(w, ts);
                for (uint32_t f = 0; f < p->nfields; f++) {
                    const pt_field *fd = &p->fields[f];
                    switch (fd->type) {
                    case VT_F64:
                        wrec_f64(w, fids[f], fd->v.f);
                        break;
                    case VT_I64:
                        wrec_i64(w, fids[f], fd->v.i);
                        break;
                    case VT_U64:
                        wrec_u64(w, fids[f], fd->v.u);
                        break;
                    case VT_BOOL:
                        wrec_bool(w, fids[f], fd->v.b);
                        break;
                    case VT_STR:
                        if (geo && geo[f] && geo_check(fd->v.s, geo[f], e) < 0) goto out;
                        wrec_str(w, fids[f], fd->v.s.p, fd->v.s.len);
                        break;
                    }
                }
            }
        }
    }
    r->points += pb->n;
    rc = 0;
out:
    for (size_t gi = 0; gi < ng; gi++)
        if (groups[gi].t) meta_table_release(groups[gi].t);
    hmap_free(byname);
    hmap_free(colmap);
    hmap_free(sermap);
    buf_free(&key);
    buf_free(&keys);
    return rc;
}
