/* The server-wide memory budget: see membudget.h. */
#include "util/membudget.h"

#include <stdio.h>
#include <string.h>

static uint64_t limit_bytes;
static uint64_t used_total;
static uint64_t used[MEMBUDGET_NKINDS];

void membudget_init(uint64_t limit) {
    __atomic_store_n(&limit_bytes, limit, __ATOMIC_RELAXED);
}

bool membudget_try_reserve(enum membudget_kind k, uint64_t n) {
    uint64_t lim = __atomic_load_n(&limit_bytes, __ATOMIC_RELAXED);
    uint64_t now = __atomic_add_fetch(&used_total, n, __ATOMIC_RELAXED);
    /* Reserve first, then check: two racing reservations cannot both slip under the limit. */
    if (lim && now > lim) {
        __atomic_sub_fetch(&used_total, n, __ATOMIC_RELAXED);
        return false;
    }
    __atomic_add_fetch(&used[k], n, __ATOMIC_RELAXED);
    return true;
}

void membudget_charge(enum membudget_kind k, uint64_t n) {
    __atomic_add_fetch(&used_total, n, __ATOMIC_RELAXED);
    __atomic_add_fetch(&used[k], n, __ATOMIC_RELAXED);
}

void membudget_release(enum membudget_kind k, uint64_t n) {
    __atomic_sub_fetch(&used[k], n, __ATOMIC_RELAXED);
    __atomic_sub_fetch(&used_total, n, __ATOMIC_RELAXED);
}

uint64_t membudget_used(void) {
    return __atomic_load_n(&used_total, __ATOMIC_RELAXED);
}

uint64_t membudget_used_by(enum membudget_kind k) {
    return __atomic_load_n(&used[k], __ATOMIC_RELAXED);
}

uint64_t membudget_limit(void) {
    return __atomic_load_n(&limit_bytes, __ATOMIC_RELAXED);
}

const char *membudget_kind_name(enum membudget_kind k) {
    static const char *const names[MEMBUDGET_NKINDS] = {"body", "parse", "memcache", "index",
                                                        "query"};
    return (unsigned)k < MEMBUDGET_NKINDS ? names[k] : "?";
}

/* The first number in a file (a cgroup limit), 0 if absent or "max". */
static uint64_t read_number(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    unsigned long long v = 0;
    if (fscanf(f, "%llu", &v) != 1) v = 0;
    fclose(f);
    return v;
}

static uint64_t mem_total(void) {
    FILE *f = fopen("/proc/meminfo", "r");
    if (!f) return 0;
    char line[256];
    unsigned long long kb = 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1) break;
    fclose(f);
    return (uint64_t)kb * 1024;
}

uint64_t membudget_default_limit(void) {
    uint64_t total = mem_total();
    /* cgroup v2, then v1 (which reports a huge number when unlimited). */
    uint64_t cg = read_number("/sys/fs/cgroup/memory.max");
    if (!cg) cg = read_number("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    if (cg && (!total || cg < total)) total = cg;
    return total / 4 * 3;
}
