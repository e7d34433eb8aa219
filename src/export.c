/*
 * export.c: streaming writers: tables as CSV / JSON / GeoJSON, and observation queries as
 * those or as OGC WaterML 2.0 (libxml2's xmlTextWriter). One row in memory at a time.
 */
#include "export.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <libxml/xmlwriter.h>

#include "config.h"
#include "store.h"
#include "timeutil.h"

int out_format_parse(const char *name)
{
    if (str_ieq(name, "csv"))
        return OUT_CSV;
    if (str_ieq(name, "json"))
        return OUT_JSON;
    if (str_ieq(name, "geojson"))
        return OUT_GEOJSON;
    if (str_ieq(name, "waterml2") || str_ieq(name, "wml2"))
        return OUT_WATERML2;
    return -1;
}

int tw_begin(struct table_writer *tw, FILE *out, enum out_format format,
             const char *const *columns, int ncols, int id_col)
{
    memset(tw, 0, sizeof *tw);
    tw->out = out;
    tw->format = format;
    tw->columns = columns;
    tw->ncols = ncols;
    tw->id_col = id_col;
    if (format == OUT_CSV) {
        for (int i = 0; i < ncols; i++) {
            if (i)
                sb_putc(&tw->line, ',');
            sb_put_csv_field(&tw->line, columns[i]);
        }
        sb_putc(&tw->line, '\n');
        fputs(tw->line.data, out);
    } else if (format == OUT_JSON) {
        fputs("[", out);
    } else if (format == OUT_GEOJSON) {
        fputs("{\"type\":\"FeatureCollection\",\"features\":[", out);
    }
    return ferror(out) ? INSITU_EIO : 0;
}

static void put_cell_text(struct strbuf *sb, const struct cell *c)
{
    char buf[48];
    switch (c->type) {
    case CELL_INT: sb_printf(sb, "%lld", (long long)c->i); break;
    case CELL_REAL: fmt_double(c->d, buf, sizeof buf); sb_puts(sb, buf); break;
    case CELL_TIME: sb_puts(sb, time_format_iso(c->i, buf, sizeof buf)); break;
    case CELL_TEXT:
    case CELL_JSON: sb_puts(sb, c->s); break;
    default: break;
    }
}

static void put_cell_json(struct strbuf *sb, const struct cell *c)
{
    char buf[48];
    switch (c->type) {
    case CELL_INT: sb_printf(sb, "%lld", (long long)c->i); break;
    case CELL_REAL:
        fmt_double(c->d, buf, sizeof buf);
        sb_puts(sb, strpbrk(buf, "NI") ? "null" : buf); /* NaN/Infinity are not JSON */
        break;
    case CELL_TIME: sb_put_json_string(sb, time_format_iso(c->i, buf, sizeof buf)); break;
    case CELL_TEXT: sb_put_json_string(sb, c->s); break;
    case CELL_JSON: sb_puts(sb, *c->s ? c->s : "null"); break;
    default: sb_puts(sb, "null"); break;
    }
}

int tw_row(struct table_writer *tw, const struct cell *cells, const char *geometry)
{
    struct strbuf *sb = &tw->line;
    sb_reset(sb);
    if (tw->format == OUT_CSV) {
        struct strbuf field = {0};
        for (int i = 0; i < tw->ncols; i++) {
            if (i)
                sb_putc(sb, ',');
            sb_reset(&field);
            put_cell_text(&field, &cells[i]);
            if (field.len)
                sb_put_csv_field(sb, field.data);
        }
        sb_free(&field);
        sb_putc(sb, '\n');
    } else {
        if (tw->rows)
            sb_putc(sb, ',');
        sb_putc(sb, '\n');
        if (tw->format == OUT_GEOJSON) {
            sb_puts(sb, "{\"type\":\"Feature\",");
            if (tw->id_col >= 0 && cells[tw->id_col].type != CELL_NULL) {
                sb_puts(sb, "\"id\":");
                put_cell_json(sb, &cells[tw->id_col]);
                sb_putc(sb, ',');
            }
            sb_printf(sb, "\"geometry\":%s,\"properties\":", geometry ? geometry : "null");
        }
        sb_putc(sb, '{');
        for (int i = 0; i < tw->ncols; i++) {
            if (i)
                sb_putc(sb, ',');
            sb_put_json_string(sb, tw->columns[i]);
            sb_putc(sb, ':');
            put_cell_json(sb, &cells[i]);
        }
        sb_putc(sb, '}');
        if (tw->format == OUT_GEOJSON)
            sb_putc(sb, '}');
    }
    tw->rows++;
    fwrite(sb->data, 1, sb->len, tw->out);
    return ferror(tw->out) ? INSITU_EIO : 0;
}

