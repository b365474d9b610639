/* Credentials of a request: `Authorization: Basic <base64 of user:password>`, or InfluxDB's u
 * and p query parameters where the route allows them. A malformed header is refused without
 * quoting it back (it holds a password). See http_int.h. */
#include "server/http_int.h"

#include <stdio.h>
#include <string.h>

static int b64val(unsigned char ch) {
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/* Standard base64 with padding; false on anything else. */
static bool b64decode(const char *s, char *out, size_t cap, size_t *outlen) {
    size_t n = strlen(s), o = 0;
    if (n == 0 || n % 4) return false;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char ch = (unsigned char)s[i + k];
            if (ch == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else {
                if (pad) return false;
                v[k] = b64val(ch);
                if (v[k] < 0) return false;
            }
        }
        uint32_t w =
            (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
        unsigned char bytes[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8),
                                  (unsigned char)w};
        for (int k = 0; k < 3 - pad; k++) {
            if (o + 1 >= cap) return false;
            out[o++] = (char)bytes[k];
        }
    }
    out[o] = 0;
    *outlen = o;
    return true;
}

/* user:password at s (sep at the colon; both parts known to fit) into cr. */
static int take_pair(struct creds *cr, const char *s, const char *sep) {
    memcpy(cr->user, s, (size_t)(sep - s));
    cr->user[sep - s] = 0;
    snprintf(cr->password, sizeof cr->password, "%s", sep + 1);
    cr->has_password = true;
    return 0;
}

int http_parse_auth(struct MHD_Connection *c, bool required, bool token, struct creds *cr, err *e) {
    const char *h = http_header(c, "Authorization");
    memset(cr, 0, sizeof *cr);
    if (!h) {
        const char *u, *p;
        if (http_arg_whole(c, "u", &u, e) < 0 || http_arg_whole(c, "p", &p, e) < 0) return -1;
        if (u && !required) {
            if (strlen(u) >= sizeof cr->user || (p && strlen(p) >= sizeof cr->password))
                return err_set(e, 401, EC_AUTH, "Auth error: user name or password too long");
            snprintf(cr->user, sizeof cr->user, "%s", u);
            if (p) {
                snprintf(cr->password, sizeof cr->password, "%s", p);
                cr->has_password = true;
            }
            return 0;
        }
        if (!required) {
            snprintf(cr->user, sizeof cr->user, "root");
            return 0;
        }
        return err_set(e, 401, EC_AUTH, "Auth error: Missing request header \"authorization\"");
    }
    /* The header is never quoted back: it holds a token or a password. */
    if (token && !strncmp(h, "Token ", 6)) {
        const char *t = h + 6, *sep = strchr(t, ':');
        if (!sep || (size_t)(sep - t) >= sizeof cr->user || strlen(sep + 1) >= sizeof cr->password)
            return err_set(e, 401, EC_AUTH,
                           "Auth error: a token is user:password (InfluxDB 1.x's compatibility "
                           "form)");
        return take_pair(cr, t, sep);
    }
    char dec[600];
    size_t n;
    const char *colon = NULL;
    if (strncmp(h, "Basic ", 6) != 0 || !b64decode(h + 6, dec, sizeof dec, &n) ||
        memchr(dec, 0, n) || !(colon = memchr(dec, ':', n)) ||
        (size_t)(colon - dec) >= sizeof cr->user || n - (size_t)(colon - dec) > sizeof cr->password)
        return err_set(e, 400, EC_PARSE_AUTH,
                       "Parse auth, malformed basic auth encoding: expected 'Basic ' and the "
                       "base64 of user:password");
    return take_pair(cr, dec, colon);
}
