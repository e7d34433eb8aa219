/*
 * pull.c: `insitu pull`: series from remote catalogues. Builds each service's requests
 * (Hydrocron time series per SWOT feature, Hydroweb.next WFS GetFeature paged with
 * count/startIndex, THEIA/OZCAR dataset downloads), fetches them (fetch.c) and ingests each
 * as one source named by its request URL; harvests SensorThings API endpoints (each
 * Datastream's Observations newer than the last harvest, one source). Never parses a
 * response beyond paging, the ids it pages through, and errors; never holds a base URL or a
 * credential of its own: they come from the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "fetch.h"
#include "ingest.h"
#include "store.h"
#include "timeutil.h"
#include "util.h"

enum { HYDROWEB_NAMES_PER_REQUEST = 50, HYDROCRON_MAX_SPLITS = 5, MAX_PAGES = 100000 };

struct pull {
    insitu_store *store;
    const insitu_pull_options *o;
    insitu_ingest_options ingest;   /* the caller's, with format and fetch options set */
    insitu_fetch_options fetch;     /* the caller's, with the service's key header added */
    const char *headers[2];
    char key_header[600];
    int first_error;
    insitu_error *err;
    int64_t from, to; /* sta: --from and --to, INSITU_TIME_NONE when not given */
};

/* Reports one source's outcome and remembers the first failure. */
static void report(struct pull *p, const char *source, const insitu_ingest_report *rep,
                   int rc, const insitu_error *e)
{
    if (rc && !p->first_error) {
        p->first_error = rc;
        if (p->err && e)
            *p->err = *e;
    }
    if (p->o->on_source)
        p->o->on_source(p->o->ctx, source, rep, rc ? e : NULL);
}

static void report_empty(struct pull *p, const char *source, const char *ingester,
                         const char *why)
{
    insitu_ingest_report rep;
    memset(&rep, 0, sizeof rep);
    snprintf(rep.status, sizeof rep.status, "skipped");
    snprintf(rep.ingester, sizeof rep.ingester, "%s", ingester);
    snprintf(rep.message, sizeof rep.message, "%s", why);
    report(p, source, &rep, 0, NULL);
}

static void base_url(struct strbuf *sb, const char *base)
{
    size_t n = strlen(base);
    while (n && base[n - 1] == '/')
        n--;
    sb_append(sb, base, n);
}

static void add_param(struct strbuf *sb, const char *key, const char *value)
{
    sb_printf(sb, "%c%s=", strchr(sb_str(sb), '?') ? '&' : '?', key);
    fetch_escape(sb, value);
}

static int parse_time_arg(const char *name, const char *text, int64_t *out, insitu_error *err)
{
    if (!text || !*text)
        return insitu_error_set(err, INSITU_EUSAGE, "pull: --%s is required", name);
    insitu_error terr;
    if (insitu_time_parse(text, 0, out, &terr))
        return insitu_error_set(err, INSITU_EUSAGE, "pull: --%s %s: %s", name, text,
                                terr.message);
    return 0;
}

/* The request's --from and --to (both required). */
static int parse_time_range(const insitu_pull_options *o, int64_t *from, int64_t *to,
                            insitu_error *err)
{
    int rc = parse_time_arg("from", o->from, from, err);
    return rc ? rc : parse_time_arg("to", o->to, to, err);
}

/* ---- Hydrocron ---- */

static const char *const hydrocron_features[][2] = {
    {"Reach", "reach_id,time,time_str,wse,wse_u,width,width_u,slope,slope_u,area_total,"
              "area_tot_u,dschg_c,dschg_c_u,dschg_c_q,reach_q,reach_q_b,river_name,cycle_id,"
              "pass_id,continent_id,crid,granuleUR,geometry"},
    {"Node", "node_id,reach_id,time,time_str,wse,wse_u,width,width_u,node_q,node_q_b,"
             "river_name,cycle_id,pass_id,continent_id,crid,granuleUR,geometry"},
    {"PriorLake", "lake_id,time,time_str,wse,wse_u,area_total,area_tot_u,quality_f,qual_f_b,"
                  "lake_name,cycle_id,pass_id,continent_id,crid,granuleUR,geometry"},
};