int tw_end(struct table_writer *tw)
{
    if (tw->format == OUT_JSON)
        fputs(tw->rows ? "\n]\n" : "]\n", tw->out);
    else if (tw->format == OUT_GEOJSON)
        fputs(tw->rows ? "\n]}\n" : "]}\n", tw->out);
    sb_free(&tw->line);
    return fflush(tw->out) || ferror(tw->out) ? INSITU_EIO : 0;
}

/* ---- observation queries ---- */

static const char *const query_columns[] = {
    "datastream_id", "thing",  "observed_property",   "unit",      "phenomenon_time",
    "result",        "result_quality", "phenomenon_time_end", "parameters", "count"};

static int export_table(insitu_cursor *cur, const insitu_query *q, FILE *out,
                        enum out_format format, uint64_t *rows, insitu_error *err)
{
    struct table_writer tw;
    int ncols = q->aggregate ? 8 : 9;
    const char *cols[10];
    memcpy(cols, query_columns, sizeof cols);
    if (q->aggregate) {
        cols[8] = "count";
        ncols = 9;
    }
    int rc = tw_begin(&tw, out, format, cols, ncols, -1);
    insitu_obs o;
    while (!rc && (rc = insitu_cursor_next(cur, &o, err)) == 1) {
        struct cell cells[9] = {
            cell_int(o.datastream_id),
            cell_text(o.thing),
            cell_text(o.observed_property),
            cell_text(o.unit),
            cell_time(o.phenomenon_start_us),
            o.has_result ? cell_real(o.result)
                         : (format == OUT_CSV ? cell_text(o.result_json) : cell_json(o.result_json)),
            cell_text(o.result_quality),
            cell_time(o.phenomenon_end_us),
            q->aggregate ? cell_int(o.count) : cell_json(o.parameters),
        };
        if (format == OUT_CSV && !o.has_result && o.result_json && o.result_json[0] == '"') {
            /* a text result: the CSV shows the text, not its JSON quoting */
            struct strbuf unq = {0};
            sb_append(&unq, o.result_json + 1, strlen(o.result_json) - 2);
            cells[5] = cell_text(unq.data);
            rc = tw_row(&tw, cells, o.feature_geojson);
            sb_free(&unq);
        } else {
            rc = tw_row(&tw, cells, o.feature_geojson);
        }
        if (rc)
            rc = insitu_error_set(err, INSITU_EIO, "cannot write output");
        (*rows)++;
    }
    if (rc < 0) {
        sb_free(&tw.line);
        return rc;
    }
    if (tw_end(&tw))
        return insitu_error_set(err, INSITU_EIO, "cannot write output");
    return 0;
}

/* ---- WaterML 2.0 ---- */

#define NS_WML2 "http://www.opengis.net/waterml/2.0"
#define NS_GML "http://www.opengis.net/gml/3.2"

static void wml_time_element(xmlTextWriterPtr w, const char *name, int64_t us)
{
    char buf[40];
    xmlTextWriterWriteElement(w, BAD_CAST name, BAD_CAST time_format_iso(us, buf, sizeof buf));
}

/* The station as a wml2:MonitoringPoint: its code and name, and its position when its
 * current Location is a Point (gml:pos in EPSG:4326's own order, latitude first). */
