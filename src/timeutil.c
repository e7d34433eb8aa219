/*
 * timeutil.c: calendar arithmetic on int64 microseconds UTC, ISO 8601 parsing/formatting,
 * strftime-like patterns and time zones. All arithmetic is proleptic Gregorian and exact; the
 * system time zone is consulted only for IANA zone names, through mktime.
 */
#include "timeutil.h"

#include "util.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    z += 719468;
    int64_t era = floor_div(z, 146097);
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m < 1 || m > 12)
        return 0;
    return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

int64_t civil_to_us(const struct civil *c)
{
    int64_t days = days_from_civil(c->year, c->month, c->day);
    return ((days * 24 + c->hour) * 60 + c->minute) * 60 * US_PER_SEC + c->second * US_PER_SEC +
           c->micro;
}

void us_to_civil(int64_t us, struct civil *c)
{
    int64_t days = floor_div(us, US_PER_DAY);
    int64_t rem = us - days * US_PER_DAY;
    civil_from_days(days, &c->year, &c->month, &c->day);
    c->hour = (int)(rem / (3600 * US_PER_SEC));
    rem %= 3600 * US_PER_SEC;
    c->minute = (int)(rem / (60 * US_PER_SEC));
    rem %= 60 * US_PER_SEC;
    c->second = (int)(rem / US_PER_SEC);
    c->micro = (int)(rem % US_PER_SEC);
}

/* ---- time zones ---- */

static int parse_offset(const char *s, size_t n, int *offset_s)
{
    /* [+-]hh[[:]mm] */
    if (n < 3 || (s[0] != '+' && s[0] != '-'))
        return -1;
    int sign = s[0] == '-' ? -1 : 1;
    int hh, mm = 0;
    if (!isdigit((unsigned char)s[1]) || !isdigit((unsigned char)s[2]))
        return -1;
    hh = (s[1] - '0') * 10 + (s[2] - '0');
    size_t i = 3;
    if (i < n && s[i] == ':')
        i++;
    if (i < n) {
        if (i + 2 != n || !isdigit((unsigned char)s[i]) || !isdigit((unsigned char)s[i + 1]))
            return -1;
        mm = (s[i] - '0') * 10 + (s[i + 1] - '0');
    } else if (s[n - 1] == ':') {
        return -1;
    }
    if (hh > 23 || mm > 59)
        return -1;
    *offset_s = sign * (hh * 3600 + mm * 60);
    return 0;
}

int tz_parse(const char *text, struct tz *tz, insitu_error *err)
{
    memset(tz, 0, sizeof *tz);
    tz->fixed = 1;
    tz->cache_key = INT64_MIN;
    if (!text || !*text || str_ieq(text, "UTC") || str_ieq(text, "Z") ||
        str_ieq(text, "GMT"))
        return 0;
    const char *s = text;
    if (strncmp(s, "UTC", 3) == 0 && (s[3] == '+' || s[3] == '-'))
        s += 3;
    if (*s == '+' || *s == '-') {
        if (parse_offset(s, strlen(s), &tz->offset_s))
            return insitu_error_set(err, INSITU_EINVAL,
                                    "time zone '%s': expected +hh:mm, -hhmm or an IANA name", text);
        return 0;
    }
    if (strlen(text) >= sizeof tz->name || strstr(text, "..") || text[0] == '/')
        return insitu_error_set(err, INSITU_EINVAL, "time zone '%s': not a zone name", text);
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", text);
    FILE *f = fopen(path, "rb");
    if (!f)
        return insitu_error_set(err, INSITU_EINVAL,
                                "time zone '%s': unknown (not in /usr/share/zoneinfo; install tzdata)",
                                text);
    fclose(f);
    tz->fixed = 0;
    snprintf(tz->name, sizeof tz->name, "%s", text);
    return 0;
}

/* The offset of zone `name` at local wall-clock time local_us, through mktime. */
static int zone_offset_at(const char *name, int64_t local_us, int *offset_s)
{
    const char *old = getenv("TZ");
    if (!old || strcmp(old, name) != 0) {
        setenv("TZ", name, 1);
        tzset();
    }
    struct civil c;
    us_to_civil(local_us, &c);
    struct tm tm = {0};
    tm.tm_year = (int)(c.year - 1900);
    tm.tm_mon = c.month - 1;
    tm.tm_mday = c.day;
    tm.tm_hour = c.hour;
    tm.tm_min = c.minute;
    tm.tm_sec = c.second;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    if (t == (time_t)-1 && !(c.year == 1969 && c.month == 12 && c.day == 31))
        return -1;
    int64_t local_s = local_us / US_PER_SEC - (local_us % US_PER_SEC < 0);
    *offset_s = (int)(local_s - (int64_t)t);
    return 0;
}

