/* The floor of "dependency ready -> dependent started": spawn DEP with a pipe's write end as
 * its fd 3, block in read() until it writes a newline, then posix_spawn STAMP in DIR. Nothing
 * else. Usage: ideal_ready DEP_DIR DEP STAMP_DIR STAMP (DEP is run as "DEP fd 3"). */
#define _GNU_SOURCE /* posix_spawn_file_actions_addchdir_np */
#include <fcntl.h>
#include <spawn.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv) {
    if (argc < 5)
        return 2;
    int p[2];
    /* Close-on-exec: the child keeps only the dup on fd 3 (here p is {3, 4}). */
    if (pipe2(p, O_CLOEXEC) != 0 || p[1] == 3)
        return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, argv[1]);
    posix_spawn_file_actions_adddup2(&fa, p[1], 3);
    char *dep[] = {argv[2], "fd", "3", NULL};
    pid_t pid;
    if (posix_spawn(&pid, argv[2], &fa, NULL, dep, environ) != 0)
        return 1;
    close(p[1]);
    char c;
    while (read(p[0], &c, 1) == 1 && c != '\n')
        ;
    posix_spawn_file_actions_t fb;
    posix_spawn_file_actions_init(&fb);
    posix_spawn_file_actions_addchdir_np(&fb, argv[3]);
    char *web[] = {argv[4], NULL};
    posix_spawn(&pid, argv[4], &fb, NULL, web, environ);
    for (;;)
        pause();
}
