/*
 * test_raster.c: raster sampling (src/raster.c) on the real rasters of tests/data/raster:
 * nearest values and pixels identical to gdallocationinfo (run by the test) for grids of
 * points, window statistics and bilinear values against values read pixel by pixel with
 * gdallocationinfo and computed here, CRS cases (UTM, NAD27, LAEA, sinusoidal, no CRS),
 * nodata and scale/offset, masks, dates from names and metadata, per-pixel t0; then the
 * raster-sample ingester (ingest/raster_sample.c) through insitu_ingest.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdal.h>
#include <ogr_srs_api.h>

#include "raster.h"
#include "raster_sample.h"
#include "store.h"
#include <jansson.h>

#include "tap.h"
#include "testutil.h"
#include "timeutil.h"
#include "util.h"

#define CCI27 "raster/esa_cci_sm/ESACCI-SOILMOISTURE-L3S-SSMV-PASSIVE-20161227000000-fv04.2.nc"
#define CCI28 "raster/esa_cci_sm/ESACCI-SOILMOISTURE-L3S-SSMV-PASSIVE-20161228000000-fv04.2.nc"
#define MODIS(date) "raster/mod13q1/TERRA_MODIS_012010_NDVI_" date ".jp2"

static char *data_path(const char *rel) { return xstrdup(tu_data(rel)); }

/* What gdallocationinfo says of one point. */
struct ref {
    int inside, col, row;
    double value;
};

/* Runs gdallocationinfo in batch mode (points on stdin) and parses its reports. */
static int gdal_reference(const char *dataset, const char *mode, int band, const double *x,
                          const double *y, size_t n, struct ref *out)
{
    const char *dir = tu_tmpdir();
    struct strbuf pts = {0}, cmd = {0};
    for (size_t i = 0; i < n; i++)
        sb_printf(&pts, "%.17g %.17g\n", x[i], y[i]);
    char *input = tu_write(dir, "points.txt", sb_str(&pts));
    sb_printf(&cmd, "gdallocationinfo %s -b %d '%s' < '%s' 2>/dev/null", mode, band, dataset,
              input);
    FILE *p = popen(sb_str(&cmd), "r");
    sb_free(&pts);
    sb_free(&cmd);
    free(input);
    if (!p)
        return -1;
    char line[512];
    long k = -1;
    while (fgets(line, sizeof line, p)) {
        if (strncmp(line, "Report:", 7) == 0) {
            if (++k >= (long)n)
                break;
            memset(&out[k], 0, sizeof out[k]);
            continue;
        }
        if (k < 0)
            continue;
        char *loc = strstr(line, "Location: (");
        if (loc) {
            sscanf(loc, "Location: (%dP,%dL)", &out[k].col, &out[k].row);
            out[k].inside = 1;
        }
        if (strstr(line, "off this file"))
            out[k].inside = 0;
        char *val = strstr(line, "Value: ");
        if (val)
            out[k].value = strtod(val + 7, NULL);
    }
    pclose(p);
    return k + 1 == (long)n ? 0 : -1;
}

/* One pixel's stored value by pixel coordinates (gdallocationinfo, not our code). */
static double gdal_pixel(const char *dataset, int band, int col, int row)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "gdallocationinfo -valonly -b %d '%s' %d %d 2>/dev/null", band,
             dataset, col, row);
    FILE *p = popen(cmd, "r");
    double v = NAN;
    char line[128];
    if (p && fgets(line, sizeof line, p))
        v = strtod(line, NULL);
    if (p)
        pclose(p);
    return v;
}

/* A grid of nx x ny points over bbox (lon/lat), widened so that some fall outside. */
static size_t grid_points(const double bbox[4], int nx, int ny, double *lon, double *lat)
{
    size_t n = 0;
    double w = bbox[2] - bbox[0], h = bbox[3] - bbox[1];
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            lon[n] = bbox[0] - 0.1 * w + 1.2 * w * (i + 0.37) / nx;
            lat[n] = bbox[1] - 0.1 * h + 1.2 * h * (j + 0.61) / ny;
            n++;
        }
    return n;
}

struct case_def {
    const char *file, *subdataset, *assume_crs;
    int band;
    double bbox[4]; /* lon/lat box of the test points */
    int global;     /* the raster covers the Earth: no point is outside */
};

