/*
 * raster.c: sampling one raster at many lon/lat points with GDAL/OSR (see raster.h). Points
 * are grouped by the raster block that holds them and each group's pixels are read in one
 * RasterIO call, so a block is read once however many points fall in it. It never opens a
 * raster per point and never writes anything.
 */
#include "raster.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include "timeutil.h"
#include "util.h"

/* One raster band on its grid: the sampled band, the mask or the per-pixel time. */
struct grid {
    GDALDatasetH ds;
    GDALRasterBandH band;
    double gt[6], inv[6];
    int width, height, block_w, block_h;
    int has_nodata;
    double nodata;
};

struct raster {
    char *name;          /* the dataset name opened */
    char *file;          /* the file (for dates in names) */
    struct grid main, mask, time;
    int has_mask, has_time;
    struct raster_opts o;
    OGRSpatialReferenceH srs, wgs84;
    OGRCoordinateTransformationH to_raster, to_wgs84;
    double scale, offset;
    char *variable, *unit, *time_var;
    double time_unit_us; /* per-pixel time: microseconds per unit, and the epoch */
    int64_t time_epoch_us;
};

const char *raster_variable(const struct raster *r) { return r->variable ? r->variable : ""; }
const char *raster_unit(const struct raster *r) { return r->unit ? r->unit : ""; }
const char *raster_dataset_name(const struct raster *r) { return r->name; }
double raster_scale(const struct raster *r) { return r->scale; }
double raster_offset(const struct raster *r) { return r->offset; }
const char *raster_time_var(const struct raster *r) { return r->has_time ? r->time_var : NULL; }
int raster_nodata(const struct raster *r, double *nodata)
{
    *nodata = r->main.nodata;
    return r->main.has_nodata;
}

double raster_distance_m(double lon1, double lat1, double lon2, double lat2)
{
    const double rad = M_PI / 180, earth = 6371008.8;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * earth * asin(sqrt(a < 1 ? a : 1));
}

static const char *gdal_message(void)
{
    const char *m = CPLGetLastErrorMsg();
    return m && *m ? m : "GDAL gave no reason";
}

/* ---- opening ---- */

/* Fills a grid from band `band` of an open dataset (the grid takes ds). */
static int grid_init(struct grid *g, GDALDatasetH ds, int band, const char *name,
                     insitu_error *err)
{
    g->ds = ds;
    if (band < 1 || band > GDALGetRasterCount(ds))
        return insitu_error_set(err, INSITU_EINVAL, "%s: band %d: the raster has %d band%s",
                                name, band, GDALGetRasterCount(ds),
                                GDALGetRasterCount(ds) == 1 ? "" : "s");
    g->band = GDALGetRasterBand(ds, band);
    if (GDALGetGeoTransform(ds, g->gt) != CE_None)
        return insitu_error_set(err, INSITU_EINVAL, "%s: no geotransform: pixels cannot be "
                                "located", name);
    if (!GDALInvGeoTransform(g->gt, g->inv))
        return insitu_error_set(err, INSITU_EINVAL, "%s: the geotransform cannot be inverted",
                                name);
    g->width = GDALGetRasterXSize(ds);
    g->height = GDALGetRasterYSize(ds);
    GDALGetBlockSize(g->band, &g->block_w, &g->block_h);
    if (g->block_w < 1)
        g->block_w = g->width;
    if (g->block_h < 1)
        g->block_h = 1;
    g->nodata = GDALGetRasterNoDataValue(g->band, &g->has_nodata);
    return 0;
}

static void grid_close(struct grid *g)
{
    if (g->ds)
        GDALClose(g->ds);
    g->ds = NULL;
}

/* A value as a band of this type stores it (nodata -3.4e38 is a float, not that double). */
static double as_stored(GDALRasterBandH band, double v)
{
    if (GDALGetRasterDataType(band) == GDT_Float32 && isfinite(v) && fabs(v) <= 3.4028234663852886e38)
        return (double)(float)v;
    return v;
}

/* The subdataset of ds whose name is `want` or ends with ":want"; NULL when none (caller
 * frees). With want NULL, lists the variables into *names. */
static char *find_subdataset(GDALDatasetH ds, const char *want, struct strbuf *names)
{
    char **md = GDALGetMetadata(ds, "SUBDATASETS");
    for (int i = 0; md && md[i]; i++) {
        const char *eq = strchr(md[i], '=');
        if (!eq || !strstr(md[i], "_NAME="))
            continue;
        const char *value = eq + 1;
        const char *colon = strrchr(value, ':');
        const char *var = colon ? colon + 1 : value;
        if (names)
            sb_printf(names, "%s%s", names->len ? ", " : "", var);
        if (want && (strcmp(value, want) == 0 || strcmp(var, want) == 0))
            return xstrdup(value);
    }
    return NULL;
}

static GDALDatasetH open_ro(const char *name)
{
    return GDALOpenEx(name, GDAL_OF_RASTER | GDAL_OF_READONLY, NULL, NULL, NULL);
}

