/*
 * swot.c: the SWOT L2_HR vector product reader shared by the RiverSP and LakeSP ingesters:
 * product file names, the .shp.xml field metadata (units, fill values, quality flags), and
 * the features through GDAL/OGR, read by field name (never by column position, since
 * product versions differ). Writes through the batch writer only.
 */
#include "swot.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>
#include <gdal.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <ogr_api.h>

#include "jsonutil.h"
#include "timeutil.h"

const char *const swot_settings[] = {
    "fields\tmeasurements to store: basic (default: the product's Basic fields), all, or a "
    "comma-separated list of field names",
    NULL,
};

/* Seconds from 1970 to 2000-01-01T00:00:00Z: SWOT times count UTC seconds from 2000. */
#define SWOT_EPOCH_US (INT64_C(946684800) * US_PER_SEC)
#define SWOT_REAL_FILL (-999999999999.0)

/* Fields that describe the feature (topology, prior database), kept as Thing properties. */
static const char *const static_fields[] = {"n_reach_up", "n_reach_dn", "rch_id_up", "rch_id_dn",
                                            "p_n_nodes", "p_dam_id", "p_n_ch_max", "p_n_ch_mod",
                                            "p_low_slp", "p_res_id", NULL};
/* Used when the product has no .shp.xml: the measurements issue 3 names, and their errors. */
static const char *const fallback_fields[] = {
    "wse",     "wse_u",      "width", "width_u", "slope",   "slope_u",   "slope2", "slope2_u",
    "area_total", "area_tot_u", "dschg_c", "dschg_c_u", "dschg_gc", "dschg_gc_u", NULL};

static int in_list(const char *s, const char *const *list)
{
    for (size_t i = 0; list && list[i]; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* ---- file names ---- */

int swot_parse_name(const char *name, struct swot_name *out)
{
    memset(out, 0, sizeof *out);
    const char *base = path_basename(name);
    char buf[256];
    snprintf(buf, sizeof buf, "%s", base);
    char *dot = strchr(buf, '.');
    if (dot)
        *dot = '\0';
    /* SWOT_L2_HR_RiverSP_Reach_049_058_AU_20260419T185249_20260419T190852_PID0_01 */
    char *parts[16];
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, "_", &save); tok && n < 16;
         tok = strtok_r(NULL, "_", &save))
        parts[n++] = tok;
    if (n != 12 || strcmp(parts[0], "SWOT") != 0 || strcmp(parts[1], "L2") != 0 ||
        strcmp(parts[2], "HR") != 0)
        return -1;
    snprintf(out->short_name, sizeof out->short_name, "L2_HR_%s", parts[3]);
    snprintf(out->file_id, sizeof out->file_id, "%s", parts[4]);
    char *end;
    out->cycle = (int)strtol(parts[5], &end, 10);
    if (*end || strlen(parts[5]) != 3)
        return -1;
    out->pass = (int)strtol(parts[6], &end, 10);
    if (*end || strlen(parts[6]) != 3)
        return -1;
    snprintf(out->tile, sizeof out->tile, "%s", parts[7]);
    snprintf(out->start, sizeof out->start, "%s", parts[8]);
    snprintf(out->end, sizeof out->end, "%s", parts[9]);
    snprintf(out->crid, sizeof out->crid, "%s", parts[10]);
    snprintf(out->counter, sizeof out->counter, "%s", parts[11]);
    return strlen(parts[8]) == 15 && strlen(parts[9]) == 15 && strlen(parts[10]) == 4 ? 0 : -1;
}

/* ---- locating the shapefile ---- */

struct swot_files {
    char *shp, *xml; /* VSI paths; xml NULL when the product has none */
    char *name;      /* the .shp's base name, for messages */
};

static void swot_files_free(struct swot_files *f)
{
    free(f->shp);
    free(f->xml);
    free(f->name);
    memset(f, 0, sizeof *f);
}

static int vsi_exists(const char *path)
{
    VSIStatBufL sb;
    return VSIStatL(path, &sb) == 0;
}

/* The folder (VSI path) holding the product: the zip's root, the folder, or the .shp's. */
static char *product_root(const struct source *src)
{
    struct strbuf sb = {0};
    if (src->is_zip)
        sb_printf(&sb, "/vsizip/%s", src->path);
    else if (src->is_dir)
        sb_puts(&sb, src->path);
    else
        sb_puts(&sb, CPLGetPath(src->path));
    return sb.data;
}

static int find_files(const struct source *src, struct swot_files *f, insitu_error *err)
{
    memset(f, 0, sizeof *f);
    char *root = product_root(src);
    char *shp_rel = NULL;
    if (!src->is_zip && !src->is_dir) {
        shp_rel = xstrdup(path_basename(src->path));
    } else {
        char **entries = VSIReadDirRecursive(root);
        if (!entries && src->is_zip) {
            free(root);
            return insitu_error_set(err, INSITU_EINVAL, "swot: %s: not a readable zip archive",
                                    src->name);
        }
        for (size_t i = 0; entries && entries[i] && !shp_rel; i++)
            if (str_has_suffix_ci(entries[i], ".shp"))
                shp_rel = xstrdup(entries[i]);
        CSLDestroy(entries);
    }
    if (!shp_rel) {
        free(root);
        return insitu_error_set(err, INSITU_EINVAL, "swot: %s: no .shp file in the product",
                                src->name);
    }
    struct strbuf path = {0};
    sb_printf(&path, "%s/%s", root, shp_rel);
    f->shp = path.data;
    f->name = xstrdup(path_basename(shp_rel));
    free(shp_rel);
    free(root);
    size_t stem = strlen(f->shp) - 4;
    static const char *const required[] = {".dbf", ".shx"};
    for (int i = 0; i < 2; i++) {
        struct strbuf side = {0};
        sb_append(&side, f->shp, stem);
        sb_puts(&side, required[i]);
        int ok = vsi_exists(side.data);
        if (!ok) {
            /* the sidecar may be upper case */
            sb_reset(&side);
            sb_append(&side, f->shp, stem);
            sb_puts(&side, i == 0 ? ".DBF" : ".SHX");
            ok = vsi_exists(side.data);
        }
        sb_free(&side);
        if (!ok) {
            insitu_error_set(err, INSITU_EINVAL, "swot: %s: %.*s%s is missing from the product",
                             src->name, (int)(strlen(f->name) - 4), f->name, required[i]);
            swot_files_free(f);
            return INSITU_EINVAL;
        }
    }
    struct strbuf xml = {0};
    sb_printf(&xml, "%s.xml", f->shp);
    if (vsi_exists(xml.data))
        f->xml = xml.data;
    else
        sb_free(&xml);
    return 0;
}

