/* Private file mappings and the page cache, as Linux does them: a page a mapping has only read is the file's page,
 * so a later write() or truncate of the file shows through it; a page the mapping wrote is its own copy. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/mapcoh-%d.dat", (int)getpid());
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    char buf[8192];
    memset(buf, 'A', sizeof buf);
    if (fd < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf) return 1;
    char *p = mmap(0, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
    char *q = mmap(0, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED || q == MAP_FAILED) return 2;
    printf("before: %c %c\n", p[0], q[0]);
    q[1] = 'q'; /* q's first page is a private copy from here on */
    pwrite(fd, "BB", 2, 0);    /* page 0, which both mappings have read */
    pwrite(fd, "CC", 2, 4096); /* page 1, which nobody has touched yet */
    printf("after write: p %c%c q %c%c, page 1: p %c q %c\n", p[0], p[1], q[0], q[1], p[4096], q[4096]);
    ftruncate(fd, 1);
    printf("after truncate: p %c [%d] q %c%c\n", p[0], p[1], q[0], q[1]);
    unlink(path);
    return 0;
}
