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
    /* The call is not typed while DataFusion builds the plan (in WHERE or ON, inside a CAST):
     * a mismatch is the type_coercion rule's `Coercion from [..] to the signature ..
     * failed.`, not `No function matches ..`. */
    bool lazy;
} fn_env;

int func_bind(arena *a, const char *name, bexpr **args, uint32_t nargs, const fn_env *env,
              bexpr **out, err *er);
/* Field `field` of x, a struct (util/vstruct.h): DataFusion's get_field (func_struct.c). */
bexpr *func_get_field(arena *a, bexpr *x, uint32_t field);
/* The name DataFusion shows for a scalar function called by name: its canonical one for an
 * alias (length and char_length are character_length, pow is power), else name itself. */
const char *func_display(const char *name);

enum agg_kind {
    AGG_COUNT = 1, /* count(x, ...); count(*) has no argument */
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
    AGG_EXACT_COUNT, /* count without CnosDB's statistics shortcut: Strata's count already */
    AGG_COVAR,       /* two arguments: x, y */
    AGG_COVAR_POP,
    AGG_CORR,
    AGG_REGR_SLOPE, /* regr_*(y, x): the dependent variable first */
    AGG_REGR_INTERCEPT,
    AGG_REGR_COUNT,
    AGG_REGR_R2,
    AGG_REGR_AVGX,
    AGG_REGR_AVGY,
    AGG_REGR_SXX,
    AGG_REGR_SYY,
    AGG_REGR_SXY,
    AGG_BIT_AND,
    AGG_BIT_OR,
    AGG_BIT_XOR,
    AGG_BOOL_AND,
    AGG_BOOL_OR,
    AGG_MODE,
    AGG_ARRAY_AGG,       /* arg: the value as text; arg2: the ORDER BY key, if any */
    AGG_APPROX_DISTINCT, /* HyperLogLog */
    AGG_APPROX_MEDIAN,   /* t-digest, as approx_percentile_cont(x, 0.5) */
    AGG_APPROX_PCT,      /* approx_percentile_cont(x, p [, centroids]) */
    AGG_APPROX_PCT_W,    /* approx_percentile_cont_with_weight(x, w, p) */
    AGG_INCREASE,        /* increase(time, x): a counter's growth, resets counted from 0 */
    AGG_FIRST_VALUE,     /* first_value(x [ORDER BY arg2]): x of the first row in that order */
    AGG_LAST_VALUE,
    AGG_GAUGE,     /* gauge_agg(time, x) read by one accessor (param2), agg_gauge.c */
    AGG_STATE_AGG, /* state_agg(time, s) read by duration_in or state_at, agg_stateagg.c */
    AGG_COMPACT_STATE_AGG,
    /* data quality (agg_quality.c): (time, x) in time order, a DOUBLE in [0, 1] */
    AGG_COMPLETENESS,
    AGG_CONSISTENCY,
    AGG_TIMELINESS,
    AGG_VALIDITY,
    AGG_SAMPLE, /* sample(x, n): a random list of up to n values (param2), agg_sample.c */
};

/* Whether an aggregate's final can fail (agg_quality_check), so it has no window form. */
static inline bool agg_kind_checked(int kind) {
    return kind >= AGG_COMPLETENESS && kind <= AGG_VALIDITY;
}

struct agg_spec;

/* Returns the aggregate kind for a function name, 0 if it is not an aggregate. */
int agg_lookup(const char *name);
/* Checks a call of aggregate sp->kind over its bound arguments (star: `f(*)`) as DataFusion 27
 * does, with its messages: arity first (`The function Covariance expects 2 arguments, but 3 were
 * provided`), then types (`The function Variance does not support inputs of type Utf8.`).
 * Fills sp's arguments, constant parameters and result type; memory from a. first/last are
 * bound by the binder itself. */
int agg_bind(arena *a, bexpr **args, uint32_t nargs, bool star, struct agg_spec *sp, err *er);
/* The checks DataFusion makes only when an aggregate starts to run (approx_distinct's input
 * type): 0, or -1 with the error. The aggregate and window operators call it first. */
int agg_exec_check(const struct agg_spec *sp, err *er);
/* gauge_agg (agg_gauge.c): the accessor code of a name (delta, rate ... num_elements), 0 for
 * none; gauge_agg's check of its arguments for sp (sp->param2 the accessor, 0 for the struct);
 * an accessor over a value (arg, nargs of them) that is not gauge_agg's call: a scalar call
 * when arg is a GaugeData struct (a gauge_agg result from a subquery), else CnosDB's error. */
int agg_gauge_accessor(const char *name);
int agg_gauge_bind(bexpr **args, uint32_t nargs, struct agg_spec *sp, err *er);
int agg_gauge_accessor_scalar(arena *a, const char *name, uint32_t nargs, bexpr *arg, bexpr **out,
                              err *er);
/* completeness/consistency/timeliness/validity(time, x) (agg_quality.c). */
int agg_quality_bind(bexpr **args, uint32_t nargs, struct agg_spec *sp, const char *name, err *er);
/* state_agg / compact_state_agg (agg_stateagg.c): the accessor code of a name (duration_in,
 * state_at), 0 for none; the check of name(args) read by sp->param2 with the accessor's
 * further arguments params, folded into sp->params. */
int agg_state_accessor(const char *name);
int agg_stateagg_bind(arena *a, const char *name, bexpr **args, uint32_t nargs, bexpr **params,
                      uint32_t nparams, struct agg_spec *sp, err *er);
/* DataFusion's display name of the function (COUNT, SUM, AVG, COVARIANCE, first, mode...). */
const char *agg_display(int kind);

#endif
