/*
 * store_sqlite.c: the embedded backend, SQLite + SpatiaLite in one file. Implements
 * struct store_ops; knows nothing about ingesters or the CLI. WAL mode, one write
 * transaction at a time (BEGIN IMMEDIATE), bulk observations through cached statements.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>
/* spatialite.h needs sqlite3.h first */
#include <spatialite.h>

#include "store.h"
#include "util.h"

extern const char insitu_schema_sqlite[];

struct sqlite_store {
    struct store base;
    sqlite3 *db;
    void *spatialite_cache;
    sqlite3_stmt *obs_insert, *obs_update;
    int64_t next_obs_id; /* 0: read max(id) at the next write */
};

struct sqlite_stmt {
    struct stmt base;
    sqlite3_stmt *s;
};

static const struct sql_dialect sqlite_dialect = {
    .geom_from_geojson = "CastToXY(SetSRID(GeomFromGeoJSON(?), 4326))",
    .bbox_filter = "%1$s.id IN (SELECT pkid FROM idx_%2$s_geom WHERE xmax >= ? AND ymax >= ? "
                   "AND xmin <= ? AND ymin <= ?) AND ST_Intersects(%1$s.geom, BuildMbr(?, ?, ?, "
                   "?, 4326))",
    .bbox_repeat = 2,
};

static int sqlite_accepts(const char *uri)
{
    return strncmp(uri, "postgresql:", 11) != 0 && strncmp(uri, "postgres:", 9) != 0;
}

static const char *sqlite_path(const char *uri)
{
    return strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : uri;
}

static int db_error(struct sqlite_store *ss, insitu_error *err, const char *what)
{
    int code = sqlite3_errcode(ss->db);
    int ecode = code == SQLITE_CONSTRAINT ? INSITU_ECONFLICT
                : (code == SQLITE_BUSY || code == SQLITE_LOCKED) ? INSITU_ESTORE
                                                                 : INSITU_ESTORE;
    return insitu_error_set(err, ecode, "%s: %s: %s", sqlite_path(ss->base.uri), what,
                            sqlite3_errmsg(ss->db));
}

static int exec_sql(struct sqlite_store *ss, const char *sql, insitu_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(ss->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        insitu_error_set(err, INSITU_ESTORE, "%s: %s", sqlite_path(ss->base.uri),
                         msg ? msg : sqlite3_errmsg(ss->db));
        sqlite3_free(msg);
        return INSITU_ESTORE;
    }
    return 0;
}

static void sqlite_close(struct store *st)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    if (!ss)
        return;
    store_release_cache(st);
    sqlite3_finalize(ss->obs_insert);
    sqlite3_finalize(ss->obs_update);
    if (st->in_tx)
        sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(ss->db);
    if (ss->spatialite_cache)
        spatialite_cleanup_ex(ss->spatialite_cache);
    free(st->uri);
    free(ss);
}

static int sqlite_open(const char *uri, unsigned flags, struct store **out, insitu_error *err)
{
    const char *path = sqlite_path(uri);
    struct stat sb;
    if (!(flags & INSITU_OPEN_CREATE) && stat(path, &sb) != 0)
        return insitu_error_set(err, INSITU_ENOTFOUND,
                                "%s: no such store (create it with 'insitu --store %s init')",
                                path, uri);
    struct sqlite_store *ss = calloc(1, sizeof *ss);
    if (!ss)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    ss->base.ops = &store_sqlite_ops;
    ss->base.dialect = &sqlite_dialect;
    ss->base.uri = xstrdup(uri);
    ss->base.flags = flags;
    int oflags = (flags & INSITU_OPEN_READONLY) ? SQLITE_OPEN_READONLY
                                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &ss->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        insitu_error_set(err, INSITU_EIO, "%s: cannot open store: %s", path,
                         ss->db ? sqlite3_errmsg(ss->db) : "out of memory");
        sqlite_close(&ss->base);
        return INSITU_EIO;
    }
    ss->spatialite_cache = spatialite_alloc_connection();
    spatialite_init_ex(ss->db, ss->spatialite_cache, 0);
    sqlite3_busy_timeout(ss->db, 10000);
    /* 16 MiB page cache: big enough for bulk inserts, small enough for the RSS budget. */
    const char *pragmas = (flags & INSITU_OPEN_READONLY)
                              ? "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;"
                              : "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; "
                                "PRAGMA foreign_keys = ON; PRAGMA cache_size = -16384;";
    int rc = exec_sql(ss, pragmas, err);
    if (rc) {
        insitu_error_prefix(err, "not a SQLite store");
        sqlite_close(&ss->base);
        return rc;
    }
    *out = &ss->base;
    return 0;
}

