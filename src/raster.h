/*
 * raster.h: sampling a raster (anything GDAL opens) at many lon/lat points in one pass:
 * CRS transformation from EPSG:4326, nearest pixel, NxN window statistics or bilinear
 * interpolation, nodata, scale/offset, a quality mask with bit tests, per-pixel time
 * variables and the acquisition time of the raster. It knows nothing of stores or stations.
 */
#ifndef INSITU_RASTER_H
#define INSITU_RASTER_H

#include <stddef.h>
#include <stdint.h>

#include "insitu.h"

enum raster_method { RASTER_NEAREST = 0, RASTER_WINDOW, RASTER_BILINEAR };
enum raster_stat { RASTER_MEAN = 0, RASTER_MEDIAN };

/* How to open and sample a raster: zero-initialise, then set what is needed. */
struct raster_opts {
    const char *subdataset;   /* a subdataset's variable name ("sm") or full GDAL name */
    int band;                 /* 1-based; 0 means 1 */
    enum raster_method method;
    int window;               /* odd window size for RASTER_WINDOW (>= 1) */
    enum raster_stat stat;    /* the window statistic that becomes the value */
    int min_valid;            /* window: fewer valid pixels than this gives no value */
    int has_nodata;           /* override the band's nodata value */
    double nodata;
    int has_scale, has_offset; /* override the band's scale factor / offset */
    double scale, offset;
    const char *assume_crs;   /* the CRS of a raster that declares none ("EPSG:4326") */
    const char *mask;         /* a quality/cloud mask raster on the same CRS, or NULL */
    int mask_band;            /* 1-based; 0 means 1 */
    uint64_t mask_bits;       /* mask pixel is bad when (value & bits) != 0; 0: when != 0 */
    const char *time_var;     /* per-pixel time subdataset ("t0"); NULL: auto; "none": off */
    int64_t max_read_pixels;  /* largest rectangle read at once; 0: 4 Mi pixels (32 MiB) */
};

/* What one point gave. */
struct raster_sample {
    int inside;               /* 0: the point is outside the raster (nothing else is set) */
    int row, col;             /* 0-based pixel holding the point */
    double px_lon, px_lat;    /* that pixel's centre in EPSG:4326 */
    double dist_m;            /* great-circle distance from the point to the pixel centre */
    int valid;                /* 1: value holds a usable number */
    double value;             /* scaled value (nearest, window statistic or bilinear) */
    double raw;               /* the nearest pixel's stored value, unscaled */
    const char *why;          /* when !valid: "nodata", "masked" or "too_few_valid" (static) */
    int n, n_valid;           /* window: pixels inside the raster, valid ones */
    double mean, median, std, min, max; /* window statistics of the valid pixels (scaled) */
    int64_t time_us;          /* per-pixel time, or INSITU_TIME_NONE */
};

struct raster;

/* Opens a raster for sampling. name is a file path or a GDAL dataset name
 * (NETCDF:"f.nc":sm). Errors name the raster and the cause (no CRS, no geotransform, a
 * subdataset to choose, a band out of range). Free with raster_close(). */
int raster_open(const char *name, const struct raster_opts *o, struct raster **out,
                insitu_error *err);
void raster_close(struct raster *r);

/* The footprint of the raster in EPSG:4326 (west, south, east, north), from its edges. */
void raster_bounds_wgs84(const struct raster *r, double bbox[4]);
/* 1 when GDAL knows the CRS `text` names (EPSG:4326, a WKT, a PROJ string...), else 0. */
int raster_crs_known(const char *text);
/* Samples n points (EPSG:4326 lon/lat). Each block of the raster (and of the mask) is read
 * at most once per call; out[i] receives point i's sample. */
int raster_sample_points(struct raster *r, const double *lon, const double *lat, size_t n,
                         struct raster_sample *out, insitu_error *err);

/* The acquisition time of the raster: from the band's NetCDF time coordinate, else its
 * metadata (ACQUISITIONDATE, TIFFTAG_DATETIME), else the file name (date_pattern first
 * when given). *source receives what gave it (static text). INSITU_ENOTFOUND when
 * nothing does. */
int raster_time(const struct raster *r, const char *date_pattern, int64_t *out,
                const char **source, insitu_error *err);
/* A date in a file name: THEIA MUSCATE (SENTINEL2A_20170203-071245-541_...), Landsat
 * (..._20150416_N2A_...), ISO dates (..._NDVI_2014-08-29.jp2), compact dates
 * (...-20161227000000-...). With pattern (strftime-like, e.g. "%Y%j"), only that pattern is
 * tried, at every position. 0 and *out, or -1 when the name holds no date. */
int raster_time_from_name(const char *name, const char *pattern, int64_t *out);

/* Borrowed descriptions: the variable (NetCDF variable, band description, or ""), the
 * unit of the band (or ""), the dataset name that was opened, the file's base name. */
const char *raster_variable(const struct raster *r);
const char *raster_unit(const struct raster *r);
const char *raster_dataset_name(const struct raster *r);
/* The effective nodata / scale / offset, and whether a per-pixel time is read. */
int raster_nodata(const struct raster *r, double *nodata);
double raster_scale(const struct raster *r);
double raster_offset(const struct raster *r);
const char *raster_time_var(const struct raster *r);

/* The number of bands of the sampled dataset, and the description of band `band` (GDAL's
 * band description, "" when it has none; borrowed). */
int raster_band_count(const struct raster *r);
const char *raster_band_description(const struct raster *r, int band);
/* Samples band `band` (1-based) of the same dataset from now on: its nodata, unit, scale and
 * offset (the options' overrides still apply). INSITU_EINVAL when there is no such band. */
int raster_select_band(struct raster *r, int band, insitu_error *err);

/* Great-circle distance in metres between two lon/lat points (mean Earth radius). */
double raster_distance_m(double lon1, double lat1, double lon2, double lat2);

/* For the zonal engine (zonal.c). The main band's geotransform and its inverse, and size. */
void raster_grid(const struct raster *r, double gt[6], double inv[6], int *width, int *height);
/* The transformation from EPSG:4326 (lon/lat order) to the raster's CRS: an
 * OGRCoordinateTransformationH, borrowed. */
void *raster_from_wgs84(const struct raster *r);
/* The band's category names (GDAL's list, index = code), borrowed; NULL when none. */
char **raster_category_names(const struct raster *r);
/* Reads the w x h pixels at x0,y0 (inside the raster): value[k] the scaled value (NAN when
 * unusable), raw[k] the stored value, ok[k] 1 when usable (not nodata, not masked). */
int raster_read_rect(struct raster *r, int x0, int y0, int w, int h, double *value, double *raw,
                     unsigned char *ok, insitu_error *err);

#endif
