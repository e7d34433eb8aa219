/*
 * test_time.c: src/timeutil.c: calendar arithmetic, ISO 8601 instants, intervals and
 * durations, strftime-like patterns, time zones (fixed and IANA, across DST).
 */
#include <string.h>

#include "tap.h"
#include "testutil.h"
#include "timeutil.h"

static int64_t iso(const char *s)
{
    int64_t t = 0;
    insitu_error err;
    if (time_parse_iso(s, strlen(s), NULL, &t, &err))
        return INT64_MIN + 1;
    return t;
}

static void test_civil(void)
{
    CU_ASSERT_EQUAL(days_from_civil(1970, 1, 1), 0);
    CU_ASSERT_EQUAL(days_from_civil(2000, 1, 1), 10957);
    CU_ASSERT_EQUAL(days_from_civil(1969, 12, 31), -1);
    int bad = 0;
    for (int64_t d = -800000; d < 800000; d += 7) {
        int64_t y;
        int m, dd;
        civil_from_days(d, &y, &m, &dd);
        bad += days_from_civil(y, m, dd) != d;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(days_in_month(2000, 2), 29);
    CU_ASSERT_EQUAL(days_in_month(1900, 2), 28);
    CU_ASSERT_EQUAL(days_in_month(2024, 2), 29);
}

static void test_iso_instants(void)
{
    CU_ASSERT_EQUAL(iso("1970-01-01T00:00:00Z"), 0);
    CU_ASSERT_EQUAL(iso("2000-01-01T00:00:00Z"), INT64_C(946684800) * US_PER_SEC);
    CU_ASSERT_EQUAL(iso("2000-01-01"), INT64_C(946684800) * US_PER_SEC);
    CU_ASSERT_EQUAL(iso("2000-01-01 00:00"), INT64_C(946684800) * US_PER_SEC);
    CU_ASSERT_EQUAL(iso("2000-01-01T01:00:00+01:00"), INT64_C(946684800) * US_PER_SEC);
    CU_ASSERT_EQUAL(iso("1999-12-31T19:00:00-0500"), INT64_C(946684800) * US_PER_SEC);
    CU_ASSERT_EQUAL(iso("20000101T000000Z"), INT64_C(946684800) * US_PER_SEC);
    CU_ASSERT_EQUAL(iso("2000-01-01T00:00:00.5Z"), INT64_C(946684800) * US_PER_SEC + 500000);
    CU_ASSERT_EQUAL(iso("2000-01-01T00:00:00.123456789Z"),
                    INT64_C(946684800) * US_PER_SEC + 123456);
    CU_ASSERT_EQUAL(iso("1969-12-31T23:59:59Z"), -US_PER_SEC);
    CU_ASSERT_EQUAL(iso("2000-01-01T24:00:00Z"), iso("2000-01-02T00:00:00Z"));
    CU_ASSERT_EQUAL(iso(" 2000-01-01T00:00:00Z "), INT64_C(946684800) * US_PER_SEC);
}

static void test_iso_errors(void)
{
    int64_t t;
    insitu_error err;
    const char *bad[] = {"2003-02-32T12:51:00Z", "2003-13-01", "2003-02-29", "2003-01-01T25:00",
                         "2003-01-01T12:60",     "2003-01-01T12:00:61", "2003-01-01T24:00:01",
                         "2003-1-1",             "03-01-01", "2003-01-01T12:00:00+25:00",
                         "2003-01-01T12:00:00.Z", "2003-01-01T12:00:00.1234567890Z",
                         "2003-01-01Tnoon", "", "yesterday"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int rc = time_parse_iso(bad[i], strlen(bad[i]), NULL, &t, &err);
        CU_ASSERT_EQUAL(rc, INSITU_EINVAL);
        if (rc == 0)
            fprintf(stderr, "accepted: %s\n", bad[i]);
    }
    time_parse_iso("2003-02-32T12:51:00Z", 20, NULL, &t, &err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "2003-02-32T12:51:00Z"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "day out of range"));
}