/* ---- metadata (.shp.xml) ---- */

struct field_meta {
    char *name, *units, *quality_flag, *long_name, *fill_text;
    double fill;
    int has_fill, basic;
};

struct swot_meta {
    struct field_meta *fields;
    size_t n;
    char *crid, *version;
    int cycle, pass;
};

static void meta_free(struct swot_meta *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->fields[i].name);
        free(m->fields[i].units);
        free(m->fields[i].quality_flag);
        free(m->fields[i].long_name);
        free(m->fields[i].fill_text);
    }
    free(m->fields);
    free(m->crid);
    free(m->version);
}

static char *child_text(xmlNodePtr node, const char *name)
{
    for (xmlNodePtr c = node->children; c; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            xmlChar *t = xmlNodeGetContent(c);
            char *s = t ? xstrdup(str_trim((char *)t)) : NULL;
            xmlFree(t);
            return s;
        }
    }
    return NULL;
}

static const struct field_meta *meta_field(const struct swot_meta *m, const char *name)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->fields[i].name, name) == 0)
            return &m->fields[i];
    return NULL;
}

static void read_field_meta(struct swot_meta *m, xmlNodePtr attrs)
{
    for (xmlNodePtr el = attrs->children; el; el = el->next) {
        if (el->type != XML_ELEMENT_NODE)
            continue;
        struct field_meta *p = realloc(m->fields, (m->n + 1) * sizeof *p);
        if (!p)
            return;
        m->fields = p;
        struct field_meta *f = &m->fields[m->n++];
        memset(f, 0, sizeof *f);
        f->name = xstrdup((const char *)el->name);
        f->units = child_text(el, "units");
        f->quality_flag = child_text(el, "quality_flag");
        f->long_name = child_text(el, "long_name");
        f->fill_text = child_text(el, "fill_value");
        char *tag = child_text(el, "tag_basic_expert");
        f->basic = tag && strcmp(tag, "Basic") == 0;
        free(tag);
        f->has_fill = f->fill_text && parse_double(f->fill_text, strlen(f->fill_text), &f->fill) == 0;
    }
}

/* Reads the product's .shp.xml: field metadata and the global attributes we keep. */
static int read_meta(const char *xml_path, const char *name, struct swot_meta *m,
                     insitu_error *err)
{
    memset(m, 0, sizeof *m);
    GByte *buf = NULL;
    vsi_l_offset size = 0;
    if (!VSIIngestFile(NULL, xml_path, &buf, &size, 64 << 20))
        return insitu_error_set(err, INSITU_EIO, "swot: %s.xml: cannot read", name);
    xml_errors_quiet();
    xmlDocPtr doc = xmlReadMemory((const char *)buf, (int)size, name, NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    VSIFree(buf);
    if (!doc)
        return insitu_error_set(err, INSITU_EINVAL, "swot: %s.xml: not well-formed XML", name);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    for (xmlNodePtr sect = root ? root->children : NULL; sect; sect = sect->next) {
        if (sect->type != XML_ELEMENT_NODE)
            continue;
        const char *tag = (const char *)sect->name;
        if (strcmp(tag, "attributes") == 0 || strcmp(tag, "attribute_metadata") == 0) {
            read_field_meta(m, sect);
        } else if (strcmp(tag, "global_attributes") == 0 || strcmp(tag, "global_metadata") == 0) {
            char *cycle = child_text(sect, "cycle_number"), *pass = child_text(sect, "pass_number");
            m->cycle = cycle ? atoi(cycle) : 0;
            m->pass = pass ? atoi(pass) : 0;
            free(cycle);
            free(pass);
            m->crid = child_text(sect, "crid");
            m->version = child_text(sect, "product_version");
        }
    }
    xmlFreeDoc(doc);
    return 0;
}

/* Reads a .shp.xml as swot_run does and tells how many fields it describes (what the tests
 * and the fuzz harness tests/fuzz/fuzz_swot.c check). */
int swot_meta_fields(const char *xml_path, const char *name, size_t *n_fields, insitu_error *err)
{
    struct swot_meta m;
    int rc = read_meta(xml_path, name, &m, err);
    *n_fields = rc ? 0 : m.n;
    meta_free(&m);
    return rc;
}

/* ---- the product ---- */

enum field_role { ROLE_NONE, ROLE_MEASURE, ROLE_PROPERTY };

struct measure {
    int index;                 /* OGR field index */
    const char *name;
    const struct field_meta *meta; /* may be NULL without .shp.xml */
    int flag_index;            /* the field's own quality flag field, or -1 */
    int64_t property_id;
    char *ds_properties;       /* the Datastream properties of this field (JSON) */
};

struct product {
    const struct source *src;
    struct batch_writer *bw;
    const struct swot_kind *kind;
    struct swot_name fname;
    struct swot_files files;
    struct swot_meta meta;
    int has_meta;
    GDALDatasetH ds;
    OGRLayerH layer;
    int key_index, time_index, time_str_index;
    struct measure *measures;
    int n_measures;
    double *fills;  /* per OGR field index: the fill value */
    char *has_fill; /* per OGR field index: 1 when the metadata gives it */
    int *property_fields, n_property_fields;
    int *flag_fields, n_flag_fields;
    int64_t sensor_id;
    char *parameters;
    uint64_t features, observed, time_mismatch;
};

static void product_free(struct product *p)
{
    if (p->ds)
        GDALClose(p->ds);
    swot_files_free(&p->files);
    meta_free(&p->meta);
    for (int k = 0; k < p->n_measures; k++)
        free(p->measures[k].ds_properties);
    free(p->measures);
    free(p->fills);
    free(p->has_fill);
    free(p->property_fields);
    free(p->flag_fields);
    free(p->parameters);
}

static const struct swot_kind *kind_for(const struct swot_name *n,
                                        const struct swot_kind *const *kinds)
{
    for (size_t i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->short_name, n->short_name) == 0 &&
            strcmp(kinds[i]->file_id, n->file_id) == 0)
            return kinds[i];
    return NULL;
}

