/*
 * store_pg.c: the PostgreSQL + PostGIS backend (libpq). Implements struct store_ops: the
 * common SQL ('?' placeholders, rewritten to $n) as named prepared statements cached per
 * connection and typed by the values bound (as SQLite's values carry their type), COPY into
 * a staging table merged with INSERT ... ON CONFLICT for bulk observations, yearly
 * partitions created as data arrives, and statement_timeout for deadlines. Knows nothing
 * above the store.
 */
#include <endian.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store.h"
#include "timeutil.h"
#include "util.h"

extern const char insitu_schema_postgres[];

struct pending_part;

struct pg_store {
    struct store base;
    PGconn *conn;
    int64_t last_changes;
    struct strmap prepared;   /* parameter types + converted SQL -> statement number */
    int next_stmt;
    unsigned generation;      /* counts DEALLOCATE ALL: older statement names are gone */
    int64_t deadline_us;      /* set_deadline(): 0, or when statements stop */
    int timeout_want;         /* statement_timeout (ms) the deadline asks for; 0: none */
    int timeout_set;          /* what the session has: 0 its default, -1 not known */
    int timeout_in_tx;        /* statement_timeout was changed in the open transaction */
    struct strmap partitions; /* years whose partition is known to exist */
    int stage_ready;          /* the session's staging table exists */
    int bulk;                 /* in a bulk transaction (begin with bulk) */
    struct pending_part *pending; /* partitions filled before being attached */
    size_t n_pending, cap_pending;
};

/* A statement is prepared on the server at its first execution, with the types of the
 * values bound then (bigint, double precision, bytea; text and NULL left for the server to
 * infer): `? < ?` then compares numbers, not text, as on SQLite. Bound again with other
 * types, it is prepared once more under another name. */
struct pg_stmt {
    struct stmt base;
    char *sql;         /* with $n placeholders */
    char name[24];     /* the server-side statement of the types in sig, or "" */
    unsigned generation;
    char *sig;         /* one letter per parameter: i(nt8), d(ouble), b(ytea), u(nknown) */
    int nparams;
    char **values;
    int *lengths, *formats;
    Oid *types;
    PGresult *res;
    int row, executed;
    int reads_obs; /* the SQL names observations: pending partitions are attached first */
};

static const struct sql_dialect pg_dialect = {
    .returning_id = " RETURNING id",
    .no_abort = "",
    /* unique by md5 (schemas/postgres.sql); the literal $1 is the same parameter again */
    .text_find = "SELECT id FROM obs_texts WHERE md5(text) = md5(CAST(? AS text)) AND text = $1",
    .text_insert = "INSERT INTO obs_texts (text) VALUES (?) ON CONFLICT DO NOTHING RETURNING id",
    .geom_from_geojson = "ST_Force2D(ST_SetSRID(ST_GeomFromGeoJSON(?), 4326))",
    .geom_from_wkb = "ST_Force2D(ST_GeomFromWKB(?, 4326))",
    .geom_as_geojson = "ST_AsGeoJSON(%s, 9)",
    .geom_bounds = {"ST_XMin(%1$s)", "ST_YMin(%1$s)", "ST_XMax(%1$s)", "ST_YMax(%1$s)"},
    .box_geom = "(CASE WHEN %1$s IS NULL THEN NULL WHEN %1$s = %3$s AND %2$s = %4$s THEN "
                "ST_SetSRID(ST_MakePoint(%1$s, %2$s), 4326) WHEN %1$s = %3$s OR %2$s = %4$s "
                "THEN ST_SetSRID(ST_MakeLine(ST_MakePoint(%1$s, %2$s), ST_MakePoint(%3$s, "
                "%4$s)), 4326) ELSE ST_MakeEnvelope(%1$s, %2$s, %3$s, %4$s, 4326) END)",
    /* the exact test takes the box as ST_Envelope makes it: a point or a line when the box
     * is flat, where ST_MakeEnvelope's flat polygon intersects nothing */
    .bbox_filter = "%1$s.geom && ST_MakeEnvelope(?, ?, ?, ?, 4326) AND ST_Intersects(%1$s.geom, "
                   "ST_SetSRID(ST_Envelope(ST_MakeLine(ST_MakePoint(?, ?), ST_MakePoint(?, ?))), "
                   "4326))",
    .bbox_repeat = 2,
    .geom_from_wkt = "ST_GeomFromText(?, 4326)",
    .spatial_true = "(%1$s)",
    /* functions of schema version 2: SQLite's strftime() results, exactly */
    .time_part = {"insitu_time_part(%1$s, 0)", "insitu_time_part(%1$s, 1)",
                  "insitu_time_part(%1$s, 2)", "insitu_time_part(%1$s, 3)",
                  "insitu_time_part(%1$s, 4)", "insitu_time_part(%1$s, 5)"},
    .time_of_day = "insitu_time_of_day(%1$s)",
    .strpos = "strpos(%1$s, %2$s)",
    .text_agg = "string_agg(%1$s, '|')",
    .json_number = "insitu_json_number(%1$s, ?)",
    .json_text = "insitu_json_text(%1$s, ?)",
    .json_bool = "insitu_json_bool(%1$s, ?)",
    .json_null = "insitu_json_null(%1$s, ?)",
    .json_path_style = JSON_PATH_ARRAY,
    /* fmt_double's text: %.15g, or %.16g, or %.17g, the first that reads back exactly.
     * PostgreSQL's own float8 text is not it (the shortest digits, but never a tie that only
     * reads back by rounding half to even; exponents from 1e15 on); to_char's EEEE is C's
     * %e, which gives the digits, and %g's layout is made from them */
    .number_text =
        "(SELECT CASE WHEN ex < -4 OR ex >= p THEN sg || left(dg, 1) || CASE WHEN length(dg) > "
        "1 THEN '.' || substr(dg, 2) ELSE '' END || 'e' || es WHEN ex >= 0 THEN sg || "
        "rpad(left(dg, ex + 1), ex + 1, '0') || CASE WHEN length(dg) > ex + 1 THEN '.' || "
        "substr(dg, ex + 2) ELSE '' END ELSE sg || '0.' || repeat('0', -ex - 1) || dg END "
        "FROM (SELECT p, CASE WHEN left(e, 1) = '-' THEN '-' ELSE '' END AS sg, "
        "rtrim(replace(split_part(ltrim(e, '-'), 'e', 1), '.', ''), '0') AS dg, "
        "CAST(split_part(e, 'e', 2) AS integer) AS ex, split_part(e, 'e', 2) AS es "
        "FROM (SELECT CASE WHEN CAST(e15 AS double precision) = v THEN 15 WHEN CAST(e16 AS "
        "double precision) = v THEN 16 ELSE 17 END AS p, CASE WHEN CAST(e15 AS double "
        "precision) = v THEN e15 WHEN CAST(e16 AS double precision) = v THEN e16 ELSE e17 END "
        "AS e FROM (SELECT v, trim(to_char(v, '9.99999999999999EEEE')) AS e15, "
        "trim(to_char(v, '9.999999999999999EEEE')) AS e16, trim(to_char(v, "
        "'9.9999999999999999EEEE')) AS e17 FROM (SELECT CAST(%1$s AS double precision) AS v) "
        "AS n0 WHERE v IS NOT NULL) AS n1) AS n2) AS n3)",
    /* round(double precision) rounds half to even; numeric rounds half away from zero */
    .round = "CAST(round(CAST(%1$s AS numeric)) AS double precision)",
    /* lower() and upper() follow the locale; SQLite's change ASCII letters only */
    .lower = "translate(%1$s, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')",
    .upper = "translate(%1$s, 'abcdefghijklmnopqrstuvwxyz', 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')",
};

