/*
 * vector.c: the "vector" ingester: a GeoJSON FeatureCollection or a shapefile (plain, in a
 * folder or zipped) of lakes, catchments or any other features, read through GDAL/OGR feature
 * by feature: a Thing per feature, its geometry reprojected to EPSG:4326 as the Location, its
 * attributes as the Thing's properties. It writes no Observations, and never probes a SWOT
 * product (swot.c reads those) or a SensorThings / Hydroweb / Hydrocron document.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <jansson.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "ingest.h"
#include "jsonutil.h"
#include "swot.h"

static const char *const vector_settings[] = {
    "name_field\tattribute that names each Thing (default: name, when the layer has it, else "
    "the code)",
    "id_field\tattribute whose value is each Thing's code (default: the feature id)",
    "namespace\tnamespace of the Things (default: vector:LAYER, the layer's name: the file's "
    "without its extension)",
    "assume_crs\tCRS of a layer that declares none (a shapefile without .prj), e.g. EPSG:2154",
    NULL,
};

struct vector {
    const struct source *src;
    struct batch_writer *bw;
    char *path; /* what OGR opens (a VSI path for a zip) */
    const char *ns;
    char *own_ns; /* the default namespace */
    GDALDatasetH ds;
    OGRLayerH layer;
    OGRCoordinateTransformationH to_wgs84; /* NULL: already EPSG:4326 lon/lat */
    int name_index, id_index;              /* OGR field indexes, -1: none */
    struct strmap codes;                   /* code -> FID of the feature that has it */
    uint64_t features, no_geometry;
};

static void vector_free(struct vector *v)
{
    if (v->to_wgs84)
        OCTDestroyCoordinateTransformation(v->to_wgs84);
    if (v->ds)
        GDALClose(v->ds);
    free(v->path);
    free(v->own_ns);
    strmap_free(&v->codes);
}

/* The .shp inside a zip (anywhere) or a folder (at its top) as a VSI path (caller frees), or
 * NULL when there is none or several. */
static char *inner_shapefile(const struct source *src)
{
    struct strbuf root = {0};
    if (src->is_zip)
        sb_printf(&root, "/vsizip/%s", src->path);
    else
        sb_puts(&root, src->path);
    char **entries = src->is_zip ? VSIReadDirRecursive(sb_str(&root)) : VSIReadDir(sb_str(&root));
    char *found = NULL;
    int n = 0;
    for (size_t i = 0; entries && entries[i]; i++) {
        if (!str_has_suffix_ci(entries[i], ".shp") || strstr(entries[i], "__MACOSX"))
            continue;
        if (n++ == 0) {
            struct strbuf p = {0};
            sb_printf(&p, "%s/%s", sb_str(&root), entries[i]);
            found = p.data;
        }
    }
    CSLDestroy(entries);
    sb_free(&root);
    if (n != 1) {
        free(found);
        return NULL;
    }
    return found;
}

/* A field index by name (case-insensitive, as shapefiles' dBASE names are), -1 when absent. */
static int field_index(OGRLayerH layer, const char *name)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    int n = OGR_FD_GetFieldCount(defn);
    for (int i = 0; i < n; i++)
        if (str_ieq(OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)), name))
            return i;
    return -1;
}

/* "a, b, c": the layer's field names, for messages. */
static void field_names(OGRLayerH layer, struct strbuf *sb)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    int n = OGR_FD_GetFieldCount(defn);
    for (int i = 0; i < n; i++)
        sb_printf(sb, "%s%s", i ? ", " : "", OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)));
    if (!n)
        sb_puts(sb, "none");
}

/* The index of the field a setting names; INSITU_EUSAGE when the layer has no such field. */
static int setting_field(struct vector *v, const char *key, int *index, insitu_error *err)
{
    const char *name = source_setting(v->src, key);
    if (!name)
        return 0;
    *index = field_index(v->layer, name);
    if (*index >= 0)
        return 0;
    struct strbuf names = {0};
    field_names(v->layer, &names);
    insitu_error_set(err, INSITU_EUSAGE, "vector: %s: %s=%s: no such field (fields: %s)",
                     v->src->name, key, name, sb_str(&names));
    sb_free(&names);
    return INSITU_EUSAGE;
}