/* Is the value of field i of f missing (unset, fill value, NaN)? */
static int value_missing(const struct product *p, OGRFeatureH f, int i, double *value)
{
    if (!OGR_F_IsFieldSetAndNotNull(f, i))
        return 1;
    *value = OGR_F_GetFieldAsDouble(f, i);
    if (isnan(*value))
        return 1;
    if (p->has_fill[i])
        return *value == p->fills[i];
    /* without metadata: the product's documented fills */
    return *value == SWOT_REAL_FILL || *value == -999 || *value == -99999999;
}

static int add_int(int **list, int *n, int v)
{
    int *p = realloc(*list, (size_t)(*n + 1) * sizeof *p);
    if (!p)
        return -1;
    *list = p;
    p[(*n)++] = v;
    return 0;
}

/* Is this field a measurement to store, given the `fields` setting? */
static int wanted_measure(const struct product *p, const char *name, OGRFieldType type,
                          const struct field_meta *m, const char *fields)
{
    if ((type != OFTReal && type != OFTInteger && type != OFTInteger64) ||
        strncmp(name, "p_", 2) == 0 || strcmp(name, "time") == 0 ||
        strcmp(name, "time_tai") == 0 || in_list(name, static_fields) ||
        in_list(name, p->kind->summary_flags))
        return 0;
    if (fields && strcmp(fields, "basic") != 0 && strcmp(fields, "all") != 0) {
        char key[80];
        snprintf(key, sizeof key, ",%s,", name);
        struct strbuf list = {0};
        sb_printf(&list, ",%s,", fields);
        int found = strstr(list.data, key) != NULL;
        sb_free(&list);
        return found;
    }
    if (!p->has_meta)
        return in_list(name, fallback_fields);
    /* a measurement has a unit; flags and counts of the product have none */
    if (!m || !m->units || strcmp(m->units, "None") == 0 || !*m->units)
        return 0;
    return (fields && strcmp(fields, "all") == 0) || m->basic;
}

/* Tells OGR not to parse the fields that nothing reads (about half of a RiverSP record:
 * the measurements outside the `fields` selection): their values stay unset, their
 * indexes unchanged. */
static int ignore_unused_fields(struct product *p, int n, insitu_error *err)
{
    char *used = calloc((size_t)n + 1, 1);
    if (!used)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    used[p->key_index] = 1;
    used[p->time_index] = 1;
    if (p->time_str_index >= 0)
        used[p->time_str_index] = 1;
    for (int k = 0; k < p->n_measures; k++) {
        used[p->measures[k].index] = 1;
        if (p->measures[k].flag_index >= 0)
            used[p->measures[k].flag_index] = 1;
    }
    for (int k = 0; k < p->n_flag_fields; k++)
        used[p->flag_fields[k]] = 1;
    for (int k = 0; k < p->n_property_fields; k++)
        used[p->property_fields[k]] = 1;
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(p->layer);
    const char *fallback[] = {"p_lon", "p_lat"}; /* fallback_location() reads them */
    for (size_t k = 0; k < ARRAY_LEN(fallback); k++) {
        int i = OGR_FD_GetFieldIndex(defn, fallback[k]);
        if (i >= 0)
            used[i] = 1;
    }
    char **ignored = NULL;
    for (int i = 0; i < n; i++)
        if (!used[i])
            ignored = CSLAddString(ignored, OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i)));
    free(used);
    /* a failure only costs the parsing it would have saved */
    if (ignored)
        OGR_L_SetIgnoredFields(p->layer, (const char **)ignored);
    CSLDestroy(ignored);
    return 0;
}

