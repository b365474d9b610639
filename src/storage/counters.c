/* Storage's event counters: see counters.h. */
#include "storage/counters.h"

#include "storage/engine.h"

#include <stdatomic.h>

static _Atomic uint64_t counters[SC__COUNT];

void storage_count(enum storage_counter c, uint64_t n) {
    atomic_fetch_add_explicit(&counters[c], n, memory_order_relaxed);
}

uint64_t storage_counter_get(enum storage_counter c) {
    return atomic_load_explicit(&counters[c], memory_order_relaxed);
}

void engine_counters_get(engine_counters *out) {
    *out = (engine_counters){
        .wal_syncs = storage_counter_get(SC_WAL_SYNCS),
        .wal_bytes = storage_counter_get(SC_WAL_BYTES),
        .flushes = storage_counter_get(SC_FLUSHES),
        .flush_bytes = storage_counter_get(SC_FLUSH_BYTES),
        .flush_seconds = (double)storage_counter_get(SC_FLUSH_MICROS) / 1e6,
        .compactions = storage_counter_get(SC_COMPACTIONS),
        .compact_bytes_in = storage_counter_get(SC_COMPACT_IN),
        .compact_bytes_out = storage_counter_get(SC_COMPACT_OUT),
        .compact_seconds = (double)storage_counter_get(SC_COMPACT_MICROS) / 1e6,
    };
}