static int pg_accepts(const char *uri)
{
    return strncmp(uri, "postgresql:", 11) == 0 || strncmp(uri, "postgres:", 9) == 0;
}

/* The URI without a password, for messages. */
static void safe_uri(const char *uri, char *out, size_t size)
{
    const char *at = strchr(uri, '@'), *scheme = strstr(uri, "://");
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (at && colon && colon < at)
        snprintf(out, size, "%.*s:***%s", (int)(colon - uri), uri, at);
    else
        snprintf(out, size, "%s", uri);
}

static int pg_error(struct pg_store *ps, const PGresult *res, insitu_error *err, const char *what)
{
    char uri[512];
    safe_uri(ps->base.uri, uri, sizeof uri);
    const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
    const char *msg = res ? PQresultErrorMessage(res) : PQerrorMessage(ps->conn);
    if (state && strcmp(state, "57014") == 0 && ps->deadline_us)
        return insitu_error_set(err, INSITU_ELIMIT, "%s: the request took longer than its time "
                                "limit", what);
    /* 23: a constraint; 22: a value the statement cannot compute with (a number out of
     * range: the input's doing); 55P03 (a lock not available), 40001 (serialization) and
     * 40P01 (deadlock): another writer's, worth trying again */
    int code = !state                         ? INSITU_ESTORE
               : strncmp(state, "23", 2) == 0 ? INSITU_ECONFLICT
               : strncmp(state, "22", 2) == 0 ? INSITU_EINVAL
               : (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 ||
                  strcmp(state, "40P01") == 0)
                   ? INSITU_EBUSY
                   : INSITU_ESTORE;
    insitu_error_set(err, code, "%s: %s: %s", uri, what, msg && *msg ? msg : "failed");
    /* libpq messages end with a newline */
    size_t n = err ? strlen(err->message) : 0;
    while (err && n && (err->message[n - 1] == '\n' || err->message[n - 1] == ' '))
        err->message[--n] = '\0';
    return code;
}

