/*
 * waterml2.c: OGC WaterML 2.0 time series (a wml2:Collection, or an SOS 2.0
 * GetObservationResponse, of om:OM_Observation with a MeasurementTimeseries or
 * CategoricalTimeseries result), read as a stream with libxml2's xmlTextReader: memory stays
 * bounded by one observation's metadata, whatever the number of points. Never fetches
 * anything the document references (no network, no external entities).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_vsi.h>
#include <jansson.h>
#include <libxml/xmlreader.h>
#include <ogr_srs_api.h>

#include "ingest.h"
#include "jsonutil.h"
#include "timeutil.h"

#define WML_NS "waterml2"
#define NS_WML2 "http://www.opengis.net/waterml/2.0"
#define NS_OM "http://www.opengis.net/om/2.0"
#define NS_GML "http://www.opengis.net/gml/3.2"
#define NS_XLINK "http://www.w3.org/1999/xlink"
#define NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define NS_SWE "http://www.opengis.net/swe/2.0"
#define NS_SF "http://www.opengis.net/sampling/2.0"
#define OBSERVATION_TYPE_CATEGORY \
    "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation"

static const char *const wml_setting_help[] = {
    "axis_order\tcoordinate order of gml:pos: auto (default: the order of its srsName, lat/lon "
    "for EPSG:4326 and EPSG:4269, as GML requires), latlon or lonlat",
    "tz\ttime zone of times written without one (default: the MonitoringPoint's "
    "wml2:zoneOffset, else UTC)",
    NULL,
};

/* The elements the reader acts on. */
enum el {
    EL_OTHER, EL_OBSERVATION, EL_PROCEDURE, EL_PROPERTY, EL_FOI, EL_RESULT_TIME,
    EL_TIME_POSITION, EL_MONITORING_POINT, EL_IDENTIFIER, EL_NAME, EL_POINT_GEOM, EL_POS,
    EL_DESCRIPTION_REF, EL_ZONE_OFFSET, EL_SAMPLED_FEATURE, EL_MEASUREMENT_TS,
    EL_CATEGORICAL_TS, EL_DEFAULT_META, EL_TVP, EL_TIME, EL_VALUE, EL_QUALIFIER, EL_UOM,
    EL_INTERPOLATION, EL_COMMENT, EL_SWE_VALUE, EL_NIL_REASON
};

static const struct {
    const char *ns, *name;
    enum el el;
} elements[] = {
    {NS_OM, "OM_Observation", EL_OBSERVATION},
    {NS_OM, "procedure", EL_PROCEDURE},
    {NS_OM, "observedProperty", EL_PROPERTY},
    {NS_OM, "featureOfInterest", EL_FOI},
    {NS_OM, "resultTime", EL_RESULT_TIME},
    {NS_GML, "timePosition", EL_TIME_POSITION},
    {NS_WML2, "MonitoringPoint", EL_MONITORING_POINT},
    {NS_GML, "identifier", EL_IDENTIFIER},
    {NS_GML, "name", EL_NAME},
    {NS_GML, "Point", EL_POINT_GEOM},
    {NS_GML, "pos", EL_POS},
    {NS_WML2, "descriptionReference", EL_DESCRIPTION_REF},
    {NS_WML2, "zoneOffset", EL_ZONE_OFFSET},
    {NS_SF, "sampledFeature", EL_SAMPLED_FEATURE},
    {NS_WML2, "MeasurementTimeseries", EL_MEASUREMENT_TS},
    {NS_WML2, "CategoricalTimeseries", EL_CATEGORICAL_TS},
    {NS_WML2, "DefaultTVPMeasurementMetadata", EL_DEFAULT_META},
    {NS_WML2, "DefaultCategoricalTVPMetadata", EL_DEFAULT_META},
    {NS_WML2, "MeasurementTVP", EL_TVP},
    {NS_WML2, "CategoricalTVP", EL_TVP},
    {NS_WML2, "time", EL_TIME},
    {NS_WML2, "value", EL_VALUE},
    {NS_WML2, "qualifier", EL_QUALIFIER},
    {NS_WML2, "uom", EL_UOM},
    {NS_WML2, "interpolationType", EL_INTERPOLATION},
    {NS_WML2, "comment", EL_COMMENT},
    {NS_SWE, "value", EL_SWE_VALUE},
    {NS_WML2, "nilReason", EL_NIL_REASON},
};

