/*
 * classes.h: the class table of a categorical raster: code -> name (from the raster's own
 * category names, or a file the user gives: "code name" / "name:code" text such as OSO's
 * nomenclature.txt, a CSV code,name, a QGIS .qml style), and the codes that are not classes
 * (no data, cloud). It reads no raster: the caller hands it the category names.
 */
#ifndef INSITU_CLASSES_H
#define INSITU_CLASSES_H

#include <stddef.h>

#include "insitu.h"

struct class_table;

/* An empty table; NULL when out of memory. Free with class_table_free (NULL is a no-op). */
struct class_table *class_table_new(void);
void class_table_free(struct class_table *t);

/* Names code (a later name for the same code replaces the earlier one). */
int class_table_add(struct class_table *t, double code, const char *name, insitu_error *err);
/* Marks code as not a class: pixels holding it are invalid for every statistic. */
int class_table_exclude(struct class_table *t, double code, insitu_error *err);
/* A comma list of codes that are not classes ("205,254"). Errors name the bad item. */
int class_table_exclude_list(struct class_table *t, const char *codes, insitu_error *err);
/* The names GDAL gives a band's categories (GDALGetRasterCategoryNames: index = code);
 * empty names are skipped. Returns the number of names taken. */
size_t class_table_add_categories(struct class_table *t, char **names);
/* Loads a class file: a QGIS style (.qml: paletteEntry, colorRampEntry, item value/label)
 * or text lines "code name", "code,name", "code;name", "name:code" (a line whose fields
 * hold no integer code, such as a CSV header, is skipped). Errors name the file and line. */
int class_table_load(struct class_table *t, const char *path, insitu_error *err);

/* The name of code (borrowed), or NULL when the table has none. */
const char *class_table_name(const struct class_table *t, double code);
/* 1 when code is marked not a class. */
int class_table_excluded(const struct class_table *t, double code);
/* The number of named codes. */
size_t class_table_size(const struct class_table *t);

#endif
