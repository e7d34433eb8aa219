/*
 * cmd_serve.c: `insitu serve`: the store as an OGC SensorThings API v1.1 endpoint. Reads its
 * options and the write credential (environment or --auth-file, never the command line),
 * starts the server, and stops it cleanly on SIGTERM or SIGINT.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "accesslog.h"
#include "cli.h"
#include "http.h"
#include "mqtt.h"
#include "util.h"

enum { O_LISTEN = 1, O_READ_ONLY, O_READ_STORE, O_BASE_URL, O_THREADS, O_ACCESS_LOG,
       O_AUTH_FILE, O_MAX_BODY, O_QUERY_TIMEOUT, O_MQTT, O_CORS, O_MAX_URL, O_MAX_HEADER,
       O_MAX_TOP };

static const struct cli_option serve_options[] = {
    {.name = "listen", .code = O_LISTEN, .arg = "HOST:PORT",
     .help = "address to listen on (default 127.0.0.1:8080; port 0\n"
             "picks a free port; [::1]:8080 for IPv6)"},
    {.name = "read-only", .code = O_READ_ONLY, .help = "refuse every write (405)"},
    {.name = "read-store", .code = O_READ_STORE, .arg = "URI",
     .help = "answer reads (GET, HEAD) from this store, opened\n"
             "read-only: a PostgreSQL streaming replica of --store, or\n"
             "the same SQLite file; writes go to --store"},
    {.name = "base-url", .code = O_BASE_URL, .arg = "URL",
     .help = "links start with URL/v1.1 (behind a reverse proxy);\n"
             "default: http://<the Host the client asked for>"},
    {.name = "threads", .code = O_THREADS, .arg = "N",
     .help = "worker threads, each with its own store connection\n"
             "(and one to the read store; default 4)"},
    {.name = "access-log", .code = O_ACCESS_LOG, .arg = "FILE",
     .help = "one line per request (Common Log Format + duration);\n"
             "'-' is stderr; default: no access log"},
    {.name = "auth-file", .code = O_AUTH_FILE, .arg = "FILE",
     .help = "the write credential: lines 'token = ...', or\n"
             "'user = ...' and 'password = ...'"},
    {.name = "max-body", .code = O_MAX_BODY, .arg = "BYTES",
     .help = "largest request body (default 16777216)"},
    {.name = "query-timeout", .code = O_QUERY_TIMEOUT, .arg = "S",
     .help = "time limit of one read in the database (default 30)"},
    {.name = "mqtt", .code = O_MQTT, .arg = "URL",
     .help = "publish creates and updates to the MQTT broker at URL\n"
             "(mqtt://HOST:PORT), and create the Observations\n"
             "clients publish there (see docs/sta.md, MQTT)"},
    {.name = "cors", .code = O_CORS, .arg = "ORIGIN",
     .help = "let web pages from ORIGIN (https://maps.example.org)\n"
             "read the answers (CORS); repeatable or a comma list;\n"
             "'*' is any origin; default: none"},
    {.name = "max-url", .code = O_MAX_URL, .arg = "BYTES",
     .help = "longest request URL, path and query (default 32768;\n"
             "longer: 414)"},
    {.name = "max-header", .code = O_MAX_HEADER, .arg = "BYTES",
     .help = "request line and headers together (default 65536;\n"
             "larger: 414 or 431)"},
    {.name = "max-top", .code = O_MAX_TOP, .arg = "N",
     .help = "largest page: a larger $top is cut to N, with an\n"
             "@iot.nextLink (default 10000)"},
    {NULL}};

static void serve_help(void)
{
    printf("usage: insitu [--store URI] serve [--listen HOST:PORT] [--read-only]\n"
           "          [--read-store URI] [--base-url URL] [--threads N]\n"
           "          [--access-log FILE] [--auth-file FILE] [--max-body BYTES]\n"
           "          [--query-timeout SECONDS] [--mqtt mqtt://HOST:PORT]\n"
           "          [--cors ORIGIN] [--max-url BYTES] [--max-header BYTES] [--max-top N]\n\n"
           "Serves the store as an OGC SensorThings API v1.1 endpoint at /v1.1 (Things,\n"
           "Locations, Datastreams, Observations... with $filter, $expand, $select,\n"
           "$orderby, $top, $skip, $count; POST, PATCH, PUT, DELETE; dataArray; daily,\n"
           "monthly... aggregates with ?aggregate=day&stat=mean, see docs/sta.md).\n\n");
    cli_print_options(stdout, serve_options);
    printf("\nWrites need a credential configured at start: INSITU_SERVE_TOKEN (clients send\n"
           "'Authorization: Bearer TOKEN'), or INSITU_SERVE_USER and INSITU_SERVE_PASSWORD\n"
           "(HTTP Basic), or --auth-file. Without one, writes are refused (403). SIGTERM or\n"
           "SIGINT stops the server after the requests in progress finish.\n"
           "With --mqtt, the broker account is INSITU_MQTT_USER and INSITU_MQTT_PASSWORD.\n");
}

static void mqtt_log(void *ctx, const char *line)
{
    (void)ctx;
    fprintf(stderr, "insitu: %s\n", line);
}

/* Parses HOST:PORT, [V6]:PORT or PORT. */
static int parse_listen(const char *text, char *host, size_t size, int *port)
{
    const char *colon;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (!close || close[1] != ':')
            return -1;
        snprintf(host, size, "%.*s", (int)(close - text - 1), text + 1);
        colon = close + 1;
    } else if ((colon = strrchr(text, ':'))) {
        snprintf(host, size, "%.*s", (int)(colon - text), text);
    } else {
        snprintf(host, size, "127.0.0.1");
        colon = text - 1;
    }
    int64_t p;
    const char *ps = colon + 1;
    if (!*host || parse_int64(ps, strlen(ps), &p) || p < 0 || p > 65535)
        return -1;
    *port = (int)p;
    return 0;
}

