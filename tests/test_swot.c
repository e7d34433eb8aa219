/*
 * test_swot.c: the SWOT RiverSP/LakeSP ingesters (ingest/swot*.c) on the real products:
 * every stored value equals what GDAL reads from the same field, fills are NULL, one Thing
 * per feature; versions of a granule replace each other; bad products change nothing.
 * Derived products (other cycles, versions, missing parts) are made with GDAL at test time.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <gdal_utils.h>
#include <ogr_api.h>

#include "store.h"
#include "swot.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"

#define REACH_ZIP "swot/SWOT_L2_HR_RiverSP_Reach_049_058_AU_20260419T185249_20260419T190852_PID0_01.zip"
#define REACH_NAME "SWOT_L2_HR_RiverSP_Reach_049_058_AU_20260419T185249_20260419T190852_PID0_01"
#define LAKE_ZIP "swot/SWOT_L2_HR_LakeSP_Prior_033_506_AU_20250605T225724_20250605T230824_PID0_01.zip"
#define LAKE_NAME "SWOT_L2_HR_LakeSP_Prior_033_506_AU_20250605T225724_20250605T230824_PID0_01"

static char *reach_zip, *lake_zip;

static OGRLayerH open_layer(const char *zip, const char *name, GDALDatasetH *ds)
{
    char path[1024];
    snprintf(path, sizeof path, "/vsizip/%s/%s.shp", zip, name);
    *ds = GDALOpenEx(path, GDAL_OF_VECTOR, NULL, NULL, NULL);
    return *ds ? GDALDatasetGetLayer(*ds, 0) : NULL;
}

/* The stored result of a thing's property at its only/first observation: 1 and *v, 0 for
 * NULL, -1 when there is no observation. */
static int stored(insitu_store *st, const char *ns, const char *code, const char *property,
                  double *v)
{
    struct stmt *s;
    insitu_error err;
    if (st_prepare(&st->base,
                   "SELECT o.result FROM observations o JOIN datastreams d ON d.id = "
                   "o.datastream_id JOIN things t ON t.id = d.thing_id JOIN observed_properties "
                   "p ON p.id = d.observed_property_id WHERE t.namespace = ? AND t.code = ? AND "
                   "p.name = ? ORDER BY o.phenomenon_start LIMIT 1",
                   &s, &err))
        return -2;
    st_bind_text(s, 1, ns);
    st_bind_text(s, 2, code);
    st_bind_text(s, 3, property);
    int rc = st_step(s, &err);
    int out = -1;
    if (rc == 1) {
        out = st_col_is_null(s, 0) ? 0 : 1;
        if (out)
            *v = st_col_double(s, 0);
    }
    st_finalize(s);
    return out;
}

