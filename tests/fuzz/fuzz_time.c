/*
 * fuzz_time.c: ISO 8601 instants, intervals and durations, time zones and strftime-like
 * patterns (src/timeutil.c). The input is the text; "PATTERN\tTEXT" also runs the pattern
 * parser. A parsed instant must print and parse back to the same value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "timeutil.h"

static void round_trip(int64_t us)
{
    char buf[64];
    time_format_iso(us, buf, sizeof buf);
    int64_t back;
    insitu_error err;
    if (time_parse_iso(buf, strlen(buf), NULL, &back, &err) == 0 && back != us) {
        fprintf(stderr, "round trip: %lld printed as %s read back as %lld\n", (long long)us, buf,
                (long long)back);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_text(data, size);
    insitu_error err;
    int64_t us, start, end, secs;
    int months;
    if (time_parse_iso(s, size, NULL, &us, &err) == 0)
        round_trip(us);
    struct tz paris;
    if (tz_parse("Europe/Paris", &paris, &err) == 0 &&
        time_parse_iso(s, size, &paris, &us, &err) == 0)
        round_trip(us);
    if (duration_parse(s, size, &secs, &months, &err) == 0 && months)
        (void)time_add_months(0, months);
    if (interval_parse(s, size, &start, &end, &err) == 0) {
        char buf[128];
        time_format_interval(start, end, buf, sizeof buf);
    }
    (void)insitu_time_parse(s, 3600, &us, &err);
    struct tz tz;
    if (size < 256 && tz_parse(s, &tz, &err) == 0)
        (void)tz_local_to_utc(&tz, 0, &us, &err);
    char *tab = memchr(s, '\t', size);
    if (tab) {
        *tab = '\0';
        const char *text = tab + 1;
        struct tz utc = {.fixed = 1};
        if (time_parse_pattern(text, size - (size_t)(text - s), s, &utc, &us, &err) == 0)
            round_trip(us);
    }
    int64_t next;
    if (time_parse_iso(s, strlen(s), NULL, &us, &err) == 0)
        for (int unit = INSITU_AGG_HOUR; unit <= INSITU_AGG_YEAR; unit++)
            (void)time_floor(us, unit, &next);
    free(s);
    return 0;
}
