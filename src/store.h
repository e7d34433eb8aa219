/*
 * store.h: the backend-neutral store. struct store_ops is the one vtable that varies per
 * backend (SQLite + SpatiaLite, PostgreSQL + PostGIS): connection, transactions, prepared
 * statements in one SQL dialect with '?' placeholders, schema, and the bulk observation path.
 * Everything else (entity upserts, provenance, queries) is written once above it, in store.c.
 */
#ifndef INSITU_STORE_H
#define INSITU_STORE_H

#include <stdint.h>

#include "insitu.h"
#include "model.h"
#include "util.h"

struct store;
struct stmt;

/* How json_extract spells its path parameter. */
enum json_path_style {
    JSON_PATH_DOLLAR = 0, /* $."a"."b" (SQLite, SQL/JSON path) */
    JSON_PATH_ARRAY = 1   /* {a,b} (PostgreSQL text[] for #>>) */
};

/* What differs between the SQL dialects, as SQL fragments with '?' placeholders. Formats
 * marked "printf" are filled with sb_printf() using positional arguments; anything a user
 * gave is never one of those arguments, only bound parameters. */
struct sql_dialect {
    /* The clause an INSERT ends with to give the new row's id as a result row (" RETURNING
     * id"), or "" where the backend tells it more cheaply (ops->last_insert_id): SQLite's
     * RETURNING costs ~8 us a statement, more than the insert (docs/performance.md). */
    const char *returning_id;
    /* The conflict clause of a bulk INSERT or UPDATE that cannot fail on a constraint
     * (" OR IGNORE" on SQLite, "" elsewhere): a statement that cannot abort needs no
     * statement journal, where SQLite otherwise copies each page it touches first. */
    const char *no_abort;
    /* A geometry (EPSG:4326, 2-D) from one GeoJSON text parameter. */
    const char *geom_from_geojson;
    /* The same from one WKB blob parameter (faster to parse than GeoJSON). */
    const char *geom_from_wkb;
    /* GeoJSON text of a geometry expression (printf format, %s = the expression), with 9
     * decimals (0.1 mm) on every backend, so that both give the same text. */
    const char *geom_as_geojson;
    /* SQL that is true when <alias>.geom intersects a box, using the spatial index: a
     * printf format taking %1$s = alias, %2$s = table; its placeholders are west, south,
     * east, north, repeated bbox_repeat times. */
    const char *bbox_filter;
    int bbox_repeat;
    /* A geometry (EPSG:4326, 2-D) from one WKT text parameter (SensorThings geography'...'
     * and geometry'...' literals). */
    const char *geom_from_wkt;
    /* printf: makes a spatial predicate call %1$s (e.g. "ST_Within(a, b)") an SQL condition
     * (SpatiaLite returns 1/0/-1, PostGIS a boolean). */
    const char *spatial_true;
    /* printf: the parts of a UTC time given as int64 microseconds since 1970 (%1$s), as
     * integers: year, month (1-12), day (1-31), hour, minute, second. */
    const char *time_part[6];
    /* printf: the time of day of %1$s (microseconds since 1970, UTC) as 'HH:MM:SS' text. */
    const char *time_of_day;
    /* printf: the 1-based position of text %2$s in text %1$s, 0 when absent. */
    const char *strpos;
    /* printf: the aggregate of the texts %1$s joined by '|', in the order the rows come. */
    const char *text_agg;
    /* printf: the value at a path inside the JSON text %1$s, read as one SQL type, so that
     * a comparison means the same on every backend: json_number, a JSON number as a double
     * (integers too); json_text, a JSON string as text; json_bool, true/false as 1/0; each
     * NULL when the value is absent or of another type. json_null: a condition, true when
     * the value is absent or JSON null. The path is a '?' parameter spelt in json_path_style
     * (every '?' of the format takes it). */
    const char *json_number, *json_text, *json_bool, *json_null;
    enum json_path_style json_path_style;
    /* printf: the text of the double %1$s as the API writes it in JSON (fmt_double: the
     * shortest of %.15g, %.16g, %.17g that reads back exactly), NULL for NULL. A result
     * compared with text is compared as this text, the same on every backend. */
    const char *number_text;
    /* printf: %1$s rounded half away from zero, as a double (SQLite's round()). */
    const char *round;
    /* printf: text %1$s with the ASCII letters (only) in lower / upper case, as SQLite's
     * lower() and upper() without ICU. */
    const char *lower, *upper;
    /* The id of an obs_texts row from its text (one '?' parameter: the text), and the
     * INSERT that adds a text unless it is there (same parameter), telling the new row's
     * id as an insert does on this backend (returning_id, else last_insert_id). */
    const char *text_find, *text_insert;
    /* printf: the bounds of geometry %1$s as doubles: west, south, east, north (a
     * Datastream's observedArea is kept as the box of its features' bounds). */
    const char *geom_bounds[4];
    /* printf: the geometry (EPSG:4326) of the box %1$s..%4$s = west, south, east, north: a
     * Point when it is one, a LineString when it is flat (a flat polygon is invalid), else
     * the Polygon; NULL when the box is. */
    const char *box_geom;
};
/* Appends the GeoJSON of a locations/features row: its text, or its geometry's when the
 * text was not kept (geometries that came as WKB). alias: the table alias. */