/* The transformation from the layer's CRS to EPSG:4326 longitude/latitude (none when the
 * layer is in it already). */
static int open_transform(struct vector *v, insitu_error *err)
{
    OGRSpatialReferenceH own = NULL;
    OGRSpatialReferenceH layer_srs = OGR_L_GetSpatialRef(v->layer);
    const char *assume = source_setting(v->src, "assume_crs");
    if (!layer_srs && assume) {
        own = OSRNewSpatialReference(NULL);
        if (OSRSetFromUserInput(own, assume) != OGRERR_NONE) {
            OSRDestroySpatialReference(own);
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "vector: %s: assume_crs=%s: not a CRS GDAL knows", v->src->name,
                                    assume);
        }
        layer_srs = own;
    }
    if (!layer_srs)
        return insitu_error_set(err, INSITU_EINVAL,
                                "vector: %s: the layer declares no coordinate reference system "
                                "(a shapefile without its .prj?): give it with --set "
                                "assume_crs=EPSG:CODE",
                                v->src->name);
    OGRSpatialReferenceH wgs84 = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(wgs84, 4326);
    OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    OGRSpatialReferenceH src_srs = OSRClone(layer_srs);
    OSRSetAxisMappingStrategy(src_srs, OAMS_TRADITIONAL_GIS_ORDER);
    int rc = 0;
    if (!OSRIsSame(src_srs, wgs84)) {
        CPLErrorReset();
        v->to_wgs84 = OCTNewCoordinateTransformation(src_srs, wgs84);
        if (!v->to_wgs84)
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "vector: %s: no transformation from the layer's CRS to "
                                  "EPSG:4326: %s",
                                  v->src->name, CPLGetLastErrorMsg());
    }
    OSRDestroySpatialReference(src_srs);
    OSRDestroySpatialReference(wgs84);
    if (own)
        OSRDestroySpatialReference(own);
    return rc;
}

/* A shapefile's .shx and .dbf beside its .shp (either case): GDAL reads a .shp without its
 * .dbf as features without attributes, which would store Things without their codes and
 * names, so a missing one is an error (GDAL's SHAPE_RESTORE_SHX is not used either: a
 * shapefile without its index is an incomplete copy). */
static int shapefile_parts(const struct vector *v, insitu_error *err)
{
    if (!str_has_suffix_ci(v->path, ".shp"))
        return 0;
    static const char *const parts[][2] = {{".shx", ".SHX"}, {".dbf", ".DBF"}};
    size_t stem = strlen(v->path) - 4;
    for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
        int found = 0;
        for (int c = 0; c < 2 && !found; c++) {
            struct strbuf p = {0};
            sb_printf(&p, "%.*s%s", (int)stem, v->path, parts[i][c]);
            VSIStatBufL sb;
            found = VSIStatL(p.data, &sb) == 0;
            sb_free(&p);
        }
        if (!found) {
            const char *base = path_basename(v->path);
            return insitu_error_set(err, INSITU_EINVAL,
                                    "vector: %s: %.*s%s is missing (a shapefile is its .shp, "
                                    ".shx and .dbf together)",
                                    v->src->name, (int)strlen(base) - 4, base, parts[i][0]);
        }
    }
    return 0;
}