/* Runs SQL without parameters (several statements allowed). */
static int pg_exec(struct pg_store *ps, const char *sql, insitu_error *err)
{
    PGresult *res = PQexec(ps->conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : pg_error(ps, res, err, "query failed");
    if (!rc)
        ps->last_changes = atoll(PQcmdTuples(res));
    PQclear(res);
    return rc;
}

static void pg_close(struct store *st)
{
    struct pg_store *ps = (struct pg_store *)st;
    if (!ps)
        return;
    store_release_cache(st);
    if (ps->conn)
        PQfinish(ps->conn);
    strmap_free(&ps->prepared);
    strmap_free(&ps->partitions);
    free(ps->pending);
    free(st->uri);
    free(ps);
}

static int pg_open(const char *uri, unsigned flags, struct store **out, insitu_error *err)
{
    struct pg_store *ps = calloc(1, sizeof *ps);
    if (!ps)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    ps->base.ops = &store_pg_ops;
    ps->base.dialect = &pg_dialect;
    ps->base.uri = xstrdup(uri);
    ps->base.flags = flags;
    ps->conn = PQconnectdb(uri);
    if (PQstatus(ps->conn) != CONNECTION_OK) {
        char safe[512];
        safe_uri(uri, safe, sizeof safe);
        insitu_error_set(err, INSITU_EIO, "%s: cannot connect: %s", safe,
                         PQerrorMessage(ps->conn));
        size_t n = err ? strlen(err->message) : 0;
        while (err && n && err->message[n - 1] == '\n')
            err->message[--n] = '\0';
        pg_close(&ps->base);
        return INSITU_EIO;
    }
    /* notices (e.g. "relation already exists, skipping") are not errors */
    PQsetNoticeProcessor(ps->conn, NULL, NULL);
    int rc = pg_exec(ps,
                     "SET client_min_messages = warning; SET TIME ZONE 'UTC'; "
                     "SET extra_float_digits = 3",
                     err);
    if (!rc && (flags & INSITU_OPEN_READONLY))
        rc = pg_exec(ps, "SET default_transaction_read_only = on", err);
    if (rc) {
        pg_close(&ps->base);
        return rc;
    }
    *out = &ps->base;
    return 0;
}

static int pg_schema_version(struct store *st)
{
    struct pg_store *ps = (struct pg_store *)st;
    PGresult *res = PQexec(ps->conn, "SELECT CASE WHEN to_regclass('insitu_meta') IS NULL THEN 0 "
                                     "ELSE 1 END");
    int exists = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
                 atoi(PQgetvalue(res, 0, 0)) == 1;
    PQclear(res);
    if (!exists)
        return 0;
    res = PQexec(ps->conn, "SELECT value FROM insitu_meta WHERE key = 'schema_version'");
    int v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                ? atoi(PQgetvalue(res, 0, 0))
                : 0;
    PQclear(res);
    return v;
}

static int exec_schema(struct store *st, const char *sql, insitu_error *err)
{
    return pg_exec((struct pg_store *)st, sql, err);
}

static int pg_init(struct store *st, insitu_error *err)
{
    struct pg_store *ps = (struct pg_store *)st;
    if (st->flags & INSITU_OPEN_READONLY)
        return insitu_error_set(err, INSITU_EUSAGE, "store opened read-only");
    int rc = pg_exec(ps, "BEGIN", err);
    if (rc)
        return rc;
    /* one initialiser at a time */
    rc = pg_exec(ps, "SELECT pg_advisory_xact_lock(2674110981)", err);
    int newest = 0;
    if (!rc)
        rc = store_apply_schema(st, insitu_schema_postgres, pg_schema_version(st), exec_schema,
                                &newest, err);
    if (rc) {
        PGresult *r = PQexec(ps->conn, "ROLLBACK");
        PQclear(r);
        insitu_error_prefix(err, "schema migration to version %d failed", newest);
        return rc;
    }
    return pg_exec(ps, "COMMIT", err);
}

static int attach_pending(struct pg_store *ps, insitu_error *err);

static int apply_deadline(struct pg_store *ps, insitu_error *err);

static int pg_begin(struct store *st, int bulk, insitu_error *err)
{
    struct pg_store *ps = (struct pg_store *)st;
    /* statement_timeout is set outside the transaction, where a rollback cannot undo it */
    int rc = apply_deadline(ps, err);
    if (!rc)
        rc = pg_exec(ps, "BEGIN", err);
    ps->bulk = !rc && bulk;
    ps->timeout_in_tx = 0;
    return rc;
}

static int pg_commit(struct store *st, insitu_error *err)
{
    struct pg_store *ps = (struct pg_store *)st;
    int rc = attach_pending(ps, err);
    ps->bulk = 0;
    rc = rc ? rc : pg_exec(ps, "COMMIT", err);
    if (!rc)
        ps->timeout_in_tx = 0;
    return rc;
}

static void pg_rollback(struct store *st)
{
    struct pg_store *ps = (struct pg_store *)st;
    PGresult *r = PQexec(ps->conn, "ROLLBACK");
    PQclear(r);
    /* what the transaction created (partitions, the staging table, a SET) is gone with it */
    if (ps->timeout_in_tx)
        ps->timeout_set = -1;
    ps->timeout_in_tx = 0;
    strmap_free(&ps->partitions);
    ps->stage_ready = 0;
    ps->n_pending = 0;
    ps->bulk = 0;
}

/* Rewrites '?' placeholders (outside quotes) to $1, $2...; returns the count. */
static int convert_placeholders(const char *sql, struct strbuf *out)
{
    int n = 0;
    char quote = 0;
    for (const char *p = sql; *p; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            sb_putc(out, *p);
        } else if (*p == '\'' || *p == '"') {
            quote = *p;
            sb_putc(out, *p);
        } else if (*p == '?') {
            sb_printf(out, "$%d", ++n);
        } else {
            sb_putc(out, *p);
        }
    }
    return n;
}

static int pg_prepare(struct store *st, const char *sql, struct stmt **out, insitu_error *err)
{
    struct pg_stmt *s = calloc(1, sizeof *s);
    if (!s)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    struct strbuf text = {0};
    int nparams = convert_placeholders(sql, &text);
    s->base.st = st;
    s->sql = text.data ? text.data : xstrdup("");
    s->nparams = nparams;
    s->reads_obs = strstr(sql, "observations") != NULL;
    if (nparams) {
        s->values = calloc((size_t)nparams, sizeof *s->values);
        s->lengths = calloc((size_t)nparams, sizeof *s->lengths);
        s->formats = calloc((size_t)nparams, sizeof *s->formats);
        s->types = calloc((size_t)nparams, sizeof *s->types);
        s->sig = calloc((size_t)nparams + 1, 1);
    }
    if (!s->sql || (nparams && (!s->values || !s->lengths || !s->formats || !s->types ||
                                !s->sig)) ||
        stmt_params_init(&s->base, nparams)) {
        free(s->sql);
        free(s->values);
        free(s->lengths);
        free(s->formats);
        free(s->types);
        free(s->sig);
        free(s);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    *out = &s->base;
    return 0;
}

#define PS(x) ((struct pg_stmt *)(x))

/* Type OIDs of pg_type (stable across PostgreSQL versions). */
enum { OID_BYTEA = 17, OID_INT8 = 20, OID_FLOAT8 = 701 };

static int set_param(struct stmt *s, int idx, const char *v, size_t n, int binary, Oid type)
{
    struct pg_stmt *p = PS(s);
    if (idx < 1 || idx > p->nparams)
        return -1;
    free(p->values[idx - 1]);
    p->values[idx - 1] = NULL;
    p->lengths[idx - 1] = 0;
    p->formats[idx - 1] = binary;
    p->types[idx - 1] = v ? type : 0;
    if (v) {
        p->values[idx - 1] = malloc(n + 1);
        if (!p->values[idx - 1])
            return -1;
        memcpy(p->values[idx - 1], v, n);
        p->values[idx - 1][n] = '\0';
        p->lengths[idx - 1] = (int)n;
    }
    return 0;
}

static int pg_bind_null(struct stmt *s, int i) { return set_param(s, i, NULL, 0, 0, 0); }
static int pg_bind_int64(struct stmt *s, int i, int64_t v)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    return set_param(s, i, buf, (size_t)n, 0, OID_INT8);
}
static int pg_bind_double(struct stmt *s, int i, double v)
{
    char buf[48];
    fmt_double(v, buf, sizeof buf);
    return set_param(s, i, buf, strlen(buf), 0, OID_FLOAT8);
}
static int pg_bind_text(struct stmt *s, int i, const char *v)
{
    return set_param(s, i, v, v ? strlen(v) : 0, 0, 0);
}
static int pg_bind_blob(struct stmt *s, int i, const void *data, size_t n)
{
    return set_param(s, i, data, n, 1, OID_BYTEA);
}

