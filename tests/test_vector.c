/*
 * test_vector.c: the vector ingester (ingest/vector.c) on both backends: a Thing per feature
 * of a GeoJSON FeatureCollection and of a shapefile (plain and zipped) written here in
 * Lambert-93, whose stored EPSG:4326 vertices equal PROJ's transformation of the written ones
 * to 1e-9 degrees; names, codes and properties from the settings; re-ingesting changes
 * nothing; bad input names the file and feature and leaves the store as it was; the probes
 * of the other ingesters keep their sources.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cpl_conv.h>
#include <gdal.h>
#include <jansson.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "store.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

static const char *const lakes_geojson =
    "{\"type\":\"FeatureCollection\",\"name\":\"lakes\",\"features\":[\n"
    "{\"type\":\"Feature\",\"id\":\"L1\",\"properties\":{\"name\":\"Lac de Vassivi\\u00e8re\","
    "\"area_km2\":9.75,\"depth\":30,\"reservoir\":true,\"note\":null},\"geometry\":{\"type\":"
    "\"Polygon\",\"coordinates\":[[[1.85,45.79],[1.88,45.79],[1.88,45.81],[1.85,45.81],"
    "[1.85,45.79]],[[1.86,45.80],[1.861,45.80],[1.861,45.801],[1.86,45.80]]]}},\n"
    "{\"type\":\"Feature\",\"id\":\"L2\",\"properties\":{\"name\":\"\",\"area_km2\":0."
    "1234567890123},"
    "\"geometry\":{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0.1,43.2],[0.2,43.2],"
    "[0.2,43.3],[0.1,43.2]]],[[[0.3,43.2],[0.4,43.2],[0.4,43.3],[0.3,43.2]]]]}},\n"
    "{\"type\":\"Feature\",\"id\":\"R1\",\"properties\":{\"name\":\"Vienne\"},\"geometry\":"
    "{\"type\":\"LineString\",\"coordinates\":[[1.1,45.9],[1.2,45.95]]}},\n"
    "{\"type\":\"Feature\",\"id\":\"N1\",\"properties\":{\"name\":\"no geometry\"},"
    "\"geometry\":null}\n"
    "]}\n";

/* The GeoJSON of a Thing's current location (caller frees; NULL: none). */
static char *location_of(insitu_store *st, const char *ns, const char *code)
{
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT ");
    dialect_geojson_sql(st->base.dialect, &sql, "l", "location");
    sb_printf(&sql,
              " FROM things t JOIN thing_locations tl ON tl.thing_id = t.id JOIN locations l "
              "ON l.id = tl.location_id WHERE t.namespace = '%s' AND t.code = '%s'",
              ns, code);
    char *text = tu_text(st, sb_str(&sql));
    sb_free(&sql);
    return text;
}

static char *thing_column(insitu_store *st, const char *column, const char *ns, const char *code)
{
    char sql[512];
    snprintf(sql, sizeof sql, "SELECT %s FROM things WHERE namespace = '%s' AND code = '%s'",
             column, ns, code);
    return tu_text(st, sql);
}

/* Largest difference between two GeoJSON coordinate trees; INFINITY when they differ in
 * shape. */
static double coord_diff(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b))
        return fabs(json_number_value(a) - json_number_value(b));
    if (!json_is_array(a) || !json_is_array(b) || json_array_size(a) != json_array_size(b))
        return INFINITY;
    double worst = 0;
    for (size_t i = 0; i < json_array_size(a); i++)
        worst = fmax(worst, coord_diff(json_array_get(a, i), json_array_get(b, i)));
    return worst;
}

/* Stored location of (ns, code) against the expected GeoJSON geometry text. */
static double location_diff(insitu_store *st, const char *ns, const char *code,
                            const char *expected)
{
    char *text = location_of(st, ns, code);
    json_t *got = text ? json_loads(text, 0, NULL) : NULL;
    json_t *want = json_loads(expected, 0, NULL);
    double d = INFINITY;
    if (got && want &&
        strcmp(json_string_value(json_object_get(got, "type")),
               json_string_value(json_object_get(want, "type"))) == 0)
        d = coord_diff(json_object_get(got, "coordinates"), json_object_get(want, "coordinates"));
    json_decref(got);
    json_decref(want);
    free(text);
    return d;
}