/* Sorts the layer's fields into measurements, Thing properties and quality flags. */
static int classify_fields(struct product *p, insitu_error *err)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(p->layer);
    const char *fields = source_setting(p->src, "fields");
    p->key_index = OGR_FD_GetFieldIndex(defn, p->kind->key_field);
    if (p->key_index < 0 && p->kind->alt_key)
        p->key_index = OGR_FD_GetFieldIndex(defn, p->kind->alt_key);
    p->time_index = OGR_FD_GetFieldIndex(defn, "time");
    p->time_str_index = OGR_FD_GetFieldIndex(defn, "time_str");
    if (p->key_index < 0 || p->time_index < 0)
        return insitu_error_set(err, INSITU_EINVAL,
                                "swot: %s: not a SWOT %s %s product: no '%s' or 'time' field",
                                p->files.name, p->kind->short_name, p->kind->file_id,
                                p->kind->key_field);
    int n = OGR_FD_GetFieldCount(defn);
    p->fills = calloc((size_t)n + 1, sizeof *p->fills);
    p->has_fill = calloc((size_t)n + 1, 1);
    if (!p->fills || !p->has_fill)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    for (int i = 0; i < n; i++) {
        OGRFieldDefnH fd = OGR_FD_GetFieldDefn(defn, i);
        const char *name = OGR_Fld_GetNameRef(fd);
        OGRFieldType type = OGR_Fld_GetType(fd);
        const struct field_meta *m = p->has_meta ? meta_field(&p->meta, name) : NULL;
        if (m && m->has_fill) {
            p->has_fill[i] = 1;
            p->fills[i] = m->fill;
        }
        int rc = 0;
        if (i == p->key_index || i == p->time_index || i == p->time_str_index ||
            strcmp(name, "time_tai") == 0)
            continue;
        if (in_list(name, p->kind->summary_flags)) {
            rc = add_int(&p->flag_fields, &p->n_flag_fields, i);
        } else if (wanted_measure(p, name, type, m, fields)) {
            struct measure *ms = realloc(p->measures, (size_t)(p->n_measures + 1) * sizeof *ms);
            if (!ms)
                return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            p->measures = ms;
            struct measure *me = &ms[p->n_measures++];
            memset(me, 0, sizeof *me);
            me->index = i;
            me->name = name;
            me->meta = m;
            me->flag_index = -1;
            if (m && m->quality_flag && !in_list(m->quality_flag, p->kind->summary_flags))
                me->flag_index = OGR_FD_GetFieldIndex(defn, m->quality_flag);
        } else if (type == OFTString || strncmp(name, "p_", 2) == 0 ||
                   in_list(name, static_fields)) {
            rc = add_int(&p->property_fields, &p->n_property_fields, i);
        }
        if (rc)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    if (fields && !p->n_measures)
        return insitu_error_set(err, INSITU_EUSAGE, "swot: %s: fields=%s names no measurement",
                                p->files.name, fields);
    return ignore_unused_fields(p, n, err);
}

static int open_product(struct product *p, const struct swot_kind *const *kinds,
                        insitu_error *err)
{
    int rc = find_files(p->src, &p->files, err);
    if (rc)
        return rc;
    if (swot_parse_name(p->files.name, &p->fname) ||
        !(p->kind = kind_for(&p->fname, kinds)))
        return insitu_error_set(err, INSITU_EINVAL,
                                "swot: %s: not a SWOT %s product file name "
                                "(SWOT_L2_HR_<product>_<type>_<cycle>_<pass>_<tile>_<start>_"
                                "<end>_<CRID>_<counter>)",
                                p->files.name, kinds[0]->short_name);
    if (p->files.xml) { /* without it, swot_run warns */
        rc = read_meta(p->files.xml, p->files.name, &p->meta, err);
        if (rc)
            return rc;
        p->has_meta = 1;
    }
    gdal_drivers();
    static const char *const drivers[] = {"ESRI Shapefile", NULL};
    CPLErrorReset();
    p->ds = GDALOpenEx(p->files.shp, GDAL_OF_VECTOR | GDAL_OF_READONLY, drivers, NULL, NULL);
    if (!p->ds || GDALDatasetGetLayerCount(p->ds) < 1)
        return insitu_error_set(err, INSITU_EINVAL, "swot: %s: cannot read the shapefile: %s",
                                p->files.name,
                                CPLGetLastErrorMsg()[0] ? CPLGetLastErrorMsg() : "no layer");
    p->layer = GDALDatasetGetLayer(p->ds, 0);
    return classify_fields(p, err);
}

/* ---- entities ---- */

int swot_sensor(struct batch_writer *bw, const char *short_name, int64_t *id, insitu_error *err)
{
    struct strbuf name = {0}, desc = {0};
    sb_printf(&name, "SWOT %s", short_name);
    sb_printf(&desc, "SWOT KaRIn high-rate %s single-pass vector product",
              strstr(short_name, "River") ? "river" : "lake");
    struct sensor_in s = {.ns = "swot",
                          .code = short_name,
                          .name = name.data,
                          .description = desc.data,
                          .encoding_type = "text/html",
                          .metadata = "https://podaac.jpl.nasa.gov/SWOT"};
    int rc = bw_sensor(bw, &s, id, err);
    sb_free(&name);
    sb_free(&desc);
    return rc;
}

void swot_feature_key(char *buf, size_t size, const char *ns, const char *code)
{
    snprintf(buf, size, "%s:%s", ns, code);
}

char *swot_datastream_properties(const char *short_name, const char *file_id,
                                 const char *long_name, const char *quality_flag)
{
    json_t *o = json_object();
    json_set_str(o, "product", short_name);
    json_set_str(o, "productFileId", file_id);
    json_set_str(o, "longName", long_name);
    json_set_str(o, "qualityFlag", quality_flag);
    char *text = json_text(o);
    json_decref(o);
    return text;
}

static int product_sensor(struct product *p, insitu_error *err)
{
    return swot_sensor(p->bw, p->kind->short_name, &p->sensor_id, err);
}

