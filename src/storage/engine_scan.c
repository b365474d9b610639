/* The storage engine's scan cursor: selects a table's series through the index, pins the
 * versions of the vnodes overlapping the range, and walks series → vnode → piece → chunk,
 * decoding a lone file chunk straight into a batch and merging only where sources overlap.
 * See engine.h for the contract. */
#include "storage/engine_int.h"

#include "util/vec.h"

#include <string.h>

struct scan {
    struct sdb *d;
    scan_spec spec;
    arena *a;
    /* The pieces of the current (series, vnode) and the file entries they decode: emptied for
     * the next, so a scan of a million series does not keep a million of them. */
    arena *pa;
    uint32_t *sids;
    strv **sid_tags; /* per selected series: values of spec.tag_ids */
    size_t nsids;
    vversion **vers; /* versions of the vnodes overlapping the range, in time order */
    size_t nvers;
    tomb_set tombs;
    /* cursor: series si, vnode version vi, piece pi, chunk ci */
    size_t si, vi;
    /* The cursor stops at unit (series, vnode) number uend (si * nvers + vi): a part of a
     * split scan covers [its start, uend); the whole scan has SIZE_MAX. */
    size_t uend;
    bool part;   /* a part: shares the series, versions and tombstones of the scan it came from */
    bool newest; /* engine_scan_newest: each series' newest rows only */
    arena *na;   /* newest: the chunks of the current series, decoded */
    vpiece *pieces;
    size_t npieces, pi;
    const cf_reader *cf; /* file of the current piece */
    uint32_t ci;
    /* The pieces of the first unit (series 0, vnode 0), taken into pa by engine_scan_estimate
     * and used by the first read: a small query's estimate and its read decode the same file
     * entries, and that decoding is a good part of its work. memo_np < 0: none. */
    vpiece *memo;
    int memo_np;
};

static bool scan_interrupted(scan *s, err *e) {
    return s->spec.check && s->spec.check(s->spec.check_ctx, e) < 0;
}

/* Keeps in a (increasing) the ids also in b (increasing); returns how many. */
static size_t sids_intersect(uint32_t *a, size_t na, const uint32_t *b, size_t nb) {
    size_t i = 0, j = 0, w = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            i++;
        else if (a[i] > b[j])
            j++;
        else {
            a[w++] = a[i];
            i++;
            j++;
        }
    }
    return w;
}

/* The ids in a or b (each increasing), increasing and once each, into out (na + nb of room);
 * returns how many. */
static size_t sids_union(const uint32_t *a, size_t na, const uint32_t *b, size_t nb,
                         uint32_t *out) {
    size_t i = 0, j = 0, w = 0;
    while (i < na && j < nb) {
        if (a[i] < b[j])
            out[w++] = a[i++];
        else if (a[i] > b[j])
            out[w++] = b[j++];
        else
            out[w++] = a[i++], j++;
    }
    while (i < na) out[w++] = a[i++];
    while (j < nb) out[w++] = b[j++];
    return w;
}

/* The series conjunct k of the spec's equalities allows, increasing: the union of its values'
 * index entries. */
static size_t eq_candidates(sindex *x, const scan_spec *sp, uint32_t k, arena *a, uint32_t **out) {
    uint32_t tag = sp->eq_tag_ids[k], lo = sp->eq_off[k], hi = sp->eq_off[k + 1];
    size_t n = 0;
    *out = NULL;
    if (lo < hi)
        n = sindex_tag_eq(x, sp->table_id, tag, sp->eq_vals[lo].p, sp->eq_vals[lo].len, a, out);
    for (uint32_t v = lo + 1; v < hi; v++) {
        uint32_t *more;
        size_t m =
            sindex_tag_eq(x, sp->table_id, tag, sp->eq_vals[v].p, sp->eq_vals[v].len, a, &more);
        if (!m) continue;
        uint32_t *u = arena_alloc(a, sizeof *u * (n + m));
        n = sids_union(*out, n, more, m, u);
        *out = u;
    }
    return n;
}

