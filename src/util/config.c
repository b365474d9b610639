/* Configuration loading: see config.h.
 *
 * Debian ships no C TOML library, so this reads the subset a server config needs: comments,
 * [section] and [section.sub] headers, and `key = value` with strings (basic and literal),
 * integers, floats, booleans and flat arrays (accepted and ignored). Values are handed to
 * config_set as text, so the file, the environment and tests share one typed setter. */
#include "util/config.h"

#include "util/log.h"
#include "util/timeutil.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void config_defaults(config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->listen_addr, sizeof c->listen_addr, "127.0.0.1");
    c->port = 8902;
    c->http_threads = 0;
    c->http_max_connections = 0;
    c->http_idle_timeout_ms = 60000;
    c->http_header_timeout_ms = 10000;
    c->http_body_timeout_ms = 30000;
    snprintf(c->data_path, sizeof c->data_path, "./data");
    c->max_memcache_size = 128ull << 20;
    c->wal_sync = true;
    c->wal_sync_interval_ms = 100;
    c->wal_max_file_size = 128ull << 20;
    c->query_sql_limit = 16ull << 20;
    c->write_sql_limit = 160ull << 20;
    c->auth_enabled = false;
    c->max_server_connections = 10240;
    c->query_timeout_ms = 0;
    c->query_memory_limit = 4ull << 30;
    c->query_inline_values = 65536;
    c->max_memory = CONFIG_AUTO;
    snprintf(c->log_level, sizeof c->log_level, "info");
    c->usage_interval_ms = 10000;
    snprintf(c->log_request_level, sizeof c->log_request_level, "debug");
    snprintf(c->tsdb_tenant, sizeof c->tsdb_tenant, "cnosdb");
    snprintf(c->tsdb_database, sizeof c->tsdb_database, "public");
}

bool parse_size(const char *s, uint64_t *out) {
    while (isspace((unsigned char)*s)) s++;
    if (!isdigit((unsigned char)*s)) return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno || end == s || v < 0) return false;
    while (isspace((unsigned char)*end)) end++;
    char unit[8] = {0};
    size_t n = 0;
    while (*end && !isspace((unsigned char)*end) && n < sizeof unit - 1) unit[n++] = *end++;
    while (isspace((unsigned char)*end)) end++;
    if (*end) return false;
    double mul;
    if (n == 0 || strcasecmp(unit, "b") == 0)
        mul = 1;
    else if (!strcmp(unit, "K") || !strcasecmp(unit, "KB") || !strcmp(unit, "k"))
        mul = 1e3;
    else if (!strcmp(unit, "M") || !strcasecmp(unit, "MB"))
        mul = 1e6;
    else if (!strcmp(unit, "G") || !strcasecmp(unit, "GB"))
        mul = 1e9;
    else if (!strcmp(unit, "T") || !strcasecmp(unit, "TB"))
        mul = 1e12;
    else if (!strcasecmp(unit, "KiB"))
        mul = 1024.0;
    else if (!strcasecmp(unit, "MiB"))
        mul = 1048576.0;
    else if (!strcasecmp(unit, "GiB"))
        mul = 1073741824.0;
    else if (!strcasecmp(unit, "TiB"))
        mul = 1099511627776.0;
    else
        return false;
    double r = v * mul;
    if (r > 1.8e19) return false;
    *out = (uint64_t)r;
    return true;
}

static int want_bool(const char *text, bool *out) {
    if (!strcasecmp(text, "true"))
        *out = true;
    else if (!strcasecmp(text, "false"))
        *out = false;
    else
        return -1;
    return 0;
}

static int want_int(const char *text, long lo, long hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno || end == text || *end || v < lo || v > hi) return -1;
    *out = (int)v;
    return 0;
}

static int want_duration_ms(const char *text, int64_t *out) {
    int64_t ns;
    if (!duration_parse(text, strlen(text), 1000000 /* bare number = ms */, &ns)) return -1;
    *out = ns / 1000000;
    return 0;
}

static int want_str(const char *text, char *dst, size_t cap) {
    if (strlen(text) >= cap) return -1;
    memcpy(dst, text, strlen(text) + 1);
    return 0;
}

/* A `,`-separated list of origins: each `*`, `null` or `scheme://host[:port]`, nothing else (an origin
 * is compared whole with a request's Origin header, so a path or a space could never match). */
