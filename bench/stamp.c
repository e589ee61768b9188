/* A benchmark service: records CLOCK_MONOTONIC (ns) and its pid in ./stamps as its first act,
 * then waits for ever. ./exit_at_once makes it exit instead; ./ignore_term makes it ignore
 * SIGTERM. It reads nothing but its working directory, so every supervisor can exec it
 * directly (runit, s6 and daemontools run it as ./run, a symlink). */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char line[64];
    int n = snprintf(line, sizeof line, "%lld %d\n",
                     (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec, (int)getpid());
    int fd = open("stamps", O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
        write(fd, line, n);
        close(fd);
    }
    if (access("exit_at_once", F_OK) == 0)
        return 0;
    if (access("ignore_term", F_OK) == 0)
        signal(SIGTERM, SIG_IGN);
    for (;;)
        pause();
}