int engine_scan_open(engine *g, const scan_spec *sp, arena *a, scan **out, err *e) {
    struct sdb *d = sdb_get(g, sp->db_id);
    if (!d)
        return err_set(e, 500, EC_STORAGE, "storage for database %llu is not open",
                       (unsigned long long)sp->db_id);
    scan *s = arena_calloc(a, sizeof *s);
    s->d = d;
    s->spec = *sp;
    s->a = a;
    s->pa = arena_new(0);
    s->memo_np = -1;
    if (!s->spec.batch_rows) s->spec.batch_rows = 4096;
    uint32_t *all;
    size_t cnt;
    if (sp->neq) {
        cnt = eq_candidates(d->idx, sp, 0, a, &all);
        for (uint32_t k = 1; k < sp->neq && cnt; k++) {
            uint32_t *other;
            size_t on = eq_candidates(d->idx, sp, k, a, &other);
            cnt = sids_intersect(all, cnt, other, on);
        }
    } else {
        cnt = sindex_table_sids(d->idx, sp->table_id, a, &all);
    }
    s->sids = arena_alloc(a, sizeof *s->sids * (cnt + 1));
    s->sid_tags = arena_alloc(a, sizeof *s->sid_tags * (cnt + 1));
    /* Tag values are read into a scratch arena and kept only for the series the predicate
     * accepts: a selective filter over a million series holds what it selects, not them all. */
    strv *tags = arena_alloc(a, sizeof *tags * (sp->ntags + 1));
    for (size_t i = 0; i < cnt; i++) {
        if ((i & 255) == 255 && scan_interrupted(s, e)) {
            engine_scan_close(s);
            return -1;
        }
        arena_reset(s->pa);
        sindex_series_tags(d->idx, all[i], sp->ntags, sp->tag_ids, s->pa, tags);
        if (sp->series_pred && !sp->series_pred(sp->pred_ctx, tags)) continue;
        strv *keep = arena_alloc(a, sizeof *keep * (sp->ntags + 1));
        for (uint32_t k = 0; k < sp->ntags; k++)
            keep[k] =
                tags[k].p ? (strv){arena_strndup(a, tags[k].p, tags[k].len), tags[k].len} : tags[k];
        s->sid_tags[s->nsids] = keep;
        s->sids[s->nsids++] = all[i];
    }
    pthread_rwlock_rdlock(&d->rw);
    s->vers = arena_alloc(a, sizeof *s->vers * (d->nvnodes + 1));
    for (size_t i = 0; i < d->nvnodes; i++)
        if (vnode_tmax(d->vnodes[i]) >= sp->tmin && vnode_tmin(d->vnodes[i]) <= sp->tmax)
            s->vers[s->nvers++] = vnode_acquire(d->vnodes[i]);
    pthread_rwlock_unlock(&d->rw);
    s->tombs = sdb_tombs_snapshot(d, sp->table_id, a);
    s->uend = SIZE_MAX;
    *out = s;
    return 0;
}

uint32_t engine_scan_split(scan *s, uint32_t n, arena *const *as, void *const *check_ctx,
                           scan **parts) {
    /* a newest-rows scan reads a series' vnodes together: it is shared out by series */
    if (s->part || s->si || s->vi || s->npieces || !s->nvers) return 0; /* read, or empty */
    size_t per = s->newest ? s->nvers : 1, units = s->nsids * s->nvers / per;
    if (n > units) n = (uint32_t)units;
    if (n < 2) return 0;
    for (uint32_t i = 0; i < n; i++) {
        scan *p = arena_alloc(as[i], sizeof *p);
        *p = *s;
        p->part = true;
        p->pa = arena_new(0);
        p->memo_np = -1;
        if (check_ctx) p->spec.check_ctx = check_ctx[i];
        size_t ub = units * i / n * per;
        p->si = ub / s->nvers;
        p->vi = ub % s->nvers;
        p->uend = units * (i + 1) / n * per;
        parts[i] = p;
    }
    return n;
}

/* The frame of an output batch of nrows rows: time, tags, fields, all still empty. */
static void batch_frame(scan *s, arena *ba, uint32_t nrows, batch *b) {
    const scan_spec *sp = &s->spec;
    uint32_t ncols = 1 + sp->ntags + sp->nfields;
    b->ncols = ncols;
    b->nrows = nrows;
    b->cols = arena_calloc(ba, sizeof *b->cols * ncols);
    b->cols[0].type = VT_TS;
    b->cols[0].unit = sp->precision;
    for (uint32_t c = 0; c < ncols; c++) b->cols[c].len = nrows;
    for (uint32_t k = 0; k < sp->ntags; k++) b->cols[1 + k].type = VT_STR;
    for (uint32_t k = 0; k < sp->nfields; k++) b->cols[1 + sp->ntags + k].type = sp->field_types[k];
}