/* Our nearest samples against gdallocationinfo for a grid of points. */
static void check_against_gdal(const struct case_def *c)
{
    char *path = data_path(c->file);
    struct raster_opts o = {.subdataset = c->subdataset, .band = c->band,
                            .assume_crs = c->assume_crs, .time_var = "none"};
    struct raster *r;
    insitu_error err;
    int rc = raster_open(path, &o, &r, &err);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    enum { NX = 9, NY = 8, N = NX * NY };
    double lon[N], lat[N];
    size_t n = grid_points(c->bbox, NX, NY, lon, lat);
    struct raster_sample s[N];
    CU_ASSERT_EQUAL_FATAL(raster_sample_points(r, lon, lat, n, s, &err), 0);
    struct ref ref[N];
    struct strbuf ds = {0};
    if (c->subdataset)
        sb_printf(&ds, "NETCDF:\"%s\":%s", path, c->subdataset);
    else
        sb_puts(&ds, path);
    /* a raster without CRS: gdallocationinfo -wgs84 refuses it, but its coordinates are the
     * lon/lat themselves (-geoloc) */
    CU_ASSERT_EQUAL_FATAL(gdal_reference(sb_str(&ds), c->assume_crs ? "-geoloc" : "-wgs84",
                                         c->band ? c->band : 1, lon, lat, n, ref),
                          0);
    int inside = 0, mismatches = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i].inside != ref[i].inside) {
            mismatches++;
            fprintf(stderr, "# %s point %zu (%.6f %.6f): inside %d, gdal %d\n", c->file, i,
                    lon[i], lat[i], s[i].inside, ref[i].inside);
            continue;
        }
        if (!s[i].inside)
            continue;
        inside++;
        double tol = fabs(ref[i].value) * 1e-14; /* gdallocationinfo prints 15 digits */
        if (s[i].col != ref[i].col || s[i].row != ref[i].row ||
            fabs(s[i].raw - ref[i].value) > tol) {
            mismatches++;
            fprintf(stderr, "# %s point %zu (%.6f %.6f): ours %d,%d %.17g, gdal %d,%d %.17g\n",
                    c->file, i, lon[i], lat[i], s[i].col, s[i].row, s[i].raw, ref[i].col,
                    ref[i].row, ref[i].value);
        }
    }
    CU_ASSERT_EQUAL(mismatches, 0);
    CU_ASSERT_TRUE(inside >= (int)n / 2);     /* most points are inside... */
    if (!c->global)
        CU_ASSERT_TRUE(inside < (int)n);      /* ...and some are not */
    sb_free(&ds);
    raster_close(r);
    free(path);
}

static void test_utm_rgb(void)
{
    for (int band = 1; band <= 3; band++) {
        struct case_def c = {"raster/rasterio/RGB.byte.tif", NULL, NULL, band,
                             {-78.95, 23.57, -76.58, 25.53}, 0};
        check_against_gdal(&c);
    }
}

/* Reading in smaller rectangles (a group split by rows) gives the same samples. */
static void test_split_reads(void)
{
    char *path = data_path("raster/rasterio/RGB.byte.tif");
    enum { NX = 12, NY = 12, N = NX * NY };
    double lon[N], lat[N], bbox[4] = {-78.95, 23.57, -76.58, 25.53};
    size_t n = grid_points(bbox, NX, NY, lon, lat);
    struct raster_sample a[N], b[N];
    insitu_error err;
    struct raster *r;
    struct raster_opts o = {.method = RASTER_WINDOW, .window = 3, .band = 2};
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(raster_sample_points(r, lon, lat, n, a, &err), 0);
    raster_close(r);
    o.max_read_pixels = 10; /* every point alone */
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(raster_sample_points(r, lon, lat, n, b, &err), 0);
    raster_close(r);
    int same = 1;
    for (size_t i = 0; i < n; i++)
        same &= a[i].inside == b[i].inside && a[i].row == b[i].row && a[i].col == b[i].col &&
                a[i].n_valid == b[i].n_valid && (!a[i].valid || a[i].value == b[i].value);
    CU_ASSERT_TRUE(same);
    free(path);
}

static void test_nad27_byte(void)
{
    struct case_def c = {"raster/rasterio/byte.tif", NULL, NULL, 1,
                         {-117.6412, 33.8916, -117.6281, 33.9023}, 0};
    check_against_gdal(&c);
}

static void test_laea_float(void)
{
    struct case_def c = {"raster/rasterio/float_raster_with_nodata.tif", NULL, NULL, 1,
                         {38.09, 49.41, 38.17, 49.445}, 0};
    check_against_gdal(&c);
}

static void test_sinusoidal_jp2(void)
{
    struct case_def c = {MODIS("2013-09-14"), NULL, NULL, 1, {-55.79, -11.80, -55.20, -11.50}, 0};
    check_against_gdal(&c);
}