static bool origins_ok(const char *text) {
    while (*text) {
        const char *end = strchr(text, ',');
        size_t n = end ? (size_t)(end - text) : strlen(text);
        const char *sep = memmem(text, n, "://", 3);
        bool star = (n == 1 && *text == '*') || (n == 4 && !memcmp(text, "null", 4));
        if (!star && (!sep || sep == text || sep + 3 == text + n)) return false;
        for (size_t i = 0; i < n && !star; i++)
            if (!isgraph((unsigned char)text[i]) ||
                (text[i] == '/' && text + i != sep + 1 && text + i != sep + 2))
                return false;
        text += n;
        if (*text == ',') text++;
    }
    return true;
}

int config_set(config *c, const char *section, const char *key, const char *text, err *e) {
    int rc = 1; /* 1 = unknown key */
#define IS(s, k) (!strcasecmp(section, s) && !strcasecmp(key, k))
    if (IS("service", "http_listen_addr"))
        rc = want_str(text, c->listen_addr, sizeof c->listen_addr);
    else if (IS("service", "http_listen_port"))
        rc = want_int(text, 0, 65535, &c->port);
    else if (IS("service", "http_threads"))
        rc = want_int(text, 0, 1024, &c->http_threads);
    else if (IS("service", "http_max_connections"))
        rc = want_int(text, 0, 1 << 24, &c->http_max_connections);
    else if (IS("service", "http_idle_timeout"))
        rc = want_duration_ms(text, &c->http_idle_timeout_ms);
    else if (IS("service", "http_header_timeout"))
        rc = want_duration_ms(text, &c->http_header_timeout_ms);
    else if (IS("service", "http_body_timeout"))
        rc = want_duration_ms(text, &c->http_body_timeout_ms);
    else if (IS("storage", "path"))
        rc = want_str(text, c->data_path, sizeof c->data_path);
    else if (IS("storage", "max_memcache_size"))
        rc = parse_size(text, &c->max_memcache_size) ? 0 : -1;
    else if (IS("wal", "path"))
        rc = want_str(text, c->wal_path, sizeof c->wal_path);
    else if (IS("wal", "sync"))
        rc = want_bool(text, &c->wal_sync);
    else if (IS("wal", "sync_interval"))
        rc = want_duration_ms(text, &c->wal_sync_interval_ms);
    else if (IS("wal", "max_file_size"))
        rc = parse_size(text, &c->wal_max_file_size) ? 0 : -1;
    else if (IS("wal", "salvage"))
        rc = want_bool(text, &c->wal_salvage);
    else if (IS("query", "query_sql_limit"))
        rc = parse_size(text, &c->query_sql_limit) ? 0 : -1;
    else if (IS("query", "write_sql_limit"))
        rc = parse_size(text, &c->write_sql_limit) ? 0 : -1;
    else if (IS("query", "auth_enabled"))
        rc = want_bool(text, &c->auth_enabled);
    else if (IS("query", "max_server_connections"))
        rc = want_int(text, 1, 1 << 30, &c->max_server_connections);
    else if (IS("query", "query_timeout"))
        rc = want_duration_ms(text, &c->query_timeout_ms);
    else if (IS("query", "query_memory_limit"))
        rc = parse_size(text, &c->query_memory_limit) ? 0 : -1;
    else if (IS("query", "parallelism"))
        rc = want_int(text, 0, 1024, &c->query_parallelism);
    else if (IS("query", "inline_values"))
        rc = parse_size(text, &c->query_inline_values) ? 0 : -1;
    else if (IS("memory", "max_memory")) {
        if (!strcasecmp(text, "auto"))
            c->max_memory = CONFIG_AUTO, rc = 0;
        else
            rc = parse_size(text, &c->max_memory) ? 0 : -1;
    } else if (IS("usage", "report_interval")) {
        rc = want_duration_ms(text, &c->usage_interval_ms);
    } else if (IS("copy", "allowed_dirs")) {
        rc = want_str(text, c->copy_allowed_dirs, sizeof c->copy_allowed_dirs);
    } else if (IS("log", "level")) {
        rc = log_level_parse(text) < 0 ? -1 : want_str(text, c->log_level, sizeof c->log_level);
    } else if (IS("log", "path")) {
        rc = want_str(text, c->log_path, sizeof c->log_path);
    } else if (IS("log", "request_level")) {
        rc = log_level_parse(text) < 0
                 ? -1
                 : want_str(text, c->log_request_level, sizeof c->log_request_level);
    } else if (IS("http", "cors_allowed_origins")) {
        rc = origins_ok(text) ? want_str(text, c->cors_origins, sizeof c->cors_origins) : -1;
    } else if (IS("opentsdb", "tcp_listen_port")) {
        rc = want_int(text, 0, 65535, &c->tsdb_tcp_port);
    } else if (IS("opentsdb", "tcp_listen_host")) {
        rc = want_str(text, c->tsdb_tcp_host, sizeof c->tsdb_tcp_host);
    } else if (IS("opentsdb", "tenant")) {
        rc = *text ? want_str(text, c->tsdb_tenant, sizeof c->tsdb_tenant) : -1;
    } else if (IS("opentsdb", "database")) {
        rc = *text ? want_str(text, c->tsdb_database, sizeof c->tsdb_database) : -1;
    }
#undef IS
    if (rc < 0)
        return err_set(e, 0, EC_GENERIC, "invalid value '%s' for %s.%s", text, section, key);
    if (rc > 0) log_warn("config: ignoring unknown key %s.%s", section, key);
    return 0;
}

