/* tsbs_gen: writes TSBS-style "cpu-only" data as InfluxDB line protocol, for the ingestion
 * and query benchmarks (bench/run.sh).
 *
 * The shape follows TSBS's devops cpu-only use case so that numbers are comparable with
 * published TSBS results: one measurement `cpu`, ten tags describing a host, ten float fields
 * doing a clamped random walk in [0,100] (step ~ N(0,1), start ~ U(0,100)), one row per host
 * every interval, rows ordered by time and then by host, nanosecond timestamps.
 *
 * The output is a pure function of the options: a host's tags depend only on the seed and its
 * index (so 10 hosts are a prefix of 100 hosts), and each host's walk has its own PRNG stream.
 *
 * --measurement mem writes TSBS's devops `mem` rows for the same hosts and times instead (the
 * join benchmark needs a second table on the same keys): total bytes fixed per host, three
 * percentages doing the same clamped walk, the other byte counts derived from them.
 * --format csv writes the same rows as CSV (header line; time in ns, then the tag values, then
 * the field values with the same text as in line protocol), for systems that load CSV (DuckDB
 * in the query benchmark), so that every system holds exactly the same values.
 * The generator is self-contained (bench binaries are built from one file each). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NFIELDS 10
#define MEM_WALKS 3 /* used, cached and buffered percent */
#define OUTBUF_SIZE (4u << 20)

static const char *const field_names[NFIELDS] = {
    "usage_user", "usage_system",  "usage_idle",  "usage_nice",  "usage_iowait",
    "usage_irq",  "usage_softirq", "usage_steal", "usage_guest", "usage_guest_nice",
};

/* Regions and their datacenters, the set TSBS draws from. */
struct region {
    const char *name;
    const char *dcs[5];
    int ndc;
};
/* TSBS's mem fields, in its order. */
static const char *const mem_names[] = {
    "total",
    "available",
    "used",
    "free",
    "cached",
    "buffered",
    "used_percent",
    "available_percent",
    "buffered_percent",
};
#define MEM_NFIELDS (sizeof mem_names / sizeof mem_names[0])

static const char *const tag_names[] = {
    "hostname", "region",          "datacenter",          "rack", "os", "arch", "team",
    "service",  "service_version", "service_environment",
};

static const struct region regions[] = {
    {"us-east-1", {"us-east-1a", "us-east-1b", "us-east-1c", "us-east-1e"}, 4},
    {"us-west-1", {"us-west-1a", "us-west-1b"}, 2},
    {"us-west-2", {"us-west-2a", "us-west-2b", "us-west-2c"}, 3},
    {"eu-west-1", {"eu-west-1a", "eu-west-1b", "eu-west-1c"}, 3},
    {"eu-central-1", {"eu-central-1a", "eu-central-1b"}, 2},
    {"ap-southeast-1", {"ap-southeast-1a", "ap-southeast-1b"}, 2},
    {"ap-southeast-2", {"ap-southeast-2a", "ap-southeast-2b"}, 2},
    {"ap-northeast-1", {"ap-northeast-1a", "ap-northeast-1c"}, 2},
    {"sa-east-1", {"sa-east-1a", "sa-east-1b", "sa-east-1c"}, 3},
};
#define NREGIONS (sizeof regions / sizeof regions[0])

static const char *const oses[] = {"Ubuntu16.10", "Ubuntu16.04LTS", "Ubuntu15.10"};
static const char *const arches[] = {"x64", "x86"};
static const char *const teams[] = {"SF", "NYC", "LON", "CHI"};
static const char *const envs[] = {"production", "staging", "test"};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* xoshiro256** seeded through splitmix64: small, fast, and good enough for test data. */
struct rng {
    uint64_t s[4];
};

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (stream * 0xd1342543de82ef95ull);
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t rng_next(struct rng *r) {
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return out;
}