/* Dates out of range and leap seconds: refused, each with the reason. */
static void test_iso_out_of_range(void)
{
    static const struct {
        const char *text, *why;
    } cases[] = {
        {"10000-01-01", "year out of range (0000 to 9999)"},
        {"100000101T00Z", "year out of range (0000 to 9999)"},
        {"2020-13-01", "month out of range"},
        {"2020-00-10", "month out of range"},
        {"2020-02-30", "day out of range for the month"},
        {"2021-02-29", "day out of range for the month"},
        {"2020-01-01T25:00:00Z", "hour, minute or second out of range"},
        {"2016-12-31T23:59:60Z", "a leap second (:60)"},
        {"2017-06-30T23:59:60Z", "a leap second (:60)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t t;
        insitu_error err = {0};
        int rc = time_parse_iso(cases[i].text, strlen(cases[i].text), NULL, &t, &err);
        CU_ASSERT_EQUAL(rc, INSITU_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].why));
        CU_ASSERT_PTR_NOT_NULL(strstr(err.message, cases[i].text));
    }
    CU_ASSERT_EQUAL(iso("0000-01-01T00:00:00Z"), days_from_civil(0, 1, 1) * 86400 * US_PER_SEC);
    CU_ASSERT_EQUAL(iso("9999-12-31T23:59:59Z"),
                    (days_from_civil(9999, 12, 31) * 86400 + 86399) * US_PER_SEC);
    CU_ASSERT_EQUAL(iso("2024-02-29"), days_from_civil(2024, 2, 29) * 86400 * US_PER_SEC);
    int64_t t;
    insitu_error err = {0};
    CU_ASSERT_EQUAL(
        time_parse_pattern("31/12/2016 23:59:60", 19, "%d/%m/%Y %H:%M:%S", NULL, &t, &err),
        INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "leap second"));
}

static void test_format(void)
{
    char buf[64];
    CU_ASSERT_STRING_EQUAL(time_format_iso(0, buf, sizeof buf), "1970-01-01T00:00:00Z");
    CU_ASSERT_STRING_EQUAL(time_format_iso(500000, buf, sizeof buf), "1970-01-01T00:00:00.500Z");
    CU_ASSERT_STRING_EQUAL(time_format_iso(1, buf, sizeof buf), "1970-01-01T00:00:00.000001Z");
    CU_ASSERT_STRING_EQUAL(time_format_iso(-1, buf, sizeof buf), "1969-12-31T23:59:59.999999Z");
    CU_ASSERT_STRING_EQUAL(time_format_interval(0, US_PER_DAY, buf, sizeof buf),
                           "1970-01-01T00:00:00Z/1970-01-02T00:00:00Z");
    /* every formatted instant reads back to itself */
    int bad = 0;
    for (int64_t t = -INT64_C(5000000000000000); t < INT64_C(5000000000000000);
         t += INT64_C(98765432101234))
        bad += iso(time_format_iso(t, buf, sizeof buf)) != t;
    CU_ASSERT_EQUAL(bad, 0);
}

