/*
 * store_sqlite.c: the embedded backend, SQLite + SpatiaLite in one file. Implements
 * struct store_ops; knows nothing about ingesters or the CLI. WAL mode, one write
 * transaction at a time (BEGIN IMMEDIATE), bulk observations through cached statements.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

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
    sqlite3_stmt *obs_insert, *obs_update, *obs_insert_many, *obs_update_other, *obs_mark_set;
    /* Observations are numbered here: the next id to give (0: read at the next write), and
     * the largest id given that sqlite_sequence holds (its row 'observations'), so that the
     * id of a deleted observation is never given again (max(id) + 1 would). */
    int64_t next_obs_id, obs_mark;
    int bulk_journal;    /* this transaction runs with a rollback journal, not the WAL */
    int temp_file;       /* temp_store is FILE for this transaction (a group of sources) */
    int64_t deadline_us; /* set_deadline(): 0, or when statements stop */
};

struct sqlite_stmt {
    struct stmt base;
    sqlite3_stmt *s;
};

static const struct sql_dialect sqlite_dialect = {
    .returning_id = "",
    .no_abort = " OR IGNORE",
    .text_find = "SELECT id FROM obs_texts WHERE text = ?",
    .text_insert = "INSERT OR IGNORE INTO obs_texts (text) VALUES (?)",
    .geom_from_geojson = "CastToXY(SetSRID(GeomFromGeoJSON(?), 4326))",
    .geom_from_wkb = "CastToXY(GeomFromWKB(?, 4326))",
    .geom_as_geojson = "AsGeoJSON(%s, 9)",
    .geom_bounds = {"MbrMinX(%1$s)", "MbrMinY(%1$s)", "MbrMaxX(%1$s)", "MbrMaxY(%1$s)"},
    .box_geom = "(CASE WHEN %1$s IS NULL THEN NULL WHEN %1$s = %3$s AND %2$s = %4$s THEN "
                "MakePoint(%1$s, %2$s, 4326) WHEN %1$s = %3$s OR %2$s = %4$s THEN "
                "MakeLine(MakePoint(%1$s, %2$s, 4326), MakePoint(%3$s, %4$s, 4326)) ELSE "
                "BuildMbr(%1$s, %2$s, %3$s, %4$s, 4326) END)",
    /* the exact test takes a flat box as the point or line it is: BuildMbr's flat polygon is
     * invalid, and GEOS's answers on it change with SpatiaLite's prepared-geometry cache */
    .bbox_filter = "%1$s.id IN (SELECT pkid FROM idx_%2$s_geom WHERE xmax >= ? AND ymax >= ? "
                   "AND xmin <= ? AND ymin <= ?) AND ST_Intersects(%1$s.geom, (SELECT CASE WHEN "
                   "bw = be AND bs = bn THEN MakePoint(bw, bs, 4326) WHEN bw = be OR bs = bn "
                   "THEN MakeLine(MakePoint(bw, bs, 4326), MakePoint(be, bn, 4326)) ELSE "
                   "BuildMbr(bw, bs, be, bn, 4326) END FROM (SELECT ? AS bw, ? AS bs, ? AS be, ? "
                   "AS bn)))",
    .bbox_repeat = 2,
    .geom_from_wkt = "GeomFromText(?, 4326)",
    .spatial_true = "(%1$s) = 1",
    .time_part = {"CAST(strftime('%%Y', %1$s / 1000000, 'unixepoch') AS INTEGER)",
                  "CAST(strftime('%%m', %1$s / 1000000, 'unixepoch') AS INTEGER)",
                  "CAST(strftime('%%d', %1$s / 1000000, 'unixepoch') AS INTEGER)",
                  "CAST(strftime('%%H', %1$s / 1000000, 'unixepoch') AS INTEGER)",
                  "CAST(strftime('%%M', %1$s / 1000000, 'unixepoch') AS INTEGER)",
                  "CAST(strftime('%%S', %1$s / 1000000, 'unixepoch') AS INTEGER)"},
    .time_of_day = "strftime('%%H:%%M:%%S', %1$s / 1000000, 'unixepoch')",
    .strpos = "instr(%1$s, %2$s)",
    .text_agg = "group_concat(%1$s, '|')",
    .json_number = "(CASE json_type(%1$s, ?) WHEN 'integer' THEN CAST(json_extract(%1$s, ?) AS "
                   "REAL) WHEN 'real' THEN json_extract(%1$s, ?) END)",
    .json_text = "(CASE json_type(%1$s, ?) WHEN 'text' THEN json_extract(%1$s, ?) END)",
    .json_bool = "(CASE json_type(%1$s, ?) WHEN 'true' THEN 1 WHEN 'false' THEN 0 END)",
    .json_null = "(coalesce(json_type(%1$s, ?), 'null') = 'null')",
    .json_path_style = JSON_PATH_DOLLAR,
    .number_text = "insitu_number_text(%1$s)", /* number_text_fn */
    .round = "round(%1$s)",
    .lower = "lower(%1$s)",
    .upper = "upper(%1$s)",
};

