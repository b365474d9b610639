/* The request log: one line per answered HTTP request, in logfmt (`key=value`, a value quoted
 * when it holds a space, a quote, `=` or a control character), after the process log's time
 * and level:
 *   http: method=POST path=/api/v1/write status=204 ms=1.52 in=3120 out=0 user=root
 *         tenant=cnosdb db=public client=127.0.0.1
 * `out=-` when the answer is streamed (its size unknown when queued), `-` for a user, tenant or
 * database the request never named (a refusal decided from its head). The path is without its
 * query string (InfluxDB's `p=` carries a password) and no body is ever logged.
 *
 * Levels: 5xx at warn (the server failed; but the 503 of a ping or /health while the server
 * starts or stops at log.request_level: probes poll for it); 4xx at info, or at log.request_level
 * when that is more severe (a client failed: bad lines, wrong password); anything else at
 * log.request_level, debug by default, so a busy server's log holds its events, not one line
 * per write (the counts and durations are in /metrics); `request_level = "info"` makes it an
 * access log. */
#ifndef STRATA_SERVER_REQLOG_H
#define STRATA_SERVER_REQLOG_H

#include <stdint.h>

typedef struct reqlog_entry {
    const char *method, *path;
    unsigned status;
    double seconds;
    uint64_t bytes_in;
    int64_t bytes_out;                       /* -1 = unknown (streamed) */
    const char *user, *tenant, *db, *client; /* NULL or "" = `-` */
} reqlog_entry;

/* The level (enum log_level) of a request's line, from its status and log.request_level. */
int reqlog_level(int request_level, unsigned status);
/* Writes e's line at level (nothing when the log's threshold is below it). */
void reqlog_write(int level, const reqlog_entry *e);

#endif