static int measure_property(struct product *p, struct measure *me, insitu_error *err)
{
    if (me->property_id)
        return 0;
    struct strbuf def = {0};
    sb_printf(&def, "urn:x-insitu:swot:%s", me->name);
    struct property_in prop = {.name = me->name,
                               .definition = def.data,
                               .description = me->meta ? me->meta->long_name : NULL};
    int rc = bw_property(p->bw, &prop, &me->property_id, err);
    sb_free(&def);
    return rc;
}

static char *datastream_properties(const struct product *p, const struct measure *me)
{
    return swot_datastream_properties(p->kind->short_name, p->kind->file_id,
                                      me->meta ? me->meta->long_name : NULL,
                                      me->meta ? me->meta->quality_flag : NULL);
}

static int measure_datastream(struct product *p, struct measure *me, int64_t thing_id,
                              const char *thing_code, int64_t *ds_id, insitu_error *err)
{
    int rc = measure_property(p, me, err);
    if (rc)
        return rc;
    const char *units = me->meta && me->meta->units ? me->meta->units : "";
    struct strbuf name = {0};
    sb_puts(&name, me->name);
    sb_puts(&name, " of ");
    sb_puts(&name, p->kind->file_id);
    sb_putc(&name, ' ');
    sb_puts(&name, thing_code);
    if (!me->ds_properties)
        me->ds_properties = datastream_properties(p, me);
    struct datastream_in d = {.thing_id = thing_id,
                              .sensor_id = p->sensor_id,
                              .property_id = me->property_id,
                              .qualifier = "",
                              .name = name.data,
                              .unit_name = units,
                              .unit_symbol = units,
                              .properties = me->ds_properties};
    rc = bw_datastream(p->bw, &d, ds_id, err);
    sb_free(&name);
    return rc;
}

/* The Thing's properties: the feature's descriptive and prior-database fields. */
static char *thing_properties(const struct product *p, OGRFeatureH f)
{
    json_t *o = json_object();
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(p->layer);
    for (int k = 0; k < p->n_property_fields; k++) {
        int i = p->property_fields[k];
        const char *name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i));
        if (!OGR_F_IsFieldSetAndNotNull(f, i))
            continue;
        OGRFieldType type = OGR_Fld_GetType(OGR_FD_GetFieldDefn(defn, i));
        if (type == OFTString) {
            const char *v = OGR_F_GetFieldAsString(f, i);
            if (*v && strcmp(v, "no_data") != 0)
                json_object_set_new(o, name, json_string(v));
        } else {
            double v;
            if (!value_missing(p, f, i, &v))
                json_object_set_new(o, name, type == OFTReal ? json_real(v)
                                                             : json_integer((json_int_t)v));
        }
    }
    json_object_set_new(o, "swotProduct", json_string(p->kind->file_id));
    char *text = json_text(o);
    json_decref(o);
    return text;
}

/* Appends "name":value for an integer quality field unless it is a fill value. */
static void put_flag(const struct product *p, OGRFeatureH f, int i, struct strbuf *sb)
{
    OGRFeatureDefnH defn = OGR_L_GetLayerDefn(p->layer);
    const char *name = OGR_Fld_GetNameRef(OGR_FD_GetFieldDefn(defn, i));
    double v;
    if (value_missing(p, f, i, &v))
        return;
    if (sb->len > 1)
        sb_putc(sb, ',');
    sb_put_json_string(sb, name);
    sb_putc(sb, ':');
    sb_put_double(sb, v);
}

/* ---- reading: a thread opens the product and decodes its features, the caller writes ----
 * Opening the product, OGR's reading and the JSON and WKB of each feature run on a second
 * core while the store writes the features before them. Started ahead of time
 * (swot_read_ahead), a product is read while the store finishes the source before it. The
 * reader alone uses the dataset until it is joined; the features it decoded and the writer
 * did not take yet hold at most swot_queue_bytes. */

size_t swot_queue_bytes = 32 << 20;

/* One feature, as the writer needs it: no OGR object. */
struct decoded {
    long long fid;
    char code[128];        /* "": the key field is empty */
    char *props;           /* the Thing's properties (JSON) */
    unsigned char *wkb;    /* the geometry, or NULL */
    size_t wkb_len;
    struct geom_digest digest; /* of the WKB, for the store's caches */
    int bad_geometry;      /* it could not be exported */
    int has_prior;         /* no geometry: p_lon, p_lat */
    double lon, lat;
    int observed;          /* its time is set: this pass observed it */
    int64_t t;
    double *values;        /* per measure */
    char *has_value;       /* per measure */
    size_t *quality;       /* per measure: offset + 1 in text, 0: none */
    struct strbuf text;
    size_t bytes;          /* what it holds, about */
    struct decoded *next;  /* in the queue */
};

static void decoded_free(struct decoded *d)
{
    if (!d)
        return;
    free(d->props);
    free(d->wkb);
    free(d->values);
    free(d->has_value);
    free(d->quality);
    sb_free(&d->text);
    free(d);
}

static int feature_time(struct product *p, OGRFeatureH f, int64_t *t)
{
    double secs;
    if (value_missing(p, f, p->time_index, &secs))
        return 0; /* not observed in this pass */
    *t = SWOT_EPOCH_US + (int64_t)llround(secs * 1e6);
    if (p->time_str_index >= 0 && OGR_F_IsFieldSetAndNotNull(f, p->time_str_index)) {
        const char *ts = OGR_F_GetFieldAsString(f, p->time_str_index);
        int64_t t2;
        if (strcmp(ts, "no_data") != 0 &&
            (time_parse_iso(ts, strlen(ts), NULL, &t2, NULL) || llabs(t2 - *t) > US_PER_SEC))
            p->time_mismatch++;
    }
    return 1;
}