/* insitu_number_text(x): the dialect's number_text, as the JSON writer prints x. */
static void number_text_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    (void)argc;
    int type = sqlite3_value_type(argv[0]);
    double v = sqlite3_value_double(argv[0]);
    if ((type != SQLITE_FLOAT && type != SQLITE_INTEGER) || v != v || v - v != 0) {
        sqlite3_result_null(ctx);
        return;
    }
    char buf[40];
    fmt_double(v, buf, sizeof buf);
    sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static int sqlite_accepts(const char *uri)
{
    return strncmp(uri, "postgresql:", 11) != 0 && strncmp(uri, "postgres:", 9) != 0;
}

static const char *sqlite_path(const char *uri)
{
    return strncmp(uri, "sqlite:", 7) == 0 ? uri + 7 : uri;
}

/* The error code of a busy store (another connection kept the write lock past the busy
 * time-out, e.g. a running ingest), or `otherwise`. */
static int busy_or(int sqlite_rc, int otherwise)
{
    int primary = sqlite_rc & 0xff;
    return primary == SQLITE_BUSY || primary == SQLITE_LOCKED ? INSITU_EBUSY : otherwise;
}

/* The words that say why SQLite's rc failed when its own message sends the user looking
 * for the wrong cause ("database is locked", "unable to open database file"), or "". */
static const char *failure_cause(int sqlite_rc)
{
    switch (sqlite_rc & 0xff) {
    case SQLITE_FULL: return "disk full: ";
    case SQLITE_READONLY: return "cannot write the store: ";
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return "store busy: another process held its write lock past the busy timeout "
               "(INSITU_BUSY_TIMEOUT): ";
    default: return "";
    }
}

/* Fills err for a failed sqlite_rc: the store's path, the cause, what failed, SQLite's
 * message; returns the INSITU_E* code. */
static int rc_error(struct sqlite_store *ss, int sqlite_rc, const char *msg, insitu_error *err,
                    const char *what)
{
    int primary = sqlite_rc & 0xff;
    int ecode = primary == SQLITE_CONSTRAINT ? INSITU_ECONFLICT
                : primary == SQLITE_FULL      ? INSITU_EIO
                                              : busy_or(sqlite_rc, INSITU_ESTORE);
    return insitu_error_set(err, ecode, "%s: %s%s%s%s", sqlite_path(ss->base.uri),
                            failure_cause(sqlite_rc), what ? what : "", what ? ": " : "", msg);
}

static int db_error(struct sqlite_store *ss, insitu_error *err, const char *what)
{
    int code = sqlite3_extended_errcode(ss->db);
    if ((code & 0xff) == SQLITE_INTERRUPT && ss->deadline_us)
        return insitu_error_set(err, INSITU_ELIMIT, "%s: the request took longer than its "
                                "time limit", what);
    return rc_error(ss, code, sqlite3_errmsg(ss->db), err, what);
}

static int set_journal_mode(struct sqlite_store *ss, const char *mode);

static int exec_sql(struct sqlite_store *ss, const char *sql, insitu_error *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(ss->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        /* BEGIN IMMEDIATE beside another writer: busy; COMMIT on a full disk: disk full */
        int code = rc_error(ss, rc, msg ? msg : sqlite3_errmsg(ss->db), err, NULL);
        sqlite3_free(msg);
        return code;
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
    sqlite3_finalize(ss->obs_insert_many);
    sqlite3_finalize(ss->obs_update_other);
    sqlite3_finalize(ss->obs_mark_set);
    if (st->in_tx || st->group)
        sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(ss->db);
    if (ss->spatialite_cache)
        spatialite_cleanup_ex(ss->spatialite_cache);
    free(st->uri);
    free(ss);
}

/* A store to create in a folder that does not exist: says so (SQLite would only say that it
 * is "unable to open database file"). */
static int missing_folder(const char *path, insitu_error *err)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = xstrndup(path, (size_t)(slash - path));
    struct stat sb;
    int missing = dir && stat(dir, &sb) != 0;
    if (missing)
        insitu_error_set(err, INSITU_ENOTFOUND,
                         "%s: cannot create the store: the folder %s does not exist", path, dir);
    free(dir);
    return missing;
}

/* Why SQLite cannot write the store at path (the file, or its folder, where the journal
 * goes): "read-only file system", "permission denied"..., or NULL when it can. `buf` holds
 * the words when they name the folder. */
static const char *unwritable_cause(const char *path, char *buf, size_t n)
{
    struct statvfs vfs;
    if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY))
        return "read-only file system";
    if (access(path, W_OK) != 0 && errno != ENOENT)
        return strerror(errno);
    const char *slash = strrchr(path, '/');
    char *dir = slash ? xstrndup(path, slash == path ? 1 : (size_t)(slash - path))
                      : xstrdup(".");
    const char *cause = NULL;
    if (dir && access(dir, W_OK | X_OK) != 0) {
        snprintf(buf, n, "the folder %s: %s", dir, strerror(errno));
        cause = buf;
    }
    free(dir);
    return cause;
}

