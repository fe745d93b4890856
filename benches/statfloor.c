/* The kernel's floor for a no-op check of the synthetic workload: list directory argv[1] and
 * statx every entry (by absolute path argv[2]/NAME, as dry does, and relative to the directory's
 * fd). Prints the time per entry in microseconds: "readdir_us abs_us rel_us". */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: statfloor DIR ABSDIR\n"); return 2; }
    size_t cap = 1024, n = 0;
    char **names = malloc(cap * sizeof *names);
    double t0 = now();
    DIR *d = opendir(argv[1]);
    if (d == NULL) { perror(argv[1]); return 1; }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) names = realloc(names, (cap *= 2) * sizeof *names);
        names[n++] = strdup(e->d_name);
    }
    double t1 = now();
    char path[4096];
    struct statx sx;
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", argv[2], names[i]);
        statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
    }
    double t2 = now();
    for (size_t i = 0; i < n; i++) statx(dirfd(d), names[i], AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx);
    double t3 = now();
    printf("%.3f %.3f %.3f\n", (t1 - t0) / n * 1e6, (t2 - t1) / n * 1e6, (t3 - t2) / n * 1e6);
    return 0;
}