static void test_geojson(void)
{
    insitu_store *st = tu_store(NULL);
    char *path = tu_write(tu_tmpdir(), "lakes.geojson", lakes_geojson);
    insitu_ingest_report rep;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, path, NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "vector");
    CU_ASSERT_EQUAL(rep.things, 4);
    CU_ASSERT_EQUAL(rep.observations, 0);
    CU_ASSERT_EQUAL(rep.warnings, 1); /* the feature without geometry */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things WHERE namespace = 'vector:lakes'"), 4);
    char *name = thing_column(st, "name", "vector:lakes", "L1");
    CU_ASSERT_STRING_EQUAL(name, "Lac de Vassivi\xc3\xa8re");
    free(name);
    name = thing_column(st, "name", "vector:lakes", "L2"); /* empty name: the code */
    CU_ASSERT_STRING_EQUAL(name, "L2");
    free(name);
    char *props = thing_column(st, "properties", "vector:lakes", "L1");
    CU_ASSERT_STRING_EQUAL(props, "{\"area_km2\":9.75,\"depth\":30,\"reservoir\":true}");
    free(props);
    props = thing_column(st, "properties", "vector:lakes", "L2");
    CU_ASSERT_STRING_EQUAL(props, "{\"area_km2\":0.1234567890123}");
    free(props);
    /* geometries as given, exactly, holes and parts included */
    CU_ASSERT_EQUAL(location_diff(st, "vector:lakes", "L1",
                                  "{\"type\":\"Polygon\",\"coordinates\":[[[1.85,45.79],[1.88,"
                                  "45.79],[1.88,45.81],[1.85,45.81],[1.85,45.79]],[[1.86,45.80]"
                                  ",[1.861,45.80],[1.861,45.801],[1.86,45.80]]]}"),
                    0);
    CU_ASSERT_EQUAL(location_diff(st, "vector:lakes", "L2",
                                  "{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0.1,43.2],[0.2,"
                                  "43.2],[0.2,43.3],[0.1,43.2]]],[[[0.3,43.2],[0.4,43.2],[0.4,"
                                  "43.3],[0.3,43.2]]]]}"),
                    0);
    CU_ASSERT_EQUAL(location_diff(st, "vector:lakes", "R1",
                                  "{\"type\":\"LineString\",\"coordinates\":[[1.1,45.9],[1.2,"
                                  "45.95]]}"),
                    0);
    char *none = location_of(st, "vector:lakes", "N1");
    CU_ASSERT_PTR_NULL(none);
    free(none);

    /* settings: another name field, code field and namespace */
    const char *set[] = {"name_field=area_km2", "id_field=name", "namespace=lakes", NULL};
    memset(&err, 0, sizeof err);
    CU_ASSERT_NOT_EQUAL(tu_ingest(st, path, set, &rep, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "vector: lakes.geojson: feature 1: empty name"));
    free(path);
    insitu_store_close(st);
}

/* Writes a shapefile of two polygons in EPSG:2154 (Lambert-93), vertices given in metres;
 * with_prj 0 removes its .prj. Returns its path (caller frees). */
static char *write_shapefile(const char *dir, const char *name, int with_prj)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.shp", dir, name);
    GDALDriverH drv = GDALGetDriverByName("ESRI Shapefile");
    GDALDatasetH ds = GDALCreate(drv, path, 0, 0, 0, GDT_Unknown, NULL);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 2154);
    OGRLayerH l = GDALDatasetCreateLayer(ds, name, srs, wkbPolygon, NULL);
    OSRDestroySpatialReference(srs);
    OGRFieldDefnH fd = OGR_Fld_Create("CODE", OFTString);
    OGR_L_CreateField(l, fd, 1);
    OGR_Fld_Destroy(fd);
    fd = OGR_Fld_Create("NOM", OFTString);
    OGR_L_CreateField(l, fd, 1);
    OGR_Fld_Destroy(fd);
    fd = OGR_Fld_Create("SURF_HA", OFTReal);
    OGR_L_CreateField(l, fd, 1);
    OGR_Fld_Destroy(fd);
    static const char *const wkt[] = {
        "POLYGON ((570000.5 6410000.25,575000 6410000,575000 6415000,570000 6415000,570000.5 "
        "6410000.25))",
        "POLYGON ((651234.125 6862345.5,652000 6862345.5,652000 6863000,651234.125 "
        "6862345.5))"};
    static const char *const codes[] = {"Y0010020", "H5920010"}, *const names[] = {"Garonne amont",
                                                                                   "Seine a Paris"};
    for (int i = 0; i < 2; i++) {
        OGRFeatureH f = OGR_F_Create(OGR_L_GetLayerDefn(l));
        OGR_F_SetFieldString(f, 0, codes[i]);
        OGR_F_SetFieldString(f, 1, names[i]);
        OGR_F_SetFieldDouble(f, 2, 2500.5 * (i + 1));
        OGRGeometryH g = NULL;
        char *w = (char *)wkt[i];
        OGR_G_CreateFromWkt(&w, NULL, &g);
        OGR_F_SetGeometryDirectly(f, g);
        CU_ASSERT_EQUAL(OGR_L_CreateFeature(l, f), OGRERR_NONE);
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    if (!with_prj) {
        char prj[1024];
        snprintf(prj, sizeof prj, "%s/%s.prj", dir, name);
        remove(prj);
    }
    return strdup(path);
}