static void format_time(int64_t us, char *buf, size_t size) { time_format_iso(us, buf, size); }

/* One Hydrocron request for id over [from, to]; a response too large for the service (413)
 * is asked again as two halves. */
static void hydrocron_one(struct pull *p, const char *feature, const char *fields,
                          const char *id, int64_t from, int64_t to, int depth)
{
    char t0[40], t1[40];
    format_time(from, t0, sizeof t0);
    format_time(to, t1, sizeof t1);
    struct strbuf url = {0}, name = {0};
    base_url(&url, p->o->base_url);
    sb_puts(&url, "/timeseries");
    add_param(&url, "feature", feature);
    add_param(&url, "feature_id", id);
    add_param(&url, "start_time", t0);
    add_param(&url, "end_time", t1);
    add_param(&url, "output", "geojson");
    add_param(&url, "compact", "true");
    add_param(&url, "fields", fields);
    if (p->o->collection && *p->o->collection)
        add_param(&url, "collection_name", p->o->collection);
    sb_printf(&name, "hydrocron-%s.json", id);
    struct fetch_result fr;
    insitu_error e = {0};
    insitu_ingest_report rep;
    memset(&rep, 0, sizeof rep);
    int rc = fetch_url(url.data, name.data, &p->fetch, &fr, &e);
    if (rc && fr.status == 413 && depth < HYDROCRON_MAX_SPLITS && to - from > 7 * US_PER_DAY) {
        int64_t mid = from + (to - from) / 2;
        hydrocron_one(p, feature, fields, id, from, mid, depth + 1);
        hydrocron_one(p, feature, fields, id, mid, to, depth + 1);
    } else if (rc && fr.status == 400 &&
               (strcasestr(fr.detail, "not found") || strcasestr(fr.detail, "no results"))) {
        /* the service's way of saying that the feature has no data in the range */
        char why[sizeof rep.message];
        snprintf(why, sizeof why, "no data: %.400s", fr.detail);
        report_empty(p, url.data, "hydrocron", why);
    } else if (rc) {
        report(p, url.data, &rep, rc, &e);
    } else {
        rc = ingest_local_as(p->store, url.data, fr.path, fr.checksum, fr.bytes, &p->ingest,
                             &rep, &e);
        report(p, url.data, &rep, rc, &e);
    }
    fetch_result_free(&fr);
    sb_free(&url);
    sb_free(&name);
}

static int hydrocron_pull(struct pull *p, insitu_error *err)
{
    const insitu_pull_options *o = p->o;
    int64_t from, to;
    int rc = parse_time_range(o, &from, &to, err);
    if (rc)
        return rc;
    const char *feature = NULL, *fields = NULL;
    for (size_t i = 0; i < ARRAY_LEN(hydrocron_features) && !feature; i++)
        if (!o->feature || str_ieq(o->feature, hydrocron_features[i][0])) {
            feature = hydrocron_features[i][0];
            fields = hydrocron_features[i][1];
        }
    if (!feature)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "pull hydrocron: --feature %s: expected Reach, Node or PriorLake",
                                o->feature);
    if (o->fields && *o->fields)
        fields = o->fields;
    if (o->api_key && *o->api_key) {
        snprintf(p->key_header, sizeof p->key_header, "x-hydrocron-key: %s", o->api_key);
        p->headers[0] = p->key_header;
        p->fetch.headers = p->headers;
    }
    p->ingest.format = "hydrocron";
    for (size_t i = 0; o->ids[i]; i++)
        hydrocron_one(p, feature, fields, o->ids[i], from, to, 0);
    return 0;
}

/* ---- Hydroweb.next WFS ---- */

/* The text of an OGC ExceptionReport (GeoServer answers errors that way, with a 200 or an
 * error status), from a file or from memory. */