int tz_local_to_utc(struct tz *tz, int64_t local_us, int64_t *utc_us, insitu_error *err)
{
    if (tz->fixed) {
        *utc_us = local_us - (int64_t)tz->offset_s * US_PER_SEC;
        return 0;
    }
    /* Offsets change at most once a day: when a day's first and last hours agree, the whole
     * day has that offset and is cached; otherwise each time is resolved on its own. */
    int64_t day = floor_div(local_us, US_PER_DAY);
    if (tz->cache_key == day) {
        *utc_us = local_us - (int64_t)tz->cache_offset * US_PER_SEC;
        return 0;
    }
    int first, last, off;
    if (zone_offset_at(tz->name, day * US_PER_DAY, &first) ||
        zone_offset_at(tz->name, day * US_PER_DAY + 23 * 3600 * US_PER_SEC, &last))
        return insitu_error_set(err, INSITU_EINVAL, "time zone %s: cannot convert", tz->name);
    if (first == last) {
        tz->cache_key = day;
        tz->cache_offset = first;
        off = first;
    } else if (zone_offset_at(tz->name, local_us, &off)) {
        return insitu_error_set(err, INSITU_EINVAL, "time zone %s: cannot convert", tz->name);
    }
    *utc_us = local_us - (int64_t)off * US_PER_SEC;
    return 0;
}

/* ---- ISO 8601 ---- */

static int digits_at(const char *s, size_t n, size_t i, size_t count, int *out)
{
    if (i + count > n)
        return -1;
    int v = 0;
    for (size_t k = 0; k < count; k++) {
        if (!isdigit((unsigned char)s[i + k]))
            return -1;
        v = v * 10 + (s[i + k] - '0');
    }
    *out = v;
    return 0;
}

static int bad_time(insitu_error *err, const char *s, size_t n, const char *why)
{
    return insitu_error_set(err, INSITU_EINVAL, "invalid time '%.*s': %s", (int)(n > 64 ? 64 : n),
                            s, why);
}

static int check_civil(const struct civil *c, const char *s, size_t n, insitu_error *err)
{
    /* ISO 8601's four-digit years; 0000 is 1 BC (proleptic Gregorian, as in $filter's
     * year(0000-03-01T00:00:00Z)) */
    if (c->year < 0 || c->year > 9999)
        return bad_time(err, s, n, "year out of range (0000 to 9999)");
    if (c->month < 1 || c->month > 12)
        return bad_time(err, s, n, "month out of range");
    if (c->day < 1 || c->day > days_in_month(c->year, c->month))
        return bad_time(err, s, n, "day out of range for the month");
    if (c->second == 60 && c->hour <= 24 && c->minute <= 59)
        return bad_time(err, s, n,
                        "a leap second (:60): times are stored as POSIX time, which has no "
                        "leap seconds; write :59 or the next minute's :00");
    if (c->hour > 24 || c->minute > 59 || c->second > 59)
        return bad_time(err, s, n, "hour, minute or second out of range");
    if (c->hour == 24 && (c->minute || c->second || c->micro))
        return bad_time(err, s, n, "24:00 is allowed only as 24:00:00");
    return 0;
}

/* Reads a fraction of a second after '.' or ',': up to 9 digits, kept to the microsecond. */
static size_t parse_fraction(const char *s, size_t n, size_t i, int *micro)
{
    int v = 0, k = 0;
    while (i < n && isdigit((unsigned char)s[i])) {
        if (k < 6) {
            v = v * 10 + (s[i] - '0');
            k++;
        } else if (k >= 9) {
            return 0;
        } else {
            k++;
        }
        i++;
    }
    for (int pad = k < 6 ? k : 6; pad < 6; pad++)
        v *= 10;
    *micro = v;
    return k ? i : 0;
}