/* The busy timeout in ms: $INSITU_BUSY_TIMEOUT, else 10000; -1 when the variable is not a
 * count of milliseconds. */
static int busy_timeout_ms(void)
{
    const char *env = getenv("INSITU_BUSY_TIMEOUT");
    if (!env || !*env)
        return 10000;
    int64_t ms;
    if (parse_int64(env, strlen(env), &ms) || ms < 0 || ms > 24 * 3600 * 1000)
        return -1;
    return (int)ms;
}

/* A "file:" URI that opens path read-only and immutable: SQLite then takes no lock and
 * makes no -shm file, which a WAL store on read-only media needs to be read at all. */
static char *immutable_uri(const char *path)
{
    struct strbuf sb = {0};
    sb_puts(&sb, "file:");
    for (const char *p = path; *p; p++) {
        if (*p == '%' || *p == '?' || *p == '#')
            sb_printf(&sb, "%%%02X", (unsigned char)*p);
        else
            sb_putc(&sb, *p);
    }
    sb_puts(&sb, "?immutable=1");
    char *text = xstrdup(sb_str(&sb));
    sb_free(&sb);
    return text;
}

/* 1 when path's write-ahead log holds pages: an immutable reader would not see them. */
static int wal_has_pages(const char *path)
{
    char wal[4096];
    struct stat sb;
    snprintf(wal, sizeof wal, "%s-wal", path);
    return stat(wal, &sb) == 0 && sb.st_size > 0;
}

/* Opens the connection: read-write, or read-only; a read-only store that SQLite cannot
 * read in place (a WAL store on read-only media has no -shm file) is opened immutable. */
static int open_db(struct sqlite_store *ss, const char *path, unsigned flags, insitu_error *err)
{
    char why[600];
    const char *cause = NULL;
    struct stat sb;
    if (!(flags & INSITU_OPEN_READONLY) && stat(path, &sb) == 0 &&
        (cause = unwritable_cause(path, why, sizeof why)) != NULL)
        return insitu_error_set(err, INSITU_EIO, "%s: cannot write the store: %s", path, cause);
    int oflags = (flags & INSITU_OPEN_READONLY) ? SQLITE_OPEN_READONLY
                                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &ss->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
        goto failed;
    if (!(flags & INSITU_OPEN_READONLY))
        return 0;
    /* a WAL store is read through its -shm file, which read-only media cannot hold */
    int rc = sqlite3_exec(ss->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    int primary = rc & 0xff;
    if ((primary != SQLITE_CANTOPEN && primary != SQLITE_READONLY) ||
        !(cause = unwritable_cause(path, why, sizeof why)))
        return 0; /* read as it is; other errors are reported by sqlite_open */
    if (wal_has_pages(path))
        return insitu_error_set(err, INSITU_EIO,
                                "%s: cannot read the store: %s, and its write-ahead log "
                                "(%s-wal) holds changes not yet in the store: open it once "
                                "where it can be written",
                                path, cause, path);
    sqlite3_close(ss->db);
    ss->db = NULL;
    char *imm = immutable_uri(path);
    if (sqlite3_open_v2(imm, &ss->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
                        NULL) == SQLITE_OK) {
        free(imm);
        return 0;
    }
    free(imm);
failed:
    return insitu_error_set(err, INSITU_EIO, "%s: cannot open store: %s", path,
                            ss->db ? sqlite3_errmsg(ss->db) : "out of memory");
}

/* A writer killed inside a transaction leaves a hot journal, which only a read-write
 * connection may roll back: a read-only open failed with "attempt to write a readonly
 * database" (SQLITE_READONLY_ROLLBACK) and was reported as "not a SQLite store" (issue 17).
 * A read-write connection rolls it back at its first read; SQLite itself decides that the
 * journal is hot (no live writer holds the file). */
static int roll_back_hot_journal(const char *path, int busy_ms, insitu_error *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, busy_ms);
        rc = sqlite3_exec(db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK)
        insitu_error_set(err, INSITU_EIO,
                         "%s: a write to the store was interrupted and its journal (%s-journal) "
                         "cannot be rolled back: %s",
                         path, path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return rc == SQLITE_OK ? 0 : INSITU_EIO;
}

static int open_store(const char *uri, unsigned flags, int recovered, struct store **out,
                      insitu_error *err);

static int sqlite_open(const char *uri, unsigned flags, struct store **out, insitu_error *err)
{
    return open_store(uri, flags, 0, out, err);
}

static int open_store(const char *uri, unsigned flags, int recovered, struct store **out,
                      insitu_error *err)
{
    const char *path = sqlite_path(uri);
    struct stat sb;
    if (!(flags & INSITU_OPEN_CREATE) && stat(path, &sb) != 0)
        return insitu_error_set(err, INSITU_ENOTFOUND,
                                "%s: no such store (create it with 'insitu --store %s init')",
                                path, uri);
    if (stat(path, &sb) != 0 && missing_folder(path, err))
        return INSITU_ENOTFOUND;
    int busy_ms = busy_timeout_ms();
    if (busy_ms < 0)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "INSITU_BUSY_TIMEOUT=%s: expected milliseconds (0 to 86400000)",
                                getenv("INSITU_BUSY_TIMEOUT"));
    struct sqlite_store *ss = calloc(1, sizeof *ss);
    if (!ss)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    ss->base.ops = &store_sqlite_ops;
    ss->base.dialect = &sqlite_dialect;
    ss->base.uri = xstrdup(uri);
    ss->base.flags = flags;
    int rc = open_db(ss, path, flags, err);
    if (rc) {
        sqlite_close(&ss->base);
        return rc;
    }
    ss->spatialite_cache = spatialite_alloc_connection();
    spatialite_init_ex(ss->db, ss->spatialite_cache, 0);
    sqlite3_create_function(ss->db, "insitu_number_text", 1,
                            SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                            number_text_fn, NULL, NULL);
    sqlite3_busy_timeout(ss->db, busy_ms);
    /* 8 MiB page cache: bulk inserts are append-mostly, and larger caches measured no faster. */
    rc = exec_sql(ss,
                  "PRAGMA page_size = 16384; PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192; "
                  "PRAGMA temp_store = MEMORY; "
                  "PRAGMA synchronous = NORMAL; SELECT count(*) FROM sqlite_master;",
                  err);
    /* WAL lets readers read while a writer writes; when another connection holds the file
     * in another mode, this one follows it */
    if (!rc && !(flags & INSITU_OPEN_READONLY))
        set_journal_mode(ss, "WAL");
    if (rc && !recovered && (flags & INSITU_OPEN_READONLY) &&
        sqlite3_extended_errcode(ss->db) == SQLITE_READONLY_ROLLBACK) {
        sqlite_close(&ss->base);
        rc = roll_back_hot_journal(path, busy_ms, err);
        return rc ? rc : open_store(uri, flags, 1, out, err);
    }
    if (rc) {
        if (err && err->code != INSITU_EBUSY)
            insitu_error_prefix(err, "not a SQLite store");
        sqlite_close(&ss->base);
        return rc;
    }
    *out = &ss->base;
    return 0;
}