static void wfs_exception(const char *path, const char *mem, char *msg, size_t size)
{
    int flags = XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING;
    xml_errors_quiet();
    xmlDocPtr doc = path ? xmlReadFile(path, NULL, flags)
                         : xmlReadMemory(mem, (int)strlen(mem), "exception.xml", NULL, flags);
    if (!doc)
        return;
    int found = 0;
    xmlNodePtr stack[64];
    int top = 0;
    stack[top++] = xmlDocGetRootElement(doc);
    while (top > 0 && !found) {
        xmlNodePtr n = stack[--top];
        for (; n && !found; n = n->next) {
            if (n->type != XML_ELEMENT_NODE)
                continue;
            if (xmlStrcmp(n->name, (const xmlChar *)"ExceptionText") == 0 ||
                xmlStrcmp(n->name, (const xmlChar *)"ServiceException") == 0) {
                xmlChar *text = xmlNodeGetContent(n);
                snprintf(msg, size, "%s", text ? (const char *)text : "");
                xmlFree(text);
                found = 1;
            } else if (n->children && top < 64) {
                stack[top++] = n->children;
            }
        }
    }
    xmlFreeDoc(doc);
    if (found) {
        char *t = str_trim(msg);
        memmove(msg, t, strlen(t) + 1);
        for (char *c = msg; *c; c++)
            if (*c == '\n' || *c == '\r')
                *c = ' ';
    }
}

/* Appends a page (a CSV file) to out; the header is written once and must not change. The
 * number of data rows is added to *rows. */
static int append_page(const char *page, FILE *out, struct sha256 *hash, struct strbuf *header,
                       uint64_t *rows, uint64_t *bytes, const char *url, insitu_error *err)
{
    FILE *in = fopen(page, "rb");
    if (!in)
        return insitu_error_set(err, INSITU_EIO, "pull: %s: cannot read the page", url);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int first = 1, rc = 0;
    while ((n = getline(&line, &cap, in)) > 0) {
        if (first) {
            first = 0;
            if (header->len) {
                if ((size_t)n != header->len || memcmp(line, header->data, (size_t)n) != 0)
                    rc = insitu_error_set(err, INSITU_EINVAL,
                                          "pull: %s: a page's header differs from the first "
                                          "page's",
                                          url);
                if (rc)
                    break;
                continue;
            }
            sb_append(header, line, (size_t)n);
        } else if (!(n == 1 && line[0] == '\n') && !(n == 2 && line[0] == '\r')) {
            (*rows)++;
        }
        if (fwrite(line, 1, (size_t)n, out) != (size_t)n) {
            rc = insitu_error_set(err, INSITU_EIO, "pull: cannot write the joined pages");
            break;
        }
        sha256_update(hash, line, (size_t)n);
        *bytes += (uint64_t)n;
    }
    free(line);
    fclose(in);
    return rc;
}

/* Fetches every page of one GetFeature request into one file; the source is `url`. */
static int wfs_pages(struct pull *p, const char *url, const char *joined, char checksum[65],
                     uint64_t *bytes, uint64_t *rows, insitu_error *err)
{
    size_t count = p->o->page_size ? p->o->page_size : 10000;
    FILE *out = fopen(joined, "wb");
    if (!out)
        return insitu_error_set(err, INSITU_EIO, "pull: cannot write %s", joined);
    struct sha256 hash;
    sha256_init(&hash);
    struct strbuf header = {0};
    *bytes = *rows = 0;
    int rc = 0;
    for (size_t page = 0; !rc && page < MAX_PAGES; page++) {
        struct strbuf purl = {0};
        char num[32];
        sb_puts(&purl, url);
        snprintf(num, sizeof num, "%zu", count);
        add_param(&purl, "count", num);
        snprintf(num, sizeof num, "%zu", page * count);
        add_param(&purl, "startIndex", num);
        snprintf(num, sizeof num, "hydroweb-next-%zu.csv", page);
        struct fetch_result fr;
        rc = fetch_url(purl.data, num, &p->fetch, &fr, err);
        uint64_t before = *rows;
        if (rc && fr.detail[0] == '<') {
            char msg[512] = "";
            wfs_exception(NULL, fr.detail, msg, sizeof msg);
            if (msg[0])
                insitu_error_set(err, rc, "pull: %s: HTTP %ld: the service answered an "
                                 "exception: %s", purl.data, fr.status, msg);
        }
        if (!rc) {
            FILE *f = fopen(fr.path, "rb");
            int c = ' ';
            while (f && (c = fgetc(f)) != EOF && (c == ' ' || c == '\n' || c == '\r'))
                ;
            if (f)
                fclose(f);
            if (c == '<') {
                char msg[512] = "";
                wfs_exception(fr.path, NULL, msg, sizeof msg);
                rc = insitu_error_set(err, INSITU_EINVAL, "pull: %s: the service answered an "
                                      "exception: %s", purl.data, msg[0] ? msg : "(no text)");
            } else {
                rc = append_page(fr.path, out, &hash, &header, rows, bytes, purl.data, err);
            }
        }
        fetch_result_free(&fr);
        sb_free(&purl);
        if (!rc && *rows - before < count)
            break; /* a page that is not full is the last */
    }
    if (fclose(out) != 0 && !rc)
        rc = insitu_error_set(err, INSITU_EIO, "pull: cannot write %s", joined);
    sha256_final(&hash, checksum);
    sb_free(&header);
    return rc;
}

