/* Names of tenants, databases, tables, columns and users: the one place that says which are
 * valid, called by every door a name comes in through (HTTP parameters, line protocol and
 * OpenTSDB, the catalog's create and rename functions).
 *
 * Every name must be non-empty and not only spaces, valid UTF-8 with no control character
 * (U+0000-U+001F, U+007F): a NUL would cut the name short wherever it becomes a C string, and
 * a control byte would reach logs, file names and error bodies. Tenants, databases and users
 * are stored under names that become parts of paths and URLs, so they also may not contain `/`
 * nor be `.` or `..`, and are at most 200 bytes (CnosDB: "names of objects may not contain `/`
 * nor be blank"). Tables and columns may hold any other character (InfluxDB allows them in
 * measurements and keys) up to 65535 bytes.
 *
 * Errors name the kind, show the name (control bytes escaped) and say what is wrong; the
 * caller chooses the status and code. Pure and thread safe. */
#ifndef STRATA_UTIL_NAMES_H
#define STRATA_UTIL_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

enum name_kind { NAME_TENANT, NAME_DATABASE, NAME_TABLE, NAME_COLUMN, NAME_USER };

#define NAMES_MAX_PATH_LIKE 200 /* tenants, databases, users */
#define NAMES_MAX 65535         /* tables, columns */

/* 0 if p[0..n) is a valid name of that kind; else -1 with e set (status http, code). */
int names_check(enum name_kind k, const char *p, size_t n, int http, const char *code, err *e);

/* "tenant", "database", "table", "column", "user". */
const char *names_kind(enum name_kind k);

#endif
