/*
 * zonal.c: zonal statistics of a raster (see zonal.h). A polygon is transformed to the
 * raster's CRS, then to pixel coordinates, where a pixel is the unit square [col, col+1) x
 * [row, row+1). The coverage of each pixel is found by halving rectangles: a rectangle the
 * polygon misses is 0, one it fills is 1, and a single pixel that the polygon's boundary
 * crosses is the area of its intersection with the polygon (GEOS, through OGR). Pixels are
 * read a bounded rectangle at a time. It never clips polygons by hand and never writes.
 */
#include "zonal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cpl_error.h>
#include <ogr_api.h>
#include <ogr_srs_api.h>

#include "util.h"

/* ---- accumulating values ---- */

struct acc {
    struct zonal_value *v;
    size_t n, cap;
    double covered, min, max;
    int64_t n_pixels, n_valid;
    const struct class_table *classes;
};

static int cmp_value(const void *a, const void *b)
{
    double x = ((const struct zonal_value *)a)->value, y = ((const struct zonal_value *)b)->value;
    return x < y ? -1 : x > y;
}

/* Sorts the values and sums the weights of equal ones. */
static void acc_compact(struct acc *a)
{
    if (!a->n)
        return;
    qsort(a->v, a->n, sizeof *a->v, cmp_value);
    size_t k = 0;
    for (size_t i = 1; i < a->n; i++) {
        if (a->v[i].value == a->v[k].value)
            a->v[k].weight += a->v[i].weight;
        else
            a->v[++k] = a->v[i];
    }
    a->n = k + 1;
}

static int acc_add(struct acc *a, double value, double weight, insitu_error *err)
{
    if (a->n == a->cap) {
        acc_compact(a);
        if (!a->cap || a->n > a->cap / 2) {
            size_t cap = a->cap ? a->cap * 2 : 1024;
            struct zonal_value *p = realloc(a->v, cap * sizeof *p);
            if (!p)
                return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
            a->v = p;
            a->cap = cap;
        }
    }
    a->v[a->n].value = value;
    a->v[a->n].weight = weight;
    a->n++;
    return 0;
}

/* The weighted quantile q of exactextract: sorted distinct values x_i of weights w_i (i from
 * 0 to n-1) are placed at s_i = i w_i + (n - 1) sum_{j<i} w_j; the quantile is found at
 * q (n - 1) sum w, interpolating linearly between the two values around it. */
static double weighted_quantile(const struct zonal_value *v, size_t n, double q)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].weight;
    double target = q * total * (double)(n - 1), below = 0, s_prev = 0;
    for (size_t i = 0; i < n; i++) {
        double s = (double)i * v[i].weight + (double)(n - 1) * below;
        if (s > target) {
            if (i == 0)
                return v[0].value;
            return v[i - 1].value +
                   (target - s_prev) * (v[i].value - v[i - 1].value) / (s - s_prev);
        }
        s_prev = s;
        below += v[i].weight;
    }
    return v[n - 1].value;
}

static void acc_finish(struct acc *a, struct zonal_stats *out)
{
    acc_compact(a);
    out->covered = a->covered;
    out->n_pixels = a->n_pixels;
    out->n_valid = a->n_valid;
    out->values = a->v;
    out->n_values = a->n;
    a->v = NULL;
    out->mean = out->std = out->min = out->max = out->median = NAN;
    out->majority = out->majority_share = NAN;
    out->count = 0;
    for (size_t i = 0; i < out->n_values; i++)
        out->count += out->values[i].weight;
    out->valid_share = out->covered > 0 ? out->count / out->covered : NAN;
    if (!out->n_values || out->count <= 0)
        return;
    double sum = 0, ss = 0, best = -1;
    for (size_t i = 0; i < out->n_values; i++) {
        sum += out->values[i].value * out->values[i].weight;
        if (out->values[i].weight > best) { /* ascending: a tie keeps the smaller value */
            best = out->values[i].weight;
            out->majority = out->values[i].value;
        }
    }
    out->mean = sum / out->count;
    for (size_t i = 0; i < out->n_values; i++) {
        double d = out->values[i].value - out->mean;
        ss += out->values[i].weight * d * d;
    }
    out->std = sqrt(ss / out->count);
    out->min = a->min;
    out->max = a->max;
    out->median = weighted_quantile(out->values, out->n_values, 0.5);
    out->majority_share = best / out->count;
}