static void hydroweb_one(struct pull *p, const char *const *names, size_t n, const char *from,
                         const char *to)
{
    struct strbuf url = {0}, cql = {0};
    sb_puts(&cql, "name IN (");
    for (size_t i = 0; i < n; i++) {
        sb_puts(&cql, i ? ",'" : "'");
        for (const char *c = names[i]; *c; c++) {
            if (*c == '\'')
                sb_putc(&cql, '\''); /* CQL doubles a quote inside a string */
            sb_putc(&cql, *c);
        }
        sb_putc(&cql, '\'');
    }
    sb_printf(&cql, ") AND start_time BETWEEN '%s' AND '%s'", from, to);
    base_url(&url, p->o->base_url);
    add_param(&url, "service", "WFS");
    add_param(&url, "version", "2.0.0");
    add_param(&url, "request", "GetFeature");
    add_param(&url, "typeNames", p->o->layer && *p->o->layer ? p->o->layer
                                                              : "hydroweb_rivers_wse");
    add_param(&url, "outputFormat", "csv");
    add_param(&url, "sortBy", "name,start_time");
    add_param(&url, "CQL_FILTER", cql.data);
    insitu_error e = {0};
    insitu_ingest_report rep;
    memset(&rep, 0, sizeof rep);
    char *cache = NULL, checksum[65];
    uint64_t bytes = 0, rows = 0;
    int rc = fetch_cache_dir(&p->fetch, &cache, &e);
    struct strbuf joined = {0};
    if (!rc) {
        /* the pages joined: <cache>/<hash of the request>-hydroweb-next.csv */
        struct sha256 h;
        char hex[65];
        sha256_init(&h);
        sha256_update(&h, url.data, url.len);
        sha256_final(&h, hex);
        sb_printf(&joined, "%s/%.16s-hydroweb-next.csv", cache, hex);
        rc = wfs_pages(p, url.data, joined.data, checksum, &bytes, &rows, &e);
    }
    if (!rc && bytes == 0)
        report_empty(p, url.data, "hydroweb-next", "no data: the service sent an empty answer");
    else if (!rc)
        rc = ingest_local_as(p->store, url.data, joined.data, checksum, bytes, &p->ingest, &rep,
                             &e);
    if (rc || bytes)
        report(p, url.data, &rep, rc, &e);
    free(cache);
    sb_free(&joined);
    sb_free(&url);
    sb_free(&cql);
}