/* Pages copied per sqlite3_backup_step: 4096 pages of 16 KiB, 64 MiB a step. */
#define BACKUP_STEP_PAGES 4096

/* Copies the store into a new file at dest through SQLite's online backup, step by step.
 * The source connection holds one read transaction for the whole copy: the copy is that
 * snapshot, and a write by another connection meanwhile does not restart it (in WAL mode
 * the writers go on; in rollback-journal mode a writer's commit waits for the copy). */
static int sqlite_backup(struct store *st, const char *dest, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    sqlite3 *to = NULL;
    if (sqlite3_open_v2(dest, &to, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                        NULL) != SQLITE_OK) {
        int rc = insitu_error_set(err, INSITU_EIO, "%s: cannot create the backup: %s", dest,
                                  to ? sqlite3_errmsg(to) : "out of memory");
        sqlite3_close(to);
        return rc;
    }
    int rc = exec_sql(ss, "BEGIN; SELECT count(*) FROM sqlite_master", err);
    sqlite3_backup *b = rc ? NULL : sqlite3_backup_init(to, "main", ss->db, "main");
    if (!rc && !b)
        rc = insitu_error_set(err, INSITU_EIO, "%s: cannot start the backup: %s", dest,
                              sqlite3_errmsg(to));
    int step = SQLITE_OK;
    while (b && (step == SQLITE_OK || step == SQLITE_BUSY || step == SQLITE_LOCKED)) {
        step = sqlite3_backup_step(b, BACKUP_STEP_PAGES);
        if (step == SQLITE_BUSY || step == SQLITE_LOCKED)
            sqlite3_sleep(10);
    }
    if (b && sqlite3_backup_finish(b) != SQLITE_OK && step == SQLITE_DONE)
        step = sqlite3_errcode(to);
    if (!rc && step != SQLITE_DONE)
        rc = insitu_error_set(err, (step & 0xff) == SQLITE_FULL ? INSITU_EIO : INSITU_ESTORE,
                              "%s: backup of %s failed: %s%s", dest, sqlite_path(st->uri),
                              failure_cause(step), sqlite3_errstr(step));
    if (!rc || !sqlite3_get_autocommit(ss->db))
        sqlite3_exec(ss->db, "COMMIT", NULL, NULL, NULL); /* ends the read transaction */
    if (sqlite3_close(to) != SQLITE_OK && !rc)
        rc = insitu_error_set(err, INSITU_EIO, "%s: cannot close the backup", dest);
    return rc;
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

static int exec_schema(struct store *st, const char *sql, insitu_error *err)
{
    return exec_sql((struct sqlite_store *)st, sql, err);
}

/* 0 when every foreign key of the store refers to a row, else INSITU_ESTORE naming the
 * first that does not. */
static int foreign_keys_hold(struct sqlite_store *ss, insitu_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(ss->db, "PRAGMA foreign_key_check", -1, &s, NULL) != SQLITE_OK)
        return db_error(ss, err, "cannot check foreign keys");
    int rc = 0, step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        rc = insitu_error_set(err, INSITU_ESTORE,
                              "%s: row %lld of %s refers to a missing row of %s",
                              sqlite_path(ss->base.uri), (long long)sqlite3_column_int64(s, 1),
                              (const char *)sqlite3_column_text(s, 0),
                              (const char *)sqlite3_column_text(s, 2));
    else if (step != SQLITE_DONE)
        rc = db_error(ss, err, "cannot check foreign keys");
    sqlite3_finalize(s);
    return rc;
}

