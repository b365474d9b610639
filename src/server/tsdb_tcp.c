/* OpenTSDB's telnet-style TCP listener: see tsdb_tcp.h. */
#include "server/tsdb_tcp.h"

#include "ingest/opentsdb.h"
#include "ingest/write.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/mem.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A connection is not read from while this much of its answers waits to be sent. */
#define OUT_MAX (256u << 10)
/* Bytes read from one connection per round, and the round's batch size after which the other
 * connections wait for the next round: bounds the memory of a round. */
#define READ_PER_ROUND (256u << 10)
#define BATCH_MAX (8u << 20)

struct tconn {
    int fd;
    buf in, out;
    bool skipping; /* inside a line longer than TSDB_TCP_MAX_LINE: dropped up to its end */
    bool closing;  /* EOF, an error or `exit`: closed once its answers are sent (or cannot be) */
    char peer[64];
};

/* A `put` line of the round's batch: its connection and where it is in the batch text. */
struct pend {
    size_t conn;
    size_t off, len;
};

struct tsdb_tcp {
    int lfd, wake[2], port;
    char *tenant, *db;
    metrics *met;
    catalog *cat;
    engine *eng;
    pthread_t th;
    bool running;
    atomic_bool stop;
    struct tconn *conns[TSDB_TCP_MAX_CONNS];
    size_t nconns;
    buf batch; /* the round's valid put lines, each ended by '\n' */
    struct pend *pend;
    size_t npend, cap_pend;
    uint64_t lines, bad; /* of the round, for metrics */
    arena *scratch;      /* a line's points while it is checked */
};

int tsdb_tcp_open(const tsdb_tcp_opts *o, tsdb_tcp **out, err *e) {
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)o->port);
    if (inet_pton(AF_INET, o->host, &addr.sin_addr) != 1)
        return err_set(e, 0, EC_GENERIC, "opentsdb: invalid tcp_listen_host '%s'", o->host);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 1024) < 0) {
        int en = errno;
        if (fd >= 0) close(fd);
        return err_set(e, 0, EC_GENERIC, "opentsdb: cannot listen on %s:%d: %s", o->host, o->port,
                       strerror(en));
    }
    tsdb_tcp *t = xcalloc(1, sizeof *t);
    if (pipe2(t->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        int en = errno;
        close(fd);
        free(t);
        return err_set(e, 0, EC_GENERIC, "opentsdb: pipe: %s", strerror(en));
    }
    struct sockaddr_in bound;
    socklen_t bl = sizeof bound;
    t->port =
        getsockname(fd, (struct sockaddr *)&bound, &bl) == 0 ? ntohs(bound.sin_port) : o->port;
    t->lfd = fd;
    t->tenant = xstrdup(o->tenant);
    t->db = xstrdup(o->db);
    t->met = o->met;
    t->scratch = arena_new(0);
    atomic_init(&t->stop, false);
    buf_init(&t->batch);
    *out = t;
    return 0;
}

int tsdb_tcp_port(const tsdb_tcp *t) {
    return t->port;
}

/* ------------------------------------------------------------------ connections */

static void reply(struct tconn *k, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct tconn *k, const char *fmt, ...) {
    if (k->out.len > OUT_MAX) return; /* it does not read its answers: they are dropped */
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
    line[len++] = '\n';
    buf_append(&k->out, line, len);
}

static void conn_accept(tsdb_tcp *t) {
    for (;;) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int fd = accept4(t->lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_warn("opentsdb: accept: %s", strerror(errno));
            return;
        }
        if (t->nconns == TSDB_TCP_MAX_CONNS) {
            log_warn("opentsdb: %d connections open: refusing another", TSDB_TCP_MAX_CONNS);
            close(fd);
            continue;
        }
        struct tconn *k = xcalloc(1, sizeof *k);
        k->fd = fd;
        char ip[INET_ADDRSTRLEN] = "?";
        inet_ntop(AF_INET, &peer.sin_addr, ip, sizeof ip);
        snprintf(k->peer, sizeof k->peer, "%s:%u", ip, ntohs(peer.sin_port));
        buf_init(&k->in);
        buf_init(&k->out);
        t->conns[t->nconns++] = k;
        metrics_tsdb_tcp(t->met, 1, 0, 0);
        log_debug("opentsdb: connection from %s", k->peer);
    }
}

static void conn_free(tsdb_tcp *t, struct tconn *k) {
    log_debug("opentsdb: connection from %s closed", k->peer);
    close(k->fd);
    buf_free(&k->in);
    buf_free(&k->out);
    free(k);
    metrics_tsdb_tcp(t->met, -1, 0, 0);
}

