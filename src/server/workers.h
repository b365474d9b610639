/* Worker threads that run requests away from the HTTP event loop.
 *
 * The event loop only moves bytes; a request's work (decoding, parsing, the catalog, waiting
 * for the WAL's fsync, running a query) blocks, so each job gets a thread of its own for as
 * long as it runs: concurrent writers all join one group commit, and a slow query delays
 * nobody else. Threads are kept for reuse and end after `idle_ms` without work, down to
 * `keep`. The number of jobs at once is bounded by the caller (one per admitted request), not
 * here; a job waits in the queue only when a new thread cannot be created.
 *
 * Thread safety: workers_submit may be called from any thread. */
#ifndef STRATA_SERVER_WORKERS_H
#define STRATA_SERVER_WORKERS_H

#include <stdint.h>

typedef struct workers workers;

workers *workers_new(unsigned keep, int64_t idle_ms);
/* Queues fn(arg); -1 when no thread exists nor can be created (the job is not queued). */
int workers_submit(workers *w, void (*fn)(void *), void *arg);
/* Waits for queued and running jobs to finish, then ends every thread and frees w. */
void workers_free(workers *w);

#endif