static int hydroweb_pull(struct pull *p, insitu_error *err)
{
    const insitu_pull_options *o = p->o;
    int64_t from, to;
    int rc = parse_time_range(o, &from, &to, err);
    if (rc)
        return rc;
    /* as the service's own examples write them: ISO 8601 without a zone, read as UTC */
    char t0[40], t1[40];
    struct civil c;
    us_to_civil(from, &c);
    snprintf(t0, sizeof t0, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)c.year, c.month,
             c.day, c.hour, c.minute, c.second);
    us_to_civil(to, &c);
    snprintf(t1, sizeof t1, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)c.year, c.month,
             c.day, c.hour, c.minute, c.second);
    if (o->api_key && *o->api_key) {
        snprintf(p->key_header, sizeof p->key_header, "X-API-Key: %s", o->api_key);
        p->headers[0] = p->key_header;
        p->fetch.headers = p->headers;
    }
    p->ingest.format = "hydroweb-next";
    size_t n = 0;
    while (o->ids[n])
        n++;
    for (size_t i = 0; i < n; i += HYDROWEB_NAMES_PER_REQUEST)
        hydroweb_one(p, o->ids + i,
                     n - i < HYDROWEB_NAMES_PER_REQUEST ? n - i : HYDROWEB_NAMES_PER_REQUEST, t0,
                     t1);
    return 0;
}

/* ---- THEIA/OZCAR ---- */

static int theia_pull(struct pull *p, insitu_error *err)
{
    const insitu_pull_options *o = p->o;
    for (size_t i = 0; o->ids[i]; i++)
        if (!fetch_is_url(o->ids[i]) && !(o->base_url && *o->base_url))
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "pull theia: %s is not a URL: give --base-url to join it to",
                                    o->ids[i]);
    if (o->api_key && *o->api_key) {
        snprintf(p->key_header, sizeof p->key_header, "X-API-Key: %s", o->api_key);
        p->headers[0] = p->key_header;
        p->fetch.headers = p->headers;
    }
    p->ingest.format = "theia-pivot";
    p->ingest.fetch = &p->fetch;
    for (size_t i = 0; o->ids[i]; i++) {
        struct strbuf url = {0};
        if (fetch_is_url(o->ids[i])) {
            sb_puts(&url, o->ids[i]);
        } else {
            base_url(&url, o->base_url);
            sb_printf(&url, "/%s", o->ids[i][0] == '/' ? o->ids[i] + 1 : o->ids[i]);
        }
        insitu_ingest_report rep;
        insitu_error e = {0};
        int rc = insitu_ingest(p->store, url.data, &p->ingest, &rep, &e);
        report(p, url.data, &rep, rc, &e);
        sb_free(&url);
    }
    return 0;
}

/* ---- SensorThings API ---- */

enum { STA_DEFAULT_PAGE = 1000 };

/* The endpoint's root of a SensorThings URL: up to and with its version (".../v1.1"); its
 * length, or 0 when the URL has no version segment. */
static size_t sta_root_len(const char *url)
{
    const char *path = strstr(url, "://");
    path = path ? strchr(path + 3, '/') : NULL;
    for (const char *v = path; v && (v = strstr(v, "/v1.")) != NULL; v++) {
        const char *end = v + 4;
        while (*end >= '0' && *end <= '9')
            end++;
        if (end > v + 4 && (*end == '\0' || *end == '/' || *end == '?'))
            return (size_t)(end - url);
    }
    return 0;
}

/* An entity's @iot.id as it is written in a URL: 7, or 'text' (quotes doubled). */
static int sta_id_in_url(const json_t *id, struct strbuf *sb)
{
    if (json_is_integer(id)) {
        sb_printf(sb, "%lld", (long long)json_integer_value(id));
        return 0;
    }
    if (!json_is_string(id))
        return -1;
    sb_putc(sb, '\'');
    for (const char *c = json_string_value(id); *c; c++) {
        if (*c == '\'')
            sb_putc(sb, '\'');
        sb_putc(sb, *c);
    }
    sb_putc(sb, '\'');
    return 0;
}