int time_parse_iso(const char *s, size_t n, struct tz *tz, int64_t *out, insitu_error *err)
{
    while (n && isspace((unsigned char)s[0])) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    struct civil c = {0, 1, 1, 0, 0, 0, 0};
    int y, v;
    size_t i = 0;
    if (digits_at(s, n, 0, 4, &y))
        return bad_time(err, s, n, "expected YYYY-MM-DD[Thh:mm:ss[.f]][Z|+hh:mm]");
    size_t year_digits = 4; /* more than 4 but for YYYYMMDD: a year past 9999 */
    while (year_digits < n && isdigit((unsigned char)s[year_digits]))
        year_digits++;
    if (year_digits > 4 && (year_digits != 8 || (year_digits < n && s[year_digits] == '-')))
        return bad_time(err, s, n, "year out of range (0000 to 9999)");
    c.year = y;
    i = 4;
    int basic = 0;
    if (i < n && s[i] == '-') {
        if (digits_at(s, n, i + 1, 2, &v))
            return bad_time(err, s, n, "expected a two-digit month");
        c.month = v;
        i += 3;
        if (i < n && s[i] == '-') {
            if (digits_at(s, n, i + 1, 2, &v))
                return bad_time(err, s, n, "expected a two-digit day");
            c.day = v;
            i += 3;
        }
    } else if (digits_at(s, n, i, 4, &v) == 0) {
        basic = 1;
        c.month = v / 100;
        c.day = v % 100;
        i += 4;
    }
    int has_zone = 0, offset = 0;
    if (i < n && (s[i] == 'T' || s[i] == 't' || s[i] == ' ')) {
        i++;
        if (digits_at(s, n, i, 2, &c.hour))
            return bad_time(err, s, n, "expected a two-digit hour");
        i += 2;
        int colon = i < n && s[i] == ':';
        if (colon || (basic && i < n && isdigit((unsigned char)s[i]))) {
            if (digits_at(s, n, i + colon, 2, &c.minute))
                return bad_time(err, s, n, "expected two-digit minutes");
            i += 2 + colon;
            colon = i < n && s[i] == ':';
            if (colon || (basic && i < n && isdigit((unsigned char)s[i]))) {
                if (digits_at(s, n, i + colon, 2, &c.second))
                    return bad_time(err, s, n, "expected two-digit seconds");
                i += 2 + colon;
                if (i < n && (s[i] == '.' || s[i] == ',')) {
                    size_t j = parse_fraction(s, n, i + 1, &c.micro);
                    if (!j)
                        return bad_time(err, s, n, "bad fraction of a second (1 to 9 digits)");
                    i = j;
                }
            }
        }
    }
    if (i < n) {
        if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n) {
            has_zone = 1;
            i++;
        } else if (s[i] == '+' || s[i] == '-') {
            if (parse_offset(s + i, n - i, &offset))
                return bad_time(err, s, n, "bad zone offset (expected +hh:mm)");
            has_zone = 1;
            i = n;
        }
    }
    if (i != n)
        return bad_time(err, s, n, "unexpected characters");
    if (check_civil(&c, s, n, err))
        return INSITU_EINVAL;
    int64_t local = civil_to_us(&c);
    if (has_zone) {
        *out = local - (int64_t)offset * US_PER_SEC;
        return 0;
    }
    if (!tz) {
        *out = local;
        return 0;
    }
    return tz_local_to_utc(tz, local, out, err);
}

int insitu_time_parse(const char *text, int default_offset_s, int64_t *out_us, insitu_error *err)
{
    struct tz tz = {.fixed = 1, .offset_s = default_offset_s, .cache_key = INT64_MIN};
    return time_parse_iso(text, strlen(text), &tz, out_us, err);
}

/* The longest duration read: its microseconds fit an int64 with room to add to a time. */
enum { DURATION_MAX_YEARS = 100000 };

