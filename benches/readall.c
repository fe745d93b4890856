/* The synthetic workload: reads every file of directory argv[1] (one level), prints the byte
 * count. One command, N inputs: `dry check` on it measures the no-op check at scale. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: readall DIR\n"); return 2; }
    DIR *d = opendir(argv[1]);
    if (d == NULL) { perror(argv[1]); return 1; }
    char path[4096], buf[65536];
    unsigned long long files = 0, bytes = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", argv[1], e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) { perror(path); return 1; }
        ssize_t n;
        while ((n = read(fd, buf, sizeof buf)) > 0) bytes += (unsigned long long)n;
        close(fd);
        files++;
    }
    closedir(d);
    printf("%llu files, %llu bytes\n", files, bytes);
    return 0;
}
