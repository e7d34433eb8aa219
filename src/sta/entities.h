/*
 * entities.h: the SensorThings API v1.1 entity model as tables: entity types, their
 * properties and the store columns behind them, navigation properties and the SQL condition
 * that relates two entities. Used by the filter compiler and the request handler; it holds no
 * state and never runs SQL.
 */
#ifndef INSITU_STA_MODEL_H
#define INSITU_STA_MODEL_H

#include <stddef.h>

enum sta_type {
    STA_THING,
    STA_LOCATION,
    STA_HLOC,
    STA_DATASTREAM,
    STA_SENSOR,
    STA_PROPERTY,
    STA_OBSERVATION,
    STA_FEATURE,
    STA_MDS, /* MultiDatastream (OGC 18-088 14.3): a datastreams row with multi = 1 */
    STA_NTYPES
};

/* What a property is, which says how it is read, written, filtered and printed. */
enum sta_pkind {
    SP_ID,      /* @iot.id: integer column */
    SP_TEXT,    /* text column */
    SP_OBJECT,  /* JSON object text (properties, parameters); paths go inside it */
    SP_ANYJSON, /* any JSON value kept as text: a JSON string is stored bare (metadata,
                   resultQuality); text starting with { or [ is printed as JSON */
    SP_GEO,     /* GeoJSON text (col) with its 2-D geometry (col2 = "geom") */
    SP_TIME,    /* instant: col */
    SP_PERIOD,  /* time: col = start, col2 = end (NULL end: an instant) */
    SP_RESULT,  /* Observation result: col = REAL, col2 = JSON text of anything else */
    SP_UOM      /* unitOfMeasurement: col, col2, col3 = name, symbol, definition */
};

enum {
    SPF_REQUIRED = 1, /* mandatory when creating */
    SPF_COMPUTED = 2, /* kept by the server (Datastream phenomenonTime): not writable */
    SPF_ALWAYS = 4,   /* printed even when null */
    SPF_NOTNULL = 8,  /* never null in the store (a time: its start): an order by it needs no
                       * NULLS clause, and so can follow an index on PostgreSQL too */
    SPF_TEXTREF = 16, /* a text kept in the row (col, select column idx) or in obs_texts
                       * (its id: col2, idx + 1; store_text_of reads it) */
    SPF_AREA = 32     /* SP_GEO kept as a box (datastreams.area_*: a Datastream's
                       * observedArea), col its GeoJSON: its geometry is dialect_area_sql's */
};

struct sta_prop {
    const char *name;
    enum sta_pkind kind;
    const char *col, *col2, *col3;
    int idx; /* first column of the property in the type's select list */
    unsigned flags;
};

struct sta_nav {
    const char *name;
    enum sta_type target;
    int many;
    /* to-one: the source's column holding the target's id (NULL when none) */
    const char *fk;
    /* SQL condition relating a target row to a source row: printf with %1$s = source alias,
     * %2$s = target alias */
    const char *cond;
};

struct sta_type_def {
    const char *name;   /* "Thing" */
    const char *set;    /* "Things" */
    const char *table;  /* "things" */
    const char *select; /* the columns read for output, on alias e (@GEO: see below) */
    /* The condition a row of table must meet to be of this type (printf, %1$s = the row's
     * alias), or NULL: Datastreams and MultiDatastreams share the table datastreams. Every
     * navigation condition leading to the type holds it too. */
    const char *where;
    const struct sta_prop *props;
    int nprops;
    const struct sta_nav *navs;
    int nnavs;
};
struct strbuf;

/* " AND <where>" of type t on alias (nothing when the type has no condition). */
void sta_where_sql(struct strbuf *out, enum sta_type t, const char *alias);

/* The SQL of prop's value on alias (a text column, or the text of an obs_texts id). */
void sta_prop_sql(struct strbuf *out, const char *alias, const struct sta_prop *prop);

/* The definition of a type (borrowed, static). */
const struct sta_type_def *sta_type_def(enum sta_type t);
/* Appends the type's select list, its @GEO (the GeoJSON of a Location or Feature) written
 * in the dialect: the stored text, or the geometry's GeoJSON where the text was not kept. */
struct sql_dialect;
void sta_select_sql(const struct sta_type_def *def, const struct sql_dialect *d,
                    struct strbuf *out);
/* The type whose entity set is name[0..n) ("Things"), or -1. */
int sta_type_by_set(const char *name, size_t n);
/* A property or navigation property of type t named name[0..n), or NULL. */
const struct sta_prop *sta_prop_find(enum sta_type t, const char *name, size_t n);
const struct sta_nav *sta_nav_find(enum sta_type t, const char *name, size_t n);

#endif