/* PQprepare of p as `name`. A parameter whose type neither its value nor the statement
 * says (a NULL in "? IS NULL") is made text, PostgreSQL's type for unknown literals, and the
 * statement prepared again; inside a transaction the attempts run under a savepoint, since a
 * failed one would abort the transaction. */
static int prepare_named(struct pg_store *ps, const char *name, struct pg_stmt *p,
                         insitu_error *err)
{
    int in_tx = PQtransactionStatus(ps->conn) != PQTRANS_IDLE;
    int rc = in_tx ? pg_exec(ps, "SAVEPOINT insitu_prepare", err) : 0;
    for (int attempt = 0; !rc; attempt++) {
        PGresult *res = PQprepare(ps->conn, name, p->sql, p->nparams, p->types);
        if (PQresultStatus(res) == PGRES_COMMAND_OK) {
            PQclear(res);
            break;
        }
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        const char *dollar = msg ? strchr(msg, '$') : NULL;
        int k = dollar ? atoi(dollar + 1) : 0;
        int untyped = state && strcmp(state, "42P18") == 0 && k >= 1 && k <= p->nparams &&
                      p->types[k - 1] == 0 && attempt < p->nparams;
        if (!untyped) {
            rc = pg_error(ps, res, err, "cannot prepare statement");
            PQclear(res);
            break;
        }
        PQclear(res);
        p->types[k - 1] = 25; /* text */
        if (in_tx)
            rc = pg_exec(ps, "ROLLBACK TO SAVEPOINT insitu_prepare", err);
    }
    if (in_tx) {
        PGresult *r = PQexec(ps->conn, rc ? "ROLLBACK TO SAVEPOINT insitu_prepare; RELEASE "
                                            "SAVEPOINT insitu_prepare"
                                          : "RELEASE SAVEPOINT insitu_prepare");
        PQclear(r);
    }
    return rc;
}

/* Prepares p on the server for the types of its bound values, once per connection and set
 * of types; fills p->name. */
static int prepare_typed(struct pg_store *ps, struct pg_stmt *p, insitu_error *err)
{
    struct strbuf key = {0};
    for (int i = 0; i < p->nparams; i++)
        sb_putc(&key, p->types[i] == OID_INT8     ? 'i'
                      : p->types[i] == OID_FLOAT8 ? 'd'
                      : p->types[i] == OID_BYTEA  ? 'b'
                                                  : 'u');
    if (p->name[0] && p->generation == ps->generation &&
        (p->nparams == 0 || memcmp(p->sig, key.data, (size_t)p->nparams) == 0)) {
        sb_free(&key);
        return 0;
    }
    if (p->nparams)
        memcpy(p->sig, key.data, (size_t)p->nparams);
    sb_putc(&key, '|');
    sb_puts(&key, p->sql);
    int64_t number;
    if (!strmap_get(&ps->prepared, key.data, key.len, &number)) {
        /* a bounded cache: generated SQL ($filter) could otherwise grow it without end */
        if (ps->prepared.count >= 2000) {
            PGresult *r = PQexec(ps->conn, "DEALLOCATE ALL");
            PQclear(r);
            strmap_free(&ps->prepared);
            ps->generation++;
        }
        number = ++ps->next_stmt;
        char name[24];
        snprintf(name, sizeof name, "insitu_%d", (int)number);
        int rc = prepare_named(ps, name, p, err);
        if (rc) {
            sb_free(&key);
            p->name[0] = '\0';
            return rc;
        }
        strmap_put(&ps->prepared, key.data, key.len, number);
    }
    sb_free(&key);
    snprintf(p->name, sizeof p->name, "insitu_%d", (int)number);
    p->generation = ps->generation;
    return 0;
}

/* Before a statement: past the deadline it does not run; otherwise the session's
 * statement_timeout is made what the deadline asks for (a SET only when that changed). */
static int apply_deadline(struct pg_store *ps, insitu_error *err)
{
    if (ps->deadline_us && (int64_t)(now_seconds() * 1e6) > ps->deadline_us)
        return insitu_error_set(err, INSITU_ELIMIT, "statement failed: the request took "
                                "longer than its time limit");
    if (ps->timeout_want == ps->timeout_set)
        return 0;
    char sql[64];
    /* without a deadline the session's own setting (the server's, the role's) comes back */
    if (ps->timeout_want)
        snprintf(sql, sizeof sql, "SET statement_timeout = %d", ps->timeout_want);
    else
        snprintf(sql, sizeof sql, "RESET statement_timeout");
    int rc = pg_exec(ps, sql, err);
    ps->timeout_set = rc ? -1 : ps->timeout_want;
    ps->timeout_in_tx |= PQtransactionStatus(ps->conn) != PQTRANS_IDLE;
    return rc;
}

