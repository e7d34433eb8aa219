/*
 * test_zonal.c: the zonal engine (src/zonal.c) and the class table (src/classes.c). Rasters
 * are written by the test; the coverage of each pixel is computed here by hand (a convex
 * polygon clipped to the pixel square, shoelace area), and every statistic recomputed here
 * from the pixels with the definitions of zonal.h, to 1e-9: polygons on the raster's CRS,
 * a polygon in lon/lat over a UTM raster, a polygon smaller than a pixel, centre coverage,
 * nodata, reading block by block, windows, majority and fractions, class files.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "classes.h"
#include "raster.h"
#include "store.h"
#include "tap.h"
#include "testutil.h"
#include "util.h"
#include "zonal.h"

enum { W = 24, H = 20 };

/* Writes a W x H Float64 GeoTIFF of CRS epsg, geotransform gt, values v (nodata -9999 where
 * v is -9999), optional category names. Returns the path (caller frees). */
static char *write_raster(const char *name, int epsg, const double gt[6], const double *v,
                          char **categories)
{
    struct strbuf path = {0};
    sb_printf(&path, "%s/%s", tu_tmpdir(), name);
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    char *opts[] = {"BLOCKXSIZE=16", "BLOCKYSIZE=16", "TILED=YES", NULL};
    GDALDatasetH ds = GDALCreate(drv, sb_str(&path), W, H, 1, GDT_Float64, opts);
    GDALSetGeoTransform(ds, (double *)gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, epsg);
    GDALSetSpatialRef(ds, srs);
    OSRDestroySpatialReference(srs);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    GDALSetRasterNoDataValue(b, -9999);
    if (categories)
        GDALSetRasterCategoryNames(b, categories);
    CU_ASSERT(GDALRasterIO(b, GF_Write, 0, 0, W, H, (void *)v, W, H, GDT_Float64, 0, 0) == CE_None);
    GDALClose(ds);
    return path.data;
}

/* ---- the reference: hand-written clipping of a convex polygon to a pixel square ---- */

struct pt {
    double x, y;
};

/* Clips polygon p (n vertices) to the half-plane a x + b y <= c; returns the new count. */
static int clip_half(const struct pt *p, int n, double a, double b, double c, struct pt *out)
{
    int m = 0;
    for (int i = 0; i < n; i++) {
        struct pt s = p[i], e = p[(i + 1) % n];
        double ds = a * s.x + b * s.y - c, de = a * e.x + b * e.y - c;
        if (ds <= 0)
            out[m++] = s;
        if ((ds < 0 && de > 0) || (ds > 0 && de < 0)) {
            double t = ds / (ds - de);
            out[m++] = (struct pt){s.x + t * (e.x - s.x), s.y + t * (e.y - s.y)};
        }
    }
    return m;
}

static double shoelace(const struct pt *p, int n)
{
    double a = 0;
    for (int i = 0; i < n; i++)
        a += p[i].x * p[(i + 1) % n].y - p[(i + 1) % n].x * p[i].y;
    return fabs(a) / 2;
}

/* The area of convex polygon p (pixel coordinates) inside pixel (col, row). */
static double pixel_coverage(const struct pt *p, int n, int col, int row)
{
    struct pt a[64], b[64];
    int m = clip_half(p, n, -1, 0, -col, a); /* x >= col */
    m = clip_half(a, m, 1, 0, col + 1, b);   /* x <= col + 1 */
    m = clip_half(b, m, 0, -1, -row, a);     /* y >= row */
    m = clip_half(a, m, 0, 1, row + 1, b);   /* y <= row + 1 */
    return m >= 3 ? shoelace(b, m) : 0;
}

/* 1 when (x, y) is inside convex polygon p (either orientation). */
static int inside_convex(const struct pt *p, int n, double x, double y)
{
    int pos = 0, neg = 0;
    for (int i = 0; i < n; i++) {
        struct pt s = p[i], e = p[(i + 1) % n];
        double cross = (e.x - s.x) * (y - s.y) - (e.y - s.y) * (x - s.x);
        pos |= cross > 0;
        neg |= cross < 0;
    }
    return !(pos && neg);
}

