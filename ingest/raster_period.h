/*
 * raster_period.h: the time a raster's value holds for. Most products are instants (an
 * acquisition); syntheses hold for a period: a MUSCATE L3A/N3A monthly synthesis for its
 * month, a Let-It-Snow L3B yearly synthesis for its hydrological year (1 September to
 * 31 August), an OSO land-cover map (OCS_2018_CESBIO.tif) for its year. Known from the file
 * name, or from the user's --period. Never opens a file.
 */
#ifndef INSITU_RASTER_PERIOD_H
#define INSITU_RASTER_PERIOD_H

#include <stddef.h>
#include <stdint.h>

#include "insitu.h"

/* [start, end): end is INSITU_TIME_NONE for an instant. */
struct raster_period {
    int64_t start, end;
    const char *source; /* what gave it (static text) */
};

/* Checks a --period value: auto, none, P1D, P1M, P1Y, hydro-year, another ISO 8601 duration
 * (PT1H, P10D: from the acquisition time), or an explicit START/END (or START/DURATION)
 * interval. 0, or -1 with the cause in cause[size]. */
int raster_period_check(const char *spec, char *cause, size_t size);

/* The period the value of raster `file_name` holds for, given its acquisition time t
 * (INSITU_TIME_NONE when it has none) and spec (NULL: "auto", from the file name). An
 * explicit interval or an OSO year needs no t; the other periods do (INSITU_ENOTFOUND
 * without it). *out is an instant at t when nothing says the value holds for longer. */
int raster_period_of(const char *file_name, const char *spec, int64_t t, struct raster_period *out,
                     insitu_error *err);

#endif
