/*
 * cli_fetch.c: the download options that `insitu ingest` (for URLs) and `insitu pull` share:
 * cache folder, time-outs, retries, size limit, redirects, refresh. Parsing and help only.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"
#include "util.h"

const char cli_fetch_title[] = "download options (http and https sources):";

const struct cli_option cli_fetch_options[] = {
    {.name = "cache-dir", .code = CLI_FETCH_CACHE_DIR, .arg = "DIR",
     .help = "where downloads are kept (default: $INSITU_CACHE_DIR, else\n"
             "$XDG_CACHE_HOME/insitu, else ~/.cache/insitu)"},
    {.name = "timeout", .code = CLI_FETCH_TIMEOUT, .arg = "SECONDS",
     .help = "limit for one whole request (default 900)"},
    {.name = "connect-timeout", .code = CLI_FETCH_CONNECT_TIMEOUT, .arg = "S",
     .help = "limit for connecting (default 30)"},
    {.name = "retries", .code = CLI_FETCH_RETRIES, .arg = "N",
     .help = "attempts after a 5xx, 408, 429, time-out or broken transfer\n"
             "(default 4; 0: none), with back-off doubling from --retry-delay"},
    {.name = "retry-delay", .code = CLI_FETCH_RETRY_DELAY, .arg = "SECONDS",
     .help = "first back-off (default 1)"},
    {.name = "max-size", .code = CLI_FETCH_MAX_SIZE, .arg = "SIZE",
     .help = "refuse larger bodies: bytes, or with K, M, G (default 4G)"},
    {.name = "max-redirects", .code = CLI_FETCH_MAX_REDIRECTS, .arg = "N",
     .help = "redirects to follow (default 5; 0: none)"},
    {.name = "refresh", .code = CLI_FETCH_REFRESH,
     .help = "download again even when the cached copy is current"},
    {NULL}};

/* Parses "123", "1.5", and for sizes "500M", "2G", "2GiB" (powers of 1024). */
static int parse_amount(const char *text, int allow_suffix, double *out)
{
    char *end;
    double v = strtod(text, &end);
    if (end == text || v < 0)
        return -1;
    static const char *const units[] = {"K", "M", "G", "T"};
    if (allow_suffix && *end) {
        int found = 0;
        for (size_t i = 0; i < ARRAY_LEN(units) && !found; i++) {
            size_t k = strlen(units[i]);
            if (strncasecmp(end, units[i], k) == 0 &&
                (!end[k] || str_ieq(end + k, "B") || strcmp(end + k, "iB") == 0)) {
                for (size_t j = 0; j <= i; j++)
                    v *= 1024;
                found = 1;
            }
        }
        if (!found)
            return -1;
    } else if (*end) {
        return -1;
    }
    *out = v;
    return 0;
}

int cli_fetch_option(const char *cmd, const struct cli_option *opt, const char *arg,
                     insitu_fetch_options *fo)
{
    double v = 0;
    int which = opt->code, is_size = which == CLI_FETCH_MAX_SIZE;
    if (opt->arg && which != CLI_FETCH_CACHE_DIR && parse_amount(arg, is_size, &v) != 0)
        return cli_usage(cmd, "--%s %s: not a %s", opt->name, arg,
                         is_size ? "size (bytes, or with K, M, G)" : "number");
    switch (which) {
    case CLI_FETCH_CACHE_DIR: fo->cache_dir = arg; break;
    case CLI_FETCH_TIMEOUT:
        if (v <= 0)
            return cli_usage(cmd, "--timeout %s: expected seconds > 0", arg);
        fo->timeout = v;
        break;
    case CLI_FETCH_CONNECT_TIMEOUT:
        if (v <= 0)
            return cli_usage(cmd, "--connect-timeout %s: expected seconds > 0", arg);
        fo->connect_timeout = v;
        break;
    case CLI_FETCH_RETRIES:
        if (v != (int)v || v > 100)
            return cli_usage(cmd, "--retries %s: expected 0 to 100", arg);
        fo->retries = v == 0 ? -1 : (int)v;
        break;
    case CLI_FETCH_RETRY_DELAY: fo->retry_delay = v; break;
    case CLI_FETCH_MAX_SIZE:
        if (v < 1)
            return cli_usage(cmd, "--max-size %s: expected at least 1 byte", arg);
        fo->max_bytes = (uint64_t)v;
        break;
    case CLI_FETCH_MAX_REDIRECTS:
        if (v != (int)v || v > 50)
            return cli_usage(cmd, "--max-redirects %s: expected 0 to 50", arg);
        fo->max_redirects = v == 0 ? -1 : (int)v;
        break;
    case CLI_FETCH_REFRESH: fo->refresh = 1; break;
    }
    return EXIT_OK;
}