void dialect_geojson_sql(const struct sql_dialect *d, struct strbuf *sql, const char *alias,
                         const char *text_column);
/* Appends the geometry of a Datastream's observedArea on alias (datastreams.area_*: the box
 * of its features' bounds, kept by every write, with its GeoJSON in observed_area), NULL
 * when it has no features. */
void dialect_area_sql(const struct sql_dialect *d, struct strbuf *sql, const char *alias);
/* Schema migration for a backend's init(), inside its transaction: runs through exec each
 * "-- @version N" section of schema with N > current (and N <= store_schema_upto when that
 * is set), then records the newest version in insitu_meta. *newest receives the version
 * reached (current when nothing was run). */
int store_apply_schema(struct store *st, const char *schema, int current,
                       int (*exec)(struct store *st, const char *sql, insitu_error *err),
                       int *newest, insitu_error *err);
/* The newest version of a schema (its last "-- @version N" section). */
int store_schema_newest(const char *schema);
/* 0: init migrates to the schema's newest version. N: to version N at most, so that tests
 * can make a store as an older insitu made it, and migrate it. */
extern int store_schema_upto;
/* Appends the dialect's bbox filter for alias/table to sql, and binds nothing. */
struct strbuf;
void dialect_bbox_sql(const struct sql_dialect *d, struct strbuf *sql, const char *alias,
                      const char *table);
/* Binds a bbox from parameter index *idx on, as many times as the dialect needs. */
void dialect_bbox_bind(const struct sql_dialect *d, struct stmt *s, int *idx, const double bbox[4]);

/* The datastreams that the CLI's --thing, --property and --bbox select, as conditions on a
 * datastream "d" joined to its observed property "p": appended after a WHERE ("AND ..."),
 * then bound from *idx on in the same order. A NULL thing_id or property selects any. */
struct ds_select {
    const int64_t *thing_id;
    const char *property; /* a name (any case) or a definition URI */
    const double *bbox;   /* W, S, E, N of the Thing's locations */
};
void ds_select_sql(const struct sql_dialect *d, const struct ds_select *w, struct strbuf *sql);
/* Appends the name of the observed property of datastream row d (joined with its property
 * as p): p.name, or for a MultiDatastream the names of its ObservedProperties in order,
 * joined by '|'. */
void ds_property_label_sql(const struct sql_dialect *d, struct strbuf *sql);
void ds_select_bind(const struct sql_dialect *d, const struct ds_select *w, struct stmt *s,
                    int *idx);
