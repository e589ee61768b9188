/* The restart floor: the least a supervisor can do. For each directory given, posix_spawn
 * STAMP there; then block in wait() and spawn again whatever died, at once. No log, no
 * backoff, no signal handling, no bookkeeping but a pid per slot. Usage: ideal STAMP DIR...
 * (bench/supervise.py runs it as the "ideal" row). */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static pid_t start(const char *stamp, const char *dir) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, dir);
    char *argv[] = {(char *)stamp, NULL};
    pid_t pid = -1;
    if (posix_spawn(&pid, stamp, &fa, NULL, argv, environ) != 0)
        pid = -1;
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

int main(int argc, char **argv) {
    if (argc < 3)
        return 2;
    int n = argc - 2;
    pid_t *pids = calloc((size_t)n, sizeof *pids);
    for (int i = 0; i < n; i++)
        pids[i] = start(argv[1], argv[i + 2]);
    for (;;) {
        pid_t dead = wait(NULL);
        if (dead < 0) {
            sleep(1);
            continue;
        }
        for (int i = 0; i < n; i++)
            if (pids[i] == dead)
                pids[i] = start(argv[1], argv[i + 2]);
    }
}