/* Reads the w x h pixels at x0,y0 and adds those of coverage > 0 (cov NULL: all 1). */
static int acc_rect(struct acc *a, struct raster *r, int x0, int y0, int w, int h,
                    const double *cov, insitu_error *err)
{
    size_t n = (size_t)w * (size_t)h;
    double *value = malloc(n * sizeof *value), *raw = malloc(n * sizeof *raw);
    unsigned char *ok = malloc(n);
    int rc = value && raw && ok ? 0 : insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (!rc)
        rc = raster_read_rect(r, x0, y0, w, h, value, raw, ok, err);
    for (size_t k = 0; !rc && k < n; k++) {
        double c = cov ? cov[k] : 1.0;
        if (!(c > 0))
            continue;
        a->covered += c;
        a->n_pixels++;
        if (!ok[k] || class_table_excluded(a->classes, raw[k]))
            continue;
        a->n_valid++;
        a->min = fmin(a->min, value[k]);
        a->max = fmax(a->max, value[k]);
        rc = acc_add(a, value[k], c, err);
    }
    free(value);
    free(raw);
    free(ok);
    return rc;
}

static void acc_init(struct acc *a, const struct zonal_opts *o)
{
    memset(a, 0, sizeof *a);
    a->min = INFINITY;
    a->max = -INFINITY;
    a->classes = o->classes;
}

void zonal_stats_free(struct zonal_stats *s)
{
    if (!s)
        return;
    free(s->values);
    s->values = NULL;
    s->n_values = 0;
}

static int64_t read_limit(const struct zonal_opts *o)
{
    return o->max_read_pixels > 0 ? o->max_read_pixels : INT64_C(1) << 22;
}

/* ---- windows ---- */

/* The plain median of the values repeated as many times as their weight (pixel counts). */
static double plain_median(const struct zonal_value *v, size_t n)
{
    double total = 0;
    for (size_t i = 0; i < n; i++)
        total += v[i].weight;
    double lo = floor((total - 1) / 2), hi = ceil((total - 1) / 2), below = 0, a = NAN, b = NAN;
    for (size_t i = 0; i < n && isnan(b); i++) {
        if (isnan(a) && lo < below + v[i].weight)
            a = v[i].value;
        if (hi < below + v[i].weight)
            b = v[i].value;
        below += v[i].weight;
    }
    return (a + b) / 2;
}

int zonal_window(struct raster *r, int col, int row, int size, const struct zonal_opts *o,
                 struct zonal_stats *out, insitu_error *err)
{
    memset(out, 0, sizeof *out);
    double gt[6], inv[6];
    int width, height, half = size / 2;
    raster_grid(r, gt, inv, &width, &height);
    int x0 = col - half < 0 ? 0 : col - half, y0 = row - half < 0 ? 0 : row - half;
    int x1 = col + half + 1 > width ? width : col + half + 1;
    int y1 = row + half + 1 > height ? height : row + half + 1;
    struct acc a;
    acc_init(&a, o);
    if (x1 <= x0 || y1 <= y0) {
        acc_finish(&a, out);
        return 0;
    }
    out->inside = 1;
    int rc = acc_rect(&a, r, x0, y0, x1 - x0, y1 - y0, NULL, err);
    out->reads = 1;
    acc_finish(&a, out);
    if (out->n_values)
        out->median = plain_median(out->values, out->n_values);
    if (rc)
        zonal_stats_free(out);
    return rc;
}

/* ---- polygons ---- */

/* Moves every vertex of g from the raster's CRS to pixel coordinates (col, row). */
static void to_pixels(OGRGeometryH g, const double inv[6])
{
    int parts = OGR_G_GetGeometryCount(g);
    if (parts > 0) {
        for (int i = 0; i < parts; i++)
            to_pixels(OGR_G_GetGeometryRef(g, i), inv);
        return;
    }
    int n = OGR_G_GetPointCount(g);
    for (int i = 0; i < n; i++) {
        double x, y, z;
        OGR_G_GetPoint(g, i, &x, &y, &z);
        OGR_G_SetPoint_2D(g, i, inv[0] + inv[1] * x + inv[2] * y, inv[3] + inv[4] * x + inv[5] * y);
    }
}

