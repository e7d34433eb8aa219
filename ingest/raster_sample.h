/*
 * raster_sample.h: what `insitu sample` needs from the raster-sample ingester besides
 * insitu_ingest(): the fingerprint of the stations a sampling run would select, so that a
 * raster sampled again for a changed set of stations is not skipped as unchanged; the
 * check of the settings, so that a mistake is told once, before any raster is read.
 */
#ifndef INSITU_RASTER_SAMPLE_H
#define INSITU_RASTER_SAMPLE_H

#include "insitu.h"

/* SHA-256 (hex) over the id, code and current location of every Thing that `things`
 * (comma-separated ids or names; NULL: all) and bbox (W,S,E,N text; NULL: anywhere) select.
 * *count receives how many there are, extent their W,S,E,N (infinite when none). Errors: a
 * thing that does not exist, a bad bbox. */
int raster_sample_stations_digest(insitu_store *store, const char *things, const char *bbox,
                                  char hex[65], size_t *count, double extent[4],
                                  insitu_error *err);

/* What is wrong with one setting of a sampling run. */
struct raster_sample_bad {
    const char *key;   /* the setting ("window"; static) */
    const char *value; /* its value (borrowed from the settings) */
    char cause[256];   /* what is wrong: "expected an odd size (1, 3, 5...)" */
};

/* Checks the settings of a sampling run (NULL-terminated "key=value") as the ingester reads
 * them, before any raster is opened: a mistake found here would repeat for every raster.
 * 0, or INSITU_EUSAGE with err as the ingester says it and *bad naming the setting. */
int raster_sample_check(const char *const *settings, struct raster_sample_bad *bad,
                        insitu_error *err);

#endif
