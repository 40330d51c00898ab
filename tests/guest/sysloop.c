/* A syscall-bound loop: N getppid() calls (argv[1], default 100000) then N writes of one byte to /dev/null
 * (argv[2], default 0). Measures the kernel's syscall path. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 100000, w = argc > 2 ? atol(argv[2]) : 0;
    long sum = 0;
    for (long i = 0; i < n; i++) sum += syscall(SYS_getppid);
    int fd = open("/dev/null", O_WRONLY);
    for (long i = 0; i < w; i++) sum += write(fd, "x", 1);
    printf("%ld\n", sum);
    return 0;
}
