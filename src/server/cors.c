/* CORS: see cors.h. */
#include "server/cors.h"

#include "util/mem.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cors {
    bool any; /* `*` is listed */
    size_t n;
    char **origins;
};

cors *cors_new(const char *origins) {
    if (!origins || !*origins) return NULL;
    cors *c = xcalloc(1, sizeof *c);
    const char *p = origins;
    while (*p) {
        size_t len = strcspn(p, ",");
        if (len == 1 && *p == '*') {
            c->any = true;
        } else if (len) {
            c->origins = xrealloc(c->origins, sizeof *c->origins * (c->n + 1));
            c->origins[c->n++] = strndup(p, len);
        }
        p += len;
        if (*p == ',') p++;
    }
    return c;
}

void cors_free(cors *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) free(c->origins[i]);
    free(c->origins);
    free(c);
}

bool cors_allowed(const cors *c, const char *origin) {
    if (!c || !origin || !*origin) return false;
    /* "null" is what sandboxed frames and file:// pages send: any page may claim it, so only an
     * explicit listing lets it in, never `*` */
    if (c->any && strcmp(origin, "null")) return true;
    for (size_t i = 0; i < c->n; i++)
        if (!strcasecmp(c->origins[i], origin)) return true;
    return false;
}

void cors_answer(const cors *c, const char *origin, struct MHD_Response *r) {
    if (!c || !origin) return;
    MHD_add_response_header(r, "Vary", "Origin");
    if (!cors_allowed(c, origin)) return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", origin);
    MHD_add_response_header(r, "Access-Control-Allow-Credentials", "true");
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            "X-Influxdb-Version, X-Influxdb-Build, Retry-After, "
                            "WWW-Authenticate, Content-Encoding, Date");
}

/* Whether a header list is only header names (tokens) separated by commas and spaces, so it
 * can be echoed as it is. */
static bool header_list(const char *s) {
    if (!*s || strlen(s) > 1024) return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("-_, ", *s)) return false;
    return true;
}

void cors_preflight(const cors *c, const char *origin, const char *req_headers,
                    struct MHD_Response *r) {
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            req_headers && header_list(req_headers)
                                ? req_headers
                                : "Authorization, Content-Type, Accept, Accept-Encoding, "
                                  "Content-Encoding");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
}
