/* Scalar and aggregate function catalogue.
 *
 * func_bind resolves a scalar call by name against its already-bound arguments: it checks the
 * argument count and types (casting where DataFusion would), fixes the result type and returns
 * a BX_FUNC node. Aggregates are looked up with agg_lookup and executed by the aggregate
 * operator (ops.c); their state layout is private to agg.c.
 * Errors use DataFusion's planning wording, e.g. `Invalid function 'foo'`. */
#ifndef STRATA_SQL_FUNC_H
#define STRATA_SQL_FUNC_H

#include <stdbool.h>
#include <stdint.h>

#include "sql/expr.h"

int func_bind(arena *a, const char *name, bexpr **args, uint32_t nargs, int64_t now_ns, bexpr **out,
              err *er);

enum agg_kind {
    AGG_COUNT = 1, /* count(x); count(*) has no argument */
    AGG_SUM,
    AGG_AVG,
    AGG_MIN,
    AGG_MAX,
    AGG_FIRST, /* first(time, x) */
    AGG_LAST,  /* last(time, x) */
    AGG_SPREAD,
    AGG_STDDEV,
    AGG_STDDEV_POP,
    AGG_VAR,
    AGG_VAR_POP,
    AGG_MEDIAN,
};

/* Returns the aggregate kind for a function name, 0 if it is not an aggregate. */
int agg_lookup(const char *name);
/* Result type of an aggregate over an argument type; -1 with an error if unsupported. */
int agg_result_type(int kind, uint8_t arg_type, uint8_t *out, err *er);
/* DataFusion's display name of the function (COUNT, SUM, AVG, MIN, MAX, first, ...). */
const char *agg_display(int kind);

#endif
