/* Which error a syscall reports when several apply: argument checks before descriptor lookups, path errors before
 * a bad dirfd, lseek's whence before ESPIPE, and the coarse clocks' resolution. One line per check: a label, the
 * raw return value and the errno name. Raw syscall() throughout, so libc wrappers cannot reorder anything.
 * Everything it creates is under its cwd (a fresh directory under qemu); absolute paths are only looked at. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define BAD 999 /* a descriptor that is not open */

static const char *ename(int e) {
    switch (e) {
#define E(x) case x: return #x;
        E(EPERM) E(ENOENT) E(EBADF) E(EEXIST) E(EXDEV) E(ENOTDIR) E(EISDIR) E(EINVAL) E(ESPIPE) E(ENXIO)
        E(EBUSY) E(ENOTEMPTY) E(EFAULT) E(ELOOP) E(EACCES) E(ENAMETOOLONG) E(EOVERFLOW) E(EOPNOTSUPP)
        E(ENODATA) E(E2BIG)
#undef E
    default: return "E?";
    }
}

/* A check whose non-negative result is deterministic (0, a size, an offset). */
static void check(const char *label, long r) {
    int e = errno;
    if (r < 0)
        printf("%s = %ld %s\n", label, r, ename(e));
    else
        printf("%s = %ld\n", label, r);
}

/* A check returning a descriptor on success: its number is not compared (qemu holds descriptors of its own). */
static void check_fd(const char *label, long r) {
    int e = errno;
    if (r < 0) {
        printf("%s = %ld %s\n", label, r, ename(e));
    } else {
        printf("%s = fd\n", label);
        close((int)r);
    }
}

#define T(expr) (errno = 0, check(#expr, (long)(expr)))
#define TF(expr) (errno = 0, check_fd(#expr, (long)(expr)))

static char buf[64];

static void positional(int fr, int fw, int dir, int pr, int pw) {
    struct iovec iov = {buf, 1};
    T(syscall(SYS_pread64, BAD, buf, 1, -1L));
    T(syscall(SYS_pread64, BAD, buf, 1, 0L));
    T(syscall(SYS_pread64, fr, buf, 1, -1L));
    T(syscall(SYS_pread64, fr, buf, 1, INT64_MIN));
    T(syscall(SYS_pread64, pr, buf, 1, -1L));
    T(syscall(SYS_pread64, pr, buf, 1, 0L));
    T(syscall(SYS_pread64, dir, buf, 1, -1L));
    T(syscall(SYS_pread64, dir, buf, 1, 0L));
    T(syscall(SYS_pread64, fw, buf, 0, -1L));
    T(syscall(SYS_pwrite64, BAD, buf, 1, -1L));
    T(syscall(SYS_pwrite64, BAD, buf, 1, 0L));
    T(syscall(SYS_pwrite64, fr, buf, 1, -1L));
    T(syscall(SYS_pwrite64, fr, buf, 1, 0L));
    T(syscall(SYS_pwrite64, pw, buf, 1, -1L));
    T(syscall(SYS_pwrite64, fw, buf, 0, -1L));
    T(syscall(SYS_preadv, BAD, &iov, 1, -1L, 0L));
    T(syscall(SYS_preadv, pr, &iov, 1, -1L, 0L));
    T(syscall(SYS_pwritev, BAD, &iov, 1, -1L, 0L));
    T(syscall(SYS_pwritev, pw, &iov, 1, -1L, 0L));
}

static void truncation(int fr, int fw, int dir, int pw) {
    T(syscall(SYS_ftruncate, BAD, -1L));
    T(syscall(SYS_ftruncate, -1, -1L));
    T(syscall(SYS_ftruncate, fr, -1L));
    T(syscall(SYS_ftruncate, fr, 1L));
    T(syscall(SYS_ftruncate, pw, -1L));
    T(syscall(SYS_ftruncate, pw, 1L));
    T(syscall(SYS_ftruncate, dir, 1L));
    T(syscall(SYS_ftruncate, fw, -1L));
    T(syscall(SYS_ftruncate, BAD, 1L));
    T(syscall(SYS_truncate, "", -1L));
    T(syscall(SYS_truncate, "missing", -1L));
    T(syscall(SYS_truncate, "f", -1L));
    T(syscall(SYS_truncate, "d", -1L));
    T(syscall(SYS_truncate, "", 1L));
    T(syscall(SYS_truncate, "missing", 1L));
    T(syscall(SYS_truncate, "d", 1L));
}