static int vector_open(struct vector *v, insitu_error *err)
{
    if (v->src->is_zip || v->src->is_dir) {
        v->path = inner_shapefile(v->src);
        if (!v->path)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "vector: %s: expected exactly one .shp in the %s", v->src->name,
                                    v->src->is_zip ? "zip" : "folder");
    } else {
        v->path = xstrdup(v->src->path);
    }
    int rc = shapefile_parts(v, err);
    if (rc)
        return rc;
    gdal_drivers();
    static const char *const drivers[] = {"GeoJSON", "ESRI Shapefile", NULL};
    CPLErrorReset();
    v->ds = GDALOpenEx(v->path, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, NULL, NULL);
    if (!v->ds || GDALDatasetGetLayerCount(v->ds) < 1)
        return insitu_error_set(err, INSITU_EINVAL, "vector: %s: cannot read the features: %s",
                                v->src->name,
                                CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() : "no layer");
    if (GDALDatasetGetLayerCount(v->ds) > 1)
        bw_warn(v->bw, "vector: %s: %d layers: only the first is read", v->src->name,
                GDALDatasetGetLayerCount(v->ds));
    v->layer = GDALDatasetGetLayer(v->ds, 0);
    v->ns = source_setting(v->src, "namespace");
    if (!v->ns || !*v->ns) {
        /* codes are often feature ids: a namespace per layer keeps two files' apart */
        struct strbuf ns = {0};
        sb_printf(&ns, "vector:%s", OGR_L_GetName(v->layer));
        v->ns = v->own_ns = ns.data;
        bw_uses_source_name(v->bw);
        if (!v->ns)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    v->name_index = field_index(v->layer, "name");
    v->id_index = -1;
    rc = setting_field(v, "name_field", &v->name_index, err);
    if (!rc)
        rc = setting_field(v, "id_field", &v->id_index, err);
    if (!rc && v->id_index < 0 && !source_setting(v->src, "id_field") &&
        strcmp(GDALGetDriverShortName(GDALGetDatasetDriver(v->ds)), "GeoJSON") == 0)
        v->id_index = field_index(v->layer, "id"); /* a string GeoJSON "id" member */
    if (!rc)
        rc = open_transform(v, err);
    return rc;
}

/* The JSON value of field i of f (NULL when unset or null). */
static json_t *field_json(OGRFeatureH f, OGRFieldDefnH fd, int i)
{
    if (!OGR_F_IsFieldSetAndNotNull(f, i))
        return NULL;
    switch (OGR_Fld_GetType(fd)) {
    case OFTInteger:
        if (OGR_Fld_GetSubType(fd) == OFSTBoolean)
            return json_boolean(OGR_F_GetFieldAsInteger(f, i));
        return json_integer(OGR_F_GetFieldAsInteger(f, i));
    case OFTInteger64: return json_integer((json_int_t)OGR_F_GetFieldAsInteger64(f, i));
    case OFTReal: {
        double d = OGR_F_GetFieldAsDouble(f, i);
        return isfinite(d) ? json_real(d) : NULL;
    }
    default: {
        const char *s = OGR_F_GetFieldAsString(f, i);
        return s ? json_string(s) : NULL;
    }
    }
}

/* The Thing's properties: every attribute but the ones that name it and give its code. */
static char *feature_properties(const struct vector *v, OGRFeatureH f)
{
    json_t *o = json_object();
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(v->layer);
    int n = OGR_FD_GetFieldCount(defn);
    for (int i = 0; i < n; i++) {
        if (i == v->name_index || i == v->id_index)
            continue;
        OGRFieldDefnH fd = OGR_FD_GetFieldDefn(defn, i);
        json_t *value = field_json(f, fd, i);
        if (value)
            json_object_set_new(o, OGR_Fld_GetNameRef(fd), value);
    }
    char *text = json_text(o);
    json_decref(o);
    return text;
}

