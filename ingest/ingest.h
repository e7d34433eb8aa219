/*
 * ingest.h: the ingester vtable, the source an ingester reads, and the batch writer it
 * writes through. An ingester parses and emits entities and observation rows; it never
 * touches SQL, transactions or provenance (ingest.c does, once for every format).
 */
#ifndef INSITU_INGEST_H
#define INSITU_INGEST_H

#include <stddef.h>
#include <stdint.h>

#include "insitu.h"
#include "model.h"
#include "util.h"

struct store;

/* What an ingester reads. Paths may be GDAL VSI paths (/vsizip/...). */
struct source {
    const char *uri;      /* as the user gave it */
    const char *path;     /* local file or folder */
    const char *name;     /* base name, for messages */
    int is_dir, is_zip;
    uint64_t size;
    const unsigned char *head; /* first bytes of a file (up to 4096) */
    size_t head_len;
    const char *const *settings; /* NULL-terminated "key=value" */
    int lenient;
    void *ahead; /* what the ingester's read_ahead started on this source, or NULL */
};

/* Returns the value of setting `key`, or NULL (borrowed). */
const char *source_setting(const struct source *src, const char *key);
/* Fails with INSITU_EINVAL: "WHERE: not UTF-8 text" and the iconv command that converts the
 * source (French producers' exports are often CP1252). where: "csv: a.csv:3" or so. */
int source_not_utf8(const struct source *src, const char *where, insitu_error *err);
/* Stops libxml2 from printing to stderr in the calling thread (its encoding and I/O errors
 * bypass XML_PARSE_NOERROR and the readers' handlers): the parsers report their own
 * errors. Call it before each parse; cheap. */
void xml_errors_quiet(void);
/* The byte count or ratio of a limit setting (max_line, zip_max_bytes, zip_max_ratio), dflt
 * when absent (check_settings refused invalid values before run()). */
uint64_t source_limit(const struct source *src, const char *key, uint64_t dflt);
/* Loads the JSON document at path (a VSI path, read whole: documents are metadata) into *doc
 * (the caller json_decref's it). A UTF-8 byte order mark is skipped. Errors name who, name and
 * the line and column: a NUL byte, text that is not UTF-8 (with the iconv advice when path is
 * the source itself), invalid JSON. flags: jansson's decoding flags. */
struct json_t;
int source_json_load(const struct source *src, const char *path, const char *who, const char *name,
                     size_t flags, struct json_t **doc, insitu_error *err);
/* Fails with INSITU_EINVAL "WHO: NAME: line L column C: a NUL byte ..." when text[0..len)
 * holds a NUL byte; 0 otherwise. */
int text_check_nul(const char *who, const char *name, const char *text, size_t len,
                   insitu_error *err);
/* Parses a count with an optional K, M or G suffix (powers of 1024); -1 when invalid. */
int parse_limit(const char *text, uint64_t *out);
/* Parses a yes/no setting (default when absent); -1 when the value is neither. */
int source_setting_bool(const struct source *src, const char *key, int dflt);
/* The file's head after a UTF-8 byte order mark and white space (for probes); its length in
 * *n. */
const char *source_head_text(const struct source *src, size_t *n);

/* A source's identity across versions (e.g. a SWOT granule without its product counter). */
struct source_identity {
    char key[512];
    char version[64]; /* compared as text: a higher version replaces a lower one */
};

struct batch_writer;

struct ingester {
    const char *name;
    const char *description;
    /* 0..100: how sure the ingester is that it reads src. */
    int (*probe)(const struct source *src);
    /* Optional: fills id->key/version; default is the canonical path. */
    int (*identify)(const struct source *src, struct source_identity *id, insitu_error *err);
    int (*run)(const struct source *src, struct batch_writer *out, insitu_error *err);
    /* NULL-terminated "key\thelp" lines: the settings it accepts. */
    const char *const *settings;
    /* 1 when run() reads a file source once, start to end, feeding every byte to
     * bw_source_hash(): the checksum then costs no second read of the file. */
    int hashes_source;
    /* Optional: starts reading src on a thread of its own while the source before it is
     * written (insitu_ingest_options.next_source), and returns what run() then finds in
     * src->ahead (NULL: it could not start). read_ahead_free stops and frees it, after run()
     * or instead of it. */
    void *(*read_ahead)(const struct source *src);
    void (*read_ahead_free)(void *ahead);
};