/* Before a selection with a property: INSITU_ENOTFOUND when no datastream (of the Thing, when
 * w->thing_id is set; `thing` is its name as the user gave it) has that property, with the
 * properties there are; 0 otherwise. A wrong name then says so instead of selecting nothing. */
int ds_select_check_property(struct store *st, const struct ds_select *w, const char *thing,
                             insitu_error *err);

/* What a transaction is for (store_ops.begin). */
enum { TX_PLAIN, TX_BULK, TX_GROUP };

/* Per-row outcome of put_observations. */
enum { OBS_INSERTED = 1, OBS_UPDATED = 2 };

struct store_ops {
    const char *name;
    /* The backend's schema: its "-- @version N" sections (schemas/<backend>.sql). */
    const char *schema;
    /* 1 when this backend takes the URI. */
    int (*accepts)(const char *uri);
    int (*open)(const char *uri, unsigned flags, struct store **out, insitu_error *err);
    void (*close)(struct store *st);
    /* Create or migrate the schema to the newest version. */
    int (*init)(struct store *st, insitu_error *err);
    int (*schema_version)(struct store *st);
    /* Write transactions: begin takes the write lock at once. A bulk transaction (TX_BULK:
     * one source's ingest; TX_GROUP: several sources', each a savepoint) may use a cheaper
     * way to write many rows when no one else is connected; it is as atomic as any other. */
    int (*begin)(struct store *st, int kind, insitu_error *err);
    int (*commit)(struct store *st, insitu_error *err);
    void (*rollback)(struct store *st);
    /* Optional (NULL: each source commits on its own): transactions nested in an open one,
     * as savepoints. SP_BEGIN opens one, SP_RELEASE keeps its writes in the outer
     * transaction, SP_ROLLBACK undoes them. SP_ROLLBACK returns INSITU_ESTORE when the
     * outer transaction is gone too (SQLite rolls it back itself on some errors). */
    int (*savepoint)(struct store *st, int op, insitu_error *err);
    /* Prepared statements. SQL uses '?' placeholders; indexes start at 1. prepare fills the
     * statement's parameter count with stmt_params_init() (the backend knows it: SQLite's
     * sqlite3_bind_parameter_count, the '?' PostgreSQL's backend rewrote to $n), and
     * finalize releases it with stmt_params_free(). */
    int (*prepare)(struct store *st, const char *sql, struct stmt **out, insitu_error *err);
    /* The statement's SQL as the backend runs it (borrowed), for messages. */
    const char *(*stmt_sql)(struct stmt *s);
    int (*bind_null)(struct stmt *s, int idx);
    int (*bind_int64)(struct stmt *s, int idx, int64_t v);
    int (*bind_double)(struct stmt *s, int idx, double v);
    int (*bind_text)(struct stmt *s, int idx, const char *v); /* NULL binds NULL */
    int (*bind_blob)(struct stmt *s, int idx, const void *data, size_t n);
    /* 1: a row is ready; 0: done; < 0: error (err filled). */
    int (*step)(struct stmt *s, insitu_error *err);
    int (*column_count)(struct stmt *s);
    const char *(*column_name)(struct stmt *s, int col);
    int (*column_is_null)(struct stmt *s, int col);
    int64_t (*column_int64)(struct stmt *s, int col);
    double (*column_double)(struct stmt *s, int col);
    const char *(*column_text)(struct stmt *s, int col); /* borrowed until next step */
    void (*reset)(struct stmt *s);
    void (*finalize)(struct stmt *s);
    /* Rows changed by the last INSERT/UPDATE/DELETE. */
    int64_t (*changes)(struct store *st);
    /* Optional (NULL when the dialect's returning_id gives the id): the id of the row the
     * last INSERT of this connection added. */
    int64_t (*last_insert_id)(struct store *st);
    /* Writes n observation rows as ingesters do: an upsert on (datastream_id,
     * phenomenon_start, seq 0), the stored row of the key replaced; outcome[i] receives
     * OBS_INSERTED or OBS_UPDATED. Inside the caller's transaction. */
    int (*put_observations)(struct store *st, const struct obs_row *rows, size_t n,
                            int64_t run_id, unsigned char *outcome, insitu_error *err);
    /* Optional (NULL where the table's default numbers observations: PostgreSQL's
     * sequence): reserves n new observation ids, *first to *first + n - 1, none of them
     * ever given before (the id of a deleted observation included). Inside the caller's
     * transaction. */
    int (*observation_ids)(struct store *st, size_t n, int64_t *first, insitu_error *err);
    /* Optional (NULL when the backend has nothing faster than put_observations): writes rows
     * the caller knows to be new keys (each datastream's rows after all it holds, in
     * increasing time). A key that exists after all is an error, not an update. */
    int (*append_observations)(struct store *st, const struct obs_row *rows, size_t n,
                               int64_t run_id, insitu_error *err);
    /* Optional (may be NULL): statements stepped after deadline_us (a now_seconds() clock
     * in microseconds; 0 removes the limit) stop and fail with INSITU_ELIMIT. A server
     * bounds the time one request may spend in the database with it. */
    void (*set_deadline)(struct store *st, int64_t deadline_us);
    /* Optional (may be NULL): makes the store able to hold observations whose phenomenon
     * time starts at each of the n times, before an UPDATE moves observations there
     * (PostgreSQL creates their yearly partitions). Inside the caller's transaction. */
    int (*reserve_times)(struct store *st, const int64_t *starts, size_t n, insitu_error *err);
    /* Copies the store, as one consistent snapshot, into a new file at dest (which must
     * not exist); writers of the store keep writing meanwhile. A backend without such a
     * copy fails with INSITU_EUNSUPPORTED saying how to back it up. */
    int (*backup)(struct store *st, const char *dest, insitu_error *err);
};

