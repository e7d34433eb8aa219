/*
 * sta_harvest.c: the `sta` ingester: one Datastream harvested from a SensorThings API
 * endpoint by `insitu pull sta` (src/pull.c), as pull writes it: a first line
 * {"endpoint": ROOT, "datastream": {...}} with the Datastream's Thing (and its Locations),
 * Sensor and ObservedProperty expanded, then one line per page of its Observations (the page's
 * `value` array, each Observation with its FeatureOfInterest expanded). The remote entities
 * keep their ids as codes in the endpoint's namespace, so that the next harvest of the same
 * endpoint adds to the same Things and Datastreams. Reads a page at a time; never probed.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ingest.h"
#include "jsonutil.h"
#include "timeutil.h"

struct harvest {
    const struct source *src;
    struct batch_writer *bw;
    char *endpoint; /* the first line's, kept for the Observations' features */
    int64_t datastream_id;
    uint64_t line;
    insitu_error *err;
};

static int bad(struct harvest *h, const char *what)
{
    return insitu_error_set(h->err, INSITU_EINVAL, "sta: %s:%llu: %s", h->src->name,
                            (unsigned long long)h->line, what);
}

/* An entity's @iot.id as text: a number, or a string (servers with string ids). */
static int id_text(const json_t *entity, char *buf, size_t size)
{
    const json_t *id = json_object_get(entity, "@iot.id");
    if (json_is_integer(id))
        snprintf(buf, size, "%lld", (long long)json_integer_value(id));
    else if (json_is_string(id) && json_string_length(id) > 0)
        snprintf(buf, size, "%s", json_string_value(id));
    else
        return -1;
    return 0;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* A JSON member as text: a string as it is, anything else (an object, a number) as compact
 * JSON; NULL when absent or null. Caller frees. */
static char *text_of(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return NULL;
    return json_is_string(v) ? xstrdup(json_string_value(v)) : json_text_in_order(v);
}

/* The geometry of a `location` or `feature` value: a GeoJSON geometry, or a Feature's. */
static char *geometry_text(const json_t *g)
{
    if (json_is_object(g) && strcmp(str(g, "type"), "Feature") == 0)
        g = json_object_get(g, "geometry");
    return json_is_object(g) && json_object_get(g, "type") ? json_text_in_order(g) : NULL;
}

static int harvest_thing(struct harvest *h, const json_t *thing, int64_t *thing_id)
{
    char code[256];
    if (!json_is_object(thing) || id_text(thing, code, sizeof code))
        return bad(h, "datastream.Thing: missing or without @iot.id");
    char *props = text_of(thing, "properties");
    struct thing_in t = {.ns = h->endpoint, .code = code, .name = str(thing, "name"),
                         .description = str(thing, "description"), .properties = props};
    int rc = bw_thing(h->bw, &t, thing_id, h->err);
    free(props);
    /* the current location: the first of the Thing's Locations that has a geometry */
    const json_t *locations = json_object_get(thing, "Locations");
    size_t i;
    const json_t *loc;
    json_array_foreach(locations, i, loc)
    {
        char *geometry = rc ? NULL : geometry_text(json_object_get(loc, "location"));
        if (geometry) {
            rc = bw_thing_location(h->bw, *thing_id, str(loc, "name"), geometry, h->err);
            free(geometry);
            break;
        }
    }
    return rc;
}

static int harvest_sensor(struct harvest *h, const json_t *sensor, int64_t *id)
{
    char code[256];
    if (!json_is_object(sensor) || id_text(sensor, code, sizeof code))
        return bad(h, "datastream.Sensor: missing or without @iot.id");
    char *metadata = text_of(sensor, "metadata"), *props = text_of(sensor, "properties");
    struct sensor_in s = {.ns = h->endpoint, .code = code, .name = str(sensor, "name"),
                          .description = str(sensor, "description"),
                          .encoding_type = str(sensor, "encodingType"),
                          .metadata = metadata ? metadata : "", .properties = props};
    int rc = bw_sensor(h->bw, &s, id, h->err);
    free(metadata);
    free(props);
    return rc;
}

static int harvest_property(struct harvest *h, const json_t *prop, int64_t *id)
{
    if (!json_is_object(prop) || !*str(prop, "name"))
        return bad(h, "datastream.ObservedProperty: missing or without a name");
    char *props = text_of(prop, "properties");
    struct property_in p = {.name = str(prop, "name"), .definition = str(prop, "definition"),
                            .description = str(prop, "description"), .properties = props};
    int rc = bw_property(h->bw, &p, id, h->err);
    free(props);
    return rc;
}

/* The first line: the Datastream and what it links to. */
static int harvest_datastream(struct harvest *h, const json_t *head)
{
    const char *endpoint = json_string_value(json_object_get(head, "endpoint"));
    const json_t *ds = json_object_get(head, "datastream");
    char qualifier[256];
    if (!endpoint || !*endpoint || !json_is_object(ds) || id_text(ds, qualifier, sizeof qualifier))
        return bad(h, "expected {\"endpoint\": URL, \"datastream\": {\"@iot.id\": ...}} (a "
                      "harvest written by insitu pull sta)");
    h->endpoint = xstrdup(endpoint);
    int64_t thing = 0, sensor = 0, property = 0;
    int rc = harvest_thing(h, json_object_get(ds, "Thing"), &thing);
    if (!rc)
        rc = harvest_sensor(h, json_object_get(ds, "Sensor"), &sensor);
    if (!rc)
        rc = harvest_property(h, json_object_get(ds, "ObservedProperty"), &property);
    if (rc)
        return rc;
    const json_t *uom = json_object_get(ds, "unitOfMeasurement");
    char *props = text_of(ds, "properties");
    struct datastream_in d = {.thing_id = thing, .sensor_id = sensor, .property_id = property,
                              .qualifier = qualifier, .name = str(ds, "name"),
                              .description = str(ds, "description"),
                              .observation_type = str(ds, "observationType"),
                              .unit_name = str(uom, "name"), .unit_symbol = str(uom, "symbol"),
                              .unit_definition = str(uom, "definition"), .properties = props};
    rc = bw_datastream(h->bw, &d, &h->datastream_id, h->err);
    free(props);
    return rc;
}

static int harvest_feature(struct harvest *h, const json_t *foi, int64_t *id)
{
    *id = 0;
    char remote[256];
    if (!json_is_object(foi) || id_text(foi, remote, sizeof remote))
        return 0; /* none given: the Observation has no FeatureOfInterest here either */
    char *geometry = geometry_text(json_object_get(foi, "feature"));
    if (!geometry)
        return bad(h, "FeatureOfInterest: no GeoJSON feature");
    struct strbuf key = {0};
    sb_printf(&key, "%s/FeaturesOfInterest(%s)", h->endpoint, remote);
    char *props = text_of(foi, "properties");
    struct feature_in f = {.key = sb_str(&key), .name = str(foi, "name"),
                           .description = str(foi, "description"), .geojson = geometry,
                           .properties = props};
    int rc = bw_feature(h->bw, &f, id, h->err);
    sb_free(&key);
    free(props);
    free(geometry);
    return rc;
}

/* A time member: an instant or an interval; required ones must be there. */
static int time_of(struct harvest *h, const json_t *o, const char *key, int required,
                   int64_t *start, int64_t *end)
{
    *start = *end = INSITU_TIME_NONE;
    const char *s = json_string_value(json_object_get(o, key));
    if (!s) {
        if (!required)
            return 0;
        char what[64];
        snprintf(what, sizeof what, "an Observation without %s", key);
        return bad(h, what);
    }
    insitu_error terr;
    if (interval_parse(s, strlen(s), start, end, &terr)) {
        char what[sizeof terr.message + 64];
        snprintf(what, sizeof what, "%s: %s", key, terr.message);
        return bad(h, what);
    }
    return 0;
}

static int harvest_observation(struct harvest *h, const json_t *o)
{
    if (!json_is_object(o))
        return bad(h, "an Observation that is not an object");
    struct obs_row r = {.datastream_id = h->datastream_id};
    int64_t result_time_end;
    int rc = time_of(h, o, "phenomenonTime", 1, &r.phenomenon_start, &r.phenomenon_end);
    if (!rc)
        rc = time_of(h, o, "resultTime", 0, &r.result_time, &result_time_end);
    if (!rc)
        rc = harvest_feature(h, json_object_get(o, "FeatureOfInterest"), &r.feature_id);
    if (rc)
        return rc;
    const json_t *result = json_object_get(o, "result");
    char *result_json = NULL;
    if (json_is_number(result)) {
        r.has_result = 1;
        r.result = json_number_value(result);
    } else if (result && !json_is_null(result)) {
        r.result_json = result_json = json_text_in_order(result);
    }
    char *quality = text_of(o, "resultQuality"), *params = NULL;
    const json_t *p = json_object_get(o, "parameters");
    if (json_is_object(p) && json_object_size(p))
        params = json_text_in_order(p);
    r.quality = quality;
    r.parameters = params;
    rc = bw_observation(h->bw, &r, h->err);
    free(result_json);
    free(quality);
    free(params);
    return rc;
}

static int harvest_line(struct harvest *h, const char *line, size_t len)
{
    json_error_t jerr;
    json_t *j = json_loadb(line, len, 0, &jerr);
    if (!j) {
        char what[300];
        snprintf(what, sizeof what, "not JSON: %s (column %d)", jerr.text, jerr.column);
        return bad(h, what);
    }
    int rc = 0;
    if (h->line == 1) {
        rc = harvest_datastream(h, j);
    } else if (!json_is_array(j)) {
        rc = bad(h, "a page of Observations that is not a JSON array");
    } else {
        size_t i;
        json_t *o;
        json_array_foreach(j, i, o)
        {
            rc = harvest_observation(h, o);
            if (rc)
                break;
        }
    }
    json_decref(j);
    return rc;
}

static int sta_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    struct line_reader lr;
    int rc = lr_open_source(&lr, src, src->path, src->name, err);
    if (rc)
        return rc;
    struct harvest h = {.src = src, .bw = bw, .err = err};
    char *line;
    size_t len;
    while ((rc = lr_next(&lr, &line, &len, err)) == 1) {
        h.line = lr.line_no;
        rc = len ? harvest_line(&h, line, len) : 0;
        if (rc)
            break;
    }
    if (!rc && !h.datastream_id)
        rc = insitu_error_set(err, INSITU_EINVAL, "sta: %s: empty harvest", src->name);
    free(h.endpoint);
    lr_close(&lr);
    return rc;
}

static int sta_probe(const struct source *src)
{
    (void)src;
    return 0; /* written by insitu pull sta, which names the ingester */
}

static const char *const sta_settings[] = {NULL};

const struct ingester ingester_sta = {
    .name = "sta",
    .description = "a Datastream harvested from a SensorThings API endpoint (insitu pull sta)",
    .probe = sta_probe,
    .run = sta_run,
    .settings = sta_settings,
};