static const char *toml_value(const char *p, char *out, size_t cap, bool *is_array);

/* The strings of an array (p: after its `[`) joined by `,` into out; -1 when an element is not
 * a string or holds a comma. */
static int toml_string_list(const char *p, char *out, size_t cap) {
    size_t n = 0;
    out[0] = 0;
    for (;;) {
        while (isspace((unsigned char)*p)) p++;
        if (*p == ']') return 0;
        if (*p != '"' && *p != '\'') return -1;
        char el[1024];
        bool nested;
        p = toml_value(p, el, sizeof el, &nested);
        if (!p || strchr(el, ',') || n + strlen(el) + 2 >= cap) return -1;
        n += (size_t)snprintf(out + n, cap - n, "%s%s", n ? "," : "", el);
        while (isspace((unsigned char)*p)) p++;
        if (*p == ',')
            p++;
        else if (*p != ']')
            return -1;
    }
}

/* Reads one TOML value starting at p into out (text form). Returns pointer past it or NULL. */
static const char *toml_value(const char *p, char *out, size_t cap, bool *is_array) {
    size_t n = 0;
    *is_array = false;
    if (*p == '"') {
        p++;
        while (*p && *p != '"') {
            char ch = *p++;
            if (ch == '\\') {
                switch (*p) {
                case 'n':
                    ch = '\n';
                    break;
                case 't':
                    ch = '\t';
                    break;
                case '\\':
                    ch = '\\';
                    break;
                case '"':
                    ch = '"';
                    break;
                default:
                    return NULL;
                }
                p++;
            }
            if (n + 1 >= cap) return NULL;
            out[n++] = ch;
        }
        if (*p != '"') return NULL;
        out[n] = 0;
        return p + 1;
    }
    if (*p == '\'') {
        p++;
        while (*p && *p != '\'') {
            if (n + 1 >= cap) return NULL;
            out[n++] = *p++;
        }
        if (*p != '\'') return NULL;
        out[n] = 0;
        return p + 1;
    }
    if (*p == '[') {
        /* Flat arrays (CnosDB's file has some): a list of strings becomes its elements joined
         * by `,` (the form the environment gives a list in), for the keys that take one; any
         * other array becomes "\x01", which no such key accepts. */
        const char *end = p;
        int depth = 0;
        bool in_str = false;
        for (; *end; end++) {
            if (*end == '"') in_str = !in_str;
            if (in_str) continue;
            if (*end == '[') depth++;
            if (*end == ']' && --depth == 0) break;
        }
        if (*end != ']') return NULL;
        *is_array = true;
        if (toml_string_list(p + 1, out, cap) < 0) snprintf(out, cap, "\x01");
        return end + 1;
    }
    while (*p && *p != '#' && !isspace((unsigned char)*p)) {
        if (n + 1 >= cap) return NULL;
        out[n++] = *p++;
    }
    out[n] = 0;
    return n ? p : NULL;
}

