/* httpc.h: the HTTP/1.1 client side the benchmark programs share (bench/load.c,
 * bench/qclient.c): one keep-alive connection, a buffered reader, response framing
 * (Content-Length, chunked, to close) and a request sent as one sendmsg of header and body.
 *
 * Header-only on purpose: each bench program is built from its one .c file (Makefile rule
 * build/bench/%), so what they share is included rather than linked. A response body is kept
 * up to resp.cap bytes (the rest is read and dropped), or whole when resp.grow is set. */
#ifndef STRATA_BENCH_HTTPC_H
#define STRATA_BENCH_HTTPC_H

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#define RBUF_SIZE 65536

/* strerror is not thread safe; load.c's workers report errors concurrently. GNU strerror_r
 * (_GNU_SOURCE) returns the message, which may or may not be in buf. */
#define ERRSTR(e) strerror_r((e), (char[128]){0}, 128)

/* Buffered reader over one connection's socket (buf holds RBUF_SIZE bytes). */
struct conn {
    int fd;
    char *buf;
    size_t start, end;
    uint64_t served; /* requests answered on this connection */
};

struct resp {
    int status;
    bool close; /* the server will close, or the body is delimited by close */
    bool grow;  /* keep the whole body (body reallocated), else at most cap bytes */
    char *body;
    size_t body_len, cap;
};

static int resp_keep(struct resp *r, const char *p, size_t n) {
    if (r->body_len + n > r->cap) {
        if (!r->grow) {
            n = r->cap - r->body_len;
        } else {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->body_len + n) cap *= 2;
            char *b = realloc(r->body, cap);
            if (!b) return -1;
            r->body = b;
            r->cap = cap;
        }
    }
    memcpy(r->body + r->body_len, p, n);
    r->body_len += n;
    return 0;
}

/* Connects to the first address of ai that answers; hostport names it in the error. */
static int conn_open(const struct addrinfo *ai0, const char *hostport, int timeout_s,
                     struct conn *c, char *why, size_t whycap) {
    int last = 0;
    for (const struct addrinfo *ai = ai0; ai; ai = ai->ai_next) {
        int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct timeval tv = {.tv_sec = timeout_s};
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            c->fd = fd;
            c->start = c->end = 0;
            c->served = 0;
            return 0;
        }
        last = errno;
        close(fd);
    }
    snprintf(why, whycap, "connect to %.200s: %s", hostport, ERRSTR(last));
    return -1;
}

static void conn_close(struct conn *c) {
    if (c->fd >= 0) close(c->fd);
    c->fd = -1;
}

/* Reads more bytes into the buffer, compacting it first. 0 on data, -1 on error or EOF. */
static int conn_fill(struct conn *c, char *why, size_t whycap) {
    if (c->start > 0) {
        memmove(c->buf, c->buf + c->start, c->end - c->start);
        c->end -= c->start;
        c->start = 0;
    }
    if (c->end == RBUF_SIZE) {
        snprintf(why, whycap, "response line or header longer than %d bytes", RBUF_SIZE);
        return -1;
    }
    for (;;) {
        ssize_t n = recv(c->fd, c->buf + c->end, RBUF_SIZE - c->end, 0);
        if (n > 0) {
            c->end += (size_t)n;
            return 0;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0)
            snprintf(why, whycap, "connection closed by server");
        else if (errno == EAGAIN || errno == EWOULDBLOCK)
            snprintf(why, whycap, "timed out");
        else
            snprintf(why, whycap, "recv: %s", ERRSTR(errno));
        return -1;
    }
}

/* Returns the next line (without CRLF), valid until the next read. */
static int conn_line(struct conn *c, const char **line, size_t *len, char *why, size_t whycap) {
    for (;;) {
        char *nl = memchr(c->buf + c->start, '\n', c->end - c->start);
        if (nl) {
            size_t l = (size_t)(nl - (c->buf + c->start));
            *line = c->buf + c->start;
            c->start += l + 1;
            if (l && (*line)[l - 1] == '\r') l--;
            *len = l;
            return 0;
        }
        if (conn_fill(c, why, whycap) < 0) return -1;
    }
}

/* Consumes n body bytes (or all until EOF when n is SIZE_MAX), keeping the start in r->body. */
static int conn_body(struct conn *c, size_t n, struct resp *r, char *why, size_t whycap) {
    bool to_eof = n == SIZE_MAX;
    while (n > 0) {
        if (c->start == c->end) {
            if (c->start > 0) c->start = c->end = 0;
            ssize_t got = recv(c->fd, c->buf, RBUF_SIZE, 0);
            if (got < 0 && errno == EINTR) continue;
            if (got == 0 && to_eof) return 0;
            if (got <= 0) {
                snprintf(why, whycap, "%s while reading the response body",
                         got == 0 ? "connection closed" : ERRSTR(errno));
                return -1;
            }
            c->end = (size_t)got;
        }
        size_t take = c->end - c->start;
        if (take > n) take = n;
        if (resp_keep(r, c->buf + c->start, take) < 0) {
            snprintf(why, whycap, "out of memory for the response body");
            return -1;
        }
        c->start += take;
        if (!to_eof) n -= take;
    }
    return 0;
}

