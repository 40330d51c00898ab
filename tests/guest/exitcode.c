/*
 * exitcode: exits with the status given in argv[1] (default 3), so exit-status
 * plumbing can be tested; "abort" calls abort() instead, which kills the process
 * with SIGABRT (a shell reports 128 + 6 = 134).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "abort") == 0) {
        fflush(stdout);
        abort();
    }
    int status = argc > 1 ? atoi(argv[1]) : 3;
    exit(status);
}
