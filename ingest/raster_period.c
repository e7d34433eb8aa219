/*
 * raster_period.c: the period a raster's value holds for, from the product's file name or
 * the user's --period (see raster_period.h and docs/sample.md for the names recognised).
 * Pure functions of names and times: no I/O.
 */
#include "raster_period.h"

#include <ctype.h>
#include <string.h>

#include "timeutil.h"
#include "util.h"

enum align { ALIGN_NONE, ALIGN_DAY, ALIGN_MONTH, ALIGN_YEAR, ALIGN_HYDRO_YEAR };

/* The aligned period of kind a that holds t. */
static void aligned(enum align a, int64_t t, struct raster_period *out)
{
    struct civil c;
    us_to_civil(t, &c);
    struct civil s = {c.year, 1, 1, 0, 0, 0, 0}, e = {c.year + 1, 1, 1, 0, 0, 0, 0};
    switch (a) {
    case ALIGN_DAY:
        s.month = e.month = c.month;
        s.day = c.day;
        e.year = c.year;
        out->start = civil_to_us(&s);
        out->end = out->start + US_PER_DAY;
        return;
    case ALIGN_MONTH:
        s.month = c.month;
        e.year = c.month == 12 ? c.year + 1 : c.year;
        e.month = c.month == 12 ? 1 : c.month + 1;
        break;
    case ALIGN_HYDRO_YEAR: /* 1 September to 31 August */
        s.year = c.month >= 9 ? c.year : c.year - 1;
        s.month = 9;
        e.year = s.year + 1;
        e.month = 9;
        break;
    default: break;
    }
    out->start = civil_to_us(&s);
    out->end = civil_to_us(&e);
}

/* 1 and the year when name begins with OCS_YYYY_ (an OSO land-cover map). */
static int oso_year(const char *name, int *year)
{
    if (strncmp(name, "OCS_", 4) != 0)
        return 0;
    for (int i = 4; i < 8; i++)
        if (!isdigit((unsigned char)name[i]))
            return 0;
    if (name[8] != '_' && name[8] != '.')
        return 0;
    *year = (name[4] - '0') * 1000 + (name[5] - '0') * 100 + (name[6] - '0') * 10 + (name[7] - '0');
    return *year >= 1900 && *year <= 2200;
}

/* The period a product name implies, ALIGN_NONE when it is an instant. */
static enum align from_name(const char *name, const char **source)
{
    if (strstr(name, "L3B-SNOW") || strstr(name, "L3B_SNOW")) {
        *source = "Let-It-Snow L3B yearly synthesis (file name): hydrological year";
        return ALIGN_HYDRO_YEAR;
    }
    if (strstr(name, "_L3A_") || strstr(name, "_N3A_")) {
        *source = "MUSCATE L3A monthly synthesis (file name): month";
        return ALIGN_MONTH;
    }
    return ALIGN_NONE;
}

static enum align from_spec(const char *spec)
{
    if (str_ieq(spec, "P1D"))
        return ALIGN_DAY;
    if (str_ieq(spec, "P1M"))
        return ALIGN_MONTH;
    if (str_ieq(spec, "P1Y"))
        return ALIGN_YEAR;
    if (str_ieq(spec, "hydro-year"))
        return ALIGN_HYDRO_YEAR;
    return ALIGN_NONE;
}

int raster_period_check(const char *spec, char *cause, size_t size)
{
    if (str_ieq(spec, "auto") || str_ieq(spec, "none") || from_spec(spec) != ALIGN_NONE)
        return 0;
    insitu_error e = {0};
    int64_t secs, start, end;
    int months;
    if (spec[0] == 'P' || spec[0] == 'p') {
        if (duration_parse(spec, strlen(spec), &secs, &months, &e) == 0 && (secs || months))
            return 0;
    } else if (strchr(spec, '/') && interval_parse(spec, strlen(spec), &start, &end, &e) == 0) {
        return 0;
    }
    snprintf(cause, size,
             "expected auto, none, P1D, P1M, P1Y, hydro-year, a duration (P10D) or "
             "START/END%s%s",
             e.message[0] ? ": " : "", e.message);
    return -1;
}

int raster_period_of(const char *file_name, const char *spec, int64_t t, struct raster_period *out,
                     insitu_error *err)
{
    const char *name = path_basename(file_name);
    out->start = t;
    out->end = INSITU_TIME_NONE;
    out->source = NULL;
    if (spec && str_ieq(spec, "none"))
        return 0;
    if (spec && strchr(spec, '/')) {
        out->source = "period setting";
        return interval_parse(spec, strlen(spec), &out->start, &out->end, err);
    }
    enum align a = ALIGN_NONE;
    if (!spec || str_ieq(spec, "auto")) {
        int year;
        if (oso_year(name, &year)) {
            struct civil s = {year, 1, 1, 0, 0, 0, 0}, e = {year + 1, 1, 1, 0, 0, 0, 0};
            out->start = civil_to_us(&s);
            out->end = civil_to_us(&e);
            out->source = "OSO yearly map (file name): year";
            return 0;
        }
        a = from_name(name, &out->source);
        if (a == ALIGN_NONE)
            return 0;
    } else {
        a = from_spec(spec);
        out->source = "period setting";
    }
    if (t == INSITU_TIME_NONE)
        return insitu_error_set(err, INSITU_ENOTFOUND,
                                "%s: no acquisition date to place the period %s in: give "
                                "--date or an explicit --period START/END",
                                name, spec ? spec : "of the product");
    if (a != ALIGN_NONE) {
        aligned(a, t, out);
        return 0;
    }
    int64_t secs;
    int months;
    if (duration_parse(spec, strlen(spec), &secs, &months, err))
        return INSITU_EUSAGE;
    out->end = time_add_months(t, months) + secs * US_PER_SEC;
    return 0;
}