/* The tag columns of b (b->nrows rows of series index si): each a run of its one value. */
static void fill_tags(scan *s, arena *ba, size_t si, batch *b) {
    const scan_spec *sp = &s->spec;
    uint32_t nrows = b->nrows;
    strv *tags = s->sid_tags[si];
    for (uint32_t k = 0; k < sp->ntags; k++) {
        vec *v = &b->cols[1 + k];
        v->d.s = arena_alloc(ba, sizeof(strv) * (nrows ? nrows : 1));
        strv t = tags[k].p ? tags[k] : (strv){"", 0};
        for (uint32_t i = 0; i < nrows; i++) v->d.s[i] = t;
        if (!tags[k].p) v->valid = arena_calloc(ba, bitmap_bytes(nrows) + 1);
    }
}

/* Applies spec.keep to b, whose time and keep_fields columns hold values: the kept rows'
 * indexes in *sel; returns how many (-1 on error). */
static int keep_rows(scan *s, arena *ba, batch *b, uint32_t **sel, err *e) {
    *sel = arena_alloc(ba, sizeof **sel * (b->nrows ? b->nrows : 1));
    return s->spec.keep(s->spec.keep_ctx, b, ba, *sel, e);
}

/* Keeps rows sel[0..m) of b's time and field columns (the tags are not built yet). */
static void take_rows(scan *s, arena *ba, const uint32_t *sel, uint32_t m, batch *b) {
    const scan_spec *sp = &s->spec;
    for (uint32_t c = 0; c < b->ncols; c++) {
        if (c >= 1 && c <= sp->ntags) continue;
        vec all = b->cols[c];
        vec_take(ba, &all, sel, m, &b->cols[c]);
    }
    for (uint32_t i = 0; i < b->ncols; i++) b->cols[i].len = m;
    b->nrows = m;
}

/* One chunk of the single-file fast path, decoded straight into the batch: the time page first,
 * then of each field only the rows in the time range (a query over the first hour of a chunk of
 * ten stops decoding there). */
static int scan_chunk(scan *s, arena *ba, const cf_chunk *ch, batch *b, err *e) {
    const scan_spec *sp = &s->spec;
    int64_t *room = arena_alloc(ba, sizeof *room * ch->nrows), *ts = room;
    bool inside = ch->tmin >= sp->tmin && ch->tmax <= sp->tmax;
    uint32_t lo = 0, hi = ch->nrows;
    if ((sp->need_time || !inside) &&
        cf_read_ts_window(s->cf, ch, sp->tmin, sp->tmax, room, &ts, &lo, &hi, e) < 0)
        return -1;
    batch_frame(s, ba, hi - lo, b);
    if (!b->nrows) return 1;
    b->cols[0].d.i64 = ts;
    uint32_t *sel = NULL;
    int kept = -1; /* every row */
    if (sp->keep) {
        /* the filter's fields first: a chunk none of whose rows pass decodes nothing else */
        for (uint32_t k = 0; k < sp->nfields; k++)
            if (sp->keep_fields[k] &&
                cf_read_col_range(s->cf, ch, sp->field_ids[k], sp->field_types[k], lo, hi, ba,
                                  &b->cols[1 + sp->ntags + k], e) < 0)
                return -1;
        kept = keep_rows(s, ba, b, &sel, e);
        if (kept < 0) return -1;
        if (kept == 0) {
            b->nrows = 0;
            return 1;
        }
    }
    for (uint32_t k = 0; k < sp->nfields; k++) {
        if (sp->keep && sp->keep_fields[k]) continue;
        vec *v = &b->cols[1 + sp->ntags + k];
        if (cf_read_col_range(s->cf, ch, sp->field_ids[k], sp->field_types[k], lo, hi, ba, v, e) <
            0)
            return -1;
    }
    if (kept >= 0 && (uint32_t)kept < b->nrows) take_rows(s, ba, sel, (uint32_t)kept, b);
    fill_tags(s, ba, s->si, b);
    return 1;
}