static void test_reach_values(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, reach_zip, NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "swot-river");
    GDALDatasetH ds;
    OGRLayerH layer = open_layer(reach_zip, REACH_NAME, &ds);
    CU_ASSERT_PTR_NOT_NULL_FATAL(layer);
    /* one Thing per feature */
    CU_ASSERT_EQUAL(rep.things, (uint64_t)OGR_L_GetFeatureCount(layer, 1));
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things WHERE namespace = 'swot:reach'"), 52);
    static const char *const fields[] = {"wse", "wse_u", "width", "width_u", "slope", "slope_u",
                                         "area_total", "area_tot_u", "dschg_c", "dschg_c_u",
                                         NULL};
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(layer);
    int checked = 0, nulls = 0, wrong = 0, observed = 0;
    OGRFeatureH f;
    OGR_L_ResetReading(layer);
    while ((f = OGR_L_GetNextFeature(layer)) != NULL) {
        const char *id = OGR_F_GetFieldAsString(f, OGR_FD_GetFieldIndex(defn, "reach_id"));
        double t = OGR_F_GetFieldAsDouble(f, OGR_FD_GetFieldIndex(defn, "time"));
        observed += t != -999999999999.0;
        for (int k = 0; fields[k]; k++) {
            double gdal = OGR_F_GetFieldAsDouble(f, OGR_FD_GetFieldIndex(defn, fields[k]));
            double v = 0;
            int got = stored(st, "swot:reach", id, fields[k], &v);
            if (t == -999999999999.0) {
                wrong += got != -1; /* not observed in this pass: no observation */
                continue;
            }
            checked++;
            if (gdal == -999999999999.0) {
                nulls++;
                wrong += got != 0;
            } else {
                wrong += got != 1 || v != gdal;
            }
        }
        OGR_F_Destroy(f);
    }
    GDALClose(ds);
    CU_ASSERT_EQUAL(observed, 34);
    CU_ASSERT_EQUAL(checked, 34 * 10);
    CU_ASSERT_TRUE(nulls > 0);
    CU_ASSERT_EQUAL(wrong, 0);
    /* time: seconds since 2000-01-01 UTC; quality flags and pass parameters kept */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT o.phenomenon_start FROM observations o JOIN datastreams d "
                               "ON d.id = o.datastream_id JOIN things t ON t.id = d.thing_id "
                               "JOIN observed_properties p ON p.id = d.observed_property_id "
                               "WHERE t.code = '57203000041' AND p.name = 'wse'"),
                    INT64_C(946684800000000) + INT64_C(829940896199000));
    char *q = tu_text(st, "SELECT o.result_quality FROM observations_text o JOIN datastreams d ON "
                          "d.id = o.datastream_id JOIN things t ON t.id = d.thing_id JOIN "
                          "observed_properties p ON p.id = d.observed_property_id WHERE t.code "
                          "= '57203000041' AND p.name = 'wse'");
    CU_ASSERT_PTR_NOT_NULL(q && strstr(q, "\"reach_q\":1,\"reach_q_b\":32782"));
    free(q);
    char *params = tu_text(st, "SELECT parameters FROM observations_text LIMIT 1");
    CU_ASSERT_STRING_EQUAL(params, "{\"continent\":\"AU\",\"counter\":\"01\",\"crid\":\"PID0\","
                                   "\"cycle\":49,\"pass\":58,\"product\":\"Reach\"}");
    free(params);
    /* units from the product metadata, geometry as Location and FeatureOfInterest */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams d JOIN observed_properties p ON "
                               "p.id = d.observed_property_id WHERE p.name = 'dschg_c' AND "
                               "d.unit_symbol = 'm^3/s'"),
                    34);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM locations WHERE "
                               "GeometryType(geom) = 'LINESTRING'"),
                    52);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM features WHERE key LIKE 'swot:reach:%'"), 52);
    char *props = tu_text(st, "SELECT properties FROM things WHERE code = '57203000041'");
    CU_ASSERT_PTR_NOT_NULL(props && strstr(props, "\"river_name\":\"Grey River\""));
    free(props);
    /* re-ingest: a no-op */
    CU_ASSERT_EQUAL(tu_ingest(st, reach_zip, NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    insitu_store_close(st);
}

static void test_lake_prior(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, lake_zip, NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "swot-lake");
    CU_ASSERT_EQUAL(rep.things, 723);
    /* observed lakes come with their polygon; the others (no geometry in the product) are
     * located at their prior centroid (p_lon, p_lat) */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM locations WHERE "
                               "GeometryType(geom) LIKE '%POLYGON'"),
                    112);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM locations WHERE GeometryType(geom) = "
                               "'POINT'"),
                    723 - 112);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM locations l JOIN thing_locations tl ON "
                               "tl.location_id = l.id JOIN things t ON t.id = tl.thing_id WHERE "
                               "t.code = '5160001832' AND ST_X(l.geom) = 124.130593 AND "
                               "ST_Y(l.geom) = -8.49715"),
                    1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(DISTINCT d.thing_id) FROM datastreams d"), 112);
    double v = 0;
    CU_ASSERT_EQUAL(stored(st, "swot:lake", "5240012913", "wse", &v), 1);
    CU_ASSERT_EQUAL(v, 187.226);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams d JOIN observed_properties p ON "
                               "p.id = d.observed_property_id WHERE p.name = 'area_total' AND "
                               "d.unit_symbol = 'km^2'"),
                    112);
    char *q = tu_text(st, "SELECT o.result_quality FROM observations_text o JOIN datastreams d ON "
                          "d.id = o.datastream_id JOIN things t ON t.id = d.thing_id WHERE "
                          "t.code = '5240012913' LIMIT 1");
    CU_ASSERT_PTR_NOT_NULL(q && strstr(q, "\"quality_f\":1"));
    free(q);
    insitu_store_close(st);
}

/* Derives a RiverSP product folder from the real one: another cycle/counter, times shifted,
 * optionally without a reach, without its .dbf, or with only some fields. */