/* The reason of a parse error without the HTTP body's "Error parsing message: line N: ". */
static const char *why(const err *e) {
    const char *m = e->msg;
    if (!strncmp(m, "Error parsing message: line ", 28)) {
        const char *colon = strstr(m + 28, ": ");
        if (colon) return colon + 2;
    }
    return m;
}

/* One command line (without its line end) of connection ci. */
static void handle_line(tsdb_tcp *t, size_t ci, const char *p, size_t len) {
    struct tconn *k = t->conns[ci];
    if (len && p[len - 1] == '\r') len--;
    while (len && (*p == ' ' || *p == '\t')) p++, len--;
    if (!len) return;
    t->lines++;
    size_t wl = 0;
    while (wl < len && p[wl] != ' ' && p[wl] != '\t') wl++;
    if (wl == 3 && !memcmp(p, "put", 3)) {
        point_batch pb = {0};
        err e;
        err_clear(&e);
        int rc = tsdb_parse_text(t->scratch, p, len, &pb, &e);
        arena_reset(t->scratch);
        if (rc < 0) {
            t->bad++;
            reply(k, "put: illegal argument: %s", why(&e));
            return;
        }
        if (t->npend == t->cap_pend) {
            t->cap_pend = t->cap_pend ? 2 * t->cap_pend : 256;
            t->pend = xrealloc(t->pend, sizeof *t->pend * t->cap_pend);
        }
        t->pend[t->npend++] = (struct pend){ci, t->batch.len, len};
        buf_append(&t->batch, p, len);
        buf_putc(&t->batch, '\n');
    } else if (wl == 7 && !memcmp(p, "version", 7)) {
        reply(k, "net.opentsdb.tools BuildData built at revision %s (Strata)", STRATA_REVISION);
        reply(k, "Strata %s: OpenTSDB's telnet put into %s.%s", STRATA_VERSION, t->tenant, t->db);
    } else if (wl == 4 && !memcmp(p, "help", 4)) {
        reply(k, "available commands: put version help exit");
    } else if (wl == 4 && !memcmp(p, "exit", 4)) {
        k->closing = true;
    } else {
        t->bad++;
        reply(k, "unknown command: %.*s.  Try `help'.", (int)(wl > 64 ? 64 : wl), p);
    }
}

/* The complete lines in k's input; with eof, the last one even without its line end. */
static void handle_input(tsdb_tcp *t, size_t ci, bool eof) {
    struct tconn *k = t->conns[ci];
    size_t start = 0;
    while (start < k->in.len && !k->closing) {
        const char *p = k->in.p + start;
        const char *nl = memchr(p, '\n', k->in.len - start);
        size_t len = nl ? (size_t)(nl - p) : k->in.len - start;
        if (!nl && !eof) {
            if (len <= TSDB_TCP_MAX_LINE) break; /* the rest of the line is still coming */
            if (!k->skipping) {
                t->lines++, t->bad++;
                reply(k, "put: illegal argument: line longer than %d bytes", TSDB_TCP_MAX_LINE);
            }
            k->skipping = true;
            start = k->in.len;
            break;
        }
        if (k->skipping) {
            k->skipping = false; /* the end of the long line */
        } else if (len > TSDB_TCP_MAX_LINE) {
            /* the whole long line arrived in one read: refused as one arriving in pieces is */
            t->lines++, t->bad++;
            reply(k, "put: illegal argument: line longer than %d bytes", TSDB_TCP_MAX_LINE);
        } else {
            handle_line(t, ci, p, len);
        }
        start += len + (nl ? 1 : 0);
    }
    if (k->closing) start = k->in.len;
    if (start) memmove(k->in.p, k->in.p + start, k->in.len - start);
    k->in.len -= start;
}

static void conn_read(tsdb_tcp *t, size_t ci) {
    struct tconn *k = t->conns[ci];
    size_t got = 0;
    while (got < READ_PER_ROUND && !k->closing) {
        buf_reserve(&k->in, 65536);
        ssize_t n = read(k->fd, k->in.p + k->in.len, k->in.cap - k->in.len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            handle_input(t, ci, true);
            k->closing = true;
            return;
        }
        k->in.len += (size_t)n;
        got += (size_t)n;
        handle_input(t, ci, false);
    }
}

/* Sends what waits for k; false when the connection is broken. */
static bool conn_write(struct tconn *k) {
    size_t sent = 0;
    while (sent < k->out.len) {
        ssize_t n = send(k->fd, k->out.p + sent, k->out.len - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) return false;
        sent += (size_t)n;
    }
    if (sent) memmove(k->out.p, k->out.p + sent, k->out.len - sent);
    k->out.len -= sent;
    return true;
}

/* ------------------------------------------------------------------ writing */