/* One om:OM_Observation's metadata (the strings are owned). */
struct wobs {
    char *proc_href, *proc_title, *prop_href, *prop_title;
    char *foi_href, *foi_title, *mp_id, *mp_identifier, *mp_name, *mp_description;
    char *sampled_feature, *zone_offset, *srs_name, *pos;
    char *ts_id, *uom, *uom_href, *interp_href, *interp_title, *default_qualifier;
    int categorical;
    int64_t result_time;
    int64_t datastream_id, feature_id; /* 0 until the first point makes them */
    uint64_t points;
};

/* One point (owned strings). */
struct wtvp {
    char *time, *value, *qualifier, *comment, *nil_reason;
    int nil;
};

struct wml {
    const struct source *src;
    struct batch_writer *bw;
    xmlTextReaderPtr r;
    VSILFILE *file;
    struct sha256 *hash;
    int axis; /* 0 auto, 1 latlon, 2 lonlat */
    struct tz tz_setting;
    int has_tz_setting;
    char *doc_identifier, *doc_name; /* the collection's own gml:identifier and gml:name */
    int in_obs, in_foi, in_mp, in_result_time, in_default, in_tvp;
    int64_t sensor_id;
    struct wobs o;
    struct wtvp p;
    struct strbuf text; /* the text of the element being captured */
    enum el capture;
    uint64_t n_observations, n_points;
};

static int wml_read(void *ctx, char *buf, int len)
{
    struct wml *w = ctx;
    size_t n = VSIFReadL(buf, 1, (size_t)len, w->file);
    if (w->hash && n)
        sha256_update(w->hash, buf, n);
    return (int)n;
}

static int wml_close(void *ctx)
{
    (void)ctx;
    return 0;
}

static int line(const struct wml *w) { return xmlTextReaderGetParserLineNumber(w->r); }

static int fail(struct wml *w, insitu_error *err, const char *fmt, const char *what,
                const char *detail)
{
    char msg[2200];
    snprintf(msg, sizeof msg, fmt, what, detail ? detail : "");
    return insitu_error_set(err, INSITU_EINVAL, "waterml2: %s:%d: %s", w->src->name, line(w),
                            msg);
}

static enum el classify(xmlTextReaderPtr r)
{
    const char *ns = (const char *)xmlTextReaderConstNamespaceUri(r);
    const char *name = (const char *)xmlTextReaderConstLocalName(r);
    if (!ns || !name)
        return EL_OTHER;
    for (size_t i = 0; i < sizeof elements / sizeof elements[0]; i++)
        if (strcmp(elements[i].name, name) == 0 && strcmp(elements[i].ns, ns) == 0)
            return elements[i].el;
    return EL_OTHER;
}

static char *attr(xmlTextReaderPtr r, const char *ns, const char *name)
{
    xmlChar *v = ns ? xmlTextReaderGetAttributeNs(r, (const xmlChar *)name, (const xmlChar *)ns)
                    : xmlTextReaderGetAttribute(r, (const xmlChar *)name);
    if (!v)
        return NULL;
    char *s = xstrdup((const char *)v);
    xmlFree(v);
    return s;
}

/* Keeps the first value given (later ones are ignored), taking ownership of v. */
static void keep(char **slot, char *v)
{
    if (!*slot && v && *v)
        *slot = v;
    else
        free(v);
}

static char *trimmed_text(struct wml *w)
{
    const char *s = w->text.data ? w->text.data : "";
    size_t n = w->text.len;
    while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\n' || s[n - 1] == '\r'))
        n--;
    return xstrndup(s, n);
}