static void wml_monitoring_point(xmlTextWriterPtr w, struct store *st, int64_t datastream_id)
{
    struct strbuf sql = {0};
    sb_puts(&sql, "SELECT t.code, t.name, ");
    dialect_geojson_sql(st->dialect, &sql, "l", "location");
    sb_puts(&sql, " FROM datastreams d JOIN things t ON t.id = d.thing_id LEFT JOIN "
                  "thing_locations tl ON tl.thing_id = t.id LEFT JOIN locations l ON l.id = "
                  "tl.location_id WHERE d.id = ? ORDER BY l.id LIMIT 1");
    struct stmt *s;
    if (!sql.data || st_prepare(st, sql.data, &s, NULL)) {
        sb_free(&sql);
        return;
    }
    sb_free(&sql);
    st_bind_int64(s, 1, datastream_id);
    if (st_step(s, NULL) == 1) {
        char id[48], pos[96] = "";
        json_t *g = st_col_is_null(s, 2) ? NULL : json_loads(st_col_text(s, 2), 0, NULL);
        json_t *c = json_object_get(g, "coordinates");
        const char *type = json_string_value(json_object_get(g, "type"));
        if (type && strcmp(type, "Point") == 0 && json_array_size(c) >= 2) {
            char lat[40], lon[40];
            fmt_double(json_number_value(json_array_get(c, 1)), lat, sizeof lat);
            fmt_double(json_number_value(json_array_get(c, 0)), lon, sizeof lon);
            snprintf(pos, sizeof pos, "%s %s", lat, lon);
        }
        json_decref(g);
        xmlTextWriterStartElement(w, BAD_CAST "wml2:MonitoringPoint");
        snprintf(id, sizeof id, "mp-%lld", (long long)datastream_id);
        xmlTextWriterWriteAttribute(w, BAD_CAST "gml:id", BAD_CAST id);
        xmlTextWriterStartElement(w, BAD_CAST "gml:identifier");
        xmlTextWriterWriteAttribute(w, BAD_CAST "codeSpace", BAD_CAST "insitu");
        xmlTextWriterWriteString(w, BAD_CAST st_col_text(s, 0));
        xmlTextWriterEndElement(w);
        xmlTextWriterWriteElement(w, BAD_CAST "gml:name", BAD_CAST st_col_text(s, 1));
        xmlTextWriterStartElement(w, BAD_CAST "sf:type");
        xmlTextWriterWriteAttribute(
            w, BAD_CAST "xlink:href",
            BAD_CAST "http://www.opengis.net/def/samplingFeatureType/OGC-OM/2.0/SF_SamplingPoint");
        xmlTextWriterEndElement(w);
        xmlTextWriterStartElement(w, BAD_CAST "sf:sampledFeature");
        xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:title", BAD_CAST st_col_text(s, 1));
        xmlTextWriterEndElement(w);
        if (*pos) {
            xmlTextWriterStartElement(w, BAD_CAST "sams:shape");
            xmlTextWriterStartElement(w, BAD_CAST "gml:Point");
            snprintf(id, sizeof id, "pos-%lld", (long long)datastream_id);
            xmlTextWriterWriteAttribute(w, BAD_CAST "gml:id", BAD_CAST id);
            xmlTextWriterStartElement(w, BAD_CAST "gml:pos");
            xmlTextWriterWriteAttribute(w, BAD_CAST "srsName",
                                        BAD_CAST "http://www.opengis.net/def/crs/EPSG/0/4326");
            xmlTextWriterWriteString(w, BAD_CAST pos);
            xmlTextWriterEndElement(w);
            xmlTextWriterEndElement(w);
            xmlTextWriterEndElement(w);
        }
        xmlTextWriterEndElement(w);
    }
    st_finalize(s);
}

