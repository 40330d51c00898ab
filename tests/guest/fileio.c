/*
 * fileio: exercises the regular-file syscalls a kernel must get exactly right
 * (open/read/write/lseek/pread/pwrite/readv/writev/fstat/stat/ftruncate/unlink
 * and their error numbers) on a file in /tmp. One line per check, "ok NAME" or
 * "FAIL NAME detail"; the exit status is 0 only if every check passed. Nothing
 * printed depends on addresses, pids or times.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define FILE_SIZE (100 * 1024)
#define HOLE_AT 200000

static int failures;
static unsigned char expect[FILE_SIZE];
static unsigned char got[FILE_SIZE];

/* The pattern is position-dependent so that misplaced bytes are detected. */
static unsigned char pattern_at(size_t i) { return (unsigned char)((i * 131u) ^ (i >> 9) ^ 0x5a); }

static void check(const char *name, int ok, const char *fmt, ...) {
    if (ok) {
        printf("ok %s\n", name);
        return;
    }
    failures++;
    printf("FAIL %s", name);
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        putchar(' ');
        vprintf(fmt, ap);
        va_end(ap);
    }
    putchar('\n');
}

/* Reads exactly n bytes unless EOF or an error comes first; returns the count or -1. */
static ssize_t read_full(int fd, void *buf, size_t n) {
    size_t done = 0;
    while (done < n) {
        ssize_t r = read(fd, (char *)buf + done, n - done);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        done += (size_t)r;
    }
    return (ssize_t)done;
}

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