static void test_no_crs_netcdf(void)
{
    char *path = data_path(CCI27);
    struct raster_opts o = {.subdataset = "sm"};
    struct raster *r;
    insitu_error err;
    /* without --assume-crs the raster is refused, and the message says what to do */
    CU_ASSERT_EQUAL(raster_open(path, &o, &r, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no coordinate reference system"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--assume-crs EPSG:4326"));
    /* a file of several variables needs one chosen */
    struct raster_opts none = {0};
    CU_ASSERT_EQUAL(raster_open(path, &none, &r, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "t0, sm, sm_uncertainty"));
    struct raster_opts bad = {.subdataset = "soil"};
    CU_ASSERT_EQUAL(raster_open(path, &bad, &r, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no subdataset 'soil'"));
    free(path);
    struct case_def c = {CCI27, "sm", "EPSG:4326", 1, {140, -38, 152, -28}, 1};
    check_against_gdal(&c);
}

/* NxN window statistics against values read with gdallocationinfo pixel by pixel. */
static void check_window(const char *rel, int band, double lon, double lat, int size,
                         double nodata)
{
    char *path = data_path(rel);
    struct raster_opts o = {.band = band, .method = RASTER_WINDOW, .window = size};
    struct raster *r;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    struct raster_sample s;
    CU_ASSERT_EQUAL_FATAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    CU_ASSERT_TRUE_FATAL(s.inside);
    double v[121];
    int nv = 0, half = size / 2;
    for (int row = s.row - half; row <= s.row + half; row++)
        for (int col = s.col - half; col <= s.col + half; col++) {
            double x = gdal_pixel(path, band, col, row);
            /* gdallocationinfo prints 15 digits: -3.4e38 comes back rounded */
            if (fabs(x - nodata) > fabs(nodata) * 1e-12 && !isnan(x))
                v[nv++] = x;
        }
    double sum = 0, ss = 0;
    for (int i = 0; i < nv; i++)
        sum += v[i];
    double mean = sum / nv;
    for (int i = 0; i < nv; i++)
        ss += (v[i] - mean) * (v[i] - mean);
    /* the median by counting: the value with half the others below and above it */
    double sorted[121];
    memcpy(sorted, v, sizeof(double) * (size_t)nv);
    for (int i = 1; i < nv; i++)
        for (int k = i; k > 0 && sorted[k - 1] > sorted[k]; k--) {
            double t = sorted[k];
            sorted[k] = sorted[k - 1];
            sorted[k - 1] = t;
        }
    double median = nv % 2 ? sorted[nv / 2] : (sorted[nv / 2 - 1] + sorted[nv / 2]) / 2;
    CU_ASSERT_EQUAL(s.n, size * size);
    CU_ASSERT_EQUAL(s.n_valid, nv);
    CU_ASSERT_DOUBLE_EQUAL(s.mean, mean, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.median, median, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(s.std, sqrt(ss / nv), 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(s.min, sorted[0], 0);
    CU_ASSERT_DOUBLE_EQUAL(s.max, sorted[nv - 1], 0);
    CU_ASSERT_DOUBLE_EQUAL(s.value, mean, 1e-9);
    raster_close(r);
    free(path);
}

static void test_window_stats(void)
{
    /* a 5x5 window in the UTM scene (all valid) and a 3x3 one beside Float32 nodata */
    check_window("raster/rasterio/RGB.byte.tif", 2, -77.8, 24.5, 5, 0);
    check_window("raster/rasterio/float_raster_with_nodata.tif", 1, 38.1248, 49.4416, 3,
                 -3.3999999521443642e+38);
    /* hand-checked: the 3x3 around row 3, col 4 holds 0.25, six 0 and two nodata */
    char *path = data_path("raster/rasterio/float_raster_with_nodata.tif");
    struct raster_opts o = {.method = RASTER_WINDOW, .window = 3, .stat = RASTER_MEDIAN};
    struct raster *r;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    double lon = 38.1248, lat = 49.4416;
    struct raster_sample s;
    CU_ASSERT_EQUAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    CU_ASSERT_EQUAL(s.n_valid, 7);
    CU_ASSERT_DOUBLE_EQUAL(s.mean, 0.25 / 7, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(s.value, 0, 0); /* the median */
    CU_ASSERT_DOUBLE_EQUAL(s.max, 0.25, 0);
    raster_close(r);
    /* --min-valid 8: seven valid pixels are too few */
    o.min_valid = 8;
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    CU_ASSERT_FALSE(s.valid);
    CU_ASSERT_STRING_EQUAL(s.why, "too_few_valid");
    CU_ASSERT_EQUAL(s.n_valid, 7);
    raster_close(r);
    free(path);
}

static void test_bilinear(void)
{
    /* on the 0.25 degree lon/lat grid pixel coordinates are known: x = (lon + 180) / 0.25 */
    char *path = data_path(CCI27);
    struct raster_opts o = {.subdataset = "sm", .assume_crs = "EPSG:4326",
                            .method = RASTER_BILINEAR};
    struct raster *r;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    double lon = 147.3, lat = -33.1;
    struct raster_sample s;
    CU_ASSERT_EQUAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    struct strbuf ds = {0};
    sb_printf(&ds, "NETCDF:\"%s\":sm", path);
    double x = (lon + 180) / 0.25 - 0.5, y = (90 - lat) / 0.25 - 0.5;
    int c0 = (int)floor(x), r0 = (int)floor(y);
    double fx = x - c0, fy = y - r0;
    double v00 = gdal_pixel(sb_str(&ds), 1, c0, r0), v10 = gdal_pixel(sb_str(&ds), 1, c0 + 1, r0);
    double v01 = gdal_pixel(sb_str(&ds), 1, c0, r0 + 1);
    double v11 = gdal_pixel(sb_str(&ds), 1, c0 + 1, r0 + 1);
    double expect = v00 * (1 - fx) * (1 - fy) + v10 * fx * (1 - fy) + v01 * (1 - fx) * fy +
                    v11 * fx * fy;
    CU_ASSERT_TRUE(s.valid);
    CU_ASSERT_EQUAL(s.n_valid, 4);
    CU_ASSERT_DOUBLE_EQUAL(s.value, expect, 1e-12);
    /* hand-checked: x = 1308.7, y = 491.9; 0.142176 * 0.3 * 0.1 + 0.146671 * 0.7 * 0.1 +
     * 0.137482 * 0.3 * 0.9 + 0.186913 * 0.7 * 0.9 = 0.169408 */
    CU_ASSERT_DOUBLE_EQUAL(s.value, 0.169408, 1e-6);
    sb_free(&ds);
    raster_close(r);
    free(path);
}

static void test_nodata_scale(void)
{
    insitu_error err;
    struct raster *r;
    struct raster_sample s;
    /* RGB.byte.tif: nodata 0 in the black border (BAH3) */
    char *rgb = data_path("raster/rasterio/RGB.byte.tif");
    struct raster_opts o = {0};
    CU_ASSERT_EQUAL_FATAL(raster_open(rgb, &o, &r, &err), 0);
    double lon = -76.6, lat = 25.5;
    CU_ASSERT_EQUAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    CU_ASSERT_TRUE(s.inside);
    CU_ASSERT_FALSE(s.valid);
    CU_ASSERT_STRING_EQUAL(s.why, "nodata");
    CU_ASSERT_DOUBLE_EQUAL(s.raw, 0, 0);
    raster_close(r);
    /* --nodata overrides: 59 at BAH1 becomes missing */
    o.has_nodata = 1;
    o.nodata = 59;
    CU_ASSERT_EQUAL_FATAL(raster_open(rgb, &o, &r, &err), 0);
    lon = -77.8, lat = 24.5;
    CU_ASSERT_EQUAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    CU_ASSERT_FALSE(s.valid);
    raster_close(r);
    free(rgb);
    /* Float32 nodata -3.4e38 is matched as the float it is */
    char *fl = data_path("raster/rasterio/float_raster_with_nodata.tif");
    struct raster_opts of = {0};
    CU_ASSERT_EQUAL_FATAL(raster_open(fl, &of, &r, &err), 0);
    double nd;
    CU_ASSERT_TRUE(raster_nodata(r, &nd));
    CU_ASSERT_DOUBLE_EQUAL(nd, -3.3999999521443642e+38, 0);
    lon = 38.145647, lat = 49.426628; /* the centre of row 5, col 8: nodata */
    CU_ASSERT_EQUAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    CU_ASSERT_TRUE(s.inside);
    CU_ASSERT_EQUAL(s.row, 5);
    CU_ASSERT_EQUAL(s.col, 8);
    CU_ASSERT_FALSE(s.valid);
    CU_ASSERT_STRING_EQUAL(s.why, "nodata");
    CU_ASSERT_TRUE(s.dist_m < 1); /* the point is the pixel centre */
    raster_close(r);
    free(fl);
    /* MOD13Q1: NDVI x 10000, -3000 missing; scale and offset from the options */
    char *modis = data_path(MODIS("2013-09-14"));
    struct raster_opts om = {.has_scale = 1, .scale = 1e-4, .has_offset = 1, .offset = 0.01,
                             .has_nodata = 1, .nodata = -3000};
    CU_ASSERT_EQUAL_FATAL(raster_open(modis, &om, &r, &err), 0);
    lon = -55.5, lat = -11.6;
    CU_ASSERT_EQUAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    CU_ASSERT_TRUE(s.valid);
    CU_ASSERT_DOUBLE_EQUAL(s.raw, 5144, 0);
    CU_ASSERT_DOUBLE_EQUAL(s.value, 0.5144 + 0.01, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(raster_scale(r), 1e-4, 0);
    raster_close(r);
    free(modis);
    /* a band's own scale/offset metadata is applied: a GeoTIFF written with them */
    const char *dir = tu_tmpdir();
    char path[600];
    snprintf(path, sizeof path, "%s/scaled.tif", dir);
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), path, 2, 2, 1, GDT_Int16, NULL);
    double gt[6] = {10, 0.5, 0, 20, 0, -0.5};
    GDALSetGeoTransform(ds, gt);
    OGRSpatialReferenceH srs = OSRNewSpatialReference(NULL);
    OSRImportFromEPSG(srs, 4326);
    GDALSetSpatialRef(ds, srs);
    OSRRelease(srs);
    GDALRasterBandH b = GDALGetRasterBand(ds, 1);
    GDALSetRasterScale(b, 0.02);
    GDALSetRasterOffset(b, -1);
    GDALSetRasterNoDataValue(b, -1);
    short px[4] = {100, -1, 300, 400};
    CU_ASSERT_EQUAL(GDALRasterIO(b, GF_Write, 0, 0, 2, 2, px, 2, 2, GDT_Int16, 0, 0), CE_None);
    GDALClose(ds);
    struct raster_opts os = {0};
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &os, &r, &err), 0);
    double lons[3] = {10.2, 10.7, 10.2}, lats[3] = {19.8, 19.8, 19.3};
    struct raster_sample ss[3];
    CU_ASSERT_EQUAL(raster_sample_points(r, lons, lats, 3, ss, &err), 0);
    CU_ASSERT_DOUBLE_EQUAL(ss[0].value, 100 * 0.02 - 1, 1e-12);
    CU_ASSERT_FALSE(ss[1].valid);
    CU_ASSERT_DOUBLE_EQUAL(ss[2].value, 300 * 0.02 - 1, 1e-12);
    raster_close(r);
}

/* A cloud mask on the grid of byte.tif: bit 1 (value 2) marks cloud, bit 3 (8) shadow. */
static void test_mask(void)
{
    char *path = data_path("raster/rasterio/byte.tif");
    const char *dir = tu_tmpdir();
    char mask[600];
    snprintf(mask, sizeof mask, "%s/clm.tif", dir);
    GDALDatasetH src = GDALOpen(path, GA_ReadOnly);
    GDALDatasetH ds = GDALCreate(GDALGetDriverByName("GTiff"), mask, 20, 20, 1, GDT_Byte, NULL);
    double gt[6];
    GDALGetGeoTransform(src, gt);
    GDALSetGeoTransform(ds, gt);
    GDALSetSpatialRef(ds, GDALGetSpatialRef(src));
    unsigned char m[400] = {0};
    m[10 * 20 + 10] = 2; /* SOCAL1's pixel: cloud */
    m[4 * 20 + 3] = 8;   /* SOCAL2's pixel: shadow */
    CU_ASSERT_EQUAL(GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Write, 0, 0, 20, 20, m, 20, 20, GDT_Byte, 0, 0), CE_None);
    GDALClose(ds);
    GDALClose(src);
    double lon[2] = {-117.635, -117.64}, lat[2] = {33.8965, 33.9};
    struct raster_sample s[2];
    insitu_error err;
    struct raster *r;
    /* any non-zero mask value masks */
    struct raster_opts o = {.mask = mask};
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(raster_sample_points(r, lon, lat, 2, s, &err), 0);
    CU_ASSERT_FALSE(s[0].valid);
    CU_ASSERT_STRING_EQUAL(s[0].why, "masked");
    CU_ASSERT_FALSE(s[1].valid);
    raster_close(r);
    /* only the cloud bit */
    o.mask_bits = 0x2;
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(raster_sample_points(r, lon, lat, 2, s, &err), 0);
    CU_ASSERT_FALSE(s[0].valid);
    CU_ASSERT_TRUE(s[1].valid);
    CU_ASSERT_DOUBLE_EQUAL(s[1].value, 140, 0);
    raster_close(r);
    /* a 3x3 window around the cloudy pixel keeps its 8 clear neighbours */
    o.method = RASTER_WINDOW;
    o.window = 3;
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    CU_ASSERT_EQUAL(raster_sample_points(r, lon, lat, 1, s, &err), 0);
    CU_ASSERT_TRUE(s[0].valid);
    CU_ASSERT_EQUAL(s[0].n_valid, 8);
    raster_close(r);
    /* a mask on another CRS is refused */
    struct raster_opts bad = {.mask = tu_data("raster/rasterio/rgb-byte-tenth.tif")};
    char *maskpath = xstrdup(bad.mask);
    bad.mask = maskpath;
    CU_ASSERT_EQUAL(raster_open(path, &bad, &r, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "its CRS is not the raster's"));
    free(maskpath);
    free(path);
}

static int64_t iso(const char *s)
{
    int64_t t = 0;
    insitu_time_parse(s, 0, &t, NULL);
    return t;
}

static void test_dates(void)
{
    int64_t t;
    CU_ASSERT_EQUAL(raster_time_from_name("/x/SENTINEL2A_20170203-071245-541_L2A_T38KPD_D_V1-4"
                                          "_FRE_B4.tif", NULL, &t), 0);
    CU_ASSERT_EQUAL(t, iso("2017-02-03T07:12:45.541Z"));
    CU_ASSERT_EQUAL(raster_time_from_name("LANDSAT8-OLITIRS-XS_20170501-103532-111_L2A_T31TCJ_"
                                          "D_V1-4_SRE_B5.tif", NULL, &t), 0);
    CU_ASSERT_EQUAL(t, iso("2017-05-01T10:35:32.111Z"));
    CU_ASSERT_EQUAL(raster_time_from_name("LANDSAT8_OLITIRS_XS_20150416_N2A_France-MetropoleD0005"
                                          "H0003.tif", NULL, &t), 0);
    CU_ASSERT_EQUAL(t, iso("2015-04-16"));
    CU_ASSERT_EQUAL(raster_time_from_name("TERRA_MODIS_012010_NDVI_2014-08-29.jp2", NULL, &t), 0);
    CU_ASSERT_EQUAL(t, iso("2014-08-29"));
    CU_ASSERT_EQUAL(raster_time_from_name(CCI27, NULL, &t), 0);
    CU_ASSERT_EQUAL(t, iso("2016-12-27"));
    CU_ASSERT_EQUAL(raster_time_from_name("MOD09GA.A2017033.h18v04.tif", "A%Y%j", &t), 0);
    CU_ASSERT_EQUAL(t, iso("2017-02-02"));
    CU_ASSERT_EQUAL(raster_time_from_name("snow_17-03-2021_v2.tif", "%d-%m-%Y", &t), 0);
    CU_ASSERT_EQUAL(t, iso("2021-03-17"));
    CU_ASSERT_EQUAL(raster_time_from_name("RGB.byte.tif", NULL, &t), -1);
    CU_ASSERT_EQUAL(raster_time_from_name("dem_20201340.tif", NULL, &t), -1); /* no month 13 */
    CU_ASSERT_EQUAL(raster_time_from_name("MOD09GA.h18v04.tif", "A%Y%j", &t), -1);

    /* metadata first: the NetCDF time coordinate (days since 1970) of the band */
    insitu_error err;
    struct raster *r;
    char *path = data_path(CCI28);
    struct raster_opts o = {.subdataset = "sm", .assume_crs = "EPSG:4326"};
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    const char *source;
    CU_ASSERT_EQUAL(raster_time(r, NULL, &t, &source, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2016-12-28"));
    CU_ASSERT_STRING_EQUAL(source, "NetCDF time coordinate");
    CU_ASSERT_STRING_EQUAL(raster_time_var(r), "t0"); /* found beside sm */
    CU_ASSERT_STRING_EQUAL(raster_variable(r), "sm");
    CU_ASSERT_STRING_EQUAL(raster_unit(r), "m3 m-3");
    /* per-pixel time: t0 at AUS1, as gdallocationinfo reads it (days since 1970) */
    double lon = 147.3, lat = -33.1;
    struct raster_sample s;
    CU_ASSERT_EQUAL(raster_sample_points(r, &lon, &lat, 1, &s, &err), 0);
    struct strbuf t0 = {0};
    sb_printf(&t0, "NETCDF:\"%s\":t0", path);
    double days = gdal_pixel(sb_str(&t0), 1, s.col, s.row);
    CU_ASSERT_TRUE(days > 17162.5 && days < 17163.5); /* the t0 valid_range of 12-28 */
    CU_ASSERT_EQUAL(s.time_us, (int64_t)floor(days * 86400 + 0.5) * US_PER_SEC);
    sb_free(&t0);
    raster_close(r);
    /* time_var=none: no per-pixel time */
    o.time_var = "none";
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    CU_ASSERT_PTR_NULL(raster_time_var(r));
    raster_close(r);
    o.time_var = "t9";
    CU_ASSERT_EQUAL(raster_open(path, &o, &r, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no time variable 't9'"));
    free(path);
    /* a file name without date: the error says how to give one */
    char *rgb = data_path("raster/rasterio/RGB.byte.tif");
    struct raster_opts plain = {0};
    CU_ASSERT_EQUAL_FATAL(raster_open(rgb, &plain, &r, &err), 0);
    CU_ASSERT_EQUAL(raster_time(r, NULL, &t, &source, &err), INSITU_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "--date"));
    CU_ASSERT_EQUAL(raster_time(r, "%Y%m%d", &t, &source, &err), INSITU_EINVAL);
    raster_close(r);
    free(rgb);
}

static void test_bounds_and_distance(void)
{
    char *path = data_path("raster/rasterio/RGB.byte.tif");
    struct raster_opts o = {0};
    struct raster *r;
    insitu_error err;
    CU_ASSERT_EQUAL_FATAL(raster_open(path, &o, &r, &err), 0);
    double b[4];
    raster_bounds_wgs84(r, b);
    /* gdalinfo's corners: 78d57'31"W 23d33'54"N .. 76d34'30"W 25d33'03"N */
    CU_ASSERT_DOUBLE_EQUAL(b[0], -78.9587, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(b[1], 23.5650, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(b[2], -76.5749, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL(b[3], 25.5509, 1e-3);
    raster_close(r);
    free(path);
    /* one degree of latitude: 111.195 km on the mean sphere */
    CU_ASSERT_DOUBLE_EQUAL(raster_distance_m(0, 0, 0, 1), 111195.08, 0.5);
}

/* ---- the raster-sample ingester ---- */

static insitu_store *stations_store(void)
{
    insitu_store *st = tu_store(NULL);
    insitu_ingest_report rep;
    insitu_error err;
    if (tu_ingest(st, tu_data("raster/stations.csv"), NULL, &rep, &err))
        fprintf(stderr, "# %s\n", err.message);
    return st;
}

static int sample(insitu_store *st, const char *rel, const char *const *settings,
                  insitu_ingest_report *rep, insitu_error *err)
{
    insitu_ingest_options o = {.format = "raster-sample", .settings = settings};
    char *path = data_path(rel);
    int rc = insitu_ingest(st, path, &o, rep, err);
    free(path);
    return rc;
}

static void test_ingest_sample(void)
{
    insitu_store *st = stations_store();
    insitu_ingest_report rep;
    insitu_error err;
    const char *const set[] = {"product=MOD13Q1", "property=NDVI", "scale=0.0001",
                               "nodata=-3000", NULL};
    CU_ASSERT_EQUAL_FATAL(sample(st, MODIS("2014-02-18"), set, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.ingester, "raster-sample");
    CU_ASSERT_STRING_EQUAL(rep.status, "complete");
    CU_ASSERT_EQUAL(rep.observations, 3); /* MT1, MT2, MT3 */
    CU_ASSERT_EQUAL(rep.datastreams, 3);
    /* the values are the pixels, scaled; time from the file name */
    char *v = tu_text(st, "SELECT o.result || ' ' || o.phenomenon_start FROM observations o JOIN "
                          "datastreams d ON d.id = o.datastream_id JOIN things t ON t.id = "
                          "d.thing_id JOIN sensors s ON s.id = d.sensor_id WHERE t.code = 'MT2' "
                          "AND s.code = 'MOD13Q1'");
    char want[64];
    snprintf(want, sizeof want, "0.0635 %lld", (long long)iso("2014-02-18"));
    CU_ASSERT_STRING_EQUAL(v, want);
    free(v);
    v = tu_text(st, "SELECT o.parameters FROM observations_text o JOIN datastreams d ON d.id = "
                    "o.datastream_id JOIN things t ON t.id = d.thing_id WHERE t.code = 'MT2' AND "
                    "d.qualifier = 'nearest'");
    CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"raster\":\"TERRA_MODIS_012010_NDVI_2014-02-18.jp2\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"raw\":635"));
    CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"time_source\":\"file name\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(v, "\"dist_m\":"));
    free(v);
    /* the Sensor names the product, the ObservedProperty the variable */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors WHERE namespace = 'raster' AND "
                               "code = 'MOD13Q1'"), 1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observed_properties WHERE name = 'NDVI' "
                               "AND definition = 'raster:MOD13Q1/NDVI'"), 1);
    /* the FeatureOfInterest is the pixel centre */
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations_text WHERE feature_id IS NULL "
                               "AND parameters LIKE '%MODIS%'"), 0);
    /* re-sampling is a no-op */
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), set, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "skipped");
    CU_ASSERT_PTR_NOT_NULL(strstr(rep.message, "unchanged"));
    /* other settings (a window) make other datastreams, beside the nearest ones */
    const char *const win[] = {"product=MOD13Q1", "property=NDVI", "scale=0.0001",
                               "nodata=-3000", "window=3", "stat=median", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), win, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "complete");
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM datastreams WHERE qualifier = "
                               "'window3-median'"), 3);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations o JOIN datastreams d ON d.id "
                               "= o.datastream_id WHERE d.qualifier = 'nearest'"), 3);
    /* a corrected scale replaces the old values of the same raster and datastreams */
    const char *const rescaled[] = {"product=MOD13Q1", "property=NDVI", "scale=0.001",
                                    "nodata=-3000", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), rescaled, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.updated, 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(rep.message, "replaces run"));
    v = tu_text(st, "SELECT o.result FROM observations o JOIN datastreams d ON d.id = "
                    "o.datastream_id JOIN things t ON t.id = d.thing_id WHERE t.code = 'MT2' AND "
                    "d.qualifier = 'nearest'");
    CU_ASSERT_STRING_EQUAL(v, "0.635");
    free(v);
    insitu_store_close(st);
}