/* Rows from a cache piece or a merge, as one batch: 1, or 0 when the filter keeps none. */
static int rows_batch(scan *s, arena *ba, size_t si, mc_rows *r, batch *b, err *e) {
    const scan_spec *sp = &s->spec;
    batch_frame(s, ba, r->n, b);
    b->cols[0].d.i64 = r->ts;
    for (uint32_t k = 0; k < sp->nfields; k++) b->cols[1 + sp->ntags + k] = r->cols[k];
    if (sp->keep) {
        uint32_t *sel;
        int kept = keep_rows(s, ba, b, &sel, e);
        if (kept <= 0) return kept;
        if ((uint32_t)kept < b->nrows) take_rows(s, ba, sel, (uint32_t)kept, b);
    }
    fill_tags(s, ba, si, b);
    return 1;
}

/* ---- newest rows per series ---- */

void engine_scan_newest(scan *s) {
    s->newest = true;
}

/* The rows a newest-rows scan keeps of one series: taken newest first, at most one per field
 * plus the newest row, so nfields + 1 at most. */
struct newest {
    const scan_spec *sp;
    bool *found; /* per field: its newest non-NULL value is taken */
    uint32_t nfound;
    bool any;
    uint32_t n;
    int64_t *ts;
    value **vals; /* per kept row: the fields' values (null flag per value) */
};

static bool newest_done(const struct newest *nw) {
    return nw->any && nw->nfound == nw->sp->nfields;
}

/* Looks at rows n-1 down to 0 of ts/cols (time order, some maybe outside the range), keeping
 * a row that is the newest of all or the newest non-NULL of a field not yet found. */
static void newest_take(struct newest *nw, arena *ba, const int64_t *ts, const vec *cols,
                        uint32_t n) {
    const scan_spec *sp = nw->sp;
    for (uint32_t i = n; i-- > 0 && !newest_done(nw);) {
        if (ts[i] < sp->tmin || ts[i] > sp->tmax) continue;
        bool keep = !nw->any;
        for (uint32_t k = 0; k < sp->nfields; k++)
            if (!nw->found[k] && vec_is_valid(&cols[k], i)) {
                nw->found[k] = true;
                nw->nfound++;
                keep = true;
            }
        if (!keep) continue;
        nw->any = true;
        value *row = arena_alloc(ba, sizeof *row * (sp->nfields + 1));
        for (uint32_t k = 0; k < sp->nfields; k++) {
            vec_get(&cols[k], i, &row[k]);
            row[k].null = !vec_is_valid(&cols[k], i);
            if (!row[k].null && row[k].type == VT_STR) /* the decoded chunk goes */
                row[k].v.s =
                    (strv){arena_strndup(ba, row[k].v.s.p, row[k].v.s.len), row[k].v.s.len};
        }
        nw->ts[nw->n] = ts[i];
        nw->vals[nw->n++] = row;
    }
}

/* A chunk's newest rows from the file's index alone (files of version 2 on): its newest row's
 * time is the chunk's tmax, and each numeric field's newest value is its page's last value;
 * the time page is decoded only when some field's last value sits on an earlier row. The rows
 * handed to newest_take carry only the values they are kept for (the others NULL), which is
 * all a lastpoint aggregate reads of them. 1 = taken; 0 = the chunk must be decoded (a field
 * without a last value: not numeric, or an older file; or the chunk is not wholly in range). */