static void wobs_free(struct wobs *o)
{
    char **s[] = {&o->proc_href, &o->proc_title, &o->prop_href, &o->prop_title, &o->foi_href,
                  &o->foi_title, &o->mp_id, &o->mp_identifier, &o->mp_name, &o->mp_description,
                  &o->sampled_feature, &o->zone_offset, &o->srs_name, &o->pos, &o->ts_id,
                  &o->uom, &o->uom_href, &o->interp_href, &o->interp_title,
                  &o->default_qualifier};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        free(*s[i]);
    memset(o, 0, sizeof *o);
    o->result_time = INSITU_TIME_NONE;
}

static void wtvp_free(struct wtvp *p)
{
    free(p->time);
    free(p->value);
    free(p->qualifier);
    free(p->comment);
    free(p->nil_reason);
    memset(p, 0, sizeof *p);
}

/* The last segment of a URI's path or query ("AirTemperature" of ".../properties/AirTemperature",
 * "00045" of "...pm_search=00045"). */
static const char *last_segment(const char *uri)
{
    if (!uri)
        return NULL;
    const char *end = uri + strlen(uri), *p = end;
    while (p > uri && p[-1] != '/' && p[-1] != '=' && p[-1] != '#' && p[-1] != ':')
        p--;
    return p < end ? p : uri;
}

/* The station's position as lon/lat in EPSG:4326. 0 when there is none, 1 when found. */
static int station_position(struct wml *w, double *lon, double *lat, insitu_error *err)
{
    if (!w->o.pos)
        return 0;
    double a, b;
    char *end;
    a = strtod(w->o.pos, &end);
    char *rest = end;
    b = strtod(rest, &end);
    if (end == rest || !isfinite(a) || !isfinite(b))
        return fail(w, err, "gml:pos: expected two numbers, found '%s'%s", w->o.pos, NULL);
    const char *srs = w->o.srs_name ? w->o.srs_name : "EPSG:4326";
    OGRSpatialReferenceH from = OSRNewSpatialReference(NULL), to = OSRNewSpatialReference(NULL);
    int rc = 1;
    if (OSRSetFromUserInput(from, srs) != OGRERR_NONE) {
        rc = fail(w, err, "gml:pos: srsName '%s' is not a CRS GDAL knows%s", srs, NULL);
    } else {
        OSRImportFromEPSG(to, 4326);
        OSRSetAxisMappingStrategy(to, OAMS_TRADITIONAL_GIS_ORDER);
        if (w->axis) {
            /* the user says what the numbers are: feed them in the GIS order */
            OSRSetAxisMappingStrategy(from, OAMS_TRADITIONAL_GIS_ORDER);
            if (w->axis == 1) {
                double t = a;
                a = b;
                b = t;
            }
        } else {
            OSRSetAxisMappingStrategy(from, OAMS_AUTHORITY_COMPLIANT);
        }
        OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(from, to);
        if (!ct || !OCTTransform(ct, 1, &a, &b, NULL))
            rc = fail(w, err, "gml:pos: cannot transform '%s' from %s to EPSG:4326", w->o.pos,
                      srs);
        if (ct)
            OCTDestroyCoordinateTransformation(ct);
        *lon = a;
        *lat = b;
        if (rc == 1 && !(*lat >= -90 && *lat <= 90 && *lon >= -180 && *lon <= 360))
            rc = fail(w, err, "gml:pos: '%s' is not a position on Earth (check axis_order)%s",
                      w->o.pos, NULL);
    }
    OSRDestroySpatialReference(from);
    OSRDestroySpatialReference(to);
    return rc;
}

/* The Thing, its Location and FeatureOfInterest, the Sensor, ObservedProperty and Datastream of
 * the current observation: made at its first point (its metadata is complete by then). */