/* Uniform in [0,1) with 53 random bits. */
static inline double rng_unit(struct rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static inline uint32_t rng_below(struct rng *r, uint32_t n) {
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Standard normal by Box-Muller; the second value of each pair is kept for the next call. */
struct normal {
    bool have;
    double spare;
};

static double rng_normal(struct rng *r, struct normal *n) {
    if (n->have) {
        n->have = false;
        return n->spare;
    }
    double u1 = rng_unit(r), u2 = rng_unit(r);
    if (u1 < 1e-300) u1 = 1e-300; /* log(0) */
    double mag = sqrt(-2.0 * log(u1));
    n->spare = mag * sin(2.0 * M_PI * u2);
    n->have = true;
    return mag * cos(2.0 * M_PI * u2);
}

struct host {
    char *prefix; /* "cpu,<tags> ", or "<tag values>," in CSV */
    size_t prefix_len;
    double v[NFIELDS];
    uint64_t mem_total; /* bytes, mem rows only */
    struct rng rng;
    struct normal nrm;
};

struct opts {
    uint64_t hosts;
    int64_t start_ns;
    int64_t duration_ns;
    int64_t interval_ns;
    uint64_t seed;
    uint64_t limit; /* max rows, 0 = all */
    bool ints;      /* TSBS's current integer fields ("58i") instead of floats */
    bool mem;       /* mem rows instead of cpu rows */
    bool csv;       /* CSV instead of line protocol */
    const char *out;
};

static void usage(FILE *f) {
    fprintf(f, "usage: tsbs_gen [options]\n"
               "  --hosts N         number of hosts (default 100)\n"
               "  --start TIME      RFC 3339 time or integer ns since the epoch\n"
               "                    (default 2016-01-01T00:00:00Z)\n"
               "  --duration D      span of data, e.g. 1d, 12h, 90m, 1h30m (default 12h)\n"
               "  --interval D      time between a host's rows (default 10s)\n"
               "  --seed N          PRNG seed (default 123)\n"
               "  --limit N         stop after N rows (default: no limit)\n"
               "  --ints            integer fields with an 'i' suffix, as current TSBS writes\n"
               "  --measurement M   cpu (default) or mem (TSBS devops memory rows)\n"
               "  --format F        lp (line protocol, default) or csv (header, time in ns)\n"
               "  --out FILE        output file (default stdout)\n");
}

/* Parses a non-negative decimal integer that must fill the whole string. */
static bool parse_u64(const char *s, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end) return false;
    *out = v;
    return true;
}

/* Durations as a sum of <integer><unit> terms: ns us ms s m h d w, e.g. "1h30m". */
static bool parse_duration(const char *s, int64_t *out) {
    static const struct {
        const char *u;
        int64_t ns;
    } units[] = {
        {"ns", 1},
        {"us", 1000},
        {"ms", 1000000},
        {"s", 1000000000},
        {"m", 60 * 1000000000ll},
        {"h", 3600 * 1000000000ll},
        {"d", 86400 * 1000000000ll},
        {"w", 7 * 86400 * 1000000000ll},
    };
    int64_t total = 0;
    if (!s || !*s) return false;
    while (*s) {
        if (*s < '0' || *s > '9') return false;
        int64_t n = 0;
        while (*s >= '0' && *s <= '9') {
            if (n > (INT64_MAX - 9) / 10) return false;
            n = n * 10 + (*s++ - '0');
        }
        size_t ul = 0;
        while (s[ul] && !(s[ul] >= '0' && s[ul] <= '9')) ul++;
        int64_t mul = 0;
        for (size_t i = 0; i < COUNT(units); i++) {
            if (strlen(units[i].u) == ul && memcmp(units[i].u, s, ul) == 0) mul = units[i].ns;
        }
        if (!mul) return false;
        if (n > INT64_MAX / mul || total > INT64_MAX - n * mul) return false;
        total += n * mul;
        s += ul;
    }
    *out = total;
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's civil algorithm). */
static int64_t days_from_ymd(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)" or an integer count of ns since the epoch. */
static bool parse_time(const char *s, int64_t *out) {
    uint64_t raw;
    if (parse_u64(s, &raw)) {
        if (raw > (uint64_t)INT64_MAX) return false;
        *out = (int64_t)raw;
        return true;
    }
    int Y, M, D, h, mi, sec;
    if (strlen(s) < 19 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) ||
        s[7] != '-' || !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &mi) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return false;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60) return false;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int nd = 0;
        p++;
        while (*p >= '0' && *p <= '9') {
            if (nd < 9) {
                frac = frac * 10 + (*p - '0');
                nd++;
            }
            p++;
        }
        if (nd == 0) return false;
        while (nd++ < 9) frac *= 10;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om)) return false;
        off_s = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return false;
    }
    if (*p) return false;
    int64_t secs = days_from_ymd(Y, M, D) * 86400 + h * 3600 + mi * 60 + sec - off_s;
    if (secs < 0 || secs > INT64_MAX / 1000000000 - 1) return false;
    *out = secs * 1000000000 + frac;
    return true;
}

