/*
 * test_pivot.c: the THEIA/OZCAR pivot ingester (ingest/theia_pivot.c) on the real AMMA-CATCH
 * package, the real negative cases of the portal's import service, and synthetic packages
 * for what no public file shows (see tests/data/PROVENANCE.md).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_vsi.h>
#include <jansson.h>

#include "tap.h"
#include "testutil.h"
#include "util.h"

#define CATC_HEAD                                                                             \
    "#Date_of_extraction;2018-10-04T10:20:35Z;\n#Observation_ID;CATC_OBS_CE.WChem_Od_%d;\n"    \
    "#Dataset_title;%s;\n#Variable_name;Silicon;\n"                                            \
    "date_begin;date_end;latitude;longitude;altitude;value;qualityFlags;delta;\n"

static int copy_file(const char *from, const char *to)
{
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    int rc = in && out ? 0 : -1;
    char buf[8192];
    size_t n;
    while (!rc && (n = fread(buf, 1, sizeof buf, in)) > 0)
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    if (in)
        fclose(in);
    if (out)
        fclose(out);
    return rc;
}

/* Adds a member to a zip (created when new) through GDAL's /vsizip/ writer. */
static void zip_add(const char *zip, const char *name, const char *content)
{
    char path[1024];
    snprintf(path, sizeof path, "/vsizip/%s/%s", zip, name);
    VSILFILE *f = VSIFOpenL(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    VSIFWriteL(content, 1, strlen(content), f);
    VSIFCloseL(f);
}

/* A folder package: the real CATC_en.json and a dataset zip with the given data files. */
static const char *catc_package(const char *txt1, const char *txt2)
{
    const char *dir = tu_tmpdir();
    char json[600], zip[600];
    snprintf(json, sizeof json, "%s/CATC_en.json", dir);
    snprintf(zip, sizeof zip, "%s/CATC_DAT_CE.WChem_Od.zip", dir);
    CU_ASSERT_EQUAL(copy_file(tu_data("theia/CATC_en.json"), json), 0);
    if (txt1)
        zip_add(zip, "CATC_OBS_CE.WChem_Od_1.txt", txt1);
    if (txt2)
        zip_add(zip, "CATC_OBS_CE.WChem_Od_2.txt", txt2);
    return dir;
}

/* A folder package: the real CATC_en.json and a copy of a real dataset zip. */
static const char *catc_with_zip(const char *real_zip)
{
    const char *dir = tu_tmpdir();
    char json[600], zip[600];
    snprintf(json, sizeof json, "%s/CATC_en.json", dir);
    snprintf(zip, sizeof zip, "%s/CATC_DAT_CE.WChem_Od.zip", dir);
    CU_ASSERT_EQUAL(copy_file(tu_data("theia/CATC_en.json"), json), 0);
    CU_ASSERT_EQUAL(copy_file(tu_data(real_zip), zip), 0);
    return dir;
}

static void expect_fail(const char *source, const char *const *settings,
                        const char *const *fragments)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err = {0};
    int rc = tu_ingest(st, source, settings, &rep, &err);
    CU_ASSERT_EQUAL(rc, INSITU_EINVAL);
    for (int i = 0; fragments[i]; i++) {
        int found = strstr(err.message, fragments[i]) != NULL;
        CU_ASSERT_TRUE(found);
        if (!found)
            printf("# message '%s' lacks '%s'\n", err.message, fragments[i]);
    }
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams"), 0);
    insitu_store_close(st);
}

