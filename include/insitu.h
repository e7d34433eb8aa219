/*
 * insitu.h: the public API of libinsitu, a spatial time-series store for in-situ and
 * satellite hydrology observations (OGC SensorThings model on SQLite/SpatiaLite or PostGIS).
 * Everything not declared here is private to the library and may change without notice.
 */
#ifndef INSITU_H
#define INSITU_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Error codes: functions return 0 or one of these (negative). */
enum {
    INSITU_OK = 0,
    INSITU_EINVAL = -1,       /* bad input data (a file, a row, a field) */
    INSITU_EUSAGE = -2,       /* bad arguments from the caller */
    INSITU_EIO = -3,          /* a file or network operation failed */
    INSITU_ENOTFOUND = -4,    /* no such entity, file or source */
    INSITU_ESTORE = -5,       /* the database refused an operation */
    INSITU_ENOMEM = -6,       /* out of memory */
    INSITU_EUNSUPPORTED = -7, /* no ingester reads this source, or feature not available */
    INSITU_EAUTH = -8,        /* a credential is missing or wrong */
    INSITU_ELIMIT = -9,       /* a size or time limit was hit */
    INSITU_ECONFLICT = -10,   /* the request conflicts with stored data */
    INSITU_EBUSY = -11        /* another writer holds the store: try again later */
};

/* Error detail filled by every call that can fail: a code and a one-line message naming the
 * source, the line or field, and the cause. */
typedef struct insitu_error {
    int code;
    char message[1024];
} insitu_error;

