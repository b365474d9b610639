/* Time zones for tz('Area/City') (see iql.h): the zone's UTC offsets read from the system's
 * TZif file (/usr/share/zoneinfo, RFC 8536), version 2 or later data (64-bit transition times)
 * when present. A time after the last transition keeps the last offset; the footer's rule
 * for later years is not read, which the full ("fat") files Debian installs make moot until
 * 2037. */
#include "influxql/iql_int.h"

#include "util/timeutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct iql_zone {
    size_t n;
    int64_t *at;    /* transition times, seconds, ascending */
    int32_t *off;   /* UTC offset in seconds from at[i] on */
    int32_t before; /* before the first transition */
};

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p) {
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* A zone name as tzdata spells them: letters, digits, '_', '-', '+', '/' between parts. */
static bool zone_name_ok(const char *s) {
    if (!*s || *s == '/' || strstr(s, "..") || strlen(s) > 64) return false;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '+' || *c == '/'))
            return false;
    return true;
}

int iql_zone_load(arena *a, const char *name, iql_zone **out, err *e) {
    *out = NULL;
    if (!zone_name_ok(name)) return iql_fail(e, "unable to find time zone %s", name);
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", name);
    FILE *f = fopen(path, "rb");
    if (!f) return iql_fail(e, "unable to find time zone %s", name);
    unsigned char *d = arena_alloc(a, 1 << 20);
    size_t len = fread(d, 1, 1 << 20, f);
    fclose(f);
    /* the header's counts: isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt */
    if (len < 44 || memcmp(d, "TZif", 4)) return iql_fail(e, "unable to find time zone %s", name);
    size_t p = 0, tsz = 4;
    uint32_t cnt[6];
    for (int i = 0; i < 6; i++) cnt[i] = be32(d + 20 + 4 * i);
    if (d[4] >= '2') { /* skip the 32-bit block to the 64-bit one */
        p = 44 + (size_t)cnt[3] * 5 + (size_t)cnt[4] * 6 + cnt[5] + (size_t)cnt[2] * 8 + cnt[1] +
            cnt[0];
        if (p + 44 > len || memcmp(d + p, "TZif", 4))
            return iql_fail(e, "unable to read time zone %s", name);
        for (int i = 0; i < 6; i++) cnt[i] = be32(d + p + 20 + 4 * i);
        tsz = 8;
    }
    p += 44;
    size_t timecnt = cnt[3], typecnt = cnt[4];
    if (typecnt == 0 || p + timecnt * (tsz + 1) + typecnt * 6 > len)
        return iql_fail(e, "unable to read time zone %s", name);
    iql_zone *z = arena_calloc(a, sizeof *z);
    z->n = timecnt;
    z->at = arena_alloc(a, (timecnt + 1) * sizeof *z->at);
    z->off = arena_alloc(a, (timecnt + 1) * sizeof *z->off);
    const unsigned char *types = d + p + timecnt * tsz, *info = types + timecnt;
    for (size_t i = 0; i < timecnt; i++) {
        z->at[i] = tsz == 8 ? be64(d + p + i * 8) : (int32_t)be32(d + p + i * 4);
        unsigned ty = types[i];
        if (ty >= typecnt) return iql_fail(e, "unable to read time zone %s", name);
        z->off[i] = (int32_t)be32(info + ty * 6);
    }
    z->before = (int32_t)be32(info); /* type 0, as RFC 8536 says */
    *out = z;
    return 0;
}

int64_t iql_zone_offset(const iql_zone *z, int64_t ns) {
    if (!z) return 0;
    int64_t s = ns / 1000000000 - (ns % 1000000000 < 0);
    size_t lo = 0, hi = z->n; /* the first transition after s */
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (z->at[mid] <= s)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (int64_t)(lo ? z->off[lo - 1] : z->before) * 1000000000LL;
}

bool iql_zone_fixed(const iql_zone *z, int64_t from, int64_t to) {
    if (!z) return true;
    int64_t o = iql_zone_offset(z, from);
    int64_t fs = from / 1000000000 - (from % 1000000000 < 0), ts = to / 1000000000;
    for (size_t i = 0; i < z->n; i++)
        if (z->at[i] > fs && z->at[i] <= ts && (int64_t)z->off[i] * 1000000000LL != o) return false;
    return true;
}

/* Local time is cut into buckets; the UTC offset at t says where t's local bucket starts, and
 * the offset at that start (which may differ across a change) puts the start at the local
 * boundary; the end likewise. */
void iql_zone_window(const iql_zone *z, int64_t t, int64_t every, int64_t offset, int64_t *start,
                     int64_t *end) {
    int64_t u = t - offset;
    int64_t zone = iql_zone_offset(z, u);
    int64_t q, dt;
    time_floor_divmod(u + zone, every, &q, &dt);
    int64_t st = u - dt, en = u + (every - dt);
    int64_t o = zone - iql_zone_offset(z, st);
    if (o != 0 && (o < 0 ? -o : o) < every) st += o;
    o = zone - iql_zone_offset(z, en);
    if (o != 0 && (o < 0 ? -o : o) < every) en += o;
    *start = st + offset;
    *end = en + offset;
}