static void test_catc_package(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("theia/CATC_package.zip"), NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "theia-pivot");
    CU_ASSERT_EQUAL(rep.things, 2);
    CU_ASSERT_EQUAL(rep.datastreams, 2);
    CU_ASSERT_EQUAL(rep.observations, 3);
    CU_ASSERT_EQUAL(rep.warnings, 0);
    /* the first row of CATC_OBS_CE.WChem_Od_1.txt, exactly */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations_text o JOIN datastreams d ON "
                               "d.id = o.datastream_id WHERE d.qualifier = "
                               "'CATC_OBS_CE.WChem_Od_1' AND o.phenomenon_start = "
                               "1027878720000000 AND o.result = 31.15 "
                               "AND o.result_quality = '13' AND o.phenomenon_end IS NULL AND "
                               "o.parameters = '{\"delta\":1.5575,\"source\":{\"file\":"
                               "\"CATC_OBS_CE.WChem_Od_1.txt\"}}'"),
                    1);
    /* dataset metadata is kept on the datastream, for citation */
    char *props = tu_text(st, "SELECT properties FROM datastreams WHERE qualifier = "
                              "'CATC_OBS_CE.WChem_Od_1'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(props);
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"doi\":\"10.5072/AMMA-CATCH.AE.CE.WChem_Od\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"licence\":\"CC BY 4.0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"datasetId\":\"CATC_DAT_CE.WChem_Od\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"producerId\":\"CATC\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"qualityFlags\":[{\"code\":\"13\""));
    free(props);
    /* the sampling feature is the Thing, at its JSON geometry (lon, lat) */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things t JOIN thing_locations tl ON "
                               "tl.thing_id = t.id JOIN locations l ON l.id = tl.location_id "
                               "WHERE t.name = 'SANKORO (PUITS)' AND t.namespace = 'theia:CATC' "
                               "AND ST_X(l.geom) = 1.8143 AND ST_Y(l.geom) = 9.8733"),
                    1);
    /* the observed property's definition is the first Theia category */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observed_properties WHERE name = 'Silicon' "
                               "AND definition = "
                               "'https://w3id.org/ozcar-theia/groundwaterMetallicTraceElements'"),
                    1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE unit_symbol = 'g.m-3'"),
                    2);
    /* each row's position (lat;lon in the file) is its FeatureOfInterest */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations o JOIN features f ON f.id = "
                               "o.feature_id WHERE ST_X(f.geom) = 1.8143 AND ST_Y(f.geom) = "
                               "9.8733"),
                    2);
    /* the same package as a folder, or the JSON beside its dataset zip, is the same data */
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data("theia/CATC"), NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.inserted, 0);
    CU_ASSERT_EQUAL(rep.updated, 3);
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data("theia/CATC_en.json"), NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 3);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 3);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM things"), 2);
    /* and re-ingesting the zip is a no-op */
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data("theia/CATC_package.zip"), NULL, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    insitu_store_close(st);
}

static void test_test_package(void)
{
    /* TEST_en.json repeats an observationId: strict fails naming both places */
    const char *const frag[] = {"TEST_en.json", "datasets[0].observations[1].observationId",
                                "TEST_OBS_DAT_1_1",
                                "datasets[0].observations[0].observationId", NULL};
    expect_fail(tu_data("theia/TEST"), NULL, frag);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_options o = {0};
    o.lenient = 1;
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, tu_data("theia/TEST"), &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.things, 3);
    CU_ASSERT_EQUAL(rep.datastreams, 3);
    CU_ASSERT_EQUAL(rep.observations, 13);
    CU_ASSERT_EQUAL(rep.nulls, 3);
    CU_ASSERT_EQUAL(rep.warnings, 1);
    /* interval rows (date_begin given) are interval phenomenon times */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE phenomenon_end - "
                               "phenomenon_start = 86400000000"),
                    7);
    /* missingValue (textual and numeric) and empty values are NULL, the flag kept */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations_text WHERE result IS NULL AND "
                               "result_quality = '3'"),
                    1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations_text WHERE result_quality = "
                               "'1|2' AND result = 12.4"),
                    1);
    /* the CRLF file reads like the others */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations o JOIN datastreams d ON d.id "
                               "= o.datastream_id WHERE d.qualifier = 'TEST_OBS_DAT_2_2'"),
                    3);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE result = 10.9"), 1);
    insitu_store_close(st);
}