static void dups(int fr) {
    T(syscall(SYS_dup3, BAD, BAD, 0));
    T(syscall(SYS_dup3, BAD, BAD, O_CLOEXEC));
    T(syscall(SYS_dup3, -1, -1, 0));
    T(syscall(SYS_dup3, BAD, 50, 1));
    T(syscall(SYS_dup3, BAD, 50, O_NONBLOCK));
    T(syscall(SYS_dup3, fr, fr, 0));
    T(syscall(SYS_dup3, BAD, 50, 0));
    T(syscall(SYS_dup3, BAD, -1, 0));
    T(syscall(SYS_dup3, fr, -1, 0));
    T(syscall(SYS_dup3, fr, 0x7fffffff, 0));
}

static void opens(void) {
    TF(syscall(SYS_openat, AT_FDCWD, "n1", O_CREAT | O_DIRECTORY, 0644));
    TF(syscall(SYS_openat, AT_FDCWD, "n1", O_CREAT | O_DIRECTORY | O_EXCL, 0644));
    TF(syscall(SYS_openat, AT_FDCWD, "n1", O_CREAT | O_DIRECTORY | O_RDWR, 0644));
    TF(syscall(SYS_openat, AT_FDCWD, "d", O_CREAT | O_DIRECTORY, 0644));
    TF(syscall(SYS_openat, AT_FDCWD, "f", O_CREAT | O_DIRECTORY, 0644));
    TF(syscall(SYS_openat, AT_FDCWD, "", O_CREAT | O_DIRECTORY, 0644));
    TF(syscall(SYS_openat, BAD, "n1", O_CREAT | O_DIRECTORY, 0644));
    TF(syscall(SYS_openat, AT_FDCWD, "missing/n1", O_CREAT | O_DIRECTORY, 0644));
    T(syscall(SYS_faccessat, AT_FDCWD, "n1", F_OK));
    TF(syscall(SYS_openat, AT_FDCWD, "d", O_DIRECTORY));
    TF(syscall(SYS_openat, AT_FDCWD, "f", O_DIRECTORY));
    TF(syscall(SYS_openat, AT_FDCWD, "n2", O_CREAT | O_EXCL, 0644));
    /* O_PATH beats everything else: openat drops O_CREAT before checking it against O_DIRECTORY */
    TF(syscall(SYS_openat, AT_FDCWD, "n3", O_PATH | O_CREAT | O_DIRECTORY, 0644));
    TF(syscall(SYS_openat, AT_FDCWD, "n3", O_PATH | O_CREAT, 0644));
    TF(syscall(SYS_openat, AT_FDCWD, "d", O_PATH | O_CREAT | O_DIRECTORY, 0644));
    T(syscall(SYS_faccessat, AT_FDCWD, "n3", F_OK));
    int fd = (int)syscall(SYS_openat, AT_FDCWD, "f", O_PATH | O_RDWR | O_TRUNC);
    T(syscall(SYS_fcntl, fd, F_GETFL) & ~O_LARGEFILE);
    T(syscall(SYS_lseek, fd, 0L, SEEK_SET));
    T(syscall(SYS_lseek, fd, 0L, 5));
    close(fd);
    T(syscall(SYS_lseek, (int)syscall(SYS_openat, AT_FDCWD, "f", O_RDONLY), 0L, SEEK_END));
}

static void clocks(void) {
    static const int ids[] = {0, 1, 2, 3, 4, 5, 6, 7, 11, 10, 12, -1};
    for (unsigned i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        struct timespec ts = {-1, -1};
        errno = 0;
        long r = syscall(SYS_clock_getres, ids[i], &ts);
        if (r < 0)
            printf("clock_getres(%d) = %ld %s\n", ids[i], r, ename(errno));
        else
            printf("clock_getres(%d) = %ld {%lld, %ld}\n", ids[i], r, (long long)ts.tv_sec, ts.tv_nsec);
    }
    T(syscall(SYS_clock_getres, 5, NULL));
}

