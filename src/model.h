/*
 * model.h: the SensorThings entities as ingesters hand them to the store. All strings are
 * borrowed; JSON-valued fields (properties, parameters) are JSON object text. Natural keys
 * make every write an idempotent upsert.
 */
#ifndef INSITU_MODEL_H
#define INSITU_MODEL_H

#include <stdint.h>

/* Thing: key (namespace, code). */
struct thing_in {
    const char *ns, *code, *name, *description, *properties;
};

/* Sensor: key (namespace, code). */
struct sensor_in {
    const char *ns, *code, *name, *description, *encoding_type, *metadata, *properties;
};

/* ObservedProperty: key (definition, name). */
struct property_in {
    const char *name, *definition, *description, *properties;
};

/* Datastream: key (thing, property, sensor, qualifier). */
struct datastream_in {
    int64_t thing_id, sensor_id, property_id;
    const char *qualifier, *name, *description, *observation_type;
    const char *unit_name, *unit_symbol, *unit_definition, *properties;
};

/* FeatureOfInterest: key `key` (canonical GeoJSON or a source id). The geometry is the
 * GeoJSON text; wkb (optional, the same geometry as WKB) spares the store a GeoJSON parse. */
struct feature_in {
    const char *key, *name, *description, *geojson, *properties;
    const unsigned char *wkb;
    size_t wkb_len;
};

/* One observation row. phenomenon_end is INSITU_TIME_NONE for an instant; has_result 0
 * means a NULL result (missing value), with quality kept. */
struct obs_row {
    int64_t datastream_id;
    int64_t phenomenon_start, phenomenon_end, result_time;
    int has_result;
    double result;
    const char *result_json;
    const char *quality;
    const char *parameters;
    int64_t feature_id; /* 0: none */
};

#define OBSERVATION_TYPE_MEASUREMENT \
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
#define OBSERVATION_TYPE_OBSERVATION \
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Observation"
#define OBSERVATION_TYPE_COMPLEX \
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_ComplexObservation"

#endif