static void end_bulk(struct sqlite_store *ss);

/* Runs every "-- @version N" section of the schema with N > the store's version. */
static int sqlite_init(struct store *st, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    if (st->flags & INSITU_OPEN_READONLY)
        return insitu_error_set(err, INSITU_EUSAGE, "%s: store opened read-only", st->uri);
    /* a migration may copy whole tables (version 5): like a bulk ingest, alone on the store
     * it writes with a rollback journal (new pages written once, not to the WAL and again
     * at the checkpoint), and it sorts (index builds) in temporary files, not in memory
     * (10M observations' id index held ~700 MiB) */
    if (sqlite_schema_version(st) < store_schema_newest(insitu_schema_sqlite)) {
        ss->bulk_journal = set_journal_mode(ss, "DELETE");
        ss->temp_file =
            sqlite3_exec(ss->db, "PRAGMA temp_store = FILE", NULL, NULL, NULL) == SQLITE_OK;
    }
    /* a migration may rebuild a table that others refer to (version 5): with foreign keys
     * on, dropping the old one would delete the rows that refer to it (SQLite's way to
     * change a table: https://sqlite.org/lang_altertable.html#otheralter). They are checked
     * before the commit instead. The setting cannot change inside a transaction. */
    int rc = exec_sql(ss, "PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE", err);
    int current = 0, newest = 0;
    if (!rc) {
        current = sqlite_schema_version(st);
        rc = store_apply_schema(st, insitu_schema_sqlite, current, exec_schema, &newest, err);
    }
    if (!rc && newest != current)
        rc = foreign_keys_hold(ss, err);
    if (rc && newest)
        insitu_error_prefix(err, "schema migration to version %d failed", newest);
    if (!rc)
        rc = exec_sql(ss, "COMMIT", err);
    if (rc)
        sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
    int on = exec_sql(ss, "PRAGMA foreign_keys = ON", rc ? NULL : err);
    end_bulk(ss);
    return rc ? rc : on;
}

/* Sets the journal mode; returns 1 when the mode is now `mode`. Changing away from WAL
 * needs the only connection to the file: when others are connected it stays WAL. */
static int set_journal_mode(struct sqlite_store *ss, const char *mode)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA journal_mode = %s", mode);
    sqlite3_stmt *s;
    int now = 0;
    if (sqlite3_prepare_v2(ss->db, sql, -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            now = str_ieq((const char *)sqlite3_column_text(s, 0), mode);
        sqlite3_finalize(s);
    }
    return now;
}

/* A bulk write (an ingest) alone on the store uses a rollback journal: pages appended to
 * the file are then written once, where the WAL writes every page twice (WAL, then the
 * checkpoint); measured 1.7x faster on 1M rows (docs/performance.md). With other
 * connections open the WAL stays, and readers go on reading during the ingest. */
static void end_bulk(struct sqlite_store *ss)
{
    if (ss->bulk_journal)
        set_journal_mode(ss, "WAL");
    ss->bulk_journal = 0;
    if (ss->temp_file)
        sqlite3_exec(ss->db, "PRAGMA temp_store = MEMORY", NULL, NULL, NULL);
    ss->temp_file = 0;
}

/* A group of sources (TX_GROUP) keeps each source's savepoint journal in a temporary file:
 * in memory, SQLite walks the whole journal at the end of each statement of the source
 * (measured: a quarter of a SWOT ingest's time), where a file is truncated at once. */
static int sqlite_begin(struct store *st, int kind, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    ss->next_obs_id = 0;
    ss->bulk_journal = kind != TX_PLAIN && set_journal_mode(ss, "DELETE");
    ss->temp_file = kind == TX_GROUP &&
                    sqlite3_exec(ss->db, "PRAGMA temp_store = FILE", NULL, NULL, NULL) == SQLITE_OK;
    int rc = exec_sql(ss, "BEGIN IMMEDIATE", err);
    if (rc)
        end_bulk(ss);
    return rc;
}

static int sqlite_commit(struct store *st, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    int rc = exec_sql(ss, "COMMIT", err);
    if (!rc)
        end_bulk(ss);
    return rc;
}

static void sqlite_rollback(struct store *st)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    sqlite3_exec(ss->db, "ROLLBACK", NULL, NULL, NULL);
    ss->next_obs_id = 0;
    end_bulk(ss);
}

