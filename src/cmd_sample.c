/*
 * cmd_sample.c: `insitu sample --product NAME RASTER...`: samples each raster (file, folder,
 * glob, or NETCDF:"file":variable) at the stored stations through the raster-sample
 * ingester, one atomic ingest per raster: an unchanged raster is skipped.
 */
#include <glob.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gdal.h>

#include "cli.h"
#include "raster_sample.h"
#include "util.h"

enum { O_SETTING = 1, O_PRODUCT, O_BBOX, O_THING, O_FORCE, O_DRY };

/* Most options are settings of the raster-sample ingester: their `setting` names it, and
 * the ingester's check of a setting is said in the words of its option. */
static const struct cli_option sample_options[] = {
    {.name = "product", .code = O_PRODUCT, .arg = "NAME",
     .help = "product name: the Sensor of the Datastreams (required)", .setting = "product"},
    {.name = "property", .code = O_SETTING, .arg = "NAME",
     .help = "observed property (default: the variable or band name)", .setting = "property"},
    {.name = "definition", .code = O_SETTING, .arg = "URI",
     .help = "observed property definition (default: raster:PRODUCT/PROPERTY)",
     .setting = "definition"},
    {.name = "unit", .code = O_SETTING, .arg = "UNIT", .help = "unit (default: the band's)",
     .setting = "unit"},
    {.name = "namespace", .code = O_SETTING, .arg = "NS",
     .help = "namespace of the product Sensor (default: raster)", .setting = "namespace"},
    {.name = "subdataset", .code = O_SETTING, .arg = "VAR", .help = "NetCDF/HDF variable to sample",
     .setting = "subdataset"},
    {.name = "band", .code = O_SETTING, .arg = "N", .help = "band (default 1)", .setting = "band"},
    {.name = "bands", .code = O_SETTING, .arg = "all|N,N...",
     .help = "several bands in one read: one Datastream per band,\n"
             "named from the band's description, else \"band N\"", .setting = "bands"},
    {.name = "period", .code = O_SETTING, .arg = "SPEC",
     .help = "what a value holds for: auto (from the file name), none,\n"
             "P1D, P1M, P1Y, hydro-year, a duration or START/END", .setting = "period"},
    {.name = "window", .code = O_SETTING, .arg = "N",
     .help = "odd N: statistic of the NxN window (default 1: nearest)", .setting = "window"},
    {.name = "stat", .code = O_SETTING, .arg = "STAT",
     .help = "the statistic stored: mean (default), median, count, min,\n"
             "max, std, majority, fractions, valid_share", .setting = "stat"},
    {.name = "coverage", .code = O_SETTING, .arg = "weighted|centre",
     .help = "polygons: pixels weigh their area inside (default) or 1\n"
             "when their centre is inside", .setting = "coverage"},
    {.name = "classes", .code = O_SETTING, .arg = "FILE",
     .help = "class names: 'code name' lines, CSV code,name or QGIS .qml", .setting = "classes"},
    {.name = "not-class", .code = O_SETTING, .arg = "CODES",
     .help = "codes that are no class (no data, cloud): 205,254", .setting = "not_class"},
    {.name = "min-valid", .code = O_SETTING, .arg = "N",
     .help = "window pixels needed for a value (default 1)", .setting = "min_valid"},
    {.name = "bilinear", .code = O_SETTING,
     .help = "bilinear interpolation of the 4 nearest pixel centres", .setting = "bilinear"},
    {.name = "nodata", .code = O_SETTING, .arg = "V", .help = "override the band's nodata value",
     .setting = "nodata"},
    {.name = "scale", .code = O_SETTING, .arg = "A",
     .help = "override the band's scale: value = stored * A + B", .setting = "scale"},
    {.name = "offset", .code = O_SETTING, .arg = "B", .help = "override the band's offset",
     .setting = "offset"},
    {.name = "mask", .code = O_SETTING, .arg = "RASTER",
     .help = "quality mask on the same CRS: a pixel is bad where the\n"
             "mask is not 0", .setting = "mask"},
    {.name = "mask-bits", .code = O_SETTING, .arg = "BITS",
     .help = "with --mask: a pixel is bad when (mask & BITS) != 0", .setting = "mask_bits"},
    {.name = "mask-band", .code = O_SETTING, .arg = "N", .help = "band of the mask (default 1)",
     .setting = "mask_band"},
    {.name = "assume-crs", .code = O_SETTING, .arg = "CRS",
     .help = "CRS of rasters that declare none (e.g. EPSG:4326)", .setting = "assume_crs"},
    {.name = "date", .code = O_SETTING, .arg = "ISO",
     .help = "acquisition time, instead of metadata or file name", .setting = "date"},
    {.name = "date-pattern", .code = O_SETTING, .arg = "PAT",
     .help = "the date in the file names, strftime-like (e.g. %Y%j)", .setting = "date_pattern"},
    {.name = "time-var", .code = O_SETTING, .arg = "VAR",
     .help = "per-pixel time variable (default t0 when present; none)", .setting = "time_var"},
    {.name = "thing", .code = O_THING, .arg = "ID|NAME",
     .help = "sample only this station (repeatable)"},
    {.name = "bbox", .code = O_BBOX, .arg = "W,S,E,N",
     .help = "sample only the stations inside this box", .setting = "bbox"},
    {.name = "force", .code = O_FORCE, .help = "sample again even when nothing changed"},
    {.name = "dry-run", .code = O_DRY, .help = "sample and validate, write nothing"},
    {NULL}};

