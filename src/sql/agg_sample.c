/* sample(x, n): CnosDB's random sample of up to n of a group's non-NULL values, as a list.
 *
 * State: a reservoir (st->items, up to n values) and the number of values seen (st->count).
 * Each value seen k-th replaces a random slot with probability n / k (Vitter's algorithm R),
 * so the reservoir is a uniform sample of everything seen, in memory of n values whatever the
 * group's size. Parallel parts merge by drawing, slot by slot, from either part's reservoir
 * with the odds of its remaining population, which keeps the union's sample uniform. The final
 * list is shuffled: a group smaller than n comes out whole, in random order, as CnosDB's. */
#include "sql/ops_int.h"

#include "util/vlist.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

static _Thread_local uint64_t rng_state;

/* A uniform integer in [0, bound) (bound > 0), xorshift64* per thread, seeded from the clock
 * and the thread: samples differ from one query to the next, as they should. */
static uint64_t rnd_below(uint64_t bound) {
    if (!rng_state) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        rng_state =
            ((uint64_t)ts.tv_nsec << 20 ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&rng_state) |
            1;
    }
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (uint64_t)(((unsigned __int128)(x * 0x2545F4914F6CDD1DULL) * bound) >> 64);
}

static struct agg_items *reservoir(arena *a, struct agg_state *st, uint32_t n) {
    if (!st->items) {
        st->items = arena_calloc(a, sizeof *st->items);
        st->items->cap = n;
        st->items->v = arena_alloc(a, sizeof *st->items->v * n);
    }
    return st->items;
}

/* One more value seen: kept while there is room, then in a random slot with odds n / seen. */
static void offer(arena *a, struct agg_items *it, uint32_t n, int64_t seen, const value *v) {
    if (it->n < n) {
        it->v[it->n++] = agg_value_own(a, *v);
        return;
    }
    uint64_t j = rnd_below((uint64_t)seen);
    if (j < n) it->v[j] = agg_value_own(a, *v);
}

void agg_sample_add(arena *a, const agg_spec *sp, struct agg_state *st, const vec *x, uint32_t i) {
    uint32_t n = (uint32_t)sp->param2;
    value v;
    vec_get(x, i, &v);
    offer(a, reservoir(a, st, n), n, st->count, &v); /* the caller has counted it */
}

void agg_sample_merge(arena *a, const agg_spec *sp, struct agg_state *dst,
                      const struct agg_state *src) {
    if (!src->count) return;
    uint32_t n = (uint32_t)sp->param2;
    if (!dst->count) {
        struct agg_items *it = reservoir(a, dst, n);
        for (uint32_t k = 0; k < src->items->n; k++) it->v[k] = agg_value_own(a, src->items->v[k]);
        it->n = src->items->n;
        dst->count = src->count;
        return;
    }
    /* the two reservoirs as pools drawn without replacement, each draw from a part with the
     * odds of the population it still stands for */
    struct agg_items *d = dst->items;
    const struct agg_items *s = src->items;
    value *pa = arena_alloc(a, sizeof *pa * (d->n + 1)),
          *pb = arena_alloc(a, sizeof *pb * (s->n + 1));
    memcpy(pa, d->v, sizeof *pa * d->n);
    for (uint32_t k = 0; k < s->n; k++) pb[k] = agg_value_own(a, s->v[k]);
    uint32_t na = d->n, nb = s->n;
    int64_t ca = dst->count, cb = src->count;
    uint32_t m = 0;
    while (m < n && (na || nb)) {
        bool from_a = nb == 0 || (na && rnd_below((uint64_t)(ca + cb)) < (uint64_t)ca);
        value *pool = from_a ? pa : pb;
        uint32_t *np = from_a ? &na : &nb;
        uint32_t j = (uint32_t)rnd_below(*np);
        d->v[m++] = pool[j];
        pool[j] = pool[--*np];
        if (from_a)
            ca--;
        else
            cb--;
    }
    d->n = m;
    dst->count += src->count;
}

void agg_sample_final(const agg_spec *sp, const struct agg_state *st, vec *out, uint32_t r,
                      arena *a) {
    const struct agg_items *it = st->items;
    uint32_t n = it ? it->n : 0;
    value *vals = arena_alloc(a, sizeof *vals * (n + 1));
    if (n) memcpy(vals, it->v, sizeof *vals * n);
    for (uint32_t k = n; k > 1; k--) { /* Fisher-Yates */
        uint32_t j = (uint32_t)rnd_below(k);
        value t = vals[k - 1];
        vals[k - 1] = vals[j];
        vals[j] = t;
    }
    out->d.s[r] = vlist_make(a, vlist_etype(sp->unit), vals, n);
}
