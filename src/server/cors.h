/* CORS (cross-origin resource sharing): which web pages a browser lets call the API.
 *
 * Configured by http.cors_allowed_origins (a list of `scheme://host[:port]`, or `*` for any);
 * empty = off, and then nothing here adds a header or answers OPTIONS. With it on:
 *   - an answer to a request whose Origin is allowed carries Access-Control-Allow-Origin (that
 *     origin, never `*`, since credentials are allowed too), Access-Control-Allow-Credentials:
 *     true and Access-Control-Expose-Headers (the headers clients read: InfluxDB's version
 *     headers, Retry-After, WWW-Authenticate, Content-Encoding); every answer to a request
 *     with an Origin says Vary: Origin, so a cache never serves one origin's answer to another;
 *   - a preflight (OPTIONS on a known path) from an allowed origin is answered 204 with
 *     Access-Control-Allow-Methods, Access-Control-Allow-Headers (the ones the browser asked
 *     for when they are plain header names, else a fixed list: Authorization, Content-Type,
 *     Accept, Accept-Encoding, Content-Encoding) and Access-Control-Max-Age (600 s); from an
 *     origin not allowed it is refused with 403 (the browser then blocks the call, and the
 *     log says why). OPTIONS without an Origin is no preflight: 405 as with CORS off.
 * Origins are compared whole and case-insensitively (scheme and host are). Immutable after
 * cors_new, so any thread may use it. */
#ifndef STRATA_SERVER_CORS_H
#define STRATA_SERVER_CORS_H

#include <microhttpd.h>
#include <stdbool.h>

typedef struct cors cors;

/* From the config's `,`-separated list; NULL when it is empty (CORS off). */
cors *cors_new(const char *origins);
void cors_free(cors *c);
/* Whether origin may call (false for NULL c or origin). */
bool cors_allowed(const cors *c, const char *origin);
/* Adds the headers an answer to a request from origin (NULL: none sent) carries. */
void cors_answer(const cors *c, const char *origin, struct MHD_Response *r);
/* Adds what a preflight's answer carries besides cors_answer's: methods, the headers asked
 * for (the Access-Control-Request-Headers value, NULL if none) and the max age. */
void cors_preflight(const cors *c, const char *origin, const char *req_headers,
                    struct MHD_Response *r);

#endif