static int make_datastream(struct wml *w, insitu_error *err)
{
    struct wobs *o = &w->o;
    const char *code = o->mp_identifier  ? o->mp_identifier
                       : o->foi_href     ? o->foi_href
                       : o->mp_id        ? o->mp_id
                       : o->foi_title    ? o->foi_title
                       : w->doc_identifier;
    if (!code)
        return fail(w, err, "om:featureOfInterest: no gml:identifier, xlink:href, gml:id or "
                            "title to name the station%s%s", "", NULL);
    const char *name = o->mp_name          ? o->mp_name
                       : o->mp_description ? o->mp_description
                       : o->foi_title      ? o->foi_title
                       : w->doc_name       ? w->doc_name
                                           : code;
    json_t *props = json_object();
    json_set_str(props, "featureOfInterest", o->foi_href);
    json_set_str(props, "sampledFeature", o->sampled_feature);
    json_set_str(props, "timeZone", o->zone_offset);
    char *ptext = json_object_size(props) ? json_text(props) : NULL;
    json_decref(props);
    struct thing_in t = {.ns = WML_NS, .code = code, .name = name, .properties = ptext};
    int64_t thing_id;
    int rc = bw_thing(w->bw, &t, &thing_id, err);
    free(ptext);
    double lon = 0, lat = 0;
    int has_pos = rc ? 0 : station_position(w, &lon, &lat, err);
    if (has_pos < 0)
        rc = has_pos;
    if (!rc && has_pos == 1) {
        char geojson[160];
        geojson_point(geojson, sizeof geojson, lon, lat, 0, 0);
        rc = bw_thing_location(w->bw, thing_id, name, geojson, err);
        if (!rc)
            rc = bw_point_feature(w->bw, lon, lat, 0, 0, name, &o->feature_id, err);
    }
    /* the procedure: a Sensor (one per procedure reference) */
    const char *scode = o->proc_href ? o->proc_href : o->proc_title ? o->proc_title : "unspecified";
    const char *sname = o->proc_title ? o->proc_title : o->proc_href ? last_segment(o->proc_href)
                                                                     : "unspecified procedure";
    struct sensor_in s = {.ns = WML_NS, .code = scode, .name = sname,
                          .encoding_type = o->proc_href ? "text/html" : "text/plain",
                          .metadata = o->proc_href ? o->proc_href : ""};
    int64_t sensor_id = 0, prop_id = 0;
    if (!rc)
        rc = bw_sensor(w->bw, &s, &sensor_id, err);
    if (!rc && !o->prop_href && !o->prop_title)
        return fail(w, err, "om:observedProperty: no xlink:href or xlink:title%s%s", "", NULL);
    struct strbuf def = {0};
    if (o->prop_href)
        sb_puts(&def, o->prop_href);
    else
        sb_printf(&def, "urn:x-insitu:property:%s", o->prop_title);
    struct property_in p = {.name = o->prop_title ? o->prop_title : last_segment(o->prop_href),
                            .definition = def.data};
    if (!rc)
        rc = bw_property(w->bw, &p, &prop_id, err);
    json_t *dprops = json_object();
    json_set_str(dprops, "interpolationType", o->interp_href);
    json_set_str(dprops, "interpolationTypeTitle", o->interp_title);
    json_set_str(dprops, "defaultQualifier", o->default_qualifier);
    json_set_str(dprops, "timeseries", o->ts_id);
    char *dtext = json_object_size(dprops) ? json_text(dprops) : NULL;
    json_decref(dprops);
    struct strbuf dname = {0};
    sb_printf(&dname, "%s at %s", p.name, name);
    struct datastream_in d = {
        .thing_id = thing_id,
        .sensor_id = sensor_id,
        .property_id = prop_id,
        .qualifier = "",
        .name = dname.data,
        .observation_type = o->categorical ? OBSERVATION_TYPE_CATEGORY
                                           : OBSERVATION_TYPE_MEASUREMENT,
        .unit_name = o->categorical ? "" : o->uom ? o->uom : "",
        .unit_symbol = o->categorical ? "" : o->uom ? o->uom : "",
        .unit_definition = o->uom_href ? o->uom_href : "",
        .properties = dtext};
    if (!rc)
        rc = bw_datastream(w->bw, &d, &o->datastream_id, err);
    sb_free(&def);
    sb_free(&dname);
    free(dtext);
    return rc;
}

