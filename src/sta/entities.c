/*
 * entities.c: the SensorThings entity model mapped onto the store's tables (see
 * schemas/sqlite.sql). Static tables only; SQL fragments here are the common dialect.
 */
#include "entities.h"

#include <string.h>

#include "store.h"
#include "util.h"

/* ---- properties: names, kinds, columns, index in the select list ---- */

static const struct sta_prop thing_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"name", SP_TEXT, "name", NULL, NULL, 1, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"description", SP_TEXT, "description", NULL, NULL, 2, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"properties", SP_OBJECT, "properties", NULL, NULL, 3, 0},
};

static const struct sta_prop location_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"name", SP_TEXT, "name", NULL, NULL, 1, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"description", SP_TEXT, "description", NULL, NULL, 2, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"encodingType", SP_TEXT, "encoding_type", NULL, NULL, 3,
     SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"location", SP_GEO, "location", "geom", NULL, 4, SPF_REQUIRED | SPF_ALWAYS},
    {"properties", SP_OBJECT, "properties", NULL, NULL, 5, 0},
};

static const struct sta_prop hloc_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"time", SP_TIME, "time", NULL, NULL, 1, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
};

static const struct sta_prop datastream_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"name", SP_TEXT, "name", NULL, NULL, 1, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"description", SP_TEXT, "description", NULL, NULL, 2, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"observationType", SP_TEXT, "observation_type", NULL, NULL, 3,
     SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"unitOfMeasurement", SP_UOM, "unit_name", "unit_symbol", "unit_definition", 4,
     SPF_REQUIRED | SPF_ALWAYS},
    {"properties", SP_OBJECT, "properties", NULL, NULL, 7, 0},
    {"phenomenonTime", SP_PERIOD, "phenomenon_start", "phenomenon_end", NULL, 8, SPF_COMPUTED},
    {"resultTime", SP_PERIOD, "result_time_start", "result_time_end", NULL, 10, SPF_COMPUTED},
    {"observedArea", SP_GEO, "observed_area", NULL, NULL, 12, SPF_COMPUTED | SPF_AREA},
};

/* OGC 18-088 14.3: a Datastream whose Observations' results are arrays, one value per
 * ObservedProperty; the arrays multiObservationDataTypes and unitOfMeasurements are kept
 * as JSON text (datastreams.multi_types, unit_json). */
static const struct sta_prop mds_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"name", SP_TEXT, "name", NULL, NULL, 1, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"description", SP_TEXT, "description", NULL, NULL, 2, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"observationType", SP_TEXT, "observation_type", NULL, NULL, 3,
     SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"multiObservationDataTypes", SP_ANYJSON, "multi_types", NULL, NULL, 4,
     SPF_REQUIRED | SPF_ALWAYS},
    {"unitOfMeasurements", SP_ANYJSON, "unit_json", NULL, NULL, 5, SPF_REQUIRED | SPF_ALWAYS},
    {"properties", SP_OBJECT, "properties", NULL, NULL, 6, 0},
    {"phenomenonTime", SP_PERIOD, "phenomenon_start", "phenomenon_end", NULL, 7, SPF_COMPUTED},
    {"resultTime", SP_PERIOD, "result_time_start", "result_time_end", NULL, 9, SPF_COMPUTED},
    {"observedArea", SP_GEO, "observed_area", NULL, NULL, 11, SPF_COMPUTED | SPF_AREA},
};

static const struct sta_prop sensor_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"name", SP_TEXT, "name", NULL, NULL, 1, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"description", SP_TEXT, "description", NULL, NULL, 2, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"encodingType", SP_TEXT, "encoding_type", NULL, NULL, 3,
     SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"metadata", SP_ANYJSON, "metadata", NULL, NULL, 4, SPF_REQUIRED | SPF_ALWAYS},
    {"properties", SP_OBJECT, "properties", NULL, NULL, 5, 0},
};

static const struct sta_prop property_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"name", SP_TEXT, "name", NULL, NULL, 1, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"definition", SP_TEXT, "definition", NULL, NULL, 2, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"description", SP_TEXT, "description", NULL, NULL, 3, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"properties", SP_OBJECT, "properties", NULL, NULL, 4, 0},
};

static const struct sta_prop observation_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"phenomenonTime", SP_PERIOD, "phenomenon_start", "phenomenon_end", NULL, 1,
     SPF_ALWAYS | SPF_NOTNULL},
    {"resultTime", SP_TIME, "result_time", NULL, NULL, 3, SPF_ALWAYS},
    {"result", SP_RESULT, "result", "result_json", NULL, 4, SPF_REQUIRED | SPF_ALWAYS},
    {"resultQuality", SP_ANYJSON, "result_quality", "quality_id", NULL, 6, SPF_TEXTREF},
    {"validTime", SP_PERIOD, "valid_start", "valid_end", NULL, 8, 0},
    {"parameters", SP_OBJECT, "parameters", "parameters_id", NULL, 10, SPF_TEXTREF},
};