/* Opens the dataset to sample: the file, or the subdataset chosen in the options. */
static int open_main(struct raster *r, const char *name, insitu_error *err)
{
    CPLErrorReset();
    GDALDatasetH ds = open_ro(name);
    if (!ds)
        return insitu_error_set(err, INSITU_EINVAL, "%s: not a raster GDAL can open: %s", name,
                                gdal_message());
    const char *want = r->o.subdataset;
    if (want && *want) {
        char *sub = find_subdataset(ds, want, NULL);
        if (!sub && GDALGetRasterCount(ds) == 0) {
            struct strbuf names = {0};
            find_subdataset(ds, NULL, &names);
            GDALClose(ds);
            insitu_error_set(err, INSITU_EINVAL, "%s: no subdataset '%s' (it has: %s)", name,
                             want, sb_str(&names));
            sb_free(&names);
            return INSITU_EINVAL;
        }
        if (sub) {
            /* the time variable is a sibling subdataset of the same file */
            if (!r->o.time_var || strcmp(r->o.time_var, "none") != 0) {
                const char *tv = r->o.time_var ? r->o.time_var : "t0";
                char *tname = find_subdataset(ds, tv, NULL);
                if (tname) {
                    GDALDatasetH tds = open_ro(tname);
                    if (tds) {
                        r->time_var = xstrdup(tv);
                        r->time.ds = tds;
                    }
                } else if (r->o.time_var) {
                    free(sub);
                    GDALClose(ds);
                    return insitu_error_set(err, INSITU_EINVAL,
                                            "%s: no time variable '%s' beside '%s'", name,
                                            r->o.time_var, want);
                }
                free(tname);
            }
            GDALClose(ds);
            ds = open_ro(sub);
            if (!ds) {
                insitu_error_set(err, INSITU_EINVAL, "%s: cannot open: %s", sub,
                                 gdal_message());
                free(sub);
                return INSITU_EINVAL;
            }
            r->name = sub;
        }
    } else if (GDALGetRasterCount(ds) == 0) {
        struct strbuf names = {0};
        find_subdataset(ds, NULL, &names);
        GDALClose(ds);
        if (names.len)
            insitu_error_set(err, INSITU_EINVAL,
                             "%s: several variables (%s): choose one with --subdataset", name,
                             sb_str(&names));
        else
            insitu_error_set(err, INSITU_EINVAL, "%s: the raster has no band", name);
        sb_free(&names);
        return err ? err->code : INSITU_EINVAL;
    }
    if (!r->name)
        r->name = xstrdup(name);
    int band = r->o.band ? r->o.band : 1;
    return grid_init(&r->main, ds, band, r->name, err);
}

/* "days since 1970-01-01 00:00:00 UTC" -> microseconds per unit and the epoch. */
static int cf_time_units(const char *units, double *unit_us, int64_t *epoch)
{
    static const struct {
        const char *name;
        double us;
    } unit_table[] = {{"days", 86400e6},   {"day", 86400e6},    {"d", 86400e6},
                      {"hours", 3600e6},   {"hour", 3600e6},    {"h", 3600e6},
                      {"minutes", 60e6},   {"minute", 60e6},    {"min", 60e6},
                      {"seconds", 1e6},    {"second", 1e6},     {"s", 1e6}};
    if (!units)
        return -1;
    const char *since = strstr(units, " since ");
    if (!since)
        return -1;
    size_t ulen = (size_t)(since - units);
    *unit_us = 0;
    for (size_t i = 0; i < ARRAY_LEN(unit_table); i++)
        if (strlen(unit_table[i].name) == ulen && strncasecmp(units, unit_table[i].name, ulen) == 0)
            *unit_us = unit_table[i].us;
    if (*unit_us == 0)
        return -1;
    char text[64];
    snprintf(text, sizeof text, "%s", since + 7);
    char *p = str_trim(text);
    size_t n = strlen(p);
    if (n > 4 && strcasecmp(p + n - 4, " UTC") == 0)
        p[n -= 4] = '\0';
    if (n > 10 && p[10] == ' ')
        p[10] = 'T';
    return time_parse_iso(p, strlen(p), NULL, epoch, NULL) ? -1 : 0;
}

static int open_time(struct raster *r, insitu_error *err)
{
    if (!r->time.ds)
        return 0;
    GDALDatasetH ds = r->time.ds;
    int rc = grid_init(&r->time, ds, r->o.band ? r->o.band : 1, r->time_var, err);
    if (rc)
        return rc;
    const char *units = GDALGetMetadataItem(r->time.band, "units", NULL);
    if (!units)
        units = GDALGetRasterUnitType(r->time.band);
    if (cf_time_units(units, &r->time_unit_us, &r->time_epoch_us))
        return insitu_error_set(err, INSITU_EINVAL,
                                "%s: time variable '%s': units '%s' are not 'UNIT since DATE'",
                                r->name, r->time_var, units ? units : "");
    r->has_time = 1;
    return 0;
}

static int open_mask(struct raster *r, insitu_error *err)
{
    if (!r->o.mask)
        return 0;
    GDALDatasetH ds = open_ro(r->o.mask);
    if (!ds)
        return insitu_error_set(err, INSITU_EINVAL, "mask %s: cannot open: %s", r->o.mask,
                                gdal_message());
    int rc = grid_init(&r->mask, ds, r->o.mask_band ? r->o.mask_band : 1, r->o.mask, err);
    if (rc)
        return rc;
    OGRSpatialReferenceH msrs = GDALGetSpatialRef(ds);
    if (msrs && r->srs && !OSRIsSame(msrs, r->srs))
        return insitu_error_set(err, INSITU_EINVAL,
                                "mask %s: its CRS is not the raster's (%s): reproject one of "
                                "them first",
                                r->o.mask, r->name);
    r->has_mask = 1;
    return 0;
}

