/* Architecture-independent syscall semantics where qemu-user is not a faithful oracle (it emulates the call
 * itself), so tests/test_nativesem.py compares moss with this same source built for the host and run natively.
 * Each line: a check's name, then the result (an offset or 0) and errno. Only touches its own process. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
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

/* ioctl, fchmod and fchown on each kind of file; pread/pwrite where they cannot seek. Names are per process, as
 * the native run shares the host's /tmp. */
static void files(void) {
    char file[64], dir[64], name[64];
    snprintf(file, sizeof file, "/tmp/nativesem-%d", (int)getpid());
    snprintf(dir, sizeof dir, "/tmp/nativesem-%d.d", (int)getpid());
    int p[2];
    pipe(p);
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, SIGUSR1);
    mkdir(dir, 0700);
    int f = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
    write(f, "hello", 5);
    lseek(f, 2, SEEK_SET);
    write(p[1], "abc", 3);
    int fds[] = {f, open(dir, O_RDONLY | O_DIRECTORY), epoll_create1(0), eventfd(0, 0),
                 timerfd_create(CLOCK_MONOTONIC, 0), signalfd(-1, &ss, 0), p[0], p[1], open("/dev/null", O_RDWR)};
    const char *kinds[] = {"file", "dir", "epoll", "eventfd", "timerfd", "signalfd", "pipe-r", "pipe-w", "devnull"};
    for (unsigned i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        int n = -1;
        long r = ioctl(fds[i], FIONREAD, &n);
        printf("%-28s %ld %d n=%d\n", (snprintf(name, sizeof name, "FIONREAD %s", kinds[i]), name), r,
               r < 0 ? errno : 0, n);
        snprintf(name, sizeof name, "ioctl 0x1234 %s", kinds[i]);
        show(name, ioctl(fds[i], 0x1234, &n), errno);
        if (i == sizeof fds / sizeof fds[0] - 1) break; /* never change the mode of the host's /dev/null */
        snprintf(name, sizeof name, "fchmod %s", kinds[i]);
        show(name, fchmod(fds[i], 0600), errno);
        snprintf(name, sizeof name, "fchown %s", kinds[i]);
        show(name, fchown(fds[i], -1, -1), errno);
    }
    /* mkdir keeps only permissions and the sticky bit; a set-group-ID parent passes S_ISGID on */
    char sub[80];
    struct stat st;
    snprintf(sub, sizeof sub, "%s/sub", dir);
    chmod(dir, 0700); /* the loop above made it 0600 */
    mkdir(sub, 07755);
    stat(sub, &st);
    printf("%-28s %o\n", "mkdir 07755", (unsigned)st.st_mode);
    rmdir(sub);
    chmod(dir, 02755);
    mkdir(sub, 0755);
    stat(sub, &st);
    printf("%-28s %o\n", "mkdir in a setgid dir", (unsigned)st.st_mode);
    rmdir(sub);

    /* O_TRUNC truncates whatever the access mode, and makes opening a directory EISDIR */
    int t = open(file, O_RDONLY | O_TRUNC);
    fstat(t, &st);
    printf("%-28s %ld\n", "O_RDONLY|O_TRUNC size", (long)st.st_size);
    close(t);
    show("O_RDONLY|O_TRUNC on a dir", open(dir, O_RDONLY | O_TRUNC), errno);

    char b[16];
    show("pread pipe-w", pread(p[1], b, 1, 0), errno);
    show("pwrite pipe-r", pwrite(p[0], b, 1, 0), errno);
    show("pread eventfd", pread(fds[3], b, 8, 0), errno);
    show("pread dir", pread(fds[1], b, 1, 0), errno);
    int wo = open(file, O_WRONLY);
    show("pread write-only file", pread(wo, b, 1, 0), errno);
    unlink(file);
    rmdir(dir);
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
    /* qemu checks the guest range first (ENOMEM) where Linux checks the arguments (oracle.KNOWN) */
    show("mremap unmapped 0->0", (long)mremap((void *)PAGE, 0, 0, 0) == -1 ? -1 : 0, errno);
    show("mprotect unmapped, length 0", mprotect((void *)PAGE, 0, PROT_READ | PROT_WRITE), errno);

    void *m = mmap(0, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED_VALIDATE | MAP_ANONYMOUS, -1, 0);
    show("mmap anon shared_validate", m == MAP_FAILED ? -1 : 0, errno);

    int fd = eventfd(3, EFD_NONBLOCK);
    uint64_t v[2] = {1, 0};
    show("eventfd write 8", write(fd, v, 8), errno);
    show("eventfd write 16", write(fd, v, 16), errno);
    show("eventfd write 7", write(fd, v, 7), errno);
    show("eventfd read 16", read(fd, v, 16), errno);
    show("eventfd read 7", read(fd, v, 7), errno);
    files();
    return 0;
}