/* Statements prepared once per connection and reused (hot upserts). */
enum stmt_slot {
    SLOT_THING, SLOT_SENSOR, SLOT_PROPERTY, SLOT_DATASTREAM, SLOT_LOCATION, SLOT_FEATURE,
    SLOT_THING_LOCATION, SLOT_FIND_THING_ID, SLOT_FIND_THING_NAME, SLOT_LOCATION_WKB,
    SLOT_FEATURE_WKB, SLOT_FIND_LOCATION, SLOT_FIND_FEATURE, SLOT_FIND_THING,
    SLOT_FIND_DATASTREAM, SLOT_RECOMPUTE_SUMMARY, SLOT_ADD_SUMMARY, SLOT_DATASTREAM_END,
    SLOT_THING_DATASTREAMS, SLOT_TEXT_FIND, SLOT_TEXT_INSERT, SLOT_TEXT_OF,
    SLOT_LOCATION_HISTORY_CLEAR, SLOT_HISTORICAL_LOCATION, SLOT_HISTORICAL_LOCATION_LOCATION,
    SLOT_RUN_PREVIOUS, SLOT_RUN_SAME_CONTENT, SLOT_RUN_INSERT, SLOT_RUN_FINISH,
    SLOT_CREATE_OBSERVATION, SLOT_ADD_AREA, SLOT_ADD_AREA_ONE, SLOT_RECOMPUTE_AREA, SLOT_AREA_TEXT,
    SLOT_MAX
};

/* The base of every backend's store struct. */
/* What a write added to one datastream's summary: n new observations, the earliest
 * phenomenon start, the latest phenomenon end (or start), and the result time span
 * (INSITU_TIME_NONE: none). dropped: the entry no longer counts (a recount replaced it). */
struct summary_delta {
    int64_t id;
    int64_t n, start, end, rt0, rt1;
    int dropped;
    /* one_feature: every row added has feature feature_id (0: none), which alone widens the
     * observedArea; else the features of the rows in [start, end] are looked up */
    int one_feature;
    int64_t feature_id;
};