static void test_ingest_errors(void)
{
    insitu_store *st = stations_store();
    insitu_ingest_report rep;
    insitu_error err;
    const char *const none[] = {"property=x", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), none, &rep, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "product setting is required"));
    const char *const even[] = {"product=P", "window=4", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), even, &rep, &err), INSITU_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "odd"));
    const char *const both[] = {"product=P", "window=3", "bilinear=yes", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), both, &rep, &err), INSITU_EUSAGE);
    const char *const nodate[] = {"product=P", NULL};
    CU_ASSERT_EQUAL(sample(st, "raster/rasterio/byte.tif", nodate, &rep, &err), INSITU_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(rep.status, "failed");
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM ingest_runs WHERE status = 'failed'"), 1);
    const char *const thing[] = {"product=P", "things=NOPE", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), thing, &rep, &err), INSITU_ENOTFOUND);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "NOPE"));
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations WHERE parameters_id IS NOT "
                               "NULL"),
                    0);
    /* --thing and --bbox select stations */
    const char *const one[] = {"product=P", "things=MT1", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), one, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 1);
    const char *const box[] = {"product=Q", "bbox=-55.6,-11.8,-55.2,-11.58", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), box, &rep, &err), 0);
    CU_ASSERT_EQUAL(rep.observations, 2); /* MT1 and MT2, not MT3 */
    insitu_store_close(st);
}

