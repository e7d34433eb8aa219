/*
 * test_raster_bands.c: the periods of raster products (ingest/raster_period.c) and the
 * raster-sample ingester's --bands and periods on both backends: a 3-band stack written here
 * with a MUSCATE L3A name is sampled at a station; each band is a Datastream named from its
 * description (or "band N"), each value the pixel GDAL reads back, each phenomenonTime the
 * month of the name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "raster_period.h"
#include "store.h"
#include "tap.h"
#include "testutil.h"
#include "timeutil.h"
#include "util.h"

/* The period of name/spec at t (ISO, or NULL) as "START/END" (END empty for an instant), or
 * "error N". */
static const char *period(const char *name, const char *spec, const char *t)
{
    static char out[128];
    int64_t at = INSITU_TIME_NONE;
    if (t)
        time_parse_iso(t, strlen(t), NULL, &at, NULL);
    struct raster_period p;
    insitu_error err = {0};
    int rc = raster_period_of(name, spec, at, &p, &err);
    if (rc) {
        snprintf(out, sizeof out, "error %d", rc);
        return out;
    }
    char a[40], b[40] = "";
    time_format_iso(p.start, a, sizeof a);
    if (p.end != INSITU_TIME_NONE)
        time_format_iso(p.end, b, sizeof b);
    snprintf(out, sizeof out, "%s/%s", a, b);
    return out;
}

static void test_periods(void)
{
    /* from names */
    CU_ASSERT_STRING_EQUAL(period("OCS_2018_CESBIO.tif", NULL, NULL),
                           "2018-01-01T00:00:00Z/2019-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("/data/OCS_2021_CESBIO.tif", "auto", "2021-06-01"),
                           "2021-01-01T00:00:00Z/2022-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(
        period("SENTINEL2X_20181215-000000-000_L3A_T31TCJ_C_V2-2_FRE_B4.tif", NULL, "2018-12-15"),
        "2018-12-01T00:00:00Z/2019-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("X_20180831_L3B-SNOW_SCD.tif", NULL, "2018-08-31"),
                           "2017-09-01T00:00:00Z/2018-09-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("X_20180901_L3B-SNOW_SCD.tif", NULL, "2018-09-01"),
                           "2018-09-01T00:00:00Z/2019-09-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("SENTINEL2A_20180315-103021-456_L2A_T31TCJ_FRE_B4.tif", NULL,
                                  "2018-03-15T10:30:21Z"),
                           "2018-03-15T10:30:21Z/");
    /* a name that needs a date and has none */
    CU_ASSERT_STRING_EQUAL(period("X_L3A_.tif", NULL, NULL), "error -4");
    /* from the setting */
    CU_ASSERT_STRING_EQUAL(period("OCS_2018_CESBIO.tif", "none", "2018-05-01"),
                           "2018-05-01T00:00:00Z/");
    CU_ASSERT_STRING_EQUAL(period("a.tif", "P1D", "2020-02-29T13:00:00Z"),
                           "2020-02-29T00:00:00Z/2020-03-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("a.tif", "P1M", "2020-02-29T13:00:00Z"),
                           "2020-02-01T00:00:00Z/2020-03-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("a.tif", "p1y", "2020-02-29T13:00:00Z"),
                           "2020-01-01T00:00:00Z/2021-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("a.tif", "hydro-year", "2020-02-29"),
                           "2019-09-01T00:00:00Z/2020-09-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("a.tif", "P10D", "2020-02-25T06:00:00Z"),
                           "2020-02-25T06:00:00Z/2020-03-06T06:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("a.tif", "2019-10-01/2020-04-01", NULL),
                           "2019-10-01T00:00:00Z/2020-04-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(period("a.tif", "P1M", NULL), "error -4");
    char cause[200];
    static const char *const good[] = {"auto",          "none",  "P1D",
                                       "P1M",           "P1Y",   "hydro-year",
                                       "P10D",          "PT12H", "2019-10-01/2020-04-01",
                                       "2019-10-01/P6M"};
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        CU_ASSERT_EQUAL(raster_period_check(good[i], cause, sizeof cause), 0);
    static const char *const bad[] = {"P1Q", "monthly", "P0D", "2019-10-01/2019-01-01", ""};
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        CU_ASSERT_EQUAL(raster_period_check(bad[i], cause, sizeof cause), -1);
}

#define STACK_NAME "SENTINEL2X_20180315-000000-000_L3A_T31TCJ_C_V2-2_FRE_STACK.tif"

/* A 3-band Int16 stack in UTM 31N (descriptions B2, B3 and none); pixel (col 5, row 4)
 * holds 100 * band + 7. Returns its path (caller frees). */
