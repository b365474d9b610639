/* qclient: times HTTP requests for bench/tsbs_queries.py without the Python interpreter in the
 * timed path.
 *
 * A query's latency here is a fraction of a millisecond, of which a Python HTTP client
 * (http.client: request formatting, header parsing through the email package, its cache
 * misses after another system's query) would add a large and system-independent share, and
 * TSBS's own query runner is a compiled program. So the driver formats each request itself
 * and hands it to this child over a pipe; the clock runs from just before the request's one
 * sendmsg to the last byte of the response, on one kept-alive connection per child (one child
 * per system under test).
 *
 * Protocol on stdin/stdout, one exchange at a time:
 *   in:  "<n>\n" then n bytes: a complete HTTP/1.1 request
 *   out: "<status> <elapsed_ns> <body_len>\n" then body_len bytes of the (unchunked) body;
 *        status 0 when no response came, the body then says why.
 * Usage: qclient HOST PORT [TIMEOUT_S] */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "httpc.h"

static uint64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* One request over c, reconnecting once when a kept-alive connection turned out closed. */
static int exchange(const struct addrinfo *ai, const char *hostport, int timeout_s, struct conn *c,
                    const char *req, size_t n, struct resp *r, uint64_t *ns, char *why,
                    size_t whycap) {
    for (int tries = 0;; tries++) {
        if (c->fd < 0 && conn_open(ai, hostport, timeout_s, c, why, whycap) < 0) return -1;
        bool got_any = false, reused = c->served > 0;
        r->body_len = 0;
        uint64_t t0 = mono_ns();
        int rc = send_all(c->fd, req, n, NULL, 0, why, whycap);
        if (rc == 0) rc = read_response(c, r, &got_any, why, whycap);
        *ns = mono_ns() - t0;
        if (rc == 0) {
            c->served++;
            if (r->close) conn_close(c);
            return 0;
        }
        conn_close(c);
        if (!reused || got_any || tries > 0) return -1;
    }
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: qclient HOST PORT [TIMEOUT_S]\n");
        return 2;
    }
    int timeout_s = argc > 3 ? atoi(argv[3]) : 600;
    char hostport[300];
    snprintf(hostport, sizeof hostport, "%s:%s", argv[1], argv[2]);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai;
    int g = getaddrinfo(argv[1], argv[2], &hints, &ai);
    if (g) {
        fprintf(stderr, "qclient: %s: %s\n", hostport, gai_strerror(g));
        return 2;
    }
    struct conn c = {.fd = -1, .buf = malloc(RBUF_SIZE)};
    struct resp r = {.grow = true};
    char *req = NULL;
    size_t reqcap = 0;
    if (!c.buf) return 2;
    for (;;) {
        size_t n;
        if (scanf("%zu", &n) != 1 || getchar() != '\n') break;
        if (n > reqcap) {
            char *p = realloc(req, n);
            if (!p) return 2;
            req = p;
            reqcap = n;
        }
        if (fread(req, 1, n, stdin) != n) break;
        char why[256] = "";
        uint64_t ns = 0;
        if (exchange(ai, hostport, timeout_s, &c, req, n, &r, &ns, why, sizeof why) < 0) {
            printf("0 %" PRIu64 " %zu\n%s", ns, strlen(why), why);
        } else {
            printf("%d %" PRIu64 " %zu\n", r.status, ns, r.body_len);
            fwrite(r.body, 1, r.body_len, stdout);
        }
        if (fflush(stdout) != 0) break;
    }
    conn_close(&c);
    free(c.buf);
    free(r.body);
    free(req);
    freeaddrinfo(ai);
    return 0;
}
