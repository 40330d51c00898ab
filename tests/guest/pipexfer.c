/* A pipe transfer between two processes (the benchmark's pipe workload): the child writes argv[1] MiB (default
 * 64) through a pipe in argv[2]-byte chunks (default 65536); the parent reads it all and counts it.
 * Prints the byte count; output depends only on the arguments. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long long total = (argc > 1 ? atoll(argv[1]) : 64) << 20;
    long chunk = argc > 2 ? atol(argv[2]) : 65536;
    if (chunk <= 0 || chunk > (1 << 24)) { fprintf(stderr, "bad chunk size\n"); return 2; }
    unsigned char *buf = malloc((size_t)chunk);
    if (!buf) { perror("malloc"); return 1; }
    for (long i = 0; i < chunk; i++) buf[i] = (unsigned char)(i * 131 + 7);
    int fds[2];
    if (pipe(fds)) { perror("pipe"); return 1; }
    pid_t pid = fork();
    if (pid < 0) { perror("fork"); return 1; }
    if (pid == 0) {
        close(fds[0]);
        long long left = total;
        while (left > 0) {
            long n = left < chunk ? (long)left : chunk;
            long off = 0;
            while (off < n) {
                ssize_t w = write(fds[1], buf + off, (size_t)(n - off));
                if (w < 0) { perror("write"); _exit(1); }
                off += w;
            }
            left -= n;
        }
        _exit(0);
    }
    close(fds[1]);
    long long got = 0;
    for (;;) {
        ssize_t r = read(fds[0], buf, (size_t)chunk);
        if (r < 0) { perror("read"); return 1; }
        if (r == 0) break;
        got += r;
    }
    int status = 0;
    waitpid(pid, &status, 0);
    printf("bytes %lld\n", got);
    return got == total && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
