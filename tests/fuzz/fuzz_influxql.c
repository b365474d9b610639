/* libFuzzer target for the InfluxQL lexer and parser (src/influxql/). Besides "no crash, no
 * leak, no out-of-bounds read", it checks that a refused text is refused with InfluxDB's
 * wording (400, "error parsing query: ... at line L, char C" or an unterminated literal) and
 * that an accepted one has at least one statement.
 *
 *   make -C tests/fuzz fuzz_influxql && tests/fuzz/fuzz_influxql -max_total_time=60 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "influxql/iql.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    arena *a = arena_new(0);
    iql_query q;
    err e;
    err_clear(&e);
    int rc = iql_parse(a, (const char *)data, size, &q, &e);
    if (rc == 0) {
        if (q.n == 0) abort();
    } else {
        if (rc != -1 || e.http != 400 || strncmp(e.msg, "error parsing query: ", 21)) abort();
        if (!strstr(e.msg, " at line ")) abort();
    }
    arena_free(a);
    return 0;
}