int duration_parse(const char *s, size_t n, int64_t *seconds_out, int *months_out,
                   insitu_error *err)
{
    if (n < 2 || (s[0] != 'P' && s[0] != 'p'))
        return insitu_error_set(err, INSITU_EINVAL, "invalid duration '%.*s'", (int)n, s);
    int64_t secs = 0;
    int months = 0, in_time = 0, any = 0;
    size_t i = 1;
    while (i < n) {
        if (s[i] == 'T' || s[i] == 't') {
            in_time = 1;
            i++;
            continue;
        }
        size_t j = i;
        double v = 0;
        while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '.'))
            j++;
        if (j == i || j >= n || parse_double(s + i, j - i, &v))
            return insitu_error_set(err, INSITU_EINVAL, "invalid duration '%.*s'", (int)n, s);
        char unit = (char)toupper((unsigned char)s[j]);
        double month_factor = 0, sec_factor = 0;
        if (!in_time && unit == 'Y')
            month_factor = 12;
        else if (!in_time && unit == 'M')
            month_factor = 1;
        else if (!in_time && unit == 'W')
            sec_factor = 7 * 86400;
        else if (!in_time && unit == 'D')
            sec_factor = 86400;
        else if (in_time && unit == 'H')
            sec_factor = 3600;
        else if (in_time && unit == 'M')
            sec_factor = 60;
        else if (in_time && unit == 'S')
            sec_factor = 1;
        else
            return insitu_error_set(err, INSITU_EINVAL, "invalid duration '%.*s'", (int)n, s);
        /* bounded before converting: a double out of int64's range is undefined behaviour */
        if ((double)months + v * month_factor > DURATION_MAX_YEARS * 12.0 ||
            (double)secs + v * sec_factor > DURATION_MAX_YEARS * 366.0 * 86400)
            return insitu_error_set(err, INSITU_EINVAL,
                                    "duration '%.*s': longer than %d years", (int)n, s,
                                    DURATION_MAX_YEARS);
        if (month_factor)
            months += (int)v * (int)month_factor;
        else
            secs += (int64_t)(v * sec_factor);
        any = 1;
        i = j + 1;
    }
    if (!any)
        return insitu_error_set(err, INSITU_EINVAL, "invalid duration '%.*s'", (int)n, s);
    *seconds_out = secs;
    if (months_out)
        *months_out = months;
    else if (months)
        return insitu_error_set(err, INSITU_EINVAL,
                                "duration '%.*s': months and years need a start time", (int)n, s);
    return 0;
}

int64_t time_add_months(int64_t us, int months)
{
    struct civil c;
    us_to_civil(us, &c);
    int64_t m = c.year * 12 + (c.month - 1) + months;
    c.year = floor_div(m, 12);
    c.month = (int)(m - c.year * 12) + 1;
    int dim = days_in_month(c.year, c.month);
    if (c.day > dim)
        c.day = dim;
    return civil_to_us(&c);
}

int interval_parse(const char *s, size_t n, int64_t *start, int64_t *end, insitu_error *err)
{
    const char *slash = memchr(s, '/', n);
    if (!slash) {
        *end = INSITU_TIME_NONE;
        return time_parse_iso(s, n, NULL, start, err);
    }
    size_t a = (size_t)(slash - s), b = n - a - 1;
    const char *t = slash + 1;
    int64_t secs;
    int months;
    if (a && (s[0] == 'P' || s[0] == 'p')) {
        if (duration_parse(s, a, &secs, &months, err) || time_parse_iso(t, b, NULL, end, err))
            return INSITU_EINVAL;
        *start = time_add_months(*end - secs * US_PER_SEC, -months);
    } else if (b && (t[0] == 'P' || t[0] == 'p')) {
        if (time_parse_iso(s, a, NULL, start, err) || duration_parse(t, b, &secs, &months, err))
            return INSITU_EINVAL;
        *end = time_add_months(*start, months) + secs * US_PER_SEC;
    } else if (time_parse_iso(s, a, NULL, start, err) || time_parse_iso(t, b, NULL, end, err)) {
        return INSITU_EINVAL;
    }
    if (*end < *start)
        return insitu_error_set(err, INSITU_EINVAL, "interval '%.*s' ends before it starts",
                                (int)n, s);
    return 0;
}

/* ---- patterns ---- */

static const char *const month_names[] = {"january", "february", "march",     "april",
                                          "may",     "june",     "july",      "august",
                                          "september", "october", "november", "december"};

static int match_month_name(const char *s, size_t n, size_t *i, int *month)
{
    for (int m = 0; m < 12; m++) {
        size_t full = strlen(month_names[m]);
        if (*i + full <= n && strncasecmp(s + *i, month_names[m], full) == 0) {
            *month = m + 1;
            *i += full;
            return 0;
        }
        if (*i + 3 <= n && strncasecmp(s + *i, month_names[m], 3) == 0) {
            *month = m + 1;
            *i += 3;
            return 0;
        }
    }
    return -1;
}

