/*
 * zonal.h: statistics of a raster over a zone: a polygon (GeoJSON in EPSG:4326, transformed to
 * the raster's CRS) whose pixels weigh the fraction of their area inside it (or 1 when their
 * centre is inside), or a rectangle of whole pixels (a window around a station). The zone is
 * read block by block within the raster's read limit, so memory does not grow with its area
 * (only with the number of distinct values). It knows nothing of stores or stations.
 */
#ifndef INSITU_ZONAL_H
#define INSITU_ZONAL_H

#include <stddef.h>
#include <stdint.h>

#include "classes.h"
#include "insitu.h"
#include "raster.h"

enum zonal_coverage { ZONAL_WEIGHTED = 0, ZONAL_CENTRE };

struct zonal_opts {
    enum zonal_coverage coverage;
    int64_t max_read_pixels;           /* largest rectangle read at once; 0: 4 Mi pixels */
    const struct class_table *classes; /* pixels holding a code it excludes are invalid */
};

/* One distinct valid value and the sum of the coverage of the pixels that hold it. */
struct zonal_value {
    double value, weight;
};

/* The statistics of a zone. Weighted as exactextract does, with c the coverage of a pixel
 * (0..1) and v its value: count = sum(c) over valid pixels; mean = sum(c v) / count; std the
 * population standard deviation sqrt(sum(c (v - mean)^2) / count); min, max over valid pixels
 * with c > 0; median exactextract's weighted quantile 0.5 of the distinct values weighted by
 * their summed coverage; majority the value of largest summed coverage (ties: the smallest);
 * valid_share = count / covered. Statistics of no valid pixel are NAN. */
struct zonal_stats {
    int inside;                /* 0: the zone's bounding box (in pixels) misses the raster */
    double covered;            /* sum of c over the raster's pixels (valid or not) */
    double count;              /* sum of c over the valid pixels */
    int64_t n_pixels, n_valid; /* pixels with c > 0, and the valid ones */
    double mean, std, min, max, median, valid_share;
    double majority, majority_share; /* majority_share: its weight / count */
    struct zonal_value *values;      /* distinct valid values, ascending, with their weights */
    size_t n_values;
    int reads; /* rectangles read */
};

/* Statistics over a (Multi)Polygon given as GeoJSON geometry text in EPSG:4326. A polygon
 * outside the raster gives inside = 0. Errors name the geometry's problem or the read. Free
 * out with zonal_stats_free. */
int zonal_polygon(struct raster *r, const char *geojson, const struct zonal_opts *o,
                  struct zonal_stats *out, insitu_error *err);
/* Statistics over the size x size pixels centred on pixel (col, row), each of weight 1 (the
 * part inside the raster). The median is the plain median of the valid pixels (the mean of
 * the two middle ones for an even count), as raster.c's window median. */
int zonal_window(struct raster *r, int col, int row, int size, const struct zonal_opts *o,
                 struct zonal_stats *out, insitu_error *err);
void zonal_stats_free(struct zonal_stats *s);

#endif
