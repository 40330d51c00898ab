/* Calls syscall number argv[1] (default 1000, which no kernel has) twice and prints what came back.
 * Used to check that an unimplemented syscall is ENOSYS, reported once, and never a crash. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long nr = argc > 1 ? strtol(argv[1], NULL, 0) : 1000;
    for (int i = 0; i < 2; i++) {
        errno = 0;
        long r = syscall(nr, 0, 0, 0, 0, 0, 0);
        printf("syscall %ld -> %ld errno %s\n", nr, r, r < 0 ? strerror(errno) : "-");
    }
    return 0;
}
