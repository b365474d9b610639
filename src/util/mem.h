/* Allocation helpers. Running out of heap is not a condition Strata tries to survive piecemeal:
 * limits on request bodies, query memory and caches keep usage bounded, and if malloc still
 * fails the process aborts with a message rather than limping on with a half-built structure. */
#ifndef STRATA_UTIL_MEM_H
#define STRATA_UTIL_MEM_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);

#endif