int raster_crs_known(const char *text)
{
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    int known = srs && OSRSetFromUserInput(srs, text) == OGRERR_NONE;
    OSRDestroySpatialReference(srs);
    return known;
}

static int open_crs(struct raster *r, insitu_error *err)
{
    OGRSpatialReferenceH srs = GDALGetSpatialRef(r->main.ds);
    if (srs) {
        r->srs = OSRClone(srs);
    } else if (r->o.assume_crs) {
        r->srs = OSRNewSpatialReference(NULL);
        if (OSRSetFromUserInput(r->srs, r->o.assume_crs) != OGRERR_NONE)
            return insitu_error_set(err, INSITU_EUSAGE, "assume_crs '%s': not a CRS GDAL knows",
                                    r->o.assume_crs);
    } else {
        return insitu_error_set(err, INSITU_EINVAL,
                                "%s: the raster declares no coordinate reference system; if its "
                                "coordinates are longitude/latitude, say so with --assume-crs "
                                "EPSG:4326",
                                r->name);
    }
    OSRSetAxisMappingStrategy(r->srs, OAMS_TRADITIONAL_GIS_ORDER);
    r->wgs84 = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(r->wgs84, 4326);
    OSRSetAxisMappingStrategy(r->wgs84, OAMS_TRADITIONAL_GIS_ORDER);
    CPLErrorReset();
    r->to_raster = OCTNewCoordinateTransformation(r->wgs84, r->srs);
    r->to_wgs84 = OCTNewCoordinateTransformation(r->srs, r->wgs84);
    if (!r->to_raster || !r->to_wgs84)
        return insitu_error_set(err, INSITU_EINVAL, "%s: no transformation from EPSG:4326 to "
                                "the raster's CRS: %s", r->name, gdal_message());
    return 0;
}

/* The NetCDF (or other) variable name, the unit, and the scale/offset to apply. */
static void describe_band(struct raster *r)
{
    GDALRasterBandH b = r->main.band;
    const char *var = GDALGetMetadataItem(b, "NETCDF_VARNAME", NULL);
    if (!var || !*var)
        var = GDALGetDescription(b);
    r->variable = xstrdup(var ? var : "");
    const char *unit = GDALGetRasterUnitType(b);
    r->unit = xstrdup(unit ? unit : "");
    int has = 0;
    double s = GDALGetRasterScale(b, &has);
    r->scale = r->o.has_scale ? r->o.scale : has ? s : 1.0;
    double off = GDALGetRasterOffset(b, &has);
    r->offset = r->o.has_offset ? r->o.offset : has ? off : 0.0;
    if (r->o.has_nodata) {
        r->main.has_nodata = 1;
        r->main.nodata = r->o.nodata;
    }
    if (r->main.has_nodata)
        r->main.nodata = as_stored(b, r->main.nodata);
}

int raster_open(const char *name, const struct raster_opts *o, struct raster **out,
                insitu_error *err)
{
    *out = NULL;
    gdal_drivers();
    struct raster *r = calloc(1, sizeof *r);
    if (!r)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    r->o = *o;
    if (r->o.window < 1)
        r->o.window = 1;
    if (r->o.min_valid < 1)
        r->o.min_valid = 1;
    r->file = xstrdup(name);
    int rc = open_main(r, name, err);
    if (!rc)
        rc = open_crs(r, err);
    if (!rc)
        rc = open_mask(r, err);
    if (!rc)
        rc = open_time(r, err);
    if (rc) {
        raster_close(r);
        return rc;
    }
    describe_band(r);
    *out = r;
    return 0;
}

void raster_close(struct raster *r)
{
    if (!r)
        return;
    grid_close(&r->main);
    grid_close(&r->mask);
    grid_close(&r->time);
    if (r->to_raster)
        OCTDestroyCoordinateTransformation(r->to_raster);
    if (r->to_wgs84)
        OCTDestroyCoordinateTransformation(r->to_wgs84);
    if (r->srs)
        OSRRelease(r->srs);
    if (r->wgs84)
        OSRRelease(r->wgs84);
    free(r->name);
    free(r->file);
    free(r->variable);
    free(r->unit);
    free(r->time_var);
    free(r);
}