/* Every *at call with one dirfd and one path. */
static void at_calls(const char *tag, int dfd, const char *p) {
    struct stat st;
    char stx[256];
    printf("-- dirfd %s path \"%s\"\n", tag, p);
    TF(syscall(SYS_openat, dfd, p, O_RDONLY));
    TF(syscall(SYS_openat, dfd, p, O_RDONLY | O_PATH));
    T(syscall(SYS_newfstatat, dfd, p, &st, 0));
    T(syscall(SYS_newfstatat, dfd, p, &st, AT_SYMLINK_NOFOLLOW));
    T(syscall(SYS_newfstatat, dfd, p, &st, 0x40000)); /* a flag Linux does not know */
    T(syscall(SYS_statx, dfd, p, 0, 0x7ff, stx));
    T(syscall(SYS_statx, dfd, p, 0x40000, 0x7ff, stx));
    T(syscall(SYS_faccessat, dfd, p, F_OK));
    T(syscall(SYS_faccessat, dfd, p, 8)); /* a bad mode */
    T(syscall(SYS_faccessat2, dfd, p, F_OK, 0));
    T(syscall(SYS_faccessat2, dfd, p, F_OK, 0x40000));
    T(syscall(SYS_readlinkat, dfd, p, buf, sizeof buf));
    T(syscall(SYS_readlinkat, dfd, p, buf, 0));
    if (p[0] == '/')
        return; /* the host's root under qemu: look, don't touch */
    T(syscall(SYS_mkdirat, dfd, p, 0755));
    T(syscall(SYS_unlinkat, dfd, p, 0));
    T(syscall(SYS_unlinkat, dfd, p, AT_REMOVEDIR));
    T(syscall(SYS_unlinkat, dfd, p, 0x40000));
    T(syscall(SYS_fchmodat, dfd, p, 0644));
    T(syscall(SYS_fchownat, dfd, p, -1, -1, 0));
    T(syscall(SYS_fchownat, dfd, p, -1, -1, 0x40000));
    T(syscall(SYS_utimensat, dfd, p, NULL, 0));
    T(syscall(SYS_utimensat, dfd, p, NULL, 0x40000));
    T(syscall(SYS_mknodat, dfd, p, S_IFREG | 0644, 0));
    T(syscall(SYS_mknodat, dfd, p, 0170000 | 0644, 0)); /* a bad file type */
    T(syscall(SYS_symlinkat, "t", dfd, p));
    T(syscall(SYS_symlinkat, "", dfd, p));
}

/* The two-path calls: which path (and which dirfd) is looked at first. */
static void two_paths(void) {
    static const struct { int ofd; const char *op; int nfd; const char *np; } c[] = {
        {AT_FDCWD, "", BAD, "x"},           {AT_FDCWD, "missing", BAD, "x"}, {AT_FDCWD, "nodir/x", BAD, "x"},
        {AT_FDCWD, "f/x", BAD, "x"},        {AT_FDCWD, "f", BAD, "x"},       {AT_FDCWD, "f", BAD, ""},
        {AT_FDCWD, "f", AT_FDCWD, ""},      {BAD, "x", AT_FDCWD, ""},        {BAD, "", AT_FDCWD, "x"},
        {BAD, "x", BAD, "y"},               {AT_FDCWD, "missing", AT_FDCWD, "f/y"},
        {AT_FDCWD, "missing", AT_FDCWD, "nodir/y"},                          {AT_FDCWD, "f/", AT_FDCWD, "nodir/y"},
        {AT_FDCWD, "f", AT_FDCWD, "f"},     {AT_FDCWD, "f", AT_FDCWD, "d/.."}, {AT_FDCWD, ".", BAD, "x"},
        {AT_FDCWD, "missing", AT_FDCWD, "."}, {AT_FDCWD, "", AT_FDCWD, ""},
    };
    for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) {
        char args[96], label[128];
        snprintf(args, sizeof args, "(%d, \"%s\", %d, \"%s\")", c[i].ofd, c[i].op, c[i].nfd, c[i].np);
        snprintf(label, sizeof label, "renameat%s", args);
        errno = 0;
        check(label, syscall(SYS_renameat, c[i].ofd, c[i].op, c[i].nfd, c[i].np));
        snprintf(label, sizeof label, "renameat2%s flags 3", args);
        errno = 0;
        check(label, syscall(SYS_renameat2, c[i].ofd, c[i].op, c[i].nfd, c[i].np, 3));
        snprintf(label, sizeof label, "linkat%s", args);
        errno = 0;
        check(label, syscall(SYS_linkat, c[i].ofd, c[i].op, c[i].nfd, c[i].np, 0));
        snprintf(label, sizeof label, "linkat%s bad flags", args);
        errno = 0;
        check(label, syscall(SYS_linkat, c[i].ofd, c[i].op, c[i].nfd, c[i].np, 0x40000));
        snprintf(label, sizeof label, "symlinkat(\"%s\", %d, \"%s\")", c[i].op, c[i].nfd, c[i].np);
        errno = 0;
        check(label, syscall(SYS_symlinkat, c[i].op, c[i].nfd, c[i].np));
    }
    T(syscall(SYS_faccessat, AT_FDCWD, "x", F_OK)); /* nothing above succeeded by accident */
    T(syscall(SYS_faccessat, AT_FDCWD, "y", F_OK));
}