/* Reads 1..max digits (fewer when the text has fewer). */
static int read_num(const char *s, size_t n, size_t *i, int max, int *out)
{
    int v = 0, k = 0;
    while (*i < n && k < max && isdigit((unsigned char)s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    if (!k)
        return -1;
    *out = v;
    return 0;
}

int time_parse_pattern(const char *s, size_t n, const char *pattern, struct tz *tz,
                       int64_t *out, insitu_error *err)
{
    struct civil c = {1970, 1, 1, 0, 0, 0, 0};
    int yday = 0, has_zone = 0, offset = 0, v;
    size_t i = 0;
    for (const char *p = pattern; *p; p++) {
        if (isspace((unsigned char)*p)) {
            while (i < n && isspace((unsigned char)s[i]))
                i++;
            continue;
        }
        if (*p != '%') {
            if (i >= n || s[i] != *p)
                goto mismatch;
            i++;
            continue;
        }
        p++;
        switch (*p) {
        case 'Y': {
            int neg = i < n && s[i] == '-';
            i += neg;
            if (read_num(s, n, &i, 4, &v))
                goto mismatch;
            c.year = neg ? -v : v;
            break;
        }
        case 'y':
            if (read_num(s, n, &i, 2, &v))
                goto mismatch;
            c.year = v < 69 ? 2000 + v : 1900 + v;
            break;
        case 'm':
            if (read_num(s, n, &i, 2, &c.month))
                goto mismatch;
            break;
        case 'd':
        case 'e':
            while (*p == 'e' && i < n && s[i] == ' ')
                i++;
            if (read_num(s, n, &i, 2, &c.day))
                goto mismatch;
            break;
        case 'H':
            if (read_num(s, n, &i, 2, &c.hour))
                goto mismatch;
            break;
        case 'M':
            if (read_num(s, n, &i, 2, &c.minute))
                goto mismatch;
            break;
        case 'S':
            if (read_num(s, n, &i, 2, &c.second))
                goto mismatch;
            break;
        case 'f': {
            size_t j = parse_fraction(s, n, i, &c.micro);
            if (!j)
                goto mismatch;
            i = j;
            break;
        }
        case 'j':
            if (read_num(s, n, &i, 3, &yday) || yday < 1 || yday > 366)
                goto mismatch;
            break;
        case 'b':
        case 'B':
        case 'h':
            if (match_month_name(s, n, &i, &c.month))
                goto mismatch;
            break;
        case 'z': {
            if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
                i++;
            } else {
                size_t j = i + 1;
                while (j < n && (isdigit((unsigned char)s[j]) || s[j] == ':'))
                    j++;
                if (parse_offset(s + i, j - i, &offset))
                    goto mismatch;
                i = j;
            }
            has_zone = 1;
            break;
        }
        case 's': {
            size_t j = i;
            if (j < n && (s[j] == '-' || s[j] == '+'))
                j++;
            while (j < n && (isdigit((unsigned char)s[j]) || s[j] == '.'))
                j++;
            double secs;
            if (parse_double(s + i, j - i, &secs))
                goto mismatch;
            i = j;
            /* within 100000 years of 1970: larger does not fit int64 microseconds (fuzz_time) */
            if (i != n || p[1] || !(fabs(secs) <= DURATION_MAX_YEARS * 366.0 * 86400))
                goto mismatch;
            *out = (int64_t)(secs * 1e6 + (secs < 0 ? -0.5 : 0.5));
            return 0;
        }
        case 'T':
            if (read_num(s, n, &i, 2, &c.hour) || i >= n || s[i++] != ':' ||
                read_num(s, n, &i, 2, &c.minute) || i >= n || s[i++] != ':' ||
                read_num(s, n, &i, 2, &c.second))
                goto mismatch;
            break;
        case 'F':
            if (read_num(s, n, &i, 4, &v) || i >= n || s[i++] != '-')
                goto mismatch;
            c.year = v;
            if (read_num(s, n, &i, 2, &c.month) || i >= n || s[i++] != '-' ||
                read_num(s, n, &i, 2, &c.day))
                goto mismatch;
            break;
        case '%':
            if (i >= n || s[i] != '%')
                goto mismatch;
            i++;
            break;
        default:
            return insitu_error_set(err, INSITU_EUSAGE, "time pattern '%s': unknown %%%c",
                                    pattern, *p ? *p : '?');
        }
    }
    if (i != n)
        goto mismatch;
    if (yday) {
        int64_t days = days_from_civil(c.year, 1, 1) + yday - 1;
        int64_t y;
        civil_from_days(days, &y, &c.month, &c.day);
        if (y != c.year)
            goto mismatch;
    }
    if (check_civil(&c, s, n, err))
        return INSITU_EINVAL;
    int64_t local = civil_to_us(&c);
    if (has_zone) {
        *out = local - (int64_t)offset * US_PER_SEC;
        return 0;
    }
    if (!tz) {
        *out = local;
        return 0;
    }
    return tz_local_to_utc(tz, local, out, err);
mismatch:
    return insitu_error_set(err, INSITU_EINVAL, "invalid time '%.*s': does not match pattern '%s'",
                            (int)(n > 64 ? 64 : n), s, pattern);
}

/* Writes n digits of v (zero-padded) at p. */
static char *put_digits(char *p, int64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return p + n;
}

char *time_format_iso(int64_t us, char *buf, size_t size)
{
    struct civil c;
    us_to_civil(us, &c);
    if (c.year >= 0 && c.year <= 9999 && size >= 32) {
        /* the common case without printf: a server writes millions of these */
        char *p = put_digits(buf, c.year, 4);
        *p++ = '-';
        p = put_digits(p, c.month, 2);
        *p++ = '-';
        p = put_digits(p, c.day, 2);
        *p++ = 'T';
        p = put_digits(p, c.hour, 2);
        *p++ = ':';
        p = put_digits(p, c.minute, 2);
        *p++ = ':';
        p = put_digits(p, c.second, 2);
        if (c.micro % 1000 == 0 && c.micro) {
            *p++ = '.';
            p = put_digits(p, c.micro / 1000, 3);
        } else if (c.micro) {
            *p++ = '.';
            p = put_digits(p, c.micro, 6);
        }
        *p++ = 'Z';
        *p = '\0';
        return buf;
    }
    char frac[16] = "";
    if (c.micro % 1000 == 0 && c.micro)
        snprintf(frac, sizeof frac, ".%03d", c.micro / 1000);
    else if (c.micro)
        snprintf(frac, sizeof frac, ".%06d", c.micro);
    snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d%sZ", (long long)c.year, c.month, c.day,
             c.hour, c.minute, c.second, frac);
    return buf;
}