static int pg_step(struct stmt *s, insitu_error *err)
{
    struct pg_stmt *p = PS(s);
    struct pg_store *ps = (struct pg_store *)s->st;
    if (!p->executed) {
        if (p->reads_obs && ps->n_pending) {
            int rc = attach_pending(ps, err);
            if (rc)
                return rc;
        }
        int rc = apply_deadline(ps, err);
        if (!rc)
            rc = prepare_typed(ps, p, err);
        if (rc)
            return rc;
        p->res = PQexecPrepared(ps->conn, p->name, p->nparams, (const char *const *)p->values,
                                p->lengths, p->formats, 0);
        ExecStatusType status = PQresultStatus(p->res);
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            rc = pg_error(ps, p->res, err, "statement failed");
            PQclear(p->res);
            p->res = NULL;
            return rc;
        }
        ps->last_changes = atoll(PQcmdTuples(p->res));
        p->executed = 1;
        p->row = -1;
    }
    p->row++;
    return p->row < PQntuples(p->res) ? 1 : 0;
}

static int pg_column_count(struct stmt *s) { return PS(s)->res ? PQnfields(PS(s)->res) : 0; }
static const char *pg_column_name(struct stmt *s, int c) { return PQfname(PS(s)->res, c); }
static int pg_column_is_null(struct stmt *s, int c)
{
    return PQgetisnull(PS(s)->res, PS(s)->row, c);
}
static int64_t pg_column_int64(struct stmt *s, int c)
{
    const char *v = PQgetvalue(PS(s)->res, PS(s)->row, c);
    /* booleans come back as t/f */
    if (v[0] == 't' && !v[1])
        return 1;
    return strtoll(v, NULL, 10);
}
static double pg_column_double(struct stmt *s, int c)
{
    return strtod(PQgetvalue(PS(s)->res, PS(s)->row, c), NULL);
}
static const char *pg_column_text(struct stmt *s, int c)
{
    return PQgetisnull(PS(s)->res, PS(s)->row, c) ? NULL : PQgetvalue(PS(s)->res, PS(s)->row, c);
}

static void pg_reset(struct stmt *s)
{
    struct pg_stmt *p = PS(s);
    PQclear(p->res);
    p->res = NULL;
    p->executed = 0;
    for (int i = 0; i < p->nparams; i++) {
        free(p->values[i]);
        p->values[i] = NULL;
        p->lengths[i] = p->formats[i] = 0;
        p->types[i] = 0;
    }
}

static const char *pg_stmt_sql(struct stmt *s) { return PS(s)->sql; }

static void pg_finalize(struct stmt *s)
{
    struct pg_stmt *p = PS(s);
    pg_reset(s);
    stmt_params_free(s);
    free(p->sql);
    free(p->sig);
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->types);
    free(p);
}

static void pg_set_deadline(struct store *st, int64_t deadline_us)
{
    struct pg_store *ps = (struct pg_store *)st;
    ps->deadline_us = deadline_us;
    ps->timeout_want = 0;
    if (deadline_us) {
        /* the time left, in steps of 10 ms so that one request's limit is the next one's
         * (no SET between them) */
        int64_t left_ms = (deadline_us - (int64_t)(now_seconds() * 1e6) + 999) / 1000;
        left_ms = (left_ms + 9) / 10 * 10;
        ps->timeout_want = (int)(left_ms < 10 ? 10 : left_ms > INT32_MAX ? INT32_MAX : left_ms);
    }
}

static int64_t pg_changes(struct store *st) { return ((struct pg_store *)st)->last_changes; }

/* ---- bulk observations ---- */

/* A yearly partition created by this bulk transaction and filled before it is attached: its
 * primary key is built once, sorted, at the end (ADD PRIMARY KEY), instead of growing row by
 * row, and the CHECK it was created with lets ATTACH PARTITION skip its validation scan.
 * Measured on 10M rows: COPY into the attached partition 15.7 s; into the bare table 6.7 s +
 * key 3.0 s + attach 1.8 s (docs/performance.md). */
struct pending_part {
    int64_t year, from, to;
    char name[40];
};

static void partition_name(int64_t year, char *out, size_t size)
{
    snprintf(out, size, "observations_y%s%04lld", year < 0 ? "m" : "",
             (long long)(year < 0 ? -year : year));
}

/* Builds the keys of the partitions this transaction filled and attaches them, so that
 * observations shows their rows. Run before anything reads or merges observations, and at
 * commit. */
static int attach_pending(struct pg_store *ps, insitu_error *err)
{
    int rc = 0;
    for (size_t i = 0; i < ps->n_pending && !rc; i++) {
        const struct pending_part *p = &ps->pending[i];
        char sql[400];
        snprintf(sql, sizeof sql,
                 "ALTER TABLE %s ADD PRIMARY KEY (datastream_id, phenomenon_start, seq); "
                 "ALTER TABLE observations ATTACH PARTITION %s FOR VALUES FROM (%lld) TO (%lld)",
                 p->name, p->name, (long long)p->from, (long long)p->to);
        rc = pg_exec(ps, sql, err);
        if (!rc)
            strmap_put(&ps->partitions, (const char *)&p->year, sizeof p->year, -1);
    }
    ps->n_pending = 0;
    return rc;
}

/* Creates the yearly partitions the rows need (once per connection and year). In a bulk
 * transaction a year with no partition yet gets a detached one (see pending_part). The map
 * holds -1 for an attached partition, else the index of the pending one. */
