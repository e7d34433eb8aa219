/*
 * pull.c: `insitu pull`: series from remote catalogues. Builds each service's requests
 * (Hydrocron time series per SWOT feature, Hydroweb.next WFS GetFeature paged with
 * count/startIndex, THEIA/OZCAR dataset downloads), fetches them (fetch.c) and ingests each
 * as one source named by its request URL. Never parses a response beyond paging and errors;
 * never holds a base URL or a credential of its own: they come from the caller.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "fetch.h"
#include "ingest.h"
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
                                "theia)",
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
