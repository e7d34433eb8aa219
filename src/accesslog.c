/*
 * accesslog.c: the access log of `insitu serve` (see accesslog.h). Lines are buffered and
 * flushed at most once a second and at close, so that logging costs no system call per
 * request; stderr is written line by line.
 */
#include "accesslog.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util.h"

struct accesslog {
    FILE *f;
    int is_stderr;
    pthread_mutex_t lock;
    double last_flush;
};

int accesslog_open(const char *path, struct accesslog **out, insitu_error *err)
{
    struct accesslog *log = calloc(1, sizeof *log);
    if (!log)
        return insitu_error_set(err, INSITU_ENOMEM, "out of memory");
    if (strcmp(path, "-") == 0) {
        log->f = stderr;
        log->is_stderr = 1;
    } else if (!(log->f = fopen(path, "a"))) {
        free(log);
        return insitu_error_set(err, INSITU_EIO, "%s: cannot open the access log: %m", path);
    }
    pthread_mutex_init(&log->lock, NULL);
    log->last_flush = now_seconds();
    *out = log;
    return 0;
}

/* Appends s with quotes and control characters escaped, as a log field must not break the
 * line. */
static void put_field(struct strbuf *sb, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)(s ? s : "-"); *p; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '"' || *p == '\\')
            sb_printf(sb, "\\x%02x", *p);
        else
            sb_putc(sb, (char)*p);
    }
}

void accesslog_write(struct accesslog *log, const char *client, const char *user,
                     const char *method, const char *target, int status, size_t bytes,
                     double seconds)
{
    if (!log)
        return;
    char when[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof when, "%d/%b/%Y:%H:%M:%S +0000", &tm);
    struct strbuf line = {0};
    put_field(&line, client);
    sb_puts(&line, " - ");
    put_field(&line, user && *user ? user : "-");
    sb_printf(&line, " [%s] \"", when);
    put_field(&line, method);
    sb_putc(&line, ' ');
    put_field(&line, target);
    sb_printf(&line, " HTTP/1.1\" %d %zu %.3fms\n", status, bytes, seconds * 1e3);
    pthread_mutex_lock(&log->lock);
    fputs(sb_str(&line), log->f);
    double t = now_seconds();
    if (log->is_stderr || t - log->last_flush >= 1.0) {
        fflush(log->f);
        log->last_flush = t;
    }
    pthread_mutex_unlock(&log->lock);
    sb_free(&line);
}

void accesslog_close(struct accesslog *log)
{
    if (!log)
        return;
    fflush(log->f);
    if (!log->is_stderr)
        fclose(log->f);
    pthread_mutex_destroy(&log->lock);
    free(log);
}