/* The first ring of feature fid of a shapefile, transformed to EPSG:4326 lon/lat point by
 * point with PROJ (OCTTransform), as a GeoJSON Polygon. */
static char *expected_ring(const char *shp, int fid)
{
    GDALDatasetH ds = GDALOpenEx(shp, GDAL_OF_VECTOR, NULL, NULL, NULL);
    OGRLayerH l = GDALDatasetGetLayer(ds, 0);
    OGRSpatialReferenceH wgs84 = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(wgs84, 4326);
    OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    OGRSpatialReferenceH src = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(src, 2154);
    OSRSetAxisMappingStrategy(src, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(src, wgs84);
    OGRFeatureH f = OGR_L_GetFeature(l, fid);
    OGRGeometryH ring = OGR_G_GetGeometryRef(OGR_F_GetGeometryRef(f), 0);
    struct strbuf sb = {0};
    sb_puts(&sb, "{\"type\":\"Polygon\",\"coordinates\":[[");
    for (int i = 0; i < OGR_G_GetPointCount(ring); i++) {
        double x = OGR_G_GetX(ring, i), y = OGR_G_GetY(ring, i), z = 0;
        OCTTransform(ct, 1, &x, &y, &z);
        sb_printf(&sb, "%s[%.17g,%.17g]", i ? "," : "", x, y);
    }
    sb_puts(&sb, "]]}");
    OGR_F_Destroy(f);
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(src);
    OSRDestroySpatialReference(wgs84);
    GDALClose(ds);
    return sb.data;
}

static void test_shapefile(void)
{
    const char *dir = tu_tmpdir();
    char *shp = write_shapefile(dir, "bassins", 1);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err = {0};
    const char *set[] = {"name_field=NOM", "id_field=CODE", "namespace=bv", NULL};
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, shp, set, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "vector");
    CU_ASSERT_EQUAL(rep.things, 2);
    static const char *const codes[] = {"Y0010020", "H5920010"};
    for (int i = 0; i < 2; i++) {
        char *want = expected_ring(shp, i);
        double d = location_diff(st, "bv", codes[i], want);
        CU_ASSERT(d <= 1e-9);
        free(want);
    }
    char *name = thing_column(st, "name", "bv", "H5920010");
    CU_ASSERT_STRING_EQUAL(name, "Seine a Paris");
    free(name);
    char *props = thing_column(st, "properties", "bv", "H5920010");
    CU_ASSERT_STRING_EQUAL(props, "{\"SURF_HA\":5001.0}");
    free(props);

    /* the same shapefile zipped, default settings: codes are the FIDs, names from no field */
    char zip[1024], cmd[3000];
    snprintf(zip, sizeof zip, "%s/bassins.zip", dir);
    snprintf(cmd, sizeof cmd,
             "cd '%s' && zip -q bassins.zip bassins.shp bassins.shx bassins.dbf "
             "bassins.prj",
             dir);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, zip, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.things, 2);
    char *want = expected_ring(shp, 1);
    CU_ASSERT(location_diff(st, "vector:bassins", "1", want) <= 1e-9);
    free(want);
    props = thing_column(st, "properties", "vector:bassins", "0");
    CU_ASSERT_STRING_EQUAL(props, "{\"CODE\":\"Y0010020\",\"NOM\":\"Garonne amont\","
                                  "\"SURF_HA\":2500.5}");
    free(props);

    /* re-ingesting changes nothing: skipped, or with --force the same entities */
    int64_t locations = tu_int(st, "SELECT count(*) FROM locations");
    int64_t history = tu_int(st, "SELECT count(*) FROM historical_locations");
    CU_ASSERT_EQUAL(tu_ingest(st, shp, set, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    insitu_ingest_options o = {.force = 1, .settings = set};
    CU_ASSERT_EQUAL(insitu_ingest(st, shp, &o, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "complete");
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), 4);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM locations"), locations);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM historical_locations"), history);
    free(shp);
    insitu_store_close(st);
}

