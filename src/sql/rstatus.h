/* Resource status: the delayed drops information_schema.resource_status lists.
 *
 * DROP DATABASE ... AFTER hides a database at once and drops it when the delay ends (the
 * catalog keeps when: meta/catalog.h, catalog_drop_db). CnosDB lists each such operation with
 * its state: Schedule while it waits, Cancel once RECOVER DATABASE called it off, Successed
 * once it ran (try_count then 1). Strata remembers each scheduled operation here, by tenant and
 * name, with the id of the database it concerns, and reads the state from the catalog when
 * listed: the id hidden = Schedule, live again = Cancel, gone = Successed. So the background
 * drop (main.c) needs no hook, and a database recreated under the same name (a new id) does
 * not turn a finished drop back into a pending one.
 *
 * The registry lives in memory (the newest RSTATUS_MAX operations): after a restart the
 * databases still hidden are listed as Schedule from the catalog alone, and the finished or
 * cancelled operations before it are forgotten.
 *
 * Threads: one mutex; any thread may note or list. */
#ifndef STRATA_SQL_RSTATUS_H
#define STRATA_SQL_RSTATUS_H

#include <stddef.h>
#include <stdint.h>

#include "meta/catalog.h"
#include "util/arena.h"

#define RSTATUS_MAX 1024

/* A delayed drop of tenant's database name (id db_id) was scheduled for at_ns (wall clock);
 * replaces an earlier entry of the same name. */
void rstatus_schedule(const char *tenant, const char *name, uint64_t db_id, int64_t at_ns);
/* RECOVER DATABASE called off the drop of database db_id (an entry of another id, a database
 * of that name dropped before, is left as it is). */
void rstatus_cancel(const char *tenant, const char *name, uint64_t db_id);

typedef struct rstatus_row {
    int64_t time_ns;  /* when the drop was (or is) due */
    const char *name; /* "<tenant>-<database>" */
    const char *action, *status;
    uint32_t try_count;
} rstatus_row;

/* tenant's operations, oldest first (memory from a). */
void rstatus_list(catalog *c, const char *tenant, arena *a, rstatus_row **out, size_t *n);

#endif