static void test_portal_negative_cases(void)
{
    const char *const f1[] = {"CATC_OBS_CE.WChem_Od_1.txt:4", "#Variable_name",
                              "2 variable names for 1", NULL};
    expect_fail(catc_with_zip("theia/CATC_DAT_CE.WChem_Od_-_invalid1.zip"), NULL, f1);
    const char *const f2[] = {"CATC_OBS_CE.WChem_Od_1.txt:6", "expected 8 fields", "found 7",
                              NULL};
    expect_fail(catc_with_zip("theia/CATC_DAT_CE.WChem_Od_-_invalid2.zip"), NULL, f2);
    const char *const f3[] = {"CATC_OBS_CE.WChem_Od_1.txt:7", "date_end",
                              "2003-02-32T12:51:00Z", "day out of range", NULL};
    expect_fail(catc_with_zip("theia/CATC_DAT_CE.WChem_Od_-_invalid3.zip"), NULL, f3);
    const char *const f4[] = {"pivot: CATC_en.json: datasets[0].observations[0].result.dataFile",
                              "CATC_OBS_CE.WChem_Od_1.txt not in CATC_DAT_CE.WChem_Od.zip", NULL};
    expect_fail(catc_with_zip("theia/wrongTxt_CATC_DAT_CE.WChem_Od.zip"), NULL, f4);
}

static void test_lenient_wrong_files(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_options o = {0};
    o.lenient = 1;
    insitu_ingest_report rep;
    insitu_error err;
    const char *dir = catc_with_zip("theia/wrongTxt_CATC_DAT_CE.WChem_Od.zip");
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, dir, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.datastreams, 1);
    CU_ASSERT_EQUAL(rep.observations, 1);
    /* _1 missing, and 00_..._1, _3, _4, _5 named by no observation */
    CU_ASSERT_EQUAL(rep.warnings, 5);
    insitu_store_close(st);
}

static void test_missing_and_broken(void)
{
    const char *const f1[] = {"CATC_OBS_CE.WChem_Od_1.txt not found",
                              "no CATC_DAT_CE.WChem_Od.zip", NULL};
    expect_fail(catc_package(NULL, NULL), NULL, f1);
    const char *row = ";2002-07-28T17:52:00Z;9.8733;1.8143;;31.15;13;1.5575;\n";
    char txt[1024];
    snprintf(txt, sizeof txt, CATC_HEAD "%s", 1, "Water chemistry", row);
    const char *const f2[] = {"CATC_OBS_CE.WChem_Od_2.txt not in CATC_DAT_CE.WChem_Od.zip", NULL};
    expect_fail(catc_package(txt, NULL), NULL, f2);
    /* a truncated JSON document */
    const char *dir = tu_tmpdir();
    FILE *in = fopen(tu_data("theia/CATC_en.json"), "rb");
    char buf[3000];
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = '\0';
    char *json = tu_write(dir, "CATC_en.json", buf);
    const char *const f3[] = {"pivot: CATC_en.json: line", "column", NULL};
    expect_fail(json, NULL, f3);
    free(json);
    /* a 0-byte zip, and a zip that is not one */
    char *empty = tu_write(dir, "CATC_package.zip", "");
    const char *const f4[] = {"empty file (0 bytes)", NULL};
    expect_fail(empty, NULL, f4);
    free(empty);
    char *corrupt = tu_write(dir, "broken.zip", "PK\x03\x04 this is not really a zip archive");
    insitu_store *st = tu_store(NULL);
    insitu_error err;
    insitu_ingest_report rep;
    const char *settings_format[] = {NULL};
    insitu_ingest_options o = {0};
    o.format = "theia-pivot";
    o.settings = settings_format;
    CU_ASSERT_EQUAL(insitu_ingest(st, corrupt, &o, &rep, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "broken.zip"));
    insitu_store_close(st);
    free(corrupt);
}

static void test_encoding_and_flags(void)
{
    char txt1[1024], txt2[1024];
    snprintf(txt1, sizeof txt1, CATC_HEAD "%s", 1, "Donn\xe9" "es chimiques",
             ";2002-07-28T17:52:00Z;9.8733;1.8143;;31.15;13|99;1.5575;\n"
             ";2002-08-28T17:52:00Z;9.8733;1.8143;;-9999.90;13;;\n");
    snprintf(txt2, sizeof txt2, CATC_HEAD "%s", 2, "x",
             ";2002-07-28T09:45:00Z;9.7134;1.7201;;31.73;13;1.5865;\n");
    const char *dir = catc_package(txt1, txt2);
    const char *const f1[] = {"CATC_OBS_CE.WChem_Od_1.txt:3", "not UTF-8", "encoding=cp1252",
                              NULL};
    expect_fail(dir, NULL, f1);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    const char *settings[] = {"encoding=cp1252", NULL};
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, dir, settings, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 3);
    CU_ASSERT_EQUAL(rep.nulls, 1); /* -9999.90 equals missingValue -9999.9 as a number */
    CU_ASSERT_EQUAL(rep.warnings, 1); /* flag 99 is not declared */
    insitu_store_close(st);
}