int config_load_file(config *c, const char *path, err *e) {
    FILE *f = fopen(path, "r");
    if (!f)
        return err_set(e, 0, EC_GENERIC, "cannot open config file %s: %s", path, strerror(errno));
    char line[4096], section[128] = "";
    int lineno = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (!*p || *p == '#') continue;
        if (*p == '[') {
            char *end = strchr(p, ']');
            if (!end || p[1] == '[') {
                rc = err_set(e, 0, EC_GENERIC, "%s:%d: bad section header", path, lineno);
                break;
            }
            size_t n = (size_t)(end - p - 1);
            if (n >= sizeof section) n = sizeof section - 1;
            memcpy(section, p + 1, n);
            section[n] = 0;
            continue;
        }
        char key[128];
        size_t kn = 0;
        while (*p && (isalnum((unsigned char)*p) || *p == '_' || *p == '-' || *p == '.') &&
               kn < sizeof key - 1)
            key[kn++] = *p++;
        key[kn] = 0;
        while (*p == ' ' || *p == '\t') p++;
        if (!kn || *p != '=') {
            rc = err_set(e, 0, EC_GENERIC, "%s:%d: expected `key = value`", path, lineno);
            break;
        }
        p++;
        while (*p == ' ' || *p == '\t') p++;
        char val[2048];
        bool is_array;
        const char *after = toml_value(p, val, sizeof val, &is_array);
        if (after) {
            while (*after == ' ' || *after == '\t' || *after == '\r' || *after == '\n') after++;
            if (*after && *after != '#') after = NULL;
        }
        if (!after) {
            rc = err_set(e, 0, EC_GENERIC, "%s:%d: bad value for key '%s'", path, lineno, key);
            break;
        }
        /* no other key takes a list: an array elsewhere is CnosDB's, ignored as before */
        if (is_array && !(!strcasecmp(section, "http") && !strcasecmp(key, "cors_allowed_origins")))
            continue;
        if (config_set(c, section, key, val, e) < 0) {
            err_prefix(e, "%s:%d: ", path, lineno);
            rc = -1;
            break;
        }
    }
    fclose(f);
    return rc;
}

int config_load_env(config *c, err *e) {
    extern char **environ;
    for (char **env = environ; *env; env++) {
        if (strncmp(*env, "STRATA_", 7) != 0) continue;
        const char *name = *env + 7;
        const char *eq = strchr(name, '=');
        const char *us = strchr(name, '_');
        if (!eq || !us || us > eq) continue;
        char section[64], key[128];
        size_t sn = (size_t)(us - name), kn = (size_t)(eq - us - 1);
        if (sn >= sizeof section || kn >= sizeof key || kn == 0) continue;
        memcpy(section, name, sn);
        section[sn] = 0;
        memcpy(key, us + 1, kn);
        key[kn] = 0;
        if (strcasecmp(section, "service") && strcasecmp(section, "storage") &&
            strcasecmp(section, "wal") && strcasecmp(section, "query") &&
            strcasecmp(section, "memory") && strcasecmp(section, "log") &&
            strcasecmp(section, "copy") && strcasecmp(section, "usage") &&
            strcasecmp(section, "http") && strcasecmp(section, "opentsdb"))
            continue;
        if (config_set(c, section, key, eq + 1, e) < 0) {
            err_prefix(e, "environment STRATA_%s_%s: ", section, key);
            return -1;
        }
    }
    return 0;
}

int config_finish(config *c, err *e) {
    if (!c->data_path[0]) return err_set(e, 0, EC_GENERIC, "storage.path must not be empty");
    if (!c->wal_path[0]) {
        int n = snprintf(c->wal_path, sizeof c->wal_path, "%s/wal", c->data_path);
        if (n < 0 || (size_t)n >= sizeof c->wal_path)
            return err_set(e, 0, EC_GENERIC, "storage.path too long");
    }
    if (c->query_sql_limit == 0 || c->write_sql_limit == 0)
        return err_set(e, 0, EC_GENERIC, "query_sql_limit and write_sql_limit must be > 0");
    if (!c->wal_sync && c->wal_sync_interval_ms <= 0) c->wal_sync_interval_ms = 100;
    if (c->http_threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->http_threads = n < 2 ? 2 : (int)(n > 64 ? 64 : n);
    }
    if (c->query_parallelism <= 0) {
        /* the cores this process may run on (a cpuset or taskset), not the machine's */
        cpu_set_t cs;
        long n = sched_getaffinity(0, sizeof cs, &cs) == 0 ? CPU_COUNT(&cs)
                                                           : sysconf(_SC_NPROCESSORS_ONLN);
        c->query_parallelism = n < 1 ? 1 : (int)(n > 64 ? 64 : n);
    }
    return 0;
}
