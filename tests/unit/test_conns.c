/* Unit tests for the connection guard (server/conns.c) and the worker threads
 * (server/workers.c). The guard's clock is driven by the test; each "connection" is one end of
 * a socketpair, and the other end tells whether the guard shut it (recv returns 0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "server/conns.h"
#include "server/workers.h"

typedef struct sock {
    int mine, peer;
    conn *k;
} sock;

static void sock_open(conns *g, sock *s, int64_t now) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    s->mine = sv[0];
    s->peer = sv[1];
    fcntl(s->peer, F_SETFL, O_NONBLOCK);
    s->k = conns_open(g, s->mine, now);
}

/* What the event loop does when it sees the end of file: forget, then close. */
static void sock_close(conns *g, sock *s) {
    conns_close(g, s->k);
    close(s->mine);
    close(s->peer);
}

static bool is_shut(const sock *s) {
    char ch;
    ssize_t n = recv(s->peer, &ch, 1, 0);
    return n == 0;
}

static void test_idle_deadline(void **state) {
    conns *g = conns_new(&(conns_opts){.idle_ms = 1000, .header_ms = 500, .body_ms = 300});
    sock s[3];
    for (int i = 0; i < 3; i++) sock_open(g, &s[i], 100 * i);
    assert_int_equal(conns_expire(g, 999), 0);
    assert_false(is_shut(&s[0]));
    assert_int_equal(conns_expire(g, 1000), 1); /* the first one, opened at 0 */
    assert_true(is_shut(&s[0]));
    assert_false(is_shut(&s[1]));
    assert_int_equal(conns_expire(g, 5000), 2);
    assert_true(is_shut(&s[1]) && is_shut(&s[2]));
    conns_stats st;
    conns_get_stats(g, &st);
    assert_int_equal(st.open, 0);
    assert_int_equal(st.expired, 3);
    for (int i = 0; i < 3; i++) sock_close(g, &s[i]);
    conns_free(g);
}

static void test_header_deadline_counts_from_request_line(void **state) {
    conns *g = conns_new(&(conns_opts){.idle_ms = 1000, .header_ms = 500, .body_ms = 300});
    sock s;
    sock_open(g, &s, 0);
    conns_head(g, s.k, 900); /* the request line came late, but within idle */
    assert_int_equal(conns_expire(g, 1300), 0);
    assert_int_equal(conns_expire(g, 1400), 1);
    assert_true(is_shut(&s));
    /* a shut connection stays shut whatever the event loop reports before closing it */
    conns_body(g, s.k, 1500);
    conns_idle(g, s.k, 1500);
    assert_int_equal(conns_expire(g, 99999), 0);
    sock_close(g, &s);
    conns_free(g);
}

static void test_body_deadline_is_silence(void **state) {
    conns *g = conns_new(&(conns_opts){.idle_ms = 1000, .header_ms = 500, .body_ms = 300});
    sock s;
    sock_open(g, &s, 0);
    conns_head(g, s.k, 10);
    conns_body(g, s.k, 20);
    for (int64_t t = 200; t <= 2000; t += 200) { /* a piece every 200 ms: never silent 300 */
        assert_int_equal(conns_expire(g, t), 0);
        conns_body(g, s.k, t);
    }
    assert_false(is_shut(&s));
    assert_int_equal(conns_expire(g, 2300), 1);
    assert_true(is_shut(&s));
    sock_close(g, &s);
    conns_free(g);
}

static void test_work_has_no_deadline(void **state) {
    conns *g = conns_new(&(conns_opts){.idle_ms = 1000, .header_ms = 500, .body_ms = 300});
    sock s;
    sock_open(g, &s, 0);
    conns_head(g, s.k, 1);
    conns_body(g, s.k, 2);
    conns_work(g, s.k);
    assert_int_equal(conns_expire(g, 1000000), 0);
    assert_false(is_shut(&s));
    conns_idle(g, s.k, 1000000); /* answered: idle again, from now */
    assert_int_equal(conns_expire(g, 1000999), 0);
    assert_int_equal(conns_expire(g, 1001000), 1);
    sock_close(g, &s);
    conns_free(g);
}