static void test_intervals(void)
{
    int64_t a, b, secs;
    int months;
    insitu_error err;
    const char *s = "2020-01-01T00:00:00Z/2020-01-02T00:00:00Z";
    CU_ASSERT_EQUAL(interval_parse(s, strlen(s), &a, &b, &err), 0);
    CU_ASSERT_EQUAL(b - a, US_PER_DAY);
    s = "2020-01-31T00:00:00Z/P1M";
    CU_ASSERT_EQUAL(interval_parse(s, strlen(s), &a, &b, &err), 0);
    CU_ASSERT_EQUAL(b, iso("2020-02-29T00:00:00Z"));
    s = "PT1H/2020-01-01T00:00:00Z";
    CU_ASSERT_EQUAL(interval_parse(s, strlen(s), &a, &b, &err), 0);
    CU_ASSERT_EQUAL(a, iso("2019-12-31T23:00:00Z"));
    s = "2020-01-01T00:00:00Z";
    CU_ASSERT_EQUAL(interval_parse(s, strlen(s), &a, &b, &err), 0);
    CU_ASSERT_EQUAL(b, INSITU_TIME_NONE);
    s = "2020-01-02T00:00:00Z/2020-01-01T00:00:00Z";
    CU_ASSERT_EQUAL(interval_parse(s, strlen(s), &a, &b, &err), INSITU_EINVAL);
    CU_ASSERT_EQUAL(duration_parse("P1DT2H30M", 9, &secs, &months, &err), 0);
    CU_ASSERT_EQUAL(secs, 86400 + 2 * 3600 + 1800);
    CU_ASSERT_EQUAL(duration_parse("P1Y2M", 5, &secs, &months, &err), 0);
    CU_ASSERT_EQUAL(months, 14);
    CU_ASSERT_EQUAL(duration_parse("P1M", 3, &secs, NULL, &err), INSITU_EINVAL);
    CU_ASSERT_EQUAL(duration_parse("P", 1, &secs, &months, &err), INSITU_EINVAL);
    CU_ASSERT_EQUAL(duration_parse("PT1X", 4, &secs, &months, &err), INSITU_EINVAL);
    /* found by tests/fuzz/fuzz_time: a number of hours out of int64's range was converted
     * (undefined behaviour); durations are bounded at 100000 years */
    const char *huge = "PT555555555555555555555555555551H";
    CU_ASSERT_EQUAL(duration_parse(huge, strlen(huge), &secs, &months, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "longer than 100000 years"));
    CU_ASSERT_EQUAL(duration_parse("P200000Y", 8, &secs, &months, &err), INSITU_EINVAL);
    CU_ASSERT_EQUAL(duration_parse("P99999Y", 7, &secs, &months, &err), 0);
    CU_ASSERT_EQUAL(months, 99999 * 12);
}

static void test_patterns(void)
{
    int64_t t;
    insitu_error err;
    const char *s = "31/03/2024 23:59";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%d/%m/%Y %H:%M", NULL, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2024-03-31T23:59:00Z"));
    s = "2024-091";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%Y-%j", NULL, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2024-03-31"));
    s = "12-Feb-03 10:00:00.25";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%d-%b-%y %T.%f", NULL, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2003-02-12T10:00:00.25Z"));
    s = "1700000000.5";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%s", NULL, &t, &err), 0);
    CU_ASSERT_EQUAL(t, INT64_C(1700000000500000));
    /* found by tests/fuzz/fuzz_time: 1.7e23 seconds was converted to int64 microseconds
     * (undefined behaviour); %s takes times within 100000 years of 1970 */
    s = "17017000800000800000";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%s", NULL, &t, &err), INSITU_EINVAL);
    s = "-3000000000000";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%s", NULL, &t, &err), 0);
    CU_ASSERT_EQUAL(t, INT64_C(-3000000000000) * 1000000);
    s = "2024-03-31T10:00+02:00";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%FT%H:%M%z", NULL, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2024-03-31T08:00:00Z"));
    s = "31/02/2024";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%d/%m/%Y", NULL, &t, &err), INSITU_EINVAL);
    s = "2024/03/31";
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%d/%m/%Y", NULL, &t, &err), INSITU_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "does not match pattern"));
    CU_ASSERT_EQUAL(time_parse_pattern(s, strlen(s), "%Q", NULL, &t, &err), INSITU_EUSAGE);
}