static void sample_help(void)
{
    printf("usage: insitu [--store URI] sample --product NAME [OPTIONS] RASTER...\n\n"
           "Samples rasters (GeoTIFF, COG, NetCDF, JPEG2000, anything GDAL opens) at the\n"
           "stored stations (Things with a point location) that fall inside them, and over\n"
           "the polygon Things (lakes, catchments) that reach them (zonal statistics), and\n"
           "stores each value as an Observation of the Datastream thing x variable x product.\n"
           "RASTER is a file, a folder (its rasters, recursively), a glob ('dir/*.tif'), a\n"
           "GDAL subdataset name such as NETCDF:\"file.nc\":sm, or an http(s) URL, read in place\n"
           "with range requests (a Cloud-Optimised GeoTIFF). Each raster is one atomic run:\n"
           "sampling it again with the same settings and stations is skipped. A raster that\n"
           "covers none of the stations is left out with a warning; when no raster covers\n"
           "any, the command fails (exit 1).\n\n");
    cli_print_options(stdout, sample_options);
}

/* A raster to sample: a file and, for DRIVER:"file":var names, the variable. */
struct target {
    char *path, *subdataset;
};

/* Splits NETCDF:"file.nc":sm (or NETCDF:file.nc:sm) into file and variable. */
static int split_gdal_name(const char *arg, struct target *t)
{
    const char *colon = strchr(arg, ':');
    if (!colon || colon == arg)
        return -1;
    const char *rest = colon + 1, *end;
    struct strbuf path = {0};
    if (*rest == '"') {
        end = strchr(rest + 1, '"');
        if (!end || end[1] != ':')
            return -1;
        sb_append(&path, rest + 1, (size_t)(end - rest - 1));
        end++;
    } else {
        end = strrchr(rest, ':');
        if (!end)
            return -1;
        sb_append(&path, rest, (size_t)(end - rest));
    }
    struct stat sb;
    if (stat(sb_str(&path), &sb) != 0) {
        sb_free(&path);
        return -1;
    }
    t->path = path.data;
    t->subdataset = xstrdup(end + 1);
    return 0;
}

struct targets {
    struct target *v;
    size_t n, cap;
};

static int targets_add(struct targets *ts, const char *path, const char *sub)
{
    if (ts->n == ts->cap) {
        size_t cap = ts->cap ? ts->cap * 2 : 16;
        struct target *p = realloc(ts->v, cap * sizeof *p);
        if (!p)
            return -1;
        ts->v = p;
        ts->cap = cap;
    }
    ts->v[ts->n].path = xstrdup(path);
    ts->v[ts->n].subdataset = sub ? xstrdup(sub) : NULL;
    ts->n++;
    return 0;
}

static void targets_free(struct targets *ts)
{
    for (size_t i = 0; i < ts->n; i++) {
        free(ts->v[i].path);
        free(ts->v[i].subdataset);
    }
    free(ts->v);
}

/* The rasters of a folder: its files that a GDAL driver recognises, sorted. */
static int expand_folder(const char *dir, struct targets *ts)
{
    insitu_error err = {0};
    char **files;
    size_t n;
    if (insitu_ingest_expand(dir, "raster-sample", &files, &n, &err))
        return cli_fail(&err);
    GDALAllRegister();
    for (size_t i = 0; i < n; i++)
        if (!str_has_suffix_ci(files[i], ".aux.xml") && GDALIdentifyDriver(files[i], NULL))
            targets_add(ts, files[i], NULL);
    insitu_ingest_expand_free(files, n);
    return EXIT_OK;
}