/* Parses a point's time: its own zone, else the setting, else the station's zone offset. */
static int point_time(struct wml *w, const char *s, int64_t *out, insitu_error *err)
{
    struct tz zone, *tz = NULL;
    if (w->has_tz_setting) {
        tz = &w->tz_setting;
    } else if (w->o.zone_offset && tz_parse(w->o.zone_offset, &zone, NULL) == 0) {
        tz = &zone;
    }
    insitu_error e;
    if (time_parse_iso(s, strlen(s), tz, out, &e))
        return fail(w, err, "wml2:time: %s%s", e.message, NULL);
    return 0;
}

static int emit_point(struct wml *w, insitu_error *err)
{
    struct wtvp *p = &w->p;
    if (!p->time)
        return fail(w, err, "wml2:point without wml2:time%s%s", "", NULL);
    int rc = w->o.datastream_id ? 0 : make_datastream(w, err);
    int64_t t;
    if (!rc)
        rc = point_time(w, p->time, &t, err);
    if (rc)
        return rc;
    struct obs_row r = {.datastream_id = w->o.datastream_id,
                        .phenomenon_start = t,
                        .phenomenon_end = INSITU_TIME_NONE,
                        .result_time = w->o.result_time,
                        .feature_id = w->o.feature_id};
    char *json = NULL;
    if (!p->nil && p->value && *p->value) {
        if (w->o.categorical) {
            json_t *v = json_string(p->value);
            json = v ? json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT) : NULL;
            json_decref(v);
            r.result_json = json;
        } else if (parse_double(p->value, strlen(p->value), &r.result) == 0) {
            r.has_result = !isnan(r.result);
        } else if (bw_lenient(w->bw)) {
            bw_warn(w->bw, "waterml2: %s:%d: wml2:value: not a number: '%s' (stored as "
                           "missing)", w->src->name, line(w), p->value);
        } else {
            return fail(w, err, "wml2:value: not a number: '%s'%s", p->value, NULL);
        }
    }
    r.quality = p->qualifier ? p->qualifier : w->o.default_qualifier;
    char *params = NULL;
    if (p->comment || p->nil_reason) {
        json_t *o = json_object();
        json_set_str(o, "comment", p->comment);
        json_set_str(o, "nilReason", p->nil_reason);
        params = json_text(o);
        json_decref(o);
        r.parameters = params;
    }
    rc = bw_observation(w->bw, &r, err);
    free(json);
    free(params);
    w->o.points++;
    w->n_points++;
    return rc;
}

