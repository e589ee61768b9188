/* The floor of an init: posix_spawn COMMAND, then block in wait() reaping whatever ends, and
 * exit with COMMAND's status once it has ended. No signal forwarding, no logging, nothing
 * else: one wait() per reaped child. Usage: ideal_init -- COMMAND [ARG...] (bench/pid1.py's
 * "ideal" row). */
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    int first = (argc > 1 && strcmp(argv[1], "--") == 0) ? 2 : 1;
    if (first >= argc)
        return 2;
    pid_t child;
    if (posix_spawnp(&child, argv[first], NULL, NULL, argv + first, environ) != 0)
        return 127;
    for (;;) {
        int status;
        pid_t pid = wait(&status);
        if (pid < 0)
            return 1;
        if (pid == child)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
}