/* Writes text (valid put lines): its point count, or -1 with e. */
static int64_t write_lines(tsdb_tcp *t, const char *text, size_t len, err *e) {
    arena *a = arena_new(1 << 20);
    point_batch pb = {0};
    int rc = tsdb_parse_text(a, text, len, &pb, e);
    if (rc == 0) {
        tsdb_units_to_ns(&pb);
        rc = ingest_write(t->cat, t->eng, t->tenant, t->db, 1, &pb, a, e);
    }
    size_t n = pb.n;
    arena_free(a);
    if (rc < 0) return -1;
    metrics_written(t->met, n, len);
    return (int64_t)n;
}

/* The round's batch as one record; when it fails, line by line so that only the bad lines are
 * answered with an error. */
static void write_batch(tsdb_tcp *t) {
    if (t->npend) {
        err e;
        err_clear(&e);
        if (write_lines(t, t->batch.p, t->batch.len, &e) < 0) {
            log_debug("opentsdb: a batch of %zu points failed (%s): writing them one by one",
                      t->npend, e.msg);
            for (size_t i = 0; i < t->npend; i++) {
                const struct pend *pd = &t->pend[i];
                err_clear(&e);
                if (write_lines(t, t->batch.p + pd->off, pd->len, &e) < 0) {
                    t->bad++;
                    reply(t->conns[pd->conn], "put: %s", why(&e));
                }
            }
        }
    }
    metrics_tsdb_tcp(t->met, 0, t->lines, t->bad);
    t->lines = t->bad = 0;
    t->npend = 0;
    buf_reset(&t->batch);
}

/* ------------------------------------------------------------------ the thread */

static void *tcp_main(void *arg) {
    tsdb_tcp *t = arg;
    struct pollfd *pfd = xmalloc(sizeof *pfd * (TSDB_TCP_MAX_CONNS + 2));
    while (!atomic_load(&t->stop)) {
        pfd[0] = (struct pollfd){.fd = t->wake[0], .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = t->lfd, .events = POLLIN};
        for (size_t i = 0; i < t->nconns; i++) {
            struct tconn *k = t->conns[i];
            short ev = k->out.len ? POLLOUT : 0;
            if (k->out.len <= OUT_MAX && !k->closing) ev |= POLLIN;
            pfd[i + 2] = (struct pollfd){.fd = k->fd, .events = ev};
        }
        size_t n = t->nconns;
        if (poll(pfd, n + 2, -1) < 0) {
            if (errno == EINTR) continue;
            log_error("opentsdb: poll: %s", strerror(errno));
            break;
        }
        for (size_t i = 0; i < n; i++) {
            short re = pfd[i + 2].revents;
            if (re & (POLLIN | POLLHUP | POLLERR)) {
                if (t->batch.len < BATCH_MAX)
                    conn_read(t, i);
                else if (re & POLLERR)
                    t->conns[i]->closing = true;
            }
        }
        write_batch(t);
        /* answers, then connections that are done (after this round's accepts: indexes of the
         * round's lines stay valid until the batch is written) */
        size_t keep = 0;
        for (size_t i = 0; i < t->nconns; i++) {
            struct tconn *k = t->conns[i];
            bool ok = !k->out.len || conn_write(k);
            if (!ok || (k->closing && !k->out.len))
                conn_free(t, k);
            else
                t->conns[keep++] = k;
        }
        t->nconns = keep;
        if (pfd[1].revents & POLLIN) conn_accept(t);
        if (pfd[0].revents & POLLIN) {
            char drain[16];
            while (read(t->wake[0], drain, sizeof drain) > 0) {
            }
        }
    }
    free(pfd);
    return NULL;
}

int tsdb_tcp_serve(tsdb_tcp *t, catalog *cat, engine *eng, err *e) {
    t->cat = cat;
    t->eng = eng;
    int rc = pthread_create(&t->th, NULL, tcp_main, t);
    if (rc != 0)
        return err_set(e, 0, EC_GENERIC, "opentsdb: cannot start its thread: %s", strerror(rc));
    t->running = true;
    log_info("opentsdb: telnet put listener on port %d, into %s.%s", t->port, t->tenant, t->db);
    return 0;
}

void tsdb_tcp_stop(tsdb_tcp *t) {
    if (!t) return;
    if (t->running) {
        atomic_store(&t->stop, true);
        ssize_t w = write(t->wake[1], "x", 1);
        (void)w;
        pthread_join(t->th, NULL); /* every round ends with its batch written */
    }
    for (size_t i = 0; i < t->nconns; i++) {
        (void)conn_write(t->conns[i]);
        conn_free(t, t->conns[i]);
    }
    close(t->lfd);
    close(t->wake[0]);
    close(t->wake[1]);
    buf_free(&t->batch);
    arena_free(t->scratch);
    free(t->pend);
    free(t->tenant);
    free(t->db);
    free(t);
}
