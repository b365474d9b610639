/* Bound, typed expressions and their vectorized evaluation.
 *
 * The binder (bind.c) turns AST expressions into bexpr trees whose every node has a result
 * type and whose column references are positions in the input batch. Evaluation takes a whole
 * batch and produces a whole vector per node (a few thousand values at a time), so the per-row
 * cost is a tight loop per operator, not a tree walk per row. NULL handling follows SQL: most
 * operators propagate NULL; AND/OR use three-valued logic.
 *
 * Every kernel keeps the NULL-slot invariant of util/types.h on what it produces and may rely
 * on it for what it reads: a NULL row's slot holds a defined value (a 0/1 bool, a string view
 * of readable memory), so loops can compute over every row and take validity from the inputs'
 * bitmaps; a kernel that skips a NULL row writes the type's zero into it (vec_set_null,
 * vec_alloc_null).
 *
 * Memory: bexpr trees live in the statement arena; evaluation results in the batch arena passed
 * in. Thread safety: evaluation is pure (trees are read-only once built). */
#ifndef STRATA_SQL_EXPR_H
#define STRATA_SQL_EXPR_H

#include <stdbool.h>
#include <stdint.h>

#include "sql/ast.h"
#include "util/arena.h"
#include "util/err.h"
#include "util/types.h"
#include "util/vec.h"

typedef struct bexpr bexpr;
typedef struct sql_ctx sql_ctx;

/* A scalar function: computes out (already typed, len = b->nrows) from evaluated args. */
typedef int (*scalar_fn)(const bexpr *e, vec *args, uint32_t nrows, arena *a, vec *out, err *er);

enum bexpr_kind {
    BX_CONST = 1, /* cval */
    BX_COL,       /* input column `col` */
    BX_NOT,
    BX_NEG,
    BX_ARITH, /* op: OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MOD */
    BX_CMP,   /* op: OP_EQ ... OP_GE, args already coerced to one comparable type */
    BX_AND,
    BX_OR,
    BX_IS_NULL,       /* negated: IS NOT NULL */
    BX_IS_BOOL,       /* op OP_IS_TRUE / OP_IS_FALSE, negated */
    BX_IN_LIST,       /* args[0] IN args[1..], negated */
    BX_LIKE,          /* args[0] LIKE args[1] (constant pattern precompiled), ilike, negated */
    BX_CASE,          /* args: [operand?] when/then pairs, else */
    BX_CAST,          /* args[0] to type/unit */
    BX_FUNC,          /* fn(args) */
    BX_CONCAT,        /* args[0] || args[1] */
    BX_DISTINCT_FROM, /* IS [NOT] DISTINCT FROM, negated = NOT DISTINCT */
    BX_REGEX,         /* args[0] ~ args[1] (constant pattern precompiled), ilike = ~*, negated */
};

struct bexpr {
    uint8_t kind;
    uint8_t op;
    uint8_t type; /* result enum vtype */
    uint8_t unit; /* enum tunit for VT_TS results */
    bool negated;
    bool ilike;
    bool has_tz;
    bool try_cast;
    bool case_has_operand;
    bool case_has_else;
    /* BX_FUNC: bit k set = the kernel reads argument k, when it is a non-NULL constant, from
     * args[k]->cval (bx_scalar_const), so the evaluator hands it an empty vector instead of n
     * copies. */
    uint32_t scalar_args;
    value cval;
    uint32_t col;
    bexpr **args;
    uint32_t nargs;
    scalar_fn fn;
    void *aux; /* function or LIKE private data */
    const char *fname;
};

/* Evaluates e over batch b into out (memory from a). Checks a's memory budget (util/arena.h)
 * after every node and its deadline at the end, and heavy kernels check both every few rows,
 * so one batch of one expression can neither grow without bound (a long || chain) nor run
 * far past the query's deadline (a LIKE over long strings). */
int bexpr_eval(const bexpr *e, const batch *b, arena *a, vec *out, err *er);
/* A string value holds at most UINT32_MAX bytes (strv.len): -1 with an error past it. */
int str_len_check(size_t len, err *er);
/* -1 with the error (500) when the budget is past its deadline ("Query timeout") or holds more
 * than its memory limit ("Resources exhausted"); 0 otherwise, and for b NULL. */
int budget_check(const arena_budget *b, err *er);

/* Whether argument k of e is a non-NULL constant its kernel reads from the expression. */
static inline bool bx_scalar_const(const bexpr *e, uint32_t k) {
    return k < 32 && ((e->scalar_args >> k) & 1) && e->args[k]->kind == BX_CONST &&
           !e->args[k]->cval.null;
}

/* Constructors used by the binder. */
bexpr *bx_const(arena *a, value v);
bexpr *bx_col(arena *a, uint32_t col, uint8_t type, uint8_t unit);
bexpr *bx_new(arena *a, uint8_t kind, uint8_t type, uint32_t nargs);

/* Casts e to (type, unit), or fails with CnosDB's planning error wording. Constant operands
 * are folded, so `time > '2022-01-01'` becomes a timestamp constant compare. */
int bx_cast(arena *a, bexpr **e, uint8_t type, uint8_t unit, err *er);
/* Whether casting from→to is allowed at all. */
bool bx_can_cast(uint8_t from, uint8_t to);
/* A CAST Arrow cannot do, worded as CnosDB reports it: by the optimizer when the value is a
 * constant it folds (folded), else when the plan is made physical. Returns -1. */
int bx_cast_unsupported(err *er, uint8_t from, uint8_t from_unit, uint8_t to, uint8_t to_unit,
                        bool folded);
/* Arrow's error for text that is not a timestamp, as its parser words it. Returns -1. */
int bx_ts_parse_err(err *er, const char *p, size_t n);

/* Turns a BX_IN_LIST whose items are all constants into a hash-set probe (memory from a); other
 * lists are left to the per-row comparison. Call once the items have their final type. */
void bx_in_list_prepare(arena *a, bexpr *e);

/* x [NOT] IN (the first column of every row of b[0..nb), of x's type) as a hashed set (memory
 * from a): an IN over a subquery's rows. */
bexpr *bx_in_values(arena *a, bexpr *x, const batch *b, uint32_t nb, bool negated);

/* Constant folding: evaluates a constant expression to a value (false if not constant). */
bool bx_is_const(const bexpr *e);
int bx_fold(arena *a, bexpr *e, value *out, err *er);

#endif
