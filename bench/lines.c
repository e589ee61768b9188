/* A benchmark generator: writes N lines of 100 bytes (99 characters and a newline) to stdout
 * as fast as it can, in 64 KiB writes, then records in the file named by its second argument
 * how long that took (ns): how long the logger behind the pipe held it up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000000;
    char buf[65500];
    const int per = sizeof buf / 100;
    for (int i = 0; i < per; i++) {
        memset(buf + i * 100, 'a' + i % 26, 99);
        buf[i * 100 + 99] = '\n';
    }
    long long t0 = now_ns();
    for (long done = 0; done < n;) {
        long k = n - done < per ? n - done : per;
        size_t len = (size_t)k * 100, off = 0;
        while (off < len) {
            ssize_t w = write(1, buf + off, len - off);
            if (w < 0)
                return 1;
            off += (size_t)w;
        }
        done += k;
    }
    long long t1 = now_ns();
    if (argc > 2) {
        FILE *f = fopen(argv[2], "w");
        if (f) {
            fprintf(f, "%lld\n", t1 - t0);
            fclose(f);
        }
    }
    return 0;
}