static int sqlite_schema_version(struct store *st)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(ss->db, "SELECT value FROM insitu_meta WHERE key = 'schema_version'",
                           -1, &s, NULL) != SQLITE_OK)
        return 0;
    int v = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Runs every "-- @version N" section of the schema with N > the store's version. */
static int sqlite_init(struct store *st, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    if (st->flags & INSITU_OPEN_READONLY)
        return insitu_error_set(err, INSITU_EUSAGE, "%s: store opened read-only", st->uri);
    int rc = exec_sql(ss, "BEGIN IMMEDIATE", err);
    if (rc)
        return rc;
    int current = sqlite_schema_version(st), newest = current;
    const char *marker = "-- @version ";
    const char *p = strstr(insitu_schema_sqlite, marker);
    while (p && !rc) {
        int version = atoi(p + strlen(marker));
        const char *next = strstr(p + 1, marker);
        if (version > current) {
            char *section = xstrndup(p, next ? (size_t)(next - p) : strlen(p));
            rc = section ? exec_sql(ss, section, err) : INSITU_ENOMEM;
            free(section);
            newest = version;
        }
        p = next;
    }
    if (!rc && newest != current) {
        char sql[160];
        snprintf(sql, sizeof sql,
                 "INSERT INTO insitu_meta (key, value) VALUES ('schema_version', '%d') ON "
                 "CONFLICT (key) DO UPDATE SET value = excluded.value",
                 newest);
        rc = exec_sql(ss, sql, err);
    }
    if (rc) {
        sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
        insitu_error_prefix(err, "schema migration to version %d failed", newest);
        return rc;
    }
    return exec_sql(ss, "COMMIT", err);
}

static int sqlite_begin(struct store *st, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    ss->next_obs_id = 0;
    return exec_sql(ss, "BEGIN IMMEDIATE", err);
}

static int sqlite_commit(struct store *st, insitu_error *err)
{
    return exec_sql((struct sqlite_store *)st, "COMMIT", err);
}

static void sqlite_rollback(struct store *st)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
    ss->next_obs_id = 0;
}

static int sqlite_prepare(struct store *st, const char *sql, struct stmt **out, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    struct sqlite_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (sqlite3_prepare_v2(ss->db, sql, -1, &s->s, NULL) != SQLITE_OK) {
        free(s);
        return db_error(ss, err, "cannot prepare statement");
    }
    s->base.st = st;
    *out = &s->base;
    return 0;
}

#define SQ(x) (((struct sqlite_stmt *)(x))->s)

static int sqlite_bind_null(struct stmt *s, int i) { return sqlite3_bind_null(SQ(s), i); }
static int sqlite_bind_int64(struct stmt *s, int i, int64_t v)
{
    return sqlite3_bind_int64(SQ(s), i, v);
}
static int sqlite_bind_double(struct stmt *s, int i, double v)
{
    return sqlite3_bind_double(SQ(s), i, v);
}
static int sqlite_bind_text(struct stmt *s, int i, const char *v)
{
    return v ? sqlite3_bind_text(SQ(s), i, v, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(SQ(s), i);
}

static int sqlite_step(struct stmt *s, insitu_error *err)
{
    int rc = sqlite3_step(SQ(s));
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    struct sqlite_store *ss = (struct sqlite_store *)s->st;
    return db_error(ss, err, "statement failed");
}

static int sqlite_column_count(struct stmt *s) { return sqlite3_column_count(SQ(s)); }
static const char *sqlite_column_name(struct stmt *s, int c)
{
    return sqlite3_column_name(SQ(s), c);
}
static int sqlite_column_is_null(struct stmt *s, int c)
{
    return sqlite3_column_type(SQ(s), c) == SQLITE_NULL;
}
static int64_t sqlite_column_int64(struct stmt *s, int c)
{
    return sqlite3_column_int64(SQ(s), c);
}
static double sqlite_column_double(struct stmt *s, int c)
{
    return sqlite3_column_double(SQ(s), c);
}
static const char *sqlite_column_text(struct stmt *s, int c)
{
    return (const char *)sqlite3_column_text(SQ(s), c);
}
static void sqlite_reset(struct stmt *s)
{
    sqlite3_reset(SQ(s));
    sqlite3_clear_bindings(SQ(s));
}
static void sqlite_finalize(struct stmt *s)
{
    sqlite3_finalize(SQ(s));
    free(s);
}
static int64_t sqlite_changes(struct store *st)
{
    return sqlite3_changes64(((struct sqlite_store *)st)->db);
}

/* Binds the value columns of an observation from index `first` on: phenomenon_end,
 * result_time, result, result_json, result_quality, parameters, feature_id, run_id. */
static void bind_obs_values(sqlite3_stmt *s, int first, const struct obs_row *r, int64_t run_id)
{
    int i = first;
    if (r->phenomenon_end == INSITU_TIME_NONE)
        sqlite3_bind_null(s, i++);
    else
        sqlite3_bind_int64(s, i++, r->phenomenon_end);
    if (r->result_time == INSITU_TIME_NONE)
        sqlite3_bind_null(s, i++);
    else
        sqlite3_bind_int64(s, i++, r->result_time);
    if (r->has_result)
        sqlite3_bind_double(s, i++, r->result);
    else
        sqlite3_bind_null(s, i++);
    sqlite3_bind_text(s, i++, r->result_json, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, i++, r->quality, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, i++, r->parameters, -1, SQLITE_STATIC);
    if (r->feature_id)
        sqlite3_bind_int64(s, i++, r->feature_id);
    else
        sqlite3_bind_null(s, i++);
    sqlite3_bind_int64(s, i, run_id);
}

static int prepare_obs_statements(struct sqlite_store *ss, insitu_error *err)
{
    if (!ss->obs_insert &&
        sqlite3_prepare_v3(ss->db,
                           "INSERT INTO observations (datastream_id, phenomenon_start, id, "
                           "phenomenon_end, result_time, result, result_json, result_quality, "
                           "parameters, feature_id, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, "
                           "?, ?) ON CONFLICT DO NOTHING",
                           -1, SQLITE_PREPARE_PERSISTENT, &ss->obs_insert, NULL) != SQLITE_OK)
        return db_error(ss, err, "cannot prepare observation insert");
    if (!ss->obs_update &&
        sqlite3_prepare_v3(ss->db,
                           "UPDATE observations SET phenomenon_end = ?, result_time = ?, result = "
                           "?, result_json = ?, result_quality = ?, parameters = ?, feature_id = "
                           "?, run_id = ? WHERE datastream_id = ? AND phenomenon_start = ?",
                           -1, SQLITE_PREPARE_PERSISTENT, &ss->obs_update, NULL) != SQLITE_OK)
        return db_error(ss, err, "cannot prepare observation update");
    if (ss->next_obs_id == 0) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(ss->db, "SELECT coalesce(max(id), 0) + 1 FROM observations", -1,
                               &s, NULL) != SQLITE_OK)
            return db_error(ss, err, "cannot read observation ids");
        ss->next_obs_id = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 1;
        sqlite3_finalize(s);
    }
    return 0;
}

