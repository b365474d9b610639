/* Continuous stream jobs: see streams.h. */
#include "sql/streams.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sql/sql.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/timeutil.h"
#include "util/vec.h"

/* A run covers at most this many buckets (or this span, for a job that does not aggregate),
 * so catching up on a long history is a series of bounded runs. */
#define MAX_BUCKETS_PER_RUN 10000
#define MAX_SPAN_PER_RUN (3600LL * 1000000000LL)

struct job {
    char *name, *tenant, *db, *user, *sql, *stream_db, *stream_table;
    int64_t bucket_ns, origin_ns, delay_ns, trigger_ns;
    bool append; /* OUTPUT_MODE = APPEND */
    /* what the last run saw (not persisted): the newest time, the rows from seen_done on */
    int64_t seen_newest, seen_count, seen_done;
    int64_t done; /* INT64_MIN: nothing processed yet */
    uint64_t rows;
    char *error;
    int64_t next_run; /* monotonic ns */
    bool dropped;     /* dropped while it ran */
};

static struct {
    pthread_mutex_t mu; /* the job list and the file */
    pthread_cond_t cv;
    pthread_mutex_t run_mu; /* one run at a time (the thread, streams_run_now) */
    bool running, stop;
    pthread_t thread;
    char *path;
    catalog *cat;
    engine *eng;
    struct job **jobs;
    uint32_t n, cap;
    uint64_t next_id;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER,
       .cv = PTHREAD_COND_INITIALIZER,
       .run_mu = PTHREAD_MUTEX_INITIALIZER};

static void job_free(struct job *j) {
    if (!j) return;
    free(j->name);
    free(j->tenant);
    free(j->db);
    free(j->user);
    free(j->sql);
    free(j->stream_db);
    free(j->stream_table);
    free(j->error);
    free(j);
}

/* ---- the file ---- */

static int save_locked(err *e) {
    json_t *arr = json_array();
    for (uint32_t i = 0; i < S.n; i++) {
        const struct job *j = S.jobs[i];
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:b}", "name",
            j->name, "tenant", j->tenant, "db", j->db, "user", j->user, "sql", j->sql, "stream_db",
            j->stream_db, "stream_table", j->stream_table, "bucket_ns", (json_int_t)j->bucket_ns,
            "origin_ns", (json_int_t)j->origin_ns, "delay_ns", (json_int_t)j->delay_ns,
            "trigger_ns", (json_int_t)j->trigger_ns, "done", (json_int_t)j->done, "rows",
            (json_int_t)j->rows, "append", j->append);
        json_array_append_new(arr, o);
    }
    json_t *top = json_pack("{s:I, s:o}", "next_id", (json_int_t)S.next_id, "jobs", arr);
    char *text = json_dumps(top, JSON_COMPACT);
    json_decref(top);
    if (!text) return err_set(e, 500, EC_INTERNAL, "cannot encode the stream jobs");
    const void *parts[1] = {text};
    size_t lens[1] = {strlen(text)};
    int rc = fs_write_atomic(S.path, parts, lens, 1, e);
    free(text);
    return rc;
}

static char *jstr(json_t *o, const char *k) {
    const char *s = json_string_value(json_object_get(o, k));
    return xstrdup(s ? s : "");
}

static int load(err *e) {
    json_error_t je;
    json_t *top = json_load_file(S.path, 0, &je);
    if (!top) {
        if (access(S.path, F_OK) != 0) return 0; /* no jobs yet */
        return err_set(e, 500, EC_STORAGE, "stream jobs file %s is unreadable: %s (line %d)",
                       S.path, je.text, je.line);
    }
    S.next_id = (uint64_t)json_integer_value(json_object_get(top, "next_id"));
    json_t *arr = json_object_get(top, "jobs");
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) {
        struct job *j = xcalloc(1, sizeof *j);
        j->name = jstr(o, "name");
        j->tenant = jstr(o, "tenant");
        j->db = jstr(o, "db");
        j->user = jstr(o, "user");
        j->sql = jstr(o, "sql");
        j->stream_db = jstr(o, "stream_db");
        j->stream_table = jstr(o, "stream_table");
        j->bucket_ns = json_integer_value(json_object_get(o, "bucket_ns"));
        j->origin_ns = json_integer_value(json_object_get(o, "origin_ns"));
        j->delay_ns = json_integer_value(json_object_get(o, "delay_ns"));
        j->trigger_ns = json_integer_value(json_object_get(o, "trigger_ns"));
        j->done = json_integer_value(json_object_get(o, "done"));
        j->rows = (uint64_t)json_integer_value(json_object_get(o, "rows"));
        j->append = json_is_true(json_object_get(o, "append"));
        if (j->trigger_ns <= 0) j->trigger_ns = 1000000000;
        if (S.n == S.cap) {
            S.cap = S.cap ? S.cap * 2 : 8;
            S.jobs = xrealloc(S.jobs, sizeof *S.jobs * S.cap);
        }
        S.jobs[S.n++] = j;
    }
    json_decref(top);
    return 0;
}