static int start_element(struct wml *w, enum el el, insitu_error *err)
{
    xmlTextReaderPtr r = w->r;
    struct wobs *o = &w->o;
    switch (el) {
    case EL_OBSERVATION:
        if (w->in_obs)
            return fail(w, err, "om:OM_Observation inside another%s%s", "", NULL);
        wobs_free(o);
        w->in_obs = 1;
        break;
    case EL_PROCEDURE:
        keep(&o->proc_href, attr(r, NS_XLINK, "href"));
        keep(&o->proc_title, attr(r, NS_XLINK, "title"));
        break;
    case EL_PROPERTY:
        keep(&o->prop_href, attr(r, NS_XLINK, "href"));
        keep(&o->prop_title, attr(r, NS_XLINK, "title"));
        break;
    case EL_FOI:
        keep(&o->foi_href, attr(r, NS_XLINK, "href"));
        keep(&o->foi_title, attr(r, NS_XLINK, "title"));
        w->in_foi = 1;
        break;
    case EL_MONITORING_POINT:
        keep(&o->mp_id, attr(r, NS_GML, "id"));
        w->in_mp = 1;
        break;
    case EL_SAMPLED_FEATURE:
        if (w->in_mp)
            keep(&o->sampled_feature, attr(r, NS_XLINK, "href"));
        break;
    case EL_POINT_GEOM:
        if (w->in_foi)
            keep(&o->srs_name, attr(r, NULL, "srsName"));
        break;
    case EL_POS:
        if (w->in_foi) {
            char *srs = attr(r, NULL, "srsName");
            if (srs && *srs) {
                free(o->srs_name);
                o->srs_name = srs;
            } else {
                free(srs);
            }
            w->capture = EL_POS;
        }
        break;
    case EL_DESCRIPTION_REF:
        if (w->in_mp)
            keep(&o->mp_description, attr(r, NS_XLINK, "title"));
        break;
    case EL_IDENTIFIER:
    case EL_NAME:
    case EL_ZONE_OFFSET:
        if (w->in_mp || xmlTextReaderDepth(r) == 1)
            w->capture = el;
        break;
    case EL_RESULT_TIME:
        w->in_result_time = 1;
        break;
    case EL_TIME_POSITION:
        if (w->in_result_time)
            w->capture = el;
        break;
    case EL_MEASUREMENT_TS:
    case EL_CATEGORICAL_TS:
        o->categorical = el == EL_CATEGORICAL_TS;
        keep(&o->ts_id, attr(r, NS_GML, "id"));
        break;
    case EL_DEFAULT_META:
        w->in_default = 1;
        break;
    case EL_UOM:
        if (w->in_default) {
            keep(&o->uom, attr(r, NULL, "code"));
            keep(&o->uom_href, attr(r, NS_XLINK, "href"));
        }
        break;
    case EL_INTERPOLATION:
        if (w->in_default) {
            keep(&o->interp_href, attr(r, NS_XLINK, "href"));
            keep(&o->interp_title, attr(r, NS_XLINK, "title"));
        }
        break;
    case EL_QUALIFIER: {
        char *q = attr(r, NS_XLINK, "title");
        if (!q)
            q = attr(r, NS_XLINK, "href");
        if (w->in_tvp)
            keep(&w->p.qualifier, q);
        else if (w->in_default)
            keep(&o->default_qualifier, q);
        else
            free(q);
        break;
    }
    case EL_NIL_REASON:
        if (w->in_tvp) {
            char *q = attr(r, NS_XLINK, "title");
            keep(&w->p.nil_reason, q ? q : attr(r, NS_XLINK, "href"));
        }
        break;
    case EL_TVP:
        if (!w->in_obs)
            return fail(w, err, "wml2:%s outside an om:OM_Observation%s",
                        (const char *)xmlTextReaderConstLocalName(r), NULL);
        wtvp_free(&w->p);
        w->in_tvp = 1;
        break;
    case EL_TIME:
    case EL_COMMENT:
    case EL_SWE_VALUE:
        if (w->in_tvp)
            w->capture = el;
        break;
    case EL_VALUE:
        if (w->in_tvp) {
            char *nil = attr(r, NS_XSI, "nil");
            w->p.nil = nil && (strcmp(nil, "true") == 0 || strcmp(nil, "1") == 0);
            free(nil);
            char *reason = attr(r, NULL, "nilReason");
            keep(&w->p.nil_reason, reason);
            w->capture = EL_VALUE;
        }
        break;
    default: break;
    }
    if (w->capture != EL_OTHER)
        sb_reset(&w->text);
    return 0;
}

