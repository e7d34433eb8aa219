/*
 * raster_sample.h: what `insitu sample` needs from the raster-sample ingester besides
 * insitu_ingest(): the fingerprint of the stations a sampling run would select, so that a
 * raster sampled again for a changed set of stations is not skipped as unchanged.
 */
#ifndef INSITU_RASTER_SAMPLE_H
#define INSITU_RASTER_SAMPLE_H

#include "insitu.h"

/* SHA-256 (hex) over the id, code and current location of every Thing that `things`
 * (comma-separated ids or names; NULL: all) and bbox (W,S,E,N text; NULL: anywhere) select.
 * *count receives how many there are. Errors: a thing that does not exist, a bad bbox. */
int raster_sample_stations_digest(insitu_store *store, const char *things, const char *bbox,
                                  char hex[65], size_t *count, insitu_error *err);

#endif
