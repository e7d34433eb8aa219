/*
 * theia_pivot.c: THEIA/OZCAR in-situ pivot packages (docs/formats.md, THEIA-PIVOT.md): a
 * producer JSON document plus one ';'-terminated text data file per pivot "observation",
 * inside per-dataset zips, in a zip or a folder. A pivot observation becomes a Datastream;
 * each data-file line an Observation. Reads zips through GDAL's /vsizip/; never unpacks.
 */
#include <iconv.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <jansson.h>

#include "ingest.h"
#include "jsonutil.h"
#include "store.h"
#include "timeutil.h"

enum { PIVOT_MAX_COLS = 256, PIVOT_MAX_IDS = 64 };

static const char *const pivot_settings[] = {
    "metadata_only\tyes: ingest the JSON document's entities only, without data files",
    "encoding\tencoding of the data files when not UTF-8: cp1252 or latin1",
    "lang\tpreferred document language when several are present: en (default), fr or es",
    "additional_values\tparameters (default): a row's additional values go into its "
    "Observation's parameters; multidatastream: a pivot observation with additional values is a "
    "MultiDatastream whose results are [value, additional values...] (the guideline's mapping)",
    NULL,
};

struct pivot {
    const struct source *src;
    struct batch_writer *bw;
    char *root;      /* VSI folder holding the JSON document */
    char *json_path; /* VSI path of the JSON document */
    const char *json_name;
    json_t *doc;
    const char *producer_id;
    char ns[80];
    int metadata_only;
    int multi;       /* additional_values=multidatastream */
    iconv_t conv;
    struct strbuf converted;
    struct strmap seen_ids; /* observationId -> flat index, for duplicates */
};

/* One pivot observation being read from a data file. */
struct pivot_obs {
    json_t *obs;
    char path[96]; /* "datasets[0].observations[1]" for messages */
    int64_t ds_id, thing_id, feature_id;
    char *missing;
    double missing_num;
    int numeric;
    json_t *flags;       /* result.qualityFlags */
    int value_col, quality_col;
    const char *sf_name; /* sampling feature name */
    json_t *adds;        /* result.additionalValues of a MultiDatastream (else NULL) */
    int add_cols[PIVOT_MAX_COLS]; /* their columns in the data file (-1: absent) */
};

/* ---- locating the document ---- */

static int is_doc_name(const char *name, const char *lang)
{
    /* PRODUCERID_<lang>.json, PRODUCERID being four upper-case letters (by the schema) */
    size_t n = strlen(name);
    if (n < 8 || !str_has_suffix_ci(name, ".json"))
        return 0;
    const char *us = strrchr(name, '_');
    if (!us)
        return 0;
    if (lang)
        return strncasecmp(us + 1, lang, strlen(lang)) == 0 && us[1 + strlen(lang)] == '.';
    return 1;
}

/* Finds the producer document among a folder's (or zip's) entries. */
static char *find_document(const char *root, const char *lang)
{
    char **entries = VSIReadDirRecursive(root);
    const char *order[] = {lang ? lang : "en", "en", "fr", "es", NULL};
    char *found = NULL;
    for (int l = 0; order[l] && !found; l++)
        for (size_t i = 0; entries && entries[i] && !found; i++)
            if (is_doc_name(path_basename(entries[i]), order[l]))
                found = xstrdup(entries[i]);
    CSLDestroy(entries);
    return found;
}

static int pivot_locate(struct pivot *p, insitu_error *err)
{
    const struct source *src = p->src;
    struct strbuf sb = {0};
    if (!src->is_dir && !src->is_zip) {
        p->json_path = xstrdup(src->path);
        p->root = xstrdup(CPLGetPath(src->path));
        p->json_name = src->name;
        return 0;
    }
    if (src->is_zip)
        sb_printf(&sb, "/vsizip/%s", src->path);
    else
        sb_puts(&sb, src->path);
    char **probe = VSIReadDir(sb.data);
    if (!probe && src->is_zip) {
        sb_free(&sb);
        return insitu_error_set(err, INSITU_EINVAL, "pivot: %s: not a readable zip archive",
                                src->name);
    }
    CSLDestroy(probe);
    char *rel = find_document(sb.data, source_setting(src, "lang"));
    if (!rel) {
        insitu_error_set(err, INSITU_EINVAL,
                         "pivot: %s: no producer document (<PRODUCERID>_en.json) in the package",
                         src->name);
        sb_free(&sb);
        return INSITU_EINVAL;
    }
    sb_printf(&sb, "/%s", rel);
    p->json_path = sb.data;
    p->root = xstrdup(CPLGetPath(p->json_path));
    p->json_name = path_basename(p->json_path);
    free(rel);
    return 0;
}

/* Reads the JSON document through VSI (documents are metadata: loaded whole). */
static int pivot_load(struct pivot *p, insitu_error *err)
{
    int rc = source_json_load(p->src, p->json_path, "pivot", p->json_name, JSON_REJECT_DUPLICATES,
                              &p->doc, err);
    if (rc)
        return rc;
    if (!json_is_object(p->doc))
        return insitu_error_set(err, INSITU_EINVAL, "pivot: %s: not a JSON object",
                                p->json_name);
    const char *version = json_str_at(p->doc, "version");
    if (!version || strcmp(version, "1.0") != 0)
        bw_warn(p->bw, "pivot: %s: version %s (expected 1.0): reading it anyway", p->json_name,
                version ? version : "missing");
    p->producer_id = json_str_at(p->doc, "producer.producerId");
    if (!p->producer_id || !*p->producer_id)
        return insitu_error_set(err, INSITU_EINVAL, "pivot: %s: producer.producerId: missing",
                                p->json_name);
    if (!json_is_array(json_object_get(p->doc, "datasets")))
        return insitu_error_set(err, INSITU_EINVAL, "pivot: %s: datasets: missing or not a list",
                                p->json_name);
    snprintf(p->ns, sizeof p->ns, "theia:%s", p->producer_id);
    return 0;
}

/* ---- entities ---- */

static json_t *producer_summary(const struct pivot *p)
{
    json_t *prod = json_object();
    json_t *src = json_object_get(p->doc, "producer");
    json_set_str(prod, "id", p->producer_id);
    json_set_str(prod, "name", json_str_at(src, "name"));
    json_set_str(prod, "title", json_str_at(src, "title"));
    json_set_str(prod, "doi", json_str_at(src, "onlineResource.doi"));
    json_set_str(prod, "urlInfo", json_str_at(src, "onlineResource.urlInfo"));
    return prod;
}