/* Reads feature f into a decoded (NULL: out of memory). */
static struct decoded *decode(struct product *p, OGRFeatureH f)
{
    struct decoded *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->fid = (long long)OGR_F_GetFID(f);
    const char *raw = OGR_F_GetFieldAsString(f, p->key_index);
    if (!raw || !*raw || strcmp(raw, "no_data") == 0)
        return d; /* the writer reports it */
    snprintf(d->code, sizeof d->code, "%s", raw);
    d->props = thing_properties(p, f);
    OGRGeometryH g = OGR_F_GetGeometryRef(f);
    int has_geometry = g && !OGR_G_IsEmpty(g);
    if (has_geometry) {
        /* the geometry goes to the store as WKB: it writes the GeoJSON only for a new one
         * (GDAL's GeoJSON export costs more than all the rest of a reach) */
        d->wkb_len = (size_t)OGR_G_WkbSize(g);
        d->wkb = malloc(d->wkb_len);
        if (d->wkb && OGR_G_ExportToWkb(g, wkbNDR, d->wkb) != OGRERR_NONE)
            d->bad_geometry = 1;
        else if (d->wkb)
            geom_digest(&d->digest, NULL, d->wkb, d->wkb_len);
    } else {
        OGRFeatureDefnH defn = OGR_L_GetLayerDefn(p->layer);
        int xi = OGR_FD_GetFieldIndex(defn, "p_lon"), yi = OGR_FD_GetFieldIndex(defn, "p_lat");
        d->has_prior = xi >= 0 && yi >= 0 && !value_missing(p, f, xi, &d->lon) &&
                       !value_missing(p, f, yi, &d->lat);
    }
    d->observed = feature_time(p, f, &d->t);
    int n = p->n_measures;
    d->values = calloc((size_t)(n ? n : 1), sizeof *d->values);
    d->has_value = calloc((size_t)(n ? n : 1), 1);
    d->quality = calloc((size_t)(n ? n : 1), sizeof *d->quality);
    if (!d->props || (has_geometry && !d->wkb) || !d->values || !d->has_value || !d->quality) {
        decoded_free(d);
        return NULL;
    }
    if (!d->observed)
        return d;
    struct strbuf summary = {0};
    sb_putc(&summary, '{');
    for (int k = 0; k < p->n_flag_fields; k++)
        put_flag(p, f, p->flag_fields[k], &summary);
    for (int k = 0; k < n; k++) {
        const struct measure *me = &p->measures[k];
        d->has_value[k] = !value_missing(p, f, me->index, &d->values[k]);
        size_t start = d->text.len;
        sb_puts(&d->text, summary.data);
        if (me->flag_index >= 0)
            put_flag(p, f, me->flag_index, &d->text);
        sb_putc(&d->text, '}');
        sb_putc(&d->text, '\0');
        /* "{}": no flag to keep */
        d->quality[k] = d->text.len - start > 3 ? start + 1 : 0;
    }
    sb_free(&summary);
    return d;
}

/* A product read on a thread of its own. */
struct swot_reader {
    const struct swot_kind *const *kinds;
    struct product p;         /* opened by the reader; the writer's once `opened` is set;
                                 p.src: the caller keeps it until the reader is freed */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    int opened, open_rc;      /* open_product returned open_rc (error in open_err) */
    insitu_error open_err;
    struct decoded *head, *tail; /* decoded, not yet taken by the writer */
    size_t bytes;                /* what they hold */
    int done;                 /* the reader queued its last feature */
    int stop;                 /* the writer wants no more */
    int failed;               /* the reader ran out of memory */
    int joined;
};

static size_t decoded_bytes(const struct decoded *d, int n_measures)
{
    return sizeof *d + d->wkb_len + (d->props ? strlen(d->props) : 0) + d->text.cap +
           (size_t)n_measures * (sizeof *d->values + 1 + sizeof *d->quality);
}

/* Queues d, waiting while the queue is full; 0 when the writer wants no more. */
static int queue_put(struct swot_reader *r, struct decoded *d)
{
    pthread_mutex_lock(&r->lock);
    /* an empty queue takes a feature of any size */
    while (r->head && r->bytes + d->bytes > swot_queue_bytes && !r->stop)
        pthread_cond_wait(&r->changed, &r->lock);
    int taken = !r->stop;
    if (taken) {
        if (r->tail)
            r->tail->next = d;
        else
            r->head = d;
        r->tail = d;
        r->bytes += d->bytes;
        pthread_cond_broadcast(&r->changed);
    }
    pthread_mutex_unlock(&r->lock);
    return taken;
}

