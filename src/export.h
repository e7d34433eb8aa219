/*
 * export.h: streaming table writers (CSV, JSON, GeoJSON) used by every listing and by query
 * output, and the WaterML 2.0 writer for time series. Rows go out as they come: nothing is
 * buffered beyond one row.
 */
#ifndef INSITU_EXPORT_H
#define INSITU_EXPORT_H

#include <stdint.h>
#include <stdio.h>

#include "insitu.h"
#include "util.h"

enum out_format { OUT_CSV, OUT_JSON, OUT_GEOJSON, OUT_WATERML2 };

/* Parses "csv", "json", "geojson", "waterml2"; -1 when unknown. */
int out_format_parse(const char *name);

enum cell_type { CELL_NULL, CELL_INT, CELL_REAL, CELL_TEXT, CELL_JSON, CELL_TIME };

struct cell {
    enum cell_type type;
    int64_t i;      /* CELL_INT, CELL_TIME (microseconds UTC) */
    double d;       /* CELL_REAL */
    const char *s;  /* CELL_TEXT, CELL_JSON (raw JSON text) */
};

struct table_writer {
    FILE *out;
    enum out_format format;
    const char *const *columns;
    int ncols;
    int id_col;       /* GeoJSON Feature id column, or -1 */
    int rows;
    struct strbuf line;
};

/* Starts a table. For GeoJSON, each row's geometry is given to tw_row (may be NULL). */
int tw_begin(struct table_writer *tw, FILE *out, enum out_format format,
             const char *const *columns, int ncols, int id_col);
int tw_row(struct table_writer *tw, const struct cell *cells, const char *geometry);
int tw_end(struct table_writer *tw);

static inline struct cell cell_int(int64_t v) { return (struct cell){CELL_INT, v, 0, NULL}; }
static inline struct cell cell_real(double v) { return (struct cell){CELL_REAL, 0, v, NULL}; }
static inline struct cell cell_text(const char *s)
{
    return s ? (struct cell){CELL_TEXT, 0, 0, s} : (struct cell){CELL_NULL, 0, 0, NULL};
}
static inline struct cell cell_json(const char *s)
{
    return s ? (struct cell){CELL_JSON, 0, 0, s} : (struct cell){CELL_NULL, 0, 0, NULL};
}
static inline struct cell cell_time(int64_t us)
{
    return us == INSITU_TIME_NONE ? (struct cell){CELL_NULL, 0, 0, NULL}
                                  : (struct cell){CELL_TIME, us, 0, NULL};
}
static inline struct cell cell_null(void) { return (struct cell){CELL_NULL, 0, 0, NULL}; }

/* Writes a query's rows in `format` (the query CSV columns are a contract: see DESIGN).
 * Returns 0 or an error; *rows receives the number written. */
int export_query(insitu_store *store, const insitu_query *q, FILE *out, enum out_format format,
                 uint64_t *rows, insitu_error *err);

#endif