static int sqlite_put_observations(struct store *st, const struct obs_row *rows, size_t n,
                                   int64_t run_id, unsigned char *outcome, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    int rc = prepare_obs_statements(ss, err);
    if (rc)
        return rc;
    sqlite3_stmt *ins = ss->obs_insert, *upd = ss->obs_update;
    for (size_t i = 0; i < n; i++) {
        const struct obs_row *r = &rows[i];
        sqlite3_bind_int64(ins, 1, r->datastream_id);
        sqlite3_bind_int64(ins, 2, r->phenomenon_start);
        sqlite3_bind_int64(ins, 3, ss->next_obs_id);
        bind_obs_values(ins, 4, r, run_id);
        rc = sqlite3_step(ins);
        sqlite3_reset(ins);
        if (rc != SQLITE_DONE)
            return db_error(ss, err, "cannot insert observation");
        if (sqlite3_changes(ss->db) == 1) {
            ss->next_obs_id++;
            outcome[i] = OBS_INSERTED;
            continue;
        }
        bind_obs_values(upd, 1, r, run_id);
        sqlite3_bind_int64(upd, 9, r->datastream_id);
        sqlite3_bind_int64(upd, 10, r->phenomenon_start);
        rc = sqlite3_step(upd);
        sqlite3_reset(upd);
        if (rc != SQLITE_DONE)
            return db_error(ss, err, "cannot update observation");
        outcome[i] = OBS_UPDATED;
    }
    /* The strings were bound SQLITE_STATIC: drop them before the caller frees the batch. */
    sqlite3_clear_bindings(ins);
    sqlite3_clear_bindings(upd);
    return 0;
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .accepts = sqlite_accepts,
    .open = sqlite_open,
    .close = sqlite_close,
    .init = sqlite_init,
    .schema_version = sqlite_schema_version,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .prepare = sqlite_prepare,
    .bind_null = sqlite_bind_null,
    .bind_int64 = sqlite_bind_int64,
    .bind_double = sqlite_bind_double,
    .bind_text = sqlite_bind_text,
    .step = sqlite_step,
    .column_count = sqlite_column_count,
    .column_name = sqlite_column_name,
    .column_is_null = sqlite_column_is_null,
    .column_int64 = sqlite_column_int64,
    .column_double = sqlite_column_double,
    .column_text = sqlite_column_text,
    .reset = sqlite_reset,
    .finalize = sqlite_finalize,
    .changes = sqlite_changes,
    .put_observations = sqlite_put_observations,
};