/* The statistics of zonal.h computed from per-pixel coverages, straight from the
 * definitions (values -9999 are nodata). */
struct expect {
    double covered, count, mean, std, min, max, median, majority;
    int64_t n_pixels, n_valid;
};

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void expected_stats(const double *v, const double *cov, struct expect *e)
{
    memset(e, 0, sizeof *e);
    e->min = INFINITY;
    e->max = -INFINITY;
    double sum = 0, distinct[W * H], weight[W * H];
    int nd = 0;
    for (int k = 0; k < W * H; k++) {
        if (!(cov[k] > 0))
            continue;
        e->covered += cov[k];
        e->n_pixels++;
        if (v[k] == -9999)
            continue;
        e->n_valid++;
        e->count += cov[k];
        sum += cov[k] * v[k];
        e->min = fmin(e->min, v[k]);
        e->max = fmax(e->max, v[k]);
    }
    e->mean = sum / e->count;
    double ss = 0;
    for (int k = 0; k < W * H; k++)
        if (cov[k] > 0 && v[k] != -9999)
            ss += cov[k] * (v[k] - e->mean) * (v[k] - e->mean);
    e->std = sqrt(ss / e->count);
    /* distinct values, ascending, with summed coverage */
    double sorted[W * H];
    int ns = 0;
    for (int k = 0; k < W * H; k++)
        if (cov[k] > 0 && v[k] != -9999)
            sorted[ns++] = v[k];
    qsort(sorted, (size_t)ns, sizeof *sorted, cmp_dbl);
    for (int i = 0; i < ns; i++) {
        if (nd && distinct[nd - 1] == sorted[i])
            continue;
        distinct[nd] = sorted[i];
        weight[nd] = 0;
        for (int k = 0; k < W * H; k++)
            if (cov[k] > 0 && v[k] == sorted[i])
                weight[nd] += cov[k];
        nd++;
    }
    double best = -1;
    for (int i = 0; i < nd; i++)
        if (weight[i] > best) {
            best = weight[i];
            e->majority = distinct[i];
        }
    /* exactextract's quantile: s_i = i w_i + (n-1) sum_{j<i} w_j, target 0.5 (n-1) sum w */
    double target = 0.5 * (nd - 1) * e->count, cum = 0, s_prev = 0;
    e->median = distinct[nd - 1];
    for (int i = 0; i < nd; i++) {
        double s = i * weight[i] + (nd - 1) * cum;
        if (s > target) {
            e->median = i == 0
                            ? distinct[0]
                            : distinct[i - 1] + (target - s_prev) *
                                                    (distinct[i] - distinct[i - 1]) / (s - s_prev);
            break;
        }
        s_prev = s;
        cum += weight[i];
    }
}

#define NEAR(a, b) CU_ASSERT(fabs((double)(a) - (double)(b)) <= 1e-9 * fmax(1, fabs((double)(b))))

static void check_stats(const struct zonal_stats *z, const struct expect *e)
{
    CU_ASSERT_EQUAL(z->n_pixels, e->n_pixels);
    CU_ASSERT_EQUAL(z->n_valid, e->n_valid);
    NEAR(z->covered, e->covered);
    NEAR(z->count, e->count);
    NEAR(z->mean, e->mean);
    NEAR(z->std, e->std);
    NEAR(z->min, e->min);
    NEAR(z->max, e->max);
    NEAR(z->median, e->median);
    NEAR(z->majority, e->majority);
    NEAR(z->valid_share, e->count / e->covered);
}

/* A lon/lat raster whose pixels are 0.125 degree (exact in binary): pixel coordinates are
 * lon/lat without rounding. Values: a pattern with repeats (for medians and majorities) and
 * nodata at a few pixels. */
static const double LL_GT[6] = {10.0, 0.125, 0, 46.0, 0, -0.125};

