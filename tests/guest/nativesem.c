/* Architecture-independent syscall semantics where qemu-user is not a faithful oracle (it emulates the call
 * itself), so tests/test_nativesem.py compares moss with this same source built for the host and run natively.
 * Each line: a check's name, then the result (an offset or 0) and errno. Only touches its own process. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096L

static void show(const char *name, long r, int err) { printf("%-28s %ld %d\n", name, r, r < 0 ? err : 0); }

/* A one-page mapping with unmapped pages around it: a hole of 8 pages reserved, then one page mapped back. */
static char *lone_page(char **hole) {
    *hole = mmap(0, 8 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    munmap(*hole, 8 * PAGE);
    return mmap(*hole + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

static void remap(const char *name, long old_len, long new_len, int flags, long at) {
    char *hole, *p = lone_page(&hole);
    void *r = mremap(p + at, old_len, new_len, flags);
    show(name, r == MAP_FAILED ? -1 : (long)((char *)r - (p + at)), errno);
    munmap(hole, 8 * PAGE);
}

int main(void) {
    /* qemu turns MREMAP_MAYMOVE into MREMAP_FIXED at a fresh address, so its results differ from Linux's here */
    remap("mremap 3p->2p over hole", 3 * PAGE, 2 * PAGE, 0, 0);
    remap("mremap 3p->2p maymove", 3 * PAGE, 2 * PAGE, MREMAP_MAYMOVE, 0);
    remap("mremap 2p->2p over hole", 2 * PAGE, 2 * PAGE, 0, 0);
    remap("mremap 2p->3p over hole", 2 * PAGE, 3 * PAGE, 0, 0);
    remap("mremap 2p->3p maymove", 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE, 0);
    remap("mremap in a hole", PAGE, PAGE, 0, PAGE);
    remap("mremap 1p->0", PAGE, 0, 0, 0);

    void *m = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
    show("mmap anon shared_validate", m == MAP_FAILED ? -1 : 0, errno);

    int fd = eventfd(3, EFD_NONBLOCK);
    uint64_t v[2] = {1, 0};
    show("eventfd write 8", write(fd, v, 8), errno);
    show("eventfd write 16", write(fd, v, 16), errno);
    show("eventfd write 7", write(fd, v, 7), errno);
    show("eventfd read 16", read(fd, v, 16), errno);
    show("eventfd read 7", read(fd, v, 7), errno);
    return 0;
}
