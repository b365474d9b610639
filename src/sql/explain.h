/* EXPLAIN: operator trees printed the way DataFusion prints plans, and measured (ANALYZE).
 *
 * The plan printed is the operator tree that runs (ops.h), not a separate plan: every operator
 * describes itself (op.describe) into an op_explain, given the names of its children's output
 * columns: its name in a logical plan ("Filter") and in a physical one ("FilterExec"), the
 * details of each, and the names of its own output columns. explain.c walks the tree twice:
 * down, handing the query's output names to the projection that makes them (through operators
 * that pass their input's columns on), so it prints `expr as alias`; then up, describing
 * children before parents. Every column has two renderings:
 *   lname  how a logical plan names it: `cpu.host` for a table column, the display name of an
 *          expression (`COUNT(cpu.usage)`), or its alias;
 *   pname  the field name a physical plan prints before `@index` (`host`).
 * Expressions print as DataFusion displays them (ex_expr): logical `cpu.usage > Float64(1)`,
 * physical `usage@2 > 1`. Indentation is two spaces per level; the physical plan ends every
 * line with a newline, the logical one does not end with one (both as DataFusion).
 *
 * Statements: EXPLAIN [VERBOSE] plans the query and prints it without running it (rows
 * `logical_plan`, `physical_plan`; VERBOSE adds `physical_plan_with_schema`). EXPLAIN ANALYZE
 * runs it to the end, discarding its rows, and prints `Plan with Metrics` (each operator's
 * output rows and the time spent in it, its inputs excluded); VERBOSE adds `Plan with Full
 * Metrics` (batches, time with inputs), `Output Rows` and `Duration`. INSERT prints its source
 * under a TableWriter (ANALYZE of an INSERT is refused: Strata's INSERT is not an operator);
 * other statements are refused as CnosDB refuses them ("explain non-query statement").
 *
 * ANALYZE wraps each operator's next() (explain_instrument): the wrapper reads the monotonic
 * clock around the call and counts rows; nothing else changes, and without ANALYZE no clock is
 * read. Memory: the query arena. */
#ifndef STRATA_SQL_EXPLAIN_H
#define STRATA_SQL_EXPLAIN_H

#include "sql/ast.h"
#include "sql/ops.h"
#include "sql/sql.h"
#include "util/buf.h"

/* The output columns of an operator as plans name them. */
typedef struct ex_cols {
    uint32_t n;
    const char **lname, **pname;
    uint32_t base; /* physical plans print column i as `pname[i]@(base + i)` */
} ex_cols;

struct op_explain {
    arena *a;                 /* names and texts (the query arena) */
    const ex_cols *in;        /* the children's output columns, one per child */
    const char *const *alias; /* names the query gives the output (entries may be NULL) */
    bool analyzed;            /* the operator has run to its end (ANALYZE) */
    /* Filled by describe. Before the call: no details, names NULL, out = the first child's
     * columns (or columns named by position for a leaf), passthrough false. */
    const char *pname, *lname;
    buf pd, ld;       /* details after "Name: "; empty = the name alone */
    ex_cols out;      /* the output columns */
    bool passthrough; /* output column i is input column i of child 0, unchanged */
};

/* What EXPLAIN ANALYZE measured of one operator. */
struct op_stats {
    int (*next)(op *o, batch *b, err *er); /* the operator's own next() */
    uint64_t rows, batches;
    int64_t ns; /* inside next(), its inputs included */
};

/* ---- for describe functions ---- */
/* Appends e, an expression over the columns in, as a logical (physical = false) or a physical
 * plan prints it. */
void ex_expr(buf *b, const bexpr *e, const ex_cols *in, bool physical);
/* Appends a literal as a logical (`Int64(1)`, `Utf8("a")`) or physical (`1`, `a`) plan prints
 * it. */
void ex_value(buf *b, const value *v, bool physical);
/* The output column k of a projection of e over in: e's own names for a bare column, else the
 * expression's logical display, or alias (when not NULL). */
void ex_expr_col(arena *a, const bexpr *e, const ex_cols *in, const char *alias, ex_cols *out,
                 uint32_t k);
/* An ex_cols of n columns with every name NULL. */
void ex_cols_init(arena *a, ex_cols *c, uint32_t n);
/* The columns of a and then those of b (a join's pair of rows). */
void ex_cols_concat(arena *a, const ex_cols *x, const ex_cols *y, ex_cols *out);

/* ---- plans ---- */
enum explain_style {
    EXPLAIN_LOGICAL,      /* logical_plan */
    EXPLAIN_PHYSICAL,     /* physical_plan */
    EXPLAIN_SCHEMA,       /* physical_plan_with_schema: each operator's output columns */
    EXPLAIN_METRICS,      /* Plan with Metrics: rows and time in the operator (ANALYZE) */
    EXPLAIN_FULL_METRICS, /* Plan with Full Metrics: also batches and time with inputs */
};
/* The plan of the tree under root in one style (memory from a). names: the query's names of
 * root's output columns, NULL for none; analyzed: the tree has run to its end (after
 * explain_instrument), so operators may say what they chose while running. */
char *explain_render(arena *a, op *root, const char *const *names, bool analyzed,
                     enum explain_style st);
/* Wraps the next() of every operator under root to measure it (struct op_stats, memory from
 * a); the tree then runs as before. */
void explain_instrument(arena *a, op *root);

/* ---- statements (sql.c) ---- */
/* EXPLAIN st->inner into r (columns plan_type, plan). */
int sqlx_explain(sql_session *s, const sql_stmt *st, struct sql_result *r, err *e);

#endif