/* Savepoints in the open transaction: one source's writes inside a group of sources. */
static int sqlite_savepoint(struct store *st, int op, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    if (op == SP_BEGIN)
        return exec_sql(ss, "SAVEPOINT insitu_source", err);
    if (op == SP_RELEASE)
        return exec_sql(ss, "RELEASE insitu_source", err);
    ss->next_obs_id = 0; /* the rolled back rows' ids are free again */
    int rc = exec_sql(ss, "ROLLBACK TO insitu_source; RELEASE insitu_source", err);
    /* some errors (a full disk, an I/O error) roll back the whole transaction */
    if (!rc && sqlite3_get_autocommit(ss->db))
        rc = insitu_error_set(err, INSITU_ESTORE, "%s: the transaction was rolled back",
                              st->uri);
    return rc;
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
    if (stmt_params_init(&s->base, sqlite3_bind_parameter_count(s->s))) {
        sqlite3_finalize(s->s);
        free(s);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    *out = &s->base;
    return 0;
}

#define SQ(x) (((struct sqlite_stmt *)(x))->s)

static const char *sqlite_stmt_sql(struct stmt *s) { return sqlite3_sql(SQ(s)); }

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

static int sqlite_bind_blob(struct stmt *s, int i, const void *data, size_t n)
{
    return sqlite3_bind_blob64(SQ(s), i, data, n, SQLITE_TRANSIENT);
}

static int past_deadline(void *ctx);

static int sqlite_step(struct stmt *s, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)s->st;
    /* the progress handler stops long statements; one that starts late does not start */
    if (ss->deadline_us && !sqlite3_stmt_busy(SQ(s)) && past_deadline(ss))
        return insitu_error_set(err, INSITU_ELIMIT, "statement failed: the request took "
                                "longer than its time limit");
    int rc = sqlite3_step(SQ(s));
    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
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
    stmt_params_free(s);
    free(s);
}
static int64_t sqlite_changes(struct store *st)
{
    return sqlite3_changes64(((struct sqlite_store *)st)->db);
}

static int64_t sqlite_last_insert_id(struct store *st)
{
    return sqlite3_last_insert_rowid(((struct sqlite_store *)st)->db);
}

/* Binds the value columns of an observation from index `first` on: phenomenon_end,
 * result_time, result, result_json, result_quality, quality_id, parameters,
 * parameters_id, feature_id, run_id (OBS_VALUES of them). tid: the texts' obs_texts ids, 0
 * where the row keeps the text itself (store_text_ids). Returns the index after them. */
static int bind_obs_values(sqlite3_stmt *s, int first, const struct obs_row *r,
                           const int64_t *tid, int64_t run_id)
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
    const char *text[2] = {r->quality, r->parameters};
    for (int k = 0; k < 2; k++) {
        sqlite3_bind_text(s, i++, tid[k] ? NULL : text[k], -1, SQLITE_STATIC);
        if (tid[k])
            sqlite3_bind_int64(s, i++, tid[k]);
        else
            sqlite3_bind_null(s, i++);
    }
    if (r->feature_id)
        sqlite3_bind_int64(s, i++, r->feature_id);
    else
        sqlite3_bind_null(s, i++);
    sqlite3_bind_int64(s, i++, run_id);
    return i;
}

/* Rows per multi-row INSERT: one statement per OBS_CHUNK rows halves the per-row cost (256:
 * 4% faster than 64 on 20 SWOT products, the same on CSV).
 * OR IGNORE, not ON CONFLICT DO NOTHING: a statement that cannot abort needs no statement
 * journal, where one that can copies every page it touches there first (inside a group of
 * sources, once per statement: most of a SWOT pass's writes). An existing key is then
 * updated, as before; the other constraints (NOT NULL keys) the writer guarantees. */
enum { OBS_CHUNK = 256 };

#define OBS_INSERT_COLS                                                                       \
    "INSERT OR IGNORE INTO observations (datastream_id, phenomenon_start, id, phenomenon_end, " \
    "result_time, result, result_json, result_quality, quality_id, parameters, "              \
    "parameters_id, feature_id, run_id) VALUES "
#define OBS_ROW_PLACEHOLDERS "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"

static int prepare(struct sqlite_store *ss, const char *sql, sqlite3_stmt **out,
                   insitu_error *err)
{
    if (*out)
        return 0;
    if (sqlite3_prepare_v3(ss->db, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL) != SQLITE_OK)
        return db_error(ss, err, "cannot prepare observation statement");
    return 0;
}

static int read_obs_ids(struct sqlite_store *ss, insitu_error *err);

static int prepare_obs_statements(struct sqlite_store *ss, insitu_error *err)
{
    struct strbuf many = {0};
    sb_puts(&many, OBS_INSERT_COLS);
    for (int i = 0; i < OBS_CHUNK; i++)
        sb_puts(&many, i ? ", " OBS_ROW_PLACEHOLDERS : OBS_ROW_PLACEHOLDERS);
    int rc = prepare(ss, OBS_INSERT_COLS OBS_ROW_PLACEHOLDERS,
                     &ss->obs_insert, err);
    if (!rc)
        rc = prepare(ss, many.data, &ss->obs_insert_many, err);
    sb_free(&many);
    if (!rc)
        rc = prepare(ss,
                     "UPDATE observations SET phenomenon_end = ?, result_time = ?, result = ?, "
                     "result_json = ?, result_quality = ?, quality_id = ?, parameters = ?, "
                     "parameters_id = ?, feature_id = ?, "
                     "run_id = ? WHERE datastream_id = ? AND phenomenon_start = ? AND seq = 0",
                     &ss->obs_update, err);
    if (!rc)
        rc = prepare(ss,
                     "UPDATE observations SET phenomenon_end = ?, result_time = ?, result = ?, "
                     "result_json = ?, result_quality = ?, quality_id = ?, parameters = ?, "
                     "parameters_id = ?, feature_id = ?, "
                     "run_id = ? WHERE datastream_id = ? AND phenomenon_start = ? AND seq = 0 "
                     "AND id <> ?",
                     &ss->obs_update_other, err);
    return rc ? rc : read_obs_ids(ss, err);
}

