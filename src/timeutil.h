/*
 * timeutil.h: ISO 8601 instants, intervals and durations <-> int64 microseconds UTC, plus
 * strftime-style patterns and time zones for CSV columns. Never uses the process time zone
 * except through tz_* (which names its zone explicitly).
 */
#ifndef INSITU_TIMEUTIL_H
#define INSITU_TIMEUTIL_H

#include <stdint.h>

#include "insitu.h"

#define US_PER_SEC INT64_C(1000000)
#define US_PER_DAY (INT64_C(86400) * US_PER_SEC)

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int64_t days_from_civil(int64_t y, int m, int d);
void civil_from_days(int64_t days, int64_t *y, int *m, int *d);
int days_in_month(int64_t y, int m);

/* A calendar time broken down (UTC unless said otherwise). */
struct civil {
    int64_t year;
    int month, day, hour, minute, second, micro;
};
int64_t civil_to_us(const struct civil *c);
void us_to_civil(int64_t us, struct civil *c);

/* A time zone: a fixed offset, or an IANA name resolved through the system's tz database. */
struct tz {
    int fixed;          /* 1: offset_s is all there is */
    int offset_s;       /* seconds east of UTC */
    char name[64];      /* IANA name when !fixed */
    int64_t cache_key;  /* local hour (since epoch) of the last lookup */
    int cache_offset;
};
/* Parses "UTC", "Z", "+01:00", "-0330", "UTC+2" or an IANA name ("Europe/Paris"). */
int tz_parse(const char *text, struct tz *tz, insitu_error *err);
/* The UTC instant of a local wall-clock time in tz. */
int tz_local_to_utc(struct tz *tz, int64_t local_us, int64_t *utc_us, insitu_error *err);

/* Parses an ISO 8601 instant of length n. Without zone, the time is local to tz (UTC when
 * tz is NULL). Errors name the text and what is wrong with it. */
int time_parse_iso(const char *s, size_t n, struct tz *tz, int64_t *out, insitu_error *err);
/* Parses an ISO 8601 duration ("PT1H", "P1D", "P1M" only with a start; see interval). */
int duration_parse(const char *s, size_t n, int64_t *seconds_out, int *months_out,
                   insitu_error *err);
/* Parses "start/end", "start/duration", "duration/end", or a single instant (end = NONE). */
int interval_parse(const char *s, size_t n, int64_t *start, int64_t *end, insitu_error *err);
/* Adds months to an instant, clamping the day to the month's length. */
int64_t time_add_months(int64_t us, int months);

/* Parses s with a strftime-like pattern: %Y %m %d %H %M %S %f %y %j %b %z %s %e %T %F %%.
 * Result is local to tz unless the pattern holds %z or %s. */
int time_parse_pattern(const char *s, size_t n, const char *pattern, struct tz *tz,
                       int64_t *out, insitu_error *err);

/* Writes an ISO 8601 UTC instant ("2020-01-01T00:00:00Z", fraction only when needed). */
char *time_format_iso(int64_t us, char *buf, size_t size);
/* Writes "start/end" or the instant alone when end is INSITU_TIME_NONE. */
char *time_format_interval(int64_t start, int64_t end, char *buf, size_t size);

/* Floors an instant to the start of its hour/day/month/year (UTC) and gives the next one. */
int64_t time_floor(int64_t us, int unit, int64_t *next);

#endif