/* Fails to ingest path with settings; err names `fragment`; the store holds no Thing. */
static void expect_fail(insitu_store *st, const char *path, const char *const *settings, int code,
                        const char *fragment)
{
    insitu_ingest_report rep;
    insitu_error err = {0};
    int rc = tu_ingest(st, path, settings, &rep, &err);
    CU_ASSERT_EQUAL(rc, code);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, fragment));
    if (!strstr(err.message, fragment))
        fprintf(stderr, "# expected '%s' in: %s\n", fragment, err.message);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM locations"), 0);
}

static void test_errors(void)
{
    const char *dir = tu_tmpdir();
    insitu_store *st = tu_store(NULL);
    char *lakes = tu_write(dir, "lakes.geojson", lakes_geojson);
    const char *bad_field[] = {"name_field=nom", NULL};
    expect_fail(st, lakes, bad_field, INSITU_EUSAGE,
                "vector: lakes.geojson: name_field=nom: no such field (fields: id, name, "
                "area_km2, depth, reservoir, note)");
    /* two features with one code: the second is named, nothing is kept */
    char *dup = tu_write(
        dir, "dup.geojson",
        "{\"type\":\"FeatureCollection\",\"features\":[{\"type\":\"Feature\",\"properties\":"
        "{\"site\":\"A\"},\"geometry\":{\"type\":\"Point\",\"coordinates\":[1,2]}},{\"type\":"
        "\"Feature\",\"properties\":{\"site\":\"A\"},\"geometry\":{\"type\":\"Point\","
        "\"coordinates\":[3,4]}}]}");
    const char *by_site[] = {"id_field=site", NULL};
    expect_fail(st, dup, by_site, INSITU_EINVAL,
                "vector: dup.geojson: feature 1: code 'A' is also feature 0's");
    char *noprj = write_shapefile(dir, "noprj", 0);
    expect_fail(st, noprj, NULL, INSITU_EINVAL,
                "vector: noprj.shp: the layer declares no coordinate reference system");
    const char *assume[] = {"assume_crs=EPSG:2154", NULL};
    insitu_ingest_report rep;
    insitu_error err = {0};
    CU_ASSERT_EQUAL(tu_ingest(st, noprj, assume, &rep, &err), 0);
    char *want = expected_ring(noprj, 0);
    CU_ASSERT(location_diff(st, "vector:noprj", "0", want) <= 1e-9);
    free(want);
    /* a damaged file: OGR stops early; that is an error, not the end of the features */
    char *cut = write_shapefile(dir, "cut", 1), dbf[1024];
    snprintf(dbf, sizeof dbf, "%s/cut.dbf", dir);
    FILE *f = fopen(dbf, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fseek(f, 0, SEEK_END);
    CU_ASSERT_EQUAL(ftruncate(fileno(f), ftell(f) - 30), 0);
    fclose(f);
    int64_t things = tu_int(st, "SELECT count(*) FROM things");
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(tu_ingest(st, cut, NULL, &rep, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "vector: cut.shp: unreadable after 1 features"));
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), things);
    free(cut);
    free(lakes);
    free(dup);
    free(noprj);
    insitu_store_close(st);
}

/* The other ingesters keep their sources: a SWOT product, a Hydroweb series, a Hydrocron
 * GeoJSON; a GeoJSON FeatureCollection of stations is the vector ingester's. */
static void test_probes(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err = {0};
    static const struct {
        const char *path, *ingester;
    } cases[] = {
        {"swot/SWOT_L2_HR_LakeSP_Prior_033_506_AU_20250605T225724_20250605T230824_PID0_01.zip",
         "swot-lake"},
        {"hydroweb/hydroprd_R_OYAPOCK_CAMOPI_KM0177_from_20231101_to_20240131.json", "hydroweb"},
        {"hydrocron/node_d_basic.geojson", "hydrocron"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        insitu_ingest_options o = {.dry_run = 1};
        memset(&rep, 0, sizeof rep);
        insitu_ingest(st, tu_data(cases[i].path), &o, &rep, &err);
        CU_ASSERT_STRING_EQUAL(rep.ingester, cases[i].ingester);
    }
    insitu_store_close(st);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "GeoJSON: a Thing per feature, geometries exact", test_geojson);
    CU_add_test(s, "shapefile in Lambert-93, plain and zipped, re-ingested", test_shapefile);
    CU_add_test(s, "bad input names file and feature, changes nothing", test_errors);
    CU_add_test(s, "other ingesters keep their sources", test_probes);
}

int main(void)
{
    tu_init();
    return tu_main("vector", add_tests, NULL, NULL);
}