static int pivot_thing(struct pivot *p, struct pivot_obs *po, insitu_error *err)
{
    json_t *sf = json_at(po->obs, "featureOfInterest.samplingFeature");
    po->sf_name = json_str_at(sf, "name");
    if (!po->sf_name || !*po->sf_name)
        return insitu_error_set(err, INSITU_EINVAL,
                                "pivot: %s: %s.featureOfInterest.samplingFeature.name: missing",
                                p->json_name, po->path);
    json_t *geom = json_object_get(sf, "geometry");
    const char *type = json_str_at(geom, "type");
    static const char *const types[] = {"Point",      "LineString",      "MultiPoint",
                                        "MultiLineString", "Polygon", "MultiPolygon", NULL};
    int ok = 0;
    for (int i = 0; type && types[i] && !ok; i++)
        ok = strcmp(type, types[i]) == 0;
    if (!ok || !json_is_array(json_object_get(geom, "coordinates")))
        return insitu_error_set(err, INSITU_EINVAL,
                                "pivot: %s: %s.featureOfInterest.samplingFeature.geometry: not a "
                                "usable GeoJSON geometry",
                                p->json_name, po->path);
    json_t *props = json_object();
    json_object_set_new(props, "producer", producer_summary(p));
    json_t *sfp = json_object_get(sf, "properties");
    if (json_is_object(sfp) && json_object_size(sfp))
        json_set_copy(props, "samplingFeature", sfp);
    char *props_text = json_text(props);
    json_decref(props);
    struct thing_in t = {.ns = p->ns, .code = po->sf_name, .name = po->sf_name,
                         .description = "", .properties = props_text};
    int rc = bw_thing(p->bw, &t, &po->thing_id, err);
    free(props_text);
    char *geojson = json_text(geom);
    if (!rc)
        rc = bw_thing_location(p->bw, po->thing_id, po->sf_name, geojson, err);
    if (!rc) {
        struct feature_in f = {.key = geojson, .name = po->sf_name, .geojson = geojson};
        rc = bw_feature(p->bw, &f, &po->feature_id, err);
    }
    free(geojson);
    if (rc)
        insitu_error_prefix(err, "pivot: %s: %s", p->json_name, po->path);
    return rc;
}

/* The Sensor of a pivot observation's procedure: named after its instruments (manufacturer
 * and model); described by the procedure's method (the guideline's Sensor.description), else
 * by the instruments' types; the procedure's JSON is its metadata and its
 * lineageInformations its properties (the guideline's Sensor.properties.lineageInformations).
 * Procedures with the same instruments but another lineage are other Sensors: the lineage's
 * digest is then part of the code, so that each keeps its own. */
static int pivot_sensor(struct pivot *p, struct pivot_obs *po, int64_t *id, insitu_error *err)
{
    json_t *proc = json_object_get(po->obs, "procedure");
    json_t *sensors = json_at(proc, "dataProduction.sensors");
    struct strbuf code = {0}, desc = {0}, name = {0};
    for (size_t i = 0; i < json_array_size(sensors); i++) {
        json_t *s = json_array_get(sensors, i);
        const char *man = json_str_at(s, "manufacturer"), *model = json_str_at(s, "model");
        const char *kind = json_str_at(s, "sensorType");
        sb_printf(&code, "%s%s%s%s", i ? " + " : "", man ? man : "", man && model ? " " : "",
                  model ? model : "");
        if (kind && *kind)
            sb_printf(&desc, "%s%s", desc.len ? "; " : "", kind);
    }
    const char *virtual_name = json_str_at(proc, "dataProduction.name");
    if (!code.len && virtual_name)
        sb_puts(&code, virtual_name);
    const char *method = json_str_at(proc, "dataProduction.method");
    if (!code.len && method)
        sb_puts(&code, method);
    sb_puts(&name, code.len ? code.data : "Unspecified procedure");
    if (!code.len)
        sb_puts(&code, "unspecified");
    json_t *lineage = json_object_get(proc, "lineageInformations");
    char *props = NULL;
    if (lineage && !(json_is_array(lineage) && json_array_size(lineage))) {
        bw_warn(p->bw, "pivot: %s: %s.procedure.lineageInformations: not a non-empty list "
                       "(ignored)",
                p->json_name, po->path);
    } else if (lineage) {
        json_t *obj = json_pack("{sO}", "lineageInformations", lineage);
        props = json_text(obj);
        json_decref(obj);
        char *text = json_text(lineage), hex[65];
        struct sha256 h;
        if (sha256_init(&h) == 0) {
            sha256_update(&h, text, strlen(text));
            sha256_final(&h, hex);
            sb_printf(&code, " [lineage %.12s]", hex);
        }
        free(text);
    }
    char *metadata = json_text(proc);
    struct sensor_in s = {.ns = p->ns,
                          .code = code.data,
                          .name = name.data,
                          .description = method && *method ? method
                                         : desc.len          ? desc.data
                                                             : "",
                          .encoding_type = metadata ? "application/json" : "text/plain",
                          .metadata = metadata ? metadata : "",
                          .properties = props};
    int rc = bw_sensor(p->bw, &s, id, err);
    free(metadata);
    free(props);
    sb_free(&code);
    sb_free(&desc);
    sb_free(&name);
    return rc;
}

static int pivot_property(struct pivot *p, struct pivot_obs *po, int64_t *id, insitu_error *err)
{
    json_t *op = json_object_get(po->obs, "observedProperty");
    const char *name = json_str_at(op, "name");
    if (!name || !*name)
        return insitu_error_set(err, INSITU_EINVAL, "pivot: %s: %s.observedProperty.name: missing",
                                p->json_name, po->path);
    json_t *cats = json_object_get(op, "theiaCategories");
    const char *definition = json_string_value(json_array_get(cats, 0));
    struct strbuf def = {0};
    if (!definition || !*definition) {
        bw_warn(p->bw, "pivot: %s: %s.observedProperty.theiaCategories: missing", p->json_name,
                po->path);
        sb_printf(&def, "urn:x-insitu:property:%s", name);
        definition = def.data;
    }
    json_t *props = json_object();
    json_set_copy(props, "theiaCategories", cats);
    json_set_copy(props, "gcmdKeywords", json_object_get(op, "gcmdKeywords"));
    char *props_text = json_text(props);
    json_decref(props);
    struct property_in in = {.name = name,
                             .definition = definition,
                             .description = json_str_at(op, "description"),
                             .properties = props_text};
    int rc = bw_property(p->bw, &in, id, err);
    free(props_text);
    sb_free(&def);
    return rc;
}