/* A raster that covers no selected station is "empty": nothing written, no run recorded, its
 * footprint reported. A station inside on a nodata pixel is a sample (a NULL result). */
static void test_no_station_inside(void)
{
    insitu_store *st = stations_store();
    insitu_ingest_report rep;
    insitu_error err;
    int64_t runs = tu_int(st, "SELECT count(*) FROM ingest_runs");
    const char *const far[] = {"product=P", "things=BAH1", NULL};
    CU_ASSERT_EQUAL(sample(st, MODIS("2014-02-18"), far, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "empty");
    CU_ASSERT_STRING_EQUAL(rep.message, "no station inside");
    CU_ASSERT_EQUAL(rep.run_id, 0);
    CU_ASSERT_EQUAL(rep.has_footprint, 1);
    /* the MODIS tile's lon/lat footprint holds MT1..MT3 (-55.7..-55.3, -11.7..-11.55) */
    CU_ASSERT_TRUE(rep.footprint[0] < -55.7 && rep.footprint[2] > -55.3);
    CU_ASSERT_TRUE(rep.footprint[1] < -11.7 && rep.footprint[3] > -11.55);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM ingest_runs"), runs);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM sensors WHERE code = 'P'"), 0);
    /* a dry run says the same */
    insitu_ingest_options dry = {.format = "raster-sample", .settings = far, .dry_run = 1};
    char *path = data_path(MODIS("2014-02-18"));
    CU_ASSERT_EQUAL(insitu_ingest(st, path, &dry, &rep, &err), 0);
    free(path);
    CU_ASSERT_STRING_EQUAL(rep.status, "empty");
    /* SOCAL1's soil-moisture pixel is a fill value: a NULL result, a complete run */
    const char *const fill[] = {"product=CCI", "subdataset=sm", "assume_crs=EPSG:4326",
                                "things=SOCAL1", NULL};
    CU_ASSERT_EQUAL(sample(st, CCI27, fill, &rep, &err), 0);
    CU_ASSERT_STRING_EQUAL(rep.status, "complete");
    CU_ASSERT_EQUAL(rep.observations, 1);
    CU_ASSERT_EQUAL(rep.nulls, 1);
    CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM ingest_runs"), runs + 1);
    insitu_store_close(st);
}

