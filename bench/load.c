/* load: posts a line-protocol file to an HTTP write endpoint in batches over several keep-alive
 * connections and reports the ingestion rate, for the benchmark (bench/run.sh).
 *
 * The loader runs on the same cores as the server it measures, so it does as little as it can
 * while the clock runs: the file is read whole and cut into batches, and every request header
 * is formatted, before the clock starts; a request is one sendmsg of {header, body slice of the
 * file}; a response is read only as far as its status line and the headers that frame it
 * (Content-Length, chunked, Connection). One thread per connection takes the next batch from
 * a shared atomic counter, so a slow request never holds back the others.
 *
 * With --interval-ms and --until-file it is a paced probe instead (the schema benchmark's small
 * writer): each connection starts a request every interval, going round the file's batches
 * again and again until the file named by --until-file exists; its latencies are the result.
 *
 * Every non-2xx answer is an error: the first few bodies are printed and the exit status is 1.
 * Output: a human line and one `RESULT key=value ...` line for scripts.
 * Self-contained on purpose: bench binaries are built from one file each. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"

#define MAX_ERR_BODIES 5
#define ERR_BODY_MAX 512
#define MAX_HEADERS 16

struct opts {
    const char *file;
    const char *url;
    const char *name;
    const char *user; /* "user:password" for Basic auth, or NULL */
    const char *headers[MAX_HEADERS];
    int nheaders;
    uint64_t batch;
    int workers;
    int timeout_s;
    uint64_t interval_ms;   /* 0: as fast as possible */
    const char *until_file; /* NULL: each batch once */
};

/* Requests a paced probe records at most (then it stops by itself). */
#define PROBE_MAX_REQUESTS (1u << 22)

/* One request: a pre-formatted header and a slice of the file as its body. */
struct batch {
    size_t hdr_off, hdr_len;
    size_t body_off, body_len;
    uint64_t rows;
};

struct target {
    struct addrinfo *ai;
    char hostport[256];
};

/* Shared, read-only once the workers start, except the counters and the error log. */
struct job {
    const struct opts *o;
    struct target tgt;
    const char *data;
    const char *hdrs;
    struct batch *b;
    size_t nb;
    uint64_t *lat_ns; /* per request, written by the worker that sent it; 0 = not sent */
    size_t nreq;      /* requests to make: nb, or PROBE_MAX_REQUESTS with --until-file */
    atomic_size_t next;
    atomic_uint_fast64_t sent_rows; /* rows of the requests sent */
    atomic_bool abort;
    atomic_uint_fast64_t nerr;
    atomic_uint_fast64_t acked_rows; /* rows of batches answered 2xx */
    pthread_mutex_t err_mu;
    int nerr_printed;
    pthread_barrier_t start;
};

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(FILE *f) {
    fprintf(f, "usage: load --url HOST:PORT/PATH?QUERY [options] FILE\n"
               "  --url U         write endpoint, e.g. 127.0.0.1:8086/write?db=benchmark\n"
               "  --file F        line-protocol file (or give it as the last argument)\n"
               "  --batch N       lines per request (default 5000)\n"
               "  --workers N     concurrent connections (default 4)\n"
               "  --name S        name in the RESULT line (default load)\n"
               "  --user U:P      HTTP Basic credentials\n"
               "  --header 'K: V' extra request header (repeatable)\n"
               "  --timeout S     socket send/receive timeout in seconds (default 300)\n"
               "  --interval-ms N start a request every N ms per connection (a paced probe)\n"
               "  --until-file F  go round the batches again until file F exists\n");
}

static bool parse_pos(const char *s, uint64_t max, uint64_t *out) {
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v == 0 || v > max) return false;
    *out = v;
    return true;
}

