/* Error objects: see err.h. */
#include "util/err.h"

#include <stdio.h>
#include <string.h>

int err_vset(err *e, int http, const char *code, const char *fmt, va_list ap) {
    if (!e) return -1;
    e->http = http;
    snprintf(e->code, sizeof e->code, "%s", code);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    e->line = e->col = 0;
    return -1;
}

int err_set_at(err *e, int http, const char *code, unsigned line, unsigned col, const char *fmt,
               ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, http, code, fmt, ap);
    va_end(ap);
    if (e) {
        e->line = line;
        e->col = col;
    }
    return -1;
}

int err_set(err *e, int http, const char *code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    err_vset(e, http, code, fmt, ap);
    va_end(ap);
    return -1;
}

void err_clear(err *e) {
    if (!e) return;
    e->http = 0;
    e->code[0] = 0;
    e->msg[0] = 0;
    e->line = e->col = 0;
}

void err_prefix(err *e, const char *fmt, ...) {
    if (!e) return;
    char head[ERR_MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t hl = (size_t)n < sizeof head ? (size_t)n : sizeof head - 1;
    size_t ml = strlen(e->msg);
    if (hl + ml >= sizeof e->msg) ml = sizeof e->msg - 1 - hl;
    memmove(e->msg + hl, e->msg, ml);
    memcpy(e->msg, head, hl);
    e->msg[hl + ml] = 0;
}

int err_vplan(err *e, const char *fmt, va_list ap) {
    err_vset(e, 422, EC_QUERY_INTERNAL, fmt, ap);
    err_prefix(e, "Datafusion: Error during planning: ");
    return -1;
}