static char *datastream_properties(struct pivot *p, json_t *dataset, struct pivot_obs *po)
{
    json_t *meta = json_object_get(dataset, "metadata");
    json_t *result = json_object_get(po->obs, "result");
    json_t *props = json_object();
    json_set_str(props, "producerId", p->producer_id);
    json_set_str(props, "producerName", json_str_at(p->doc, "producer.name"));
    json_set_str(props, "datasetId", json_str_at(dataset, "datasetId"));
    json_set_str(props, "datasetTitle", json_str_at(meta, "title"));
    json_set_str(props, "observationId", json_str_at(po->obs, "observationId"));
    const char *doi = json_str_at(meta, "onlineResource.doi");
    json_set_str(props, "doi", doi ? doi : json_str_at(p->doc, "producer.onlineResource.doi"));
    json_set_str(props, "producerDoi", json_str_at(p->doc, "producer.onlineResource.doi"));
    json_set_str(props, "licence", json_str_at(meta, "dataConstraint.licence.title"));
    json_set_str(props, "licenceUrl", json_str_at(meta, "dataConstraint.licence.url"));
    json_set_str(props, "datasetLineage", json_str_at(meta, "datasetLineage"));
    json_set_str(props, "processingLevel", json_str_at(po->obs, "processingLevel"));
    json_set_str(props, "dataType", json_str_at(po->obs, "dataType"));
    json_set_copy(props, "timeSerie", json_object_get(po->obs, "timeSerie"));
    json_set_copy(props, "temporalExtent", json_object_get(po->obs, "temporalExtent"));
    json_set_copy(props, "missingValue", json_object_get(result, "missingValue"));
    json_set_copy(props, "qualityFlags", json_object_get(result, "qualityFlags"));
    json_set_copy(props, "additionalValues", json_object_get(result, "additionalValues"));
    json_set_str(props, "dataFile", json_str_at(result, "dataFile.name"));
    json_set_copy(props, "theiaCategories", json_at(po->obs, "observedProperty.theiaCategories"));
    char *text = json_text(props);
    json_decref(props);
    return text;
}

/* The guideline's MultiDatastream: the pivot observation's value and its additional values
 * (uncertainty, error...) as members, in that order; d is the Datastream it would have been.
 * An additional value is an ObservedProperty of its own, its definition the main one's with
 * the column name as fragment. */
static int pivot_multi(struct pivot *p, struct pivot_obs *po, const struct datastream_in *d,
                       insitu_error *err)
{
    size_t n = 1 + json_array_size(po->adds);
    int64_t *members = calloc(n, sizeof *members);
    if (!members)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    members[0] = d->property_id;
    json_t *types = json_array(), *units = json_array();
    struct strbuf symbols = {0}; /* what the CLI shows: the units' symbols joined by '|' */
    sb_puts(&symbols, d->unit_symbol);
    json_array_append_new(types, json_string(d->observation_type));
    json_array_append_new(units, json_pack("{ssssss}", "name", d->unit_name, "symbol",
                                           d->unit_symbol, "definition", ""));
    const char *main_def =
        json_string_value(json_array_get(json_at(po->obs, "observedProperty.theiaCategories"), 0));
    const char *main_name = json_str_at(po->obs, "observedProperty.name");
    struct strbuf def = {0}, text = {0};
    int rc = 0;
    for (size_t i = 0; i + 1 < n && !rc; i++) {
        json_t *a = json_array_get(po->adds, i);
        const char *col = json_str_at(a, "columnName"), *aname = json_str_at(a, "name");
        const char *unit = json_str_at(a, "unit");
        if (!col || !*col) {
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "pivot: %s: %s.result.additionalValues[%zu].columnName: missing",
                                  p->json_name, po->path, i);
            break;
        }
        sb_reset(&def);
        if (main_def && *main_def)
            sb_printf(&def, "%s%c%s", main_def, strchr(main_def, '#') ? '/' : '#', col);
        else
            sb_printf(&def, "urn:x-insitu:property:%s#%s", main_name ? main_name : "", col);
        sb_reset(&text);
        sb_printf(&text, "%s of %s", aname && *aname ? aname : col, main_name ? main_name : "");
        const char *desc = json_str_at(a, "description");
        struct property_in in = {.name = aname && *aname ? aname : col,
                                 .definition = def.data,
                                 .description = desc && *desc ? desc : text.data};
        rc = bw_property(p->bw, &in, &members[i + 1], err);
        json_array_append_new(types, json_string(OBSERVATION_TYPE_MEASUREMENT));
        int has_unit = unit && *unit && strcmp(unit, "N/A") != 0;
        json_array_append_new(units, json_pack("{ssssss}", "name", unit ? unit : "", "symbol",
                                               has_unit ? unit : "", "definition", ""));
        sb_printf(&symbols, "|%s", has_unit ? unit : "");
    }
    char *types_text = json_text(types), *units_text = json_text(units);
    json_decref(types);
    json_decref(units);
    sb_reset(&text);
    sb_printf(&text, "multi:%s", d->qualifier);
    struct datastream_in md = *d;
    md.qualifier = text.data;
    md.observation_type = OBSERVATION_TYPE_COMPLEX;
    md.unit_name = md.unit_definition = "";
    md.unit_symbol = symbols.data;
    if (!rc)
        rc = bw_datastream(p->bw, &md, &po->ds_id, err);
    if (!rc)
        rc = store_set_multi(bw_store(p->bw), po->ds_id, types_text, units_text, members, n, err);
    free(types_text);
    free(units_text);
    free(members);
    sb_free(&def);
    sb_free(&text);
    sb_free(&symbols);
    return rc;
}