void raster_bounds_wgs84(const struct raster *r, double bbox[4])
{
    enum { STEPS = 32, N = 4 * (STEPS + 1) };
    double x[N], y[N], z[N];
    int ok[N];
    const struct grid *g = &r->main;
    int k = 0;
    for (int i = 0; i <= STEPS; i++) {
        double t = (double)i / STEPS;
        double pc[4][2] = {{t * g->width, 0}, {t * g->width, g->height}, {0, t * g->height},
                           {g->width, t * g->height}};
        for (int e = 0; e < 4; e++, k++) {
            x[k] = g->gt[0] + pc[e][0] * g->gt[1] + pc[e][1] * g->gt[2];
            y[k] = g->gt[3] + pc[e][0] * g->gt[4] + pc[e][1] * g->gt[5];
            z[k] = 0;
        }
    }
    OCTTransformEx(r->to_wgs84, N, x, y, z, ok);
    bbox[0] = bbox[1] = INFINITY;
    bbox[2] = bbox[3] = -INFINITY;
    for (int i = 0; i < N; i++) {
        if (!ok[i] || !isfinite(x[i]) || !isfinite(y[i]))
            continue;
        bbox[0] = fmin(bbox[0], x[i]);
        bbox[1] = fmin(bbox[1], y[i]);
        bbox[2] = fmax(bbox[2], x[i]);
        bbox[3] = fmax(bbox[3], y[i]);
    }
    if (!isfinite(bbox[0])) { /* nothing transformed: the whole Earth */
        bbox[0] = -180;
        bbox[1] = -90;
        bbox[2] = 180;
        bbox[3] = 90;
    }
}

/* ---- sampling ---- */

struct point {
    size_t index;
    double px, py;   /* fractional pixel coordinates */
    int col, row;
    int64_t block;
};

static int cmp_block(const void *a, const void *b)
{
    const struct point *p = a, *q = b;
    if (p->block != q->block)
        return p->block < q->block ? -1 : 1;
    return p->index < q->index ? -1 : p->index > q->index;
}

/* A rectangle of pixels read at once, with the matching mask and time values. */
struct window_buf {
    int x0, y0, w, h;
    double *values;
    unsigned char *bad;   /* 1 where the mask says the pixel is bad */
    double *times;        /* per-pixel time values (raw), when the raster has them */
};

static void geo_of_pixel(const double gt[6], double col, double row, double *x, double *y)
{
    *x = gt[0] + col * gt[1] + row * gt[2];
    *y = gt[3] + col * gt[4] + row * gt[5];
}

/* Reads the pixels of companion grid c that lie under main-grid pixels of rect (pixel
 * centres mapped through the geotransforms), into out[w*h]. Outside c: fill. */
static int companion_read(const struct grid *main, const struct grid *c, const struct window_buf *wb,
                          double fill, double *out, insitu_error *err, const char *what)
{
    int cx0 = INT32_MAX, cy0 = INT32_MAX, cx1 = INT32_MIN, cy1 = INT32_MIN;
    int *cols = malloc(sizeof(int) * (size_t)wb->w), *rows = malloc(sizeof(int) * (size_t)wb->h);
    if (!cols || !rows) {
        free(cols);
        free(rows);
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    }
    /* both grids are north-up in practice; map columns and rows separately when they are */
    int separable = main->gt[2] == 0 && main->gt[4] == 0 && c->gt[2] == 0 && c->gt[4] == 0;
    for (int i = 0; i < wb->w; i++) {
        double x, y;
        geo_of_pixel(main->gt, wb->x0 + i + 0.5, wb->y0 + 0.5, &x, &y);
        cols[i] = (int)floor(c->inv[0] + c->inv[1] * x + c->inv[2] * y);
    }
    for (int j = 0; j < wb->h; j++) {
        double x, y;
        geo_of_pixel(main->gt, wb->x0 + 0.5, wb->y0 + j + 0.5, &x, &y);
        rows[j] = (int)floor(c->inv[3] + c->inv[4] * x + c->inv[5] * y);
    }
    int rc = 0;
    if (!separable) {
        rc = insitu_error_set(err, INSITU_EUNSUPPORTED,
                              "%s: rotated geotransforms are not supported", what);
        goto out;
    }
    for (int i = 0; i < wb->w; i++) {
        cx0 = cols[i] < cx0 ? cols[i] : cx0;
        cx1 = cols[i] > cx1 ? cols[i] : cx1;
    }
    for (int j = 0; j < wb->h; j++) {
        cy0 = rows[j] < cy0 ? rows[j] : cy0;
        cy1 = rows[j] > cy1 ? rows[j] : cy1;
    }
    cx0 = cx0 < 0 ? 0 : cx0;
    cy0 = cy0 < 0 ? 0 : cy0;
    cx1 = cx1 >= c->width ? c->width - 1 : cx1;
    cy1 = cy1 >= c->height ? c->height - 1 : cy1;
    for (int k = 0; k < wb->w * wb->h; k++)
        out[k] = fill;
    if (cx1 < cx0 || cy1 < cy0)
        goto out;
    int cw = cx1 - cx0 + 1, ch = cy1 - cy0 + 1;
    double *buf = malloc(sizeof(double) * (size_t)cw * (size_t)ch);
    if (!buf) {
        rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        goto out;
    }
    CPLErrorReset();
    if (GDALRasterIO(c->band, GF_Read, cx0, cy0, cw, ch, buf, cw, ch, GDT_Float64, 0, 0) !=
        CE_None) {
        free(buf);
        rc = insitu_error_set(err, INSITU_EIO, "%s: read error: %s", what, gdal_message());
        goto out;
    }
    for (int j = 0; j < wb->h; j++) {
        if (rows[j] < cy0 || rows[j] > cy1)
            continue;
        for (int i = 0; i < wb->w; i++)
            if (cols[i] >= cx0 && cols[i] <= cx1)
                out[j * wb->w + i] = buf[(rows[j] - cy0) * cw + (cols[i] - cx0)];
    }
    free(buf);
out:
    free(cols);
    free(rows);
    return rc;
}