/* ---- one run ---- */

static void session_for(const struct job *j, sql_session *s, arena *a) {
    *s = (sql_session){.cat = S.cat,
                       .eng = S.eng,
                       .tenant = j->tenant,
                       .db = j->db,
                       .user = j->user,
                       .is_admin = true, /* the creator's rights were checked at creation */
                       .a = a,
                       .parallelism = 1};
}

/* The first (and second, when out2) value of a one-row query (*null when the first is NULL
 * or there is no row). */
static int query_values(sql_session *s, const char *sql, value *out, value *out2, bool *null,
                        err *e) {
    sql_result *r;
    *null = true;
    if (sql_run(s, sql, strlen(sql), &r, e) < 0) return -1;
    batch b;
    int rc;
    while ((rc = sql_result_next(r, &b, e)) > 0) {
        if (b.nrows && b.ncols && vec_is_valid(&b.cols[0], 0)) {
            vec_get(&b.cols[0], 0, out);
            if (out2 && b.ncols > 1) vec_get(&b.cols[1], 0, out2);
            *null = false;
        }
    }
    sql_result_close(r);
    return rc < 0 ? -1 : 0;
}

static int64_t floor_to(int64_t v, int64_t origin, int64_t step) {
    int64_t q, rem;
    time_floor_divmod(v - origin, step, &q, &rem);
    return v - rem;
}

/* Runs j once if it has work: -1 with e on failure. */
static int run_job(struct job *j, arena *a, err *e) {
    sql_session s;
    session_for(j, &s, a);
    struct stream_source src;
    if (sqlx_stream_source(&s, j->stream_db, j->stream_table, &src, e) < 0) return -1;
    int64_t per = 1000000000 / tunit_per_sec(src.unit);
    /* the newest event time and the rows not final yet, looking only past what is done */
    char *q = j->done == INT64_MIN
                  ? arena_printf(a, "SELECT max(\"%s\"), count(*) FROM \"%s\".\"%s\"", src.time_col,
                                 src.db, src.table)
                  : arena_printf(a,
                                 "SELECT max(\"%s\"), count(*) FROM \"%s\".\"%s\" WHERE \"%s\" >= "
                                 "%" PRId64,
                                 src.time_col, src.db, src.table, src.time_col,
                                 j->done / per + (j->done % per > 0));
    value v, cnt;
    bool null;
    if (query_values(&s, q, &v, &cnt, &null, e) < 0) return -1;
    if (null) return 0;
    int64_t newest = v.v.i * per;
    /* nothing new since the last run (the same newest row, as many open rows): the open
     * buckets are as written, so an idle source costs a query per trigger, not writes */
    if (j->done != INT64_MIN && newest == j->seen_newest && cnt.v.i == j->seen_count &&
        j->done == j->seen_done)
        return 0;
    j->seen_newest = newest;
    j->seen_count = cnt.v.i;
    j->seen_done = j->done; /* the count's lower bound */
    int64_t lo = j->done;
    if (lo == INT64_MIN) {
        value mn;
        char *qm = arena_printf(a, "SELECT min(\"%s\") FROM \"%s\".\"%s\"", src.time_col, src.db,
                                src.table);
        if (query_values(&s, qm, &mn, NULL, &null, e) < 0) return -1;
        if (null) return 0;
        lo = mn.v.i * per;
        if (j->bucket_ns) lo = floor_to(lo, j->origin_ns, j->bucket_ns);
    }
    int64_t mark = newest - j->delay_ns, hi, next;
    if (j->bucket_ns) {
        /* every bucket from the mark through the newest row's, each recomputed from all its
         * rows; those before the watermark's bucket are final from now on */
        int64_t open = floor_to(newest, j->origin_ns, j->bucket_ns);
        if (__builtin_add_overflow(open, j->bucket_ns, &hi)) hi = INT64_MAX;
        int64_t cap;
        if (!__builtin_mul_overflow(j->bucket_ns, (int64_t)MAX_BUCKETS_PER_RUN, &cap) &&
            !__builtin_add_overflow(lo, cap, &cap) && hi > cap)
            hi = cap;
        next = floor_to(mark, j->origin_ns, j->bucket_ns);
        if (next > hi) next = hi;
        if (next < lo) next = lo;
        if (j->append) hi = next; /* final buckets only */
    } else {
        hi = mark + 1;
        if (hi - lo > MAX_SPAN_PER_RUN) hi = lo + MAX_SPAN_PER_RUN;
        next = hi;
    }
    if (hi <= lo) return 0;
    s.stream = &(struct stream_range){lo, hi};
    sql_result *r;
    if (sql_run(&s, j->sql, strlen(j->sql), &r, e) < 0) return -1;
    batch b;
    int rc;
    uint64_t rows = 0;
    while ((rc = sql_result_next(r, &b, e)) > 0)
        if (b.nrows && b.ncols && b.cols[0].type == VT_U64) rows += b.cols[0].d.u64[0];
    sql_result_close(r);
    if (rc < 0) return -1;
    /* the rows are written (durable as any acknowledged write); now the mark */
    pthread_mutex_lock(&S.mu);
    j->done = next; /* a moved mark counts from elsewhere: the next trigger runs again */
    j->rows += rows;
    int src_rc = save_locked(e);
    pthread_mutex_unlock(&S.mu);
    return src_rc;
}