char *insitu_time_format(int64_t us, char *buf, size_t size)
{
    return time_format_iso(us, buf, size);
}

char *time_format_interval(int64_t start, int64_t end, char *buf, size_t size)
{
    char a[40], b[40];
    time_format_iso(start, a, sizeof a);
    size_t n = strlen(a);
    if (end == INSITU_TIME_NONE && n < size) {
        memcpy(buf, a, n + 1);
    } else if (end == INSITU_TIME_NONE) {
        snprintf(buf, size, "%s", a);
    } else if (n + 1 + 40 <= size) {
        memcpy(buf, a, n);
        buf[n] = '/';
        time_format_iso(end, buf + n + 1, size - n - 1);
    } else {
        snprintf(buf, size, "%s/%s", a, time_format_iso(end, b, sizeof b));
    }
    return buf;
}

int64_t time_floor(int64_t us, int unit, int64_t *next)
{
    struct civil c;
    int64_t start;
    switch (unit) {
    case INSITU_AGG_HOUR:
        start = floor_div(us, 3600 * US_PER_SEC) * 3600 * US_PER_SEC;
        *next = start + 3600 * US_PER_SEC;
        return start;
    case INSITU_AGG_DAY:
        start = floor_div(us, US_PER_DAY) * US_PER_DAY;
        *next = start + US_PER_DAY;
        return start;
    case INSITU_AGG_MONTH:
        us_to_civil(us, &c);
        c.day = 1;
        c.hour = c.minute = c.second = c.micro = 0;
        start = civil_to_us(&c);
        *next = time_add_months(start, 1);
        return start;
    default:
        us_to_civil(us, &c);
        c.month = c.day = 1;
        c.hour = c.minute = c.second = c.micro = 0;
        start = civil_to_us(&c);
        *next = time_add_months(start, 12);
        return start;
    }
}