/* The summaries a group of sources still owes its datastreams: added up over the group's
 * sources and written once at the group's commit, instead of rewriting each datastream's
 * row for every source (a SWOT backfill touches each series once per cycle). undo holds
 * the open source's changes to them, so that rolling it back takes them back. */
struct group_sums {
    struct summary_delta *d;
    size_t n, cap;
    /* open addressing: datastream id (0: empty slot) -> position in d */
    struct sum_slot {
        int64_t id;
        size_t pos;
    } *slots;
    size_t n_slots;
    struct sum_undo {
        size_t pos;
        struct summary_delta was;
        int was_new;
    } *undo;
    size_t n_undo, cap_undo;
    size_t max; /* entries written out between two sources past this many (0: ~1M) */
};

struct store {
    const struct store_ops *ops;
    const struct sql_dialect *dialect;
    char *uri;
    unsigned flags;
    int created; /* the open created the schema (insitu_store_created) */
    int in_tx;
    /* A group transaction is open (st_group_begin): st_begin..st_commit are savepoints in
     * it. group_lost: it was rolled back by an error, so what it held is gone. */
    int group, group_lost;
    struct group_sums sums;
    struct stmt *slots[SLOT_MAX];
    /* Entities known to be in the store exactly as cached (content key -> id), so that the
     * next source of the same process finds them without SQL. Entries written in the open
     * transaction wait in cache_pending until it commits. */
    struct strmap cache, cache_pending;
    size_t n_texts; /* observation texts in those (store_text_ids), bounded */
    /* Texts read by id (store_text_of): id -> position in texts_read, at most TEXTS_READ. */
    struct strmap text_ids;
    char **texts_read;
    size_t n_texts_read;
    int64_t last_text_id; /* the last id store_text_of gave, at texts_read[last_text_at] */
    size_t last_text_at;
    int64_t *text_ids_of; /* store_text_ids's answer, for cap_text_ids_of rows */
    size_t cap_text_ids_of;
    /* The next source, read ahead of its ingest (ingest.c), freed with readahead_free. */
    void *readahead;
    void (*readahead_free)(void *readahead);
};

/* insitu_store is the public name of struct store. */
struct insitu_store {
    struct store base;
};

/* The base of every backend's statement struct. */
struct stmt {
    struct store *st;
    int cached; /* owned by st->slots: st_finalize() only resets it */
    /* What st_step() checks before an execution (store.c): every parameter bound once since
     * the statement was prepared or reset, none out of range. kinds[i] is how parameter
     * i + 1 was bound (0: not yet); n_bound counts the bound ones. misbound: the first
     * index bound out of range, twice, or while the statement ran (0: none), with what. */
    int n_params, n_bound;
    int misbound;
    const char *misbound_why;
    int running; /* stepped since the last reset */
    unsigned char *kinds;
    unsigned char kinds_inline[32];
};

/* For backends: sets up the parameter check of a statement with n parameters (0, or
 * INSITU_ENOMEM), and releases it. */
int stmt_params_init(struct stmt *s, int n);
void stmt_params_free(struct stmt *s);

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* Statement helpers: thin wrappers over the vtable. */
int st_prepare(struct store *st, const char *sql, struct stmt **out, insitu_error *err);
/* Like st_prepare, but prepares sql once per connection (in slot) and hands it out again. */
int st_prepare_cached(struct store *st, enum stmt_slot slot, const char *sql, struct stmt **out,
                      insitu_error *err);
/* Finalizes the cached statements: backends call it first in close(). */
void store_release_cache(struct store *st);
/* Runs the statement, or reads its next row: 1 a row, 0 done, < 0 an error. Before an
 * execution it checks the bound values against the statement's placeholders: a parameter
 * left unbound, bound twice, bound out of range or bound while the statement ran is
 * INSITU_ESTORE, naming the statement and the parameter (in every build, on every
 * backend: an unbound parameter would silently be NULL). */