static int ensure_partitions(struct pg_store *ps, const struct obs_row *rows, size_t n,
                             int defer, insitu_error *err)
{
    int64_t last_year = INT64_MIN;
    for (size_t i = 0; i < n; i++) {
        struct civil c;
        us_to_civil(rows[i].phenomenon_start, &c);
        if (c.year == last_year)
            continue;
        last_year = c.year;
        int64_t seen;
        if (strmap_get(&ps->partitions, (const char *)&c.year, sizeof c.year, &seen))
            continue;
        struct civil from = {c.year, 1, 1, 0, 0, 0, 0}, to = {c.year + 1, 1, 1, 0, 0, 0, 0};
        long long lo = (long long)civil_to_us(&from), hi = (long long)civil_to_us(&to);
        char name[40], sql[480];
        partition_name(c.year, name, sizeof name);
        int exists = 1;
        if (defer) {
            snprintf(sql, sizeof sql, "SELECT to_regclass('%s') IS NULL", name);
            PGresult *res = PQexec(ps->conn, sql);
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                int rc = pg_error(ps, res, err, "cannot look up a partition");
                PQclear(res);
                return rc;
            }
            exists = strcmp(PQgetvalue(res, 0, 0), "t") != 0;
            PQclear(res);
        }
        if (exists) {
            snprintf(sql, sizeof sql,
                     "CREATE TABLE IF NOT EXISTS %s PARTITION OF observations "
                     "FOR VALUES FROM (%lld) TO (%lld)",
                     name, lo, hi);
        } else {
            if (ps->n_pending == ps->cap_pending) {
                size_t cap = ps->cap_pending ? ps->cap_pending * 2 : 8;
                struct pending_part *p = realloc(ps->pending, cap * sizeof *p);
                if (!p)
                    return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
                ps->pending = p;
                ps->cap_pending = cap;
            }
            snprintf(sql, sizeof sql,
                     "CREATE TABLE %s (LIKE observations INCLUDING DEFAULTS, CONSTRAINT "
                     "%s_range CHECK (phenomenon_start >= %lld AND phenomenon_start < %lld))",
                     name, name, lo, hi);
        }
        int rc = pg_exec(ps, sql, err);
        if (rc)
            return rc;
        if (exists) {
            strmap_put(&ps->partitions, (const char *)&c.year, sizeof c.year, -1);
        } else {
            struct pending_part *p = &ps->pending[ps->n_pending];
            p->year = c.year;
            p->from = lo;
            p->to = hi;
            snprintf(p->name, sizeof p->name, "%s", name);
            strmap_put(&ps->partitions, (const char *)&c.year, sizeof c.year,
                       (int64_t)ps->n_pending++);
        }
    }
    return 0;
}

/* COPY binary fields: a 32-bit length (-1: NULL), then the value in network byte order. */
static void bin_i16(struct strbuf *sb, int v)
{
    uint16_t x = htobe16((uint16_t)v);
    sb_append(sb, (const char *)&x, 2);
}
static void bin_i32(struct strbuf *sb, int32_t v)
{
    uint32_t x = htobe32((uint32_t)v);
    sb_append(sb, (const char *)&x, 4);
}
static void bin_i64(struct strbuf *sb, int64_t v, int present)
{
    if (!present) {
        bin_i32(sb, -1);
        return;
    }
    bin_i32(sb, 8);
    uint64_t x = htobe64((uint64_t)v);
    sb_append(sb, (const char *)&x, 8);
}
static void bin_f64(struct strbuf *sb, double v, int present)
{
    if (!present) {
        bin_i32(sb, -1);
        return;
    }
    uint64_t x;
    memcpy(&x, &v, 8);
    bin_i32(sb, 8);
    x = htobe64(x);
    sb_append(sb, (const char *)&x, 8);
}
static void bin_text(struct strbuf *sb, const char *v)
{
    if (!v) {
        bin_i32(sb, -1);
        return;
    }
    size_t n = strlen(v);
    bin_i32(sb, (int32_t)n);
    sb_append(sb, v, n);
}

/* The columns an observation row is written with (COPY, the staging table), in order. */
#define OBS_PG_COLS                                                                           \
    "datastream_id, phenomenon_start, phenomenon_end, result_time, result, result_json, "     \
    "result_quality, quality_id, parameters, parameters_id, feature_id"

/* COPYs (binary format) into `table` the rows whose targets[i] is `want` (all rows when
 * targets is NULL): with run_id > 0 straight into observations or a partition (last column:
 * run_id), else into the staging table (first column: the row's index). tids: the texts'
 * ids (store_text_ids), found before: no other statement can run while a COPY does. */