/* Runs j (taken: next_run INT64_MAX) until it has no more work now, in bounded runs. */
static void run_one(struct job *j) {
    arena *a = arena_new(0);
    err e = {0};
    int rc = 0;
    for (int k = 0; k < 64 && !S.stop; k++) {
        int64_t before = j->done;
        rc = run_job(j, a, &e);
        arena_reset(a);
        if (rc < 0 || j->done == before) break;
    }
    arena_free(a);
    pthread_mutex_lock(&S.mu);
    /* A failing job is retried every trigger (its source may come back): the log says so
     * when the error first appears or changes, and when it clears, not every second. */
    if (rc < 0 && (!j->error || strcmp(j->error, e.msg) != 0))
        log_warn("stream %s: %s (retried every trigger)", j->name, e.msg);
    else if (rc == 0 && j->error)
        log_info("stream %s: running again", j->name);
    free(j->error);
    j->error = rc < 0 ? xstrdup(e.msg) : NULL;
    j->next_run = time_mono_ns() + j->trigger_ns;
    if (j->dropped) job_free(j);
    pthread_mutex_unlock(&S.mu);
    err_clear(&e);
}

/* Runs the jobs that are due (every job when all), one after another. */
static void run_due(bool all) {
    pthread_mutex_lock(&S.run_mu);
    pthread_mutex_lock(&S.mu);
    int64_t now = time_mono_ns();
    uint32_t n = 0;
    char **names = xcalloc(S.n + 1, sizeof *names);
    for (uint32_t i = 0; i < S.n; i++)
        if (all || S.jobs[i]->next_run <= now) {
            struct job *j = S.jobs[i];
            names[n] = xmalloc(strlen(j->tenant) + strlen(j->name) + 2);
            sprintf(names[n++], "%s/%s", j->tenant, j->name);
        }
    pthread_mutex_unlock(&S.mu);
    for (uint32_t k = 0; k < n && !S.stop; k++) {
        pthread_mutex_lock(&S.mu);
        struct job *j = NULL;
        for (uint32_t i = 0; i < S.n && !j; i++) {
            char *slash = strchr(names[k], '/');
            size_t tl = (size_t)(slash - names[k]);
            if (strlen(S.jobs[i]->tenant) == tl && !strncmp(S.jobs[i]->tenant, names[k], tl) &&
                !strcmp(S.jobs[i]->name, slash + 1))
                j = S.jobs[i];
        }
        if (j) j->next_run = INT64_MAX; /* taken: a drop meanwhile leaves it to us */
        pthread_mutex_unlock(&S.mu);
        if (j) run_one(j);
    }
    for (uint32_t k = 0; k < n; k++) free(names[k]);
    free(names);
    pthread_mutex_unlock(&S.run_mu);
}

static void *runner(void *arg) {
    (void)arg;
    pthread_mutex_lock(&S.mu);
    while (!S.stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 200000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&S.cv, &S.mu, &ts);
        if (S.stop) break;
        pthread_mutex_unlock(&S.mu);
        run_due(false);
        pthread_mutex_lock(&S.mu);
    }
    pthread_mutex_unlock(&S.mu);
    return NULL;
}

/* ---- the API ---- */

int streams_start(const char *data_path, catalog *cat, engine *eng, err *e) {
    S.path = xstrdup(data_path);
    S.path = xrealloc(S.path, strlen(data_path) + sizeof "/streams.json");
    strcat(S.path, "/streams.json");
    S.cat = cat;
    S.eng = eng;
    if (load(e) < 0) return -1;
    for (uint32_t i = 0; i < S.n; i++) S.jobs[i]->next_run = time_mono_ns();
    S.stop = false;
    if (pthread_create(&S.thread, NULL, runner, NULL) != 0)
        return err_set(e, 500, EC_INTERNAL, "cannot start the stream thread: %s", strerror(errno));
    S.running = true;
    if (S.n) log_info("streams: %u continuous jobs loaded", S.n);
    return 0;
}