int st_step(struct stmt *s, insitu_error *err);
void st_finalize(struct stmt *s);
/* Makes the statement ready for another execution: its bound values are cleared. */
void st_reset(struct stmt *s);
/* The number of placeholders of the statement. */
int st_param_count(const struct stmt *s);
/* The st_bind_* calls return 0, or INSITU_EINVAL for an index out of range (which
 * st_step then reports). */
int st_bind_text(struct stmt *s, int idx, const char *v);
int st_bind_int64(struct stmt *s, int idx, int64_t v);
int st_bind_double(struct stmt *s, int idx, double v);
int st_bind_null(struct stmt *s, int idx);
int st_bind_blob(struct stmt *s, int idx, const void *data, size_t n);
int st_bind_time(struct stmt *s, int idx, int64_t us); /* INSITU_TIME_NONE binds NULL */
int st_col_is_null(struct stmt *s, int col);
int64_t st_col_int64(struct stmt *s, int col);
double st_col_double(struct stmt *s, int col);
const char *st_col_text(struct stmt *s, int col);
int64_t st_col_time(struct stmt *s, int col); /* NULL -> INSITU_TIME_NONE */
/* Runs one statement with no parameters and no rows. */
int st_exec(struct store *st, const char *sql, insitu_error *err);
/* Runs a statement with one integer parameter and no rows. */
int st_exec_int64(struct store *st, const char *sql, int64_t param, insitu_error *err);
/* Runs a one-value query with text parameters (NULL-terminated list); *out = first column. */
int st_query_int64(struct store *st, const char *sql, int64_t *out, insitu_error *err, ...);

/* The text of an obs_texts id into *text (NULL for id 0), valid until the next call on st.
 * Cached: readers (the SensorThings answers) resolve a page's ids without a join. */
int store_text_of(struct store *st, int64_t id, const char **text, insitu_error *err);
/* For the quality and parameters of n rows, (*ids)[2i] and (*ids)[2i + 1] (the store's
 * buffer, valid until the next call): the text's id when it
 * is kept in obs_texts (an observation's resultQuality or parameters), 0 when the row keeps
 * it (result_quality, parameters) or has none; readers take whichever is set. A text is
 * kept once when it repeats (in these rows, or already kept); a text met once stays in its
 * row. The ids are cached like the entities: one added by a transaction that rolls back is
 * forgotten with it. */
int store_text_ids(struct store *st, const struct obs_row *rows, size_t n, const int64_t **ids,
                   insitu_error *err);

/* Forgets the entity cache: call after anything that deletes or renames entities. */
void store_cache_clear(struct store *st);
int st_begin(struct store *st, insitu_error *err);
int st_begin_bulk(struct store *st, insitu_error *err);
int st_commit(struct store *st, insitu_error *err);
void st_rollback(struct store *st);
/* Group transaction: several sources' transactions (st_begin..st_commit) committed as one,
 * each still atomic (a savepoint), so that pages several sources write are written once.
 * st_group_begin returns 1 when the group is open, 0 on a backend without savepoints (where
 * the group calls do nothing). st_group_commit makes the group durable; on its failure (or
 * a lost group), everything the group held is gone and the caches are cleared. */
int st_group_begin(struct store *st, insitu_error *err);
int st_group_commit(struct store *st, insitu_error *err);
enum { SP_BEGIN, SP_RELEASE, SP_ROLLBACK };

/* Entity upserts by natural key (see model.h); each returns the entity's id. */
int store_upsert_thing(struct store *st, const struct thing_in *t, int64_t *id, insitu_error *err);
int store_upsert_sensor(struct store *st, const struct sensor_in *s, int64_t *id,
                        insitu_error *err);
int store_upsert_property(struct store *st, const struct property_in *p, int64_t *id,
                          insitu_error *err);
int store_upsert_datastream(struct store *st, const struct datastream_in *d, int64_t *id,
                            insitu_error *err);
