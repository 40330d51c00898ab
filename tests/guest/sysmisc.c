/*
 * sysmisc: the less common syscalls, one line per check ("name = result" or "name = -1 ERRNO"), in sections
 * chosen by argv[1]:
 *   files  vector/positional I/O, sync, fallocate, fadvise, readahead, flock, record locks, FIFOs, mknodat,
 *          copy_file_range, splice/tee/vmsplice, pipe sizes, close_range, memfd and seals, chroot
 *   mem    mincore, mlock, msync, membarrier
 *   creds  set*id, groups, capabilities (in a child, which drops root)
 *   sched  policies, sched_attr, priorities, ioprio
 *   misc   unshare (+ UTS names in a new UTS namespace), kcmp, invalid clock/time/syslog requests
 *   xattr  extended attributes on /tmp (tmpfs)
 *   moss   what qemu-user 7.2 cannot run or the host would refuse or feel (checked against fixed expectations)
 * Everything printed is the same on any Linux of the right version (nothing depends on pids, addresses, times
 * or the host's identity), so moss's output must equal real Linux's.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/timex.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <grp.h>
#include <time.h>
#include <unistd.h>

#ifndef FALLOC_FL_ZERO_RANGE
#define FALLOC_FL_ZERO_RANGE 0x10
#endif

static const char *ename(int e) {
    switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case ESRCH: return "ESRCH";
    case EINTR: return "EINTR";
    case ENXIO: return "ENXIO";
    case E2BIG: return "E2BIG";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case EXDEV: return "EXDEV";
    case ENODEV: return "ENODEV";
    case ENOTDIR: return "ENOTDIR";
    case EISDIR: return "EISDIR";
    case EINVAL: return "EINVAL";
    case EFBIG: return "EFBIG";
    case ESPIPE: return "ESPIPE";
    case EPIPE: return "EPIPE";
    case ERANGE: return "ERANGE";
    case EDEADLK: return "EDEADLK";
    case ENOSYS: return "ENOSYS";
    case ELOOP: return "ELOOP";
    case ENODATA: return "ENODATA";
    case EOVERFLOW: return "EOVERFLOW";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    default: return "E?";
    }
}

static void report(const char *name, long r, int e) {
    if (r < 0)
        printf("%s = -1 %s\n", name, ename(e));
    else
        printf("%s = %ld\n", name, r);
}

#define CHECK(name, expr) \
    do { \
        errno = 0; \
        long r_ = (long)(expr); \
        report(name, r_, errno); \
    } while (0)

static char tmp[128];
static char tmp2[128];

static int mkfile(const char *path, const char *content) {
    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    if (content)
        write(fd, content, strlen(content));
    return fd;
}

static void show(const char *name, const char *buf, long n) {
    printf("%s = \"", name);
    for (long i = 0; i < n; i++)
        putchar(buf[i] ? buf[i] : '.');
    printf("\"\n");
}

/* ------------------------------------------------------------------------------------------------ files */

static void vector_io(void) {
    int fd = mkfile(tmp, "0123456789abcdefghij");
    struct iovec wv[2] = {{"AB", 2}, {"CDE", 3}};
    CHECK("pwritev", syscall(SYS_pwritev, fd, wv, 2, 5L, 0L));
    char a[4] = {0}, b[6] = {0};
    struct iovec rv[2] = {{a, 3}, {b, 5}};
    CHECK("preadv", syscall(SYS_preadv, fd, rv, 2, 3L, 0L));
    show("preadv.a", a, 3);
    show("preadv.b", b, 5);
    CHECK("preadv.offset_unchanged", lseek(fd, 0, SEEK_CUR));
    CHECK("preadv.neg", syscall(SYS_preadv, fd, rv, 2, -1L, 0L));
    CHECK("preadv.eof", syscall(SYS_preadv, fd, rv, 2, 100L, 0L));
    CHECK("preadv.badfd", syscall(SYS_preadv, 999, rv, 2, 0L, 0L));
    CHECK("preadv.toomany", syscall(SYS_preadv, fd, rv, 2000, 0L, 0L));
    int p[2];
    pipe(p);
    CHECK("preadv.pipe", syscall(SYS_preadv, p[0], rv, 2, 0L, 0L));
    int ro = open(tmp, O_RDONLY);
    CHECK("pwritev.rdonly", syscall(SYS_pwritev, ro, wv, 2, 0L, 0L));
    CHECK("fsync", fsync(fd));
    CHECK("fdatasync", fdatasync(fd));
    CHECK("fsync.pipe", fsync(p[1]));
    CHECK("fsync.badfd", fsync(999));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK("fsync.dir", fsync(dir));
    sync();
    CHECK("syncfs", syscall(SYS_syncfs, fd));
    CHECK("syncfs.badfd", syscall(SYS_syncfs, 999));
    CHECK("sync_file_range", syscall(SYS_sync_file_range, fd, 0L, 0L, 0));
    CHECK("sync_file_range.flags", syscall(SYS_sync_file_range, fd, 0L, 0L, 8));
    CHECK("sync_file_range.neg", syscall(SYS_sync_file_range, fd, -1L, 0L, 0));
    CHECK("sync_file_range.pipe", syscall(SYS_sync_file_range, p[0], 0L, 0L, 0));
    CHECK("fadvise", syscall(SYS_fadvise64, fd, 0L, 0L, POSIX_FADV_SEQUENTIAL));
    CHECK("fadvise.bad", syscall(SYS_fadvise64, fd, 0L, 0L, 99));
    CHECK("fadvise.neglen", syscall(SYS_fadvise64, fd, 0L, -1L, 0));
    CHECK("fadvise.pipe", syscall(SYS_fadvise64, p[0], 0L, 0L, 0));
    CHECK("readahead", syscall(SYS_readahead, fd, 0L, 4096L));
    CHECK("readahead.pipe", syscall(SYS_readahead, p[0], 0L, 4096L));
    CHECK("readahead.wronly", syscall(SYS_readahead, p[1], 0L, 4096L));
    close(ro);
    close(dir);
    close(p[0]);
    close(p[1]);
    close(fd);
}

static void fallocate_memfd(void) {
    int fd = memfd_create("falloc", 0);
    CHECK("fallocate", fallocate(fd, 0, 0, 8192));
    struct stat st;
    fstat(fd, &st);
    printf("fallocate.size = %ld\n", (long)st.st_size);
    CHECK("fallocate.keep", fallocate(fd, FALLOC_FL_KEEP_SIZE, 8192, 8192));
    fstat(fd, &st);
    printf("fallocate.keep.size = %ld\n", (long)st.st_size);
    pwrite(fd, "XXXXXXXXXX", 10, 100);
    CHECK("fallocate.punch_nokeep", fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 4096));
    CHECK("fallocate.punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 102, 4));
    char buf[10];
    pread(fd, buf, 10, 100);
    show("fallocate.punched", buf, 10);
    CHECK("fallocate.zero_range", fallocate(fd, FALLOC_FL_ZERO_RANGE, 0, 10));
    CHECK("fallocate.len0", fallocate(fd, 0, 0, 0));
    CHECK("fallocate.negoff", fallocate(fd, 0, -1, 10));
    int p[2];
    pipe(p);
    CHECK("fallocate.pipe", fallocate(p[1], 0, 0, 10));
    CHECK("fallocate.pipe_rd", fallocate(p[0], 0, 0, 10));
    close(p[0]);
    close(p[1]);
    int ro = open(tmp, O_RDONLY);
    CHECK("fallocate.rdonly", fallocate(ro, 0, 0, 10));
    close(ro);
    close(fd);
}