static char *write_stack(const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, STACK_NAME);
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, 20, 10, 3, GDT_Int16, NULL);
    double gt[6] = {360000, 20, 0, 4840000, 0, -20};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 32631);
    GDALSetSpatialRef(ds, srs);
    OSRDestroySpatialReference(srs);
    static const char *const desc[] = {"B2", "B3", ""};
    for (int b = 1; b <= 3; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        GDALSetDescription(band, desc[b - 1]);
        GDALSetRasterNoDataValue(band, -10000);
        short v[200];
        for (int i = 0; i < 200; i++)
            v[i] = (short)(b * 1000 + i);
        v[4 * 20 + 5] = (short)(100 * b + 7);
        CU_ASSERT_EQUAL(GDALRasterIO(band, GF_Write, 0, 0, 20, 10, v, 20, 10, GDT_Int16, 0, 0),
                        CE_None);
    }
    GDALClose(ds);
    return strdup(path);
}

/* The station's lon/lat: the centre of pixel (5, 4) of the stack, in EPSG:4326. */
static void station(double *lon, double *lat)
{
    OGRSpatialReferenceH utm = OSRNewSpatialReference(NULL), wgs84 = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(utm, 32631);
    OSRImportFromEPSG(wgs84, 4326);
    OSRSetAxisMappingStrategy(utm, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH ct = OCTNewCoordinateTransformation(utm, wgs84);
    double x = 360000 + 5.5 * 20, y = 4840000 - 4.5 * 20, z = 0;
    OCTTransform(ct, 1, &x, &y, &z);
    *lon = x;
    *lat = y;
    OCTDestroyCoordinateTransformation(ct);
    OSRDestroySpatialReference(utm);
    OSRDestroySpatialReference(wgs84);
}

static void test_bands(void)
{
    const char *dir = tu_tmpdir();
    char *stack = write_stack(dir);
    double lon, lat;
    station(&lon, &lat);
    char csv[512];
    snprintf(csv, sizeof csv,
             "thing,latitude,longitude,observed_property,unit,phenomenon_time,result\n"
             "ST1,%.12f,%.12f,check,1,2018-01-01T00:00:00Z,1\n",
             lat, lon);
    char *stations = tu_write(dir, "stations.csv", csv);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, stations, NULL, &rep, &err), 0);
    const char *set[] = {"product=L3A", "bands=all", NULL};
    insitu_ingest_options o = {.format = "raster-sample", .settings = set};
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, stack, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.datastreams, 3);
    CU_ASSERT_EQUAL(rep.observations, 3);
    static const struct {
        const char *property, *qualifier;
        int value;
    } want[] = {{"B2", "band1/nearest", 107},
                {"B3", "band2/nearest", 207},
                {"band 3", "band3/nearest", 307}};
    for (size_t i = 0; i < ARRAY_LEN(want); i++) {
        char q[600];
        snprintf(q, sizeof q,
                 "SELECT count(*) FROM observations o JOIN datastreams d ON d.id = "
                 "o.datastream_id JOIN observed_properties p ON p.id = d.observed_property_id "
                 "JOIN sensors s ON s.id = d.sensor_id WHERE s.code = 'L3A' AND p.name = '%s' "
                 "AND d.qualifier = '%s' AND o.result = %d",
                 want[i].property, want[i].qualifier, want[i].value);
        CU_ASSERT_EQUAL(tu_int(st, q), 1);
    }
    /* the month of the L3A's name */
    int64_t start = 0, end = 0;
    time_parse_iso("2018-03-01", 10, NULL, &start, NULL);
    time_parse_iso("2018-04-01", 10, NULL, &end, NULL);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM observations WHERE phenomenon_start = %lld AND "
             "phenomenon_end = %lld",
             (long long)start, (long long)end);
    CU_ASSERT_EQUAL(tu_int(st, sql), 3);
    /* a band list with --period none: instants, and a band it does not have */
    const char *set2[] = {"product=L3A-2", "bands=3,1", "period=none", NULL};
    o.settings = set2;
    CU_ASSERT_EQUAL(insitu_ingest(st, stack, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.datastreams, 2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE phenomenon_end IS NULL "
                               "AND result IN (107, 307)"),
                    2);
    const char *set3[] = {"product=L3A-3", "bands=1,4", NULL};
    o.settings = set3;
    memset(&err, 0, sizeof err);
    CU_ASSERT_EQUAL(insitu_ingest(st, stack, &o, &rep, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "band 4: the raster has 3 bands"));
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors WHERE code = 'L3A-3'"), 0);
    free(stack);
    free(stations);
    insitu_store_close(st);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "periods from names and from --period", test_periods);
    CU_add_test(s, "--bands: a Datastream per band, values, periods", test_bands);
}

int main(void)
{
    tu_init();
    return tu_main("raster_bands", add_tests, NULL, NULL);
}