static void pattern(double *v)
{
    for (int row = 0; row < H; row++)
        for (int col = 0; col < W; col++)
            v[row * W + col] = (double)((row * 7 + col * 3) % 11) + 0.5 * (col % 2);
    v[4 * W + 5] = v[5 * W + 6] = v[10 * W + 3] = -9999;
}

/* The GeoJSON polygon of pixel-coordinate vertices p on LL_GT, and the hand coverage. */
static void ll_polygon(const struct pt *p, int n, struct strbuf *json, double *cov)
{
    sb_reset(json);
    sb_puts(json, "{\"type\":\"Polygon\",\"coordinates\":[[");
    for (int i = 0; i <= n; i++)
        sb_printf(json, "%s[%.17g,%.17g]", i ? "," : "", LL_GT[0] + p[i % n].x * LL_GT[1],
                  LL_GT[3] + p[i % n].y * LL_GT[5]);
    sb_puts(json, "]]}");
    for (int row = 0; row < H; row++)
        for (int col = 0; col < W; col++)
            cov[row * W + col] = pixel_coverage(p, n, col, row);
}

static struct raster *open_raster(const char *path, int64_t max_read)
{
    struct raster_opts o = {.max_read_pixels = max_read};
    struct raster *r = NULL;
    insitu_error err = {0};
    int rc = raster_open(path, &o, &r, &err);
    CU_ASSERT_EQUAL(rc, 0);
    if (rc)
        fprintf(stderr, "%s\n", err.message);
    return r;
}

static void test_weighted_exact(void)
{
    double v[W * H], cov[W * H];
    pattern(v);
    char *path = write_raster("ll.tif", 4326, LL_GT, v, NULL);
    struct raster *r = open_raster(path, 0);
    struct strbuf json = {0};
    /* a rectangle across fractions of pixels, a triangle, a rotated quadrilateral */
    const struct pt shapes[][4] = {
        {{2.5, 3.0}, {5.25, 3.0}, {5.25, 4.5}, {2.5, 4.5}},
        {{1.3, 1.1}, {12.7, 2.4}, {6.1, 15.8}, {6.1, 15.8}},
        {{8.2, 3.3}, {17.9, 6.6}, {14.4, 17.2}, {4.7, 13.9}},
    };
    const int counts[] = {4, 3, 4};
    for (size_t i = 0; i < ARRAY_LEN(shapes); i++) {
        ll_polygon(shapes[i], counts[i], &json, cov);
        struct zonal_opts o = {0};
        struct zonal_stats z;
        insitu_error err = {0};
        CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, sb_str(&json), &o, &z, &err), 0);
        CU_ASSERT(z.inside);
        struct expect e;
        expected_stats(v, cov, &e);
        check_stats(&z, &e);
        if (i == 0) { /* by hand: 2.75 x 1.5 pixels */
            NEAR(z.covered, 2.75 * 1.5);
            CU_ASSERT_EQUAL(z.n_pixels, 8);
        }
        zonal_stats_free(&z);
    }
    sb_free(&json);
    raster_close(r);
    free(path);
}

static void test_centre_and_nodata(void)
{
    double v[W * H], cov[W * H];
    pattern(v);
    char *path = write_raster("llc.tif", 4326, LL_GT, v, NULL);
    struct raster *r = open_raster(path, 0);
    struct strbuf json = {0};
    const struct pt quad[] = {{3.2, 2.7}, {9.9, 3.1}, {8.6, 11.4}, {2.1, 9.3}};
    ll_polygon(quad, 4, &json, cov);
    for (int row = 0; row < H; row++)
        for (int col = 0; col < W; col++)
            cov[row * W + col] = inside_convex(quad, 4, col + 0.5, row + 0.5) ? 1 : 0;
    struct zonal_opts o = {.coverage = ZONAL_CENTRE};
    struct zonal_stats z;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, sb_str(&json), &o, &z, &err), 0);
    struct expect e;
    expected_stats(v, cov, &e);
    check_stats(&z, &e);
    CU_ASSERT(e.n_valid < e.n_pixels); /* the quadrilateral holds nodata pixels */
    CU_ASSERT(z.valid_share < 1);
    zonal_stats_free(&z);
    sb_free(&json);
    raster_close(r);
    free(path);
}