/* GETs a JSON document (a page, an entity) into *out. */
static int sta_get(struct pull *p, const char *url, json_t **out, insitu_error *err)
{
    struct fetch_result fr;
    int rc = fetch_url(url, "sta.json", &p->fetch, &fr, err);
    if (!rc) {
        json_error_t jerr;
        *out = json_load_file(fr.path, 0, &jerr);
        if (!*out)
            rc = insitu_error_set(err, INSITU_EINVAL, "pull sta: %s: not JSON: %s (line %d)",
                                  url, jerr.text, jerr.line);
    }
    fetch_result_free(&fr);
    return rc;
}

/* A page's next link, or NULL (borrowed from page). */
static const char *sta_next(const json_t *page)
{
    const char *next = json_string_value(json_object_get(page, "@iot.nextLink"));
    return next && fetch_is_url(next) ? next : NULL;
}

/* The ids of the Datastreams a URL names: one Datastream, the endpoint's, or a collection
 * of them (paged), as they are written in URLs. */
static int sta_datastreams(struct pull *p, const char *url, size_t root, struct strlist *ids,
                           insitu_error *err)
{
    const char *rest = url + root;
    struct strbuf first = {0};
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        sb_append(&first, url, root);
        sb_puts(&first, "/Datastreams");
    } else if (strncmp(rest, "/Datastreams(", 13) == 0 && !strpbrk(rest + 13, "/?") &&
               rest[strlen(rest) - 1] == ')') {
        struct strbuf one = {0};
        sb_append(&one, rest + 13, strlen(rest + 13) - 1);
        strlist_add(ids, sb_str(&one));
        sb_free(&one);
        return 0;
    } else {
        sb_puts(&first, url);
    }
    add_param(&first, "$select", "id");
    int rc = 0;
    char *next = xstrdup(first.data);
    sb_free(&first);
    for (size_t page = 0; !rc && next && page < MAX_PAGES; page++) {
        json_t *doc = NULL;
        rc = sta_get(p, next, &doc, err);
        const json_t *value = json_object_get(doc, "value");
        if (!rc && !json_is_array(value))
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "pull sta: %s: not a collection (no \"value\" list)", next);
        size_t i;
        const json_t *ds;
        json_array_foreach(rc ? NULL : value, i, ds)
        {
            struct strbuf id = {0};
            if (sta_id_in_url(json_object_get(ds, "@iot.id"), &id) == 0)
                strlist_add(ids, sb_str(&id));
            sb_free(&id);
        }
        free(next);
        next = !rc && sta_next(doc) ? xstrdup(sta_next(doc)) : NULL;
        json_decref(doc);
    }
    free(next);
    return rc;
}

/* The first request of a Datastream's Observations: in time order, with their
 * FeatureOfInterest, after `after` (INSITU_TIME_NONE: from --from, or all) and before --to. */
static void sta_observations_url(struct pull *p, const char *ds_url, int64_t after,
                                 struct strbuf *url)
{
    char num[32], t[40];
    sb_printf(url, "%s/Observations", ds_url);
    add_param(url, "$orderby", "phenomenonTime");
    snprintf(num, sizeof num, "%zu", p->o->page_size ? p->o->page_size : STA_DEFAULT_PAGE);
    add_param(url, "$top", num);
    add_param(url, "$expand", "FeatureOfInterest");
    struct strbuf filter = {0};
    if (after != INSITU_TIME_NONE) {
        format_time(after, t, sizeof t);
        sb_printf(&filter, "phenomenonTime gt %s", t);
    } else if (p->from != INSITU_TIME_NONE) {
        format_time(p->from, t, sizeof t);
        sb_printf(&filter, "phenomenonTime ge %s", t);
    }
    if (p->to != INSITU_TIME_NONE) {
        format_time(p->to, t, sizeof t);
        sb_printf(&filter, "%sphenomenonTime lt %s", filter.len ? " and " : "", t);
    }
    if (filter.len)
        add_param(url, "$filter", filter.data);
    sb_free(&filter);
}

/* Writes the harvest file: the Datastream, then each page of Observations on a line of its
 * own; the number of Observations in *n. */