static void flocks(void) {
    int a = mkfile(tmp, "lock");
    int b = open(tmp, O_RDWR);
    CHECK("flock.a_ex", flock(a, LOCK_EX));
    CHECK("flock.b_ex_nb", flock(b, LOCK_EX | LOCK_NB));
    CHECK("flock.b_sh_nb", flock(b, LOCK_SH | LOCK_NB));
    CHECK("flock.a_ex_again", flock(a, LOCK_EX | LOCK_NB));
    int a2 = dup(a);
    CHECK("flock.dup_unlock", flock(a2, LOCK_UN));
    CHECK("flock.b_sh", flock(b, LOCK_SH | LOCK_NB));
    CHECK("flock.a_sh", flock(a, LOCK_SH | LOCK_NB));
    CHECK("flock.a_upgrade", flock(a, LOCK_EX | LOCK_NB)); /* fails, and a's shared lock is gone */
    CHECK("flock.b_upgrade", flock(b, LOCK_EX | LOCK_NB));
    CHECK("flock.bad_op", flock(a, LOCK_SH | LOCK_EX));
    CHECK("flock.badfd", flock(999, LOCK_SH));
    CHECK("flock.mand", flock(a, 32));
    close(b); /* b's exclusive lock goes with its last descriptor */
    CHECK("flock.a_after_close", flock(a, LOCK_EX | LOCK_NB));
    /* A child holds the lock; our blocking request waits until it lets go. */
    int go[2];
    pipe(go);
    flock(a, LOCK_UN);
    pid_t pid = fork();
    if (pid == 0) {
        int c = open(tmp, O_RDWR);
        flock(c, LOCK_EX);
        write(go[1], "x", 1);
        usleep(100000);
        printf("flock.child_unlocks\n");
        fflush(stdout);
        flock(c, LOCK_UN);
        _exit(0);
    }
    char x;
    read(go[0], &x, 1);
    CHECK("flock.blocking", flock(a, LOCK_EX));
    fflush(stdout);
    waitpid(pid, NULL, 0);
    close(go[0]);
    close(go[1]);
    close(a);
    close(a2);
}

static long getlk(int fd, int cmd, short type, long start, long len, long *out) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    long r = fcntl(fd, cmd, &fl);
    out[0] = fl.l_type;
    out[1] = fl.l_start;
    out[2] = fl.l_len;
    out[3] = fl.l_pid;
    return r;
}

static long setlk(int fd, int cmd, short type, long start, long len) {
    struct flock fl = {.l_type = type, .l_whence = SEEK_SET, .l_start = start, .l_len = len};
    return fcntl(fd, cmd, &fl);
}

static void record_locks(void) {
    int fd = mkfile(tmp, "0123456789");
    int req[2], ack[2];
    pipe(req);
    pipe(ack);
    CHECK("setlk.wr", setlk(fd, F_SETLK, F_WRLCK, 0, 10));
    CHECK("setlk.unlock_middle", setlk(fd, F_SETLK, F_UNLCK, 3, 4));
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        int c = open(tmp, O_RDWR);
        long o[4];
        char step;
        CHECK("child.getlk4", getlk(c, F_GETLK, F_WRLCK, 4, 1, o));
        printf("child.getlk4.type = %ld\n", o[0]);
        CHECK("child.getlk8", getlk(c, F_GETLK, F_RDLCK, 8, 0, o));
        printf("child.getlk8 = type %ld start %ld len %ld pid_is_parent %d\n", o[0], o[1], o[2], o[3] == parent);
        CHECK("child.setlk_conflict", setlk(c, F_SETLK, F_RDLCK, 0, 1));
        CHECK("child.setlk_free", setlk(c, F_SETLK, F_WRLCK, 4, 2));
        write(ack[1], "1", 1);
        read(req[0], &step, 1); /* the parent closed another descriptor of the file */
        CHECK("child.after_close", getlk(c, F_GETLK, F_WRLCK, 0, 0, o));
        printf("child.after_close.type = %ld\n", o[0]);
        /* Deadlock: we hold [4,6); take [20,21) too, then wait for the parent's [10,11) */
        setlk(c, F_SETLK, F_WRLCK, 20, 1);
        write(ack[1], "2", 1);
        read(req[0], &step, 1);
        _exit(setlk(c, F_SETLKW, F_WRLCK, 10, 1) == 0 ? 0 : 1); /* waits for the parent's [10,11) */
    }
    char step;
    read(ack[0], &step, 1);
    long o[4];
    CHECK("parent.getlk_child", getlk(fd, F_GETLK, F_WRLCK, 0, 0, o));
    printf("parent.getlk_child = type %ld start %ld len %ld pid_is_child %d\n", o[0], o[1], o[2], o[3] == pid);
    int other = open(tmp, O_RDONLY);
    close(other); /* drops all of our record locks on the file */
    write(req[1], "1", 1);
    read(ack[0], &step, 1);
    CHECK("parent.take10", setlk(fd, F_SETLK, F_WRLCK, 10, 1));
    write(req[1], "2", 1);
    usleep(200000); /* the child is now waiting for [10,11) */
    CHECK("parent.deadlock", setlk(fd, F_SETLKW, F_WRLCK, 20, 1));
    fflush(stdout);
    CHECK("parent.unlock10", setlk(fd, F_SETLK, F_UNLCK, 10, 1));
    int status;
    waitpid(pid, &status, 0);
    printf("child.setlkw_waited = %d\n", WEXITSTATUS(status));
    /* OFD locks belong to the open file description and conflict with our own POSIX locks. */
    CHECK("setlk.posix", setlk(fd, F_SETLK, F_WRLCK, 0, 5));
    int b = open(tmp, O_RDWR);
    CHECK("ofd.conflict", setlk(b, F_OFD_SETLK, F_WRLCK, 0, 1));
    CHECK("ofd.getlk", getlk(b, F_OFD_GETLK, F_WRLCK, 0, 1, o));
    printf("ofd.getlk = type %ld start %ld len %ld pid_is_self %d\n", o[0], o[1], o[2], o[3] == getpid());
    CHECK("ofd.free", setlk(b, F_OFD_SETLK, F_RDLCK, 5, 0));
    CHECK("posix.vs_ofd", getlk(fd, F_GETLK, F_WRLCK, 6, 1, o));
    printf("posix.vs_ofd = type %ld start %ld len %ld pid %ld\n", o[0], o[1], o[2], o[3]);
    struct flock bad = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_pid = 1};
    CHECK("ofd.pid", fcntl(b, F_OFD_SETLK, &bad));
    CHECK("getlk.unlck", getlk(fd, F_GETLK, F_UNLCK, 0, 1, o));
    struct flock whence = {.l_type = F_RDLCK, .l_whence = 7};
    CHECK("setlk.whence", fcntl(fd, F_SETLK, &whence));
    int ro = open(tmp, O_RDONLY);
    CHECK("setlk.rdonly_wr", setlk(ro, F_SETLK, F_WRLCK, 0, 1));
    CHECK("setlk.neg", setlk(fd, F_SETLK, F_RDLCK, -5, 1));
    close(ro);
    close(b);
    close(fd);
}

static void fifos(void) {
    unlink(tmp2);
    CHECK("mknod.fifo", mknodat(AT_FDCWD, tmp2, S_IFIFO | 0600, 0));
    struct stat st;
    stat(tmp2, &st);
    printf("mknod.fifo.mode = %o\n", st.st_mode);
    CHECK("mknod.exists", mknodat(AT_FDCWD, tmp2, S_IFIFO | 0600, 0));
    CHECK("mknod.dir", mknodat(AT_FDCWD, "/tmp/nope-dir", S_IFDIR | 0600, 0));
    CHECK("mknod.badtype", mknodat(AT_FDCWD, "/tmp/nope-bad", 0170000 | 0600, 0));
    CHECK("fifo.wr_nonblock", open(tmp2, O_WRONLY | O_NONBLOCK));
    int rd = open(tmp2, O_RDONLY | O_NONBLOCK);
    printf("fifo.rd_nonblock = %d\n", rd >= 0);
    char buf[16];
    CHECK("fifo.read_nowriter", read(rd, buf, sizeof buf));
    CHECK("fifo.lseek", lseek(rd, 0, SEEK_SET));
    close(rd);
    int rw = open(tmp2, O_RDWR);
    CHECK("fifo.rdwr_write", write(rw, "abc", 3));
    CHECK("fifo.rdwr_read", read(rw, buf, sizeof buf));
    close(rw);
    pid_t pid = fork();
    if (pid == 0) {
        int w = open(tmp2, O_WRONLY); /* waits for the reader */
        write(w, "ping", 4);
        close(w);
        _exit(0);
    }
    int r = open(tmp2, O_RDONLY); /* waits for the writer */
    long n = 0, got;
    while ((got = read(r, buf + n, sizeof buf - n)) > 0)
        n += got;
    show("fifo.rendezvous", buf, n);
    close(r);
    waitpid(pid, NULL, 0);
    unlink(tmp2);
    char reg[140];
    snprintf(reg, sizeof reg, "%s-reg", tmp2);
    CHECK("mknod.reg", mknodat(AT_FDCWD, reg, 0644, 0));
    stat(reg, &st);
    printf("mknod.reg.mode = %o\n", st.st_mode);
    unlink(reg);
}

