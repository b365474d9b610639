/* The connection guard: see conns.h.
 *
 * Connections with a deadline sit in one list per state (idle, head, body), each in the order
 * of the time its deadline counts from, so the expired ones are always at the front and the
 * longest-waiting one for a request is the older of the idle and head fronts: expiry and
 * eviction touch only the connections they shut. A shut connection leaves
 * the lists at once and is forgotten when the event loop reports it closed. */
#include "server/conns.h"

#include "util/mem.h"
#include "util/timeutil.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>

enum cstate { CS_IDLE, CS_HEAD, CS_BODY, CS_WORK, CS_SHUT };

struct conn {
    struct conn *prev, *next; /* in the list of its state (idle, head and body) */
    int fd;
    enum cstate state;
    int64_t since_ms; /* when it entered its state */
};

struct clist {
    conn *first, *last;
    size_t n;
};

struct conns {
    pthread_mutex_t mu;
    conns_opts o;
    struct clist lists[CS_WORK]; /* idle, head, body */
    size_t open, work, shut;
    uint64_t expired, evicted;
    /* the reaper */
    pthread_t thread;
    bool running, stop;
    pthread_cond_t cv;
};

static void list_push(struct clist *l, conn *k) {
    k->next = NULL;
    k->prev = l->last;
    if (l->last)
        l->last->next = k;
    else
        l->first = k;
    l->last = k;
    l->n++;
}

static void list_remove(struct clist *l, conn *k) {
    if (k->prev)
        k->prev->next = k->next;
    else
        l->first = k->next;
    if (k->next)
        k->next->prev = k->prev;
    else
        l->last = k->prev;
    k->prev = k->next = NULL;
    l->n--;
}

/* Takes k out of the bookkeeping of its current state. */
static void leave_locked(conns *g, conn *k) {
    if (k->state < CS_WORK)
        list_remove(&g->lists[k->state], k);
    else if (k->state == CS_WORK)
        g->work--;
    else
        g->shut--;
}

static void enter_locked(conns *g, conn *k, enum cstate s, int64_t now_ms) {
    k->state = s;
    k->since_ms = now_ms;
    if (s < CS_WORK)
        list_push(&g->lists[s], k);
    else if (s == CS_WORK)
        g->work++;
    else
        g->shut++;
}

/* The descriptor stays open (the event loop closes it when it sees the end of file), so it
 * cannot be reused under us: conns_close, which precedes the close, waits for this mutex. */
static void shut_locked(conns *g, conn *k) {
    leave_locked(g, k);
    enter_locked(g, k, CS_SHUT, k->since_ms);
    shutdown(k->fd, SHUT_RDWR);
}

conns *conns_new(const conns_opts *o) {
    conns *g = xcalloc(1, sizeof *g);
    g->o = *o;
    pthread_mutex_init(&g->mu, NULL);
    pthread_cond_init(&g->cv, NULL);
    return g;
}

void conns_free(conns *g) {
    if (!g) return;
    if (g->running) {
        pthread_mutex_lock(&g->mu);
        g->stop = true;
        pthread_cond_signal(&g->cv);
        pthread_mutex_unlock(&g->mu);
        pthread_join(g->thread, NULL);
    }
    pthread_cond_destroy(&g->cv);
    pthread_mutex_destroy(&g->mu);
    free(g);
}

static void *reaper_main(void *arg) {
    conns *g = arg;
    pthread_mutex_lock(&g->mu);
    while (!g->stop) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += 100 * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g->cv, &g->mu, &ts);
        if (g->stop) break;
        pthread_mutex_unlock(&g->mu);
        conns_expire(g, time_mono_ns() / 1000000);
        pthread_mutex_lock(&g->mu);
    }
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

void conns_run_reaper(conns *g) {
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&g->cv);
    pthread_cond_init(&g->cv, &ca);
    pthread_condattr_destroy(&ca);
    g->running = pthread_create(&g->thread, NULL, reaper_main, g) == 0;
}

conn *conns_open(conns *g, int fd, int64_t now_ms) {
    conn *k = xcalloc(1, sizeof *k);
    k->fd = fd;
    pthread_mutex_lock(&g->mu);
    g->open++;
    enter_locked(g, k, CS_IDLE, now_ms);
    if (g->o.max && g->open - g->shut > g->o.max) {
        /* Make room: the connection that has waited longest for a request goes (the new one
         * itself when every other connection is busy: a clean refusal). */
        conn *a = g->lists[CS_IDLE].first, *b = g->lists[CS_HEAD].first;
        conn *victim = !b || (a && a->since_ms <= b->since_ms) ? a : b;
        shut_locked(g, victim);
        g->evicted++;
    }
    pthread_mutex_unlock(&g->mu);
    return k;
}

static void move(conns *g, conn *k, enum cstate s, int64_t now_ms) {
    pthread_mutex_lock(&g->mu);
    if (k->state != CS_SHUT) {
        leave_locked(g, k);
        enter_locked(g, k, s, now_ms);
    }
    pthread_mutex_unlock(&g->mu);
}

void conns_head(conns *g, conn *k, int64_t now_ms) {
    move(g, k, CS_HEAD, now_ms);
}

void conns_body(conns *g, conn *k, int64_t now_ms) {
    move(g, k, CS_BODY, now_ms);
}

void conns_work(conns *g, conn *k) {
    move(g, k, CS_WORK, 0);
}

void conns_idle(conns *g, conn *k, int64_t now_ms) {
    move(g, k, CS_IDLE, now_ms);
}

void conns_close(conns *g, conn *k) {
    if (!k) return;
    pthread_mutex_lock(&g->mu);
    leave_locked(g, k);
    g->open--;
    pthread_mutex_unlock(&g->mu);
    free(k);
}

static size_t expire_list_locked(conns *g, struct clist *l, int64_t limit_ms, int64_t now_ms) {
    size_t n = 0;
    if (limit_ms <= 0) return 0;
    while (l->first && now_ms - l->first->since_ms >= limit_ms) {
        shut_locked(g, l->first);
        n++;
    }
    return n;
}

size_t conns_expire(conns *g, int64_t now_ms) {
    pthread_mutex_lock(&g->mu);
    size_t n = expire_list_locked(g, &g->lists[CS_IDLE], g->o.idle_ms, now_ms) +
               expire_list_locked(g, &g->lists[CS_HEAD], g->o.header_ms, now_ms) +
               expire_list_locked(g, &g->lists[CS_BODY], g->o.body_ms, now_ms);
    g->expired += n;
    pthread_mutex_unlock(&g->mu);
    return n;
}

void conns_get_stats(conns *g, conns_stats *out) {
    pthread_mutex_lock(&g->mu);
    *out = (conns_stats){.open = g->open - g->shut,
                         .idle = g->lists[CS_IDLE].n,
                         .head = g->lists[CS_HEAD].n,
                         .body = g->lists[CS_BODY].n,
                         .work = g->work,
                         .expired = g->expired,
                         .evicted = g->evicted};
    pthread_mutex_unlock(&g->mu);
}