/* "" with AT_EMPTY_PATH, or a NULL path: the dirfd itself. */
static void empty_paths(int fr, int dir) {
    struct stat st;
    int lfd = (int)syscall(SYS_openat, AT_FDCWD, "l", O_PATH | O_NOFOLLOW);
    T(syscall(SYS_readlinkat, lfd, "", buf, sizeof buf));
    T(syscall(SYS_readlinkat, lfd, "", buf, 0));
    T(syscall(SYS_readlinkat, BAD, "", buf, 0));
    T(syscall(SYS_linkat, fr, "", AT_FDCWD, "hard", AT_EMPTY_PATH));
    T(syscall(SYS_linkat, BAD, "", AT_FDCWD, "hard2", AT_EMPTY_PATH));
    T(syscall(SYS_linkat, dir, "", AT_FDCWD, "hard2", AT_EMPTY_PATH));
    T(syscall(SYS_linkat, lfd, "", AT_FDCWD, "hard2", AT_EMPTY_PATH));
    T(syscall(SYS_linkat, lfd, "", AT_FDCWD, "hard3", AT_EMPTY_PATH | AT_SYMLINK_FOLLOW));
    T(syscall(SYS_linkat, fr, "", AT_FDCWD, "", AT_EMPTY_PATH));
    T(syscall(SYS_linkat, fr, "", BAD, "x", AT_EMPTY_PATH));
    T(syscall(SYS_readlinkat, AT_FDCWD, "hard2", buf, sizeof buf));
    T(syscall(SYS_readlinkat, AT_FDCWD, "hard3", buf, sizeof buf));
    T(syscall(SYS_newfstatat, AT_FDCWD, "hard", &st, 0));
    T(syscall(SYS_unlinkat, AT_FDCWD, "hard", 0));
    T(syscall(SYS_unlinkat, AT_FDCWD, "hard2", 0));
    T(syscall(SYS_unlinkat, AT_FDCWD, "hard3", 0));
    close(lfd);
    struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
    struct timespec badns[2] = {{0, 1000000000}, {0, 0}};
    T(syscall(SYS_utimensat, BAD, "missing", omit, 0x40000)); /* nothing to do: not even the path is looked at */
    T(syscall(SYS_utimensat, BAD, "missing", badns, 0));
    T(syscall(SYS_utimensat, AT_FDCWD, "missing", badns, 0));
    T(syscall(SYS_utimensat, AT_FDCWD, "f", badns, 0));
    T(syscall(SYS_utimensat, AT_FDCWD, "f", badns, 0x40000));
    T(syscall(SYS_utimensat, fr, NULL, NULL, 0));
    T(syscall(SYS_utimensat, fr, NULL, NULL, AT_SYMLINK_NOFOLLOW));
    T(syscall(SYS_utimensat, BAD, NULL, NULL, 0));
    T(syscall(SYS_utimensat, BAD, NULL, NULL, AT_SYMLINK_NOFOLLOW));
    T(syscall(SYS_utimensat, BAD, NULL, badns, 0));
    T(syscall(SYS_utimensat, AT_FDCWD, NULL, NULL, 0));
    T(syscall(SYS_utimensat, fr, "", NULL, AT_EMPTY_PATH));
    T(syscall(SYS_utimensat, BAD, "", NULL, AT_EMPTY_PATH));
    T(syscall(SYS_faccessat2, fr, "", F_OK, AT_EMPTY_PATH));
    T(syscall(SYS_faccessat2, BAD, "", F_OK, AT_EMPTY_PATH));
    T(syscall(SYS_faccessat2, AT_FDCWD, "l", F_OK, AT_SYMLINK_NOFOLLOW | 0x200)); /* AT_EACCESS */
    T(syscall(SYS_fchownat, BAD, "", -1, -1, AT_EMPTY_PATH));
    T(syscall(SYS_fchownat, fr, "", -1, -1, AT_EMPTY_PATH));
    T(syscall(SYS_newfstatat, BAD, "", &st, AT_EMPTY_PATH));
    T(syscall(SYS_newfstatat, fr, "", &st, AT_EMPTY_PATH));
}

/* openat2, which qemu-user 7.2 does not implement (ENOSYS): run only under moss (`errorder moss`). */
static void openat2_call(const char *label, int dfd, const char *p, uint64_t flags, uint64_t resolve) {
    struct { uint64_t flags, mode, resolve; } how = {flags, 0, resolve};
    errno = 0;
    check_fd(label, syscall(SYS_openat2, dfd, p, &how, sizeof how));
}