/* Binds an observation's key, id and values from index `first` on; returns the index
 * after them. */
static int bind_obs_row(sqlite3_stmt *s, int first, const struct obs_row *r,
                        const int64_t *tid, int64_t id, int64_t run_id)
{
    sqlite3_bind_int64(s, first, r->datastream_id);
    sqlite3_bind_int64(s, first + 1, r->phenomenon_start);
    sqlite3_bind_int64(s, first + 2, id);
    return bind_obs_values(s, first + 3, r, tid, run_id);
}

/* The bulk statements bind sqlite3 statements directly (millions of values, past the
 * checks of st_step): `next`, the index after the last one bound, must be one past the
 * statement's placeholders, or the statement does not run (an unbound value would silently
 * be NULL). One comparison per execution. */
static int step_done(struct sqlite_store *ss, sqlite3_stmt *s, int next, const char *what,
                     insitu_error *err)
{
    int want = sqlite3_bind_parameter_count(s);
    if (next != want + 1) {
        sqlite3_clear_bindings(s);
        return insitu_error_set(err, INSITU_ESTORE,
                                "bound values do not match the statement: %d bound for %d "
                                "placeholders: %.300s",
                                next - 1, want, sqlite3_sql(s));
    }
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : db_error(ss, err, what);
}

/* Reads where the observations' numbering is (once per transaction): the next id is past
 * both the largest id stored and the largest ever given. */
static int read_obs_ids(struct sqlite_store *ss, insitu_error *err)
{
    if (ss->next_obs_id)
        return 0;
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(ss->db,
                           "SELECT coalesce((SELECT max(id) FROM observations), 0), "
                           "(SELECT max(seq) FROM sqlite_sequence WHERE name = 'observations')",
                           -1, &s, NULL) != SQLITE_OK)
        return db_error(ss, err, "cannot read observation ids");
    int rc = sqlite3_step(s) == SQLITE_ROW ? 0 : db_error(ss, err, "cannot read observation ids");
    int64_t stored = rc ? 0 : sqlite3_column_int64(s, 0);
    int has_mark = !rc && sqlite3_column_type(s, 1) != SQLITE_NULL;
    int64_t mark = has_mark ? sqlite3_column_int64(s, 1) : 0;
    sqlite3_finalize(s);
    /* the row is made by schema version 5; a store that lost it gets it back */
    if (!rc && !has_mark)
        rc = exec_sql(ss, "INSERT INTO sqlite_sequence (name, seq) VALUES ('observations', 0)",
                      err);
    if (rc)
        return rc;
    ss->obs_mark = mark;
    ss->next_obs_id = (stored > mark ? stored : mark) + 1;
    return 0;
}

/* Records in sqlite_sequence the largest observation id given so far (in the transaction
 * that gave it: a rollback takes both back). */
static int keep_obs_mark(struct sqlite_store *ss, insitu_error *err)
{
    int64_t last = ss->next_obs_id - 1;
    if (last <= ss->obs_mark)
        return 0;
    int rc = prepare(ss, "UPDATE sqlite_sequence SET seq = ? WHERE name = 'observations'",
                     &ss->obs_mark_set, err);
    if (rc)
        return rc;
    sqlite3_bind_int64(ss->obs_mark_set, 1, last);
    rc = step_done(ss, ss->obs_mark_set, 2, "cannot record observation ids", err);
    if (!rc)
        ss->obs_mark = last;
    return rc;
}

/* Writes rows one by one: insert, else update (an existing key). */
static int put_rows_single(struct sqlite_store *ss, const struct obs_row *rows,
                           const int64_t *tids, size_t n, int64_t run_id,
                           unsigned char *outcome, insitu_error *err)
{
    for (size_t i = 0; i < n; i++) {
        const int64_t *tid = tids + 2 * i;
        int next = bind_obs_row(ss->obs_insert, 1, &rows[i], tid, ss->next_obs_id, run_id);
        int rc = step_done(ss, ss->obs_insert, next, "cannot insert observation", err);
        if (rc)
            return rc;
        if (sqlite3_changes(ss->db) == 1) {
            ss->next_obs_id++;
            outcome[i] = OBS_INSERTED;
            continue;
        }
        next = bind_obs_values(ss->obs_update, 1, &rows[i], tid, run_id);
        sqlite3_bind_int64(ss->obs_update, next++, rows[i].datastream_id);
        sqlite3_bind_int64(ss->obs_update, next++, rows[i].phenomenon_start);
        rc = step_done(ss, ss->obs_update, next, "cannot update observation", err);
        if (rc)
            return rc;
        outcome[i] = OBS_UPDATED;
    }
    return 0;
}

