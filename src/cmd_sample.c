/*
 * cmd_sample.c: `insitu sample --product NAME RASTER...`: samples each raster (file, folder,
 * glob, or NETCDF:"file":variable) at the stored stations through the raster-sample
 * ingester, one atomic ingest per raster: an unchanged raster is skipped.
 */
#include <getopt.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <gdal.h>

#include "cli.h"
#include "raster_sample.h"
#include "util.h"

static void sample_help(void)
{
    printf("usage: insitu [--store URI] sample --product NAME [OPTIONS] RASTER...\n\n"
           "Samples rasters (GeoTIFF, COG, NetCDF, JPEG2000, anything GDAL opens) at the\n"
           "stored stations (Things with a point location) that fall inside them, and stores\n"
           "each value as an Observation of the Datastream station x variable x product.\n"
           "RASTER is a file, a folder (its rasters, recursively), a glob ('dir/*.tif') or a\n"
           "GDAL subdataset name such as NETCDF:\"file.nc\":sm. Each raster is one atomic run:\n"
           "sampling it again with the same settings and stations is skipped.\n\n"
           "  --product NAME        product name: the Sensor of the Datastreams (required)\n"
           "  --property NAME       observed property (default: the variable or band name)\n"
           "  --unit UNIT           unit (default: the band's)\n"
           "  --subdataset VAR      NetCDF/HDF variable to sample\n"
           "  --band N              band (default 1)\n"
           "  --window N            odd N: statistic of the NxN window (default 1: nearest)\n"
           "  --stat mean|median    the window statistic stored as the value (default mean)\n"
           "  --min-valid N         window pixels needed for a value (default 1)\n"
           "  --bilinear            bilinear interpolation of the 4 nearest pixel centres\n"
           "  --nodata V --scale A --offset B   override the band's metadata\n"
           "  --mask RASTER         quality mask on the same CRS; --mask-bits BITS marks a\n"
           "                        pixel bad when (mask & BITS) != 0 (default: mask != 0)\n"
           "  --mask-band N         band of the mask (default 1)\n"
           "  --assume-crs CRS      CRS of rasters that declare none (e.g. EPSG:4326)\n"
           "  --date ISO            acquisition time, instead of metadata or file name\n"
           "  --date-pattern PAT    the date in the file names, strftime-like (e.g. %%Y%%j)\n"
           "  --time-var VAR        per-pixel time variable (default t0 when present; none)\n"
           "  --thing ID|NAME       sample only this station (repeatable)\n"
           "  --bbox W,S,E,N        sample only the stations inside this box\n"
           "  --force               sample again even when nothing changed\n"
           "  --dry-run             sample and validate, write nothing\n");
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

/* Option -> setting name, for the options that are plain settings. */
struct opt_setting {
    int code;
    const char *setting;
};

int cmd_sample(struct cli *cli, int argc, char **argv)
{
    enum { O_BASE = 256, O_FORCE = 300, O_DRY, O_THING, O_BILINEAR };
    static const struct opt_setting plain[] = {
        {O_BASE + 0, "product"},   {O_BASE + 1, "property"},     {O_BASE + 2, "unit"},
        {O_BASE + 3, "subdataset"}, {O_BASE + 4, "band"},        {O_BASE + 5, "window"},
        {O_BASE + 6, "stat"},      {O_BASE + 7, "min_valid"},    {O_BASE + 8, "nodata"},
        {O_BASE + 9, "scale"},     {O_BASE + 10, "offset"},      {O_BASE + 11, "mask"},
        {O_BASE + 12, "mask_bits"}, {O_BASE + 13, "mask_band"},  {O_BASE + 14, "assume_crs"},
        {O_BASE + 15, "date"},     {O_BASE + 16, "date_pattern"}, {O_BASE + 17, "time_var"},
        {O_BASE + 18, "bbox"},     {O_BASE + 19, "definition"},  {O_BASE + 20, "namespace"},
    };
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {"product", required_argument, NULL, O_BASE + 0},
        {"property", required_argument, NULL, O_BASE + 1},
        {"unit", required_argument, NULL, O_BASE + 2},
        {"subdataset", required_argument, NULL, O_BASE + 3},
        {"band", required_argument, NULL, O_BASE + 4},
        {"window", required_argument, NULL, O_BASE + 5},
        {"stat", required_argument, NULL, O_BASE + 6},
        {"min-valid", required_argument, NULL, O_BASE + 7},
        {"nodata", required_argument, NULL, O_BASE + 8},
        {"scale", required_argument, NULL, O_BASE + 9},
        {"offset", required_argument, NULL, O_BASE + 10},
        {"mask", required_argument, NULL, O_BASE + 11},
        {"mask-bits", required_argument, NULL, O_BASE + 12},
        {"mask-band", required_argument, NULL, O_BASE + 13},
        {"assume-crs", required_argument, NULL, O_BASE + 14},
        {"date", required_argument, NULL, O_BASE + 15},
        {"date-pattern", required_argument, NULL, O_BASE + 16},
        {"time-var", required_argument, NULL, O_BASE + 17},
        {"bbox", required_argument, NULL, O_BASE + 18},
        {"definition", required_argument, NULL, O_BASE + 19},
        {"namespace", required_argument, NULL, O_BASE + 20},
        {"thing", required_argument, NULL, O_THING},
        {"bilinear", no_argument, NULL, O_BILINEAR},
        {"force", no_argument, NULL, O_FORCE},
        {"dry-run", no_argument, NULL, O_DRY},
        {NULL, 0, NULL, 0}};
    struct strlist set = {0};
    struct strbuf things = {0};
    struct targets ts = {0};
    insitu_ingest_options o = {0};
    const char *product = NULL, *bbox = NULL;
    int c, rc = EXIT_OK;
    while (rc == EXIT_OK && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'h') {
            sample_help();
            goto done;
        } else if (c == O_FORCE) {
            o.force = 1;
        } else if (c == O_DRY) {
            o.dry_run = 1;
        } else if (c == O_THING) {
            sb_printf(&things, "%s%s", things.len ? "," : "", optarg);
        } else if (c == O_BILINEAR) {
            strlist_add(&set, "bilinear=yes");
        } else if (c >= O_BASE && c < O_BASE + (int)ARRAY_LEN(plain)) {
            strlist_addkv(&set, plain[c - O_BASE].setting, optarg);
            if (c == O_BASE + 0)
                product = optarg;
            if (c == O_BASE + 18)
                bbox = optarg;
        } else {
            rc = cli_usage("sample", "unknown option");
        }
    }
    if (rc)
        goto done;
    if (!product) {
        rc = cli_usage("sample", "--product NAME is required");
        goto done;
    }
    if (optind >= argc) {
        rc = cli_usage("sample", "no raster given");
        goto done;
    }
    if (things.len)
        strlist_addkv(&set, "things", sb_str(&things));
    for (int i = optind; i < argc && !rc; i++)
        rc = expand_argument(argv[i], &ts);
    if (rc)
        goto done;
    insitu_store *st;
    rc = cli_open_store(cli, INSITU_OPEN_CREATE, &st);
    if (rc)
        goto done;
    insitu_error err = {0};
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
                        "location%s (ingest stations first)\n",
                things.len || bbox ? " among those selected" : "");
        insitu_store_close(st);
        rc = EXIT_FAIL;
        goto done;
    }
    strlist_addkv(&set, "stations", digest);
    o.format = "raster-sample";
    o.warning = on_warning;
    int failed = 0, usage = 0;
    for (size_t i = 0; i < ts.n && !usage; i++) {
        struct strlist per = {0};
        for (size_t k = 0; k < set.n; k++)
            strlist_add(&per, set.items[k]);
        if (ts.v[i].subdataset)
            strlist_addkv(&per, "subdataset", ts.v[i].subdataset);
        o.settings = (const char *const *)per.items;
        insitu_ingest_report rep;
        memset(&err, 0, sizeof err);
        if (insitu_ingest(st, ts.v[i].path, &o, &rep, &err)) {
            cli_fail(&err);
            failed++;
            usage = err.code == INSITU_EUSAGE; /* the same mistake would repeat */
        } else if (!cli->quiet) {
            print_report(ts.v[i].path, &rep);
        }
        strlist_free(&per);
    }
    insitu_store_close(st);
    if (failed && ts.n > 1)
        fprintf(stderr, "insitu: %d raster%s failed (of %zu)\n", failed, failed > 1 ? "s" : "",
                ts.n);
    rc = usage ? EXIT_USAGE : failed ? EXIT_FAIL : EXIT_OK;
done:
    strlist_free(&set);
    sb_free(&things);
    targets_free(&ts);
    return rc;
}