static void test_zones(void)
{
    struct tz tz;
    insitu_error err;
    int64_t t;
    CU_ASSERT_EQUAL(tz_parse("+05:30", &tz, &err), 0);
    CU_ASSERT_EQUAL(tz.offset_s, 5 * 3600 + 1800);
    CU_ASSERT_EQUAL(tz_parse("UTC-03", &tz, &err), 0);
    CU_ASSERT_EQUAL(tz.offset_s, -3 * 3600);
    CU_ASSERT_EQUAL(tz_parse("Mars/Olympus", &tz, &err), INSITU_EINVAL);
    CU_ASSERT_EQUAL(tz_parse("../../etc/passwd", &tz, &err), INSITU_EINVAL);
    CU_ASSERT_EQUAL(tz_parse("Europe/Paris", &tz, &err), 0);
    /* winter (UTC+1), summer (UTC+2), and both sides of the 2024-03-31 change */
    const char *s = "2024-01-15T12:00:00";
    CU_ASSERT_EQUAL(time_parse_iso(s, strlen(s), &tz, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2024-01-15T11:00:00Z"));
    s = "2024-07-15T12:00:00";
    CU_ASSERT_EQUAL(time_parse_iso(s, strlen(s), &tz, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2024-07-15T10:00:00Z"));
    s = "2024-03-31T01:30:00";
    CU_ASSERT_EQUAL(time_parse_iso(s, strlen(s), &tz, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2024-03-31T00:30:00Z"));
    s = "2024-03-31T03:30:00";
    CU_ASSERT_EQUAL(time_parse_iso(s, strlen(s), &tz, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2024-03-31T01:30:00Z"));
    /* an explicit offset wins over the zone */
    s = "2024-07-15T12:00:00Z";
    CU_ASSERT_EQUAL(time_parse_iso(s, strlen(s), &tz, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2024-07-15T12:00:00Z"));
}

static void test_floor(void)
{
    int64_t next;
    int64_t t = iso("2024-02-29T13:45:10Z");
    CU_ASSERT_EQUAL(time_floor(t, INSITU_AGG_HOUR, &next), iso("2024-02-29T13:00:00Z"));
    CU_ASSERT_EQUAL(next, iso("2024-02-29T14:00:00Z"));
    CU_ASSERT_EQUAL(time_floor(t, INSITU_AGG_DAY, &next), iso("2024-02-29"));
    CU_ASSERT_EQUAL(next, iso("2024-03-01"));
    CU_ASSERT_EQUAL(time_floor(t, INSITU_AGG_MONTH, &next), iso("2024-02-01"));
    CU_ASSERT_EQUAL(next, iso("2024-03-01"));
    CU_ASSERT_EQUAL(time_floor(t, INSITU_AGG_YEAR, &next), iso("2024-01-01"));
    CU_ASSERT_EQUAL(next, iso("2025-01-01"));
    CU_ASSERT_EQUAL(time_floor(iso("1969-12-31T23:00:00Z"), INSITU_AGG_DAY, &next),
                    iso("1969-12-31"));
    CU_ASSERT_EQUAL(time_add_months(iso("2024-01-31"), 1), iso("2024-02-29"));
    CU_ASSERT_EQUAL(time_add_months(iso("2024-03-15"), -14), iso("2023-01-15"));
}

static void test_public_api(void)
{
    int64_t t;
    insitu_error err;
    CU_ASSERT_EQUAL(insitu_time_parse("2020-06-01T12:00:00", 3600, &t, &err), 0);
    CU_ASSERT_EQUAL(t, iso("2020-06-01T11:00:00Z"));
    char buf[40];
    CU_ASSERT_STRING_EQUAL(insitu_time_format(t, buf, sizeof buf), "2020-06-01T11:00:00Z");
}

int main(void)
{
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("time", NULL, NULL);
    CU_add_test(s, "civil calendar round trip", test_civil);
    CU_add_test(s, "ISO 8601 instants", test_iso_instants);
    CU_add_test(s, "ISO 8601 errors are rejected with a reason", test_iso_errors);
    CU_add_test(s, "dates out of range and leap seconds are refused", test_iso_out_of_range);
    CU_add_test(s, "formatting round trips", test_format);
    CU_add_test(s, "intervals and durations", test_intervals);
    CU_add_test(s, "strftime-like patterns", test_patterns);
    CU_add_test(s, "fixed and IANA time zones across DST", test_zones);
    CU_add_test(s, "floor to hour/day/month/year", test_floor);
    CU_add_test(s, "public time API", test_public_api);
    return tap_run();
}