static void test_metadata_only(void)
{
    const char *const f[] = {"TOUR_OBS_lgt-ec1-ges-eddycovariance_sh-FC.txt not found", NULL};
    expect_fail(tu_data("theia/TOUR_en.json"), NULL, f);
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    const char *settings[] = {"metadata_only=yes", NULL};
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("theia/TOUR_en.json"), settings, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.things, 1);
    CU_ASSERT_EQUAL(rep.datastreams, 5);
    CU_ASSERT_EQUAL(rep.observations, 0);
    /* five variables sharing one Theia category stay five observed properties */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observed_properties"), 5);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE unit_symbol = "
                               "'μmolCO2/m2/s'"),
                    1);
    /* the procedure's sensors name the Sensor, and its JSON is the metadata */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors WHERE name = 'Gill Instruments "
                               "Ltd. HS-50 + LICOR LI-7200/RS' AND encoding_type = "
                               "'application/json'"),
                    1);
    insitu_store_close(st);
}

/* The portal team's SensorThings guideline (docs/formats.md): the data file in each
 * Observation's parameters.source.file, missingValue and processingLevel in the Datastream's
 * properties, on the real packages. */
static void test_guideline_properties(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("theia/CATC_package.zip"), NULL, &rep, &err), 0);
    /* every row of both files names its file, beside its additional value */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations_text o JOIN datastreams d ON "
                               "d.id = o.datastream_id WHERE o.parameters LIKE "
                               "'{\"delta\":%,\"source\":{\"file\":\"' || d.qualifier || "
                               "'.txt\"}}'"),
                    3);
    /* resultTime is the row's date_end (an instant here: the phenomenon time) */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE result_time = "
                               "phenomenon_start AND phenomenon_end IS NULL"),
                    3);
    char *props = tu_text(st, "SELECT properties FROM datastreams WHERE qualifier = "
                              "'CATC_OBS_CE.WChem_Od_2'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(props);
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"missingValue\":\"-9999.9\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"datasetLineage\":\"Dataset acquired during "
                                         "AMMA-CATCH programm."));
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"additionalValues\":[{\"columnName\":\"delta\""));
    CU_ASSERT_PTR_NULL(strstr(props, "processingLevel")); /* CATC gives none */
    free(props);
    insitu_store_close(st);

    st = tu_store(NULL);
    insitu_ingest_options o = {0};
    o.lenient = 1;
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, tu_data("theia/TEST"), &o, &rep, &err), 0);
    props = tu_text(st, "SELECT properties FROM datastreams WHERE qualifier = "
                        "'TEST_OBS_DAT_2_1'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(props);
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"processingLevel\":\"Quality-controlled data\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"missingValue\":\"-99999.99\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(props, "\"datasetLineage\":\"Test lineage 2\""));
    free(props);
    /* without additional columns a file's rows share one parameters text, kept once */
    const char *same = "'{\"source\":{\"file\":\"TEST_OBS_DAT_2_1.txt\"}}'";
    char sql[300];
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations_text WHERE parameters = %s",
             same);
    CU_ASSERT_EQUAL(tu_int(st, sql), 4);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM obs_texts WHERE text = %s", same);
    CU_ASSERT_EQUAL(tu_int(st, sql), 1);
    snprintf(sql, sizeof sql, "SELECT count(*) FROM observations WHERE parameters_id = (SELECT "
                              "id FROM obs_texts WHERE text = %s)", same);
    CU_ASSERT_EQUAL(tu_int(st, sql), 4);
    /* an interval row's resultTime is its date_end */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE result_time = "
                               "phenomenon_end AND phenomenon_end - phenomenon_start = "
                               "86400000000"),
                    7);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE result_time IS NULL"),
                    0);
    /* a re-ingest changes nothing */
    int64_t texts = tu_int(st, "SELECT count(*) FROM obs_texts");
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, tu_data("theia/TEST"), &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.inserted, 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM obs_texts"), texts);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 13);
    insitu_store_close(st);
}