void streams_stop(void) {
    if (!S.running) return;
    pthread_mutex_lock(&S.mu);
    S.stop = true;
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    pthread_join(S.thread, NULL);
    S.running = false;
    for (uint32_t i = 0; i < S.n; i++) job_free(S.jobs[i]);
    free(S.jobs);
    S.jobs = NULL;
    S.n = S.cap = 0;
    free(S.path);
    S.path = NULL;
}

static int find_locked(const char *tenant, const char *name) {
    for (uint32_t i = 0; i < S.n; i++)
        if (!strcmp(S.jobs[i]->tenant, tenant) && !strcmp(S.jobs[i]->name, name)) return (int)i;
    return -1;
}

int streams_add(const stream_def *d, bool if_not_exists, arena *a, const char **name_out, err *e) {
    if (!S.running)
        return err_set(e, 500, EC_INTERNAL, "continuous streams are not running on this server");
    pthread_mutex_lock(&S.mu);
    char auto_name[40];
    const char *name = d->name;
    if (!name) {
        snprintf(auto_name, sizeof auto_name, "stream_%" PRIu64, ++S.next_id);
        name = auto_name;
    }
    int rc = 0;
    if (find_locked(d->tenant, name) >= 0) {
        rc = if_not_exists ? 0
                           : err_set(e, 422, EC_QUERY_INTERNAL, "Stream %s already exists", name);
        pthread_mutex_unlock(&S.mu);
        *name_out = arena_strdup(a, name);
        return rc;
    }
    struct job *j = xcalloc(1, sizeof *j);
    j->name = xstrdup(name);
    j->tenant = xstrdup(d->tenant);
    j->db = xstrdup(d->db);
    j->user = xstrdup(d->user ? d->user : "root");
    j->sql = xstrdup(d->sql);
    j->stream_db = xstrdup(d->stream_db);
    j->stream_table = xstrdup(d->stream_table);
    j->bucket_ns = d->bucket_ns;
    j->origin_ns = d->origin_ns;
    j->delay_ns = d->delay_ns;
    j->trigger_ns = d->trigger_ns > 0 ? d->trigger_ns : 1000000000;
    j->append = d->append;
    j->done = INT64_MIN;
    j->next_run = time_mono_ns();
    if (S.n == S.cap) {
        S.cap = S.cap ? S.cap * 2 : 8;
        S.jobs = xrealloc(S.jobs, sizeof *S.jobs * S.cap);
    }
    S.jobs[S.n++] = j;
    rc = save_locked(e);
    if (rc < 0) job_free(S.jobs[--S.n]);
    pthread_cond_broadcast(&S.cv);
    pthread_mutex_unlock(&S.mu);
    *name_out = arena_strdup(a, name);
    return rc;
}

int streams_drop(const char *tenant, const char *name, bool if_exists, err *e) {
    pthread_mutex_lock(&S.mu);
    int i = S.running ? find_locked(tenant, name) : -1;
    int rc = 0;
    if (i < 0) {
        rc = if_exists ? 0 : err_set(e, 422, EC_QUERY_INTERNAL, "Stream not found: %s", name);
    } else {
        struct job *j = S.jobs[i];
        memmove(&S.jobs[i], &S.jobs[i + 1], sizeof *S.jobs * (S.n - (uint32_t)i - 1));
        S.n--;
        rc = save_locked(e);
        if (j->next_run == INT64_MAX)
            j->dropped = true; /* running: the runner frees it */
        else
            job_free(j);
    }
    pthread_mutex_unlock(&S.mu);
    return rc;
}

static int cmp_info(const void *x, const void *y) {
    const stream_info *p = x, *q = y;
    int r = strcmp(p->tenant, q->tenant);
    return r ? r : strcmp(p->name, q->name);
}

uint32_t streams_list(arena *a, const char *tenant, stream_info **out) {
    pthread_mutex_lock(&S.mu);
    stream_info *v = arena_alloc(a, sizeof *v * (S.n + 1));
    uint32_t n = 0;
    for (uint32_t i = 0; i < S.n; i++) {
        const struct job *j = S.jobs[i];
        if (tenant && strcmp(j->tenant, tenant)) continue;
        v[n++] = (stream_info){arena_strdup(a, j->name),
                               arena_strdup(a, j->tenant),
                               arena_strdup(a, j->db),
                               arena_strdup(a, j->user),
                               arena_strdup(a, j->sql),
                               j->delay_ns,
                               j->trigger_ns,
                               j->done,
                               j->rows,
                               j->error ? arena_strdup(a, j->error) : NULL};
    }
    pthread_mutex_unlock(&S.mu);
    qsort(v, n, sizeof *v, cmp_info);
    *out = v;
    return n;
}

void streams_run_now(void) {
    if (S.running) run_due(true);
}