static const struct sta_prop feature_props[] = {
    {"id", SP_ID, "id", NULL, NULL, 0, SPF_ALWAYS | SPF_NOTNULL},
    {"name", SP_TEXT, "name", NULL, NULL, 1, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"description", SP_TEXT, "description", NULL, NULL, 2, SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"encodingType", SP_TEXT, "encoding_type", NULL, NULL, 3,
     SPF_REQUIRED | SPF_ALWAYS | SPF_NOTNULL},
    {"feature", SP_GEO, "feature", "geom", NULL, 4, SPF_REQUIRED | SPF_ALWAYS},
    {"properties", SP_OBJECT, "properties", NULL, NULL, 5, 0},
};

/* ---- navigation: %1$s is the source row's alias, %2$s the target row's ---- */

static const struct sta_nav thing_navs[] = {
    {"Locations", STA_LOCATION, 1, NULL,
     "%2$s.id IN (SELECT location_id FROM thing_locations WHERE thing_id = %1$s.id)"},
    {"HistoricalLocations", STA_HLOC, 1, NULL, "%2$s.thing_id = %1$s.id"},
    {"Datastreams", STA_DATASTREAM, 1, NULL, "%2$s.thing_id = %1$s.id AND %2$s.multi = 0"},
    {"MultiDatastreams", STA_MDS, 1, NULL, "%2$s.thing_id = %1$s.id AND %2$s.multi = 1"},
};

static const struct sta_nav location_navs[] = {
    {"Things", STA_THING, 1, NULL,
     "%2$s.id IN (SELECT thing_id FROM thing_locations WHERE location_id = %1$s.id)"},
    {"HistoricalLocations", STA_HLOC, 1, NULL,
     "%2$s.id IN (SELECT historical_location_id FROM historical_location_locations WHERE "
     "location_id = %1$s.id)"},
};

static const struct sta_nav hloc_navs[] = {
    {"Thing", STA_THING, 0, "thing_id", "%2$s.id = %1$s.thing_id"},
    {"Locations", STA_LOCATION, 1, NULL,
     "%2$s.id IN (SELECT location_id FROM historical_location_locations WHERE "
     "historical_location_id = %1$s.id)"},
};

static const struct sta_nav datastream_navs[] = {
    {"Thing", STA_THING, 0, "thing_id", "%2$s.id = %1$s.thing_id"},
    {"Sensor", STA_SENSOR, 0, "sensor_id", "%2$s.id = %1$s.sensor_id"},
    {"ObservedProperty", STA_PROPERTY, 0, "observed_property_id",
     "%2$s.id = %1$s.observed_property_id"},
    {"Observations", STA_OBSERVATION, 1, NULL, "%2$s.datastream_id = %1$s.id"},
};

static const struct sta_nav mds_navs[] = {
    {"Thing", STA_THING, 0, "thing_id", "%2$s.id = %1$s.thing_id"},
    {"Sensor", STA_SENSOR, 0, "sensor_id", "%2$s.id = %1$s.sensor_id"},
    /* in their order: read.c orders them by position */
    {"ObservedProperties", STA_PROPERTY, 1, NULL,
     "%2$s.id IN (SELECT observed_property_id FROM multi_datastream_properties WHERE "
     "datastream_id = %1$s.id)"},
    {"Observations", STA_OBSERVATION, 1, NULL, "%2$s.datastream_id = %1$s.id"},
};

static const struct sta_nav sensor_navs[] = {
    {"Datastreams", STA_DATASTREAM, 1, NULL, "%2$s.sensor_id = %1$s.id AND %2$s.multi = 0"},
    {"MultiDatastreams", STA_MDS, 1, NULL, "%2$s.sensor_id = %1$s.id AND %2$s.multi = 1"},
};

static const struct sta_nav property_navs[] = {
    {"Datastreams", STA_DATASTREAM, 1, NULL,
     "%2$s.observed_property_id = %1$s.id AND %2$s.multi = 0"},
    {"MultiDatastreams", STA_MDS, 1, NULL,
     "%2$s.id IN (SELECT datastream_id FROM multi_datastream_properties WHERE "
     "observed_property_id = %1$s.id)"},
};

/* an Observation belongs to a Datastream or to a MultiDatastream: datastream_id is either */
static const struct sta_nav observation_navs[] = {
    {"Datastream", STA_DATASTREAM, 0, "datastream_id",
     "%2$s.id = %1$s.datastream_id AND %2$s.multi = 0"},
    {"FeatureOfInterest", STA_FEATURE, 0, "feature_id", "%2$s.id = %1$s.feature_id"},
    {"MultiDatastream", STA_MDS, 0, "datastream_id",
     "%2$s.id = %1$s.datastream_id AND %2$s.multi = 1"},
};

static const struct sta_nav feature_navs[] = {
    {"Observations", STA_OBSERVATION, 1, NULL, "%2$s.feature_id = %1$s.id"},
};