/* Creates the Thing, Sensor, ObservedProperty and Datastream of one pivot observation. */
static int pivot_entities(struct pivot *p, json_t *dataset, struct pivot_obs *po,
                          insitu_error *err)
{
    int64_t sensor_id, prop_id;
    int rc = pivot_thing(p, po, err);
    if (!rc)
        rc = pivot_sensor(p, po, &sensor_id, err);
    if (!rc)
        rc = pivot_property(p, po, &prop_id, err);
    if (rc)
        return rc;
    const char *unit = json_str_at(po->obs, "observedProperty.unit");
    const char *obs_id = json_str_at(po->obs, "observationId");
    const char *prop_name = json_str_at(po->obs, "observedProperty.name");
    char *props = datastream_properties(p, dataset, po);
    struct strbuf name = {0};
    sb_printf(&name, "%s at %s", prop_name, po->sf_name);
    const char *symbol = unit && strcmp(unit, "N/A") != 0 ? unit : "";
    struct datastream_in d = {
        .thing_id = po->thing_id,
        .sensor_id = sensor_id,
        .property_id = prop_id,
        .qualifier = obs_id,
        .name = name.data,
        .description = json_str_at(dataset, "metadata.title"),
        .observation_type = po->numeric ? OBSERVATION_TYPE_MEASUREMENT
                                        : OBSERVATION_TYPE_OBSERVATION,
        .unit_name = unit ? unit : "",
        .unit_symbol = symbol,
        .properties = props};
    json_t *adds = json_at(po->obs, "result.additionalValues");
    if (p->multi && json_array_size(adds) > 0) {
        po->adds = adds;
        rc = pivot_multi(p, po, &d, err);
    } else {
        rc = bw_datastream(p->bw, &d, &po->ds_id, err);
    }
    free(props);
    sb_free(&name);
    return rc;
}

/* ---- data files ---- */

struct data_file {
    struct pivot *p;
    const char *name;  /* data file name, for messages */
    char *vsi;         /* where it was found */
    struct line_reader lr;
    char *cols[PIVOT_MAX_COLS];
    int ncols;
    int c_begin, c_end, c_lat, c_lon, c_alt;
    struct pivot_obs *obs[PIVOT_MAX_IDS];
    int nobs;
    int64_t last_feature_id;
    char last_pos[128];
    struct strbuf params;
};

static int file_exists(const char *vsi)
{
    VSIStatBufL sb;
    return VSIStatL(vsi, &sb) == 0 && VSI_ISREG(sb.st_mode);
}

/* Where a data file is: in <datasetId>.zip, in a <datasetId>/ folder, or loose. Fills
 * `why` with a message naming what was looked at when it is nowhere. */
static char *find_data_file(struct pivot *p, const char *dataset_id, const char *file,
                            char *why, size_t why_size)
{
    struct strbuf zip = {0}, path = {0};
    sb_printf(&zip, "%s/%s.zip", p->root, dataset_id);
    int have_zip = file_exists(zip.data);
    if (have_zip) {
        /* a zip inside a zip is /vsizip/{outer path}/inner.zip/file */
        if (strncmp(zip.data, "/vsizip/", 8) == 0)
            sb_printf(&path, "/vsizip/{%s}/%s", zip.data, file);
        else
            sb_printf(&path, "/vsizip/%s/%s", zip.data, file);
        if (file_exists(path.data)) {
            sb_free(&zip);
            return path.data;
        }
        sb_reset(&path);
    }
    const char *places[] = {"%s/%s/%s", "%s/%s"};
    for (int i = 0; i < 2; i++) {
        sb_reset(&path);
        if (i == 0)
            sb_printf(&path, places[0], p->root, dataset_id, file);
        else
            sb_printf(&path, places[1], p->root, file);
        if (file_exists(path.data)) {
            sb_free(&zip);
            return path.data;
        }
    }
    if (have_zip)
        snprintf(why, why_size, "%s not in %s.zip", file, dataset_id);
    else
        snprintf(why, why_size, "%s not found (no %s.zip, no %s/ folder, no loose file)", file,
                 dataset_id, dataset_id);
    sb_free(&zip);
    sb_free(&path);
    return NULL;
}

/* Splits a ';'-terminated line; returns the number of fields before the final ';', or -1
 * when the line does not end with ';'. */
static int split_terminated(char *line, size_t len, char **f, size_t *lens, int max)
{
    if (len == 0 || line[len - 1] != ';')
        return -1;
    line[len - 1] = '\0';
    int n = split_fields(line, len - 1, ';', 0, f, lens, max);
    return n;
}

/* Returns the line converted to UTF-8 (or as is), or NULL when it is not valid text. */
static char *text_line(struct pivot *p, char *line, size_t *len)
{
    if (utf8_valid(line, *len))
        return line;
    if (p->conv == (iconv_t)-1)
        return NULL;
    sb_reset(&p->converted);
    if (sb_grow(&p->converted, *len * 3 + 1))
        return NULL;
    char *in = line, *out = p->converted.data;
    size_t inleft = *len, outleft = *len * 3;
    iconv(p->conv, NULL, NULL, NULL, NULL);
    if (iconv(p->conv, &in, &inleft, &out, &outleft) == (size_t)-1)
        return NULL;
    *out = '\0';
    *len = (size_t)(out - p->converted.data);
    return p->converted.data;
}

