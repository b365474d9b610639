/* The request log: see reqlog.h. */
#include "server/reqlog.h"

#include "util/buf.h"
#include "util/log.h"

#include <stdbool.h>
#include <string.h>

int reqlog_level(int request_level, unsigned status) {
    if (status >= 500) return LOG_WARN;
    if (status >= 400) return request_level < LOG_INFO ? request_level : LOG_INFO;
    return request_level;
}

/* ` key=value`, the value quoted (with \" and \\, control bytes as \xNN) when it must be. */
static void field(buf *b, const char *key, const char *v) {
    if (!v || !*v) v = "-";
    bool quote = false;
    for (const unsigned char *p = (const unsigned char *)v; *p && !quote; p++)
        quote = *p <= ' ' || *p == '"' || *p == '=' || *p == '\\' || *p == 0x7F;
    buf_printf(b, " %s=", key);
    if (!quote) {
        buf_puts(b, v);
        return;
    }
    buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\')
            buf_putc(b, '\\'), buf_putc(b, (char)*p);
        else if (*p < ' ' || *p == 0x7F)
            buf_printf(b, "\\x%02x", *p);
        else
            buf_putc(b, (char)*p);
    }
    buf_putc(b, '"');
}

void reqlog_write(int level, const reqlog_entry *e) {
    if (level > log_threshold) return;
    buf b;
    buf_init(&b);
    buf_puts(&b, "http:");
    field(&b, "method", e->method);
    /* a path is bounded by the head's size limit, but a line should stay readable */
    char path[512];
    size_t n = e->path ? strnlen(e->path, sizeof path - 4) : 0;
    if (e->path) {
        memcpy(path, e->path, n);
        strcpy(path + n, e->path[n] ? "..." : "");
    }
    field(&b, "path", e->path ? path : NULL);
    buf_printf(&b, " status=%u ms=%.3f in=%llu", e->status, e->seconds * 1e3,
               (unsigned long long)e->bytes_in);
    if (e->bytes_out < 0)
        buf_puts(&b, " out=-");
    else
        buf_printf(&b, " out=%lld", (long long)e->bytes_out);
    field(&b, "user", e->user);
    field(&b, "tenant", e->tenant);
    field(&b, "db", e->db);
    field(&b, "client", e->client);
    log_write((enum log_level)level, "%s", buf_cstr(&b));
    buf_free(&b);
}