static void test_subpixel_and_outside(void)
{
    double v[W * H];
    pattern(v);
    char *path = write_raster("lls.tif", 4326, LL_GT, v, NULL);
    struct raster *r = open_raster(path, 0);
    struct strbuf json = {0};
    double cov[W * H];
    const struct pt tiny[] = {{7.2, 9.1}, {7.5, 9.1}, {7.5, 9.3}, {7.2, 9.3}};
    ll_polygon(tiny, 4, &json, cov);
    struct zonal_opts o = {0};
    struct zonal_stats z;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, sb_str(&json), &o, &z, &err), 0);
    CU_ASSERT_EQUAL(z.n_pixels, 1);
    NEAR(z.count, 0.3 * 0.2);
    NEAR(z.mean, v[9 * W + 7]);
    NEAR(z.median, v[9 * W + 7]);
    NEAR(z.std, 0);
    NEAR(z.valid_share, 1);
    zonal_stats_free(&z);
    /* centre coverage: the pixel's centre is outside, nothing counts */
    o.coverage = ZONAL_CENTRE;
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, sb_str(&json), &o, &z, &err), 0);
    CU_ASSERT_EQUAL(z.n_pixels, 0);
    CU_ASSERT(isnan(z.mean));
    zonal_stats_free(&z);
    /* a polygon off the raster, and one half outside */
    o.coverage = ZONAL_WEIGHTED;
    const struct pt off[] = {{-9, -9}, {-5, -9}, {-5, -5}};
    ll_polygon(off, 3, &json, cov);
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, sb_str(&json), &o, &z, &err), 0);
    CU_ASSERT_EQUAL(z.inside, 0);
    zonal_stats_free(&z);
    const struct pt half[] = {{-2.5, 1}, {2.5, 1}, {2.5, 3}, {-2.5, 3}};
    ll_polygon(half, 4, &json, cov);
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, sb_str(&json), &o, &z, &err), 0);
    NEAR(z.covered, 2.5 * 2);
    zonal_stats_free(&z);
    /* a self-intersecting bow tie is made valid: two triangles of area 2 x 1 each */
    const char *bowtie = "{\"type\":\"Polygon\",\"coordinates\":[[[10.25,45.5],[10.75,45.0],"
                         "[10.75,45.5],[10.25,45.0],[10.25,45.5]]]}";
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, bowtie, &o, &z, &err), 0);
    NEAR(z.covered, 8);
    zonal_stats_free(&z);
    /* not a polygon */
    CU_ASSERT_EQUAL(
        zonal_polygon(r, "{\"type\":\"Point\",\"coordinates\":[10.5,45.5]}", &o, &z, &err),
        INSITU_EINVAL);
    CU_ASSERT_STRING_EQUAL(err.message, "zone: a Point is not a polygon");
    sb_free(&json);
    raster_close(r);
    free(path);
}

/* A polygon in lon/lat over a UTM 31N raster: the test transforms its vertices with OSR to
 * pixel coordinates and clips them by hand. */