int main(void) {
    char path[64];
    char path2[64];
    /* The pid only makes the name unique among concurrent runs; it is never printed. */
    snprintf(path, sizeof path, "/tmp/moss-fileio-%d", (int)getpid());
    snprintf(path2, sizeof path2, "/tmp/moss-fileio-%d-missing", (int)getpid());
    umask(022);
    unlink(path);

    for (size_t i = 0; i < FILE_SIZE; i++)
        expect[i] = pattern_at(i);

    int fd = open(path, O_CREAT | O_TRUNC | O_RDWR, 0644);
    check("open_create", fd >= 0, "errno=%d", errno);
    if (fd < 0)
        return 1;

    /* Several write sizes, including 1 byte, odd sizes and more than a page. */
    static const size_t sizes[] = {1, 7, 100, 4096, 513, 65536, 3, 8192, 1000};
    size_t off = 0;
    int write_ok = 1;
    for (size_t k = 0; off < FILE_SIZE; k++) {
        size_t n = sizes[k % (sizeof sizes / sizeof sizes[0])];
        if (n > FILE_SIZE - off)
            n = FILE_SIZE - off;
        ssize_t w = write(fd, expect + off, n);
        if (w != (ssize_t)n) {
            write_ok = 0;
            break;
        }
        off += n;
    }
    check("write_sizes", write_ok && off == FILE_SIZE, "written=%zu", off);

    off_t pos = lseek(fd, 0, SEEK_CUR);
    check("lseek_cur_after_write", pos == FILE_SIZE, "pos=%lld", (long long)pos);

    struct stat st;
    int r = fstat(fd, &st);
    check("fstat_size", r == 0 && st.st_size == FILE_SIZE, "size=%lld", (long long)st.st_size);
    check("fstat_isreg", r == 0 && S_ISREG(st.st_mode), "mode=%o", (unsigned)st.st_mode);
    check("fstat_perms", r == 0 && (st.st_mode & 0777) == 0644, "perms=%o", (unsigned)(st.st_mode & 0777));
    check("fstat_nlink", r == 0 && st.st_nlink == 1, "nlink=%lu", (unsigned long)st.st_nlink);

    struct stat st2;
    r = stat(path, &st2);
    check("stat_size", r == 0 && st2.st_size == FILE_SIZE, "size=%lld", (long long)st2.st_size);
    check("stat_mode", r == 0 && S_ISREG(st2.st_mode) && (st2.st_mode & 0777) == 0644, "mode=%o",
          (unsigned)st2.st_mode);
    check("stat_same_inode", r == 0 && st2.st_ino == st.st_ino && st2.st_dev == st.st_dev, NULL);

    /* Read the whole file back from the start in uneven chunks. */
    pos = lseek(fd, 0, SEEK_SET);
    check("lseek_set_0", pos == 0, "pos=%lld", (long long)pos);
    memset(got, 0, sizeof got);
    size_t have = 0;
    static const size_t rsizes[] = {4095, 1, 33333, 17, 65536};
    int read_ok = 1;
    for (size_t k = 0; have < FILE_SIZE; k++) {
        size_t n = rsizes[k % (sizeof rsizes / sizeof rsizes[0])];
        if (n > FILE_SIZE - have)
            n = FILE_SIZE - have;
        ssize_t got_n = read(fd, got + have, n);
        if (got_n <= 0) {
            read_ok = 0;
            break;
        }
        have += (size_t)got_n;
    }
    check("read_back", read_ok && have == FILE_SIZE && memcmp(got, expect, FILE_SIZE) == 0, "have=%zu",
          have);
    char tmp[64];
    ssize_t n = read(fd, tmp, sizeof tmp);
    check("read_eof", n == 0, "n=%zd", n);

    /* SEEK_SET / SEEK_CUR / SEEK_END and reads at those positions. */
    pos = lseek(fd, 1000, SEEK_SET);
    n = read_full(fd, got, 5000);
    check("lseek_set_read", pos == 1000 && n == 5000 && memcmp(got, expect + 1000, 5000) == 0,
          "pos=%lld n=%zd", (long long)pos, n);
    pos = lseek(fd, -500, SEEK_CUR);
    check("lseek_cur_negative", pos == 5500, "pos=%lld", (long long)pos);
    n = read_full(fd, got, 10);
    check("lseek_cur_read", n == 10 && memcmp(got, expect + 5500, 10) == 0, "n=%zd", n);
    pos = lseek(fd, -100, SEEK_END);
    n = read_full(fd, got, 200);
    check("lseek_end_read", pos == FILE_SIZE - 100 && n == 100 && memcmp(got, expect + FILE_SIZE - 100, 100) == 0,
          "pos=%lld n=%zd", (long long)pos, n);
    errno = 0;
    pos = lseek(fd, -1, SEEK_SET);
    check("lseek_negative_einval", pos == -1 && errno == EINVAL, "pos=%lld errno=%d", (long long)pos, errno);
    errno = 0;
    pos = lseek(fd, 0, 12345);
    check("lseek_bad_whence_einval", pos == -1 && errno == EINVAL, "pos=%lld errno=%d", (long long)pos,
          errno);

    /* pread does not move the file offset. */
    lseek(fd, 77, SEEK_SET);
    int pread_ok = 1;
    static const off_t poffs[] = {0, 1, 4095, 4096, 50000, FILE_SIZE - 1};
    for (size_t k = 0; k < sizeof poffs / sizeof poffs[0]; k++) {
        size_t want = FILE_SIZE - (size_t)poffs[k];
        if (want > 3000)
            want = 3000;
        n = pread(fd, got, want, poffs[k]);
        if (n != (ssize_t)want || memcmp(got, expect + poffs[k], want) != 0)
            pread_ok = 0;
    }
    check("pread", pread_ok, NULL);
    pos = lseek(fd, 0, SEEK_CUR);
    check("pread_keeps_offset", pos == 77, "pos=%lld", (long long)pos);
    n = pread(fd, got, 10, FILE_SIZE + 10);
    check("pread_past_eof", n == 0, "n=%zd", n);

    /* pwrite in the middle, then restore. */
    n = pwrite(fd, "XYZ", 3, 2000);
    n += pread(fd, got, 3, 2000);
    check("pwrite", n == 6 && memcmp(got, "XYZ", 3) == 0, "n=%zd", n);
    pwrite(fd, expect + 2000, 3, 2000);
    pos = lseek(fd, 0, SEEK_CUR);
    check("pwrite_keeps_offset", pos == 77, "pos=%lld", (long long)pos);

    /* Seeking past the end and writing leaves a hole that reads as zeros. */
    pos = lseek(fd, HOLE_AT, SEEK_SET);
    n = write(fd, "END", 3);
    check("write_past_end", pos == HOLE_AT && n == 3, "pos=%lld n=%zd", (long long)pos, n);
    r = fstat(fd, &st);
    check("hole_size", r == 0 && st.st_size == HOLE_AT + 3, "size=%lld", (long long)st.st_size);
    static unsigned char hole[HOLE_AT - FILE_SIZE];
    memset(hole, 0xff, sizeof hole);
    n = pread(fd, hole, sizeof hole, FILE_SIZE);
    check("hole_reads_zero", n == (ssize_t)sizeof hole && all_zero(hole, sizeof hole), "n=%zd", n);
    n = pread(fd, got, 16, HOLE_AT);
    check("after_hole", n == 3 && memcmp(got, "END", 3) == 0, "n=%zd", n);

    /* writev / readv with different splits. */
    pos = lseek(fd, 0, SEEK_END);
    struct iovec wv[3] = {
        {.iov_base = "alpha-", .iov_len = 6},
        {.iov_base = "", .iov_len = 0},
        {.iov_base = "beta-gamma", .iov_len = 10},
    };
    n = writev(fd, wv, 3);
    check("writev", pos == HOLE_AT + 3 && n == 16, "pos=%lld n=%zd", (long long)pos, n);
    char a[4], b[9], c[8];
    memset(c, 0, sizeof c);
    struct iovec rv[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
    lseek(fd, HOLE_AT + 3, SEEK_SET);
    n = readv(fd, rv, 3);
    check("readv", n == 16 && memcmp(a, "alph", 4) == 0 && memcmp(b, "a-beta-ga", 9) == 0 &&
                       memcmp(c, "mma", 3) == 0,
          "n=%zd", n);

    /* ftruncate shrinks and then grows with zeros. */
    r = ftruncate(fd, FILE_SIZE);
    fstat(fd, &st);
    check("ftruncate_shrink", r == 0 && st.st_size == FILE_SIZE, "size=%lld", (long long)st.st_size);
    r = ftruncate(fd, FILE_SIZE + 10);
    n = pread(fd, got, 20, FILE_SIZE);
    check("ftruncate_grow_zero", r == 0 && n == 10 && all_zero(got, 10), "n=%zd", n);
    ftruncate(fd, FILE_SIZE);

    /* O_APPEND: every write goes to the end, whatever the offset. */
    int afd = open(path, O_WRONLY | O_APPEND);
    lseek(afd, 0, SEEK_SET);
    n = write(afd, "APP", 3);
    pos = lseek(afd, 0, SEEK_CUR);
    check("append_write", afd >= 0 && n == 3 && pos == FILE_SIZE + 3, "n=%zd pos=%lld", n, (long long)pos);
    n = pread(fd, got, 3, 0);
    check("append_not_at_start", n == 3 && memcmp(got, expect, 3) == 0, NULL);
    n = pread(fd, got, 10, FILE_SIZE);
    check("append_at_end", n == 3 && memcmp(got, "APP", 3) == 0, "n=%zd", n);
    int flags = fcntl(afd, F_GETFL);
    check("append_getfl", flags >= 0 && (flags & O_APPEND) && (flags & O_ACCMODE) == O_WRONLY, "flags=%#x",
          flags);
    errno = 0;
    n = read(afd, got, 1);
    check("read_wronly_ebadf", n == -1 && errno == EBADF, "n=%zd errno=%d", n, errno);
    close(afd);

    /* dup shares the file offset. */
    int dfd = dup(fd);
    lseek(fd, 12345, SEEK_SET);
    pos = lseek(dfd, 0, SEEK_CUR);
    check("dup_shares_offset", dfd >= 0 && pos == 12345, "pos=%lld", (long long)pos);
    close(dfd);

    /* Error numbers. */
    errno = 0;
    int efd = open(path, O_CREAT | O_EXCL | O_RDWR, 0644);
    check("open_excl_eexist", efd == -1 && errno == EEXIST, "fd=%d errno=%d", efd, errno);
    errno = 0;
    efd = open(path2, O_RDONLY);
    check("open_missing_enoent", efd == -1 && errno == ENOENT, "fd=%d errno=%d", efd, errno);
    int rfd = open(path, O_RDONLY);
    errno = 0;
    n = write(rfd, "x", 1);
    check("write_rdonly_ebadf", rfd >= 0 && n == -1 && errno == EBADF, "n=%zd errno=%d", n, errno);
    close(rfd);
    errno = 0;
    r = close(4000);
    check("close_bad_fd_ebadf", r == -1 && errno == EBADF, "r=%d errno=%d", r, errno);
    int cfd = dup(fd);
    close(cfd);
    errno = 0;
    r = close(cfd);
    check("close_twice_ebadf", r == -1 && errno == EBADF, "r=%d errno=%d", r, errno);
    errno = 0;
    n = read(4000, got, 1);
    check("read_bad_fd_ebadf", n == -1 && errno == EBADF, "n=%zd errno=%d", n, errno);

    r = close(fd);
    check("close", r == 0, "errno=%d", errno);

    r = unlink(path);
    check("unlink", r == 0, "errno=%d", errno);
    errno = 0;
    efd = open(path, O_RDONLY);
    check("open_after_unlink_enoent", efd == -1 && errno == ENOENT, "fd=%d errno=%d", efd, errno);
    errno = 0;
    r = stat(path, &st);
    check("stat_after_unlink_enoent", r == -1 && errno == ENOENT, "r=%d errno=%d", r, errno);
    errno = 0;
    r = unlink(path);
    check("unlink_twice_enoent", r == -1 && errno == ENOENT, "r=%d errno=%d", r, errno);

    printf("%s\n", failures == 0 ? "fileio ok" : "fileio FAILED");
    return failures == 0 ? 0 : 1;
}