static int newest_from_stats(scan *s, struct newest *nw, const cf_reader *f, const cf_chunk *ch,
                             arena *ba, err *e) {
    const scan_spec *sp = &s->spec;
    if (ch->tmin < sp->tmin || ch->tmax > sp->tmax) return 0;
    uint32_t nf = sp->nfields, last = ch->nrows - 1;
    const cf_colref **refs = arena_calloc(s->na, sizeof *refs * (nf + 1));
    uint32_t *rows = arena_alloc(s->na, sizeof *rows * (nf + 2));
    uint32_t m = 0;
    if (!nw->any) rows[m++] = last;
    for (uint32_t k = 0; k < nf; k++) {
        if (nw->found[k]) continue;
        refs[k] = cf_chunk_col(ch, sp->field_ids[k], sp->field_types[k]);
        if (!refs[k]) continue; /* all NULL in this chunk */
        if (!refs[k]->st.has_last) return 0;
        rows[m++] = refs[k]->st.last_row;
    }
    if (m == 0) return 1;
    /* the rows in time order, once each */
    for (uint32_t i = 1; i < m; i++)
        for (uint32_t j = i; j > 0 && rows[j - 1] > rows[j]; j--) {
            uint32_t t = rows[j];
            rows[j] = rows[j - 1];
            rows[j - 1] = t;
        }
    uint32_t u = 0;
    for (uint32_t i = 0; i < m; i++)
        if (!u || rows[u - 1] != rows[i]) rows[u++] = rows[i];
    m = u;
    int64_t *ts = arena_alloc(s->na, sizeof *ts * m);
    if (rows[0] != last) {
        int64_t *all = arena_alloc(s->na, sizeof *all * ch->nrows);
        if (cf_read_ts(f, ch, all, e) < 0) return -1;
        for (uint32_t i = 0; i < m; i++) ts[i] = all[rows[i]];
    } else {
        ts[0] = ch->tmax;
    }
    vec *cols = arena_alloc(s->na, sizeof *cols * (nf + 1));
    for (uint32_t k = 0; k < nf; k++) {
        vec_alloc_null(s->na, sp->field_types[k], 0, m, &cols[k]);
        if (!refs[k]) continue;
        for (uint32_t i = 0; i < m; i++) {
            if (rows[i] != refs[k]->st.last_row) continue;
            bitmap_set(cols[k].valid, i);
            if (sp->field_types[k] == VT_F64)
                cols[k].d.f64[i] = refs[k]->st.last.f;
            else if (sp->field_types[k] == VT_U64)
                cols[k].d.u64[i] = refs[k]->st.last.u;
            else
                cols[k].d.i64[i] = refs[k]->st.last.i;
        }
    }
    newest_take(nw, ba, ts, cols, m);
    return 1;
}

/* One vnode's rows of the series, newest source and chunk first, until every field is found. */
static int newest_vnode(scan *s, struct newest *nw, vversion *vv, arena *ba, err *e) {
    arena *na = s->na;
    const scan_spec *sp = &s->spec;
    uint32_t sid = s->sids[s->si];
    vpiece *pieces;
    arena_reset(s->pa);
    int np = vversion_pieces(vv, sid, sp->tmin, sp->tmax, &s->tombs, s->pa, &pieces);
    if (np < 0) {
        /* Overlapping sources or tombstones: merged rows, newest first, in windows that double
         * from 1/64 of the series' span, so the newest values (usually at the end) cost a
         * small merge, not one of the series' whole history. */
        int64_t lo, hi;
        if (!vversion_span(vv, sid, s->pa, &lo, &hi)) return 0;
        if (lo < sp->tmin) lo = sp->tmin;
        if (hi > sp->tmax) hi = sp->tmax;
        uint64_t w = ((uint64_t)hi - (uint64_t)lo) / 64 + 1;
        while (lo <= hi && !newest_done(nw)) {
            int64_t from = (uint64_t)hi - (uint64_t)lo < w ? lo : (int64_t)((uint64_t)hi - w);
            mc_rows r;
            if (vversion_read(vv, sid, from, hi, sp->nfields, sp->field_ids, sp->field_types,
                              &s->tombs, na, &r, e) < 0)
                return -1;
            newest_take(nw, ba, r.ts, r.cols, r.n);
            if (from == lo) break;
            hi = from - 1;
            w = w > UINT64_MAX / 2 ? UINT64_MAX : w * 2;
        }
        return 0;
    }
    vec *cols = arena_alloc(na, sizeof *cols * (sp->nfields + 1));
    for (int pi = np - 1; pi >= 0 && !newest_done(nw); pi--) {
        vpiece *p = &pieces[pi];
        if (!p->file) {
            mc_rows r;
            int64_t lo = p->lo > sp->tmin ? p->lo : sp->tmin;
            int64_t hi = p->hi < sp->tmax ? p->hi : sp->tmax;
            if (mc_read(p->mem, sid, lo, hi, sp->nfields, sp->field_ids, sp->field_types, na, &r) <
                0)
                return -1;
            newest_take(nw, ba, r.ts, r.cols, r.n);
            continue;
        }
        for (uint32_t ci = p->series->nchunks; ci-- > 0 && !newest_done(nw);) {
            const cf_chunk *ch = &p->series->chunks[ci];
            if (ch->tmax < sp->tmin || ch->tmin > sp->tmax) continue;
            int st = newest_from_stats(s, nw, p->file, ch, ba, e);
            if (st < 0) return -1;
            if (st) continue;
            int64_t *ts = arena_alloc(na, sizeof *ts * ch->nrows);
            if (cf_read_ts(p->file, ch, ts, e) < 0) return -1;
            for (uint32_t k = 0; k < sp->nfields; k++)
                if (cf_read_col(p->file, ch, sp->field_ids[k], sp->field_types[k], na, &cols[k],
                                e) < 0)
                    return -1;
            newest_take(nw, ba, ts, cols, ch->nrows);
        }
    }
    return 0;
}