static void wml_begin_series(xmlTextWriterPtr w, struct store *st, const insitu_obs *o,
                             int aggregate)
{
    char id[64];
    int64_t begin = o->phenomenon_start_us, end = o->phenomenon_start_us;
    struct stmt *s;
    if (st_prepare(st, "SELECT phenomenon_start, phenomenon_end FROM datastreams WHERE id = ?", &s,
                   NULL) == 0) {
        st_bind_int64(s, 1, o->datastream_id);
        if (st_step(s, NULL) == 1 && !st_col_is_null(s, 0)) {
            begin = st_col_int64(s, 0);
            end = st_col_int64(s, 1);
        }
        st_finalize(s);
    }
    xmlTextWriterStartElement(w, BAD_CAST "wml2:observationMember");
    xmlTextWriterStartElement(w, BAD_CAST "om:OM_Observation");
    snprintf(id, sizeof id, "obs-%lld", (long long)o->datastream_id);
    xmlTextWriterWriteAttribute(w, BAD_CAST "gml:id", BAD_CAST id);
    xmlTextWriterStartElement(w, BAD_CAST "om:phenomenonTime");
    xmlTextWriterStartElement(w, BAD_CAST "gml:TimePeriod");
    snprintf(id, sizeof id, "pt-%lld", (long long)o->datastream_id);
    xmlTextWriterWriteAttribute(w, BAD_CAST "gml:id", BAD_CAST id);
    wml_time_element(w, "gml:beginPosition", begin);
    wml_time_element(w, "gml:endPosition", end);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "om:resultTime");
    xmlTextWriterStartElement(w, BAD_CAST "gml:TimeInstant");
    snprintf(id, sizeof id, "rt-%lld", (long long)o->datastream_id);
    xmlTextWriterWriteAttribute(w, BAD_CAST "gml:id", BAD_CAST id);
    wml_time_element(w, "gml:timePosition", end);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "om:procedure");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:title", BAD_CAST(o->sensor ? o->sensor : ""));
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "om:observedProperty");
    if (o->observed_property_definition)
        xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:href",
                                    BAD_CAST o->observed_property_definition);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:title", BAD_CAST o->observed_property);
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "om:featureOfInterest");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:title", BAD_CAST o->thing);
    wml_monitoring_point(w, st, o->datastream_id);
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "om:result");
    xmlTextWriterStartElement(w, BAD_CAST "wml2:MeasurementTimeseries");
    snprintf(id, sizeof id, "ts-%lld", (long long)o->datastream_id);
    xmlTextWriterWriteAttribute(w, BAD_CAST "gml:id", BAD_CAST id);
    xmlTextWriterStartElement(w, BAD_CAST "wml2:defaultPointMetadata");
    xmlTextWriterStartElement(w, BAD_CAST "wml2:DefaultTVPMeasurementMetadata");
    xmlTextWriterStartElement(w, BAD_CAST "wml2:uom");
    xmlTextWriterWriteAttribute(w, BAD_CAST "code", BAD_CAST(o->unit ? o->unit : ""));
    xmlTextWriterEndElement(w);
    xmlTextWriterStartElement(w, BAD_CAST "wml2:interpolationType");
    const char *interp = aggregate ? "AveragePrec" : "Discontinuous";
    char href[160];
    snprintf(href, sizeof href, "http://www.opengis.net/def/waterml/2.0/interpolationType/%s",
             interp);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:href", BAD_CAST href);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:title", BAD_CAST interp);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
}

static void wml_point(xmlTextWriterPtr w, const insitu_obs *o, int aggregate)
{
    char buf[48];
    xmlTextWriterStartElement(w, BAD_CAST "wml2:point");
    xmlTextWriterStartElement(w, BAD_CAST "wml2:MeasurementTVP");
    /* an aggregate's value stands for its bucket, and is stamped at the bucket's end */
    wml_time_element(w, "wml2:time", aggregate ? o->phenomenon_end_us : o->phenomenon_start_us);
    xmlTextWriterStartElement(w, BAD_CAST "wml2:value");
    if (o->has_result) {
        fmt_double(o->result, buf, sizeof buf);
        xmlTextWriterWriteString(w, BAD_CAST buf);
    } else {
        xmlTextWriterWriteAttribute(w, BAD_CAST "xsi:nil", BAD_CAST "true");
    }
    xmlTextWriterEndElement(w);
    if ((o->result_quality && *o->result_quality) || !o->has_result) {
        xmlTextWriterStartElement(w, BAD_CAST "wml2:metadata");
        xmlTextWriterStartElement(w, BAD_CAST "wml2:TVPMeasurementMetadata");
        if (o->result_quality && *o->result_quality) {
            xmlTextWriterStartElement(w, BAD_CAST "wml2:qualifier");
            xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:title", BAD_CAST o->result_quality);
            xmlTextWriterEndElement(w);
        }
        if (!o->has_result) {
            xmlTextWriterStartElement(w, BAD_CAST "wml2:nilReason");
            xmlTextWriterWriteAttribute(w, BAD_CAST "xlink:href", BAD_CAST "missing");
            xmlTextWriterEndElement(w);
        }
        xmlTextWriterEndElement(w);
        xmlTextWriterEndElement(w);
    }
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
}