static void test_reprojected(void)
{
    const double gt[6] = {500000, 30, 0, 5000000, 0, -30};
    double v[W * H], cov[W * H];
    pattern(v);
    char *path = write_raster("utm.tif", 32631, gt, v, NULL);
    struct raster *r = open_raster(path, 0);
    OGRSpatialReferenceH wgs = OSRNewSpatialReference(NULL), utm = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(wgs, 4326);
    OSRImportFromEPSG(utm, 32631);
    OSRSetAxisMappingStrategy(wgs, OAMS_TRADITIONAL_GIS_ORDER);
    OSRSetAxisMappingStrategy(utm, OAMS_TRADITIONAL_GIS_ORDER);
    OGRCoordinateTransformationH to_ll = OCTNewCoordinateTransformation(utm, wgs);
    OGRCoordinateTransformationH to_utm = OCTNewCoordinateTransformation(wgs, utm);
    /* lon/lat vertices near pixel corners (4.3, 2.2) ... */
    struct pt px[] = {{4.3, 2.2}, {19.6, 5.1}, {15.2, 17.7}, {2.9, 12.4}};
    double lon[4], lat[4];
    for (int i = 0; i < 4; i++) {
        lon[i] = gt[0] + px[i].x * gt[1];
        lat[i] = gt[3] + px[i].y * gt[5];
    }
    OCTTransform(to_ll, 4, lon, lat, NULL);
    struct strbuf json = {0};
    sb_puts(&json, "{\"type\":\"Polygon\",\"coordinates\":[[");
    for (int i = 0; i <= 4; i++)
        sb_printf(&json, "%s[%.17g,%.17g]", i ? "," : "", lon[i % 4], lat[i % 4]);
    sb_puts(&json, "]]}");
    /* ... and back, as the engine does, to pixel coordinates for the hand clipping */
    double x[4], y[4];
    memcpy(x, lon, sizeof x);
    memcpy(y, lat, sizeof y);
    OCTTransform(to_utm, 4, x, y, NULL);
    for (int i = 0; i < 4; i++) {
        px[i].x = (x[i] - gt[0]) / gt[1];
        px[i].y = (y[i] - gt[3]) / gt[5];
        CU_ASSERT(fabs(px[i].x - (i == 0 ? 4.3 : px[i].x)) < 1e-6);
    }
    for (int row = 0; row < H; row++)
        for (int col = 0; col < W; col++)
            cov[row * W + col] = pixel_coverage(px, 4, col, row);
    struct zonal_opts o = {0};
    struct zonal_stats z;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, sb_str(&json), &o, &z, &err), 0);
    struct expect e;
    expected_stats(v, cov, &e);
    check_stats(&z, &e);
    zonal_stats_free(&z);
    OCTDestroyCoordinateTransformation(to_ll);
    OCTDestroyCoordinateTransformation(to_utm);
    OSRDestroySpatialReference(wgs);
    OSRDestroySpatialReference(utm);
    sb_free(&json);
    raster_close(r);
    free(path);
}

/* Read 7 pixels at a time: many reads, the same statistics as one read. */
static void test_block_by_block(void)
{
    double v[W * H], cov[W * H];
    pattern(v);
    char *path = write_raster("llb.tif", 4326, LL_GT, v, NULL);
    const struct pt quad[] = {{0.5, 0.5}, {23.2, 1.7}, {22.9, 19.4}, {1.1, 18.8}};
    struct strbuf json = {0};
    ll_polygon(quad, 4, &json, cov);
    struct zonal_stats one, many;
    insitu_error err = {0};
    struct raster *r1 = open_raster(path, 0), *r2 = open_raster(path, 7);
    struct zonal_opts o1 = {0}, o2 = {.max_read_pixels = 7};
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r1, sb_str(&json), &o1, &one, &err), 0);
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r2, sb_str(&json), &o2, &many, &err), 0);
    CU_ASSERT_EQUAL(one.reads, 1);
    CU_ASSERT(many.reads > 60);
    struct expect e;
    expected_stats(v, cov, &e);
    check_stats(&one, &e);
    check_stats(&many, &e);
    CU_ASSERT_EQUAL(one.n_values, many.n_values);
    zonal_stats_free(&one);
    zonal_stats_free(&many);
    sb_free(&json);
    raster_close(r1);
    raster_close(r2);
    free(path);
}

/* MultiPolygon with a hole: the sum of the parts' coverages minus the hole's. */
static void test_multipolygon(void)
{
    double v[W * H];
    pattern(v);
    char *path = write_raster("llm.tif", 4326, LL_GT, v, NULL);
    struct raster *r = open_raster(path, 0);
    /* pixels: [1,5]x[1,5] with hole [2,3]x[2,3], and [10.5,12]x[10,11.25] */
    const char *json = "{\"type\":\"MultiPolygon\",\"coordinates\":["
                       "[[[10.125,45.875],[10.625,45.875],[10.625,45.375],[10.125,45.375],"
                       "[10.125,45.875]],[[10.25,45.75],[10.375,45.75],[10.375,45.625],"
                       "[10.25,45.625],[10.25,45.75]]],"
                       "[[[11.3125,44.75],[11.5,44.75],[11.5,44.59375],[11.3125,44.59375],"
                       "[11.3125,44.75]]]]}";
    struct zonal_opts o = {0};
    struct zonal_stats z;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, json, &o, &z, &err), 0);
    NEAR(z.covered, 16 - 1 + 1.5 * 1.25);
    CU_ASSERT_EQUAL(z.n_pixels, 15 + 4);
    zonal_stats_free(&z);
    raster_close(r);
    free(path);
}