/* Ends the queue: the reader queued its last feature (failed: it ran out of memory). */
static void queue_done(struct swot_reader *r, int failed)
{
    pthread_mutex_lock(&r->lock);
    r->done = 1;
    r->failed = failed;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

/* The reader thread: opens the product, then decodes every feature into the queue. */
static void *reader_main(void *arg)
{
    struct swot_reader *r = arg;
    struct product *p = &r->p;
    /* as on the caller's thread (cli.c): GDAL's messages come back as errors, not stderr */
    CPLPushErrorHandler(CPLQuietErrorHandler);
    insitu_error e = {0};
    int rc = open_product(p, r->kinds, &e);
    pthread_mutex_lock(&r->lock);
    r->opened = 1;
    r->open_rc = rc;
    r->open_err = e;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    int failed = 0;
    if (!rc) {
        OGR_L_ResetReading(p->layer);
        OGRFeatureH f;
        while ((f = OGR_L_GetNextFeature(p->layer)) != NULL) {
            struct decoded *d = decode(p, f);
            OGR_F_Destroy(f);
            if (!d) {
                failed = 1;
                break;
            }
            d->bytes = decoded_bytes(d, p->n_measures);
            if (!queue_put(r, d)) {
                decoded_free(d);
                break;
            }
        }
    }
    queue_done(r, failed);
    CPLPopErrorHandler();
    return NULL;
}

/* Starts reading src on a thread of its own (NULL: out of memory or threads). */
static struct swot_reader *reader_start(const struct source *src,
                                        const struct swot_kind *const *kinds)
{
    /* jansson seeds its hash tables at the first object: here, before two threads make one */
    json_object_seed(0);
    struct swot_reader *r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->p.src = src;
    r->kinds = kinds;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    if (pthread_create(&r->thread, NULL, reader_main, r) != 0) {
        pthread_cond_destroy(&r->changed);
        pthread_mutex_destroy(&r->lock);
        free(r);
        return NULL;
    }
    return r;
}

/* Waits for the product to be opened; its error, if any. */
static int reader_opened(struct swot_reader *r, insitu_error *err)
{
    pthread_mutex_lock(&r->lock);
    while (!r->opened)
        pthread_cond_wait(&r->changed, &r->lock);
    int rc = r->open_rc;
    if (rc && err)
        *err = r->open_err;
    pthread_mutex_unlock(&r->lock);
    return rc;
}

/* The next decoded feature, or NULL when there is none (*failed: out of memory). */
static struct decoded *next_decoded(struct swot_reader *r, int *failed)
{
    pthread_mutex_lock(&r->lock);
    while (!r->head && !r->done)
        pthread_cond_wait(&r->changed, &r->lock);
    struct decoded *d = r->head;
    if (d) {
        r->head = d->next;
        if (!r->head)
            r->tail = NULL;
        r->bytes -= d->bytes;
        pthread_cond_broadcast(&r->changed);
    }
    *failed = !d && r->failed;
    pthread_mutex_unlock(&r->lock);
    return d;
}

/* Stops the reader (it may be waiting for room in the queue), joins it and frees what it
 * queued and the writer did not take. The product stays open. */
static void reader_end(struct swot_reader *r)
{
    if (r->joined)
        return;
    pthread_mutex_lock(&r->lock);
    r->stop = 1;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    pthread_join(r->thread, NULL);
    r->joined = 1;
    while (r->head) {
        struct decoded *d = r->head;
        r->head = d->next;
        decoded_free(d);
    }
    r->tail = NULL;
    r->bytes = 0;
}

static void reader_free(struct swot_reader *r)
{
    if (!r)
        return;
    reader_end(r);
    product_free(&r->p);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

void *swot_read_ahead(const struct source *src, const struct swot_kind *const *kinds)
{
    return reader_start(src, kinds);
}

void swot_read_ahead_free(void *ahead) { reader_free(ahead); }

/* A feature without geometry (a prior lake not observed in this pass): its prior position
 * (p_lon, p_lat) is the Thing's location until a pass observes it, and the FoI. */
static int prior_location(struct product *p, const struct decoded *d, int64_t thing_id,
                          int64_t *feature_id, insitu_error *err)
{
    if (!d->has_prior)
        return 0;
    char geojson[160];
    geojson_point(geojson, sizeof geojson, d->lon, d->lat, 0, 0);
    int rc = bw_thing_location_default(p->bw, thing_id, d->code, geojson, err);
    if (!rc)
        rc = bw_point_feature(p->bw, d->lon, d->lat, 0, 0, d->code, feature_id, err);
    return rc;
}

static int feature_thing(struct product *p, const struct decoded *d, int64_t *thing_id,
                         int64_t *feature_id, insitu_error *err)
{
    struct thing_in t = {.ns = p->kind->ns, .code = d->code, .name = d->code,
                         .properties = d->props};
    int rc = bw_thing(p->bw, &t, thing_id, err);
    if (rc)
        return rc;
    if (!d->wkb)
        return prior_location(p, d, *thing_id, feature_id, err);
    if (d->bad_geometry)
        return insitu_error_set(err, INSITU_EINVAL, "swot: %s: %s: unreadable geometry",
                                p->files.name, d->code);
    rc = bw_thing_location_wkb(p->bw, *thing_id, d->code, NULL, d->wkb, d->wkb_len, &d->digest,
                               err);
    if (!rc) {
        char key[256];
        swot_feature_key(key, sizeof key, p->kind->ns, d->code);
        struct feature_in fi = {.key = key, .name = d->code, .wkb = d->wkb,
                                .wkb_len = d->wkb_len};
        rc = bw_feature(p->bw, &fi, feature_id, err);
    }
    return rc;
}

/* Writes one decoded feature: its Thing, Location, FoI, Datastreams and Observations. */
static int write_feature(struct product *p, const struct decoded *d, insitu_error *err)
{
    if (!d->code[0])
        return insitu_error_set(err, INSITU_EINVAL, "swot: %s: feature %lld: empty %s",
                                p->files.name, d->fid, p->kind->key_field);
    int64_t thing_id = 0, feature_id = 0;
    int rc = feature_thing(p, d, &thing_id, &feature_id, err);
    if (rc)
        return rc;
    p->features++;
    if (!d->observed)
        return 0;
    p->observed++;
    for (int k = 0; k < p->n_measures && !rc; k++) {
        struct measure *me = &p->measures[k];
        int64_t ds_id;
        rc = measure_datastream(p, me, thing_id, d->code, &ds_id, err);
        if (rc)
            break;
        struct obs_row r = {.datastream_id = ds_id,
                            .phenomenon_start = d->t,
                            .phenomenon_end = INSITU_TIME_NONE,
                            .result_time = INSITU_TIME_NONE,
                            .parameters = p->parameters,
                            .feature_id = feature_id,
                            .has_result = d->has_value[k],
                            .result = d->values[k],
                            .quality = d->quality[k] ? d->text.data + d->quality[k] - 1 : NULL};
        rc = bw_observation(p->bw, &r, err);
    }
    return rc;
}

/* Writes what the reader decodes, in order (the caller then joins it). */
static int write_features(struct swot_reader *r, insitu_error *err)
{
    struct decoded *d;
    int rc = 0, failed = 0;
    while (!rc && (d = next_decoded(r, &failed)) != NULL) {
        rc = write_feature(&r->p, d, err);
        decoded_free(d);
    }
    if (!rc && failed)
        rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    return rc;
}

static char *product_parameters(const struct product *p)
{
    json_t *o = json_object();
    json_object_set_new(o, "cycle", json_integer(p->fname.cycle));
    json_object_set_new(o, "pass", json_integer(p->fname.pass));
    json_set_str(o, strcmp(p->kind->short_name, "L2_HR_LakeSP") == 0 ? "basin" : "continent",
                 p->fname.tile);
    json_set_str(o, "crid", p->fname.crid);
    json_set_str(o, "counter", p->fname.counter);
    json_set_str(o, "product", p->kind->file_id);
    char *text = json_text(o);
    json_decref(o);
    return text;
}

int swot_run(const struct source *src, struct batch_writer *bw,
             const struct swot_kind *const *kinds, insitu_error *err)
{
    /* read ahead of time (src->ahead), or now */
    struct swot_reader *own = NULL, *r = src->ahead;
    if (!r && !(r = own = reader_start(src, kinds)))
        return insitu_error_set(err, INSITU_ENOMEM, "swot: %s: cannot start a reader thread",
                                src->name);
    struct product *p = &r->p;
    int rc = reader_opened(r, err);
    p->bw = bw;
    if (!rc && !p->has_meta)
        bw_warn(bw, "swot: %s: no .shp.xml metadata: units unknown, fill value "
                    "-999999999999 assumed",
                p->files.name);
    if (!rc && p->has_meta && p->meta.cycle &&
        (p->meta.cycle != p->fname.cycle || p->meta.pass != p->fname.pass))
        bw_warn(bw, "swot: %s: the metadata says cycle %d pass %d, the file name %d and %d",
                p->files.name, p->meta.cycle, p->meta.pass, p->fname.cycle, p->fname.pass);
    if (!rc)
        rc = product_sensor(p, err);
    if (!rc && !(p->parameters = product_parameters(p)))
        rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (!rc)
        rc = write_features(r, err);
    reader_end(r);
    if (!rc && p->time_mismatch)
        bw_warn(bw, "swot: %s: %llu features have a time_str more than 1 s from their time",
                p->files.name, (unsigned long long)p->time_mismatch);
    if (!rc && !p->features)
        bw_warn(bw, "swot: %s: no features", p->files.name);
    reader_free(own);
    return rc;
}

/* ---- probe and identity ---- */

/* The product's .shp name (for a zip or a folder: the first .shp inside). */
static char *shp_name(const struct source *src)
{
    if (!src->is_zip && !src->is_dir)
        return str_has_suffix_ci(src->name, ".shp") ? xstrdup(src->name) : NULL;
    char *root = product_root(src);
    char **entries = VSIReadDirRecursive(root);
    free(root);
    char *found = NULL;
    for (size_t i = 0; entries && entries[i] && !found; i++)
        if (str_has_suffix_ci(entries[i], ".shp"))
            found = xstrdup(path_basename(entries[i]));
    CSLDestroy(entries);
    return found;
}

/* A folder is a product when it holds exactly one .shp (a folder of products is not). */
static int single_shp_dir(const char *path)
{
    char **entries = VSIReadDir(path);
    int n = 0;
    for (size_t i = 0; entries && entries[i]; i++)
        n += str_has_suffix_ci(entries[i], ".shp");
    CSLDestroy(entries);
    return n == 1;
}

int swot_probe(const struct source *src, const struct swot_kind *const *kinds)
{
    if (src->is_dir && !single_shp_dir(src->path))
        return 0;
    /* the zip's own name is enough when it is a product's */
    struct swot_name n;
    if ((src->is_zip || src->is_dir) && swot_parse_name(src->name, &n) == 0 && kind_for(&n, kinds))
        return 95;
    if (!src->is_zip && !src->is_dir && !str_has_suffix_ci(src->name, ".shp"))
        return 0;
    char *name = shp_name(src);
    int score = name && swot_parse_name(name, &n) == 0 && kind_for(&n, kinds) ? 95 : 0;
    free(name);
    return score;
}

int swot_identify(const struct source *src, struct source_identity *id, insitu_error *err)
{
    struct swot_name n;
    char *name = shp_name(src);
    int ok = name && swot_parse_name(name, &n) == 0;
    if (!ok)
        ok = swot_parse_name(src->name, &n) == 0;
    free(name);
    if (!ok)
        return 0; /* the run reports what is wrong */
    snprintf(id->key, sizeof id->key, "SWOT_%s_%s_%03d_%03d_%s", n.short_name, n.file_id,
             n.cycle, n.pass, n.tile);
    snprintf(id->version, sizeof id->version, "%s_%s", n.crid, n.counter);
    (void)err;
    return 0;
}