static int parse_args(int argc, char **argv, struct opts *o) {
    memset(o, 0, sizeof *o);
    o->name = "load";
    o->batch = 5000;
    o->workers = 4;
    o->timeout_s = 300;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        }
        if (a[0] != '-' || a[1] == '\0') {
            if (o->file) {
                fprintf(stderr, "load: more than one input file\n");
                return -1;
            }
            o->file = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t nl = eq ? (size_t)(eq - a) : strlen(a);
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        uint64_t n = 0;
        bool ok = v != NULL;
#define IS(name) (nl == strlen(name) && !strncmp(a, name, nl))
        if (!ok) {
            /* reported below */
        } else if (IS("--url")) {
            o->url = v;
        } else if (IS("--file")) {
            o->file = v;
        } else if (IS("--name")) {
            o->name = v;
        } else if (IS("--user")) {
            o->user = v;
        } else if (IS("--header")) {
            ok = o->nheaders < MAX_HEADERS && strchr(v, ':') && !strpbrk(v, "\r\n");
            if (ok) o->headers[o->nheaders++] = v;
        } else if (IS("--batch")) {
            ok = parse_pos(v, 100000000, &o->batch);
        } else if (IS("--workers")) {
            ok = parse_pos(v, 1024, &n);
            o->workers = (int)n;
        } else if (IS("--timeout")) {
            ok = parse_pos(v, 86400, &n);
            o->timeout_s = (int)n;
        } else if (IS("--interval-ms")) {
            ok = parse_pos(v, 3600000, &o->interval_ms);
        } else if (IS("--until-file")) {
            o->until_file = v;
        } else {
            fprintf(stderr, "load: unknown option '%s'\n", a);
            usage(stderr);
            return -1;
        }
#undef IS
        if (!ok) {
            fprintf(stderr, "load: bad or missing value for %.*s\n", (int)nl, a);
            return -1;
        }
    }
    if (!o->url || !o->file) {
        fprintf(stderr, "load: --url and an input file are required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* Splits "[http://]host[:port][/path[?query]]" and resolves the host. The request target is
 * written to path (at least "/"). */
static int parse_url(const char *url, struct target *t, char *path, size_t pathcap) {
    if (!strncmp(url, "http://", 7))
        url += 7;
    else if (strstr(url, "://")) {
        fprintf(stderr, "load: only http:// URLs are supported: %s\n", url);
        return -1;
    }
    const char *slash = strchr(url, '/');
    size_t hl = slash ? (size_t)(slash - url) : strlen(url);
    if (hl == 0 || hl >= sizeof t->hostport) {
        fprintf(stderr, "load: bad host in URL\n");
        return -1;
    }
    memcpy(t->hostport, url, hl);
    t->hostport[hl] = '\0';
    const char *p = slash ? slash : "/";
    if (strlen(p) >= pathcap || strpbrk(p, " \r\n")) {
        fprintf(stderr, "load: bad path in URL\n");
        return -1;
    }
    strcpy(path, p);

    char host[256], port[16] = "80";
    const char *hp = t->hostport;
    const char *colon;
    if (hp[0] == '[') { /* [v6addr]:port */
        const char *rb = strchr(hp, ']');
        if (!rb) {
            fprintf(stderr, "load: bad IPv6 host in URL\n");
            return -1;
        }
        memcpy(host, hp + 1, (size_t)(rb - hp - 1));
        host[rb - hp - 1] = '\0';
        colon = rb[1] == ':' ? rb + 1 : NULL;
    } else {
        colon = strrchr(hp, ':');
        size_t n = colon ? (size_t)(colon - hp) : strlen(hp);
        memcpy(host, hp, n);
        host[n] = '\0';
    }
    if (colon) {
        if (strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof port) {
            fprintf(stderr, "load: bad port in URL\n");
            return -1;
        }
        strcpy(port, colon + 1);
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    int rc = getaddrinfo(host, port, &hints, &t->ai);
    if (rc != 0) {
        fprintf(stderr, "load: cannot resolve %s:%s: %s\n", host, port, gai_strerror(rc));
        return -1;
    }
    return 0;
}

static int read_file(const char *path, char **data, size_t *len) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        fprintf(stderr, "load: %s: %s\n", path, ERRSTR(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "load: %s: not a regular file\n", path);
        close(fd);
        return -1;
    }
    size_t n = (size_t)st.st_size;
    char *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "load: out of memory reading %s\n", path);
        close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, p + off, n - off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            fprintf(stderr, "load: %s: %s\n", path, r < 0 ? ERRSTR(errno) : "short read");
            free(p);
            close(fd);
            return -1;
        }
        off += (size_t)r;
    }
    close(fd);
    *data = p;
    *len = n;
    return 0;
}