static int expand_argument(const char *arg, struct targets *ts)
{
    if (strncmp(arg, "http://", 7) == 0 || strncmp(arg, "https://", 8) == 0)
        return targets_add(ts, arg, NULL); /* read in place (a COG): range requests */
    struct stat sb;
    if (stat(arg, &sb) == 0)
        return S_ISDIR(sb.st_mode) ? expand_folder(arg, ts) : targets_add(ts, arg, NULL);
    struct target t;
    if (split_gdal_name(arg, &t) == 0) {
        targets_add(ts, t.path, t.subdataset);
        free(t.path);
        free(t.subdataset);
        return EXIT_OK;
    }
    if (strpbrk(arg, "*?[")) {
        glob_t g;
        int rc = glob(arg, 0, NULL, &g);
        if (rc == 0) {
            for (size_t i = 0; i < g.gl_pathc; i++)
                targets_add(ts, g.gl_pathv[i], NULL);
            globfree(&g);
            return EXIT_OK;
        }
        globfree(&g);
        fprintf(stderr, "insitu: %s: no file matches\n", arg);
        return EXIT_FAIL;
    }
    fprintf(stderr, "insitu: %s: no such file, folder or subdataset\n", arg);
    return EXIT_FAIL;
}

static void on_warning(void *ctx, const char *message)
{
    (void)ctx;
    fprintf(stderr, "insitu: warning: %s\n", message);
}

static void print_report(const char *raster, const insitu_ingest_report *r)
{
    if (strcmp(r->status, "skipped") == 0) {
        printf("skipped %s: %s\n", raster, r->message);
        return;
    }
    printf("%s %s: %llu station%s, %llu missing, %llu datastream%s (%llu inserted, %llu "
           "updated, %llu deleted) in %.2f s",
           strcmp(r->status, "validated") == 0 ? "validated" : "sampled", raster,
           (unsigned long long)r->observations, r->observations == 1 ? "" : "s",
           (unsigned long long)r->nulls, (unsigned long long)r->datastreams,
           r->datastreams == 1 ? "" : "s", (unsigned long long)r->inserted,
           (unsigned long long)r->updated, (unsigned long long)r->deleted, r->seconds);
    if (r->run_id)
        printf(", run %lld", (long long)r->run_id);
    if (r->message[0])
        printf(", %s", r->message);
    printf("\n");
}

/* A setting that the ingester refuses, said in the words of its option. */
static int bad_setting(const struct raster_sample_bad *bad, const insitu_error *err)
{
    const struct cli_option *o = cli_option_of_setting(sample_options, bad->key);
    if (!o)
        return cli_usage("sample", "%s", err->message);
    if (!o->arg)
        return cli_usage("sample", "--%s: %s", o->name, bad->cause);
    return cli_usage("sample", "--%s %s: %s", o->name, bad->value, bad->cause);
}

/* W,S,E,N in degrees, for messages. */
static const char *box_text(const double box[4], char *buf, size_t size)
{
    snprintf(buf, size, "%.3f,%.3f,%.3f,%.3f", box[0], box[1], box[2], box[3]);
    return buf;
}

/* What the rasters sampled, for the summary. */
struct tally {
    int sampled, empty, failed; /* rasters */
    double footprint[4];        /* of the empty ones, together */
};

/* Samples one raster and says how it went; INSITU_EUSAGE only for a mistake that would
 * repeat for every raster. */
static int sample_one(insitu_store *st, struct cli *cli, const struct target *t,
                      const struct strlist *set, insitu_ingest_options *o, struct tally *n)
{
    struct strlist per = {0};
    for (size_t k = 0; k < set->n; k++)
        strlist_add(&per, set->items[k]);
    if (t->subdataset)
        strlist_addkv(&per, "subdataset", t->subdataset);
    o->settings = (const char *const *)per.items;
    insitu_ingest_report rep;
    insitu_error err = {0};
    int rc = insitu_ingest(st, t->path, o, &rep, &err);
    strlist_free(&per);
    char box[128];
    if (rc) {
        cli_fail(&err);
        n->failed++;
    } else if (strcmp(rep.status, "empty") == 0) {
        fprintf(stderr, "insitu: warning: %s: %s (footprint %s)\n", t->path, rep.message,
                box_text(rep.footprint, box, sizeof box));
        for (int k = 0; k < 2; k++) {
            n->footprint[k] = fmin(n->footprint[k], rep.footprint[k]);
            n->footprint[k + 2] = fmax(n->footprint[k + 2], rep.footprint[k + 2]);
        }
        n->empty++;
    } else {
        if (!cli->quiet)
            print_report(t->path, &rep);
        n->sampled++;
    }
    return rc == INSITU_EUSAGE ? rc : 0;
}