static int copy_rows(struct pg_store *ps, const char *table, const struct obs_row *rows, size_t n,
                     const int64_t *tids, const int *targets, int want, int64_t run_id,
                     insitu_error *err)
{
    char sql[320];
    if (run_id > 0)
        snprintf(sql, sizeof sql,
                 "COPY %s (" OBS_PG_COLS ", run_id) FROM STDIN (FORMAT binary)",
                 table);
    else
        snprintf(sql, sizeof sql,
                 "COPY %s (pos, " OBS_PG_COLS ") FROM STDIN (FORMAT binary)",
                 table);
    PGresult *res = PQexec(ps->conn, sql);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        int rc = pg_error(ps, res, err, "cannot start COPY");
        PQclear(res);
        return rc;
    }
    PQclear(res);
    struct strbuf sb = {0};
    sb_append(&sb, "PGCOPY\n\377\r\n\0", 11);
    bin_i32(&sb, 0); /* flags */
    bin_i32(&sb, 0); /* header extension */
    int ok = 1;
    for (size_t i = 0; i < n && ok; i++) {
        if (targets && targets[i] != want)
            continue;
        const struct obs_row *r = &rows[i];
        bin_i16(&sb, 12);
        if (run_id <= 0) {
            bin_i32(&sb, 4);
            bin_i32(&sb, (int32_t)i);
        }
        bin_i64(&sb, r->datastream_id, 1);
        bin_i64(&sb, r->phenomenon_start, 1);
        bin_i64(&sb, r->phenomenon_end, r->phenomenon_end != INSITU_TIME_NONE);
        bin_i64(&sb, r->result_time, r->result_time != INSITU_TIME_NONE);
        bin_f64(&sb, r->result, r->has_result);
        bin_text(&sb, r->result_json);
        /* each text: in the row, or its obs_texts id (text_ids) */
        bin_text(&sb, tids[2 * i] ? NULL : r->quality);
        bin_i64(&sb, tids[2 * i], tids[2 * i] != 0);
        bin_text(&sb, tids[2 * i + 1] ? NULL : r->parameters);
        bin_i64(&sb, tids[2 * i + 1], tids[2 * i + 1] != 0);
        bin_i64(&sb, r->feature_id, r->feature_id != 0);
        if (run_id > 0)
            bin_i64(&sb, run_id, 1);
        if (sb.len > (1 << 20)) {
            ok = PQputCopyData(ps->conn, sb.data, (int)sb.len) == 1;
            sb_reset(&sb);
        }
    }
    bin_i16(&sb, -1); /* trailer */
    if (ok)
        ok = PQputCopyData(ps->conn, sb.data, (int)sb.len) == 1;
    sb_free(&sb);
    if (PQputCopyEnd(ps->conn, ok ? NULL : "insitu: COPY aborted") != 1)
        ok = 0;
    int rc = 0;
    while ((res = PQgetResult(ps->conn)) != NULL) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && !rc)
            rc = pg_error(ps, res, err, "COPY failed");
        PQclear(res);
    }
    return rc ? rc : ok ? 0 : pg_error(ps, NULL, err, "COPY failed");
}

/* Marks in `last` the index of the last row of each key; returns 1 when a key repeats. */
static int last_of_keys(const struct obs_row *rows, size_t n, struct strmap *last)
{
    int repeats = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t key[2] = {rows[i].datastream_id, rows[i].phenomenon_start}, prev;
        repeats |= strmap_get(last, (const char *)key, sizeof key, &prev);
        strmap_put(last, (const char *)key, sizeof key, (int64_t)i);
    }
    return repeats;
}

/* Rewrites the existing rows (seq 0: an ingester's) of the given staging rows (their
 * positions in the batch, "{1,5,9}"). */
static int update_existing(struct pg_store *ps, const char *run, const char *seqs,
                           insitu_error *err)
{
    const char *params[2] = {run, seqs};
    PGresult *res = PQexecParams(
        ps->conn,
        "UPDATE observations o SET phenomenon_end = s.phenomenon_end, result_time = "
        "s.result_time, result = s.result, result_json = s.result_json, result_quality = "
        "s.result_quality, quality_id = s.quality_id, parameters = s.parameters, "
        "parameters_id = s.parameters_id, feature_id = s.feature_id, run_id = $1::bigint "
        "FROM insitu_obs_stage s WHERE s.pos = ANY ($2::integer[]) AND "
        "o.datastream_id = s.datastream_id AND o.phenomenon_start = s.phenomenon_start AND "
        "o.seq = 0",
        2, NULL, params, NULL, NULL, 0);
    int rc = PQresultStatus(res) == PGRES_COMMAND_OK ? 0
                                                      : pg_error(ps, res, err, "cannot update observations");
    PQclear(res);
    return rc;
}

/* COPY into the session's staging table; one INSERT ... ON CONFLICT DO NOTHING writes the
 * new keys (ids from the sequence) and says which they were; the others are then rewritten
 * in place (their ids kept). The last of several rows with one key wins, as on SQLite. In a
 * first ingest nothing conflicts and the second statement is not run. */
static int pg_put_observations(struct store *st, const struct obs_row *rows, size_t n,
                               int64_t run_id, unsigned char *outcome, insitu_error *err)
{
    struct pg_store *ps = (struct pg_store *)st;
    if (!n)
        return 0;
    int rc = attach_pending(ps, err);
    if (!rc)
        rc = ensure_partitions(ps, rows, n, 0, err);
    if (!rc && !ps->stage_ready) {
        rc = pg_exec(ps,
                     "CREATE TEMP TABLE IF NOT EXISTS insitu_obs_stage (pos INTEGER, "
                     "datastream_id BIGINT, phenomenon_start BIGINT, phenomenon_end BIGINT, "
                     "result_time BIGINT, result DOUBLE PRECISION, result_json TEXT, "
                     "result_quality TEXT, quality_id BIGINT, parameters TEXT, "
                     "parameters_id BIGINT, feature_id BIGINT)",
                     err);
        ps->stage_ready = !rc;
    }
    if (!rc)
        rc = pg_exec(ps, "TRUNCATE insitu_obs_stage", err);
    const int64_t *tids = NULL;
    if (!rc)
        rc = store_text_ids(st, rows, n, &tids, err);
    if (!rc)
        rc = copy_rows(ps, "insitu_obs_stage", rows, n, tids, NULL, 0, 0, err);
    if (rc)
        return rc;
    struct strmap last = {0}, inserted = {0};
    int repeats = last_of_keys(rows, n, &last);
    char run[32];
    snprintf(run, sizeof run, "%lld", (long long)run_id);
    const char *params[1] = {run};
    /* with repeated keys, only the last row of each is offered to the INSERT */
    PGresult *res = PQexecParams(
        ps->conn,
        repeats ? "INSERT INTO observations (" OBS_PG_COLS ", run_id) SELECT DISTINCT ON "
                  "(datastream_id, phenomenon_start) " OBS_PG_COLS ", $1::bigint FROM "
                  "insitu_obs_stage ORDER BY datastream_id, phenomenon_start, pos DESC ON "
                  "CONFLICT DO NOTHING RETURNING datastream_id, phenomenon_start"
                : "INSERT INTO observations (" OBS_PG_COLS ", run_id) SELECT " OBS_PG_COLS
                  ", $1::bigint FROM insitu_obs_stage ON CONFLICT DO NOTHING RETURNING "
                  "datastream_id, phenomenon_start",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        rc = pg_error(ps, res, err, "cannot insert observations");
        PQclear(res);
        strmap_free(&last);
        return rc;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        int64_t key[2] = {strtoll(PQgetvalue(res, i, 0), NULL, 10),
                          strtoll(PQgetvalue(res, i, 1), NULL, 10)};
        strmap_put(&inserted, (const char *)key, sizeof key, 1);
    }
    PQclear(res);
    /* outcome per input row: "inserted" for the last row of a key the INSERT wrote; the
     * last row of a key that existed is rewritten ("updated"); earlier rows of a repeated
     * key were written over within the batch ("updated") */
    struct strbuf seqs = {0};
    sb_putc(&seqs, '{');
    for (size_t i = 0; i < n; i++) {
        int64_t key[2] = {rows[i].datastream_id, rows[i].phenomenon_start}, v, at = -1;
        strmap_get(&last, (const char *)key, sizeof key, &at);
        int is_last = at == (int64_t)i;
        int new_key = strmap_get(&inserted, (const char *)key, sizeof key, &v);
        outcome[i] = is_last && new_key ? OBS_INSERTED : OBS_UPDATED;
        if (is_last && !new_key)
            sb_printf(&seqs, "%s%zu", seqs.len > 1 ? "," : "", i);
    }
    sb_putc(&seqs, '}');
    if (seqs.len > 2)
        rc = update_existing(ps, run, seqs.data, err);
    sb_free(&seqs);
    strmap_free(&last);
    strmap_free(&inserted);
    return rc;
}

