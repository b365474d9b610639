/* libFuzzer target: the SQL lexer and parser must return a statement list or a clean error for
 * any input, never crash, read out of bounds or loop (nesting is capped by the parser). */
#include <stddef.h>
#include <stdint.h>

#include "sql/parser.h"
#include "util/arena.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    arena *a = arena_new(0);
    sql_stmt **stmts;
    size_t n;
    err e;
    if (sql_parse(a, (const char *)data, size, &stmts, &n, &e) == 0) {
        for (size_t i = 0; i < n; i++)
            if (!stmts[i]) __builtin_trap();
    } else if (!e.msg[0]) {
        __builtin_trap(); /* an error must say what went wrong */
    }
    arena_free(a);
    return 0;
}