static void test_window(void)
{
    double v[W * H];
    pattern(v);
    char *path = write_raster("llw.tif", 4326, LL_GT, v, NULL);
    struct raster *r = open_raster(path, 0);
    struct zonal_opts o = {0};
    struct zonal_stats z;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(zonal_window(r, 5, 4, 3, &o, &z, &err), 0);
    double cov[W * H] = {0};
    for (int row = 3; row <= 5; row++)
        for (int col = 4; col <= 6; col++)
            cov[row * W + col] = 1;
    struct expect e;
    expected_stats(v, cov, &e);
    /* a window's median is the plain median of its valid pixels */
    double sorted[9];
    int n = 0;
    for (int k = 0; k < W * H; k++)
        if (cov[k] > 0 && v[k] != -9999)
            sorted[n++] = v[k];
    qsort(sorted, (size_t)n, sizeof *sorted, cmp_dbl);
    e.median = n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    check_stats(&z, &e);
    CU_ASSERT_EQUAL(z.n_pixels, 9);
    CU_ASSERT_EQUAL(z.n_valid, 7); /* (5,4) and (6,5) are nodata */
    zonal_stats_free(&z);
    /* at the corner: the 4 pixels inside the raster */
    CU_ASSERT_EQUAL_FATAL(zonal_window(r, 0, 0, 3, &o, &z, &err), 0);
    CU_ASSERT_EQUAL(z.n_pixels, 4);
    zonal_stats_free(&z);
    raster_close(r);
    free(path);
}

/* Codes: majority (ties to the smaller code), fractions, codes that are not classes. */
static void test_categorical(void)
{
    double v[W * H];
    for (int k = 0; k < W * H; k++)
        v[k] = 0;
    /* a 4x2 window: codes 100 x3, 0 x3, 205 x2 (cloud) */
    const double codes[] = {100, 100, 100, 0, 0, 0, 205, 205};
    for (int i = 0; i < 8; i++)
        v[(i / 4) * W + (i % 4)] = codes[i];
    char *path = write_raster("snow.tif", 4326, LL_GT, v, NULL);
    struct raster *r = open_raster(path, 0);
    struct class_table *t = class_table_new();
    insitu_error err = {0};
    CU_ASSERT_EQUAL(class_table_exclude_list(t, "205,254", &err), 0);
    struct zonal_opts o = {.classes = t};
    struct zonal_stats z;
    /* polygon over the 4x2 pixels exactly */
    const char *json = "{\"type\":\"Polygon\",\"coordinates\":[[[10,46],[10.5,46],[10.5,45.75],"
                       "[10,45.75],[10,46]]]}";
    CU_ASSERT_EQUAL_FATAL(zonal_polygon(r, json, &o, &z, &err), 0);
    CU_ASSERT_EQUAL(z.n_pixels, 8);
    CU_ASSERT_EQUAL(z.n_valid, 6);
    NEAR(z.majority, 0); /* a tie 3 to 3: the smaller code */
    NEAR(z.majority_share, 0.5);
    NEAR(z.valid_share, 6.0 / 8);
    CU_ASSERT_EQUAL(z.n_values, 2);
    NEAR(z.values[1].value, 100);
    NEAR(z.values[1].weight / z.count, 0.5);
    zonal_stats_free(&z);
    CU_ASSERT_EQUAL(class_table_exclude_list(t, "205,x", &err), INSITU_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.message,
                           "not_class 'x': expected integer codes separated by commas (205,254)");
    class_table_free(t);
    raster_close(r);
    free(path);
}