/* Says what failed, and why nothing was sampled when no raster covered a station; returns
 * the exit status. */
static int summary(const struct tally *n, size_t n_rasters, size_t n_stations,
                   const double extent[4])
{
    if (n->failed && n_rasters > 1)
        fprintf(stderr, "insitu: %d raster%s failed (of %zu)\n", n->failed,
                n->failed > 1 ? "s" : "", n_rasters);
    if (!n->sampled && n->empty) {
        char fp[128], box[128];
        fprintf(stderr,
                "insitu: nothing sampled: no station lies inside the rasters (%d raster%s, "
                "footprint %s; %zu station%s, extent %s); check the rasters' CRS (--assume-crs "
                "for those that declare none) and the selection (the product's rasters, "
                "--thing, --bbox)\n",
                n->empty, n->empty > 1 ? "s" : "", box_text(n->footprint, fp, sizeof fp),
                n_stations, n_stations > 1 ? "s" : "", box_text(extent, box, sizeof box));
    }
    return n->failed || !n->sampled ? EXIT_FAIL : EXIT_OK;
}

int cmd_sample(struct cli *cli, int argc, char **argv)
{
    static const struct cli_option *const tables[] = {sample_options, NULL};
    struct cli_args a = {.cmd = "sample", .tables = tables, .argc = argc, .argv = argv};
    struct strlist set = {0};
    struct strbuf things = {0};
    struct targets ts = {0};
    insitu_ingest_options o = {0};
    const char *product = NULL, *bbox = NULL;
    int c, rc = EXIT_OK;
    while ((c = cli_getopt(&a)) > 0) {
        if (a.opt->setting)
            strlist_addkv(&set, a.opt->setting, a.arg ? a.arg : "yes");
        switch (c) {
        case O_PRODUCT: product = a.arg; break;
        case O_BBOX: bbox = a.arg; break;
        case O_THING: sb_printf(&things, "%s%s", things.len ? "," : "", a.arg); break;
        case O_FORCE: o.force = 1; break;
        case O_DRY: o.dry_run = 1; break;
        }
    }
    if (c == CLI_HELP) {
        sample_help();
        goto done;
    }
    if (c == CLI_BAD) {
        rc = EXIT_USAGE;
        goto done;
    }
    if (!product) {
        rc = cli_usage("sample", "--product NAME is required");
        goto done;
    }
    if (optind >= argc) {
        rc = cli_usage("sample", "no raster given");
        goto done;
    }
    insitu_error err = {0};
    struct raster_sample_bad bad;
    if (raster_sample_check((const char *const *)set.items, &bad, &err)) {
        rc = bad_setting(&bad, &err);
        goto done;
    }
    if (things.len)
        strlist_addkv(&set, "things", sb_str(&things));
    for (int i = optind; i < argc && !rc; i++)
        rc = expand_argument(argv[i], &ts);
    if (!rc && !ts.n) {
        fprintf(stderr, "insitu: no raster to sample: no file given is one GDAL recognises\n");
        rc = EXIT_FAIL;
    }
    if (rc)
        goto done;
    insitu_store *st;
    rc = cli_open_store(cli, 0, &st); /* sampling needs stations: a store that exists */
    if (rc)
        goto done;
    char digest[65];
    size_t n_stations = 0;
    double extent[4];
    if (raster_sample_stations_digest(st, things.len ? sb_str(&things) : NULL, bbox, digest,
                                      &n_stations, extent, &err)) {
        rc = cli_fail(&err);
        insitu_store_close(st);
        goto done;
    }
    if (!n_stations) {
        fprintf(stderr, "insitu: no station to sample: the store has no Thing with a point "
                        "or polygon location%s (ingest stations first)\n",
                things.len || bbox ? " among those selected" : "");
        insitu_store_close(st);
        rc = EXIT_FAIL;
        goto done;
    }
    strlist_addkv(&set, "stations", digest);
    o.format = "raster-sample";
    o.in_place = 1; /* URLs */
    o.warning = on_warning;
    struct tally n = {.footprint = {INFINITY, INFINITY, -INFINITY, -INFINITY}};
    int usage = 0;
    for (size_t i = 0; i < ts.n && !usage; i++)
        usage = sample_one(st, cli, &ts.v[i], &set, &o, &n) == INSITU_EUSAGE;
    insitu_store_close(st);
    rc = usage ? EXIT_USAGE : summary(&n, ts.n, n_stations, extent);
done:
    strlist_free(&set);
    sb_free(&things);
    targets_free(&ts);
    return rc;
}