static int end_element(struct wml *w, enum el el, insitu_error *err)
{
    struct wobs *o = &w->o;
    int rc = 0;
    if (w->capture == el && el != EL_OTHER) {
        char *text = trimmed_text(w);
        w->capture = EL_OTHER;
        switch (el) {
        case EL_POS: keep(&o->pos, text); break;
        case EL_IDENTIFIER:
            keep(w->in_mp ? &o->mp_identifier : &w->doc_identifier, text);
            break;
        case EL_NAME: keep(w->in_mp ? &o->mp_name : &w->doc_name, text); break;
        case EL_ZONE_OFFSET: keep(&o->zone_offset, text); break;
        case EL_TIME_POSITION: {
            insitu_error e;
            if (*text && time_parse_iso(text, strlen(text), NULL, &o->result_time, &e))
                rc = fail(w, err, "om:resultTime: %s%s", e.message, NULL);
            free(text);
            break;
        }
        case EL_TIME: keep(&w->p.time, text); break;
        case EL_COMMENT: keep(&w->p.comment, text); break;
        case EL_VALUE:
        case EL_SWE_VALUE: keep(&w->p.value, text); break;
        default: free(text); break;
        }
        if (rc)
            return rc;
    }
    switch (el) {
    case EL_OBSERVATION:
        if (!o->points)
            bw_warn(w->bw, "waterml2: %s:%d: an om:OM_Observation without points (%s)",
                    w->src->name, line(w), o->ts_id ? o->ts_id : "no time series");
        w->n_observations++;
        w->in_obs = 0;
        break;
    case EL_FOI: w->in_foi = 0; break;
    case EL_MONITORING_POINT: w->in_mp = 0; break;
    case EL_RESULT_TIME: w->in_result_time = 0; break;
    case EL_DEFAULT_META: w->in_default = 0; break;
    case EL_TVP:
        rc = emit_point(w, err);
        wtvp_free(&w->p);
        w->in_tvp = 0;
        break;
    default: break;
    }
    return rc;
}

static int wml_settings(struct wml *w, insitu_error *err)
{
    const char *axis = source_setting(w->src, "axis_order");
    if (!axis || strcmp(axis, "auto") == 0)
        w->axis = 0;
    else if (strcmp(axis, "latlon") == 0)
        w->axis = 1;
    else if (strcmp(axis, "lonlat") == 0)
        w->axis = 2;
    else
        return insitu_error_set(err, INSITU_EUSAGE,
                                "waterml2: axis_order=%s: expected auto, latlon or lonlat", axis);
    const char *tz = source_setting(w->src, "tz");
    if (tz) {
        int rc = tz_parse(tz, &w->tz_setting, err);
        if (rc)
            return rc;
        w->has_tz_setting = 1;
    }
    return 0;
}

/* libxml2 reports errors through this (instead of printing them). */
static void wml_xml_error(void *ctx, const char *msg, xmlParserSeverities severity,
                          xmlTextReaderLocatorPtr loc)
{
    struct strbuf *first = ctx;
    if (severity != XML_PARSER_SEVERITY_ERROR && severity != XML_PARSER_SEVERITY_VALIDITY_ERROR)
        return;
    if (!first->len) {
        sb_printf(first, "line %d: %s", xmlTextReaderLocatorLineNumber(loc), msg);
        while (first->len && (first->data[first->len - 1] == '\n'))
            first->data[--first->len] = '\0';
    }
}