static void test_class_files(void)
{
    struct class_table *t = class_table_new();
    insitu_error err = {0};
    CU_ASSERT_EQUAL(class_table_load(t, tu_data("raster/theia/nomenclature.txt"), &err), 0);
    CU_ASSERT_EQUAL(class_table_size(t), 24);
    CU_ASSERT_STRING_EQUAL(class_table_name(t, 211), "prairie");
    CU_ASSERT_STRING_EQUAL(class_table_name(t, 53), "glaciers ou neiges et");
    CU_ASSERT_PTR_NULL(class_table_name(t, 7));
    class_table_free(t);
    t = class_table_new();
    CU_ASSERT_EQUAL(class_table_load(t, tu_data("raster/theia/FR_ALLCLASSES.qml"), &err), 0);
    CU_ASSERT_STRING_EQUAL(class_table_name(t, 43), "zones industrielles et commerciales");
    CU_ASSERT_STRING_EQUAL(class_table_name(t, 0), "NoData");
    class_table_free(t);
    t = class_table_new();
    char *csv = tu_write(tu_tmpdir(), "oso.csv", "code,name\n1,Bâti dense\n23,\"Eau\"\n");
    CU_ASSERT_EQUAL(class_table_load(t, csv, &err), 0);
    CU_ASSERT_EQUAL(class_table_size(t), 2);
    CU_ASSERT_STRING_EQUAL(class_table_name(t, 1), "Bâti dense");
    CU_ASSERT_STRING_EQUAL(class_table_name(t, 23), "Eau");
    class_table_free(t);
    free(csv);
    t = class_table_new();
    char *bad = tu_write(tu_tmpdir(), "bad.txt", "no codes here\n");
    CU_ASSERT_EQUAL(class_table_load(t, bad, &err), INSITU_EINVAL);
    CU_ASSERT(strstr(err.message, "no line gives a class") != NULL);
    /* category names of a raster: index = code, empty names skipped */
    char *names[] = {"", "Bâti dense", "", "Zones industrielles et commerciales", NULL};
    CU_ASSERT_EQUAL(class_table_add_categories(t, names), 2);
    CU_ASSERT_STRING_EQUAL(class_table_name(t, 3), "Zones industrielles et commerciales");
    class_table_free(t);
    free(bad);
}

/* The real OSO-chain classification: the majority of the whole raster's central square
 * equals the count computed from the pixels. */
static void test_real_classification(void)
{
    struct raster *r = open_raster(tu_data("raster/theia/classif_regul_20m.tif"), 0);
    GDALDatasetH ds = GDALOpen(tu_data("raster/theia/classif_regul_20m.tif"), GA_ReadOnly);
    unsigned char px[75 * 75];
    CU_ASSERT(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, 75, 75, px, 75, 75, GDT_Byte, 0,
                           0) == CE_None);
    GDALClose(ds);
    struct zonal_opts o = {0};
    struct zonal_stats z;
    insitu_error err = {0};
    CU_ASSERT_EQUAL_FATAL(zonal_window(r, 37, 37, 31, &o, &z, &err), 0);
    double count[256] = {0};
    for (int row = 22; row <= 52; row++)
        for (int col = 22; col <= 52; col++)
            count[px[row * 75 + col]]++;
    int best = 0;
    for (int c = 1; c < 256; c++)
        if (count[c] > count[best])
            best = c;
    NEAR(z.majority, best);
    NEAR(z.majority_share, count[best] / (31 * 31));
    zonal_stats_free(&z);
    raster_close(r);
}

/* The raster-sample ingester on a polygon Thing made through the store API: one zonal
 * Observation whose result is the weighted mean computed here, whose FeatureOfInterest is
 * the polygon; then the majority and the fractions. */