static bool hdr_is(const char *line, size_t len, const char *name, const char **val, size_t *vlen) {
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0) return false;
    const char *v = line + nl + 1;
    const char *e = line + len;
    while (v < e && (*v == ' ' || *v == '\t')) v++;
    while (e > v && (e[-1] == ' ' || e[-1] == '\t')) e--;
    *val = v;
    *vlen = (size_t)(e - v);
    return true;
}

static bool has_token(const char *v, size_t n, const char *tok) {
    size_t tl = strlen(tok);
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(v + i, tok, tl) == 0) return true;
    return false;
}

/* Reads one response; got_any tells the caller whether the server said anything at all (a
 * silent close on a reused connection is the keep-alive race, worth one retry). */
static int read_response(struct conn *c, struct resp *r, bool *got_any, char *why, size_t whycap) {
    const char *line;
    size_t len;
    *got_any = false;
    for (;;) {
        if (conn_line(c, &line, &len, why, whycap) < 0) return -1;
        *got_any = true;
        if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0 || line[8] != ' ' || line[9] < '1' ||
            line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
            (len > 12 && line[12] != ' ')) {
            snprintf(why, whycap, "bad status line '%.*s'", (int)(len < 80 ? len : 80), line);
            return -1;
        }
        r->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        bool http10 = line[7] == '0';
        r->close = http10;
        r->body_len = 0;
        size_t clen = SIZE_MAX;
        bool chunked = false;
        for (;;) {
            if (conn_line(c, &line, &len, why, whycap) < 0) return -1;
            if (len == 0) break;
            const char *v;
            size_t vl;
            if (hdr_is(line, len, "Content-Length", &v, &vl)) {
                size_t x = 0;
                if (vl == 0 || vl > 18) goto bad_len;
                for (size_t i = 0; i < vl; i++) {
                    if (v[i] < '0' || v[i] > '9') goto bad_len;
                    x = x * 10 + (size_t)(v[i] - '0');
                }
                clen = x;
            } else if (hdr_is(line, len, "Transfer-Encoding", &v, &vl)) {
                chunked = has_token(v, vl, "chunked");
            } else if (hdr_is(line, len, "Connection", &v, &vl)) {
                if (has_token(v, vl, "close"))
                    r->close = true;
                else if (has_token(v, vl, "keep-alive"))
                    r->close = false;
            }
        }
        if (r->status < 200) continue; /* 100 Continue and friends: the real answer follows */
        if (r->status == 204 || r->status == 304) return 0;
        if (chunked) {
            for (;;) {
                if (conn_line(c, &line, &len, why, whycap) < 0) return -1;
                size_t sz = 0, i = 0;
                for (; i < len && i < 15; i++) {
                    char ch = line[i];
                    int dv = ch >= '0' && ch <= '9'   ? ch - '0'
                             : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                             : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                                      : -1;
                    if (dv < 0) break;
                    sz = sz * 16 + (size_t)dv;
                }
                if (i == 0 || (i < len && line[i] != ';' && line[i] != ' ')) {
                    snprintf(why, whycap, "bad chunk size line");
                    return -1;
                }
                if (sz == 0) break;
                if (conn_body(c, sz, r, why, whycap) < 0) return -1;
                if (conn_line(c, &line, &len, why, whycap) < 0) return -1;
                if (len != 0) {
                    snprintf(why, whycap, "chunk not followed by CRLF");
                    return -1;
                }
            }
            do { /* trailers up to the empty line */
                if (conn_line(c, &line, &len, why, whycap) < 0) return -1;
            } while (len != 0);
            return 0;
        }
        if (clen != SIZE_MAX) return conn_body(c, clen, r, why, whycap);
        r->close = true; /* body runs to the end of the connection */
        return conn_body(c, SIZE_MAX, r, why, whycap);
    }
bad_len:
    snprintf(why, whycap, "bad Content-Length");
    return -1;
}

static int send_all(int fd, const char *h, size_t hl, const char *body, size_t bl, char *why,
                    size_t whycap) {
    struct iovec iov[2] = {{(void *)h, hl}, {(void *)body, bl}};
    struct iovec *v = iov;
    int cnt = bl ? 2 : 1;
    while (cnt > 0) {
        struct msghdr m = {.msg_iov = v, .msg_iovlen = (size_t)cnt};
        ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            snprintf(why, whycap, "send: %s", errno == EAGAIN ? "timed out" : ERRSTR(errno));
            return -1;
        }
        size_t left = (size_t)n;
        while (cnt > 0 && left >= v->iov_len) {
            left -= v->iov_len;
            v++;
            cnt--;
        }
        if (cnt > 0) {
            v->iov_base = (char *)v->iov_base + left;
            v->iov_len -= left;
        }
    }
    return 0;
}

#endif