/* A folder package: the real CATC_en.json with a procedure given to each observation (as the
 * schema describes it; no public document has one with lineage), and the real dataset zip. */
static const char *catc_with_procedures(json_t *proc1, json_t *proc2)
{
    const char *dir = catc_with_zip("theia/CATC_DAT_CE.WChem_Od.zip");
    json_error_t jerr;
    json_t *doc = json_load_file(tu_data("theia/CATC_en.json"), 0, &jerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(doc);
    json_t *obs = json_object_get(json_array_get(json_object_get(doc, "datasets"), 0),
                                  "observations");
    json_object_set_new(json_array_get(obs, 0), "procedure", proc1);
    json_object_set_new(json_array_get(obs, 1), "procedure", proc2);
    char path[600];
    snprintf(path, sizeof path, "%s/CATC_en.json", dir);
    CU_ASSERT_EQUAL(json_dump_file(doc, path, JSON_INDENT(2)), 0);
    json_decref(doc);
    return dir;
}

static json_t *procedure(const char *lineage, const char *date)
{
    return json_pack("{s{ss s[{ssss}]} s[{ssss}]}", "dataProduction", "method",
                     "Manual sampling, ICP-AES in the laboratory", "sensors", "manufacturer",
                     "Thermo", "model", "iCAP 6000", "lineageInformations",
                     "processingDescription", lineage, "processingDate", date);
}

/* The guideline puts the procedure's lineage in the Sensor's properties, and its method in
 * the Sensor's description. */
static void test_sensor_lineage(void)
{
    const char *dir = catc_with_procedures(procedure("Validated by the PI", "2019-01-02T00:00:00Z"),
                                           procedure("Recomputed after recalibration",
                                                     "2020-05-06T00:00:00Z"));
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, dir, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.warnings, 0);
    /* one instrument, two lineages: two Sensors, each with its own */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors WHERE name = 'Thermo iCAP 6000' "
                               "AND description = 'Manual sampling, ICP-AES in the laboratory'"),
                    2);
    char *props = tu_text(st, "SELECT s.properties FROM sensors s JOIN datastreams d ON "
                              "d.sensor_id = s.id WHERE d.qualifier = 'CATC_OBS_CE.WChem_Od_2'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(props);
    CU_ASSERT_STRING_EQUAL(props, "{\"lineageInformations\":[{\"processingDate\":"
                                  "\"2020-05-06T00:00:00Z\",\"processingDescription\":"
                                  "\"Recomputed after recalibration\"}]}");
    free(props);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors s JOIN datastreams d ON "
                               "d.sensor_id = s.id WHERE d.qualifier = 'CATC_OBS_CE.WChem_Od_1' "
                               "AND s.properties LIKE '%Validated by the PI%'"),
                    1);
    /* the same package again changes nothing */
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, dir, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.inserted, 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors"), 2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams"), 2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 3);
    insitu_store_close(st);

    /* the same lineage is the same Sensor; a lineage that is not a list is warned about */
    json_t *bad = procedure("x", "2020-01-01T00:00:00Z");
    json_object_set_new(bad, "lineageInformations", json_string("Validated"));
    dir = catc_with_procedures(procedure("Validated by the PI", "2019-01-02T00:00:00Z"), bad);
    st = tu_store(NULL);
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, dir, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.warnings, 1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors WHERE properties IS NULL"), 1);
    insitu_store_close(st);
    dir = catc_with_procedures(procedure("Validated by the PI", "2019-01-02T00:00:00Z"),
                               procedure("Validated by the PI", "2019-01-02T00:00:00Z"));
    st = tu_store(NULL);
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, dir, NULL, &rep, &err), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors"), 1);
    insitu_store_close(st);
}

/* The guideline's MultiDatastream for additional values (additional_values=multidatastream):
 * the value then the additional values as members, array results, idempotent re-ingest, the
 * default mapping unchanged; a missing column gives nulls and a warning. */