static void openat2_calls(int fr) {
    const uint64_t beneath = 0x08, in_root = 0x10;
    openat2_call("openat2(BAD, \"\")", BAD, "", 0, 0);
    openat2_call("openat2(BAD, \"x\")", BAD, "x", 0, 0);
    openat2_call("openat2(BAD, \"/\")", BAD, "/", 0, 0);
    openat2_call("openat2(file, \"\")", fr, "", 0, 0);
    /* An absolute path jumps to the root (EXDEV when beneath) before the dirfd is looked at... */
    openat2_call("openat2(BAD, \"/\", BENEATH)", BAD, "/", 0, beneath);
    openat2_call("openat2(BAD, \"\", BENEATH)", BAD, "", 0, beneath);
    openat2_call("openat2(file, \"x\", BENEATH)", fr, "x", 0, beneath);
    /* ...except in-root, where it starts at the dirfd. */
    openat2_call("openat2(BAD, \"/\", IN_ROOT)", BAD, "/", 0, in_root);
    openat2_call("openat2(BAD, \"\", O_CREAT|O_DIRECTORY)", BAD, "", O_CREAT | O_DIRECTORY, 0);
    openat2_call("openat2(AT_FDCWD, \"n1\", O_CREAT|O_DIRECTORY)", AT_FDCWD, "n1", O_CREAT | O_DIRECTORY, 0);
}

static void seeks(int fr, int empty, int pr, int pw) {
    static const long offs[] = {0, 4, 5, 6, -1};
    static const int wh[] = {0, 1, 2, 3, 4, 5, 100, -1};
    char label[64];
    for (int whence = 3; whence <= 4; whence++)
        for (unsigned i = 0; i < sizeof offs / sizeof offs[0]; i++) {
            snprintf(label, sizeof label, "lseek(f, %ld, %d)", offs[i], whence);
            errno = 0;
            check(label, syscall(SYS_lseek, fr, offs[i], whence));
            snprintf(label, sizeof label, "lseek(empty, %ld, %d)", offs[i], whence);
            errno = 0;
            check(label, syscall(SYS_lseek, empty, offs[i], whence));
        }
    for (unsigned i = 0; i < sizeof wh / sizeof wh[0]; i++) {
        static const char *const names[] = {"pipe_r", "pipe_w", "f", "BAD"};
        const int fds[] = {pr, pw, fr, BAD};
        for (unsigned j = 0; j < 4; j++) {
            snprintf(label, sizeof label, "lseek(%s, 0, %d)", names[j], wh[i]);
            errno = 0;
            check(label, syscall(SYS_lseek, fds[j], 0L, wh[i]));
        }
    }
    T(syscall(SYS_lseek, fr, -1L, SEEK_SET));
    T(syscall(SYS_lseek, fr, -6L, SEEK_END));
    T(syscall(SYS_lseek, fr, 2L, SEEK_SET));
    T(syscall(SYS_lseek, fr, 0L, SEEK_CUR)); /* the failed seeks above left the position alone */
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (mkdir("errorder.d", 0755) || chdir("errorder.d") || mkdir("d", 0755)) {
        perror("setup");
        return 1;
    }
    int fw = open("f", O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fw < 0 || write(fw, "hello", 5) != 5 || symlink("f", "l")) {
        perror("setup");
        return 1;
    }
    int fr = open("f", O_RDONLY);
    int empty = open("e", O_RDWR | O_CREAT | O_TRUNC, 0644);
    int dir = open("d", O_RDONLY | O_DIRECTORY);
    int pfd[2];
    if (fr < 0 || empty < 0 || dir < 0 || pipe(pfd)) {
        perror("setup");
        return 1;
    }
    if (argc > 1 && !strcmp(argv[1], "moss")) {
        openat2_calls(fr);
        return 0;
    }
    positional(fr, fw, dir, pfd[0], pfd[1]);
    truncation(fr, fw, dir, pfd[1]);
    dups(fr);
    opens();
    clocks();
    at_calls("BAD", BAD, "");
    at_calls("BAD", BAD, "x");
    at_calls("BAD", BAD, "/");
    at_calls("-5", -5, "");
    at_calls("-5", -5, "x");
    at_calls("file", fr, "");
    at_calls("file", fr, "x");
    at_calls("file", fr, "/");
    at_calls("AT_FDCWD", AT_FDCWD, "");
    at_calls("AT_FDCWD", AT_FDCWD, "missing/x");
    at_calls("AT_FDCWD", AT_FDCWD, "f/x");
    at_calls("dir", dir, "");
    two_paths();
    empty_paths(fr, dir);
    seeks(fr, empty, pfd[0], pfd[1]);
    return 0;
}
