/* The connection guard: every open HTTP connection, what it is waiting for, and how long it
 * may wait.
 *
 * A connection is in one of four states:
 *   idle - open, no request started (just accepted, or its last response was sent); it may
 *          stay so for `idle_ms`;
 *   head - its request line has arrived; the rest of the head (the headers) must follow within
 *          `header_ms` of it, however slowly the bytes trickle in (slowloris);
 *   body - the head is complete and the body is arriving; it may fall silent for `body_ms`;
 *   work - the request is being handled or answered. No deadline here: a handler runs as long
 *          as the query or write needs, and libmicrohttpd's own inactivity timeout closes a
 *          connection whose client stops reading its response.
 * Past its deadline a connection is shut down (shutdown(2) both ways: the peer gets a FIN, the
 * event loop sees end of file and closes it). When a connection opens and `max` are already
 * open, the one that has waited longest in idle or head is shut down to make room, so idle
 * and half-sent heads can never lock out a new client (ping, an administrator): only
 * connections with a whole request count against the limit for good.
 *
 * The guard never closes a descriptor and never touches one after conns_close: that call,
 * made before the event loop closes the socket, and every shutdown run under one mutex.
 * Thread safety: every function may be called from any thread. Times are monotonic
 * milliseconds passed in by the caller (conns_run_reaper uses time_mono_ns), so tests can
 * drive the clock. */
#ifndef STRATA_SERVER_CONNS_H
#define STRATA_SERVER_CONNS_H

#include <stddef.h>
#include <stdint.h>

typedef struct conns conns;
typedef struct conn conn;

typedef struct conns_opts {
    int64_t idle_ms;   /* longest wait for a request line (0 = no limit) */
    int64_t header_ms; /* longest wait from the request line to the end of the head (0 = none) */
    int64_t body_ms;   /* longest silence while a body arrives (0 = no limit) */
    size_t max;        /* open connections past which the longest-waiting one is shut down */
} conns_opts;

conns *conns_new(const conns_opts *o);
/* Stops the reaper (if running) and frees the guard; every conn must have been closed. */
void conns_free(conns *g);
/* Starts a thread that calls conns_expire every 100 ms. */
void conns_run_reaper(conns *g);

/* A new connection on socket fd, idle from now on. */
conn *conns_open(conns *g, int fd, int64_t now_ms);
/* Its request line arrived. */
void conns_head(conns *g, conn *k, int64_t now_ms);
/* Its head is complete and its body (if any) is arriving; conns_body again on every piece. */
void conns_body(conns *g, conn *k, int64_t now_ms);
/* Its request is complete and being handled: no deadline until conns_idle. */
void conns_work(conns *g, conn *k);
/* Its response was sent (or the request ended): idle again. */
void conns_idle(conns *g, conn *k, int64_t now_ms);
/* The socket is about to be closed: forget it (frees k). */
void conns_close(conns *g, conn *k);

/* Shuts down every connection past its deadline; returns how many. */
size_t conns_expire(conns *g, int64_t now_ms);

typedef struct conns_stats {
    size_t open, idle, head, body, work;
    uint64_t expired, evicted; /* totals since start */
} conns_stats;
void conns_get_stats(conns *g, conns_stats *out);

#endif