static void test_zero_means_no_limit(void **state) {
    conns *g = conns_new(&(conns_opts){0});
    sock s;
    sock_open(g, &s, 0);
    assert_int_equal(conns_expire(g, INT64_MAX / 2), 0);
    conns_head(g, s.k, 0);
    assert_int_equal(conns_expire(g, INT64_MAX / 2), 0);
    sock_close(g, &s);
    conns_free(g);
}

static void test_eviction_takes_longest_waiting(void **state) {
    conns *g = conns_new(&(conns_opts){.max = 3});
    sock s[6];
    sock_open(g, &s[0], 0);
    sock_open(g, &s[1], 1);
    sock_open(g, &s[2], 2);
    conns_head(g, s[0].k, 5); /* s[0] started a request at 5: s[1] has waited longest now */
    conns_body(g, s[2].k, 6); /* s[2] is sending a body: never evicted */
    sock_open(g, &s[3], 10);
    assert_true(is_shut(&s[1]));
    assert_false(is_shut(&s[0]) || is_shut(&s[2]) || is_shut(&s[3]));
    sock_open(g, &s[4], 11); /* s[0] (head since 5) before s[3] (idle since 10) */
    assert_true(is_shut(&s[0]));
    assert_false(is_shut(&s[3]) || is_shut(&s[4]));
    conns_stats st;
    conns_get_stats(g, &st);
    assert_int_equal(st.open, 3);
    assert_int_equal(st.evicted, 2);
    /* everyone busy: the newcomer itself is refused */
    conns_work(g, s[3].k);
    conns_work(g, s[4].k);
    sock_open(g, &s[5], 20);
    assert_true(is_shut(&s[5]));
    assert_false(is_shut(&s[2]) || is_shut(&s[3]) || is_shut(&s[4]));
    for (int i = 0; i < 6; i++) sock_close(g, &s[i]);
    conns_get_stats(g, &st);
    assert_int_equal(st.open, 0);
    conns_free(g);
}

static void test_reaper_thread_starts_and_stops(void **state) {
    conns *g = conns_new(&(conns_opts){.idle_ms = 1});
    conns_run_reaper(g);
    sock s;
    sock_open(g, &s, 0); /* opened "at 0": long expired on the monotonic clock */
    char ch;
    fcntl(s.peer, F_SETFL, 0);
    assert_int_equal(recv(s.peer, &ch, 1, 0), 0); /* blocks until the reaper shuts it */
    sock_close(g, &s);
    conns_free(g);
}

/* ------------------------------------------------------------------ workers */

struct counter {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done, blocked, release;
};

static void job_count(void *arg) {
    struct counter *c = arg;
    pthread_mutex_lock(&c->mu);
    c->done++;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* Holds its thread until released: jobs submitted meanwhile need threads of their own. */
static void job_block(void *arg) {
    struct counter *c = arg;
    pthread_mutex_lock(&c->mu);
    c->blocked++;
    pthread_cond_broadcast(&c->cv);
    while (!c->release) pthread_cond_wait(&c->cv, &c->mu);
    c->done++;
    pthread_mutex_unlock(&c->mu);
}

static void test_workers_run_blocking_jobs_side_by_side(void **state) {
    workers *w = workers_new(1, 50);
    struct counter c = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0};
    enum { N = 40 };
    for (int i = 0; i < N; i++) assert_int_equal(workers_submit(w, job_block, &c), 0);
    pthread_mutex_lock(&c.mu);
    while (c.blocked < N) pthread_cond_wait(&c.cv, &c.mu); /* all N run at once */
    c.release = 1;
    pthread_cond_broadcast(&c.cv);
    pthread_mutex_unlock(&c.mu);
    for (int i = 0; i < 1000; i++) assert_int_equal(workers_submit(w, job_count, &c), 0);
    workers_free(w); /* waits for every job */
    assert_int_equal(c.done, N + 1000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idle_deadline),
        cmocka_unit_test(test_header_deadline_counts_from_request_line),
        cmocka_unit_test(test_body_deadline_is_silence),
        cmocka_unit_test(test_work_has_no_deadline),
        cmocka_unit_test(test_zero_means_no_limit),
        cmocka_unit_test(test_eviction_takes_longest_waiting),
        cmocka_unit_test(test_reaper_thread_starts_and_stops),
        cmocka_unit_test(test_workers_run_blocking_jobs_side_by_side),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
