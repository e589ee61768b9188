/* The syslog benchmark's floor: binds a unix datagram socket at argv[1] and, for ever, reads a
 * datagram and writes it with a newline to stdout: one recv() and one write() a message, no
 * parsing, no time stamp. What a syslog listener that writes lines cannot do with less. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc < 2 || strlen(argv[1]) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
        fprintf(stderr, "usage: syslog_floor SOCKET\n");
        return 2;
    }
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, argv[1]);
    unlink(argv[1]);
    int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("syslog_floor: bind");
        return 1;
    }
    chmod(argv[1], 0666);
    static char buf[65536 + 1];
    for (;;) {
        ssize_t n = recv(s, buf, sizeof buf - 1, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("syslog_floor: recv");
            return 1;
        }
        buf[n] = '\n';
        for (size_t off = 0; off < (size_t)n + 1;) {
            ssize_t w = write(1, buf + off, (size_t)n + 1 - off);
            if (w < 0) {
                if (errno == EINTR)
                    continue;
                return 1;
            }
            off += (size_t)w;
        }
    }
}