static void test_ingest_polygon(void)
{
    double v[W * H], cov[W * H];
    pattern(v);
    char *path = write_raster("zone_2020-01-01.tif", 4326, LL_GT, v, NULL);
    insitu_store *store = tu_store(NULL);
    struct store *st = &store->base;
    insitu_error err = {0};
    const struct pt quad[] = {{3.2, 2.7}, {9.9, 3.1}, {8.6, 11.4}, {2.1, 9.3}};
    struct strbuf json = {0};
    ll_polygon(quad, 4, &json, cov);
    struct thing_in t = {.ns = "test", .code = "LAKE1", .name = "LAKE1"};
    int64_t id;
    CU_ASSERT_EQUAL_FATAL(st_begin(st, &err), 0);
    CU_ASSERT_EQUAL_FATAL(store_upsert_thing(st, &t, &id, &err), 0);
    CU_ASSERT_EQUAL_FATAL(store_thing_location(st, id, "LAKE1", sb_str(&json), 0, &err), 0);
    CU_ASSERT_EQUAL_FATAL(st_commit(st, &err), 0);
    const char *const mean[] = {"product=P", "property=V", NULL};
    insitu_ingest_options o = {.format = "raster-sample", .settings = mean};
    insitu_ingest_report rep;
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(store, path, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 1);
    struct expect e;
    expected_stats(v, cov, &e);
    char *text = tu_text(store, "SELECT o.result FROM observations o JOIN datastreams d ON d.id "
                                "= o.datastream_id WHERE d.qualifier = 'zonal-weighted-mean'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    NEAR(strtod(text, NULL), e.mean);
    free(text);
    text = tu_text(store, "SELECT f.name FROM observations o JOIN features f ON f.id = "
                          "o.feature_id");
    CU_ASSERT_STRING_EQUAL(text, "LAKE1 (polygon)");
    free(text);
    const char *const majority[] = {"product=P", "property=V", "stat=majority", NULL};
    o.settings = majority;
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(store, path, &o, &rep, &err), 0);
    text = tu_text(store, "SELECT o.result FROM observations o JOIN datastreams d ON d.id "
                          "= o.datastream_id WHERE d.qualifier = 'zonal-weighted-majority'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    NEAR(strtod(text, NULL), e.majority);
    free(text);
    const char *const fractions[] = {"product=P", "property=V", "stat=fractions", NULL};
    o.settings = fractions;
    CU_ASSERT_EQUAL_FATAL(insitu_ingest(store, path, &o, &rep, &err), 0);
    CU_ASSERT_EQUAL(tu_int(store, "SELECT count(*) FROM datastreams WHERE qualifier = "
                                  "'zonal-weighted-fractions'"),
                    (int64_t)rep.observations);
    text = tu_text(store, "SELECT sum(o.result) FROM observations o JOIN datastreams d ON d.id "
                          "= o.datastream_id WHERE d.qualifier = 'zonal-weighted-fractions'");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    NEAR(strtod(text, NULL), 1.0);
    free(text);
    insitu_store_close(store);
    sb_free(&json);
    free(path);
}

static void add_store_tests(CU_pSuite s)
{
    CU_add_test(s, "raster-sample over a polygon Thing: mean, majority, fractions",
                test_ingest_polygon);
}

int main(void)
{
    tu_init();
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("zonal", NULL, NULL);
    CU_add_test(s, "weighted coverage: exact areas, statistics", test_weighted_exact);
    CU_add_test(s, "centre coverage and nodata", test_centre_and_nodata);
    CU_add_test(s, "sub-pixel polygon, outside, half outside, not a polygon",
                test_subpixel_and_outside);
    CU_add_test(s, "lon/lat polygon over a UTM raster", test_reprojected);
    CU_add_test(s, "block by block equals one read", test_block_by_block);
    CU_add_test(s, "multipolygon with a hole", test_multipolygon);
    CU_add_test(s, "windows of whole pixels", test_window);
    CU_add_test(s, "majority, fractions, codes that are not classes", test_categorical);
    CU_add_test(s, "class files: nomenclature, QGIS style, CSV, category names", test_class_files);
    CU_add_test(s, "real OSO-chain classification: window majority", test_real_classification);
    tu_add_backend_suites("zonal-sample", add_store_tests, NULL, NULL);
    return tap_run();
}