static int export_waterml2(struct store *st, insitu_cursor *cur, const insitu_query *q,
                           FILE *out, uint64_t *rows, insitu_error *err)
{
    xmlOutputBufferPtr buf = xmlOutputBufferCreateFile(out, NULL);
    xmlTextWriterPtr w = buf ? xmlNewTextWriter(buf) : NULL;
    if (!w)
        return insitu_error_set(err, INSITU_ENOMEM, "cannot start the WaterML writer");
    xmlTextWriterSetIndent(w, 1);
    xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL);
    xmlTextWriterStartElement(w, BAD_CAST "wml2:Collection");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:wml2", BAD_CAST NS_WML2);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:gml", BAD_CAST NS_GML);
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:om", BAD_CAST "http://www.opengis.net/om/2.0");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:sf",
                                BAD_CAST "http://www.opengis.net/sampling/2.0");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:sams",
                                BAD_CAST "http://www.opengis.net/samplingSpatial/2.0");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:xlink", BAD_CAST "http://www.w3.org/1999/xlink");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xmlns:xsi",
                                BAD_CAST "http://www.w3.org/2001/XMLSchema-instance");
    xmlTextWriterWriteAttribute(w, BAD_CAST "xsi:schemaLocation",
                                BAD_CAST NS_WML2 " http://schemas.opengis.net/waterml/2.0/waterml2.xsd");
    xmlTextWriterWriteAttribute(w, BAD_CAST "gml:id", BAD_CAST "insitu-collection");
    xmlTextWriterStartElement(w, BAD_CAST "wml2:metadata");
    xmlTextWriterStartElement(w, BAD_CAST "wml2:DocumentMetadata");
    xmlTextWriterWriteAttribute(w, BAD_CAST "gml:id", BAD_CAST "insitu-document");
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    wml_time_element(w, "wml2:generationDate", (int64_t)ts.tv_sec * US_PER_SEC);
    xmlTextWriterWriteElement(w, BAD_CAST "wml2:generationSystem",
                              BAD_CAST "insitu " PACKAGE_VERSION);
    xmlTextWriterEndElement(w);
    xmlTextWriterEndElement(w);
    insitu_obs o;
    int rc;
    int64_t current = -1;
    while ((rc = insitu_cursor_next(cur, &o, err)) == 1) {
        if (o.datastream_id != current) {
            if (current >= 0)
                for (int k = 0; k < 4; k++) /* MeasurementTimeseries, result, OM_Obs, member */
                    xmlTextWriterEndElement(w);
            wml_begin_series(w, st, &o, q->aggregate != INSITU_AGG_NONE);
            current = o.datastream_id;
        }
        wml_point(w, &o, q->aggregate != INSITU_AGG_NONE);
        (*rows)++;
    }
    xmlTextWriterEndDocument(w); /* closes every open element */
    xmlFreeTextWriter(w);
    if (rc < 0)
        return rc;
    return fflush(out) ? insitu_error_set(err, INSITU_EIO, "cannot write output") : 0;
}

int export_query(insitu_store *store, const insitu_query *q, FILE *out, enum out_format format,
                 uint64_t *rows, insitu_error *err)
{
    insitu_cursor *cur;
    insitu_query qq = *q;
    qq.with_features = format == OUT_GEOJSON;
    *rows = 0;
    int rc = insitu_query_open(store, &qq, &cur, err);
    if (rc)
        return rc;
    if (format == OUT_WATERML2)
        rc = export_waterml2(&store->base, cur, &qq, out, rows, err);
    else
        rc = export_table(cur, &qq, out, format, rows, err);
    insitu_cursor_close(cur);
    return rc;
}