#define TYPE(n, set, table, select, props, navs)                                              \
    {n, set, table, select, NULL, props, (int)ARRAY_LEN(props), navs, (int)ARRAY_LEN(navs)}
#define TYPE_WHERE(n, set, table, select, where, props, navs)                                 \
    {n, set, table, select, where, props, (int)ARRAY_LEN(props), navs, (int)ARRAY_LEN(navs)}

static const struct sta_type_def types[STA_NTYPES] = {
    TYPE("Thing", "Things", "things", "e.id, e.name, e.description, e.properties", thing_props,
         thing_navs),
    TYPE("Location", "Locations", "locations",
         "e.id, e.name, e.description, e.encoding_type, @GEO, e.properties",
         location_props, location_navs),
    TYPE("HistoricalLocation", "HistoricalLocations", "historical_locations", "e.id, e.time",
         hloc_props, hloc_navs),
    TYPE_WHERE("Datastream", "Datastreams", "datastreams",
               "e.id, e.name, e.description, e.observation_type, e.unit_name, e.unit_symbol, "
               "e.unit_definition, e.properties, e.phenomenon_start, e.phenomenon_end, "
               "e.result_time_start, e.result_time_end, e.observed_area",
               "%1$s.multi = 0", datastream_props, datastream_navs),
    TYPE("Sensor", "Sensors", "sensors",
         "e.id, e.name, e.description, e.encoding_type, e.metadata, e.properties", sensor_props,
         sensor_navs),
    TYPE("ObservedProperty", "ObservedProperties", "observed_properties",
         "e.id, e.name, e.definition, e.description, e.properties", property_props,
         property_navs),
    /* resultQuality and parameters: a text, or an obs_texts id (SPF_TEXTREF) */
    TYPE("Observation", "Observations", "observations",
         "e.id, e.phenomenon_start, e.phenomenon_end, e.result_time, e.result, e.result_json, "
         "e.result_quality, e.quality_id, e.valid_start, e.valid_end, e.parameters, "
         "e.parameters_id, e.datastream_id",
         observation_props, observation_navs),
    TYPE("FeatureOfInterest", "FeaturesOfInterest", "features",
         "e.id, e.name, e.description, e.encoding_type, @GEO, e.properties", feature_props,
         feature_navs),
    TYPE_WHERE("MultiDatastream", "MultiDatastreams", "datastreams",
               "e.id, e.name, e.description, e.observation_type, e.multi_types, e.unit_json, "
               "e.properties, e.phenomenon_start, e.phenomenon_end, e.result_time_start, "
               "e.result_time_end, e.observed_area",
               "%1$s.multi = 1", mds_props, mds_navs),
};

const struct sta_type_def *sta_type_def(enum sta_type t) { return &types[t]; }

void sta_where_sql(struct strbuf *out, enum sta_type t, const char *alias)
{
    if (types[t].where) {
        sb_puts(out, " AND ");
        sb_printf(out, types[t].where, alias);
    }
}

void sta_prop_sql(struct strbuf *out, const char *alias, const struct sta_prop *prop)
{
    if (prop->flags & SPF_TEXTREF)
        sb_printf(out, "coalesce(%1$s.%2$s, (SELECT text FROM obs_texts WHERE id = %1$s.%3$s))",
                  alias, prop->col, prop->col2);
    else
        sb_printf(out, "%s.%s", alias, prop->col);
}

void sta_select_sql(const struct sta_type_def *def, const struct sql_dialect *d,
                    struct strbuf *out)
{
    const char *at = strstr(def->select, "@GEO");
    if (!at) {
        sb_puts(out, def->select);
        return;
    }
    const char *col = NULL;
    for (int i = 0; i < def->nprops && !col; i++)
        if (def->props[i].kind == SP_GEO)
            col = def->props[i].col;
    sb_append(out, def->select, (size_t)(at - def->select));
    dialect_geojson_sql(d, out, "e", col);
    sb_puts(out, at + 4);
}

static int same(const char *a, const char *b, size_t n)
{
    return strlen(a) == n && memcmp(a, b, n) == 0;
}

int sta_type_by_set(const char *name, size_t n)
{
    for (int t = 0; t < STA_NTYPES; t++)
        if (same(types[t].set, name, n))
            return t;
    return -1;
}

const struct sta_prop *sta_prop_find(enum sta_type t, const char *name, size_t n)
{
    const struct sta_type_def *d = &types[t];
    for (int i = 0; i < d->nprops; i++)
        if (same(d->props[i].name, name, n))
            return &d->props[i];
    if (same("@iot.id", name, n))
        return &d->props[0];
    return NULL;
}

const struct sta_nav *sta_nav_find(enum sta_type t, const char *name, size_t n)
{
    const struct sta_type_def *d = &types[t];
    for (int i = 0; i < d->nnavs; i++)
        if (same(d->navs[i].name, name, n))
            return &d->navs[i];
    return NULL;
}
