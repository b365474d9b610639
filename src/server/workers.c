/* Worker threads: see workers.h. One mutex guards a FIFO of jobs and the thread counts; a
 * job is handed to an idle thread when there is one, else a thread is started for it. */
#include "server/workers.h"

#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct job {
    struct job *next;
    void (*fn)(void *);
    void *arg;
};

struct workers {
    pthread_mutex_t mu;
    pthread_cond_t work; /* a job was queued, or stop */
    pthread_cond_t gone; /* a thread ended */
    struct job *first, *last;
    unsigned threads, idle, keep;
    int64_t idle_ms;
    bool stop;
};

static void *worker_main(void *arg) {
    workers *w = arg;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->first && !w->stop) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += w->idle_ms / 1000;
            ts.tv_nsec += (w->idle_ms % 1000) * 1000000L;
            if (ts.tv_nsec >= 1000000000L) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000L;
            }
            w->idle++;
            int rc = pthread_cond_timedwait(&w->work, &w->mu, &ts);
            w->idle--;
            if (rc == ETIMEDOUT && !w->first && w->threads > w->keep) goto out;
        }
        if (!w->first) break; /* stop, and nothing left to do */
        struct job *j = w->first;
        w->first = j->next;
        if (!w->first) w->last = NULL;
        pthread_mutex_unlock(&w->mu);
        j->fn(j->arg);
        free(j);
        pthread_mutex_lock(&w->mu);
    }
out:
    w->threads--;
    pthread_cond_broadcast(&w->gone);
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

workers *workers_new(unsigned keep, int64_t idle_ms) {
    workers *w = xcalloc(1, sizeof *w);
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->work, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&w->gone, NULL);
    w->keep = keep;
    w->idle_ms = idle_ms > 0 ? idle_ms : 1000;
    return w;
}

int workers_submit(workers *w, void (*fn)(void *), void *arg) {
    struct job *j = xmalloc(sizeof *j);
    *j = (struct job){NULL, fn, arg};
    pthread_mutex_lock(&w->mu);
    /* Jobs already queued are waiting for the idle threads too. */
    size_t queued = 0;
    for (struct job *q = w->first; q && queued <= w->idle; q = q->next) queued++;
    if (queued >= w->idle) {
        pthread_t t;
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
        int rc = pthread_create(&t, &at, worker_main, w);
        pthread_attr_destroy(&at);
        if (rc == 0) {
            w->threads++;
        } else if (w->threads == 0) {
            pthread_mutex_unlock(&w->mu);
            free(j);
            log_error("http: cannot start a worker thread: %s", strerror(rc));
            return -1;
        }
    }
    if (w->last)
        w->last->next = j;
    else
        w->first = j;
    w->last = j;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->mu);
    return 0;
}

void workers_free(workers *w) {
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    pthread_cond_broadcast(&w->work);
    while (w->threads > 0) pthread_cond_wait(&w->gone, &w->mu);
    pthread_mutex_unlock(&w->mu);
    pthread_cond_destroy(&w->work);
    pthread_cond_destroy(&w->gone);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