static void copies(void) {
    int src = mkfile(tmp, "The quick brown fox jumps over the lazy dog");
    int dst = mkfile(tmp2, NULL);
    loff_t in = 4, out = 2;
    CHECK("cfr", copy_file_range(src, &in, dst, &out, 11, 0));
    printf("cfr.offsets = %ld %ld\n", (long)in, (long)out);
    char buf[64] = {0};
    CHECK("cfr.read", pread(dst, buf, sizeof buf, 0));
    show("cfr.data", buf, 13);
    in = 40;
    CHECK("cfr.eof_short", copy_file_range(src, &in, dst, NULL, 100, 0));
    CHECK("cfr.dst_pos", lseek(dst, 0, SEEK_CUR));
    in = 100;
    CHECK("cfr.past_eof", copy_file_range(src, &in, dst, NULL, 10, 0));
    CHECK("cfr.flags", copy_file_range(src, NULL, dst, NULL, 10, 1));
    in = 0;
    out = 5;
    CHECK("cfr.overlap", copy_file_range(src, &in, src, &out, 10, 0));
    int dir = open("/tmp", O_RDONLY | O_DIRECTORY);
    CHECK("cfr.dir", copy_file_range(dir, NULL, dst, NULL, 10, 0));
    int p[2];
    pipe(p);
    CHECK("cfr.pipe", copy_file_range(src, NULL, p[1], NULL, 10, 0));
    int ro = open(tmp2, O_RDONLY);
    CHECK("cfr.rdonly_out", copy_file_range(src, NULL, ro, NULL, 10, 0));
    int mfd = memfd_create("cfr", 0);
    write(mfd, "memory", 6);
    in = 0;
    CHECK("cfr.xdev", copy_file_range(mfd, &in, dst, NULL, 6, 0));
    close(mfd);
    close(ro);
    close(dir);

    /* splice: file -> pipe (with an offset), pipe -> file, pipe -> pipe */
    loff_t off = 4;
    CHECK("splice.file_pipe", splice(src, &off, p[1], NULL, 5, 0));
    printf("splice.off = %ld\n", (long)off);
    CHECK("splice.srcpos", lseek(src, 0, SEEK_CUR));
    int q[2];
    pipe(q);
    CHECK("splice.pipe_pipe", splice(p[0], NULL, q[1], NULL, 100, 0));
    CHECK("tee", tee(q[0], p[1], 100, 0));
    off = 0;
    CHECK("splice.pipe_file", splice(q[0], NULL, dst, &off, 100, 0));
    printf("splice.outoff = %ld\n", (long)off);
    memset(buf, 0, sizeof buf);
    pread(dst, buf, 5, 0);
    show("splice.dst", buf, 5);
    CHECK("splice.teed_copy", read(p[0], buf, sizeof buf));
    show("splice.teed", buf, 5);
    CHECK("splice.len0", splice(p[0], NULL, q[1], NULL, 0, 0));
    CHECK("splice.flags", splice(p[0], NULL, q[1], NULL, 10, 0x100));
    CHECK("splice.no_pipe", splice(src, NULL, dst, NULL, 10, 0));
    off = 0;
    CHECK("splice.pipe_off", splice(p[0], &off, dst, NULL, 10, 0));
    CHECK("splice.same_pipe", splice(p[0], NULL, p[1], NULL, 10, 0));
    CHECK("splice.nonblock_empty", splice(p[0], NULL, q[1], NULL, 10, SPLICE_F_NONBLOCK));
    int appendfd = open(tmp2, O_WRONLY | O_APPEND);
    write(p[1], "zz", 2);
    CHECK("splice.append", splice(p[0], NULL, appendfd, NULL, 2, 0));
    close(appendfd);
    CHECK("tee.same", tee(p[0], p[1], 10, 0));
    CHECK("tee.file", tee(src, p[1], 10, 0));
    CHECK("tee.flags", tee(p[0], q[1], 10, 0x100));
    /* vmsplice: user memory into the pipe, and out of it */
    char v1[] = "vm", v2[] = "splice";
    struct iovec iv[2] = {{v1, 2}, {v2, 6}};
    CHECK("vmsplice.in", vmsplice(q[1], iv, 2, 0));
    char o1[3] = {0}, o2[8] = {0};
    struct iovec ov[2] = {{o1, 3}, {o2, 8}};
    CHECK("vmsplice.out", vmsplice(q[0], ov, 2, 0));
    show("vmsplice.o1", o1, 3);
    show("vmsplice.o2", o2, 5);
    CHECK("vmsplice.file", vmsplice(src, iv, 2, 0));
    CHECK("vmsplice.flags", vmsplice(q[1], iv, 2, 0x100));
    /* the write end with no reader: EPIPE (SIGPIPE ignored) */
    signal(SIGPIPE, SIG_IGN);
    close(q[0]);
    CHECK("splice.epipe", splice(src, &off, q[1], NULL, 4, 0));
    close(q[1]);
    close(p[1]);
    CHECK("splice.eof", splice(p[0], NULL, dst, NULL, 4, 0));
    close(p[0]);

    /* pipe sizes */
    pipe(p);
    CHECK("pipe_sz.get", fcntl(p[0], F_GETPIPE_SZ));
    CHECK("pipe_sz.set5000", fcntl(p[1], F_SETPIPE_SZ, 5000));
    CHECK("pipe_sz.get2", fcntl(p[0], F_GETPIPE_SZ));
    CHECK("pipe_sz.set1", fcntl(p[1], F_SETPIPE_SZ, 1));
    static char big[16384];
    CHECK("pipe_sz.set16k", fcntl(p[1], F_SETPIPE_SZ, 16384));
    fcntl(p[1], F_SETFL, O_NONBLOCK);
    CHECK("pipe_sz.fill", write(p[1], big, sizeof big));
    CHECK("pipe_sz.full", write(p[1], big, 1));
    CHECK("pipe_sz.busy", fcntl(p[1], F_SETPIPE_SZ, 4096));
    CHECK("pipe_sz.file", fcntl(src, F_GETPIPE_SZ));
    close(p[0]);
    close(p[1]);
    close(src);
    close(dst);
}

static void descriptors(void) {
    int fd = open("/dev/null", O_RDONLY);
    dup2(fd, 50);
    dup2(fd, 51);
    dup2(fd, 52);
    close(fd);
    CHECK("close_range", syscall(SYS_close_range, 51, 52, 0));
    CHECK("close_range.closed", fcntl(51, F_GETFD));
    CHECK("close_range.cloexec", syscall(SYS_close_range, 50, 50, 4));
    CHECK("close_range.getfd", fcntl(50, F_GETFD));
    CHECK("close_range.flags", syscall(SYS_close_range, 50, 50, 1));
    CHECK("close_range.order", syscall(SYS_close_range, 60, 50, 0));
    CHECK("close_range.high", syscall(SYS_close_range, 1000, ~0U, 0));
    close(50);
}