/* A line that carries a point: not blank, not a comment. */
static bool is_row(const char *s, size_t n) {
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    if (n && s[n - 1] == '\r') n--;
    return n > 0 && *s != '#';
}

/* Counts the fields of one line-protocol line: skip the measurement and tags up to the first
 * unescaped space, then count the commas outside double quotes up to the next unescaped space.
 * Returns 0 if the line has no field set. */
static uint64_t count_fields(const char *s, size_t n) {
    size_t i = 0;
    while (i < n && (s[i] == ' ' || s[i] == '\t')) i++;
    for (; i < n && s[i] != ' '; i++)
        if (s[i] == '\\') i++;
    while (i < n && s[i] == ' ') i++;
    if (i >= n) return 0;
    uint64_t fields = 1;
    bool quoted = false;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '\\')
            i++;
        else if (c == '"')
            quoted = !quoted;
        else if (!quoted && c == ',')
            fields++;
        else if (!quoted && (c == ' ' || c == '\r'))
            break;
    }
    return fields;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64(const char *in, size_t n, char *out) {
    size_t i = 0;
    for (; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16 |
                     (uint32_t)(unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
        *out++ = b64[v >> 18];
        *out++ = b64[(v >> 12) & 63];
        *out++ = b64[(v >> 6) & 63];
        *out++ = b64[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)(unsigned char)in[i] << 16;
        if (i + 1 < n) v |= (uint32_t)(unsigned char)in[i + 1] << 8;
        *out++ = b64[v >> 18];
        *out++ = b64[(v >> 12) & 63];
        *out++ = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        *out++ = '=';
    }
    *out = '\0';
}

/* Cuts the data into batches of o->batch rows and formats every request header into one
 * buffer. Blank and comment lines travel with the batch they fall in but are not counted. */
static int build_batches(struct job *j, const char *path, size_t len, uint64_t *rows_out,
                         uint64_t *fields_out, char **hdrs_out) {
    const struct opts *o = j->o;
    const char *d = j->data;
    size_t cap = 1024, nb = 0;
    char *common = NULL, *hdrs = NULL;
    struct batch *b = malloc(cap * sizeof *b);
    if (!b) goto fail;
    uint64_t rows = 0, fields = 0, in_batch = 0;
    size_t batch_start = 0, pos = 0;
    while (pos < len) {
        const char *nl = memchr(d + pos, '\n', len - pos);
        size_t eol = nl ? (size_t)(nl - d) : len;
        size_t next = nl ? eol + 1 : len;
        if (is_row(d + pos, eol - pos)) {
            if (rows == 0) fields = count_fields(d + pos, eol - pos);
            rows++;
            in_batch++;
        }
        pos = next;
        if (in_batch == o->batch || (pos == len && in_batch > 0)) {
            if (nb == cap) {
                cap *= 2;
                struct batch *nbp = realloc(b, cap * sizeof *b);
                if (!nbp) goto fail;
                b = nbp;
            }
            b[nb++] = (struct batch){
                .body_off = batch_start, .body_len = pos - batch_start, .rows = in_batch};
            batch_start = pos;
            in_batch = 0;
        }
    }

    /* Everything but Content-Length is the same for every request. */
    char auth[512] = "";
    if (o->user) {
        size_t ul = strlen(o->user);
        if (ul > 300) goto fail;
        char enc[410];
        base64(o->user, ul, enc);
        snprintf(auth, sizeof auth, "Authorization: Basic %s\r\n", enc);
    }
    size_t extra = 0;
    for (int i = 0; i < o->nheaders; i++) extra += strlen(o->headers[i]) + 2;
    size_t common_cap = strlen(path) + strlen(j->tgt.hostport) + strlen(auth) + extra + 256;
    common = malloc(common_cap);
    if (!common) goto fail;
    int cl = snprintf(common, common_cap,
                      "POST %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: strata-bench-load\r\n"
                      "Content-Type: text/plain; charset=utf-8\r\n%s",
                      path, j->tgt.hostport, auth);
    for (int i = 0; i < o->nheaders; i++)
        cl += snprintf(common + cl, common_cap - (size_t)cl, "%s\r\n", o->headers[i]);

    size_t per = (size_t)cl + 64;
    hdrs = malloc(per * (nb ? nb : 1));
    if (!hdrs) goto fail;
    size_t off = 0;
    for (size_t i = 0; i < nb; i++) {
        memcpy(hdrs + off, common, (size_t)cl);
        int n = snprintf(hdrs + off + cl, 64, "Content-Length: %zu\r\n\r\n", b[i].body_len);
        b[i].hdr_off = off;
        b[i].hdr_len = (size_t)cl + (size_t)n;
        off += b[i].hdr_len;
    }
    free(common);
    j->b = b;
    j->nb = nb;
    *rows_out = rows;
    *fields_out = fields;
    *hdrs_out = hdrs;
    return 0;
fail:
    free(common);
    free(hdrs);
    free(b);
    return -1;
}

static void report_error(struct job *j, size_t idx, int status, const char *body, size_t blen,
                         const char *why) {
    atomic_fetch_add(&j->nerr, 1);
    pthread_mutex_lock(&j->err_mu);
    if (j->nerr_printed < MAX_ERR_BODIES) {
        j->nerr_printed++;
        if (status)
            fprintf(stderr, "load: batch %zu: HTTP %d: %.*s\n", idx, status, (int)blen, body);
        else
            fprintf(stderr, "load: batch %zu: %s\n", idx, why);
    } else if (j->nerr_printed == MAX_ERR_BODIES) {
        j->nerr_printed++;
        fprintf(stderr, "load: (further errors not shown)\n");
    }
    pthread_mutex_unlock(&j->err_mu);
}

struct worker {
    struct job *j;
    struct conn c;
    int setup_failed;
    char why[256];
};

static void *worker_main(void *arg) {
    struct worker *w = arg;
    struct job *j = w->j;
    struct conn *c = &w->c;
    char rbody[ERR_BODY_MAX];
    struct resp r = {.body = rbody, .cap = sizeof rbody};
    c->fd = -1;
    c->buf = malloc(RBUF_SIZE);
    if (!c->buf)
        snprintf(w->why, sizeof w->why, "out of memory");
    else if (conn_open(j->tgt.ai, j->tgt.hostport, j->o->timeout_s, c, w->why, sizeof w->why) < 0)
        c->fd = -1;
    w->setup_failed = c->fd < 0;
    pthread_barrier_wait(&j->start);
    if (w->setup_failed) {
        atomic_store(&j->abort, true);
        free(c->buf);
        return NULL;
    }

    uint64_t due = mono_ns();
    for (;;) {
        if (j->o->until_file && access(j->o->until_file, F_OK) == 0) break;
        size_t i = atomic_fetch_add(&j->next, 1);
        if (i >= j->nreq || atomic_load(&j->abort)) break;
        const struct batch *b = &j->b[i % j->nb];
        if (j->o->interval_ms) {
            /* Paced: start on schedule, or at once when the last answer came late. */
            uint64_t now = mono_ns();
            if (due > now) {
                struct timespec ts = {(time_t)((due - now) / 1000000000u),
                                      (long)((due - now) % 1000000000u)};
                nanosleep(&ts, NULL);
            }
            due = (due > now ? due : now) + j->o->interval_ms * 1000000u;
        }
        atomic_fetch_add(&j->sent_rows, b->rows);
        uint64_t t0 = mono_ns();
        int tries = 0, rc;
        bool got_any = false;
        for (;;) {
            rc = -1;
            if (c->fd < 0 && conn_open(j->tgt.ai, j->tgt.hostport, j->o->timeout_s, c, w->why,
                                       sizeof w->why) < 0)
                break;
            rc = send_all(c->fd, j->hdrs + b->hdr_off, b->hdr_len, j->data + b->body_off,
                          b->body_len, w->why, sizeof w->why);
            if (rc == 0) rc = read_response(c, &r, &got_any, w->why, sizeof w->why);
            /* Without pipelining nothing may follow a response: extra bytes mean the framing
             * was misread, and the next response would be misread too. */
            if (rc == 0 && c->start != c->end && !r.close) {
                snprintf(w->why, sizeof w->why, "%zu unexpected bytes after a response",
                         c->end - c->start);
                rc = -1;
            }
            if (rc == 0) break;
            bool reused = c->served > 0;
            conn_close(c);
            /* A server may close an idle keep-alive connection just as we reuse it; that is
             * not the server refusing the batch, so send it once more on a fresh one. */
            if (!reused || got_any || ++tries > 1) break;
        }
        uint64_t dt = mono_ns() - t0;
        j->lat_ns[i] = dt ? dt : 1;
        if (rc < 0) {
            report_error(j, i, 0, NULL, 0, w->why);
            atomic_store(&j->abort, true); /* the connection is unusable: the run is void */
            break;
        }
        c->served++;
        if (r.status < 200 || r.status > 299)
            report_error(j, i, r.status, r.body, r.body_len, "");
        else
            atomic_fetch_add(&j->acked_rows, b->rows);
        if (r.close) conn_close(c);
    }
    conn_close(c);
    free(c->buf);
    return NULL;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct_ms(const uint64_t *v, size_t n, double p) {
    if (n == 0) return 0;
    size_t rank = (size_t)((p / 100.0) * (double)n + 0.999999);
    if (rank < 1) rank = 1;
    if (rank > n) rank = n;
    return (double)v[rank - 1] / 1e6;
}

static double cpu_secs(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    static struct opts o; /* static: the static job below points to it */
    if (parse_args(argc, argv, &o) < 0) return 2;
    signal(SIGPIPE, SIG_IGN);

    static struct job j; /* large and shared with the workers; zeroed */
    j.o = &o;
    char path[4096];
    if (parse_url(o.url, &j.tgt, path, sizeof path) < 0) return 2;
    char *data;
    size_t len;
    if (read_file(o.file, &data, &len) < 0) return 2;
    j.data = data;

    uint64_t rows, fields;
    char *hdrs;
    if (build_batches(&j, path, len, &rows, &fields, &hdrs) < 0) {
        fprintf(stderr, "load: out of memory building requests\n");
        return 2;
    }
    j.hdrs = hdrs;
    if (rows == 0) {
        fprintf(stderr, "load: %s has no line-protocol rows\n", o.file);
        return 2;
    }
    j.nreq = o.until_file ? PROBE_MAX_REQUESTS : j.nb;
    j.lat_ns = calloc(j.nreq, sizeof *j.lat_ns);
    int nw = o.workers;
    if ((size_t)nw > j.nreq) nw = (int)j.nreq; /* idle connections would only add noise */
    struct worker *ws = calloc((size_t)nw, sizeof *ws);
    pthread_t *th = calloc((size_t)nw, sizeof *th);
    if (!j.lat_ns || !ws || !th) {
        fprintf(stderr, "load: out of memory\n");
        free(ws);
        free(th);
        return 2;
    }
    pthread_mutex_init(&j.err_mu, NULL);
    pthread_barrier_init(&j.start, NULL, (unsigned)nw + 1);

    for (int i = 0; i < nw; i++) {
        ws[i].j = &j;
        if (pthread_create(&th[i], NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "load: cannot start thread\n");
            return 2;
        }
    }
    /* The clock starts once every connection is open. */
    pthread_barrier_wait(&j.start);
    double cpu0 = cpu_secs();
    uint64_t t0 = mono_ns();
    for (int i = 0; i < nw; i++) pthread_join(th[i], NULL);
    uint64_t t1 = mono_ns();
    double cpu = cpu_secs() - cpu0;

    int rc = 0;
    for (int i = 0; i < nw; i++) {
        if (ws[i].setup_failed) {
            fprintf(stderr, "load: worker %d: %s\n", i, ws[i].why);
            rc = 1;
        }
    }
    uint64_t nerr = atomic_load(&j.nerr);
    uint64_t acked = atomic_load(&j.acked_rows);
    uint64_t sent = atomic_load(&j.sent_rows);
    if (nerr || rc || atomic_load(&j.abort) || acked != sent || (!o.until_file && sent != rows)) {
        fprintf(stderr,
                "load: %" PRIu64 " failed requests, %" PRIu64 " of %" PRIu64
                " rows acknowledged; results are not valid\n",
                nerr, acked, o.until_file ? sent : rows);
        rc = 1;
    }
    /* Percentiles over the requests actually sent (an aborted run leaves some unsent). */
    size_t nlat = 0;
    for (size_t i = 0; i < j.nreq; i++)
        if (j.lat_ns[i]) j.lat_ns[nlat++] = j.lat_ns[i];

    double secs = (double)(t1 - t0) / 1e9;
    if (secs <= 0) secs = 1e-9;
    qsort(j.lat_ns, nlat, sizeof *j.lat_ns, cmp_u64);
    double p50 = pct_ms(j.lat_ns, nlat, 50), p99 = pct_ms(j.lat_ns, nlat, 99);
    double pmax = nlat ? (double)j.lat_ns[nlat - 1] / 1e6 : 0;
    /* Rates count acknowledged rows only, so a failed run cannot look fast. */
    uint64_t values = acked * fields;
    printf("%s: %" PRIu64 " rows (%" PRIu64 " values, %" PRIu64 " fields/row) in %zu batches of "
           "%" PRIu64 " over %d connections: %.3f s, %.0f rows/s, %.0f values/s, "
           "batch latency p50 %.1f ms p99 %.1f ms max %.1f ms, loader cpu %.2f s%s\n",
           o.name, acked, values, fields, nlat, o.batch, nw, secs, (double)acked / secs,
           (double)values / secs, p50, p99, pmax, cpu, rc ? " (FAILED)" : "");
    printf("RESULT name=%s ok=%d file_rows=%" PRIu64 " rows=%" PRIu64 " values=%" PRIu64
           " fields=%" PRIu64 " batches=%zu batch=%" PRIu64 " workers=%d errors=%" PRIu64
           " secs=%.3f"
           " rows_per_s=%.0f values_per_s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f"
           " loader_cpu_s=%.2f\n",
           o.name, rc == 0, rows, acked, values, fields, nlat, o.batch, nw, nerr, secs,
           (double)acked / secs, (double)values / secs, p50, p99, pmax, cpu);
    fflush(stdout);

    pthread_barrier_destroy(&j.start);
    pthread_mutex_destroy(&j.err_mu);
    freeaddrinfo(j.tgt.ai);
    free(ws);
    free(th);
    free(j.lat_ns);
    free(j.b);
    free(hdrs);
    free(data);
    return rc;
}