static OGRGeometryH pixel_box(double x0, double y0, double x1, double y1)
{
    OGRGeometryH ring = OGR_G_CreateGeometry(wkbLinearRing);
    OGR_G_AddPoint_2D(ring, x0, y0);
    OGR_G_AddPoint_2D(ring, x1, y0);
    OGR_G_AddPoint_2D(ring, x1, y1);
    OGR_G_AddPoint_2D(ring, x0, y1);
    OGR_G_AddPoint_2D(ring, x0, y0);
    OGRGeometryH poly = OGR_G_CreateGeometry(wkbPolygon);
    OGR_G_AddGeometryDirectly(poly, ring);
    return poly;
}

/* A rectangle of coverage values being filled. */
struct cover_buf {
    double *cov;
    int x0, y0, w; /* the chunk's first column and row, and its width */
    enum zonal_coverage mode;
};

static void cover_fill(struct cover_buf *c, int x0, int y0, int x1, int y1)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            c->cov[(size_t)(y - c->y0) * (size_t)c->w + (size_t)(x - c->x0)] = 1.0;
}

/* Fills the coverage of the pixels of [x0,x1) x [y0,y1) by the polygon piece: the piece is
 * cut to the rectangle, and a rectangle neither empty nor full is halved. */
static int cover(OGRGeometryH piece, int x0, int y0, int x1, int y1, struct cover_buf *c,
                 insitu_error *err)
{
    OGRGeometryH box = pixel_box(x0, y0, x1, y1);
    CPLErrorReset();
    OGRGeometryH part = OGR_G_Intersection(piece, box);
    OGR_G_DestroyGeometry(box);
    if (!part) {
        const char *m = CPLGetLastErrorMsg();
        return insitu_error_set(err, INSITU_EINVAL,
                                "zone: the polygon cannot be intersected "
                                "with pixels %d,%d: %s",
                                x0, y0, m && *m ? m : "GEOS failed");
    }
    double area = OGR_G_Area(part), full = (double)(x1 - x0) * (double)(y1 - y0);
    int rc = 0;
    if (!(area > 0)) {
        /* no pixel of the rectangle is covered */
    } else if (area >= full * (1 - 1e-12)) {
        cover_fill(c, x0, y0, x1, y1);
    } else if (full == 1) {
        double *cell = &c->cov[(size_t)(y0 - c->y0) * (size_t)c->w + (size_t)(x0 - c->x0)];
        if (c->mode == ZONAL_WEIGHTED) {
            *cell = area;
        } else {
            OGRGeometryH centre = OGR_G_CreateGeometry(wkbPoint);
            OGR_G_SetPoint_2D(centre, 0, x0 + 0.5, y0 + 0.5);
            *cell = OGR_G_Intersects(part, centre) ? 1.0 : 0.0;
            OGR_G_DestroyGeometry(centre);
        }
    } else if (x1 - x0 >= y1 - y0) {
        int xm = x0 + (x1 - x0) / 2;
        rc = cover(part, x0, y0, xm, y1, c, err);
        if (!rc)
            rc = cover(part, xm, y0, x1, y1, c, err);
    } else {
        int ym = y0 + (y1 - y0) / 2;
        rc = cover(part, x0, y0, x1, ym, c, err);
        if (!rc)
            rc = cover(part, x0, ym, x1, y1, c, err);
    }
    OGR_G_DestroyGeometry(part);
    return rc;
}

