/* Scalar and aggregate function catalogue.
 *
 * func_bind resolves a scalar call by name against its already-bound arguments: it matches
 * their types to the function's DataFusion 27 signature (the first candidate every argument
 * coerces to), casts them to it, fixes the result type and returns a BX_FUNC node; the
 * functions themselves are declared by family (func_int.h). Errors use DataFusion's planning
 * wording: `Invalid function 'foo'.`, `No function matches the given name and argument types
 * 'f(Utf8)'. ... Candidate functions: ...`. Aggregates are looked up with agg_lookup and
 * executed by the aggregate operator (ops_agg.c); their state layout is private to
 * agg_state.c. */
#ifndef STRATA_SQL_FUNC_H
#define STRATA_SQL_FUNC_H

#include <stdbool.h>
#include <stdint.h>

#include "sql/expr.h"

/* What a call may read of its statement: now() and the session's names (current_user(),
 * current_database() ...). role may be NULL (no role in the tenant). */
typedef struct fn_env {
    int64_t now_ns;
    const char *user, *tenant, *db, *role;
} fn_env;

int func_bind(arena *a, const char *name, bexpr **args, uint32_t nargs, const fn_env *env,
              bexpr **out, err *er);
/* The name DataFusion shows for a scalar function called by name: its canonical one for an
 * alias (length and char_length are character_length, pow is power), else name itself. */
const char *func_display(const char *name);

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