static char *derive(int cycle, const char *counter, double shift_s, const char *drop_reach,
                    const char *select)
{
    const char *dir = tu_tmpdir();
    char name[256], src[1024], dst[1024];
    snprintf(name, sizeof name,
             "SWOT_L2_HR_RiverSP_Reach_%03d_058_AU_20260419T185249_20260419T190852_PID0_%s",
             cycle, counter);
    snprintf(src, sizeof src, "/vsizip/%s/%s.shp", reach_zip, REACH_NAME);
    snprintf(dst, sizeof dst, "%s/%s.shp", dir, name);
    GDALDatasetH in = GDALOpenEx(src, GDAL_OF_VECTOR, NULL, NULL, NULL);
    char where[128];
    snprintf(where, sizeof where, "reach_id <> '%s'", drop_reach ? drop_reach : "");
    char **argv = NULL;
    if (drop_reach) {
        argv = CSLAddString(argv, "-where");
        argv = CSLAddString(argv, where);
    }
    if (select) {
        argv = CSLAddString(argv, "-select");
        argv = CSLAddString(argv, select);
    }
    GDALVectorTranslateOptions *opts = GDALVectorTranslateOptionsNew(argv, NULL);
    GDALDatasetH out = GDALVectorTranslate(dst, NULL, 1, &in, opts, NULL);
    GDALVectorTranslateOptionsFree(opts);
    CSLDestroy(argv);
    GDALClose(in);
    if (!out)
        return NULL;
    if (shift_s != 0) {
        OGRLayerH l = GDALDatasetGetLayer(out, 0);
        int ti = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), "time");
        int si = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), "time_str");
        OGRFeatureH f;
        OGR_L_ResetReading(l);
        while ((f = OGR_L_GetNextFeature(l)) != NULL) {
            double t = OGR_F_GetFieldAsDouble(f, ti);
            if (t != -999999999999.0) {
                OGR_F_SetFieldDouble(f, ti, t + shift_s);
                char iso[40];
                insitu_time_format((int64_t)((t + shift_s) * 1e6) + INT64_C(946684800000000),
                                   iso, sizeof iso);
                char *dot = strchr(iso, '.');
                if (dot)
                    strcpy(dot, "Z");
                OGR_F_SetFieldString(f, si, iso);
                if (OGR_L_SetFeature(l, f) != OGRERR_NONE)
                    fprintf(stderr, "# cannot update a feature\n");
            }
            OGR_F_Destroy(f);
        }
    }
    GDALClose(out);
    char xml_src[1100], xml_dst[1100];
    snprintf(xml_src, sizeof xml_src, "/vsizip/%s/%s.shp.xml", reach_zip, REACH_NAME);
    snprintf(xml_dst, sizeof xml_dst, "%s.xml", dst);
    CPLCopyFile(xml_dst, xml_src);
    return strdup(dir);
}

static void test_versions_and_passes(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, reach_zip, NULL, &rep, &err), 0);
    int64_t obs = tu_int(st, "SELECT count(*) FROM observations");
    /* a newer version of the granule (counter 02) without reach 57203000041 replaces it */
    char *v2 = derive(49, "02", 0, "57203000041", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, v2, NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "complete");
    CU_ASSERT_PTR_NOT_NULL(strstr(rep.message, "replaces run 1"));
    CU_ASSERT_EQUAL(rep.things, 51);
    int64_t per_reach = tu_int(st, "SELECT count(*) FROM observations o JOIN datastreams d ON "
                                   "d.id = o.datastream_id JOIN things t ON t.id = d.thing_id "
                                   "WHERE t.code = '57205900041'");
    CU_ASSERT_EQUAL(rep.deleted, (uint64_t)per_reach);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), obs - per_reach);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM ingest_runs WHERE status = 'complete' AND "
                               "source_key LIKE 'SWOT_L2_HR_RiverSP_Reach_049_058_AU'"),
                    2);
    /* an older version (counter 00) after it is skipped */
    char *v0 = derive(49, "00", 0, NULL, NULL);
    CU_ASSERT_EQUAL(tu_ingest(st, v0, NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    CU_ASSERT_PTR_NOT_NULL(strstr(rep.message, "older version PID0_00"));
    /* the next cycle, 21 days later: the reach's series has both passes, in time order */
    char *c50 = derive(50, "01", 21 * 86400.0, NULL, NULL);
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, c50, NULL, &rep, &err), 0);
    insitu_query q = {0};
    q.from_us = q.to_us = INSITU_TIME_NONE;
    q.thing = "57205900041";
    q.property = "wse";
    insitu_cursor *cur;
    CU_ASSERT_EQUAL_FATAL(insitu_query_open(st, &q, &cur, &err), 0);
    insitu_obs o;
    int64_t times[4];
    int n = 0;
    while (insitu_cursor_next(cur, &o, &err) == 1 && n < 4)
        times[n++] = o.phenomenon_start_us;
    insitu_cursor_close(cur);
    CU_ASSERT_EQUAL(n, 2);
    if (n == 2)
        CU_ASSERT_EQUAL(times[1] - times[0], INT64_C(21) * 86400 * 1000000);
    free(v2);
    free(v0);
    free(c50);
    insitu_store_close(st);
}