/* The polygon of geojson in the raster's pixel coordinates (valid), or NULL and err. */
static OGRGeometryH zone_geometry(struct raster *r, const char *geojson, const double inv[6],
                                  insitu_error *err)
{
    CPLErrorReset();
    OGRGeometryH g = OGR_G_CreateGeometryFromJson(geojson);
    if (!g) {
        insitu_error_set(err, INSITU_EINVAL, "zone: not a GeoJSON geometry");
        return NULL;
    }
    OGRwkbGeometryType type = wkbFlatten(OGR_G_GetGeometryType(g));
    if (type != wkbPolygon && type != wkbMultiPolygon) {
        insitu_error_set(err, INSITU_EINVAL, "zone: a %s is not a polygon",
                         OGRGeometryTypeToName(type));
        OGR_G_DestroyGeometry(g);
        return NULL;
    }
    if (OGR_G_Transform(g, (OGRCoordinateTransformationH)raster_from_wgs84(r)) != OGRERR_NONE) {
        const char *m = CPLGetLastErrorMsg();
        insitu_error_set(err, INSITU_EINVAL,
                         "zone: the polygon cannot be transformed to the "
                         "raster's CRS: %s",
                         m && *m ? m : "PROJ failed");
        OGR_G_DestroyGeometry(g);
        return NULL;
    }
    to_pixels(g, inv);
    if (!OGR_G_IsValid(g)) {
        OGRGeometryH valid = OGR_G_MakeValid(g);
        OGR_G_DestroyGeometry(g);
        if (!valid)
            insitu_error_set(err, INSITU_EINVAL,
                             "zone: the polygon is invalid and cannot be "
                             "made valid");
        g = valid;
    }
    return g;
}

/* Covers and reads one chunk [x0,x1) x [y0,y1). */
static int zone_chunk(struct raster *r, OGRGeometryH g, int x0, int y0, int x1, int y1,
                      const struct zonal_opts *o, struct acc *a, int *reads, insitu_error *err)
{
    size_t n = (size_t)(x1 - x0) * (size_t)(y1 - y0);
    struct cover_buf c = {
        .cov = calloc(n, sizeof(double)), .x0 = x0, .y0 = y0, .w = x1 - x0, .mode = o->coverage};
    if (!c.cov)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    int rc = cover(g, x0, y0, x1, y1, &c, err);
    int any = 0;
    for (size_t k = 0; !rc && k < n && !any; k++)
        any = c.cov[k] > 0;
    if (!rc && any) {
        rc = acc_rect(a, r, x0, y0, x1 - x0, y1 - y0, c.cov, err);
        (*reads)++;
    }
    free(c.cov);
    return rc;
}

int zonal_polygon(struct raster *r, const char *geojson, const struct zonal_opts *o,
                  struct zonal_stats *out, insitu_error *err)
{
    memset(out, 0, sizeof *out);
    double gt[6], inv[6];
    int width, height;
    raster_grid(r, gt, inv, &width, &height);
    OGRGeometryH g = zone_geometry(r, geojson, inv, err);
    if (!g)
        return err ? err->code : INSITU_EINVAL;
    OGREnvelope env;
    OGR_G_GetEnvelope(g, &env);
    double fx0 = fmax(floor(env.MinX), 0), fy0 = fmax(floor(env.MinY), 0);
    double fx1 = fmin(ceil(env.MaxX), width), fy1 = fmin(ceil(env.MaxY), height);
    struct acc a;
    acc_init(&a, o);
    int rc = 0, reads = 0;
    out->inside = fx0 < fx1 && fy0 < fy1;
    if (out->inside) {
        int bx0 = (int)fx0, by0 = (int)fy0, bx1 = (int)fx1, by1 = (int)fy1;
        int64_t limit = read_limit(o);
        int cw = (int64_t)(bx1 - bx0) < limit ? bx1 - bx0 : (int)limit;
        int64_t rows = limit / cw;
        int ch = rows < (int64_t)(by1 - by0) ? (int)rows : by1 - by0;
        for (int y = by0; y < by1 && !rc; y += ch)
            for (int x = bx0; x < bx1 && !rc; x += cw)
                rc = zone_chunk(r, g, x, y, x + cw < bx1 ? x + cw : bx1,
                                y + ch < by1 ? y + ch : by1, o, &a, &reads, err);
    }
    OGR_G_DestroyGeometry(g);
    int inside = out->inside;
    acc_finish(&a, out);
    out->inside = inside;
    out->reads = reads;
    if (rc)
        zonal_stats_free(out);
    return rc;
}