static int parse_args(int argc, char **argv, struct opts *o) {
    o->hosts = 100;
    o->start_ns = 1451606400ll * 1000000000ll; /* 2016-01-01T00:00:00Z */
    o->duration_ns = 12 * 3600 * 1000000000ll;
    o->interval_ns = 10 * 1000000000ll;
    o->seed = 123;
    o->limit = 0;
    o->ints = false;
    o->mem = false;
    o->csv = false;
    o->out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (!strcmp(a, "--ints")) {
            o->ints = true;
            continue;
        }
        /* Every other option takes a value, as "--opt v" or "--opt=v". */
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
#define IS(name) (nl == strlen(name) && !strncmp(a, name, nl))
        bool ok;
        if (IS("--hosts"))
            ok = parse_u64(v, &o->hosts) && o->hosts > 0 && o->hosts < 100000000;
        else if (IS("--start"))
            ok = v && parse_time(v, &o->start_ns);
        else if (IS("--duration"))
            ok = parse_duration(v, &o->duration_ns);
        else if (IS("--interval"))
            ok = parse_duration(v, &o->interval_ns) && o->interval_ns > 0;
        else if (IS("--seed"))
            ok = parse_u64(v, &o->seed);
        else if (IS("--limit"))
            ok = parse_u64(v, &o->limit);
        else if (IS("--measurement")) {
            ok = v && (!strcmp(v, "cpu") || !strcmp(v, "mem"));
            o->mem = ok && !strcmp(v, "mem");
        } else if (IS("--format")) {
            ok = v && (!strcmp(v, "lp") || !strcmp(v, "csv"));
            o->csv = ok && !strcmp(v, "csv");
        } else if (IS("--out")) {
            ok = v && *v;
            o->out = v;
        } else {
            fprintf(stderr, "tsbs_gen: unknown option '%s'\n", a);
            usage(stderr);
            return -1;
        }
#undef IS
        if (!ok) {
            fprintf(stderr, "tsbs_gen: bad value for %.*s: '%s'\n", (int)nl, a, v ? v : "");
            return -1;
        }
    }
    if (o->start_ns > INT64_MAX - o->duration_ns) {
        fprintf(stderr, "tsbs_gen: --start plus --duration overflows int64 nanoseconds\n");
        return -1;
    }
    return 0;
}

/* Output goes through one large buffer and write(2): stdio's per-call locking would be a
 * visible share of the generator's time. */
struct out {
    int fd;
    char *buf;
    size_t len;
    uint64_t total;
};

