/*
 * format.h: the SensorThings result formats besides JSON that FROST-Server offers for
 * collections ($resultFormat=CSV, $resultFormat=GeoJSON). They turn the JSON of one entity,
 * as the read side wrote it (with its $select and $expand), into a CSV row or a GeoJSON
 * Feature, one entity at a time: a page is never held twice in memory.
 */
#ifndef INSITU_STA_FORMAT_H
#define INSITU_STA_FORMAT_H

#include <stdint.h>

#include "filter.h"
#include "entities.h"
#include "util.h"

enum sta_format { STA_FMT_JSON, STA_FMT_CSV, STA_FMT_GEOJSON };

/* The format a $resultFormat value names (CSV, GeoJSON: case does not matter), or -1. */
int sta_format_parse(const char *value);
/* The name of a format as a $resultFormat value ("CSV", "GeoJSON"). */
const char *sta_format_name(enum sta_format f);

struct sta_fmt;

/* A formatter of collections of type with query q (borrowed: it must outlive the
 * formatter). CSV's columns come from q ($select, $expand): a to-many $expand must say
 * $top=1 (one row per entity, as FROST asks). INSITU_EINVAL with a message otherwise. */
int sta_fmt_new(enum sta_format f, enum sta_type type, const struct sta_query *q,
                struct sta_fmt **out, insitu_error *err);
void sta_fmt_free(struct sta_fmt *f);
/* The Content-Type of the answer (static). */
const char *sta_fmt_content_type(const struct sta_fmt *f);
/* Appends the start of the answer: CSV's header line; GeoJSON's FeatureCollection up to its
 * features (with @iot.count when count >= 0). */
void sta_fmt_begin(struct sta_fmt *f, struct strbuf *out, int64_t count);
/* Appends the row (CSV) or the Feature (GeoJSON) of one entity, given as the JSON object
 * the read side writes (json[0..len)). INSITU_EINVAL when that is not a JSON object. */
int sta_fmt_row(struct sta_fmt *f, const char *json, size_t len, struct strbuf *out,
                insitu_error *err);
/* Appends the end of the answer; next_link (or NULL) goes into a GeoJSON answer as
 * @iot.nextLink (CSV has no place for it: the caller sends it as a Link header). */
void sta_fmt_end(struct sta_fmt *f, struct strbuf *out, const char *next_link);

#endif