/* The settings check runs the ingester's own reading of the settings, without a raster. */
static void test_settings_check(void)
{
    struct raster_sample_bad bad;
    insitu_error err;
    const char *const good[] = {"product=P", "window=3", "stat=median", "assume_crs=EPSG:4326",
                                NULL};
    CU_ASSERT_EQUAL(raster_sample_check(good, &bad, &err), 0);
    const char *const even[] = {"product=P", "window=4", NULL};
    CU_ASSERT_EQUAL(raster_sample_check(even, &bad, &err), INSITU_EUSAGE);
    CU_ASSERT_STRING_EQUAL(bad.key, "window");
    CU_ASSERT_STRING_EQUAL(bad.value, "4");
    CU_ASSERT_STRING_EQUAL(bad.cause, "expected an odd size (1, 3, 5...)");
    CU_ASSERT_STRING_EQUAL(err.message,
                           "raster-sample: window=4: expected an odd size (1, 3, 5...)");
    const char *const both[] = {"product=P", "window=3", "bilinear=yes", NULL};
    CU_ASSERT_EQUAL(raster_sample_check(both, &bad, &err), INSITU_EUSAGE);
    CU_ASSERT_STRING_EQUAL(bad.key, "window");
    const char *const crs[] = {"product=P", "assume_crs=EPSG:99999999", NULL};
    CU_ASSERT_EQUAL(raster_sample_check(crs, &bad, &err), INSITU_EUSAGE);
    CU_ASSERT_STRING_EQUAL(bad.key, "assume_crs");
    CU_ASSERT_STRING_EQUAL(bad.cause, "not a CRS GDAL knows");
    const char *const date[] = {"product=P", "date=2020-13-01", NULL};
    CU_ASSERT_EQUAL(raster_sample_check(date, &bad, &err), INSITU_EUSAGE);
    CU_ASSERT_STRING_EQUAL(bad.key, "date");
    CU_ASSERT_STRING_EQUAL(bad.value, "2020-13-01");
    const char *const scale[] = {"product=P", "scale=x", NULL};
    CU_ASSERT_EQUAL(raster_sample_check(scale, &bad, &err), INSITU_EUSAGE);
    CU_ASSERT_STRING_EQUAL(err.message, "raster-sample: scale=x: not a number");
}