/* The next series with rows, as one batch of its kept rows in time order. */
static int scan_next_newest(scan *s, arena *ba, batch *b, err *e) {
    const scan_spec *sp = &s->spec;
    if (!s->na) s->na = arena_new(0);
    for (; s->si < s->nsids && s->si * s->nvers < s->uend; s->si++) {
        if ((s->si & 255) == 255 && scan_interrupted(s, e)) return -1;
        arena_reset(s->na);
        struct newest nw = {sp,
                            arena_calloc(ba, sp->nfields + 1),
                            0,
                            false,
                            0,
                            arena_alloc(ba, sizeof(int64_t) * (sp->nfields + 1)),
                            arena_alloc(ba, sizeof(value *) * (sp->nfields + 1))};
        for (size_t vi = s->nvers; vi-- > 0 && !newest_done(&nw);)
            if (newest_vnode(s, &nw, s->vers[vi], ba, e) < 0) return -1;
        if (!nw.n) continue;
        batch_frame(s, ba, nw.n, b);
        fill_tags(s, ba, s->si, b);
        int64_t *ts = arena_alloc(ba, sizeof *ts * nw.n);
        for (uint32_t i = 0; i < nw.n; i++) ts[i] = nw.ts[nw.n - 1 - i];
        b->cols[0].d.i64 = ts;
        for (uint32_t k = 0; k < sp->nfields; k++) {
            vec *v = &b->cols[1 + sp->ntags + k];
            vec_alloc(ba, sp->field_types[k], 0, nw.n, v);
            for (uint32_t i = 0; i < nw.n; i++) {
                const value *x = &nw.vals[nw.n - 1 - i][k];
                if (x->null)
                    vec_set_null(ba, v, i);
                else if (v->type == VT_STR)
                    v->d.s[i] = x->v.s;
                else if (v->type == VT_BOOL)
                    v->d.b[i] = x->v.b;
                else
                    v->d.i64[i] = x->v.i; /* the 8 bytes of any number */
            }
        }
        s->si++;
        return 1;
    }
    return 0;
}

int engine_scan_next(scan *s, arena *ba, batch *b, err *e) {
    const scan_spec *sp = &s->spec;
    if (s->newest) return scan_next_newest(s, ba, b, e);
    for (uint32_t spins = 1;; spins++) {
        if ((spins & 255) == 0 && scan_interrupted(s, e)) return -1;
        /* Continue the pieces of the current (series, vnode). */
        while (s->pi < s->npieces) {
            vpiece *p = &s->pieces[s->pi];
            if (p->file) {
                s->cf = p->file;
                while (s->ci < p->series->nchunks) {
                    const cf_chunk *ch = &p->series->chunks[s->ci++];
                    if (ch->tmax < sp->tmin || ch->tmin > sp->tmax) continue;
                    if (scan_chunk(s, ba, ch, b, e) < 0) return -1;
                    if (b->nrows) return 1;
                }
                s->ci = 0;
                s->pi++;
                continue;
            }
            s->pi++;
            /* Only the range the cache held when the pieces were taken: rows written since
             * (the active cache is shared with writers) could fall in the time of a piece
             * already returned, and would come back twice. An UPDATE rewrites rows it has
             * read while it scans; it must never see them again. */
            mc_rows r;
            int64_t lo = p->lo > sp->tmin ? p->lo : sp->tmin;
            int64_t hi = p->hi < sp->tmax ? p->hi : sp->tmax;
            if (mc_read(p->mem, s->sids[s->si], lo, hi, sp->nfields, sp->field_ids, sp->field_types,
                        ba, &r) < 0)
                return -1;
            int rc = r.n ? rows_batch(s, ba, s->si, &r, b, e) : 0;
            if (rc) return rc;
        }
        if (s->npieces) {
            s->npieces = 0;
            s->pi = 0;
            s->vi++;
        }
        if (s->si >= s->nsids) return 0;
        if (s->si * s->nvers + s->vi >= s->uend) return 0;
        if (s->vi >= s->nvers) {
            s->si++;
            s->vi = 0;
            continue;
        }
        vversion *vv = s->vers[s->vi];
        uint32_t sid = s->sids[s->si];
        vpiece *pieces = s->memo;
        int np = s->memo_np;
        s->memo_np = -1;
        if (np < 0 || s->si || s->vi) {
            arena_reset(s->pa);
            np = vversion_pieces(vv, sid, sp->tmin, sp->tmax, &s->tombs, s->pa, &pieces);
        }
        if (np > 0) {
            s->pieces = pieces;
            s->npieces = (size_t)np;
            s->pi = 0;
            s->ci = 0;
            continue;
        }
        s->vi++;
        if (np == 0) continue;
        /* Overlapping sources or tombstones: merge. */
        mc_rows r;
        if (vversion_read(vv, sid, sp->tmin, sp->tmax, sp->nfields, sp->field_ids, sp->field_types,
                          &s->tombs, ba, &r, e) < 0)
            return -1;
        int rc = r.n ? rows_batch(s, ba, s->si, &r, b, e) : 0;
        if (rc) return rc;
    }
}