extern const struct ingester ingester_csv;
extern const struct ingester ingester_theia_pivot;
extern const struct ingester ingester_swot_river;
extern const struct ingester ingester_swot_lake;
extern const struct ingester ingester_raster_sample;
extern const struct ingester ingester_hydroweb;
extern const struct ingester ingester_hydroweb_next;
extern const struct ingester ingester_hydrocron;
extern const struct ingester ingester_waterml2;
extern const struct ingester ingester_sta;
extern const struct ingester ingester_vector;

/* Ingests the local file or folder `path` as the source named `uri` (a downloaded copy of a
 * URL, or several pages of a query joined): provenance, skip and replacement use `uri`.
 * checksum (hex SHA-256 of path, with its size in bytes) may be NULL to compute it. */
int ingest_local_as(insitu_store *store, const char *uri, const char *path,
                    const char *checksum, uint64_t bytes, const insitu_ingest_options *opts,
                    insitu_ingest_report *rep, insitu_error *err);

/* The registry, in probe order; NULL-terminated. */
extern const struct ingester *const ingesters[];
/* NULL-terminated "key\thelp" lines: the limit settings every ingester takes. */
extern const char *const ingest_limit_settings[];
const struct ingester *ingester_find(const char *name);

/* ---- the batch writer ---- */

/* Entity upserts, cached per run: emitting the same entity twice costs one lookup. */
int bw_thing(struct batch_writer *bw, const struct thing_in *t, int64_t *id, insitu_error *err);
/* Sets a Thing's current location (GeoJSON geometry text). */
int bw_thing_location(struct batch_writer *bw, int64_t thing_id, const char *name,
                      const char *geojson, insitu_error *err);
/* The same with the geometry also as WKB (spares the store a GeoJSON parse); digest:
 * geom_digest's of the geometry (a reader thread can compute it). */
int bw_thing_location_wkb(struct batch_writer *bw, int64_t thing_id, const char *name,
                          const char *geojson, const unsigned char *wkb, size_t wkb_len,
                          const struct geom_digest *digest, insitu_error *err);
/* Sets it only when the Thing has no location yet (a fallback such as a prior centroid). */
int bw_thing_location_default(struct batch_writer *bw, int64_t thing_id, const char *name,
                              const char *geojson, insitu_error *err);
int bw_sensor(struct batch_writer *bw, const struct sensor_in *s, int64_t *id,
              insitu_error *err);
int bw_property(struct batch_writer *bw, const struct property_in *p, int64_t *id,
                insitu_error *err);
int bw_datastream(struct batch_writer *bw, const struct datastream_in *d, int64_t *id,
                  insitu_error *err);
int bw_feature(struct batch_writer *bw, const struct feature_in *f, int64_t *id,
               insitu_error *err);
/* A point FeatureOfInterest at lon/lat[/alt] (has_alt 0: 2-D), named `name`. */
int bw_point_feature(struct batch_writer *bw, double lon, double lat, int has_alt, double alt,
                     const char *name, int64_t *id, insitu_error *err);
/* Queues one observation (strings copied); flushes a full batch to the store. */
int bw_observation(struct batch_writer *bw, const struct obs_row *r, insitu_error *err);
/* The store the writer writes to, for ingesters that read stored entities (raster sampling
 * reads the Things it samples at). Reads only: writes go through the bw_* calls. */
struct store *bw_store(struct batch_writer *bw);
/* Says that what the ingester writes depends on the source's file name (a station named
 * after its file, a date or name read from it): the same content under another name is then
 * another ingest, not a repeat of this one (see SQL_SAME_CONTENT in ingest.c). */
