/* Storage's event counters, for /metrics: bumped where the events happen (wal.c, vnode.c) and
 * read by engine_counters_get (engine.h). Process-wide rather than per engine: a server runs
 * one engine, and a counter a handle would have to reach through the WAL and vnode layers is
 * not worth the plumbing. Relaxed atomics: a scrape wants totals, not an order between them.
 * Storage-internal; nothing outside src/storage/ includes this. */
#ifndef STRATA_STORAGE_COUNTERS_H
#define STRATA_STORAGE_COUNTERS_H

#include <stdint.h>

enum storage_counter {
    SC_WAL_SYNCS,      /* fsyncs of WAL files and directories */
    SC_WAL_BYTES,      /* bytes appended to WALs, record headers included */
    SC_FLUSHES,        /* caches written out as column files */
    SC_FLUSH_BYTES,    /* bytes of the files flushes wrote */
    SC_FLUSH_MICROS,   /* time spent flushing */
    SC_COMPACTIONS,    /* merges of files into one */
    SC_COMPACT_IN,     /* bytes of the files merged */
    SC_COMPACT_OUT,    /* bytes of the files merges wrote */
    SC_COMPACT_MICROS, /* time spent merging */
    SC__COUNT
};

void storage_count(enum storage_counter c, uint64_t n);
uint64_t storage_counter_get(enum storage_counter c);

#endif
