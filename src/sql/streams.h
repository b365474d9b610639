/* Continuous stream jobs: CnosDB's stream queries, `INSERT INTO sink SELECT ... FROM
 * stream_table ...` (or `CREATE STREAM name ... AS INSERT ...`), kept running by the server.
 *
 * A job reads its stream table's source table by event time. Its mark `done` (an event time,
 * nanoseconds) is where its output may still change. On each trigger it finds the source's
 * newest event time M; the watermark is M minus the job's allowed delay. An aggregating job
 * (one time bucket per GROUP BY: date_bin or a tumbling time_window) runs its INSERT over the
 * rows from done through the end of M's bucket, so every bucket from the mark on is written
 * recomputed from all its rows (CnosDB's update mode: the open bucket appears at once and is
 * rewritten as rows arrive); then done becomes the start of the watermark's bucket, and the
 * buckets before it are final. A job that does not aggregate takes every row up to the
 * watermark once. With OUTPUT_MODE = APPEND a bucket is written only once final (the run
 * stops at the watermark's bucket). Rows that arrive with an event time before done are late: the
 * raw table keeps them, the job does not revisit final buckets (a WATERMARK delay keeps buckets
 * open that long).
 *
 * Durability: the jobs and their marks live in <data>/streams.json, replaced atomically after
 * each run, once the run's rows are written (and so are as durable as any acknowledged write).
 * A crash between the two repeats the run after restart: it writes the same buckets with the
 * same timestamps and tags, recomputed from the source, which overwrite the first copies, so
 * nothing is counted twice and, since the source rows are durable, nothing is lost.
 *
 * Thread safety: every function may be called from any thread; the jobs run on one thread of
 * their own. */
#ifndef STRATA_SQL_STREAMS_H
#define STRATA_SQL_STREAMS_H

#include <stdbool.h>
#include <stdint.h>

#include "meta/catalog.h"
#include "sql/ast.h"
#include "sql/sql.h"
#include "storage/engine.h"
#include "util/arena.h"
#include "util/err.h"

/* A new job's definition, checked by the caller (sql_stream.c). */
typedef struct stream_def {
    const char *name; /* NULL: named stream_<n> */
    const char *tenant, *db, *user;
    const char *sql;       /* the statement the job runs (an INSERT, or CREATE STREAM) */
    const char *stream_db; /* the stream table it reads */
    const char *stream_table;
    int64_t bucket_ns;  /* 0: the job does not aggregate */
    int64_t origin_ns;  /* buckets start at origin + k * bucket */
    int64_t delay_ns;   /* WATERMARK */
    int64_t trigger_ns; /* how often it runs */
    bool append;        /* OUTPUT_MODE = APPEND: write a bucket once, when it is final */
} stream_def;

/* A job as SHOW STREAMS shows it. */
typedef struct stream_info {
    const char *name, *tenant, *db, *user, *sql;
    int64_t delay_ns, trigger_ns;
    int64_t done;      /* event time processed up to (ns), INT64_MIN: nothing yet */
    uint64_t rows;     /* rows written since the job was created */
    const char *error; /* the last run's error, NULL when it succeeded */
} stream_info;

/* Where a stream table's rows come from: its source table and event-time column, and the
 * source's time unit. */
struct stream_source {
    const char *db, *table, *time_col;
    uint8_t unit; /* enum tunit */
};
/* The source of the stream table stream_db.stream_table of s's tenant (sql_stream.c); memory
 * from s->a. Fails when it is not a stream table or its source is gone. */
int sqlx_stream_source(sql_session *s, const char *stream_db, const char *stream_table,
                       struct stream_source *out, err *e);

/* What a job's run reads for stream table t: its source's rows in s->stream's range, as a
 * query (parsed into s->a). Outside a run (s->stream NULL) CnosDB's error: a stream table is
 * only a source of INSERT ... SELECT. */
int sqlx_stream_query(sql_session *s, const meta_table *t, const sql_query **out, err *e);

/* Loads <data_path>/streams.json and starts the job thread. The jobs run SQL over cat and eng
 * as their users. */
int streams_start(const char *data_path, catalog *cat, engine *eng, err *e);
/* Stops the thread (a run in progress finishes first). */
void streams_stop(void);

/* Adds a job and persists it; *name_out (from a) gets its name. 409-style error when the name
 * is taken (unless if_not_exists: then nothing), 500 when jobs are not running. */
int streams_add(const stream_def *d, bool if_not_exists, arena *a, const char **name_out, err *e);
int streams_drop(const char *tenant, const char *name, bool if_exists, err *e);
/* The tenant's jobs (every job for tenant NULL), by name; memory from a. */
uint32_t streams_list(arena *a, const char *tenant, stream_info **out);
/* Runs every job that has work now, once, on the caller's thread (tests, and shutdown). */
void streams_run_now(void);

#endif