/* Two rasters with the same acquisition time at the same station: one value is kept, by a
 * rule that does not depend on the order they are sampled in. */
static void test_duplicates(void)
{
    const char *dir = tu_tmpdir();
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/tile_a_2020-01-01.tif", dir);
    snprintf(b, sizeof b, "%s/tile_b_2020-01-01.tif", dir);
    char cmd[2000];
    /* the full-resolution and the tenth-resolution scenes: BAH1 is valid in both */
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", tu_data("raster/rasterio/RGB.byte.tif"), a);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", tu_data("raster/rasterio/rgb-byte-tenth.tif"), b);
    CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
    const char *const set[] = {"product=RGB", "things=BAH1", NULL};
    char *kept[2];
    for (int order = 0; order < 2; order++) {
        insitu_store *st = stations_store();
        insitu_ingest_options o = {.format = "raster-sample", .settings = set};
        insitu_ingest_report rep;
        insitu_error err;
        CU_ASSERT_EQUAL(insitu_ingest(st, order ? b : a, &o, &rep, &err), 0);
        CU_ASSERT_EQUAL(insitu_ingest(st, order ? a : b, &o, &rep, &err), 0);
        CU_ASSERT_EQUAL(rep.warnings, 1);
        CU_ASSERT_EQUAL(tu_int(st, "SELECT count(*) FROM observations o JOIN datastreams d ON "
                                   "d.id = o.datastream_id WHERE d.qualifier = 'nearest'"), 1);
        /* parameters are JSON text on every backend: read them here, not with SQL */
        char *params = tu_text(st, "SELECT parameters FROM observations_text WHERE parameters IS "
                                   "NOT NULL");
        json_t *j = params ? json_loads(params, 0, NULL) : NULL;
        kept[order] = j && json_string_value(json_object_get(j, "raster"))
                          ? strdup(json_string_value(json_object_get(j, "raster")))
                          : NULL;
        json_decref(j);
        free(params);
        insitu_store_close(st);
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(kept[0]);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kept[1]);
    CU_ASSERT_STRING_EQUAL(kept[0], kept[1]);
    /* both valid, one pixel each: the pixel whose centre is nearer BAH1 wins (the 300 m
     * pixel of RGB.byte.tif is nearer than the 3 km one of the tenth) */
    CU_ASSERT_STRING_EQUAL(kept[0], "tile_a_2020-01-01.tif");
    free(kept[0]);
    free(kept[1]);
}