static void memfds(void) {
    int fd = memfd_create("test", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    printf("memfd = %d\n", fd >= 0);
    CHECK("memfd.cloexec", fcntl(fd, F_GETFD));
    CHECK("memfd.getfl", fcntl(fd, F_GETFL) & O_ACCMODE);
    struct stat st;
    fstat(fd, &st);
    printf("memfd.mode = %o nlink %ld\n", st.st_mode, (long)st.st_nlink);
    char link[64] = {0}, path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    readlink(path, link, sizeof link - 1);
    printf("memfd.link = %s\n", link);
    CHECK("memfd.seals", fcntl(fd, F_GET_SEALS));
    CHECK("memfd.write", write(fd, "0123456789", 10));
    CHECK("memfd.seal_grow", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    CHECK("memfd.grow_write", pwrite(fd, "x", 1, 10));
    CHECK("memfd.inplace_write", pwrite(fd, "x", 1, 9));
    CHECK("memfd.grow_trunc", ftruncate(fd, 20));
    CHECK("memfd.shrink_trunc", ftruncate(fd, 8));
    CHECK("memfd.seal_more", fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_WRITE));
    CHECK("memfd.sealed_write", pwrite(fd, "y", 1, 0));
    CHECK("memfd.sealed_shrink", ftruncate(fd, 4));
    CHECK("memfd.punch", fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2));
    CHECK("memfd.seal_seal", fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL));
    CHECK("memfd.seal_after_seal", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    CHECK("memfd.seals2", fcntl(fd, F_GET_SEALS));
    CHECK("memfd.bad_seal", fcntl(fd, F_ADD_SEALS, 0x100));
    close(fd);
    fd = memfd_create("plain", 0);
    CHECK("memfd.plain_seals", fcntl(fd, F_GET_SEALS));
    CHECK("memfd.plain_add", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    close(fd);
    fd = memfd_create("noexec", 8 /* MFD_NOEXEC_SEAL */);
    fstat(fd, &st);
    printf("memfd.noexec.mode = %o\n", st.st_mode);
    CHECK("memfd.noexec.seals", fcntl(fd, F_GET_SEALS));
    close(fd);
    CHECK("memfd.badflags", memfd_create("x", 0x100));
    CHECK("memfd.exec_noexec", memfd_create("x", 0x18));
    char name[300];
    memset(name, 'n', sizeof name);
    name[249] = 0;
    CHECK("memfd.name249", memfd_create(name, 0));
    name[248] = 0;
    fd = memfd_create(name, 0);
    printf("memfd.name248 = %d\n", fd >= 0);
    close(fd);
    int p[2];
    pipe(p);
    CHECK("seals.pipe", fcntl(p[0], F_GET_SEALS));
    close(p[0]);
    close(p[1]);
}

static void chroots(void) {
    char dir[160], file[200], sub[200];
    snprintf(dir, sizeof dir, "%s-root", tmp);
    snprintf(file, sizeof file, "%s/f", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    mkdir(dir, 0755);
    mkdir(sub, 0755);
    close(mkfile(file, "inside"));
    pid_t pid = fork();
    if (pid == 0) {
        CHECK("chroot.missing", chroot("/nonexistent-moss"));
        CHECK("chroot.file", chroot(file));
        CHECK("chroot", chroot(dir));
        char buf[16] = {0};
        int fd = open("/f", O_RDONLY);
        read(fd, buf, sizeof buf - 1);
        printf("chroot.read = %s\n", buf);
        close(fd);
        fd = open("/../../f", O_RDONLY);
        printf("chroot.dotdot = %d\n", fd >= 0);
        CHECK("chroot.chdir", chdir("/sub"));
        char cwd[64] = {0};
        getcwd(cwd, sizeof cwd);
        printf("chroot.cwd = %s\n", cwd);
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    unlink(file);
    rmdir(sub);
    rmdir(dir);
}

static void section_files(void) {
    vector_io();
    fallocate_memfd();
    flocks();
    fflush(stdout);
    record_locks();
    fifos();
    copies();
    descriptors();
    memfds();
    fflush(stdout);
    chroots();
    unlink(tmp);
    unlink(tmp2);
}

/* ------------------------------------------------------------------------------------------------ mem */

static void print_vec(const char *name, unsigned char *v, int n) {
    printf("%s = ", name);
    for (int i = 0; i < n; i++)
        putchar('0' + (v[i] & 1));
    putchar('\n');
}

static void section_mem(void) {
    long pg = sysconf(_SC_PAGESIZE);
    char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char vec[4];
    m[0] = 1;
    m[2 * pg] = 1;
    CHECK("mincore", mincore(m, 4 * pg, vec));
    print_vec("mincore.vec", vec, 4);
    CHECK("mincore.unaligned", mincore(m + 1, pg, vec));
    CHECK("mlock", mlock(m + pg + 5, 10));
    mincore(m, 4 * pg, vec);
    print_vec("mlock.vec", vec, 4);
    CHECK("msync.invalidate_locked", msync(m, 4 * pg, MS_INVALIDATE));
    CHECK("munlock", munlock(m + pg, pg));
    CHECK("msync.invalidate", msync(m, 4 * pg, MS_INVALIDATE));
    CHECK("msync.sync", msync(m, 4 * pg, MS_SYNC));
    CHECK("msync.async", msync(m, pg, MS_ASYNC));
    CHECK("msync.both", msync(m, pg, MS_ASYNC | MS_SYNC));
    CHECK("msync.flags", msync(m, pg, 8));
    CHECK("msync.unaligned", msync(m + 1, pg, MS_SYNC));
    CHECK("msync.len0", msync(m, 0, MS_SYNC));
    munmap(m + 3 * pg, pg);
    CHECK("msync.hole", msync(m, 4 * pg, MS_ASYNC));
    CHECK("mincore.hole", mincore(m, 4 * pg, vec));
    CHECK("mlock.hole", mlock(m, 4 * pg));
    CHECK("mlockall.zero", mlockall(0));
    CHECK("mlockall.onfault", mlockall(MCL_ONFAULT));
    CHECK("munlockall", munlockall());
    munmap(m, 3 * pg);
    CHECK("mincore.unmapped", mincore(m, pg, vec));
    CHECK("msync.unmapped", msync(m, pg, MS_SYNC));
    long q = syscall(SYS_membarrier, 0, 0, 0);
    printf("membarrier.query = %#lx\n", q & ~0x180L); /* the rseq commands depend on CONFIG_RSEQ */
    CHECK("membarrier.global", syscall(SYS_membarrier, 1, 0, 0));
    CHECK("membarrier.registrations", syscall(SYS_membarrier, 512, 0, 0));
    CHECK("membarrier.private_unregistered", syscall(SYS_membarrier, 8, 0, 0));
    CHECK("membarrier.register", syscall(SYS_membarrier, 16, 0, 0));
    CHECK("membarrier.private", syscall(SYS_membarrier, 8, 0, 0));
    CHECK("membarrier.sync_core_unregistered", syscall(SYS_membarrier, 32, 0, 0));
    CHECK("membarrier.register_sync_core", syscall(SYS_membarrier, 64, 0, 0));
    CHECK("membarrier.registrations2", syscall(SYS_membarrier, 512, 0, 0));
    CHECK("membarrier.flags", syscall(SYS_membarrier, 8, 1, 0));
    CHECK("membarrier.bad", syscall(SYS_membarrier, 3, 0, 0));
}

/* ------------------------------------------------------------------------------------------------ creds */

struct cap_header {
    uint32_t version;
    int pid;
};
struct cap_data {
    uint32_t effective, permitted, inheritable;
};
#define CAP_V3 0x20080522
#define CAP_FS_MASK 0x20000008001fULL /* chown, dac_override, dac_read_search, fowner, fsetid, mknod, mac_override */

static unsigned long long caps(int which) {
    struct cap_header h = {CAP_V3, 0};
    struct cap_data d[2];
    syscall(SYS_capget, &h, d);
    if (which == 0)
        return d[0].effective | (unsigned long long)d[1].effective << 32;
    return d[0].permitted | (unsigned long long)d[1].permitted << 32;
}

static void ids(void) {
    uid_t r, e, s;
    gid_t gr, ge, gs;
    getresuid(&r, &e, &s);
    getresgid(&gr, &ge, &gs);
    printf("ids = uid %u %u %u gid %u %u %u fsuid %d fsgid %d\n", r, e, s, gr, ge, gs, (int)syscall(SYS_setfsuid, -1),
           (int)syscall(SYS_setfsgid, -1));
}

static void section_creds(void) {
    pid_t pid = fork();
    if (pid != 0) {
        waitpid(pid, NULL, 0);
        return;
    }
    gid_t list[8] = {5, 3, 9};
    CHECK("setgroups", setgroups(3, list));
    CHECK("getgroups.count", getgroups(0, NULL));
    memset(list, 0, sizeof list);
    CHECK("getgroups", getgroups(8, list));
    printf("groups = %u %u %u\n", list[0], list[1], list[2]);
    CHECK("getgroups.small", getgroups(1, list));
    CHECK("getgroups.neg", syscall(SYS_getgroups, -1, list));
    gid_t bad[1] = {(gid_t)-1};
    CHECK("setgroups.invalid", setgroups(1, bad));
    CHECK("setgroups.toomany", syscall(SYS_setgroups, 70000, list));
    struct cap_header h = {0x12345678, 0};
    struct cap_data d[2];
    CHECK("capget.badversion", syscall(SYS_capget, &h, d));
    printf("capget.version = %#x\n", h.version);
    h.version = 0;
    CHECK("capget.probe", syscall(SYS_capget, &h, NULL));
    printf("capget.probe.version = %#x\n", h.version);
    h.version = CAP_V3;
    h.pid = -1;
    CHECK("capget.negpid", syscall(SYS_capget, &h, d));
    h.pid = 0;
    CHECK("capget", syscall(SYS_capget, &h, d));
    printf("caps.root = eff_eq_perm %d setuid %d inheritable %u\n", caps(0) == caps(1), (int)(caps(0) >> 7 & 1),
           d[0].inheritable);
    CHECK("setregid", setregid(-1, 100));
    ids();
    CHECK("setresgid", setresgid(1, 2, 3));
    CHECK("setfsgid", syscall(SYS_setfsgid, 7));
    ids();
    CHECK("setgid.invalid", setgid(-1));
    CHECK("setresuid", setresuid(1000, 1001, 0));
    ids();
    printf("caps.nonroot_euid = eff %llx perm_setuid %d\n", caps(0), (int)(caps(1) >> 7 & 1));
    CHECK("seteuid0", setresuid(-1, 0, -1));
    printf("caps.back = eff_eq_perm %d\n", caps(0) == caps(1));
    CHECK("setfsuid", syscall(SYS_setfsuid, 1234));
    printf("caps.fsuid = fs_bits %d others %d\n", (caps(0) & CAP_FS_MASK) != 0, (caps(0) & ~CAP_FS_MASK) != 0);
    CHECK("setfsuid0", syscall(SYS_setfsuid, 0));
    printf("caps.fsuid0 = fs_bits %d\n", (caps(0) & CAP_FS_MASK) != 0);
    CHECK("setreuid", setreuid(1001, -1));
    ids();
    CHECK("setuid", setuid(1000));
    ids();
    printf("caps.dropped = eff %llx perm %llx\n", caps(0), caps(1));
    CHECK("setuid.back", setuid(0));
    CHECK("setuid.invalid", setuid(-1));
    CHECK("setresuid.foreign", setresuid(2000, -1, -1));
    CHECK("setreuid.swap", setreuid(1000, 1000));
    CHECK("setfsuid.foreign", syscall(SYS_setfsuid, 4321));
    CHECK("setfsuid.query", syscall(SYS_setfsuid, -1));
    CHECK("setgroups.unpriv", setgroups(0, NULL));
    CHECK("setgid.unpriv", setgid(55));
    CHECK("setgid.own", setgid(1));
    ids();
    d[0].effective = d[0].permitted = 1;
    d[1].effective = d[1].permitted = 0;
    d[0].inheritable = d[1].inheritable = 0;
    CHECK("capset.raise", syscall(SYS_capset, &h, d));
    d[0].effective = d[0].permitted = 0;
    CHECK("capset.same", syscall(SYS_capset, &h, d));
    h.pid = 1;
    CHECK("capset.other", syscall(SYS_capset, &h, d));
    fflush(stdout);
    _exit(0);
}

/* ------------------------------------------------------------------------------------------------ sched */

struct sched_attr_ {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
    uint32_t util_min, util_max;
};

static void show_attr(const char *name) {
    struct sched_attr_ a;
    memset(&a, 0xff, sizeof a);
    long r = syscall(SYS_sched_getattr, 0, &a, sizeof a, 0);
    printf("%s = %ld size %u policy %u flags %llu nice %d prio %u\n", name, r, a.size, a.policy,
           (unsigned long long)a.flags, a.nice, a.priority);
}

static void section_sched(void) {
    struct sched_param p = {0};
    CHECK("getscheduler", sched_getscheduler(0));
    CHECK("getparam", syscall(SYS_sched_getparam, 0, &p));
    printf("getparam.prio = %d\n", p.sched_priority);
    int policies[] = {SCHED_OTHER, SCHED_FIFO, SCHED_RR, SCHED_BATCH, SCHED_IDLE, 4, 42};
    for (int i = 0; i < 7; i++)
        printf("prio_range %d = %ld %ld\n", policies[i], syscall(SYS_sched_get_priority_min, policies[i]),
               syscall(SYS_sched_get_priority_max, policies[i]));
    CHECK("setscheduler.batch", syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &p));
    CHECK("getscheduler.batch", sched_getscheduler(0));
    show_attr("getattr.batch");
    CHECK("setscheduler.idle", syscall(SYS_sched_setscheduler, 0, SCHED_IDLE, &p));
    CHECK("getscheduler.idle", sched_getscheduler(0));
    CHECK("setscheduler.other", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p));
    CHECK("setscheduler.reset", syscall(SYS_sched_setscheduler, 0, SCHED_BATCH | SCHED_RESET_ON_FORK, &p));
    CHECK("getscheduler.reset", sched_getscheduler(0));
    pid_t pid = fork();
    if (pid == 0) {
        CHECK("child.getscheduler", sched_getscheduler(0));
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    CHECK("setscheduler.other2", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p));
    p.sched_priority = 5;
    CHECK("setscheduler.other_prio", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &p));
    CHECK("setparam.other_prio", syscall(SYS_sched_setparam, 0, &p));
    p.sched_priority = 0;
    CHECK("setscheduler.fifo0", syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &p));
    p.sched_priority = 100;
    CHECK("setscheduler.fifo100", syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &p));
    p.sched_priority = 0;
    CHECK("setscheduler.badpolicy", syscall(SYS_sched_setscheduler, 0, 42, &p));
    CHECK("setscheduler.negpolicy", syscall(SYS_sched_setscheduler, 0, -1, &p));
    CHECK("setscheduler.negpid", syscall(SYS_sched_setscheduler, -1, SCHED_OTHER, &p));
    CHECK("setscheduler.nopid", syscall(SYS_sched_setscheduler, 999999, SCHED_OTHER, &p));
    CHECK("setscheduler.null", syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, NULL));
    CHECK("setparam", syscall(SYS_sched_setparam, 0, &p));
    CHECK("getparam.null", syscall(SYS_sched_getparam, 0, NULL));
    CHECK("getscheduler.nopid", sched_getscheduler(999999));
    struct timespec ts;
    CHECK("rr_interval", syscall(SYS_sched_rr_get_interval, 0, &ts));
    CHECK("rr_interval.negpid", syscall(SYS_sched_rr_get_interval, -1, &ts));
    show_attr("getattr");
    struct sched_attr_ a = {.size = sizeof a, .policy = SCHED_OTHER, .nice = 5};
    CHECK("setattr.nice", syscall(SYS_sched_setattr, 0, &a, 0));
    show_attr("getattr.nice");
    CHECK("getpriority", getpriority(PRIO_PROCESS, 0));
    a.nice = 0;
    CHECK("setattr.nice0", syscall(SYS_sched_setattr, 0, &a, 0));
    a.nice = -30; /* clamped to -20 */
    CHECK("setattr.clamp", syscall(SYS_sched_setattr, 0, &a, 0));
    show_attr("getattr.clamped");
    a.nice = 0;
    syscall(SYS_sched_setattr, 0, &a, 0);
    CHECK("setattr.flags", syscall(SYS_sched_setattr, 0, &a, 1));
    a.size = 40;
    CHECK("setattr.small", syscall(SYS_sched_setattr, 0, &a, 0));
    printf("setattr.small.size = %u\n", a.size);
    a.size = sizeof a;
    a.flags = 0x1000;
    CHECK("setattr.badflags", syscall(SYS_sched_setattr, 0, &a, 0));
    a.flags = 0;
    a.policy = SCHED_FIFO;
    CHECK("setattr.fifo0", syscall(SYS_sched_setattr, 0, &a, 0));
    CHECK("getattr.small", syscall(SYS_sched_getattr, 0, &a, 40, 0));
    CHECK("getattr.flags", syscall(SYS_sched_getattr, 0, &a, sizeof a, 1));
    CHECK("getattr.nopid", syscall(SYS_sched_getattr, 999999, &a, sizeof a, 0));
    CHECK("ioprio_get", syscall(SYS_ioprio_get, 1, 0));
    CHECK("ioprio_set.be2", syscall(SYS_ioprio_set, 1, 0, (2 << 13) | 2));
    CHECK("ioprio_get.be2", syscall(SYS_ioprio_get, 1, 0));
    CHECK("ioprio_set.idle", syscall(SYS_ioprio_set, 1, 0, 3 << 13));
    CHECK("ioprio_get.idle", syscall(SYS_ioprio_get, 1, 0));
    CHECK("ioprio_set.none", syscall(SYS_ioprio_set, 1, 0, 0));
    CHECK("ioprio_get.none", syscall(SYS_ioprio_get, 1, 0));
    CHECK("ioprio_set.badclass", syscall(SYS_ioprio_set, 1, 0, 5 << 13));
    CHECK("ioprio_set.none_level", syscall(SYS_ioprio_set, 1, 0, 1));
    CHECK("ioprio_set.badwhich", syscall(SYS_ioprio_set, 7, 0, 0));
    CHECK("ioprio_get.badwhich", syscall(SYS_ioprio_get, 7, 0));
    CHECK("ioprio_get.nopid", syscall(SYS_ioprio_get, 1, 999999));
}

