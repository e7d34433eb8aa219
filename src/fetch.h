/*
 * fetch.h: HTTP(S) downloads into the cache folder (libcurl): resume, retries with back-off,
 * time-outs, a size limit, redirects, and the SHA-256 of the body computed as it arrives.
 * Knows nothing of formats or of the store.
 */
#ifndef INSITU_FETCH_H
#define INSITU_FETCH_H

#include <stdint.h>

#include "insitu.h"
#include "util.h"

/* What a download gave. */
struct fetch_result {
    char *path;          /* the complete file in the cache (owned; fetch_result_free) */
    char checksum[65];   /* SHA-256 of the body, hex */
    uint64_t bytes;
    long status;         /* HTTP status of the last response (also set on failure) */
    int from_cache;      /* 1: the server said the cached copy is current (304) */
    int attempts;        /* requests made for the resource, retries included */
    int resumed;         /* 1: a partial download was continued with a Range request */
    int redirects;       /* redirects followed */
    char content_type[128];
    char detail[1024];   /* the start of an error response's body, on one line */
};

/* Downloads url into <cache>/<hash of url>/<name> (name: NULL for the URL's last path
 * segment). A complete cached copy with validators (ETag, Last-Modified) is revalidated with a
 * conditional request; a partial one is continued (Range + If-Range). On failure nothing but
 * a resumable partial file is left, and err names the URL, the HTTP status or the cause. */
int fetch_url(const char *url, const char *name, const insitu_fetch_options *opts,
              struct fetch_result *res, insitu_error *err);
void fetch_result_free(struct fetch_result *res);

/* The cache folder the options name (created); caller frees. */
int fetch_cache_dir(const insitu_fetch_options *opts, char **out, insitu_error *err);

/* 1 for an http:// or https:// URL. */
int fetch_is_url(const char *s);

/* Appends s percent-encoded (RFC 3986: all but unreserved characters) to sb. */
int fetch_escape(struct strbuf *sb, const char *s);

#endif