/* The feature's code: the id field's value, else its FID. */
static int feature_code(struct vector *v, OGRFeatureH f, char *code, size_t size, insitu_error *err)
{
    long long fid = (long long)OGR_F_GetFID(f);
    if (v->id_index >= 0) {
        const char *s = OGR_F_IsFieldSetAndNotNull(f, v->id_index)
                            ? OGR_F_GetFieldAsString(f, v->id_index)
                            : "";
        if (!*s)
            return insitu_error_set(
                err, INSITU_EINVAL, "vector: %s: feature %lld: empty %s (the Thing's code)",
                v->src->name, fid, OGR_Fld_GetNameRef(OGR_F_GetFieldDefnRef(f, v->id_index)));
        if (strlen(s) >= size)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "vector: %s: feature %lld: code longer than %zu bytes",
                                    v->src->name, fid, size - 1);
        snprintf(code, size, "%s", s);
    } else if (fid == OGRNullFID) {
        return insitu_error_set(err, INSITU_EINVAL,
                                "vector: %s: feature %llu has no id: give --set id_field=F",
                                v->src->name, (unsigned long long)v->features);
    } else {
        snprintf(code, size, "%lld", fid);
    }
    int64_t other;
    if (strmap_get(&v->codes, code, strlen(code), &other))
        return insitu_error_set(err, INSITU_EINVAL,
                                "vector: %s: feature %lld: code '%s' is also feature %lld's "
                                "(codes name Things: give --set id_field=F with unique values)",
                                v->src->name, fid, code, (long long)other);
    if (strmap_put(&v->codes, code, strlen(code), fid))
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    return 0;
}

/* The GeoJSON text of g with every coordinate written the shortest way that reads back
 * exactly (the store keeps the text; its own GeoJSON of a WKB rounds to 9 decimals). */
static char *exact_geojson(OGRGeometryH g)
{
    char *options[] = {"SIGNIFICANT_FIGURES=17", NULL};
    char *text = OGR_G_ExportToJsonEx(g, options);
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    CPLFree(text);
    char *out = j ? json_text_in_order(j) : NULL;
    json_decref(j);
    return out;
}

/* The feature's geometry in EPSG:4326 as WKB and GeoJSON (*wkb NULL: it has none). */
static int feature_geometry(struct vector *v, OGRFeatureH f, const char *code, unsigned char **wkb,
                            size_t *len, char **geojson, insitu_error *err)
{
    *wkb = NULL;
    *geojson = NULL;
    *len = 0;
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    if (!g || OGR_G_IsEmpty(g))
        return 0;
    CPLErrorReset();
    if (v->to_wgs84 && OGR_G_Transform(g, v->to_wgs84) != OGRERR_NONE)
        return insitu_error_set(err, INSITU_EINVAL,
                                "vector: %s: feature %lld (%s): cannot reproject its geometry "
                                "to EPSG:4326: %s",
                                v->src->name, (long long)OGR_F_GetFID(f), code,
                                CPLGetLastErrorMsg());
    *len = (size_t)OGR_G_WkbSize(g);
    *wkb = malloc(*len ? *len : 1);
    if (!*wkb)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (OGR_G_ExportToIsoWkb(g, wkbNDR, *wkb) != OGRERR_NONE || !(*geojson = exact_geojson(g))) {
        free(*wkb);
        *wkb = NULL;
        return insitu_error_set(err, INSITU_EINVAL,
                                "vector: %s: feature %lld (%s): unreadable geometry", v->src->name,
                                (long long)OGR_F_GetFID(f), code);
    }
    return 0;
}

/* Writes one feature: its Thing and its Location. */
static int write_feature(struct vector *v, OGRFeatureH f, insitu_error *err)
{
    char code[256];
    int rc = feature_code(v, f, code, sizeof code, err);
    if (rc)
        return rc;
    const char *name = code;
    if (v->name_index >= 0 && OGR_F_IsFieldSetAndNotNull(f, v->name_index) &&
        *OGR_F_GetFieldAsString(f, v->name_index))
        name = OGR_F_GetFieldAsString(f, v->name_index);
    char *name_copy = xstrdup(name); /* OGR's string is valid until the next get */
    char *props = feature_properties(v, f);
    unsigned char *wkb = NULL;
    char *geojson = NULL;
    size_t wkb_len = 0;
    if (!name_copy || !props)
        rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (!rc)
        rc = feature_geometry(v, f, code, &wkb, &wkb_len, &geojson, err);
    int64_t thing_id = 0;
    struct thing_in t = {.ns = v->ns, .code = code, .name = name_copy, .properties = props};
    if (!rc)
        rc = bw_thing(v->bw, &t, &thing_id, err);
    if (!rc && wkb) {
        struct geom_digest digest;
        geom_digest(&digest, NULL, wkb, wkb_len);
        rc = bw_thing_location_wkb(v->bw, thing_id, name_copy, NULL, wkb, wkb_len, &digest, err);
        if (rc)
            insitu_error_set(err, rc, "vector: %s: feature %lld (%s): %s", v->src->name,
                             (long long)OGR_F_GetFID(f), code, err ? err->message : "");
    } else if (!rc) {
        v->no_geometry++;
    }
    free(wkb);
    free(geojson);
    free(props);
    free(name_copy);
    return rc;
}