static int sta_write_harvest(struct pull *p, const char *root, const json_t *ds,
                             const char *first, const char *path, uint64_t *n, insitu_error *err)
{
    FILE *out = fopen(path, "wb");
    if (!out)
        return insitu_error_set(err, INSITU_EIO, "pull sta: cannot write %s", path);
    json_t *head = json_pack("{s:s, s:O}", "endpoint", root, "datastream", ds);
    int rc = head && json_dumpf(head, out, JSON_COMPACT) == 0 && fputc('\n', out) != EOF
                 ? 0
                 : insitu_error_set(err, INSITU_EIO, "pull sta: cannot write %s", path);
    json_decref(head);
    *n = 0;
    char *next = xstrdup(first);
    for (size_t page = 0; !rc && next && page < MAX_PAGES; page++) {
        json_t *doc = NULL;
        rc = sta_get(p, next, &doc, err);
        const json_t *value = json_object_get(doc, "value");
        if (!rc && !json_is_array(value))
            rc = insitu_error_set(err, INSITU_EINVAL,
                                  "pull sta: %s: not a collection (no \"value\" list)", next);
        if (!rc && json_array_size(value)) {
            if (json_dumpf(value, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF)
                rc = insitu_error_set(err, INSITU_EIO, "pull sta: cannot write %s", path);
            *n += json_array_size(value);
        }
        free(next);
        next = !rc && sta_next(doc) ? xstrdup(sta_next(doc)) : NULL;
        json_decref(doc);
    }
    free(next);
    if (fclose(out) != 0 && !rc)
        rc = insitu_error_set(err, INSITU_EIO, "pull sta: cannot write %s", path);
    return rc;
}

/* The Thing's and the Datastream's ids as the local store keeps them (their codes). */
static int sta_codes(const json_t *ds, char *thing, char *qualifier, size_t size)
{
    const json_t *ids[2] = {json_object_get(json_object_get(ds, "Thing"), "@iot.id"),
                            json_object_get(ds, "@iot.id")};
    char *out[2] = {thing, qualifier};
    for (int i = 0; i < 2; i++) {
        if (json_is_integer(ids[i]))
            snprintf(out[i], size, "%lld", (long long)json_integer_value(ids[i]));
        else if (json_is_string(ids[i]))
            snprintf(out[i], size, "%s", json_string_value(ids[i]));
        else
            return -1;
    }
    return 0;
}

/* Harvests one Datastream: its entities, and its Observations newer than those of the last
 * harvest, as one source named by the Observations' first request. */
static void sta_one(struct pull *p, const char *root, const char *id)
{
    struct strbuf ds_url = {0}, meta = {0}, url = {0}, harvest = {0};
    sb_printf(&ds_url, "%s/Datastreams(%s)", root, id);
    sb_puts(&meta, ds_url.data);
    add_param(&meta, "$expand", "Thing($expand=Locations),Sensor,ObservedProperty");
    insitu_error e = {0};
    insitu_ingest_report rep;
    memset(&rep, 0, sizeof rep);
    json_t *ds = NULL;
    char thing[256], qualifier[256], *cache = NULL, checksum[65];
    int64_t latest = INSITU_TIME_NONE;
    uint64_t n = 0, bytes = 0;
    int rc = sta_get(p, meta.data, &ds, &e);
    if (!rc && sta_codes(ds, thing, qualifier, sizeof thing))
        rc = insitu_error_set(&e, INSITU_EINVAL,
                              "pull sta: %s: a Datastream without @iot.id or Thing", meta.data);
    if (!rc)
        rc = store_series_latest(&p->store->base, root, thing, qualifier, &latest, &e);
    sta_observations_url(p, ds_url.data, latest, &url);
    if (!rc)
        rc = fetch_cache_dir(&p->fetch, &cache, &e);
    if (!rc) {
        struct sha256 h;
        char hex[65];
        sha256_init(&h);
        sha256_update(&h, url.data, url.len);
        sha256_final(&h, hex);
        sb_printf(&harvest, "%s/%.16s-sta.jsonl", cache, hex);
        rc = sta_write_harvest(p, root, ds, url.data, harvest.data, &n, &e);
    }
    if (!rc && !n && latest != INSITU_TIME_NONE) {
        char t[40], why[128];
        format_time(latest, t, sizeof t);
        snprintf(why, sizeof why, "no data: no observation after %s", t);
        report_empty(p, url.data, "sta", why);
    } else {
        if (!rc)
            rc = sha256_file(harvest.data, checksum, &bytes, &e);
        if (!rc)
            rc = ingest_local_as(p->store, url.data, harvest.data, checksum, bytes, &p->ingest,
                                 &rep, &e);
        report(p, rc ? meta.data : url.data, &rep, rc, &e);
    }
    json_decref(ds);
    free(cache);
    sb_free(&ds_url);
    sb_free(&meta);
    sb_free(&url);
    sb_free(&harvest);
}

static int sta_pull(struct pull *p, insitu_error *err)
{
    const insitu_pull_options *o = p->o;
    for (size_t i = 0; o->ids[i]; i++)
        if (!fetch_is_url(o->ids[i]) || !sta_root_len(o->ids[i]))
            return insitu_error_set(err, INSITU_EUSAGE,
                                    "pull sta: %s: expected a SensorThings URL (the endpoint, "
                                    "such as http://host/FROST-Server/v1.1, or its Datastreams)",
                                    o->ids[i]);
    p->from = p->to = INSITU_TIME_NONE;
    int rc = 0;
    if (o->from && *o->from)
        rc = parse_time_arg("from", o->from, &p->from, err);
    if (!rc && o->to && *o->to)
        rc = parse_time_arg("to", o->to, &p->to, err);
    if (rc)
        return rc;
    p->ingest.format = "sta";
    for (size_t i = 0; o->ids[i]; i++) {
        size_t root_len = sta_root_len(o->ids[i]);
        struct strbuf root = {0};
        sb_append(&root, o->ids[i], root_len);
        struct strlist ids = {0};
        insitu_error e = {0};
        insitu_ingest_report rep;
        memset(&rep, 0, sizeof rep);
        if (sta_datastreams(p, o->ids[i], root_len, &ids, &e))
            report(p, o->ids[i], &rep, e.code ? e.code : INSITU_EIO, &e);
        for (size_t k = 0; k < ids.n; k++)
            sta_one(p, root.data, ids.items[k]);
        strlist_free(&ids);
        sb_free(&root);
    }
    return 0;
}

/* ---- dispatch ---- */

struct service {
    const char *name;
    int needs_base_url;
    int (*run)(struct pull *p, insitu_error *err);
};

static const struct service services[] = {
    {"hydrocron", 1, hydrocron_pull},
    {"hydroweb", 1, hydroweb_pull},
    {"theia", 0, theia_pull},
    {"sta", 0, sta_pull},
};

int insitu_pull(insitu_store *store, const insitu_pull_options *o, insitu_error *err)
{
    const struct service *svc = NULL;
    for (size_t i = 0; o && o->service && i < ARRAY_LEN(services) && !svc; i++)
        if (str_ieq(o->service, services[i].name))
            svc = &services[i];
    if (!svc)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "pull: unknown service '%s' (services: hydrocron, hydroweb, "
                                "theia, sta)",
                                o && o->service ? o->service : "");
    if (!o->ids || !o->ids[0])
        return insitu_error_set(err, INSITU_EUSAGE, "pull %s: nothing to pull (give ids)",
                                svc->name);
    if (svc->needs_base_url && !(o->base_url && fetch_is_url(o->base_url)))
        return insitu_error_set(err, INSITU_EUSAGE,
                                "pull %s: --base-url: the service's http(s) URL is required",
                                svc->name);
    struct pull p;
    memset(&p, 0, sizeof p);
    p.store = store;
    p.o = o;
    p.err = err;
    if (o->ingest)
        p.ingest = *o->ingest;
    if (p.ingest.fetch)
        p.fetch = *p.ingest.fetch;
    if (p.fetch.headers)
        return insitu_error_set(err, INSITU_EUSAGE,
                                "pull: give the service's key as api_key, not as headers");
    int rc = svc->run(&p, err);
    return rc ? rc : p.first_error;
}