static void expect_fail(const char *source, const char *format, const char *fragment)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_options o = {0};
    o.format = format;
    insitu_ingest_report rep;
    insitu_error err = {0};
    int rc = insitu_ingest(st, source, &o, &rep, &err);
    CU_ASSERT_EQUAL(rc, INSITU_EINVAL);
    int found = strstr(err.message, fragment) != NULL;
    CU_ASSERT_TRUE(found);
    if (!found)
        printf("# '%s' lacks '%s'\n", err.message, fragment);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 0);
    insitu_store_close(st);
}

static void test_bad_products(void)
{
    const char *dir = tu_tmpdir();
    /* a zip without the .dbf */
    char zip[600], member[1200];
    snprintf(zip, sizeof zip, "%s/%s.zip", dir, REACH_NAME);
    static const char *const exts[] = {".shp", ".shx", ".prj", ".shp.xml", NULL};
    for (int i = 0; exts[i]; i++) {
        char from[1200];
        snprintf(from, sizeof from, "/vsizip/%s/%s%s", reach_zip, REACH_NAME, exts[i]);
        snprintf(member, sizeof member, "/vsizip/%s/%s%s", zip, REACH_NAME, exts[i]);
        CU_ASSERT_EQUAL(CPLCopyFile(member, from), 0); /* GDAL copies between VSI paths */
    }
    expect_fail(zip, NULL, REACH_NAME ".dbf is missing from the product");
    /* a corrupt zip named as a product */
    char bad[600];
    snprintf(bad, sizeof bad, "%s/x/%s.zip", dir, REACH_NAME);
    char sub[600];
    snprintf(sub, sizeof sub, "%s/x", dir);
    VSIMkdir(sub, 0755);
    FILE *f = fopen(bad, "wb");
    fputs("PK\x03\x04 definitely not a zip", f);
    fclose(f);
    expect_fail(bad, NULL, "not a readable zip archive");
    /* a shapefile named as a product but without the product's fields */
    char *nofields = derive(49, "01", 0, NULL, "wse,width");
    expect_fail(nofields, "swot-river", "not a SWOT L2_HR_RiverSP Reach product: no 'reach_id'");
    free(nofields);
    /* a shapefile that is not a SWOT product at all */
    expect_fail(lake_zip, "swot-river", "not a SWOT L2_HR_RiverSP product file name");
}

/* A product longer than the reader thread's queue whose second feature has no key: the
 * writer stops at it, the reader (blocked on the full queue) is released and joined, and
 * nothing of the product stays (valgrind and ASan runs check that nothing leaks). A bad
 * last feature: everything before it was written, and rolled back. */
