/* Invariants as code: STRATA_ASSERT, and a mutex that knows whether the calling thread holds it.
 *
 * STRATA_ASSERT(cond) states a precondition or invariant that no input can break, only a bug.
 * The sanitizer builds (make asan, make tsan, the unit tests; or any build with
 * -DSTRATA_CHECKS) check it and abort with "BUG: file:line: function: cond"; the release build
 * compiles it away without evaluating cond, so cond must have no side effects and should be
 * cheap. Errors that input can cause are never asserted: they are reported through err.h.
 *
 * owned_mutex is a pthread mutex that, in the checking builds, records its owner so that a
 * helper named `..._locked` can STRATA_ASSERT(omutex_held(&m)). In the release build it is a
 * plain mutex and omutex_held is always true. Waiting on a condition variable goes through
 * omutex_wait, which re-records the owner when the wait returns. */
#ifndef STRATA_UTIL_ASSERT_H
#define STRATA_UTIL_ASSERT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#if !defined(STRATA_CHECKS) && (defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__))
#define STRATA_CHECKS 1
#endif
#if !defined(STRATA_CHECKS) && defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define STRATA_CHECKS 1
#endif
#endif

#ifdef STRATA_CHECKS
#define STRATA_ASSERT(cond)                                                                        \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "BUG: %s:%d: %s: %s\n", __FILE__, __LINE__, __func__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)
#else
#define STRATA_ASSERT(cond) ((void)0)
#endif

typedef struct owned_mutex {
    pthread_mutex_t mu;
#ifdef STRATA_CHECKS
    uintptr_t owner; /* omutex_self() of the holder, 0 when free; atomic */
#endif
} owned_mutex;

#ifdef STRATA_CHECKS
/* The calling thread as a number (pthread_t is an integer or a pointer on the platforms Strata
 * builds on; the static assert stops a port where it is not). */
_Static_assert(sizeof(pthread_t) <= sizeof(uintptr_t), "pthread_t fits in uintptr_t");
static inline uintptr_t omutex_self(void) {
    return (uintptr_t)pthread_self();
}
#endif

static inline void omutex_init(owned_mutex *m) {
    pthread_mutex_init(&m->mu, NULL);
#ifdef STRATA_CHECKS
    m->owner = 0;
#endif
}

static inline void omutex_destroy(owned_mutex *m) {
    pthread_mutex_destroy(&m->mu);
}

static inline void omutex_lock(owned_mutex *m) {
    pthread_mutex_lock(&m->mu);
#ifdef STRATA_CHECKS
    __atomic_store_n(&m->owner, omutex_self(), __ATOMIC_RELAXED);
#endif
}

static inline void omutex_unlock(owned_mutex *m) {
#ifdef STRATA_CHECKS
    STRATA_ASSERT(__atomic_load_n(&m->owner, __ATOMIC_RELAXED) == omutex_self());
    __atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
#endif
    pthread_mutex_unlock(&m->mu);
}

/* Whether the calling thread holds m (always true in the release build). */
static inline bool omutex_held(owned_mutex *m) {
#ifdef STRATA_CHECKS
    return __atomic_load_n(&m->owner, __ATOMIC_RELAXED) == omutex_self();
#else
    (void)m;
    return true;
#endif
}

/* pthread_cond_timedwait (abstime NULL: pthread_cond_wait) on a held owned_mutex. */
static inline int omutex_wait(owned_mutex *m, pthread_cond_t *cv, const struct timespec *abstime) {
#ifdef STRATA_CHECKS
    STRATA_ASSERT(omutex_held(m));
    __atomic_store_n(&m->owner, 0, __ATOMIC_RELAXED);
#endif
    int rc = abstime ? pthread_cond_timedwait(cv, &m->mu, abstime) : pthread_cond_wait(cv, &m->mu);
#ifdef STRATA_CHECKS
    __atomic_store_n(&m->owner, omutex_self(), __ATOMIC_RELAXED);
#endif
    return rc;
}

#endif