static void test_guideline_multidatastream(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    const char *settings[] = {"additional_values=multidatastream", NULL};
    CU_ASSERT_EQUAL_FATAL(tu_ingest(st, tu_data("theia/CATC_package.zip"), settings, &rep, &err),
                          0);
    CU_ASSERT_EQUAL(rep.datastreams, 2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE multi = 1 AND "
                               "observation_type LIKE '%/OM_ComplexObservation' AND qualifier = "
                               "'multi:CATC_OBS_CE.WChem_Od_2'"),
                    1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE multi = 0"), 0);
    /* members in order: the value's property, then delta's */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM multi_datastream_properties m JOIN "
                               "observed_properties p ON p.id = m.observed_property_id WHERE "
                               "(m.position = 0 AND p.name = 'Silicon') OR (m.position = 1 AND "
                               "p.name = 'delta' AND p.definition = "
                               "'https://w3id.org/ozcar-theia/groundwaterMetallicTraceElements"
                               "#delta')"),
                    4);
    char *types = tu_text(st, "SELECT multi_types || unit_json FROM datastreams WHERE qualifier = "
                              "'multi:CATC_OBS_CE.WChem_Od_1'");
    CU_ASSERT_STRING_EQUAL(types ? types : "",
                           "[\"http://www.opengis.net/def/observationType/OGC-OM/2.0/"
                           "OM_Measurement\",\"http://www.opengis.net/def/observationType/"
                           "OGC-OM/2.0/OM_Measurement\"][{\"definition\":\"\",\"name\":"
                           "\"g.m-3\",\"symbol\":\"g.m-3\"},{\"definition\":\"\",\"name\":"
                           "\"\",\"symbol\":\"\"}]");
    free(types);
    /* the CLI shows the units' symbols joined */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE unit_symbol = 'g.m-3|'"),
                    2);
    /* [value, delta], and delta left the parameters */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations_text WHERE result IS NULL AND "
                               "result_json IN ('[31.15,1.5575]', '[29.83,1.4915]', "
                               "'[31.73,1.5865]') AND parameters NOT LIKE '%delta%'"),
                    3);
    /* a re-ingest changes nothing */
    insitu_ingest_options o = {0};
    o.force = 1;
    o.settings = settings;
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, tu_data("theia/CATC_package.zip"), &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams"), 2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM multi_datastream_properties"), 4);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observed_properties"), 2);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations"), 3);
    insitu_store_close(st);

    /* a data file without the delta column: nulls in the results, not an error */
    st = tu_store(NULL);
    const char *txt = "#Date_of_extraction;2018-10-04T10:20:35Z;\n"
                      "#Observation_ID;CATC_OBS_CE.WChem_Od_1;\n#Dataset_title;t;\n"
                      "#Variable_name;Silicon;\n"
                      "date_begin;date_end;latitude;longitude;altitude;value;qualityFlags;\n"
                      ";2002-07-28T17:52:00Z;;;;31.15;13;\n";
    const char *dir = catc_package(txt, NULL);
    o.lenient = 1; /* the second data file is absent */
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(st, dir, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE result_json = "
                               "'[31.15,null]'"),
                    1);
    insitu_store_close(st);

    const char *bad[] = {"additional_values=both", NULL};
    st = tu_store(NULL);
    CU_ASSERT_EQUAL(tu_ingest(st, tu_data("theia/CATC_package.zip"), bad, &rep, &err),
                    INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "additional_values"));
    insitu_store_close(st);
}

static void add_tests(CU_pSuite s)
{
    CU_add_test(s, "the real AMMA-CATCH package (zip, folder, JSON)", test_catc_package);
    CU_add_test(s, "TEST package: duplicate ids, intervals, missing, flags, CRLF",
                test_test_package);
    CU_add_test(s, "the import service's invalid data files", test_portal_negative_cases);
    CU_add_test(s, "lenient mode skips what is wrong, with warnings", test_lenient_wrong_files);
    CU_add_test(s, "missing data files, truncated JSON, bad zips", test_missing_and_broken);
    CU_add_test(s, "non-UTF-8 files and undeclared flags", test_encoding_and_flags);
    CU_add_test(s, "metadata only: the TOUR document", test_metadata_only);
    CU_add_test(s, "guideline: parameters.source.file, missingValue, processingLevel",
                test_guideline_properties);
    CU_add_test(s, "guideline: additional values as a MultiDatastream",
                test_guideline_multidatastream);
    CU_add_test(s, "guideline: the procedure's lineage in the Sensor's properties",
                test_sensor_lineage);
}

int main(void) { return tu_main("pivot", add_tests, NULL, NULL); }
