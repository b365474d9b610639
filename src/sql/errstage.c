/* Stage wrappers of evaluation errors: see errstage.h. */
#include "sql/errstage.h"

#include <stdbool.h>
#include <string.h>

#define ARROW "Arrow error: "

static bool starts(const char *s, const char *p) {
    return !strncmp(s, p, strlen(p));
}

/* 1 = an Arrow kernel's error, 2 = DataFusion's, 0 = not an evaluation error. */
static int kind(const err *e) {
    if (starts(e->msg, ARROW)) return 1;
    if (starts(e->msg, "Execution error: ") || starts(e->msg, "Internal error: ") ||
        starts(e->msg, "Error during planning: "))
        return 2;
    return 0;
}

bool errstage_is_eval(const err *e) {
    return kind(e) != 0;
}

void errstage_folded(err *e) {
    if (kind(e))
        err_prefix(e, "Execute logical plan: Datafusion: Optimizer rule 'simplify_expressions' "
                      "failed\ncaused by\n");
}

static void rewrap(err *e, const char *arrow_prefix) {
    int k = kind(e);
    if (k == 1) {
        /* CnosDB names Arrow's error "Arrow: <message>", without DataFusion's "Arrow error: " */
        memmove(e->msg, e->msg + strlen(ARROW), strlen(e->msg + strlen(ARROW)) + 1);
        err_prefix(e, "Could not chunk result: %s", arrow_prefix);
    } else if (k == 2) {
        err_prefix(e, "Could not chunk result: Datafusion: ");
    }
}

void errstage_running(err *e) {
    /* a write into a range the TTL has expired: CnosDB's coordinator error, without the line
     * the HTTP write path names */
    if (!strcmp(e->code, EC_EXPIRED)) {
        err_set(e, e->http, EC_EXPIRED,
                "Could not chunk result: Coordinator: Meta: Operation not support: create "
                "expired bucket");
        return;
    }
    rewrap(e, "Arrow: ");
}

void errstage_in_scan(err *e) {
    rewrap(e, "Coordinator: Tskv: Arrow: ");
}