/* New keys only: COPY straight into the table (or into a partition this transaction made
 * and attaches at the end), the fastest way PostgreSQL has. */
static int pg_append_observations(struct store *st, const struct obs_row *rows, size_t n,
                                  int64_t run_id, insitu_error *err)
{
    struct pg_store *ps = (struct pg_store *)st;
    int rc = ensure_partitions(ps, rows, n, ps->bulk, err);
    if (rc || !n)
        return rc;
    if (run_id <= 0)
        run_id = 1;
    const int64_t *tids;
    rc = store_text_ids(st, rows, n, &tids, err);
    if (rc)
        return rc;
    if (!ps->n_pending)
        return copy_rows(ps, "observations", rows, n, tids, NULL, 0, run_id, err);
    /* rows of a pending partition go straight into it, the others through observations */
    int *targets = malloc(n * sizeof *targets);
    unsigned char *used = calloc(ps->n_pending + 1, 1);
    if (!targets || !used) {
        free(targets);
        free(used);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    int64_t last_year = INT64_MIN, where = -1;
    for (size_t i = 0; i < n; i++) {
        struct civil c;
        us_to_civil(rows[i].phenomenon_start, &c);
        if (c.year != last_year) {
            last_year = c.year;
            strmap_get(&ps->partitions, (const char *)&c.year, sizeof c.year, &where);
        }
        targets[i] = (int)where;
        used[where + 1] = 1;
    }
    for (size_t t = 0; t <= ps->n_pending && !rc; t++)
        if (used[t])
            rc = copy_rows(ps, t ? ps->pending[t - 1].name : "observations", rows, n, tids,
                           targets, (int)t - 1, run_id, err);
    free(targets);
    free(used);
    return rc;
}

/* The yearly partitions of the times (an Observation moved in time by an UPDATE). */
static int pg_reserve_times(struct store *st, const int64_t *starts, size_t n,
                            insitu_error *err)
{
    struct pg_store *ps = (struct pg_store *)st;
    int rc = attach_pending(ps, err);
    for (size_t i = 0; !rc && i < n; i++) {
        struct obs_row row = {0};
        row.phenomenon_start = starts[i];
        rc = ensure_partitions(ps, &row, 1, 0, err);
    }
    return rc;
}

/* PostgreSQL's own tools copy a database consistently while it is written: insitu does not
 * redo them (docs/scale.md#backups). */
static int pg_backup(struct store *st, const char *dest, insitu_error *err)
{
    (void)dest;
    char uri[512];
    safe_uri(st->uri, uri, sizeof uri);
    return insitu_error_set(err, INSITU_EUNSUPPORTED,
                            "%s: insitu backup copies SQLite stores; back up a PostgreSQL store "
                            "with pg_dump (pg_dump -Fc -f FILE DBNAME, one database) or "
                            "pg_basebackup (the whole cluster), see docs/scale.md#backups",
                            uri);
}

const struct store_ops store_pg_ops = {
    .name = "postgresql",
    .schema = insitu_schema_postgres,
    .accepts = pg_accepts,
    .open = pg_open,
    .close = pg_close,
    .init = pg_init,
    .schema_version = pg_schema_version,
    .begin = pg_begin,
    .commit = pg_commit,
    .rollback = pg_rollback,
    .prepare = pg_prepare,
    .stmt_sql = pg_stmt_sql,
    .bind_null = pg_bind_null,
    .bind_int64 = pg_bind_int64,
    .bind_double = pg_bind_double,
    .bind_text = pg_bind_text,
    .bind_blob = pg_bind_blob,
    .step = pg_step,
    .column_count = pg_column_count,
    .column_name = pg_column_name,
    .column_is_null = pg_column_is_null,
    .column_int64 = pg_column_int64,
    .column_double = pg_column_double,
    .column_text = pg_column_text,
    .reset = pg_reset,
    .finalize = pg_finalize,
    .changes = pg_changes,
    .put_observations = pg_put_observations,
    .append_observations = pg_append_observations,
    .set_deadline = pg_set_deadline,
    .reserve_times = pg_reserve_times,
    .backup = pg_backup,
};
