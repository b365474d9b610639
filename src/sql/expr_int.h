/* Internals shared by the expression evaluator's files; nothing outside them includes this.
 *
 * The evaluator (expr.h) is split by kind of kernel:
 *   expr.c        bexpr constructors and folding, the evaluator's walk over a tree (one
 *                 function per node kind), logic, IN lists, CASE, LIKE and regular expressions;
 *   expr_cast.c   casts between types, as arrow's cast kernels do them;
 *   expr_arith.c  arithmetic, negation and comparison kernels, and value equality.
 * Vectors are made through util/vec.h. Every kernel here takes evaluated argument vectors of n
 * rows and fills out (memory from a), keeping the NULL-slot invariant of util/types.h. */
#ifndef STRATA_SQL_EXPR_INT_H
#define STRATA_SQL_EXPR_INT_H

#include "sql/expr.h"

/* The validity bitmap of a row-wise operation over x and y (y may be NULL): valid where both
 * are; NULL when neither has NULLs. */
uint8_t *expr_valid_and(arena *a, const vec *x, const vec *y, uint32_t n);

/* ---- casts (expr_cast.c) ---- */
int expr_eval_cast(const bexpr *e, const vec *in, uint32_t n, arena *a, vec *out, err *er);

/* ---- arithmetic and comparison (expr_arith.c) ---- */
int expr_eval_arith(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                    err *er);
/* BX_NOT and BX_NEG over in. */
int expr_eval_unary(const bexpr *e, const vec *in, uint32_t n, arena *a, vec *out, err *er);
int expr_eval_cmp(const bexpr *e, const vec *x, const vec *y, uint32_t n, arena *a, vec *out,
                  err *er);
/* column <op> constant (e->args[1] a non-NULL BX_CONST): evaluates args[0] over b itself. */
int expr_eval_cmp_scalar(const bexpr *e, const batch *b, arena *a, vec *out, err *er);
/* Equality of two non-NULL values of one type, as `=` decides it (NaN equals nothing). */
bool expr_values_equal(const value *a, const value *b);

#endif