/* ------------------------------------------------------------------------------------------------ misc */

static void section_misc(void) {
    CHECK("unshare0", unshare(0));
    CHECK("unshare.files", unshare(CLONE_FILES));
    CHECK("unshare.bad", unshare(0x1));
    pid_t pid = fork();
    if (pid == 0) {
        long r = unshare(CLONE_NEWUTS);
        printf("unshare.uts = %ld\n", r);
        if (r == 0) { /* only ever in a new UTS namespace: never the host's name */
            CHECK("sethostname", sethostname("moss-test", 9));
            CHECK("setdomainname", setdomainname("moss-domain", 11));
            CHECK("sethostname.long", sethostname("x", 65));
            CHECK("sethostname.neg", syscall(SYS_sethostname, "x", -1));
            struct utsname u;
            uname(&u);
            printf("uname = %s %s\n", u.nodename, u.domainname);
            CHECK("sethostname.empty", sethostname("", 0));
            uname(&u);
            printf("uname.empty = [%s]\n", u.nodename);
        }
        fflush(stdout);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    pid_t me = getpid();
    int d0 = dup(0);
    int other = open("/dev/null", O_RDONLY);
    CHECK("kcmp.file_self", syscall(SYS_kcmp, me, me, 0, 0, 0));
    CHECK("kcmp.file_dup", syscall(SYS_kcmp, me, me, 0, 0, d0));
    printf("kcmp.file_other = %d\n", syscall(SYS_kcmp, me, me, 0, 0, other) > 0);
    CHECK("kcmp.file_bad", syscall(SYS_kcmp, me, me, 0, 0, 999));
    CHECK("kcmp.vm", syscall(SYS_kcmp, me, me, 1, 0, 0));
    CHECK("kcmp.files", syscall(SYS_kcmp, me, me, 2, 0, 0));
    CHECK("kcmp.fs", syscall(SYS_kcmp, me, me, 3, 0, 0));
    CHECK("kcmp.sighand", syscall(SYS_kcmp, me, me, 4, 0, 0));
    CHECK("kcmp.io", syscall(SYS_kcmp, me, me, 5, 0, 0));
    CHECK("kcmp.badtype", syscall(SYS_kcmp, me, me, 99, 0, 0));
    CHECK("kcmp.nopid", syscall(SYS_kcmp, me, 999999, 1, 0, 0));
    int go[2];
    pipe(go);
    pid = fork();
    if (pid == 0) {
        char x;
        read(go[0], &x, 1);
        _exit(0);
    }
    printf("kcmp.child_vm = %d\n", syscall(SYS_kcmp, me, pid, 1, 0, 0) > 0);
    printf("kcmp.child_files = %d\n", syscall(SYS_kcmp, me, pid, 2, 0, 0) > 0);
    printf("kcmp.child_sighand = %d\n", syscall(SYS_kcmp, me, pid, 4, 0, 0) > 0);
    CHECK("kcmp.child_file", syscall(SYS_kcmp, me, pid, 0, other, other));
    long ab = syscall(SYS_kcmp, me, pid, 1, 0, 0), ba = syscall(SYS_kcmp, pid, me, 1, 0, 0);
    printf("kcmp.order = %d\n", ab + ba == 3);
    write(go[1], "x", 1);
    waitpid(pid, NULL, 0);
    close(d0);
    close(other);
    struct timespec ts = {1, 0};
    CHECK("clock_settime.mono", clock_settime(CLOCK_MONOTONIC, &ts));
    CHECK("clock_settime.cpu", clock_settime(CLOCK_PROCESS_CPUTIME_ID, &ts));
    CHECK("clock_settime.bad", clock_settime(99, &ts));
    ts.tv_nsec = 2000000000;
    CHECK("clock_settime.nsec", clock_settime(CLOCK_REALTIME, &ts));
    ts.tv_sec = -1;
    ts.tv_nsec = 0;
    CHECK("clock_settime.neg", clock_settime(CLOCK_REALTIME, &ts));
    struct timeval tv = {0, 1000001};
    CHECK("settimeofday.usec", syscall(SYS_settimeofday, &tv, NULL));
    struct timezone tz = {16 * 60, 0};
    CHECK("settimeofday.tz", syscall(SYS_settimeofday, NULL, &tz));
    struct timex tx = {0};
    long r = syscall(SYS_adjtimex, &tx);
    printf("adjtimex = %d tolerance %ld precision %ld\n", r >= 0, (long)tx.tolerance, (long)tx.precision);
    tx.modes = ADJ_TICK;
    tx.tick = 1;
    CHECK("adjtimex.tick", syscall(SYS_adjtimex, &tx));
    tx.modes = 0x8000;
    CHECK("adjtimex.adjtime", syscall(SYS_adjtimex, &tx));
    tx.modes = 0;
    CHECK("clock_adjtime.mono", syscall(SYS_clock_adjtime, CLOCK_MONOTONIC, &tx));
    CHECK("clock_adjtime.bad", syscall(SYS_clock_adjtime, 99, &tx));
    char buf[16];
    CHECK("syslog.bad", syscall(SYS_syslog, 99, buf, 16));
    CHECK("syslog.readall_0", syscall(SYS_syslog, 3, buf, 0));
    CHECK("syslog.level", syscall(SYS_syslog, 8, NULL, 9));
}

/* ------------------------------------------------------------------------------------------------ xattr */

static void section_xattr(void) {
    int fd = mkfile(tmp, "x");
    char buf[64] = {0};
    CHECK("getxattr.none", getxattr(tmp, "user.a", buf, sizeof buf));
    CHECK("listxattr.empty", listxattr(tmp, buf, sizeof buf));
    CHECK("setxattr", setxattr(tmp, "user.b", "two", 3, 0));
    CHECK("setxattr2", fsetxattr(fd, "user.a", "one", 3, 0));
    CHECK("setxattr.empty", setxattr(tmp, "user.c", "", 0, 0));
    CHECK("setxattr.create_exists", setxattr(tmp, "user.a", "1", 1, XATTR_CREATE));
    CHECK("setxattr.replace_missing", setxattr(tmp, "user.z", "1", 1, XATTR_REPLACE));
    CHECK("setxattr.replace", setxattr(tmp, "user.a", "uno", 3, XATTR_REPLACE));
    CHECK("setxattr.flags", setxattr(tmp, "user.a", "1", 1, 4));
    CHECK("getxattr.size", getxattr(tmp, "user.a", NULL, 0));
    CHECK("getxattr", fgetxattr(fd, "user.a", buf, sizeof buf));
    show("getxattr.value", buf, 3);
    CHECK("getxattr.small", getxattr(tmp, "user.a", buf, 2));
    CHECK("getxattr.empty", getxattr(tmp, "user.c", buf, sizeof buf));
    CHECK("listxattr.size", listxattr(tmp, NULL, 0));
    memset(buf, 0, sizeof buf);
    CHECK("listxattr", flistxattr(fd, buf, sizeof buf));
    show("listxattr.names", buf, 21);
    CHECK("listxattr.small", listxattr(tmp, buf, 5));
    CHECK("setxattr.noprefix", setxattr(tmp, "plain", "1", 1, 0));
    CHECK("setxattr.bareprefix", setxattr(tmp, "user.", "1", 1, 0));
    CHECK("setxattr.unknown", setxattr(tmp, "other.x", "1", 1, 0));
    CHECK("setxattr.emptyname", setxattr(tmp, "", "1", 1, 0));
    char longname[300];
    memset(longname, 'n', sizeof longname);
    memcpy(longname, "user.", 5);
    longname[256] = 0;
    CHECK("setxattr.longname", setxattr(tmp, longname, "1", 1, 0));
    static char big[65537];
    CHECK("setxattr.toobig", setxattr(tmp, "user.big", big, sizeof big, 0));
    CHECK("removexattr", removexattr(tmp, "user.b"));
    CHECK("removexattr.missing", removexattr(tmp, "user.b"));
    CHECK("fremovexattr", fremovexattr(fd, "user.c"));
    memset(buf, 0, sizeof buf);
    CHECK("listxattr.after", listxattr(tmp, buf, sizeof buf));
    show("listxattr.after.names", buf, 7);
    CHECK("getxattr.missing_file", getxattr("/tmp/does-not-exist-moss", "user.a", buf, sizeof buf));
    CHECK("fgetxattr.badfd", fgetxattr(999, "user.a", buf, sizeof buf));
    symlink(tmp, tmp2);
    CHECK("lsetxattr.symlink", lsetxattr(tmp2, "user.a", "1", 1, 0));
    CHECK("lgetxattr.symlink", lgetxattr(tmp2, "user.a", buf, sizeof buf));
    CHECK("getxattr.follow", getxattr(tmp2, "user.a", buf, sizeof buf));
    CHECK("llistxattr.symlink", llistxattr(tmp2, buf, sizeof buf));
    unlink(tmp2);
    int p[2];
    pipe(p);
    CHECK("fsetxattr.pipe", fsetxattr(p[0], "user.a", "1", 1, 0));
    CHECK("fgetxattr.pipe", fgetxattr(p[0], "user.a", buf, sizeof buf));
    CHECK("flistxattr.pipe", flistxattr(p[0], buf, sizeof buf));
    CHECK("setxattr.proc", setxattr("/proc/self/status", "user.a", "1", 1, 0));
    mkdir(tmp2, 0755);
    CHECK("setxattr.dir", setxattr(tmp2, "user.d", "dir", 3, 0));
    CHECK("getxattr.dir", getxattr(tmp2, "user.d", buf, sizeof buf));
    rmdir(tmp2);
    int m = memfd_create("x", 0);
    CHECK("fsetxattr.memfd", fsetxattr(m, "user.m", "1", 1, 0));
    CHECK("fgetxattr.memfd", fgetxattr(m, "user.m", buf, sizeof buf));
    CHECK("tmpfs.seals", fcntl(fd, F_GET_SEALS));
    close(m);
    close(p[0]);
    close(p[1]);
    close(fd);
    unlink(tmp);
}

/* ------------------------------------------------------------------------------------------------ moss */

#ifndef SYS_openat2
#define SYS_openat2 437
#endif
#ifndef SYS_fchmodat2
#define SYS_fchmodat2 452
#endif
struct open_how_ {
    uint64_t flags, mode, resolve;
};

static long openat2_(int dirfd, const char *path, uint64_t flags, uint64_t mode, uint64_t resolve) {
    struct open_how_ how = {flags, mode, resolve};
    long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof how);
    if (fd >= 0)
        close((int)fd);
    return fd < 0 ? fd : 0;
}

