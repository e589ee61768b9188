/* The syslog benchmark's sender: connects a unix datagram socket to argv[1] and sends N
 * (argv[2]) messages as glibc's syslog(3) does: RFC 3164 with <PRI>, a time stamp and
 * TAG[PID], about 100 bytes each, with a blocking send(): a full queue holds the sender up,
 * as it holds up syslog(3). Each message carries its number (no two are the same: no
 * listener can fold repeats). Prints how long the sending took (ns) on stdout. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 3 || strlen(argv[1]) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "usage: syslog_sender SOCKET N\n");
        return 2;
    }
    long n = atol(argv[2]);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, argv[1]);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("syslog_sender: connect");
        return 1;
    }
    /* daemon.info (30), as Debian's cron logs a job it runs. */
    static const char head[] = "<30>Dec  5 19:00:00 cron[123]: (root) CMD (run-parts /etc/cron.hourly) #";
    char msg[128];
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        int len = snprintf(msg, sizeof msg, "%s%08ld padding to 100 bytes", head, i);
        if (send(s, msg, (size_t)len, 0) < 0) {
            perror("syslog_sender: send");
            return 1;
        }
    }
    printf("%lld\n", now_ns() - t0);
    return 0;
}