static int vector_run(const struct source *src, struct batch_writer *bw, insitu_error *err)
{
    struct vector v = {.src = src, .bw = bw, .name_index = -1, .id_index = -1};
    int rc = vector_open(&v, err);
    if (!rc)
        OGR_L_ResetReading(v.layer);
    OGRFeatureH f;
    CPLErrorReset();
    while (!rc && (f = OGR_L_GetNextFeature(v.layer)) != NULL) {
        rc = write_feature(&v, f, err);
        OGR_F_Destroy(f);
        v.features++;
    }
    /* OGR ends the features early when the file is damaged: that is not the end */
    if (!rc && CPLGetLastErrorType() >= CE_Failure)
        rc = insitu_error_set(err, INSITU_EINVAL, "vector: %s: unreadable after %llu features: %s",
                              src->name, (unsigned long long)v.features, CPLGetLastErrorMsg());
    if (!rc && !v.features)
        bw_warn(bw, "vector: %s: no features", src->name);
    if (!rc && v.no_geometry)
        bw_warn(bw, "vector: %s: %llu feature%s without geometry: Things without a Location",
                src->name, (unsigned long long)v.no_geometry, v.no_geometry > 1 ? "s" : "");
    vector_free(&v);
    return rc;
}

/* ---- probe ---- */

/* A GeoJSON FeatureCollection that no other ingester reads: not a SensorThings answer
 * ("@iot."), not a Hydroweb series (orthometric heights), not a Hydrocron one (time_str),
 * not observations (an `insitu query --format geojson` export: phenomenon times). */
static int geojson_probe(const struct source *src)
{
    size_t n;
    const char *p = source_head_text(src, &n);
    if (!n || *p != '{' || !mem_contains(p, n, "\"FeatureCollection\""))
        return 0;
    if (mem_contains(p, n, "@iot.") || mem_contains(p, n, "\"water_surface_reference_name\"") ||
        mem_contains(p, n, "\"orthometric_height_of_water_surface_at_reference_position\"") ||
        mem_contains(p, n, "\"time_str\"") || mem_contains(p, n, "\"phenomenon_time\"") ||
        mem_contains(p, n, "\"phenomenonTime\""))
        return 0;
    return 60;
}

/* A shapefile (or a zip with exactly one) that is not a SWOT product. */
static int shapefile_probe(const struct source *src)
{
    struct swot_name swot;
    if ((src->is_zip || src->is_dir) && swot_parse_name(src->name, &swot) == 0)
        return 0;
    char *shp = NULL;
    if (src->is_zip || src->is_dir)
        shp = inner_shapefile(src);
    else if (str_has_suffix_ci(src->name, ".shp"))
        shp = xstrdup(src->path);
    int score = shp && swot_parse_name(path_basename(shp), &swot) != 0 ? 60 : 0;
    free(shp);
    return score;
}

static int vector_probe(const struct source *src)
{
    /* a folder is ingested file by file (its .shp among them), not as one source */
    if (src->is_dir)
        return 0;
    if (src->is_zip || str_has_suffix_ci(src->name, ".shp"))
        return shapefile_probe(src);
    return src->head_len ? geojson_probe(src) : 0;
}

const struct ingester ingester_vector = {
    .name = "vector",
    .description = "features of a GeoJSON FeatureCollection or a shapefile (.shp or a zip): a "
                   "Thing per feature (lakes, catchments), its geometry in EPSG:4326 as "
                   "the Location, its attributes as properties",
    .probe = vector_probe,
    .run = vector_run,
    .settings = vector_settings,
};