/* The rows of a chunk in [tmin, tmax], taking its rows as spread evenly over its time: a
 * chunk holds thousands of rows, and a query of an hour reads a sliver of one. */
static size_t chunk_rows_in(const cf_chunk *ch, int64_t tmin, int64_t tmax) {
    if (ch->tmax < tmin || ch->tmin > tmax) return 0;
    if (ch->tmin >= tmin && ch->tmax <= tmax) return ch->nrows;
    double lo = (double)(ch->tmin > tmin ? ch->tmin : tmin);
    double hi = (double)(ch->tmax < tmax ? ch->tmax : tmax);
    double span = (double)ch->tmax - (double)ch->tmin;
    return 1 + (size_t)((double)ch->nrows * ((hi - lo) / span));
}

size_t engine_scan_estimate(scan *s, size_t cap) {
    const scan_spec *sp = &s->spec;
    /* a lookup costs more than a row: many pairs are a large scan whatever their rows */
    if (s->nsids * s->nvers > cap / 16) return cap + 1;
    if (s->newest) {
        size_t rows = s->nsids * s->nvers * (sp->nfields + 1);
        return rows > cap ? cap + 1 : rows;
    }
    size_t rows = 0;
    arena *a = NULL;
    bool first = !s->part && !s->si && !s->vi && !s->npieces;
    for (size_t si = 0; si < s->nsids && rows <= cap; si++) {
        for (size_t vi = 0; vi < s->nvers && rows <= cap; vi++) {
            vpiece *pieces;
            arena *into = s->pa;
            if (!first) {
                if (!a) a = arena_new(0);
                arena_reset(a);
                into = a;
            } else {
                arena_reset(s->pa);
            }
            int np = vversion_pieces(s->vers[vi], s->sids[si], sp->tmin, sp->tmax, &s->tombs, into,
                                     &pieces);
            if (first) {
                s->memo = pieces;
                s->memo_np = np;
                first = false;
            }
            if (np < 0) {
                rows = cap + 1; /* sources to merge: not worth a closer look */
                break;
            }
            for (int pi = 0; pi < np; pi++) {
                const vpiece *p = &pieces[pi];
                if (p->mem) {
                    rows += mc_series_rows(p->mem, s->sids[si]);
                    continue;
                }
                for (uint32_t ci = 0; ci < p->series->nchunks; ci++)
                    rows += chunk_rows_in(&p->series->chunks[ci], sp->tmin, sp->tmax);
            }
        }
    }
    arena_free(a);
    return rows > cap ? cap + 1 : rows;
}

void engine_scan_close(scan *s) {
    if (!s || !s->d) return;
    arena_free(s->pa);
    s->pa = NULL;
    arena_free(s->na);
    s->na = NULL;
    if (s->part) {
        s->d = NULL;
        return;
    }
    for (size_t i = 0; i < s->nvers; i++) vversion_release(s->vers[i]);
    s->nvers = 0;
    sdb_release(s->d);
    s->d = NULL;
}