struct credential {
    char *token, *user, *password;
};

static void credential_free(struct credential *c)
{
    free(c->token);
    free(c->user);
    free(c->password);
}

static int read_auth_file(const char *path, struct credential *c)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "insitu: --auth-file %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077))
        fprintf(stderr, "insitu: warning: %s can be read by other users (chmod 600 it)\n",
                path);
    char line[1024];
    int n = 0, rc = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        char *s = str_trim(line);
        if (!*s || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            fprintf(stderr, "insitu: %s:%d: expected key = value\n", path, n);
            rc = -1;
            break;
        }
        *eq = '\0';
        char *key = str_trim(s), *value = str_trim(eq + 1);
        char **slot = strcmp(key, "token") == 0      ? &c->token
                      : strcmp(key, "user") == 0     ? &c->user
                      : strcmp(key, "password") == 0 ? &c->password
                                                     : NULL;
        if (!slot) {
            fprintf(stderr, "insitu: %s:%d: unknown key '%s' (token, user, password)\n", path,
                    n, key);
            rc = -1;
            break;
        }
        free(*slot);
        *slot = xstrdup(value);
    }
    fclose(f);
    return rc;
}

static char *env_dup(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? xstrdup(v) : NULL;
}

/* cmd_serve with the --cors list it gathers (freed by the caller). */
static int serve(struct cli *cli, int argc, char **argv, struct strbuf *cors)
{
    static const struct cli_option *const tables[] = {serve_options, NULL};
    struct cli_args a = {.cmd = "serve", .tables = tables, .argc = argc, .argv = argv};
    char host[256] = "127.0.0.1";
    int port = 8080, c;
    int64_t threads = 4, max_body = 16 << 20;
    double query_seconds = 30;
    const char *base_url = NULL, *log_path = NULL, *auth_file = NULL, *listen = NULL;
    const char *read_store = NULL, *mqtt_url = NULL;
    int read_only = 0;
    int64_t max_url = 0, max_header = 0, max_top = 0; /* 0: http.c and sta/conn.c's defaults */
    while ((c = cli_getopt(&a)) > 0) {
        char *arg = a.arg;
        switch (c) {
        case O_LISTEN:
            listen = arg;
            if (parse_listen(arg, host, sizeof host, &port))
                return cli_usage("serve", "--listen %s: expected HOST:PORT (127.0.0.1:8080)",
                                 arg);
            break;
        case O_READ_ONLY: read_only = 1; break;
        case O_READ_STORE: read_store = arg; break;
        case O_BASE_URL:
            if (strncmp(arg, "http://", 7) && strncmp(arg, "https://", 8))
                return cli_usage("serve", "--base-url %s: expected an http(s):// URL", arg);
            /* links are base + "/v1.1/...": drop a trailing '/' or "/v1.1" given here */
            base_url = arg;
            for (size_t n = strlen(arg); n > 8;) {
                if (arg[n - 1] == '/')
                    arg[--n] = '\0';
                else if (n > 5 && strcmp(arg + n - 5, "/v1.1") == 0)
                    arg[n -= 5] = '\0';
                else
                    break;
            }
            break;
        case O_THREADS:
            if (parse_int64(arg, strlen(arg), &threads) || threads < 1 || threads > 256)
                return cli_usage("serve", "--threads %s: expected 1 to 256", arg);
            break;
        case O_ACCESS_LOG: log_path = arg; break;
        case O_AUTH_FILE: auth_file = arg; break;
        case O_MAX_BODY:
            if (parse_int64(arg, strlen(arg), &max_body) || max_body < 1024)
                return cli_usage("serve", "--max-body %s: expected a size in bytes (>= 1024)",
                                 arg);
            break;
        case O_MQTT:
            if (strncmp(arg, "mqtt://", 7))
                return cli_usage("serve", "--mqtt %s: expected mqtt://HOST:PORT", arg);
            mqtt_url = arg;
            break;
        case O_CORS:
            if (strspn(arg, ", ") == strlen(arg))
                return cli_usage("serve", "--cors '%s': expected an origin "
                                          "(https://maps.example.org) or '*'", arg);
            sb_printf(cors, "%s%s", cors->len ? "," : "", arg);
            break;
        case O_MAX_URL:
            if (parse_int64(arg, strlen(arg), &max_url) || max_url < 256 || max_url > 1 << 24)
                return cli_usage("serve", "--max-url %s: expected bytes (256 to 16777216)",
                                 arg);
            break;
        case O_MAX_HEADER:
            if (parse_int64(arg, strlen(arg), &max_header) || max_header < 8192 ||
                max_header > 1 << 24)
                return cli_usage("serve",
                                 "--max-header %s: expected bytes (8192 to 16777216)", arg);
            break;
        case O_MAX_TOP:
            if (parse_int64(arg, strlen(arg), &max_top) || max_top < 1 || max_top > 1000000)
                return cli_usage("serve", "--max-top %s: expected 1 to 1000000", arg);
            break;
        case O_QUERY_TIMEOUT:
            if (parse_double(arg, strlen(arg), &query_seconds) || query_seconds < 0)
                return cli_usage("serve", "--query-timeout %s: expected seconds (0: none)",
                                 arg);
            break;
        }
    }
    if (c == CLI_HELP) {
        serve_help();
        return EXIT_OK;
    }
    if (c == CLI_BAD)
        return EXIT_USAGE;
    if (optind < argc)
        return cli_usage("serve", "unexpected argument '%s'", argv[optind]);
    (void)listen;
    struct credential cred = {env_dup("INSITU_SERVE_TOKEN"), env_dup("INSITU_SERVE_USER"),
                              env_dup("INSITU_SERVE_PASSWORD")};
    if (auth_file && read_auth_file(auth_file, &cred)) {
        credential_free(&cred);
        return EXIT_FAIL;
    }
    if (cred.user && !cred.password) {
        credential_free(&cred);
        fprintf(stderr, "insitu: a user is configured without a password "
                        "(INSITU_SERVE_PASSWORD or 'password =' in --auth-file)\n");
        return EXIT_USAGE;
    }
    insitu_error err = {0};
    struct accesslog *log = NULL;
    if (log_path && accesslog_open(log_path, &log, &err)) {
        credential_free(&cred);
        return cli_fail(&err);
    }
    /* the worker threads inherit this mask: only sigwait() below sees the signals */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    struct http_config cfg = {cli->store_uri,
                              read_store,
                              host,
                              port,
                              base_url,
                              (int)threads,
                              read_only,
                              cred.token,
                              cred.user,
                              cred.password,
                              (size_t)max_body,
                              60,
                              query_seconds,
                              log,
                              NULL,
                              NULL,
                              NULL,
                              0,
                              cors->len ? sb_str(cors) : NULL,
                              (size_t)max_url,
                              (size_t)max_header,
                              max_top};
    struct mqtt *mqtt = NULL;
    if (mqtt_url) {
        /* MQTT creates write as the server's credential does: none without one */
        struct mqtt_config mc = {mqtt_url, cli->store_uri, "insitu-serve",
                                 getenv("INSITU_MQTT_USER"), getenv("INSITU_MQTT_PASSWORD"),
                                 !read_only && (cred.token || cred.user),
                                 cred.user ? cred.user : "token", mqtt_log, NULL};
        if (mqtt_start(&mc, &mqtt, &err)) {
            accesslog_close(log);
            credential_free(&cred);
            return cli_fail(&err);
        }
        cfg.on_change = mqtt_on_change;
        cfg.on_change_ctx = mqtt;
        cfg.mqtt_endpoint = mqtt_url;
        cfg.mqtt_creates = mc.creates;
    }
    struct http_server *srv;
    if (http_start(&cfg, &srv, &err)) {
        mqtt_stop(mqtt, 0, NULL, NULL);
        accesslog_close(log);
        credential_free(&cred);
        return cli_fail(&err);
    }
    int v6 = strchr(host, ':') != NULL;
    if (mqtt) {
        char base[300];
        snprintf(base, sizeof base, "http://%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "",
                 http_port(srv));
        if (mqtt_begin(mqtt, base_url ? base_url : base, &err)) {
            http_stop(srv, 0);
            mqtt_stop(mqtt, 0, NULL, NULL);
            accesslog_close(log);
            credential_free(&cred);
            return cli_fail(&err);
        }
        if (!cli->quiet)
            fprintf(stderr, "insitu: publishing to %s (%s)\n", mqtt_url,
                    !read_only && (cred.token || cred.user)
                        ? "creates on v1.1/Observations and v1.1/Datastreams(N)/Observations"
                        : "no creates: writes are refused");
    }
    if (!cli->quiet)
        fprintf(stderr, "insitu: serving %s%s%s at http://%s%s%s:%d%s (%lld threads, %s)\n",
                cli->store_uri, read_store ? ", reads from " : "", read_store ? read_store : "",
                v6 ? "[" : "", host, v6 ? "]" : "", http_port(srv), "/v1.1", (long long)threads,
                read_only                    ? "read-only"
                : cred.token || cred.user ? "writes with a credential"
                                          : "writes refused: no credential configured");
    int sig = 0;
    sigwait(&set, &sig);
    if (!cli->quiet)
        fprintf(stderr, "insitu: %s: stopping after the requests in progress\n",
                sig == SIGTERM ? "SIGTERM" : "SIGINT");
    http_stop(srv, 30);
    mqtt_stop(mqtt, 5, NULL, NULL);
    accesslog_close(log);
    credential_free(&cred);
    if (!cli->quiet)
        fprintf(stderr, "insitu: stopped\n");
    return EXIT_OK;
}

int cmd_serve(struct cli *cli, int argc, char **argv)
{
    struct strbuf cors = {0};
    int rc = serve(cli, argc, argv, &cors);
    sb_free(&cors);
    return rc;
}