static int read_window(struct raster *r, struct window_buf *wb, insitu_error *err)
{
    size_t n = (size_t)wb->w * (size_t)wb->h;
    wb->values = malloc(n * sizeof(double));
    wb->bad = calloc(n, 1);
    if (!wb->values || !wb->bad)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    CPLErrorReset();
    if (GDALRasterIO(r->main.band, GF_Read, wb->x0, wb->y0, wb->w, wb->h, wb->values, wb->w,
                     wb->h, GDT_Float64, 0, 0) != CE_None)
        return insitu_error_set(err, INSITU_EIO, "%s: read error at pixel %d,%d: %s", r->name,
                                wb->x0, wb->y0, gdal_message());
    if (r->has_mask) {
        double *m = malloc(n * sizeof(double));
        if (!m)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        /* outside the mask's extent nothing is known of the pixel: it counts as bad */
        int rc = companion_read(&r->main, &r->mask, wb, -1, m, err, r->o.mask);
        for (size_t k = 0; !rc && k < n; k++) {
            if (m[k] < 0) {
                wb->bad[k] = 1;
                continue;
            }
            uint64_t v = (uint64_t)m[k];
            wb->bad[k] = r->o.mask_bits ? (v & r->o.mask_bits) != 0 : v != 0;
        }
        free(m);
        if (rc)
            return rc;
    }
    if (r->has_time) {
        wb->times = malloc(n * sizeof(double));
        if (!wb->times)
            return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        return companion_read(&r->main, &r->time, wb, NAN, wb->times, err, r->time_var);
    }
    return 0;
}

static void window_free(struct window_buf *wb)
{
    free(wb->values);
    free(wb->bad);
    free(wb->times);
    memset(wb, 0, sizeof *wb);
}

/* 1 when the stored value v at buffer index k can be used. */
static int usable(const struct raster *r, const struct window_buf *wb, size_t k)
{
    double v = wb->values[k];
    if (isnan(v) || wb->bad[k])
        return 0;
    return !(r->main.has_nodata && v == r->main.nodata);
}

/* The physical value of a stored one. Rounded to 15 significant digits: the product of a
 * decimal scale is not exact in binary (5144 x 0.0001 = 0.5144000000000001), and 15 digits
 * are more than any raster's scale carries. */