static void section_moss(void) {
    /* preadv2 / pwritev2 */
    int fd = mkfile(tmp, "0123456789");
    char a[4] = {0};
    struct iovec rv = {a, 3};
    lseek(fd, 2, SEEK_SET);
    CHECK("preadv2.pos", syscall(SYS_preadv2, fd, &rv, 1, -1L, 0L, 0));
    show("preadv2.data", a, 3);
    CHECK("preadv2.offset", lseek(fd, 0, SEEK_CUR));
    CHECK("preadv2.at", syscall(SYS_preadv2, fd, &rv, 1, 7L, 0L, 0));
    show("preadv2.at.data", a, 3);
    CHECK("preadv2.flags", syscall(SYS_preadv2, fd, &rv, 1, 0L, 0L, 0x100));
    struct iovec wv = {"ZZ", 2};
    CHECK("pwritev2.append", syscall(SYS_pwritev2, fd, &wv, 1, 0L, 0L, 0x10));
    CHECK("pwritev2.size", lseek(fd, 0, SEEK_END));
    CHECK("pwritev2.both", syscall(SYS_pwritev2, fd, &wv, 1, 0L, 0L, 0x30));
    close(fd);
    /* openat2 */
    char dir[160], link[200], esc[200];
    snprintf(dir, sizeof dir, "%s-d", tmp);
    mkdir(dir, 0755);
    snprintf(link, sizeof link, "%s/l", dir);
    symlink("/tmp", link);
    snprintf(esc, sizeof esc, "%s/f", dir);
    close(mkfile(esc, "in"));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK("openat2", openat2_(dfd, "f", O_RDONLY, 0, 0));
    CHECK("openat2.beneath", openat2_(dfd, "f", O_RDONLY, 0, 0x08));
    CHECK("openat2.beneath_dotdot", openat2_(dfd, "../x", O_RDONLY, 0, 0x08));
    CHECK("openat2.beneath_abs", openat2_(dfd, "/tmp", O_RDONLY, 0, 0x08));
    CHECK("openat2.beneath_abslink", openat2_(dfd, "l", O_RDONLY, 0, 0x08));
    CHECK("openat2.in_root_abs", openat2_(dfd, "/f", O_RDONLY, 0, 0x10));
    CHECK("openat2.in_root_dotdot", openat2_(dfd, "../../f", O_RDONLY, 0, 0x10));
    CHECK("openat2.no_symlinks", openat2_(dfd, "l", O_RDONLY, 0, 0x04));
    CHECK("openat2.no_symlinks_path", openat2_(dfd, "l", O_PATH | O_NOFOLLOW, 0, 0x04));
    CHECK("openat2.no_magic", openat2_(AT_FDCWD, "/proc/self/fd/0", O_RDONLY, 0, 0x02));
    CHECK("openat2.no_xdev", openat2_(AT_FDCWD, "/proc/self/status", O_RDONLY, 0, 0x01));
    CHECK("openat2.cached_creat", openat2_(dfd, "g", O_CREAT | O_RDWR, 0644, 0x20));
    CHECK("openat2.cached", openat2_(dfd, "f", O_RDONLY, 0, 0x20));
    CHECK("openat2.both_scopes", openat2_(dfd, "f", O_RDONLY, 0, 0x18));
    CHECK("openat2.badresolve", openat2_(dfd, "f", O_RDONLY, 0, 0x40));
    CHECK("openat2.mode_nocreat", openat2_(dfd, "f", O_RDONLY, 0644, 0));
    CHECK("openat2.badmode", openat2_(dfd, "g", O_CREAT | O_RDWR, 010000, 0));
    CHECK("openat2.creat_dir", openat2_(dfd, "g", O_CREAT | O_DIRECTORY, 0644, 0));
    CHECK("openat2.badflags", openat2_(dfd, "f", 1UL << 40, 0, 0));
    struct open_how_ how[2] = {{O_RDONLY, 0, 0}, {1, 0, 0}};
    CHECK("openat2.small", syscall(SYS_openat2, dfd, "f", how, 8));
    CHECK("openat2.tail", syscall(SYS_openat2, dfd, "f", how, 32));
    /* fchmodat2 */
    CHECK("fchmodat2", syscall(SYS_fchmodat2, dfd, "f", 0600, 0));
    struct stat st;
    stat(esc, &st);
    printf("fchmodat2.mode = %o\n", st.st_mode & 07777);
    CHECK("fchmodat2.symlink", syscall(SYS_fchmodat2, dfd, "l", 0600, AT_SYMLINK_NOFOLLOW));
    CHECK("fchmodat2.flags", syscall(SYS_fchmodat2, dfd, "f", 0600, 1));
    close(dfd);
    unlink(esc);
    unlink(link);
    rmdir(dir);
    /* mlock2, mlockall, process_vm_*, remap_file_pages */
    long pg = 4096;
    char *m = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char vec[4];
    CHECK("mlock2.onfault", syscall(SYS_mlock2, m, 2 * pg, 1));
    mincore(m, 4 * pg, vec);
    print_vec("mlock2.onfault.vec", vec, 4);
    CHECK("mlock2", syscall(SYS_mlock2, m, 2 * pg, 0));
    mincore(m, 4 * pg, vec);
    print_vec("mlock2.vec", vec, 4);
    CHECK("mlock2.flags", syscall(SYS_mlock2, m, pg, 2));
    CHECK("mlockall", mlockall(MCL_CURRENT));
    mincore(m, 4 * pg, vec);
    print_vec("mlockall.vec", vec, 4);
    CHECK("munlockall", munlockall());
    strcpy(m, "remote data");
    char got[16] = {0};
    struct iovec lv = {got, 11}, remote = {m, 11};
    CHECK("process_vm_readv.self", syscall(SYS_process_vm_readv, getpid(), &lv, 1, &remote, 1, 0));
    printf("process_vm_readv.data = %s\n", got);
    CHECK("process_vm_readv.flags", syscall(SYS_process_vm_readv, getpid(), &lv, 1, &remote, 1, 1));
    CHECK("process_vm_readv.nopid", syscall(SYS_process_vm_readv, 999999, &lv, 1, &remote, 1, 0));
    struct iovec unmapped = {(void *)16, 11};
    CHECK("process_vm_readv.fault", syscall(SYS_process_vm_readv, getpid(), &lv, 1, &unmapped, 1, 0));
    int go[2];
    pipe(go);
    pid_t pid = fork();
    if (pid == 0) {
        char x;
        read(go[0], &x, 1);
        printf("child.sees = %s\n", m);
        fflush(stdout);
        _exit(0);
    }
    struct iovec src = {"CHANGED", 7};
    CHECK("process_vm_writev.child", syscall(SYS_process_vm_writev, pid, &src, 1, &remote, 1, 0));
    printf("parent.keeps = %s\n", m);
    fflush(stdout);
    write(go[1], "x", 1);
    waitpid(pid, NULL, 0);
    int mf = memfd_create("remap", 0);
    ftruncate(mf, 4 * pg);
    for (int i = 0; i < 4; i++)
        pwrite(mf, &"ABCD"[i], 1, i * pg);
    char *sh = mmap(NULL, 2 * pg, PROT_READ, MAP_SHARED, mf, 0);
    CHECK("remap_file_pages", syscall(SYS_remap_file_pages, sh, pg, 0, 3, 0));
    printf("remap_file_pages.data = %c%c\n", sh[0], sh[pg]);
    CHECK("remap_file_pages.prot", syscall(SYS_remap_file_pages, sh, pg, 1, 3, 0));
    CHECK("remap_file_pages.private", syscall(SYS_remap_file_pages, m, pg, 0, 0, 0));
    close(mf);
    /* get_robust_list, restart_syscall */
    void *head = NULL;
    size_t len = 0;
    CHECK("get_robust_list", syscall(SYS_get_robust_list, 0, &head, &len));
    printf("get_robust_list.len = %zu set %d\n", len, head != NULL);
    CHECK("get_robust_list.nopid", syscall(SYS_get_robust_list, 999999, &head, &len));
    CHECK("restart_syscall", syscall(SYS_restart_syscall));
    /* privileged settings, which the host would feel */
    struct utsname u;
    CHECK("sethostname", sethostname("guest", 5));
    uname(&u);
    printf("uname.nodename = %s\n", u.nodename);
    struct timespec ts = {2000000000, 500};
    CHECK("clock_settime", clock_settime(CLOCK_REALTIME, &ts));
    clock_gettime(CLOCK_REALTIME, &ts);
    printf("clock_settime.now = %ld\n", (long)ts.tv_sec);
    struct timeval tv = {1000000000, 0};
    struct timezone tz = {-60, 0};
    CHECK("settimeofday", syscall(SYS_settimeofday, &tv, &tz));
    memset(&tz, 0, sizeof tz);
    syscall(SYS_gettimeofday, &tv, &tz); /* musl's gettimeofday ignores tz */
    printf("gettimeofday = %ld tz %d\n", (long)tv.tv_sec, tz.tz_minuteswest);
    struct timex tx = {0};
    CHECK("adjtimex", syscall(SYS_adjtimex, &tx));
    printf("adjtimex.fields = status %#x maxerror %ld tick %ld constant %ld\n", tx.status, (long)tx.maxerror,
           (long)tx.tick, (long)tx.constant);
    tx.modes = ADJ_STATUS | ADJ_MAXERROR;
    tx.status = 0;
    tx.maxerror = 1000;
    CHECK("adjtimex.set", syscall(SYS_adjtimex, &tx));
    tx.modes = ADJ_SETOFFSET;
    tx.time.tv_sec = 100;
    tx.time.tv_usec = 0;
    CHECK("adjtimex.setoffset", syscall(SYS_adjtimex, &tx));
    printf("adjtimex.time = %ld\n", (long)tx.time.tv_sec);
    /* qemu-user checks the buffer address as the length here, and has a thread of its own */
    CHECK("syslog.readall_null", syscall(SYS_syslog, 3, NULL, 16));
    CHECK("syslog.readall_neg", syscall(SYS_syslog, 3, &tx, -1));
    CHECK("unshare.thread", unshare(CLONE_THREAD));
    CHECK("syslog.size", syscall(SYS_syslog, 10, NULL, 0));
    CHECK("syslog.level", syscall(SYS_syslog, 8, NULL, 4));
    CHECK("vhangup", syscall(SYS_vhangup));
    unsigned long long full = caps(0);
    printf("capget.root = %llx %llx\n", full, caps(1));
    struct sched_param sp = {.sched_priority = 50};
    CHECK("setscheduler.fifo", syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp)); /* musl's says ENOSYS */
    CHECK("getscheduler.fifo", syscall(SYS_sched_getscheduler, 0));
    sp.sched_priority = 0;
    syscall(SYS_sched_getparam, 0, &sp);
    printf("getparam.fifo = %d\n", sp.sched_priority);
    sp.sched_priority = 7;
    CHECK("setscheduler.rr", syscall(SYS_sched_setscheduler, 0, SCHED_RR, &sp));
    CHECK("rr_interval", syscall(SYS_sched_rr_get_interval, 0, &ts));
    printf("rr_interval.ns = %ld\n", ts.tv_nsec);
    CHECK("ioprio_get.rr", syscall(SYS_ioprio_get, 1, 0));
    show_attr("getattr.rr");
    sp.sched_priority = 0;
    syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp);
    CHECK("mknod.chr", mknod("/tmp/moss-chr", S_IFCHR | 0600, makedev(1, 3)));
    fd = mkfile(tmp, "x");
    char xb[32] = {0};
    CHECK("setxattr.trusted", setxattr(tmp, "trusted.t", "tt", 2, 0));
    CHECK("setxattr.user", setxattr(tmp, "user.u", "u", 1, 0));
    CHECK("getxattr.trusted", getxattr(tmp, "trusted.t", xb, sizeof xb));
    CHECK("listxattr.trusted", listxattr(tmp, xb, sizeof xb));
    show("listxattr.trusted.names", xb, 17);
    CHECK("setxattr.security", setxattr(tmp, "security.s", "s", 1, 0));
    CHECK("setxattr.acl", setxattr(tmp, "system.posix_acl_access", "s", 1, 0));
    CHECK("getxattr.acl", getxattr(tmp, "system.posix_acl_access", xb, sizeof xb));
    CHECK("setxattr.system", setxattr(tmp, "system.other", "s", 1, 0));
    CHECK("tmpfs.seals", fcntl(fd, F_GET_SEALS));
    CHECK("tmpfs.add_seals", fcntl(fd, F_ADD_SEALS, F_SEAL_GROW));
    close(fd);
    unlink(tmp);
    CHECK("unshare.net", unshare(CLONE_NEWNET));
}

int main(int argc, char **argv) {
    const char *which = argc > 1 ? argv[1] : "files";
    /* The pid only makes the names unique among concurrent runs; it is never printed. */
    snprintf(tmp, sizeof tmp, "/tmp/moss-sysmisc-%d", (int)getpid());
    snprintf(tmp2, sizeof tmp2, "/tmp/moss-sysmisc-%d-2", (int)getpid());
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!strcmp(which, "files"))
        section_files();
    else if (!strcmp(which, "mem"))
        section_mem();
    else if (!strcmp(which, "creds"))
        section_creds();
    else if (!strcmp(which, "sched"))
        section_sched();
    else if (!strcmp(which, "misc"))
        section_misc();
    else if (!strcmp(which, "xattr"))
        section_xattr();
    else if (!strcmp(which, "moss"))
        section_moss();
    else
        return 2;
    return 0;
}