static void test_bad_feature_stops_reader(void)
{
    swot_queue_bytes = 1; /* one feature at a time: the reader waits for the writer */
    for (int last = 0; last <= 1; last++) {
        char *dir = derive(51 + last, "01", 0, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
        char shp[1100];
        snprintf(shp, sizeof shp,
                 "%s/SWOT_L2_HR_RiverSP_Reach_%03d_058_AU_20260419T185249_20260419T190852_PID0_"
                 "01.shp",
                 dir, 51 + last);
        GDALDatasetH ds = GDALOpenEx(shp, GDAL_OF_VECTOR | GDAL_OF_UPDATE, NULL, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
        OGRLayerH l = GDALDatasetGetLayer(ds, 0);
        int ki = OGR_FD_GetFieldIndex(OGR_L_GetLayerDefn(l), "reach_id");
        GIntBig n = OGR_L_GetFeatureCount(l, 1);
        /* three more copies of every reach under new ids: 4 x 52 features */
        for (int copy = 1; copy <= 3; copy++)
            for (GIntBig i = 0; i < n; i++) {
                OGRFeatureH f = OGR_L_GetFeature(l, i);
                char id[32];
                snprintf(id, sizeof id, "9%d%09lld", copy, (long long)i);
                OGR_F_SetFieldString(f, ki, id);
                OGR_F_SetFID(f, OGRNullFID);
                CU_ASSERT_EQUAL(OGR_L_CreateFeature(l, f), OGRERR_NONE);
                OGR_F_Destroy(f);
            }
        GIntBig bad = last ? 4 * n - 1 : 1;
        OGRFeatureH f = OGR_L_GetFeature(l, bad);
        OGR_F_SetFieldString(f, ki, "");
        CU_ASSERT_EQUAL(OGR_L_SetFeature(l, f), OGRERR_NONE);
        OGR_F_Destroy(f);
        GDALClose(ds);
        char fragment[64];
        snprintf(fragment, sizeof fragment, "feature %lld: empty reach_id", (long long)bad);
        expect_fail(dir, NULL, fragment);
        free(dir);
    }
    swot_queue_bytes = 32 << 20;
}

/* What a store holds, as text: its entities and observations, summed up (the same SQL on
 * both backends). */
static char *store_content(insitu_store *st)
{
    return tu_text(
        st, "SELECT (SELECT count(*) || ':' || sum(id) || ':' || min(code) || ':' || max(code) "
            "FROM things) || '|' || (SELECT count(*) || ':' || sum(id * thing_id) || ':' || "
            "sum(length(name)) || ':' || sum(length(properties)) FROM datastreams) || '|' || "
            "(SELECT count(*) || ':' || sum(result) || ':' || count(result) || ':' || "
            "sum(datastream_id) || ':' || sum(phenomenon_start / 1000000) || ':' || "
            "sum(length(parameters)) || ':' || sum(length(coalesce(result_quality, ''))) || "
            "':' || sum(feature_id) || ':' || sum(run_id) FROM observations_text) || '|' || "
            "(SELECT "
            "count(*) || ':' || sum(id) FROM locations) || '|' || (SELECT count(*) || ':' || "
            "sum(n_observations) || ':' || min(checksum) || ':' || max(checksum) FROM "
            "ingest_runs WHERE status = 'complete')");
}

/* Ingests source with next as the source that comes after it. */
static int ingest_before(insitu_store *st, const char *source, const char *next,
                         insitu_ingest_report *rep, insitu_error *err)
{
    insitu_ingest_options o = {0};
    o.next_source = next;
    return insitu_ingest(st, source, &o, rep, err);
}

/* A product read ahead (while the one before it is written) is stored exactly as one read
 * in its turn; one read ahead and not ingested next is dropped, also while its reader waits
 * for room; one that fails fails when its turn comes, with its own error. */
static void test_read_ahead(void)
{
    char *p[3];
    for (int i = 0; i < 3; i++) {
        p[i] = derive(60 + i, "01", (i + 1) * 21 * 86400.0, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
    }
    insitu_ingest_report rep;
    insitu_error err;
    insitu_store *plain = tu_store(NULL), *ahead = tu_store(NULL);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(tu_ingest(plain, p[i], NULL, &rep, &err), 0);
        CU_ASSERT_EQUAL(ingest_before(ahead, p[i], i < 2 ? p[i + 1] : NULL, &rep, &err), 0);
        CU_ASSERT_STRING_EQUAL(rep.status, "complete");
        /* the next one is being read */
        CU_ASSERT_EQUAL(ahead->base.readahead != NULL, i < 2);
    }
    char *a = store_content(plain), *b = store_content(ahead);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_STRING_EQUAL(a, b);
    free(a);
    free(b);
    insitu_store_close(plain);
    insitu_store_close(ahead);

    /* not the next one after all: the read-ahead is dropped, the other one ingested; one
     * left at the store's close is freed there (valgrind and ASan runs check) */
    swot_queue_bytes = 1;
    insitu_store *st = tu_store(NULL);
    CU_ASSERT_EQUAL(ingest_before(st, p[0], p[1], &rep, &err), 0);
    CU_ASSERT_EQUAL(ingest_before(st, p[2], p[1], &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "complete");
    /* read ahead, then found unchanged: skipped */
    CU_ASSERT_EQUAL(ingest_before(st, p[1], p[0], &rep, &err), 0);
    CU_ASSERT_EQUAL(ingest_before(st, p[0], NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    CU_ASSERT_EQUAL(ingest_before(st, reach_zip, p[2], &rep, &err), 0);
    insitu_store_close(st);
    swot_queue_bytes = 32 << 20;

    /* a corrupt product read ahead fails in its turn, with the error it gives alone */
    const char *dir = tu_tmpdir();
    char bad[600];
    snprintf(bad, sizeof bad, "%s/%s.zip", dir, REACH_NAME);
    FILE *f = fopen(bad, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs("PK\x03\x04 definitely not a zip", f);
    fclose(f);
    insitu_error alone = {0};
    st = tu_store(NULL);
    CU_ASSERT_NOT_EQUAL(tu_ingest(st, bad, NULL, &rep, &alone), 0);
    insitu_store_close(st);
    st = tu_store(NULL);
    CU_ASSERT_EQUAL(ingest_before(st, p[0], bad, &rep, &err), 0);
    memset(&err, 0, sizeof err);
    CU_ASSERT_NOT_EQUAL(ingest_before(st, bad, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(err.code, alone.code);
    CU_ASSERT_STRING_EQUAL(err.message, alone.message);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM ingest_runs WHERE status = 'complete'"), 1);
    insitu_store_close(st);
    for (int i = 0; i < 3; i++)
        free(p[i]);
}

/* A Hydrocron answer for a reach of the product (same format as the real answers in
 * tests/data/hydrocron, values of the product and of a later pass) lands on the same Thing
 * and Datastreams: the two paths share the SWOT mapping. */
static void test_hydrocron_same_entities(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, reach_zip, NULL, &rep, &err), 0);
    int64_t things = tu_int(st, "SELECT count(*) FROM things");
    int64_t datastreams = tu_int(st, "SELECT count(*) FROM datastreams");
    const char *dir = tu_tmpdir();
    char *path = tu_write(
        dir, "hydrocron_57205900041.json",
        "{\"status\":\"200 OK\",\"time\":12.5,\"hits\":2,\"results\":{\"csv\":\"reach_id,time,"
        "time_str,wse,reach_q,cycle_id,pass_id,continent_id,crid,wse_units\\n57205900041,"
        "829940919.531,2026-04-19T19:08:39Z,118.0225,1,49,58,AU,PID0,m\\n57205900041,"
        "831755319.531,2026-05-10T19:08:39Z,118.5,1,50,58,AU,PID0,m\\n\",\"geojson\":{}}}");
    insitu_ingest_options o = {.format = "hydrocron"};
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, path, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.inserted, 1); /* the later pass */
    CU_ASSERT_EQUAL(rep.updated, 1);  /* the pass the product gave */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), things);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams"), datastreams);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations o JOIN datastreams d ON d.id = "
                               "o.datastream_id JOIN things t ON t.id = d.thing_id JOIN "
                               "observed_properties p ON p.id = d.observed_property_id WHERE "
                               "t.code = '57205900041' AND p.name = 'wse'"),
                    2);
    /* the product's metadata is still there (properties merge) */
    char *props = tu_text(st, "SELECT properties FROM things WHERE code = '57205900041'");
    CU_ASSERT_PTR_NOT_NULL(props && strstr(props, "\"p_length\""));
    free(props);
    free(path);
    insitu_store_close(st);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "RiverSP reaches: values equal GDAL's, fills NULL", test_reach_values);
    CU_add_test(s, "LakeSP prior lakes", test_lake_prior);
    CU_add_test(s, "granule versions replace, passes add up", test_versions_and_passes);
    CU_add_test(s, "bad products change nothing", test_bad_products);
    CU_add_test(s, "a bad feature stops the reader thread", test_bad_feature_stops_reader);
    CU_add_test(s, "a product read ahead is stored as one read in its turn", test_read_ahead);
    CU_add_test(s, "Hydrocron data lands on the product's entities", test_hydrocron_same_entities);
}

int main(void)
{
    tu_init();
    reach_zip = strdup(tu_data(REACH_ZIP));
    lake_zip = strdup(tu_data(LAKE_ZIP));
    int rc = tu_main("swot", add_tests, NULL, NULL);
    free(reach_zip);
    free(lake_zip);
    return rc;
}