static double scaled(const struct raster *r, double v)
{
    double x = v * r->scale + r->offset;
    if (r->scale == 1.0 && r->offset == 0.0)
        return x;
    char buf[40];
    snprintf(buf, sizeof buf, "%.15g", x);
    return strtod(buf, NULL);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void sample_window(struct raster *r, const struct window_buf *wb, const struct point *p,
                          struct raster_sample *s, double *scratch)
{
    int half = r->o.window / 2, nv = 0, n = 0;
    for (int row = p->row - half; row <= p->row + half; row++) {
        for (int col = p->col - half; col <= p->col + half; col++) {
            if (row < 0 || col < 0 || row >= r->main.height || col >= r->main.width)
                continue;
            n++;
            size_t k = (size_t)(row - wb->y0) * (size_t)wb->w + (size_t)(col - wb->x0);
            if (usable(r, wb, k))
                scratch[nv++] = scaled(r, wb->values[k]);
        }
    }
    s->n = n;
    s->n_valid = nv;
    if (!nv) {
        s->valid = 0;
        s->why = "too_few_valid";
        return;
    }
    double sum = 0;
    for (int i = 0; i < nv; i++)
        sum += scratch[i];
    s->mean = sum / nv;
    double ss = 0;
    for (int i = 0; i < nv; i++)
        ss += (scratch[i] - s->mean) * (scratch[i] - s->mean);
    s->std = sqrt(ss / nv);
    qsort(scratch, (size_t)nv, sizeof *scratch, cmp_double);
    s->min = scratch[0];
    s->max = scratch[nv - 1];
    s->median = nv % 2 ? scratch[nv / 2] : (scratch[nv / 2 - 1] + scratch[nv / 2]) / 2;
    if (nv < r->o.min_valid) {
        s->valid = 0;
        s->why = "too_few_valid";
        return;
    }
    s->valid = 1;
    s->value = r->o.stat == RASTER_MEDIAN ? s->median : s->mean;
}

/* Bilinear interpolation between the four pixel centres around the point; pixels without a
 * usable value are left out and the weights of the others renormalised. */
static void sample_bilinear(struct raster *r, const struct window_buf *wb, const struct point *p,
                            struct raster_sample *s)
{
    double x = p->px - 0.5, y = p->py - 0.5;
    int c0 = (int)floor(x), r0 = (int)floor(y);
    double fx = x - c0, fy = y - r0, wsum = 0, vsum = 0;
    int n = 0;
    for (int dy = 0; dy <= 1; dy++) {
        for (int dx = 0; dx <= 1; dx++) {
            int col = c0 + dx, row = r0 + dy;
            col = col < 0 ? 0 : col >= r->main.width ? r->main.width - 1 : col;
            row = row < 0 ? 0 : row >= r->main.height ? r->main.height - 1 : row;
            double w = (dx ? fx : 1 - fx) * (dy ? fy : 1 - fy);
            size_t k = (size_t)(row - wb->y0) * (size_t)wb->w + (size_t)(col - wb->x0);
            if (!usable(r, wb, k))
                continue;
            n++;
            wsum += w;
            vsum += w * scaled(r, wb->values[k]);
        }
    }
    s->n = 4;
    s->n_valid = n;
    if (n == 0 || wsum <= 0) {
        s->valid = 0;
        if (!s->why)
            s->why = "nodata";
        return;
    }
    s->valid = 1;
    s->why = NULL;
    s->value = vsum / wsum;
}

/* The rows/cols a point needs around its pixel. */
static void needed(const struct raster *r, const struct point *p, int *x0, int *y0, int *x1,
                   int *y1)
{
    int half = r->o.method == RASTER_WINDOW ? r->o.window / 2 : 0;
    *x0 = p->col - half;
    *x1 = p->col + half;
    *y0 = p->row - half;
    *y1 = p->row + half;
    if (r->o.method == RASTER_BILINEAR) {
        int c0 = (int)floor(p->px - 0.5), r0 = (int)floor(p->py - 0.5);
        *x0 = c0 < *x0 ? c0 : *x0;
        *y0 = r0 < *y0 ? r0 : *y0;
        *x1 = c0 + 1 > *x1 ? c0 + 1 : *x1;
        *y1 = r0 + 1 > *y1 ? r0 + 1 : *y1;
    }
    *x0 = *x0 < 0 ? 0 : *x0;
    *y0 = *y0 < 0 ? 0 : *y0;
    *x1 = *x1 >= r->main.width ? r->main.width - 1 : *x1;
    *y1 = *y1 >= r->main.height ? r->main.height - 1 : *y1;
}

static void sample_point(struct raster *r, const struct window_buf *wb, const struct point *p,
                         struct raster_sample *s, double *scratch)
{
    size_t k = (size_t)(p->row - wb->y0) * (size_t)wb->w + (size_t)(p->col - wb->x0);
    s->raw = wb->values[k];
    s->time_us = INSITU_TIME_NONE;
    if (wb->times) {
        double t = wb->times[k];
        if (isfinite(t) && !(r->time.has_nodata && t == r->time.nodata)) {
            /* per-pixel times are kept to the second: finer digits are float noise */
            double secs = floor(t * r->time_unit_us / 1e6 + 0.5);
            s->time_us = r->time_epoch_us + (int64_t)secs * US_PER_SEC;
        }
    }
    int ok = usable(r, wb, k);
    s->why = ok ? NULL : wb->bad[k] ? "masked" : "nodata";
    s->n = 1;
    s->n_valid = ok;
    switch (r->o.method) {
    case RASTER_NEAREST:
        s->valid = ok;
        if (ok)
            s->value = s->mean = s->median = s->min = s->max = scaled(r, s->raw);
        break;
    case RASTER_WINDOW: sample_window(r, wb, p, s, scratch); break;
    case RASTER_BILINEAR: sample_bilinear(r, wb, p, s); break;
    }
}

static int cmp_row_col(const void *a, const void *b)
{
    const struct point *p = a, *q = b;
    if (p->row != q->row)
        return p->row < q->row ? -1 : 1;
    return p->col < q->col ? -1 : p->col > q->col;
}

/* Samples one group of points (same block) from one read. A block can be a whole image
 * (an unchunked global NetCDF variable): a group whose rectangle is too large to read at
 * once is split in halves by rows until it fits. */
static int sample_group(struct raster *r, struct point *pts, size_t n,
                        struct raster_sample *out, double *scratch, insitu_error *err)
{
    int x0 = INT32_MAX, y0 = INT32_MAX, x1 = INT32_MIN, y1 = INT32_MIN;
    for (size_t i = 0; i < n; i++) {
        int a, b, c, d;
        needed(r, &pts[i], &a, &b, &c, &d);
        x0 = a < x0 ? a : x0;
        y0 = b < y0 ? b : y0;
        x1 = c > x1 ? c : x1;
        y1 = d > y1 ? d : y1;
    }
    int64_t limit = r->o.max_read_pixels > 0 ? r->o.max_read_pixels : INT64_C(1) << 22;
    if ((int64_t)(x1 - x0 + 1) * (y1 - y0 + 1) > limit && n > 1) {
        qsort(pts, n, sizeof *pts, cmp_row_col);
        int rc = sample_group(r, pts, n / 2, out, scratch, err);
        return rc ? rc : sample_group(r, pts + n / 2, n - n / 2, out, scratch, err);
    }
    struct window_buf wb = {.x0 = x0, .y0 = y0, .w = x1 - x0 + 1, .h = y1 - y0 + 1};
    int rc = read_window(r, &wb, err);
    for (size_t i = 0; !rc && i < n; i++)
        sample_point(r, &wb, &pts[i], &out[pts[i].index], scratch);
    window_free(&wb);
    return rc;
}

/* Pixel centres back to lon/lat, and distances to the points. */
static void locate_centres(struct raster *r, const double *lon, const double *lat,
                           struct raster_sample *out, size_t n)
{
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *z = calloc(n, sizeof *z);
    int *ok = malloc(n * sizeof *ok);
    if (!x || !y || !z || !ok)
        goto out;
    for (size_t i = 0; i < n; i++)
        geo_of_pixel(r->main.gt, out[i].col + 0.5, out[i].row + 0.5, &x[i], &y[i]);
    OCTTransformEx(r->to_wgs84, (int)n, x, y, z, ok);
    for (size_t i = 0; i < n; i++) {
        if (!out[i].inside)
            continue;
        out[i].px_lon = ok[i] ? x[i] : NAN;
        out[i].px_lat = ok[i] ? y[i] : NAN;
        out[i].dist_m = ok[i] ? raster_distance_m(lon[i], lat[i], x[i], y[i]) : NAN;
    }
out:
    free(x);
    free(y);
    free(z);
    free(ok);
}

int raster_sample_points(struct raster *r, const double *lon, const double *lat, size_t n,
                         struct raster_sample *out, insitu_error *err)
{
    memset(out, 0, n * sizeof *out);
    if (!n)
        return 0;
    double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *z = calloc(n, sizeof *z);
    int *ok = malloc(n * sizeof *ok);
    struct point *pts = malloc(n * sizeof *pts);
    int w = r->o.method == RASTER_WINDOW ? r->o.window : 2;
    double *scratch = malloc(sizeof(double) * (size_t)w * (size_t)w);
    int rc = 0;
    if (!x || !y || !z || !ok || !pts || !scratch) {
        rc = insitu_error_set(err, INSITU_ENOMEM, "out of memory");
        goto out;
    }
    memcpy(x, lon, n * sizeof *x);
    memcpy(y, lat, n * sizeof *y);
    OCTTransformEx(r->to_raster, (int)n, x, y, z, ok);
    const struct grid *g = &r->main;
    int64_t blocks_x = (g->width + g->block_w - 1) / g->block_w;
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (!ok[i] || !isfinite(x[i]) || !isfinite(y[i]))
            continue;
        double px = g->inv[0] + g->inv[1] * x[i] + g->inv[2] * y[i];
        double py = g->inv[3] + g->inv[4] * x[i] + g->inv[5] * y[i];
        if (!(px >= 0 && py >= 0 && px < g->width && py < g->height))
            continue;
        struct point *p = &pts[m++];
        p->index = i;
        p->px = px;
        p->py = py;
        p->col = (int)floor(px);
        p->row = (int)floor(py);
        p->block = (int64_t)(p->row / g->block_h) * blocks_x + p->col / g->block_w;
        out[i].inside = 1;
        out[i].col = p->col;
        out[i].row = p->row;
    }
    qsort(pts, m, sizeof *pts, cmp_block);
    for (size_t start = 0; start < m && !rc;) {
        size_t end = start + 1;
        while (end < m && pts[end].block == pts[start].block)
            end++;
        rc = sample_group(r, pts + start, end - start, out, scratch, err);
        start = end;
    }
    if (!rc)
        locate_centres(r, lon, lat, out, n);
out:
    free(x);
    free(y);
    free(z);
    free(ok);
    free(pts);
    free(scratch);
    return rc;
}