/* Writes OBS_CHUNK rows with one INSERT. When some keys existed, each row is then updated
 * unless it is the row this INSERT wrote (told apart by the id it was given). */
static int put_rows_chunk(struct sqlite_store *ss, const struct obs_row *rows,
                          const int64_t *tids, int64_t run_id, unsigned char *outcome,
                          insitu_error *err)
{
    int64_t first_id = ss->next_obs_id;
    int next = 1;
    for (int i = 0; i < OBS_CHUNK; i++)
        next = bind_obs_row(ss->obs_insert_many, next, &rows[i], tids + 2 * i, first_id + i,
                            run_id);
    int rc = step_done(ss, ss->obs_insert_many, next, "cannot insert observations", err);
    if (rc)
        return rc;
    ss->next_obs_id += OBS_CHUNK;
    if (sqlite3_changes(ss->db) == OBS_CHUNK) {
        memset(outcome, OBS_INSERTED, OBS_CHUNK);
        return 0;
    }
    sqlite3_stmt *upd = ss->obs_update_other;
    for (int i = 0; i < OBS_CHUNK; i++) {
        next = bind_obs_values(upd, 1, &rows[i], tids + 2 * i, run_id);
        sqlite3_bind_int64(upd, next++, rows[i].datastream_id);
        sqlite3_bind_int64(upd, next++, rows[i].phenomenon_start);
        sqlite3_bind_int64(upd, next++, first_id + i);
        rc = step_done(ss, upd, next, "cannot update observation", err);
        if (rc)
            return rc;
        outcome[i] = sqlite3_changes(ss->db) ? OBS_UPDATED : OBS_INSERTED;
    }
    return 0;
}

static int sqlite_put_observations(struct store *st, const struct obs_row *rows, size_t n,
                                   int64_t run_id, unsigned char *outcome, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    int rc = prepare_obs_statements(ss, err);
    const int64_t *tids = NULL;
    if (!rc)
        rc = store_text_ids(st, rows, n, &tids, err);
    size_t i = 0;
    for (; !rc && i + OBS_CHUNK <= n; i += OBS_CHUNK)
        rc = put_rows_chunk(ss, rows + i, tids + 2 * i, run_id, outcome + i, err);
    if (!rc && i < n)
        rc = put_rows_single(ss, rows + i, tids + 2 * i, n - i, run_id, outcome + i, err);
    /* The strings were bound SQLITE_STATIC: drop them before the caller frees the batch. */
    sqlite3_clear_bindings(ss->obs_insert);
    sqlite3_clear_bindings(ss->obs_insert_many);
    sqlite3_clear_bindings(ss->obs_update);
    sqlite3_clear_bindings(ss->obs_update_other);
    return rc ? rc : keep_obs_mark(ss, err);
}

static int sqlite_observation_ids(struct store *st, size_t n, int64_t *first, insitu_error *err)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    int rc = read_obs_ids(ss, err);
    if (rc)
        return rc;
    *first = ss->next_obs_id;
    ss->next_obs_id += (int64_t)n;
    return keep_obs_mark(ss, err);
}

/* The progress handler: nonzero stops the running statement (SQLITE_INTERRUPT). */
static int past_deadline(void *ctx)
{
    struct sqlite_store *ss = ctx;
    return ss->deadline_us && (int64_t)(now_seconds() * 1e6) > ss->deadline_us;
}

static void sqlite_set_deadline(struct store *st, int64_t deadline_us)
{
    struct sqlite_store *ss = (struct sqlite_store *)st;
    ss->deadline_us = deadline_us;
    /* every 4096 virtual machine steps: a clock read costs far less than that */
    sqlite3_progress_handler(ss->db, deadline_us ? 4096 : 0, deadline_us ? past_deadline : NULL,
                             ss);
}

const struct store_ops store_sqlite_ops = {
    .name = "sqlite",
    .schema = insitu_schema_sqlite,
    .accepts = sqlite_accepts,
    .open = sqlite_open,
    .close = sqlite_close,
    .init = sqlite_init,
    .schema_version = sqlite_schema_version,
    .begin = sqlite_begin,
    .commit = sqlite_commit,
    .rollback = sqlite_rollback,
    .savepoint = sqlite_savepoint,
    .prepare = sqlite_prepare,
    .stmt_sql = sqlite_stmt_sql,
    .bind_null = sqlite_bind_null,
    .bind_int64 = sqlite_bind_int64,
    .bind_double = sqlite_bind_double,
    .bind_text = sqlite_bind_text,
    .bind_blob = sqlite_bind_blob,
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
    .last_insert_id = sqlite_last_insert_id,
    .put_observations = sqlite_put_observations,
    .observation_ids = sqlite_observation_ids,
    .set_deadline = sqlite_set_deadline,
    .backup = sqlite_backup,
};