/* What writes to a store runs on every backend. */
static void add_store_tests(CU_pSuite s)
{
    CU_add_test(s, "raster-sample ingester: values, entities, skip, replace", test_ingest_sample);
    CU_add_test(s, "raster-sample ingester: errors and station selection", test_ingest_errors);
    CU_add_test(s, "duplicate acquisitions: one deterministic winner", test_duplicates);
    CU_add_test(s, "a raster covering no selected station is empty: no run",
                test_no_station_inside);
}

int main(void)
{
    tu_init();
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("raster", NULL, NULL);
    CU_add_test(s, "UTM RGB scene, 3 bands: same pixels and values as gdallocationinfo",
                test_utm_rgb);
    CU_add_test(s, "NAD27 / UTM 11N byte.tif: same as gdallocationinfo", test_nad27_byte);
    CU_add_test(s, "groups too large to read at once are split: same samples", test_split_reads);
    CU_add_test(s, "LAEA Float32 with nodata: same as gdallocationinfo", test_laea_float);
    CU_add_test(s, "MODIS sinusoidal JPEG2000: same as gdallocationinfo", test_sinusoidal_jp2);
    CU_add_test(s, "no-CRS NetCDF: refused, then read with assume_crs", test_no_crs_netcdf);
    CU_add_test(s, "window mean/median/std/min/max and min_valid", test_window_stats);
    CU_add_test(s, "bilinear interpolation", test_bilinear);
    CU_add_test(s, "nodata, Float32 nodata, scale and offset", test_nodata_scale);
    CU_add_test(s, "mask raster and mask bits", test_mask);
    CU_add_test(s, "dates from file names, NetCDF time, per-pixel t0", test_dates);
    CU_add_test(s, "footprint in lon/lat, great-circle distance", test_bounds_and_distance);
    CU_add_test(s, "settings checked before any raster, naming the setting", test_settings_check);
    tu_add_backend_suites("raster-sample", add_store_tests, NULL, NULL);
    return tap_run();
}