/* ---- acquisition time ---- */

static int valid_date(int y, int m, int d)
{
    return y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Tries the built-in forms at a run of `len` digits starting at s. */
static int date_at(const char *s, size_t len, const char *end, int64_t *out)
{
    struct civil c = {0, 1, 1, 0, 0, 0, 0};
    int y, m, d;
    if (len == 4 && end - s >= 10 && s[4] == '-' && s[7] == '-' && !digits(s, 4, &y) &&
        !digits(s + 5, 2, &m) && !digits(s + 8, 2, &d) &&
        (end - s == 10 || !isdigit((unsigned char)s[10])) && valid_date(y, m, d)) {
        c.year = y, c.month = m, c.day = d; /* ISO date: ..._NDVI_2014-08-29.jp2 */
        *out = civil_to_us(&c);
        return 0;
    }
    if ((len == 8 || len == 14) && !digits(s, 4, &y) && !digits(s + 4, 2, &m) &&
        !digits(s + 6, 2, &d) && valid_date(y, m, d)) {
        c.year = y, c.month = m, c.day = d;
        int hh, mi, ss, ms;
        if (len == 14 && !digits(s + 8, 2, &hh) && !digits(s + 10, 2, &mi) &&
            !digits(s + 12, 2, &ss) && hh < 24 && mi < 60 && ss < 61) {
            c.hour = hh, c.minute = mi, c.second = ss; /* ESA CCI: -20161227000000- */
        } else if (len == 8 && end - s >= 15 && s[8] == '-' && !digits(s + 9, 2, &hh) &&
                   !digits(s + 11, 2, &mi) && !digits(s + 13, 2, &ss) && hh < 24 && mi < 60 &&
                   ss < 61) {
            /* THEIA MUSCATE: SENTINEL2A_20170203-071245-541_L2A_... */
            c.hour = hh, c.minute = mi, c.second = ss;
            if (end - s >= 19 && s[15] == '-' && !digits(s + 16, 3, &ms))
                c.micro = ms * 1000;
        } else if (len == 14) {
            return -1;
        }
        *out = civil_to_us(&c);
        return 0;
    }
    return -1;
}

int raster_time_from_name(const char *path, const char *pattern, int64_t *out)
{
    const char *name = path_basename(path);
    size_t n = strlen(name);
    if (pattern && *pattern) {
        for (size_t start = 0; start < n; start++)
            for (size_t len = n - start; len > 0; len--)
                if (time_parse_pattern(name + start, len, pattern, NULL, out, NULL) == 0)
                    return 0;
        return -1;
    }
    for (size_t i = 0; i < n;) {
        if (!isdigit((unsigned char)name[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && isdigit((unsigned char)name[j]))
            j++;
        if (date_at(name + i, j - i, name + n, out) == 0)
            return 0;
        i = j;
    }
    return -1;
}

/* The band's time from NetCDF dimension metadata: NETCDF_DIM_<dim>=value with <dim>#units
 * "UNIT since DATE" on the dataset. */
static int netcdf_band_time(const struct raster *r, int64_t *out)
{
    char **md = GDALGetMetadata(r->main.band, NULL);
    for (int i = 0; md && md[i]; i++) {
        if (strncmp(md[i], "NETCDF_DIM_", 11) != 0)
            continue;
        const char *eq = strchr(md[i], '=');
        if (!eq)
            continue;
        char key[128];
        snprintf(key, sizeof key, "%.*s#units", (int)(eq - md[i] - 11), md[i] + 11);
        double unit_us, v;
        int64_t epoch;
        if (cf_time_units(GDALGetMetadataItem(r->main.ds, key, NULL), &unit_us, &epoch) ||
            parse_double(eq + 1, strlen(eq + 1), &v))
            continue;
        *out = epoch + (int64_t)floor(v * unit_us / 1e6 + 0.5) * US_PER_SEC;
        return 0;
    }
    return -1;
}

int raster_time(const struct raster *r, const char *date_pattern, int64_t *out,
                const char **source, insitu_error *err)
{
    if (date_pattern && *date_pattern) {
        *source = "file name (date pattern)";
        if (raster_time_from_name(r->file, date_pattern, out) == 0)
            return 0;
        return insitu_error_set(err, INSITU_EINVAL, "%s: the file name does not match the date "
                                "pattern '%s'", path_basename(r->file), date_pattern);
    }
    *source = "NetCDF time coordinate";
    if (netcdf_band_time(r, out) == 0)
        return 0;
    *source = "file name";
    if (raster_time_from_name(r->file, NULL, out) == 0)
        return 0;
    return insitu_error_set(err, INSITU_ENOTFOUND,
                            "%s: no acquisition time in its metadata or file name: give "
                            "--date or --date-pattern",
                            path_basename(r->file));
}

/* ---- access for the zonal engine (zonal.c) ---- */

void raster_grid(const struct raster *r, double gt[6], double inv[6], int *width, int *height)
{
    memcpy(gt, r->main.gt, sizeof r->main.gt);
    memcpy(inv, r->main.inv, sizeof r->main.inv);
    *width = r->main.width;
    *height = r->main.height;
}

void *raster_from_wgs84(const struct raster *r) { return r->to_raster; }

char **raster_category_names(const struct raster *r)
{
    return GDALGetRasterCategoryNames(r->main.band);
}

int raster_read_rect(struct raster *r, int x0, int y0, int w, int h, double *value, double *raw,
                     unsigned char *ok, insitu_error *err)
{
    struct window_buf wb = {.x0 = x0, .y0 = y0, .w = w, .h = h};
    int rc = read_window(r, &wb, err);
    for (size_t k = 0; !rc && k < (size_t)w * (size_t)h; k++) {
        raw[k] = wb.values[k];
        ok[k] = (unsigned char)usable(r, &wb, k);
        value[k] = ok[k] ? scaled(r, wb.values[k]) : NAN;
    }
    window_free(&wb);
    return rc;
}

/* ---- several bands of one dataset (--bands) ---- */

int raster_band_count(const struct raster *r) { return GDALGetRasterCount(r->main.ds); }

const char *raster_band_description(const struct raster *r, int band)
{
    if (band < 1 || band > GDALGetRasterCount(r->main.ds))
        return "";
    const char *d = GDALGetDescription(GDALGetRasterBand(r->main.ds, band));
    return d ? d : "";
}

int raster_select_band(struct raster *r, int band, insitu_error *err)
{
    if (band < 1 || band > GDALGetRasterCount(r->main.ds))
        return insitu_error_set(err, INSITU_EINVAL, "%s: band %d: the raster has %d band%s",
                                r->name, band, GDALGetRasterCount(r->main.ds),
                                GDALGetRasterCount(r->main.ds) == 1 ? "" : "s");
    /* the same dataset: blocks that GDAL read for one band (pixel-interleaved files hold
     * every band in a block) are in its cache for the next */
    struct grid *g = &r->main;
    g->band = GDALGetRasterBand(g->ds, band);
    GDALGetBlockSize(g->band, &g->block_w, &g->block_h);
    if (g->block_w < 1)
        g->block_w = g->width;
    if (g->block_h < 1)
        g->block_h = 1;
    g->nodata = GDALGetRasterNoDataValue(g->band, &g->has_nodata);
    r->o.band = band;
    free(r->variable);
    free(r->unit);
    describe_band(r);
    return r->variable && r->unit ? 0 : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
}
