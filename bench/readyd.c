/* A benchmark dependency that gets ready after a while and says so. It waits 300 ms (so that
 * its supervisor is idle, asleep in poll, when the moment comes), records CLOCK_MONOTONIC (ns)
 * in ./ready_stamps, then announces readiness one way and waits for ever:
 *   readyd fd N      a newline on descriptor N (s6's notification-fd, upkeep's ready.notify = "fd:N")
 *   readyd systemd   READY=1 to $NOTIFY_SOCKET (sd_notify)
 *   readyd tcp PORT  starts listening on 127.0.0.1:PORT (upkeep's ready.tcp) */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static void stamp(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[32];
    int n = snprintf(line, sizeof line, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    int fd = open("ready_stamps", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        write(fd, line, (size_t)n);
        close(fd);
    }
}

int main(int argc, char **argv) {
    if (argc < 2)
        return 2;
    usleep(300000);
    if (strcmp(argv[1], "fd") == 0 && argc > 2) {
        stamp();
        write(atoi(argv[2]), "\n", 1);
    } else if (strcmp(argv[1], "systemd") == 0) {
        const char *path = getenv("NOTIFY_SOCKET");
        int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        if (!path || s < 0 || strlen(path) >= sizeof a.sun_path)
            return 1;
        strcpy(a.sun_path, path);
        stamp();
        sendto(s, "READY=1", 7, 0, (struct sockaddr *)&a, sizeof a);
    } else if (strcmp(argv[1], "tcp") == 0 && argc > 2) {
        int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int one = 1;
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(s, (struct sockaddr *)&a, sizeof a) != 0)
            return 1;
        stamp();
        listen(s, 128);
    } else {
        return 2;
    }
    for (;;)
        pause();
}