static int wml_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    struct wml w = {.src = src, .bw = bw, .capture = EL_OTHER};
    w.o.result_time = INSITU_TIME_NONE;
    int rc = wml_settings(&w, err);
    if (rc)
        return rc;
    w.file = VSIFOpenL(src->path, "rb");
    if (!w.file)
        return insitu_error_set(err, INSITU_EIO, "waterml2: %s: cannot open", src->name);
    w.hash = bw_source_hash(bw);
    /* no network, no external entities or DTDs: a document cannot make insitu fetch */
    xml_errors_quiet();
    w.r = xmlReaderForIO(wml_read, wml_close, &w, src->name, NULL,
                         XML_PARSE_NONET | XML_PARSE_NOCDATA | XML_PARSE_COMPACT);
    struct strbuf xml_error = {0};
    if (!w.r) {
        VSIFCloseL(w.file);
        return insitu_error_set(err, INSITU_ENOMEM, "waterml2: %s: cannot start the XML reader",
                                src->name);
    }
    xmlTextReaderSetErrorHandler(w.r, wml_xml_error, &xml_error);
    int ret, root_seen = 0;
    while (!rc && (ret = xmlTextReaderRead(w.r)) == 1) {
        int type = xmlTextReaderNodeType(w.r);
        if (type == XML_READER_TYPE_ELEMENT) {
            enum el el = classify(w.r);
            if (!root_seen) {
                root_seen = 1;
                const char *ns = (const char *)xmlTextReaderConstNamespaceUri(w.r);
                const char *name = (const char *)xmlTextReaderConstLocalName(w.r);
                if (!(ns && strcmp(ns, NS_WML2) == 0 && strcmp(name, "Collection") == 0) &&
                    !(name && strcmp(name, "GetObservationResponse") == 0) && el != EL_OBSERVATION)
                    rc = insitu_error_set(err, INSITU_EINVAL,
                                          "waterml2: %s: the root element is %s, not a "
                                          "wml2:Collection or an SOS GetObservationResponse",
                                          src->name, name ? name : "?");
            }
            int empty = xmlTextReaderIsEmptyElement(w.r);
            if (!rc)
                rc = start_element(&w, el, err);
            if (!rc && empty)
                rc = end_element(&w, el, err);
        } else if (type == XML_READER_TYPE_END_ELEMENT) {
            rc = end_element(&w, classify(w.r), err);
        } else if ((type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
                    type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE) &&
                   w.capture != EL_OTHER) {
            const char *v = (const char *)xmlTextReaderConstValue(w.r);
            if (v && w.text.len + strlen(v) > (1u << 20))
                rc = fail(&w, err, "an element's text is longer than 1 MiB%s%s", "", NULL);
            else if (v)
                sb_puts(&w.text, v);
        }
    }
    if (!rc && ret != 0 && xml_error.len && strstr(xml_error.data, "not proper UTF-8")) {
        /* a CP1252 export under the default (or a declared UTF-8) encoding */
        struct strbuf where = {0};
        /* "line N: Input is not proper UTF-8..." -> "line N" */
        const char *colon = strchr(xml_error.data, ':');
        sb_printf(&where, "waterml2: %s: %.*s", src->name,
                  colon ? (int)(colon - xml_error.data) : 0, xml_error.data);
        rc = source_not_utf8(src, where.data, err);
        sb_free(&where);
    } else if (!rc && ret != 0)
        rc = insitu_error_set(err, INSITU_EINVAL, "waterml2: %s: not well-formed XML: %s",
                              src->name, xml_error.len ? xml_error.data : "read error");
    if (!rc && !w.n_observations)
        rc = insitu_error_set(err, INSITU_EINVAL, "waterml2: %s: no om:OM_Observation in the "
                              "document", src->name);
    xmlFreeTextReader(w.r);
    VSIFCloseL(w.file);
    wobs_free(&w.o);
    wtvp_free(&w.p);
    free(w.doc_identifier);
    free(w.doc_name);
    sb_free(&w.text);
    sb_free(&xml_error);
    return rc;
}

static int wml_probe(const struct source *src)
{
    if (src->is_dir || src->is_zip || !src->head_len)
        return 0;
    size_t n;
    const char *p = source_head_text(src, &n);
    if (!n || *p != '<')
        return 0;
    return mem_contains(p, n, NS_WML2) ? 95 : 0;
}

const struct ingester ingester_waterml2 = {
    .name = "waterml2",
    .description = "OGC WaterML 2.0 time series: a wml2:Collection or an SOS 2.0 "
                   "GetObservationResponse of MeasurementTimeseries / CategoricalTimeseries",
    .probe = wml_probe,
    .run = wml_run,
    .settings = wml_setting_help,
    .hashes_source = 1,
};