void bw_uses_source_name(struct batch_writer *bw);
/* Says that the source holds nothing to ingest with the run's settings (a raster that
 * covers none of the selected stations). When run() then returns 0, what it wrote is rolled
 * back and no run is recorded: the report's status is "empty", its message is fmt's text,
 * and its footprint (W,S,E,N in EPSG:4326) the one given here (NULL: unknown). */
void bw_nothing(struct batch_writer *bw, const double footprint[4], const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records a warning (shown to the user, counted in the run). */
void bw_warn(struct batch_writer *bw, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 when running in lenient mode (skip bad parts with a warning). */
int bw_lenient(const struct batch_writer *bw);
/* 1 for a dry run: the writer validates and counts, and the transaction is rolled back. */
int bw_dry_run(const struct batch_writer *bw);
/* Feeds bytes read from the source into its checksum (for ingesters that read the source
 * exactly once, sequentially, and so can avoid a separate hashing pass). */
struct sha256 *bw_source_hash(struct batch_writer *bw);

/* A batch writer for writers other than insitu_ingest (the SensorThings API): observations
 * go to the store with run_id, in the caller's transaction, batch_rows at a time. bw_end()
 * flushes, adds what was written to run_datastreams (merging with earlier writes of the same
 * run) and brings the summaries of the datastreams written up to date; *inserted and
 * *updated (may be NULL) receive the row counts. bw_delete() frees (NULL is a no-op). */
int bw_new(struct store *st, int64_t run_id, size_t batch_rows, struct batch_writer **out,
           insitu_error *err);
int bw_end(struct batch_writer *bw, uint64_t *inserted, uint64_t *updated, insitu_error *err);
void bw_delete(struct batch_writer *bw);
/* Makes the observations of a writer from bw_new new entities (a SensorThings create): each
 * is written by store_create_observations, never replacing a stored one. Call it before the
 * first bw_observation. bw_created_id(bw, k) is then the id of the k-th observation given
 * to bw_observation (from 0) once it is written (after bw_end), 0 before. */
void bw_create(struct batch_writer *bw);
int64_t bw_created_id(const struct batch_writer *bw, size_t k);

/* GeoJSON Point text for lon/lat[/alt], shortest exact numbers. */
void geojson_point(char *buf, size_t size, double lon, double lat, int has_alt, double alt);

/* ---- reading lines from any (VSI) file, bounded memory ---- */
struct line_reader {
    void *file;          /* VSILFILE* */
    char *buf;
    size_t cap, start, end;
    int eof;
    uint64_t line_no;    /* of the last line returned, from 1 */
    uint64_t bytes;
    struct sha256 *hash; /* when set, every byte read is hashed */
    const char *name;    /* for messages */
    uint64_t max_line;   /* longest line accepted, in bytes (lr_open: LR_DEFAULT_MAX_LINE) */
    uint64_t max_bytes;  /* a zip member: the size its archive declares (0: no limit) */
};
/* The default of the max_line setting: 16 MiB. */
#define LR_DEFAULT_MAX_LINE ((uint64_t)16 << 20)
int lr_open(struct line_reader *lr, const char *path, const char *name, insitu_error *err);
/* The same, with the limits of src's settings (max_line). */
int lr_open_source(struct line_reader *lr, const struct source *src, const char *path,
                   const char *name, insitu_error *err);
/* 1 and a NUL-terminated line without its end-of-line (LF or CR LF) in *line and *len, 0 at
 * end of file. The line is writable and valid until the next call. A line with a NUL byte or
 * a CR that does not end it, or longer than lr->max_line, is an error naming the line. */
int lr_next(struct line_reader *lr, char **line, size_t *len, insitu_error *err);
void lr_close(struct line_reader *lr);

/* Splits a line on sep in place (RFC 4180 quotes when quotes is set); returns the count of
 * fields, or -1 when there are more than max. */
int split_fields(char *line, size_t len, char sep, int quotes, char **fields, size_t *lens,
                 int max);

#endif
