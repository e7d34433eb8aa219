/*
 * standalone.c: a main() for a harness without libFuzzer, for `make check`: runs
 * LLVMFuzzerTestOneInput once on every file of the folders given (the harness's corpus and
 * regress/ folder) and reports each folder as a TAP line. A crash, a sanitizer report or a
 * leak (valgrind, ASan) fails the test; a folder that does not exist is not a failure, an
 * empty set of folders is. Without arguments it runs FUZZ_HOME/corpus/FUZZ_NAME and
 * FUZZ_HOME/regress/FUZZ_NAME (both defined by the build).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int read_file(const char *path, uint8_t **data, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t r; buf && (r = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += r;
        if (n == cap) {
            uint8_t *p = realloc(buf, cap *= 2);
            if (!p) {
                free(buf);
                buf = NULL;
            }
            buf = p;
        }
    }
    int bad = ferror(f) || !buf;
    fclose(f);
    if (bad) {
        free(buf);
        return -1;
    }
    *data = buf;
    *size = n;
    return 0;
}

/* Runs every regular file of dir (in name order); the count in *n; -1 when one is unreadable. */
static int run_folder(const char *dir, int *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char **names = NULL;
    size_t count = 0, cap = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        if (count == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, cap * sizeof *names);
            if (!names)
                abort();
        }
        names[count++] = strdup(e->d_name);
    }
    closedir(d);
    if (count)
        qsort(names, count, sizeof *names, by_name);
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        uint8_t *data;
        size_t size;
        if (read_file(path, &data, &size) == 0) {
            LLVMFuzzerTestOneInput(data, size);
            free(data);
            (*n)++;
        } else {
            printf("# %s: cannot read\n", path);
            rc = -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    /* without arguments: the harness's corpus and regress folders (set by the build) */
    char corpus[4096], regress[4096];
    char *dflt[] = {argv[0], corpus, regress};
    if (argc < 2) {
        snprintf(corpus, sizeof corpus, "%s/corpus/%s", FUZZ_HOME, FUZZ_NAME);
        snprintf(regress, sizeof regress, "%s/regress/%s", FUZZ_HOME, FUZZ_NAME);
        argc = 3;
        argv = dflt;
    }
    printf("1..%d\n", argc - 1);
    int total = 0, failed = 0;
    for (int i = 1; i < argc; i++) {
        int n;
        int rc = run_folder(argv[i], &n);
        total += n;
        failed |= rc != 0;
        printf("%s %d - %s: %d inputs run\n", rc ? "not ok" : "ok", i, argv[i], n);
    }
    if (!total) {
        printf("# no input found\n");
        return 1;
    }
    return failed;
}