static int out_flush(struct out *w) {
    size_t off = 0;
    while (off < w->len) {
        ssize_t n = write(w->fd, w->buf + off, w->len - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "tsbs_gen: write: %s\n", strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    w->total += w->len;
    w->len = 0;
    return 0;
}

static char *put_u64(char *p, uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n) *p++ = tmp[--n];
    return p;
}

/* v is in [0,100]: two decimals always written so every value reads as a float. */
static char *put_fixed2(char *p, double v) {
    uint64_t c = (uint64_t)(v * 100.0 + 0.5);
    p = put_u64(p, c / 100);
    *p++ = '.';
    *p++ = (char)('0' + (c / 10) % 10);
    *p++ = (char)('0' + c % 10);
    return p;
}

static char *make_prefix(uint64_t idx, const struct opts *o, size_t *len) {
    uint64_t seed = o->seed;
    struct rng r;
    rng_seed(&r, seed, 2 * idx + 1);
    const struct region *reg = &regions[rng_below(&r, NREGIONS)];
    const char *dc = reg->dcs[rng_below(&r, (uint32_t)reg->ndc)];
    unsigned rack = rng_below(&r, 100);
    const char *os = oses[rng_below(&r, COUNT(oses))];
    const char *arch = arches[rng_below(&r, COUNT(arches))];
    const char *team = teams[rng_below(&r, COUNT(teams))];
    unsigned service = rng_below(&r, 20);
    unsigned version = rng_below(&r, 2);
    const char *env = envs[rng_below(&r, COUNT(envs))];
    char tmp[512];
    int n;
    if (o->csv)
        n = snprintf(tmp, sizeof tmp, "host_%" PRIu64 ",%s,%s,%u,%s,%s,%s,%u,%u,%s,", idx,
                     reg->name, dc, rack, os, arch, team, service, version, env);
    else
        n = snprintf(tmp, sizeof tmp,
                     "%s,hostname=host_%" PRIu64 ",region=%s,datacenter=%s,rack=%u,os=%s,"
                     "arch=%s,team=%s,service=%u,service_version=%u,service_environment=%s ",
                     o->mem ? "mem" : "cpu", idx, reg->name, dc, rack, os, arch, team, service,
                     version, env);
    char *p = malloc((size_t)n + 1);
    if (!p) return NULL;
    memcpy(p, tmp, (size_t)n + 1);
    *len = (size_t)n;
    return p;
}

/* One field: "name=" in line protocol (the name is skipped in CSV), then the value. */
static char *put_name(char *p, const struct opts *o, const char *name, bool first) {
    if (!first) *p++ = ',';
    if (o->csv) return p;
    size_t nl = strlen(name);
    memcpy(p, name, nl);
    p += nl;
    *p++ = '=';
    return p;
}

static char *put_int(char *p, const struct opts *o, uint64_t v) {
    p = put_u64(p, v);
    if (!o->csv) *p++ = 'i';
    return p;
}

static char *put_cpu(char *p, const struct opts *o, const struct host *h) {
    for (int f = 0; f < NFIELDS; f++) {
        p = put_name(p, o, field_names[f], f == 0);
        p = o->ints ? put_int(p, o, (uint64_t)h->v[f]) : put_fixed2(p, h->v[f]);
    }
    return p;
}

/* The walks are used, cached and buffered percent, each within [0, 100/3] so that they never
 * add up to more than the whole; the byte counts follow from them and the host's total. */
static char *put_mem(char *p, const struct opts *o, const struct host *h) {
    double total = (double)h->mem_total;
    uint64_t used = (uint64_t)(total * h->v[0] / 100.0);
    uint64_t cached = (uint64_t)(total * h->v[1] / 100.0);
    uint64_t buffered = (uint64_t)(total * h->v[2] / 100.0);
    uint64_t avail = h->mem_total - used;
    uint64_t ints[6] = {h->mem_total, avail, used, avail - cached - buffered, cached, buffered};
    double pct[3] = {h->v[0], 100.0 - h->v[0], h->v[2]};
    for (size_t f = 0; f < MEM_NFIELDS; f++) {
        p = put_name(p, o, mem_names[f], f == 0);
        p = f < 6 ? put_int(p, o, ints[f]) : put_fixed2(p, pct[f - 6]);
    }
    return p;
}

/* The CSV header: time, the tags, the fields. */
static char *put_header(char *p, const struct opts *o) {
    p = stpcpy(p, "time");
    for (size_t i = 0; i < COUNT(tag_names); i++) p = stpcpy(stpcpy(p, ","), tag_names[i]);
    size_t n = o->mem ? MEM_NFIELDS : NFIELDS;
    for (size_t f = 0; f < n; f++)
        p = stpcpy(stpcpy(p, ","), o->mem ? mem_names[f] : field_names[f]);
    *p++ = '\n';
    return p;
}

/* Writes every row; the caller owns hosts and w. */
static int generate(const struct opts *o, struct host *hosts, size_t maxrow, struct out *w,
                    uint64_t *rows_out) {
    uint64_t rows = 0;
    int64_t end = o->start_ns + o->duration_ns;
    bool done = false;
    if (o->csv) w->len = (size_t)(put_header(w->buf, o) - w->buf);
    for (int64_t t = o->start_ns; t < end && !done; t += o->interval_ns) {
        char ts[32];
        size_t tslen;
        if (o->csv) {
            tslen = (size_t)(put_u64(ts, (uint64_t)t) - ts);
            ts[tslen++] = ',';
        } else {
            ts[0] = ' ';
            tslen = (size_t)(put_u64(ts + 1, (uint64_t)t) - ts);
            ts[tslen++] = '\n';
        }
        for (uint64_t i = 0; i < o->hosts; i++) {
            if (o->limit && rows == o->limit) {
                done = true;
                break;
            }
            if (OUTBUF_SIZE - w->len < maxrow && out_flush(w) < 0) return -1;
            struct host *h = &hosts[i];
            char *p = w->buf + w->len;
            if (o->csv) {
                memcpy(p, ts, tslen);
                p += tslen;
            }
            memcpy(p, h->prefix, h->prefix_len);
            p += h->prefix_len;
            p = o->mem ? put_mem(p, o, h) : put_cpu(p, o, h);
            if (o->csv) {
                *p++ = '\n';
            } else {
                memcpy(p, ts, tslen);
                p += tslen;
            }
            w->len = (size_t)(p - w->buf);
            rows++;
            /* Advance the walk after emitting, so the first row shows the start values. */
            int nwalk = o->mem ? MEM_WALKS : NFIELDS;
            double hi = o->mem ? 100.0 / MEM_WALKS : 100.0;
            for (int f = 0; f < nwalk; f++) {
                double nv = h->v[f] + rng_normal(&h->rng, &h->nrm);
                h->v[f] = nv < 0.0 ? 0.0 : nv > hi ? hi : nv;
            }
        }
        if (t > INT64_MAX - o->interval_ns) break;
    }
    *rows_out = rows;
    return out_flush(w);
}

int main(int argc, char **argv) {
    struct opts o;
    if (parse_args(argc, argv, &o) < 0) return 2;

    int rc = 1;
    uint64_t rows = 0;
    struct host *hosts = calloc(o.hosts, sizeof *hosts);
    struct out w = {.fd = -1, .buf = malloc(OUTBUF_SIZE)};
    if (!hosts || !w.buf) {
        fprintf(stderr, "tsbs_gen: out of memory\n");
        goto out;
    }
    size_t maxprefix = 0;
    for (uint64_t i = 0; i < o.hosts; i++) {
        struct host *h = &hosts[i];
        h->prefix = make_prefix(i, &o, &h->prefix_len);
        if (!h->prefix) {
            fprintf(stderr, "tsbs_gen: out of memory\n");
            goto out;
        }
        if (h->prefix_len > maxprefix) maxprefix = h->prefix_len;
        if (o.mem) {
            /* A stream of its own, so that mem does not repeat the cpu walk's steps. */
            rng_seed(&h->rng, o.seed ^ 0x6d656dull, 2 * i + 2);
            h->mem_total = (8ull << 30) << rng_below(&h->rng, 4);
            for (int f = 0; f < MEM_WALKS; f++) h->v[f] = rng_unit(&h->rng) * 100.0 / MEM_WALKS;
        } else {
            rng_seed(&h->rng, o.seed, 2 * i + 2);
            for (int f = 0; f < NFIELDS; f++) h->v[f] = rng_unit(&h->rng) * 100.0;
        }
    }

    w.fd = o.out ? open(o.out, O_WRONLY | O_CREAT | O_TRUNC, 0644) : STDOUT_FILENO;
    if (w.fd < 0) {
        fprintf(stderr, "tsbs_gen: %s: %s\n", o.out, strerror(errno));
        goto out;
    }
    /* Upper bound of one row: prefix, ten "name=value," (a name up to 17 bytes, an integer up
     * to 20 digits) and a 19-digit timestamp. */
    if (generate(&o, hosts, maxprefix + NFIELDS * 48 + 32, &w, &rows) < 0) goto out;
    if (o.out) {
        int fd = w.fd;
        w.fd = -1;
        if (close(fd) < 0) {
            fprintf(stderr, "tsbs_gen: %s: %s\n", o.out, strerror(errno));
            goto out;
        }
    }
    fprintf(stderr, "tsbs_gen: %" PRIu64 " rows, %" PRIu64 " hosts, %d fields, %" PRIu64 " bytes\n",
            rows, o.hosts, o.mem ? (int)MEM_NFIELDS : NFIELDS, w.total);
    rc = 0;
out:
    if (o.out && w.fd >= 0) close(w.fd);
    for (uint64_t i = 0; hosts && i < o.hosts; i++) free(hosts[i].prefix);
    free(hosts);
    free(w.buf);
    return rc;
}
