/*
 * accesslog.h: the server's access log: one line per request, in the Common Log Format
 * followed by the time the request took. The only module below the CLI that writes to a
 * file or stderr; it never fails a request (a log write error is counted, not raised).
 */
#ifndef INSITU_ACCESSLOG_H
#define INSITU_ACCESSLOG_H

#include "insitu.h"

struct accesslog;

/* Opens the log at path ("-" is stderr), appending. */
int accesslog_open(const char *path, struct accesslog **out, insitu_error *err);
/* Writes one line (thread-safe). client, user, request may be NULL. */
void accesslog_write(struct accesslog *log, const char *client, const char *user,
                     const char *method, const char *target, int status, size_t bytes,
                     double seconds);
/* Flushes and closes (NULL is a no-op). */
void accesslog_close(struct accesslog *log);

#endif