#define FILE_ERROR(df, ...) file_error((df), err, __VA_ARGS__)
static int file_error(struct data_file *df, insitu_error *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int file_error(struct data_file *df, insitu_error *err, const char *fmt, ...)
{
    char msg[700];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return insitu_error_set(err, INSITU_EINVAL, "pivot: %s:%llu: %s", df->name,
                            (unsigned long long)df->lr.line_no, msg);
}

static int read_line(struct data_file *df, char **line, size_t *len, insitu_error *err)
{
    int rc = lr_next(&df->lr, line, len, err);
    if (rc != 1)
        return rc;
    char *text = text_line(df->p, *line, len);
    if (!text)
        return FILE_ERROR(df, "not UTF-8 text (set encoding=cp1252 or encoding=latin1 if the "
                              "file uses that encoding)");
    *line = text;
    return 1;
}

/* Reads the four '#' header lines and the column line; checks them against the JSON. */
static int data_header(struct data_file *df, insitu_error *err)
{
    static const char *const tags[] = {"#Date_of_extraction", "#Observation_ID",
                                       "#Dataset_title", "#Variable_name"};
    char *f[PIVOT_MAX_COLS];
    size_t lens[PIVOT_MAX_COLS];
    int n_ids = 0;
    for (int t = 0; t < 4; t++) {
        char *line;
        size_t len;
        int rc = read_line(df, &line, &len, err);
        if (rc < 0)
            return rc;
        if (rc == 0)
            return FILE_ERROR(df, "ends before the header line %s", tags[t]);
        int n = split_terminated(line, len, f, lens, PIVOT_MAX_COLS);
        if (n < 1 || strcmp(f[0], tags[t]) != 0)
            return FILE_ERROR(df, "expected the header line '%s;...;'", tags[t]);
        if (t == 1) {
            n_ids = n - 1;
            if (n_ids < 1)
                return FILE_ERROR(df, "#Observation_ID: no observation id");
            if (n_ids != df->nobs)
                return FILE_ERROR(df, "#Observation_ID: %d ids, but the JSON gives %d "
                                      "observation(s) with this data file",
                                  n_ids, df->nobs);
            /* order the observations as the file lists them */
            struct pivot_obs *ordered[PIVOT_MAX_IDS];
            for (int i = 0; i < n_ids; i++) {
                ordered[i] = NULL;
                for (int k = 0; k < df->nobs && !ordered[i]; k++)
                    if (strcmp(json_str_at(df->obs[k]->obs, "observationId"), f[i + 1]) == 0)
                        ordered[i] = df->obs[k];
                if (!ordered[i])
                    return FILE_ERROR(df, "#Observation_ID: %s is not an observation of the "
                                          "JSON with this data file",
                                      f[i + 1]);
            }
            memcpy(df->obs, ordered, (size_t)n_ids * sizeof *ordered);
        }
        if (t == 3 && n - 1 != n_ids)
            return FILE_ERROR(df, "#Variable_name: %d variable names for %d observation id(s)",
                              n - 1, n_ids);
        if (t == 3) {
            for (int i = 0; i < n_ids; i++) {
                const char *want = json_str_at(df->obs[i]->obs, "observedProperty.name");
                if (want && strcmp(want, f[i + 1]) != 0)
                    bw_warn(df->p->bw, "pivot: %s: #Variable_name '%s' differs from the JSON's "
                                       "observedProperty.name '%s'",
                            df->name, f[i + 1], want);
            }
        }
    }
    char *line;
    size_t len;
    int rc = read_line(df, &line, &len, err);
    if (rc < 0)
        return rc;
    if (rc == 0)
        return FILE_ERROR(df, "ends before the column header line");
    int n = split_terminated(line, len, f, lens, PIVOT_MAX_COLS);
    if (n < 6)
        return FILE_ERROR(df, "column header: expected "
                              "'date_begin;date_end;latitude;longitude;altitude;value;"
                              "qualityFlags;' with every name ending with ';'");
    static const char *const fixed[][2] = {{"date_begin", "dateBeg"}, {"date_end", "dateEnd"},
                                           {"latitude", NULL},        {"longitude", NULL},
                                           {"altitude", NULL}};
    for (int i = 0; i < 5; i++)
        if (!str_ieq(f[i], fixed[i][0]) && !(fixed[i][1] && str_ieq(f[i], fixed[i][1])))
            return FILE_ERROR(df, "column %d is '%s', expected '%s'", i + 1, f[i], fixed[i][0]);
    df->c_begin = 0;
    df->c_end = 1;
    df->c_lat = 2;
    df->c_lon = 3;
    df->c_alt = 4;
    df->ncols = n;
    for (int i = 0; i < n; i++)
        df->cols[i] = xstrdup(f[i]);
    for (int k = 0; k < df->nobs; k++) {
        char vname[32], qname[48];
        if (df->nobs == 1) {
            snprintf(vname, sizeof vname, "value");
            snprintf(qname, sizeof qname, "qualityFlags");
        } else {
            snprintf(vname, sizeof vname, "value_%d", k + 1);
            snprintf(qname, sizeof qname, "qualityFlags_%d", k + 1);
        }
        df->obs[k]->value_col = df->obs[k]->quality_col = -1;
        for (int i = 5; i < n; i++) {
            if (str_ieq(f[i], vname))
                df->obs[k]->value_col = i;
            else if (str_ieq(f[i], qname) || (str_ieq(f[i], "qualityFlags")))
                df->obs[k]->quality_col = i;
        }
        if (df->obs[k]->value_col < 0)
            return FILE_ERROR(df, "no '%s' column", vname);
        json_t *adds = df->obs[k]->adds;
        for (size_t a = 0; a < json_array_size(adds); a++) {
            const char *col = json_str_at(json_array_get(adds, a), "columnName");
            int *at = &df->obs[k]->add_cols[a];
            *at = -1;
            for (int i = 5; i < n && *at < 0; i++)
                if (str_ieq(f[i], col))
                    *at = i;
            if (*at < 0)
                bw_warn(df->p->bw, "pivot: %s: no '%s' column (additional value %zu of %s): its "
                                   "results are null",
                        df->name, col, a + 1, json_str_at(df->obs[k]->obs, "observationId"));
        }
    }
    return 0;
}

/* Is column i a value or quality column of some observation of the file? */
static int is_value_col(const struct data_file *df, int i)
{
    if (i < 5)
        return 1;
    for (int k = 0; k < df->nobs; k++) {
        if (df->obs[k]->value_col == i || df->obs[k]->quality_col == i)
            return 1;
        /* a MultiDatastream's additional values are in its results */
        for (size_t a = 0; a < json_array_size(df->obs[k]->adds); a++)
            if (df->obs[k]->add_cols[a] == i)
                return 1;
    }
    return 0;
}

static void check_flags(struct data_file *df, struct pivot_obs *po, const char *flags)
{
    if (!*flags || !json_array_size(po->flags))
        return;
    char *copy = xstrdup(flags), *save = NULL;
    for (char *code = strtok_r(copy, "|", &save); code; code = strtok_r(NULL, "|", &save)) {
        int known = 0;
        for (size_t i = 0; i < json_array_size(po->flags) && !known; i++) {
            const char *c = json_str_at(json_array_get(po->flags, i), "code");
            known = c && strcmp(c, code) == 0;
        }
        if (!known) {
            bw_warn(df->p->bw, "pivot: %s:%llu: quality flag '%s' is not declared in the JSON's "
                               "result.qualityFlags",
                    df->name, (unsigned long long)df->lr.line_no, code);
            json_array_append_new(po->flags, json_pack("{ss}", "code", code)); /* warn once */
        }
    }
    free(copy);
}

/* The row's FeatureOfInterest: its own position, cached while it repeats. */
static int row_feature(struct data_file *df, char **f, size_t *lens, int64_t *feature_id,
                       insitu_error *err)
{
    if (!lens[df->c_lat] && !lens[df->c_lon]) {
        *feature_id = df->obs[0]->feature_id; /* the sampling feature's own geometry */
        return 0;
    }
    char key[128];
    snprintf(key, sizeof key, "%s;%s;%s", f[df->c_lat], f[df->c_lon], f[df->c_alt]);
    if (df->last_feature_id && strcmp(key, df->last_pos) == 0) {
        *feature_id = df->last_feature_id;
        return 0;
    }
    double lat, lon, alt = 0;
    if (parse_double(f[df->c_lat], lens[df->c_lat], &lat) || fabs(lat) > 90)
        return FILE_ERROR(df, "latitude: not a latitude: '%s'", f[df->c_lat]);
    if (parse_double(f[df->c_lon], lens[df->c_lon], &lon) || fabs(lon) > 180)
        return FILE_ERROR(df, "longitude: not a longitude: '%s'", f[df->c_lon]);
    int has_alt = lens[df->c_alt] > 0;
    if (has_alt && parse_double(f[df->c_alt], lens[df->c_alt], &alt))
        return FILE_ERROR(df, "altitude: not a number: '%s'", f[df->c_alt]);
    int rc = bw_point_feature(df->p->bw, lon, lat, has_alt, alt, df->obs[0]->sf_name,
                              feature_id, err);
    if (rc)
        return rc;
    snprintf(df->last_pos, sizeof df->last_pos, "%s", key);
    df->last_feature_id = *feature_id;
    return 0;
}

/* The parameters of a row: the additional columns (numbers when numeric), then the data file
 * as the guideline's `source.file`. Without additional columns the text is the same on every
 * row of a file, and so is kept once (obs_texts). */
static const char *row_parameters(struct data_file *df, char **f, size_t *lens)
{
    struct strbuf *sb = &df->params;
    sb_reset(sb);
    sb_puts(sb, "{");
    for (int i = 5; i < df->ncols; i++) {
        if (is_value_col(df, i) || !lens[i])
            continue;
        double v;
        /* a column named "source" would repeat the key of the data file */
        sb_put_json_string(sb, strcmp(df->cols[i], "source") == 0 ? "source (column)"
                                                                  : df->cols[i]);
        sb_putc(sb, ':');
        if (parse_double(f[i], lens[i], &v) == 0 && !isnan(v))
            sb_put_double(sb, v);
        else
            sb_put_json_string(sb, f[i]);
        sb_putc(sb, ',');
    }
    sb_puts(sb, "\"source\":{\"file\":");
    sb_put_json_string(sb, df->name);
    sb_puts(sb, "}}");
    return sb->data;
}

/* A cell as a JSON array element: a number when it parses, null when empty, else text. */
static void put_cell(struct strbuf *sb, const char *v, size_t n)
{
    double x;
    if (!n)
        sb_puts(sb, "null");
    else if (parse_double(v, n, &x) == 0 && isfinite(x))
        sb_put_double(sb, x);
    else
        sb_put_json_string(sb, v);
}

/* A MultiDatastream's result: [value, additional values...]; r holds the value as read. */
static void multi_result(const struct pivot_obs *po, char **f, size_t *lens, struct obs_row *r,
                         struct strbuf *text)
{
    struct strbuf sb = {0};
    sb_putc(&sb, '[');
    if (r->has_result)
        sb_put_double(&sb, r->result);
    else if (r->result_json)
        sb_puts(&sb, r->result_json);
    else
        sb_puts(&sb, "null");
    for (size_t a = 0; a < json_array_size(po->adds); a++) {
        int c = po->add_cols[a];
        sb_putc(&sb, ',');
        put_cell(&sb, c >= 0 ? f[c] : "", c >= 0 ? lens[c] : 0);
    }
    sb_putc(&sb, ']');
    sb_reset(text);
    sb_puts(text, sb.data);
    sb_free(&sb);
    r->has_result = 0;
    r->result_json = text->data;
}

static int data_row(struct data_file *df, char *line, size_t len, int emit, insitu_error *err)
{
    char *f[PIVOT_MAX_COLS];
    size_t lens[PIVOT_MAX_COLS];
    int n = split_terminated(line, len, f, lens, PIVOT_MAX_COLS);
    if (n != df->ncols)
        return FILE_ERROR(df, "expected %d fields each ending with ';' as in the column header, "
                              "found %d%s",
                          df->ncols, n < 0 ? 0 : n, n < 0 ? " (the line does not end with ';')" : "");
    struct obs_row r = {.phenomenon_end = INSITU_TIME_NONE, .result_time = INSITU_TIME_NONE};
    insitu_error terr;
    if (!lens[df->c_end])
        return FILE_ERROR(df, "date_end: empty (it is required)");
    int64_t end;
    if (time_parse_iso(f[df->c_end], lens[df->c_end], NULL, &end, &terr))
        return FILE_ERROR(df, "date_end: %s", terr.message);
    r.phenomenon_start = end;
    r.result_time = end; /* the guideline's resultTime: the data file's date_end */
    if (lens[df->c_begin]) {
        if (time_parse_iso(f[df->c_begin], lens[df->c_begin], NULL, &r.phenomenon_start, &terr))
            return FILE_ERROR(df, "date_begin: %s", terr.message);
        if (r.phenomenon_start > end)
            return FILE_ERROR(df, "date_begin is after date_end");
        if (r.phenomenon_start < end)
            r.phenomenon_end = end;
    }
    int rc = emit ? row_feature(df, f, lens, &r.feature_id, err) : 0;
    if (rc)
        return rc;
    if (emit)
        r.parameters = row_parameters(df, f, lens);
    struct strbuf text = {0};
    for (int k = 0; k < df->nobs && !rc; k++) {
        struct pivot_obs *po = df->obs[k];
        char *v = f[po->value_col];
        size_t vn = lens[po->value_col];
        r.datastream_id = po->ds_id;
        r.has_result = 0;
        r.result_json = NULL;
        int missing = vn == 0 || (po->missing && strcmp(v, po->missing) == 0);
        if (!missing && po->numeric) {
            if (parse_double(v, vn, &r.result))
                rc = FILE_ERROR(df, "%s: not a number: '%s'", df->cols[po->value_col], v);
            else
                r.has_result = !(r.result == po->missing_num || isnan(r.result));
        } else if (!missing) {
            sb_reset(&text);
            sb_put_json_string(&text, v);
            r.result_json = text.data;
        }
        if (!rc && po->adds)
            multi_result(po, f, lens, &r, &text);
        r.quality = po->quality_col >= 0 ? f[po->quality_col] : NULL;
        if (!rc && r.quality)
            check_flags(df, po, r.quality);
        if (!rc && emit)
            rc = bw_observation(df->p->bw, &r, err);
    }
    sb_free(&text);
    return rc;
}

/* Reads a data file: validates only (emit 0), or writes its observations (emit 1). */
static int read_data_file(struct data_file *df, int emit, insitu_error *err)
{
    int rc = lr_open_source(&df->lr, df->p->src, df->vsi, df->name, err);
    if (!rc)
        rc = data_header(df, err);
    char *line;
    size_t len;
    uint64_t rows = 0;
    while (!rc && (rc = read_line(df, &line, &len, err)) == 1) {
        rc = len ? data_row(df, line, len, emit, err) : 0;
        rows += len > 0;
    }
    if (!rc && rows == 0 && emit)
        bw_warn(df->p->bw, "pivot: %s: no data rows", df->name);
    lr_close(&df->lr);
    for (int i = 0; i < df->ncols; i++) {
        free(df->cols[i]);
        df->cols[i] = NULL;
    }
    df->ncols = 0;
    return rc;
}

/* ---- the document walk ---- */

static void obs_free(struct pivot_obs *po)
{
    free(po->missing);
    json_decref(po->flags);
}

static int obs_prepare(struct pivot *p, json_t *obs, size_t di, size_t oi,
                       struct pivot_obs *po, insitu_error *err)
{
    memset(po, 0, sizeof *po);
    po->obs = obs;
    snprintf(po->path, sizeof po->path, "datasets[%zu].observations[%zu]", di, oi);
    const char *id = json_str_at(obs, "observationId");
    if (!id || !*id)
        return insitu_error_set(err, INSITU_EINVAL, "pivot: %s: %s.observationId: missing",
                                p->json_name, po->path);
    const char *file = json_str_at(obs, "result.dataFile.name");
    if (!file || !*file)
        return insitu_error_set(err, INSITU_EINVAL,
                                "pivot: %s: %s.result.dataFile.name: missing", p->json_name,
                                po->path);
    const char *type = json_str_at(obs, "dataType");
    po->numeric = !type || strcmp(type, "Numeric") == 0;
    json_t *mv = json_at(obs, "result.missingValue");
    if (json_is_string(mv) && *json_string_value(mv)) {
        po->missing = xstrdup(json_string_value(mv));
        if (parse_double(po->missing, strlen(po->missing), &po->missing_num))
            po->missing_num = NAN;
    } else if (json_is_number(mv)) {
        po->missing_num = json_number_value(mv);
        char buf[48];
        fmt_double(po->missing_num, buf, sizeof buf);
        po->missing = xstrdup(buf);
    } else {
        po->missing_num = NAN;
    }
    po->flags = json_deep_copy(json_at(obs, "result.qualityFlags"));
    if (!po->flags)
        po->flags = json_array();
    return 0;
}

/* Checks that observationIds are unique; a repeated one is an error (or, lenient, the later
 * one is skipped). Returns 1 when the observation is to be skipped. */
static int check_duplicate(struct pivot *p, struct pivot_obs *po, size_t flat, insitu_error *err,
                           int *rc)
{
    const char *id = json_str_at(po->obs, "observationId");
    int64_t first;
    *rc = 0;
    if (strmap_get(&p->seen_ids, id, strlen(id), &first)) {
        size_t di = (size_t)(first >> 32), oi = (size_t)(first & 0xffffffff);
        if (!bw_lenient(p->bw)) {
            *rc = insitu_error_set(err, INSITU_EINVAL,
                                   "pivot: %s: %s.observationId: %s is also "
                                   "datasets[%zu].observations[%zu].observationId (observation "
                                   "ids must be unique; --lenient keeps the first)",
                                   p->json_name, po->path, id, di, oi);
            return 1;
        }
        bw_warn(p->bw, "pivot: %s: %s.observationId: %s repeats datasets[%zu].observations[%zu]: "
                       "skipped",
                p->json_name, po->path, id, di, oi);
        return 1;
    }
    strmap_put(&p->seen_ids, id, strlen(id), (int64_t)flat);
    return 0;
}

/* Reads one data file shared by `n` observations of a dataset. */
static int pivot_data_file(struct pivot *p, json_t *dataset, struct pivot_obs **group, int n,
                           insitu_error *err)
{
    const char *file = json_str_at(group[0]->obs, "result.dataFile.name");
    const char *dataset_id = json_str_at(dataset, "datasetId");
    char why[600];
    struct data_file df;
    memset(&df, 0, sizeof df);
    df.p = p;
    df.name = file;
    df.nobs = n;
    memcpy(df.obs, group, (size_t)n * sizeof *group);
    int rc = 0;
    if (!p->metadata_only) {
        df.vsi = find_data_file(p, dataset_id, file, why, sizeof why);
        if (!df.vsi)
            rc = insitu_error_set(err, INSITU_EINVAL, "pivot: %s: %s.result.dataFile: %s",
                                  p->json_name, group[0]->path, why);
        if (!rc && bw_lenient(p->bw))
            rc = read_data_file(&df, 0, err);
        if (rc && bw_lenient(p->bw)) {
            bw_warn(p->bw, "%s (observation skipped)", err->message);
            free(df.vsi);
            return 0;
        }
    }
    for (int k = 0; k < n && !rc; k++)
        rc = pivot_entities(p, dataset, group[k], err);
    if (!rc && !p->metadata_only)
        rc = read_data_file(&df, 1, err);
    free(df.vsi);
    sb_free(&df.params);
    return rc;
}

/* Warns about files in a dataset zip that no observation names. */
static void check_extra_files(struct pivot *p, json_t *dataset)
{
    const char *dataset_id = json_str_at(dataset, "datasetId");
    struct strbuf zip = {0};
    if (strncmp(p->root, "/vsizip/", 8) == 0)
        sb_printf(&zip, "/vsizip/{%s/%s.zip}", p->root, dataset_id);
    else
        sb_printf(&zip, "/vsizip/%s/%s.zip", p->root, dataset_id);
    char **entries = VSIReadDir(zip.data);
    json_t *obs = json_at(dataset, "observations");
    for (size_t i = 0; entries && entries[i]; i++) {
        int named = 0;
        for (size_t k = 0; k < json_array_size(obs) && !named; k++) {
            const char *f = json_str_at(json_array_get(obs, k), "result.dataFile.name");
            named = f && strcmp(f, entries[i]) == 0;
        }
        if (!named)
            bw_warn(p->bw, "pivot: %s.zip: %s matches no observation of the JSON (ignored)",
                    dataset_id, entries[i]);
    }
    CSLDestroy(entries);
    sb_free(&zip);
}

static int pivot_dataset(struct pivot *p, json_t *dataset, size_t di, size_t *flat,
                         insitu_error *err)
{
    const char *dataset_id = json_str_at(dataset, "datasetId");
    if (!dataset_id || !*dataset_id)
        return insitu_error_set(err, INSITU_EINVAL, "pivot: %s: datasets[%zu].datasetId: missing",
                                p->json_name, di);
    json_t *obs = json_object_get(dataset, "observations");
    size_t n = json_array_size(obs);
    if (!n) {
        bw_warn(p->bw, "pivot: %s: datasets[%zu].observations: none", p->json_name, di);
        return 0;
    }
    struct pivot_obs *all = calloc(n, sizeof *all);
    char *done = calloc(n, 1);
    if (!all || !done) {
        free(all);
        free(done);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    int rc = 0;
    for (size_t i = 0; i < n && !rc; i++) {
        rc = obs_prepare(p, json_array_get(obs, i), di, i, &all[i], err);
        int rc2 = 0;
        if (!rc && check_duplicate(p, &all[i], (di << 32) | i, err, &rc2))
            done[i] = 1;
        rc = rc ? rc : rc2;
    }
    /* observations sharing a data file (the multi-observation variant) are read together */
    for (size_t i = 0; i < n && !rc; i++) {
        if (done[i])
            continue;
        struct pivot_obs *group[PIVOT_MAX_IDS];
        int g = 0;
        const char *file = json_str_at(all[i].obs, "result.dataFile.name");
        for (size_t k = i; k < n && g < PIVOT_MAX_IDS; k++) {
            if (!done[k] && strcmp(file, json_str_at(all[k].obs, "result.dataFile.name")) == 0) {
                group[g++] = &all[k];
                done[k] = 1;
            }
        }
        rc = pivot_data_file(p, dataset, group, g, err);
    }
    if (!rc && !p->metadata_only)
        check_extra_files(p, dataset);
    for (size_t i = 0; i < n; i++)
        obs_free(&all[i]);
    free(all);
    free(done);
    *flat += n;
    return rc;
}

static int pivot_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    struct pivot p;
    memset(&p, 0, sizeof p);
    p.src = src;
    p.bw = bw;
    p.conv = (iconv_t)-1;
    p.metadata_only = source_setting_bool(src, "metadata_only", 0);
    if (p.metadata_only < 0)
        return insitu_error_set(err, INSITU_EUSAGE, "pivot: metadata_only: expected yes or no");
    const char *adds = source_setting(src, "additional_values");
    if (adds && strcmp(adds, "multidatastream") != 0 && strcmp(adds, "parameters") != 0)
        return insitu_error_set(err, INSITU_EUSAGE, "pivot: additional_values: expected "
                                                    "parameters or multidatastream, not '%s'",
                                adds);
    p.multi = adds && strcmp(adds, "multidatastream") == 0;
    const char *enc = source_setting(src, "encoding");
    if (enc && !str_ieq(enc, "utf-8") && !str_ieq(enc, "utf8")) {
        const char *from = str_ieq(enc, "cp1252") || str_ieq(enc, "windows-1252") ? "CP1252"
                           : str_ieq(enc, "latin1") || str_ieq(enc, "iso-8859-1") ? "ISO-8859-1"
                                                                                   : NULL;
        if (!from || (p.conv = iconv_open("UTF-8", from)) == (iconv_t)-1)
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "pivot: encoding=%s: expected utf-8, cp1252 or latin1", enc);
    }
    int rc = pivot_locate(&p, err);
    if (!rc)
        rc = pivot_load(&p, err);
    json_t *datasets = p.doc ? json_object_get(p.doc, "datasets") : NULL;
    size_t flat = 0;
    for (size_t i = 0; !rc && i < json_array_size(datasets); i++)
        rc = pivot_dataset(&p, json_array_get(datasets, i), i, &flat, err);
    json_decref(p.doc);
    free(p.root);
    free(p.json_path);
    strmap_free(&p.seen_ids);
    sb_free(&p.converted);
    if (p.conv != (iconv_t)-1)
        iconv_close(p.conv);
    return rc;
}

static int pivot_probe(const struct source *src)
{
    if (src->is_dir || src->is_zip) {
        struct strbuf root = {0};
        if (src->is_zip)
            sb_printf(&root, "/vsizip/%s", src->path);
        else
            sb_puts(&root, src->path);
        char *doc = find_document(root.data, NULL);
        sb_free(&root);
        int found = doc != NULL;
        free(doc);
        return found ? 90 : 0;
    }
    if (!str_has_suffix_ci(src->name, ".json") || !src->head)
        return 0;
    /* a JSON document whose top level names a producer */
    const char *head = (const char *)src->head;
    size_t n = src->head_len;
    int has_producer = 0;
    for (size_t i = 0; i + 10 < n && !has_producer; i++)
        has_producer = memcmp(head + i, "\"producer\"", 10) == 0;
    return has_producer ? 80 : 0;
}

const struct ingester ingester_theia_pivot = {
    .name = "theia-pivot",
    .description = "THEIA/OZCAR in-situ pivot package: <PRODUCER>_en.json with per-dataset "
                   "zips of ';'-terminated data files (zip, folder, or the JSON alone)",
    .probe = pivot_probe,
    .run = pivot_run,
    .settings = pivot_settings,
};
