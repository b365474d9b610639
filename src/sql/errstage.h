/* Where an evaluation error arose changes how CnosDB words it, and clients match the words.
 *
 * Strata's evaluators raise DataFusion's own text: "Arrow error: Cast error: ..." for what
 * Arrow's kernels report, "Execution error: ...", "Internal error: ..." or (a function's plan
 * error found when it runs, as digest's unknown algorithm) "Error during planning: ..." for
 * DataFusion's.
 * CnosDB wraps that text by stage:
 * - folded while planning (a constant expression, evaluated by DataFusion's
 *   simplify_expressions rule): "Execute logical plan: Datafusion: Optimizer rule
 *   'simplify_expressions' failed\ncaused by\n" + the text;
 * - while the query runs: "Could not chunk result: Arrow: " + Arrow's message, or
 *   "Could not chunk result: Datafusion: " + DataFusion's;
 * - in a filter the storage scan evaluates: "Could not chunk result: Coordinator: Tskv: Arrow: "
 *   + Arrow's message.
 * Each function wraps an evaluation error once and leaves every other error (limits, storage,
 * timeouts, one already wrapped) as it is. */
#ifndef STRATA_SQL_ERRSTAGE_H
#define STRATA_SQL_ERRSTAGE_H

#include "util/err.h"

#include <stdbool.h>

/* Whether e is an evaluation error, not yet wrapped (what errstage_folded would wrap). */
bool errstage_is_eval(const err *e);
void errstage_folded(err *e);
void errstage_running(err *e);
void errstage_in_scan(err *e);

#endif