/* Makes datastream id a MultiDatastream (schema 7): its multiObservationDataTypes and
 * unitOfMeasurements (JSON arrays, one entry per member) and its n member ObservedProperties
 * in order. Writes only what differs from what is stored (a re-ingest changes nothing). */
int store_set_multi(struct store *st, int64_t id, const char *types_json, const char *units_json,
                    const int64_t *properties, size_t n, insitu_error *err);
int store_upsert_feature(struct store *st, const struct feature_in *f, int64_t *id,
                         insitu_error *err);
/* The natural key of a Thing's location: the thing id and the GeoJSON (or its SHA-256 when
 * long, or the SHA-256 of the WKB when there is no GeoJSON). */
void location_key(struct strbuf *key, int64_t thing_id, const char *geojson,
                  const unsigned char *wkb, size_t wkb_len);
/* A short in-process cache key for the same as location_key (the thing id and the geometry's
 * digest): cheaper than location_key for a long geometry. */
void location_cache_key(struct strbuf *key, int64_t thing_id, const struct geom_digest *d);
/* Links a location (GeoJSON geometry) to a Thing; a new geometry also records a
 * HistoricalLocation at time `when`. */
int store_thing_location(struct store *st, int64_t thing_id, const char *name,
                         const char *geojson, int64_t when, insitu_error *err);
/* The same with the geometry also as WKB (wkb may be NULL); with a WKB, geojson may be NULL
 * and the store then writes the GeoJSON of the WKB. digest: geom_digest's of it. */
int store_thing_location_wkb(struct store *st, int64_t thing_id, const char *name,
                             const char *geojson, const unsigned char *wkb, size_t wkb_len,
                             const struct geom_digest *digest, int64_t when, insitu_error *err);

/* 1 when the Thing has a current location, 0 when not, or a negative error. */
int store_thing_has_location(struct store *st, int64_t thing_id, insitu_error *err);
/* Counts a datastream's observations again and sets its summary (n_obs, phenomenon and
 * result time spans): after rows were rewritten or deleted. */
int store_recompute_summary(struct store *st, int64_t datastream_id, insitu_error *err);
/* Sets a datastream's observedArea (area_xmin..area_ymax: the box of the bounds of the
 * features of its observations) again from its whole series (store_recompute_summary does
 * it too). */
int store_recompute_area(struct store *st, int64_t datastream_id, insitu_error *err);
/* The same for the datastream of observation obs_id (after its feature changed). */
int store_recompute_area_of_observation(struct store *st, int64_t obs_id, insitu_error *err);
/* The same for every datastream with an observation of feature feature_id (after its
 * geometry changed): one scan of the observations, which no index leads to by feature. */
int store_recompute_areas_of_feature(struct store *st, int64_t feature_id, insitu_error *err);
/* Adds n deltas to their datastreams' summaries (rows only added, none rewritten). In a
 * group of sources they are kept and written at the group's commit. */
int store_add_summaries(struct store *st, const struct summary_delta *d, size_t n,
                        insitu_error *err);

/* Writes n observations as new entities (a SensorThings create), where put_observations
 * replaces: each takes seq 0 of its (datastream, phenomenon start) when no row has it, else
 * the next free seq, so that no stored observation is replaced. ids[i] receives each one's
 * id. The caller keeps the datastreams' summaries (all rows are new). Inside the caller's
 * transaction. */
int store_create_observations(struct store *st, const struct obs_row *rows, size_t n,
                              int64_t run_id, int64_t *ids, insitu_error *err);

/* Resolves --thing: an id, or a name/code (error when it names several Things). */
int store_find_thing(struct store *st, const char *id_or_name, int64_t *id, insitu_error *err);
/* The latest phenomenon start among the Observations of the Datastream `qualifier` of the
 * Thing (ns, code), or INSITU_TIME_NONE when it has none or does not exist: where the next
 * harvest of that series starts (insitu pull sta). */
int store_series_latest(struct store *st, const char *ns, const char *code,
                        const char *qualifier, int64_t *latest, insitu_error *err);

#endif