/* Sets err (when not NULL) and returns code, so that `return insitu_error_set(...)` works. */
int insitu_error_set(insitu_error *err, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prefixes err->message with "prefix: " (used to add the source name on the way up). */
void insitu_error_prefix(insitu_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A short name for a code ("bad input", "I/O error"...): borrowed, static. */
const char *insitu_strerror(int code);

/* Time: int64 microseconds since 1970-01-01T00:00:00Z. INSITU_TIME_NONE marks "no time". */
#define INSITU_TIME_NONE INT64_MIN
/* Parses an ISO 8601 instant ("2020-01-01", "2020-01-01T12:00:00.5+01:00"...). A time
 * without zone is read with the offset default_offset_s (seconds east of UTC). */
int insitu_time_parse(const char *text, int default_offset_s, int64_t *out_us, insitu_error *err);
/* Writes an ISO 8601 UTC instant into buf (at least 32 bytes); returns buf. */
char *insitu_time_format(int64_t us, char *buf, size_t size);

/* --- the store ------------------------------------------------------------------------ */
typedef struct insitu_store insitu_store;

enum { INSITU_OPEN_READONLY = 1, INSITU_OPEN_CREATE = 2 };

/* Opens the store named by uri: a file path or sqlite:PATH (SQLite + SpatiaLite), or
 * postgresql://... (PostgreSQL + PostGIS). The schema is created or migrated when flags has
 * INSITU_OPEN_CREATE. The caller frees it with insitu_store_close(). */
int insitu_store_open(const char *uri, unsigned flags, insitu_store **out, insitu_error *err);
void insitu_store_close(insitu_store *store);
/* Creates or migrates the schema; a no-op when it is current. */
int insitu_store_init(insitu_store *store, insitu_error *err);
/* The schema version of an open store (0 when uninitialised). */
int insitu_store_schema_version(insitu_store *store);
/* The backend's name: "sqlite" or "postgresql" (borrowed). */
const char *insitu_store_backend(const insitu_store *store);
/* 1 when insitu_store_open created the store (INSITU_OPEN_CREATE on a file that did not
 * exist, or on a database without the insitu schema), else 0. */
int insitu_store_created(const insitu_store *store);
/* Copies the store into dest, a new file (an existing one is an error): a consistent
 * snapshot of the store as it was when the copy began, taken while others write it (SQLite's
 * online backup). dest opens as a store of its own. PostgreSQL stores fail with
 * INSITU_EUNSUPPORTED and a message naming pg_dump and pg_basebackup. */
int insitu_store_backup(insitu_store *store, const char *dest, insitu_error *err);

/* --- downloads ------------------------------------------------------------------------ */
/* How http(s) sources are downloaded. All optional: zero means the default. */
typedef struct insitu_fetch_options {
    const char *cache_dir;    /* NULL: $INSITU_CACHE_DIR, else $XDG_CACHE_HOME/insitu, else
                                 $HOME/.cache/insitu */
    double connect_timeout;   /* seconds to connect (default 30) */
    double timeout;           /* seconds for one whole request (default 900) */
    uint64_t max_bytes;       /* larger bodies are refused (default 4 GiB) */
    int retries;              /* further attempts after a 5xx, 408, 429, time-out or broken
                                 connection (default 4; -1: none) */
    double retry_delay;       /* first back-off in seconds, doubled each time (default 1) */
    int max_redirects;        /* default 5; -1: follow none */
    const char *const *headers; /* NULL-terminated "Name: value" request headers (API keys),
                                   sent to the URL's own host only, never after a redirect
                                   to another host */
    int refresh;              /* download again even when the cached copy is current */
} insitu_fetch_options;

/* --- ingest --------------------------------------------------------------------------- */
/* Options for one ingest call: all optional. */
typedef struct insitu_ingest_options {
    const char *format;       /* ingester name ("csv", "theia-pivot"...); NULL: probe */
    int dry_run;              /* validate everything, write nothing */
    int force;                /* ingest even when the same content was ingested before */
    int lenient;              /* skip invalid parts with a warning instead of failing */
    const char *const *settings; /* NULL-terminated "key=value" ingester settings */
    size_t batch_rows;        /* observations per write batch (default 20000) */
    /* Called about every 100k observations and at the end; may be NULL. */
    void (*progress)(void *ctx, const char *source, uint64_t rows, double seconds);
    void (*warning)(void *ctx, const char *message); /* may be NULL */
    void *ctx;
    const insitu_fetch_options *fetch; /* for URL sources; NULL: defaults */
    /* The local source the caller ingests next, when it knows it (NULL: none): it is read
     * ahead (checksum, and a SWOT product's features) while this one is written. */
    const char *next_source;
    /* 1: an http(s) URL is read where it is, through GDAL's /vsicurl/ range requests, not
     * downloaded first (a Cloud-Optimised GeoTIFF sampled at a few stations): its checksum
     * is then a fingerprint of the URL, its size, Last-Modified date and ETag, not of the
     * content. */
    int in_place;
} insitu_ingest_options;

/* What one source ingest did. */
typedef struct insitu_ingest_report {
    int64_t run_id;
    char status[16];          /* "complete", "skipped", "failed", "validated", or "empty":
                                 nothing to ingest in the source with these settings (a
                                 raster covering no station), no run recorded */
    char ingester[32];
    char checksum[65];        /* SHA-256 of the source content, hex */
    uint64_t things, datastreams, observations; /* entities and rows read from the source */
    uint64_t inserted, updated, deleted, nulls;  /* observation rows changed in the store */
    uint64_t warnings;
    double seconds;
    char message[512];        /* why it was skipped or empty, or a summary */
    int has_footprint;        /* "empty": the source's footprint is known, */
    double footprint[4];      /* west, south, east, north (EPSG:4326) */
} insitu_ingest_report;

/* Ingests one source (file, folder, .zip, or http(s) URL) as one atomic transaction: on
 * failure the store is left as it was and err names the file, line and field. Re-ingesting
 * content that was already ingested is a no-op reported as "skipped". A URL is downloaded
 * first (opts->fetch) and recorded as the source: its identity is the URL, so a changed
 * document at the same URL replaces the version ingested before. */
int insitu_ingest(insitu_store *store, const char *source, const insitu_ingest_options *opts,
                  insitu_ingest_report *report, insitu_error *err);

/* Groups the next insitu_ingest calls into one transaction, made durable by
 * insitu_ingest_group_commit: each source stays atomic (a failed one leaves nothing, the
 * others go on), and pages that several sources write are written once instead of once per
 * source. Until the commit, the group's rows are seen by this connection only, and a crash
 * loses the whole group (never part of a source). The caller commits often enough (the CLI:
 * every 5 s) for other writers to get their turn. Returns 1 when the group is open, 0 when
 * the backend commits each source on its own (PostgreSQL: these calls then do nothing),
 * or an error code. */
int insitu_ingest_group_begin(insitu_store *store, insitu_error *err);
/* Commits the group; on failure nothing of it is kept and err says why. */
int insitu_ingest_group_commit(insitu_store *store, insitu_error *err);

/* Expands a source into what is ingested one by one: the source itself when an ingester
 * reads it whole (a file, a package folder), else the files of the folder, sorted. Free the
 * list with insitu_ingest_expand_free(). */
int insitu_ingest_expand(const char *uri, const char *format, char ***out, size_t *n,
                         insitu_error *err);
void insitu_ingest_expand_free(char **list, size_t n);

/* The ingesters: name, description and settings ("key\thelp"), by index; NULL past the
 * last (borrowed, static). */
const char *insitu_ingester_name(size_t index);
const char *insitu_ingester_description(size_t index);
const char *insitu_ingester_setting(size_t index, size_t setting);

/* --- pull: series from remote catalogues ----------------------------------------------- */
/* What to pull. `service` is "hydrocron" (PO.DAAC Hydrocron time series: ids are SWOT reach,
 * node or lake ids), "hydroweb" (Hydroweb.next WFS: ids are virtual-station names) or "theia"
 * (THEIA/OZCAR dataset downloads: ids are URLs, or paths joined to base_url). Each reach, each
 * WFS query (paged) and each dataset is ingested as one source named by its request URL. */
typedef struct insitu_pull_options {
    const char *service;
    const char *base_url;      /* the service's root URL (required but for theia URLs) */
    const char *const *ids;    /* NULL-terminated */
    const char *from, *to;     /* ISO 8601 time range (hydrocron, hydroweb; required) */
    const char *feature;       /* hydrocron: Reach (default), Node or PriorLake */
    const char *fields;        /* hydrocron: the fields to request (default: docs/formats.md) */
    const char *collection;    /* hydrocron: collection_name (default: the service's) */
    const char *layer;         /* hydroweb: WFS feature type (default hydroweb_rivers_wse) */
    const char *api_key;       /* sent as the service's key header; NULL: none */
    size_t page_size;          /* hydroweb: features per WFS page (default 10000) */
    const insitu_ingest_options *ingest; /* settings, dry run, fetch options... (may be NULL) */
    /* Called after each source with its report, and err when it failed (else NULL). */
    void (*on_source)(void *ctx, const char *source, const insitu_ingest_report *rep,
                      const insitu_error *err);
    void *ctx;
} insitu_pull_options;

/* Pulls every source of the request. A failed source does not stop the others; the call
 * returns 0 when all were ingested or skipped, else the first failure's code with err naming
 * its URL. Usage errors (unknown service, missing ids or dates) are reported before any
 * request. */
int insitu_pull(insitu_store *store, const insitu_pull_options *opts, insitu_error *err);

/* --- query ---------------------------------------------------------------------------- */
enum insitu_agg { INSITU_AGG_NONE = 0, INSITU_AGG_HOUR, INSITU_AGG_DAY, INSITU_AGG_MONTH,
                  INSITU_AGG_YEAR };
enum insitu_stat { INSITU_STAT_MEAN = 0, INSITU_STAT_MIN, INSITU_STAT_MAX, INSITU_STAT_SUM,
                   INSITU_STAT_COUNT };

typedef struct insitu_query {
    const int64_t *datastreams; size_t n_datastreams; /* restrict to these ids */
    const char *thing;        /* a Thing's id or name/code */
    const char *property;     /* an ObservedProperty's name or definition */
    int has_bbox; double bbox[4]; /* west, south, east, north (EPSG:4326) */
    int64_t from_us, to_us;   /* phenomenon time range [from, to); INSITU_TIME_NONE: open */
    enum insitu_agg aggregate;
    enum insitu_stat stat;
    int64_t limit;            /* 0: no limit */
    int with_features;        /* fill insitu_obs.feature_geojson (costs a join) */
} insitu_query;

/* One observation (or one aggregate bucket) as the query yields it. Strings are borrowed
 * and valid until the next call on the cursor. */
typedef struct insitu_obs {
    int64_t id;               /* the Observation's id (0 for an aggregate) */
    int64_t datastream_id;
    const char *thing;
    const char *observed_property;
    const char *observed_property_definition;
    const char *unit;
    const char *sensor;
    int64_t phenomenon_start_us, phenomenon_end_us; /* end: INSITU_TIME_NONE for an instant */
    int has_result; double result;
    const char *result_json;  /* a non-numeric result, as JSON text, or NULL */
    const char *result_quality;
    const char *parameters;   /* JSON object text or NULL */
    const char *feature_geojson; /* the FeatureOfInterest geometry or NULL */
    int64_t count;            /* observations in the bucket (aggregates) */
} insitu_obs;

typedef struct insitu_cursor insitu_cursor;
/* Runs q; rows come from insitu_cursor_next() ordered by datastream then time. */
int insitu_query_open(insitu_store *store, const insitu_query *q, insitu_cursor **out,
                      insitu_error *err);
/* 1 with a row in *row, 0 at the end, or a negative error code. */
int insitu_cursor_next(insitu_cursor *cur, insitu_obs *row, insitu_error *err);
void insitu_cursor_close(insitu_cursor *cur);

/* --- listings and exports --------------------------------------------------------------
 * format is "csv", "json", "geojson" (one Feature per row, RFC 7946) or, for queries,
 * "waterml2". Output streams to out; nothing is held in memory beyond a row. */
typedef struct insitu_filter {
    const char *thing;        /* a Thing's id or name/code */
    const char *property;     /* an ObservedProperty's name or definition */
    int has_bbox; double bbox[4]; /* west, south, east, north */
} insitu_filter;

int insitu_export_things(insitu_store *store, const insitu_filter *f, FILE *out,
                         const char *format, insitu_error *err);
int insitu_export_datastreams(insitu_store *store, const insitu_filter *f, FILE *out,
                              const char *format, insitu_error *err);
int insitu_export_sources(insitu_store *store, FILE *out, const char *format, insitu_error *err);
/* Writes the observations of q; *rows (may be NULL) receives how many were written. */
int insitu_export_query(insitu_store *store, const insitu_query *q, FILE *out,
                        const char *format, uint64_t *rows, insitu_error *err);

#ifdef __cplusplus
}
#endif
#endif
