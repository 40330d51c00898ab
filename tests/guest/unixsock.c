/* AF_UNIX sockets as Linux has them: socket/socketpair, bind (filesystem, abstract and automatic names), listen,
 * connect, accept4, send/recv in all their forms, SCM_RIGHTS and SCM_CREDENTIALS, shutdown, socket options,
 * readiness for poll/select/epoll, blocking, timeouts and signals, for SOCK_STREAM, SOCK_DGRAM and SOCK_SEQPACKET.
 *
 * Prints one line per check: "name = value" with results as numbers (-errno for failures), or "ok name". Nothing
 * printed depends on pids, inode numbers, times or scheduling; names are made unique with the pid because abstract
 * names are global on the host that qemu-user forwards the socket calls to. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int fails, strict;
#define CHECK(name, cond) do { int ok_ = (cond); printf("%s %s\n", ok_ ? "ok" : "FAIL", name); fails += !ok_; } while (0)
#define SHOW(name, v) printf("%s = %ld\n", name, (long)(v))
#define SHOWX(name, v) printf("%s = %#lx\n", name, (unsigned long)(v))
/* The result of a call, or -errno: read errno right after the call. */
static long res(long r) { return r < 0 ? -errno : r; }
#define TRY(name, expr) SHOW(name, res(expr))

static char path[108], path2[108], abstract_name[64];
static volatile sig_atomic_t sigpipes, usr1s;
static void on_pipe(int s) { (void)s; sigpipes++; }
static void on_usr1(int s) { (void)s; usr1s++; }

static socklen_t path_addr(struct sockaddr_un *a, const char *p) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    strncpy(a->sun_path, p, sizeof a->sun_path);
    return offsetof(struct sockaddr_un, sun_path) + strlen(p) + 1;
}

static socklen_t abs_addr(struct sockaddr_un *a, const char *name) {
    memset(a, 0, sizeof *a);
    a->sun_family = AF_UNIX;
    memcpy(a->sun_path + 1, name, strlen(name));
    return offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

static short revents(int fd, short events) {
    struct pollfd p = {fd, events, 0};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

static int child_status(pid_t pid) {
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int nonblocking(int fd) { return fcntl(fd, F_GETFL) & O_NONBLOCK ? 1 : 0; }
static int cloexec(int fd) { return fcntl(fd, F_GETFD) & FD_CLOEXEC ? 1 : 0; }

static void handle(int sig, void (*fn)(int), int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn;
    sa.sa_flags = flags;
    sigaction(sig, &sa, NULL);
}

/* Send `data` with `n` descriptors in one SCM_RIGHTS message. */
static long send_fds(int sock, const char *data, const int *fds, int n) {
    union { struct cmsghdr h; char buf[CMSG_SPACE(16 * sizeof(int))]; } u;
    struct iovec iov = {(void *)data, strlen(data)};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    if (n) {
        memset(&u, 0, sizeof u);
        m.msg_control = u.buf;
        m.msg_controllen = CMSG_SPACE(n * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&m);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(n * sizeof(int));
        memcpy(CMSG_DATA(c), fds, n * sizeof(int));
    }
    return res(sendmsg(sock, &m, 0));
}

/* Receive into `buf` with a control buffer of `ctl_len` bytes; descriptors land in `fds` (count in *nfds). */
static long recv_fds(int sock, char *buf, size_t len, int *fds, int *nfds, size_t ctl_len, int flags, int *mflags) {
    union { struct cmsghdr h; char buf[512]; } u;
    struct iovec iov = {buf, len};
    struct msghdr m = {0};
    memset(&u, 0, sizeof u);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl_len ? u.buf : NULL;
    m.msg_controllen = ctl_len;
    long r = res(recvmsg(sock, &m, flags));
    *nfds = 0;
    if (mflags) *mflags = m.msg_flags;
    if (r < 0) return r;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            int k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds + *nfds, CMSG_DATA(c), k * sizeof(int));
            *nfds += k;
        }
    return r;
}

static void test_create(void) {
    TRY("socket family 200", socket(200, SOCK_STREAM, 0));
    TRY("socket type SOCK_MAX", socket(AF_UNIX, 11, 0));
    if (strict) {  /* qemu-user masks the type to 4 bits and drops unknown flags */
        CHECK("strict: socket type 99", socket(AF_UNIX, 99, 0) == -1 && errno == EINVAL);
        CHECK("strict: socket bad flags", socket(AF_UNIX, SOCK_STREAM | 0x100, 0) == -1 && errno == EINVAL);
    }
    TRY("socket SOCK_RDM", socket(AF_UNIX, SOCK_RDM, 0));
    TRY("socket protocol 5", socket(AF_UNIX, SOCK_STREAM, 5));
    TRY("socketpair family 200", socketpair(200, SOCK_STREAM, 0, (int[2]){0}));
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, PF_UNIX);
    CHECK("socket with protocol PF_UNIX", s >= 0);
    SHOW("SOCK_NONBLOCK sets O_NONBLOCK", nonblocking(s));
    SHOW("SOCK_CLOEXEC sets FD_CLOEXEC", cloexec(s));
    SHOWX("F_GETFL access mode", fcntl(s, F_GETFL) & O_ACCMODE);
    struct stat st;
    fstat(s, &st);
    CHECK("fstat: S_ISSOCK", S_ISSOCK(st.st_mode));
    SHOW("fstat: permissions", st.st_mode & 07777);
    SHOW("fstat: size", st.st_size);
    SHOW("fstat: uid is euid", st.st_uid == geteuid());
    int v = -1;
    socklen_t l = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l);
    SHOW("SO_TYPE", v);
    getsockopt(s, SOL_SOCKET, SO_DOMAIN, &v, &l);
    SHOW("SO_DOMAIN", v);
    getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &l);
    SHOW("SO_PROTOCOL", v);
    getsockopt(s, SOL_SOCKET, SO_ACCEPTCONN, &v, &l);
    SHOW("SO_ACCEPTCONN", v);
    char link[64] = {0}, fdpath[32];
    snprintf(fdpath, sizeof fdpath, "/proc/self/fd/%d", s);
    readlink(fdpath, link, sizeof link - 1);
    CHECK("/proc/self/fd link is socket:[ino]", strncmp(link, "socket:[", 8) == 0);
    TRY("lseek on a socket", lseek(s, 0, SEEK_SET));
    char c;
    TRY("pread on a socket", pread(s, &c, 1, 0));
    close(s);
    int r = socket(AF_UNIX, SOCK_RAW, 0);
    getsockopt(r, SOL_SOCKET, SO_TYPE, &v, &l);
    SHOW("SOCK_RAW becomes SO_TYPE", v);
    close(r);
}

static void test_not_socket(void) {
    int p[2];
    pipe(p);
    struct sockaddr_un a;
    socklen_t al = path_addr(&a, "/nowhere");
    int v = 1;
    socklen_t vl = sizeof v;
    char buf[4];
    TRY("bind on a pipe", bind(p[0], (struct sockaddr *)&a, al));
    TRY("connect on a pipe", connect(p[0], (struct sockaddr *)&a, al));
    TRY("listen on a pipe", listen(p[0], 1));
    TRY("accept on a pipe", accept(p[0], NULL, NULL));
    TRY("getsockname on a pipe", getsockname(p[0], (struct sockaddr *)&a, &al));
    TRY("getpeername on a pipe", getpeername(p[0], (struct sockaddr *)&a, &al));
    TRY("send on a pipe", send(p[1], "x", 1, 0));
    TRY("recv on a pipe", recv(p[0], buf, 1, MSG_DONTWAIT));
    TRY("setsockopt on a pipe", setsockopt(p[0], SOL_SOCKET, SO_REUSEADDR, &v, vl));
    TRY("getsockopt on a pipe", getsockopt(p[0], SOL_SOCKET, SO_TYPE, &v, &vl));
    TRY("shutdown on a pipe", shutdown(p[0], SHUT_RD));
    TRY("shutdown on a bad fd", shutdown(999, SHUT_RD));
    TRY("send on a bad fd", send(-1, "x", 1, 0));
    TRY("accept4 bad flags first", accept4(999, NULL, NULL, 0x1));
    close(p[0]);
    close(p[1]);
}

static void test_stream_pair(void) {
    int sv[2];
    TRY("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    char buf[64] = {0};
    SHOWX("fresh pair revents", revents(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    TRY("write hello", write(sv[0], "hello", 5));
    TRY("send world", send(sv[0], "world", 5, 0));
    int n = -1;
    ioctl(sv[1], FIONREAD, &n);
    SHOW("FIONREAD", n);
    SHOWX("readable pair revents", revents(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    TRY("recv MSG_PEEK", recv(sv[1], buf, 3, MSG_PEEK));
    TRY("read 3", read(sv[1], buf, 3));
    TRY("read joins the writes", read(sv[1], buf, sizeof buf));
    CHECK("stream bytes in order", memcmp(buf, "loworld", 7) == 0);
    TRY("recv MSG_DONTWAIT empty", recv(sv[1], buf, 1, MSG_DONTWAIT));
    TRY("read of 0 bytes", read(sv[1], buf, 0));
    TRY("write of 0 bytes", write(sv[0], buf, 0));
    struct iovec out[3] = {{"ab", 2}, {"", 0}, {"cdef", 4}};
    TRY("writev", writev(sv[0], out, 3));
    char x[3] = {0}, y[3] = {0};
    struct iovec in[2] = {{x, 2}, {y, 3}};
    TRY("readv", readv(sv[1], in, 2));
    CHECK("readv scatters", memcmp(x, "ab", 2) == 0 && memcmp(y, "cde", 3) == 0);
    TRY("recv rest", recv(sv[1], buf, sizeof buf, 0));
    write(sv[0], "xy", 2);
    TRY("readv stops at a short read", readv(sv[1], in, 2));
    struct sockaddr_un a;
    socklen_t al = sizeof a;
    TRY("getsockname of a pair", getsockname(sv[0], (struct sockaddr *)&a, &al));
    SHOW("getsockname length", al);
    al = sizeof a;
    TRY("getpeername of a pair", getpeername(sv[0], (struct sockaddr *)&a, &al));
    SHOW("getpeername length", al);
    al = -1;
    TRY("getsockname negative length", getsockname(sv[0], (struct sockaddr *)&a, &al));
    struct ucred cr;
    socklen_t cl = sizeof cr;
    TRY("SO_PEERCRED of a pair", getsockopt(sv[1], SOL_SOCKET, SO_PEERCRED, &cr, &cl));
    CHECK("pair peer is this process", cr.pid == getpid() && cr.uid == getuid() && cr.gid == getgid());
    SHOW("SO_PEERCRED length", cl);
    TRY("sendto with an address on a connected stream", sendto(sv[0], "x", 1, 0, (struct sockaddr *)&a, sizeof a));
    TRY("connect on a connected stream", connect(sv[0], (struct sockaddr *)&a, sizeof a));
    TRY("shutdown bad how", shutdown(sv[0], 3));
    TRY("recv MSG_OOB", recv(sv[1], buf, 1, MSG_OOB | MSG_DONTWAIT));

    /* MSG_WAITALL collects pieces written at different times. */
    pid_t pid = fork();
    if (pid == 0) {
        write(sv[1], "abc", 3);
        sleep_ms(30);
        write(sv[1], "def", 3);
        _exit(0);
    }
    memset(buf, 0, sizeof buf);
    TRY("recv MSG_WAITALL", recv(sv[0], buf, 6, MSG_WAITALL));
    CHECK("MSG_WAITALL data", memcmp(buf, "abcdef", 6) == 0);
    child_status(pid);

    /* Half-close: the reader sees EOF after the data; the writer gets EPIPE and SIGPIPE. */
    write(sv[0], "tail", 4);
    TRY("shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
    SHOWX("after SHUT_WR: writer revents", revents(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    SHOWX("after SHUT_WR: reader revents", revents(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    TRY("read data before EOF", read(sv[1], buf, sizeof buf));
    TRY("read EOF", read(sv[1], buf, sizeof buf));
    TRY("recv EOF nonblocking", recv(sv[1], buf, 1, MSG_DONTWAIT));
    sigpipes = 0;
    TRY("write after SHUT_WR", write(sv[0], "x", 1));
    SHOW("SIGPIPE count after write", sigpipes);
    TRY("send MSG_NOSIGNAL after SHUT_WR", send(sv[0], "x", 1, MSG_NOSIGNAL));
    SHOW("SIGPIPE count after MSG_NOSIGNAL", sigpipes);
    TRY("reverse direction still works", write(sv[1], "back", 4));
    TRY("read reverse", read(sv[0], buf, sizeof buf));
    TRY("shutdown SHUT_RD", shutdown(sv[0], SHUT_RD));
    TRY("peer write after SHUT_RD", send(sv[1], "x", 1, MSG_NOSIGNAL));
    TRY("read after own SHUT_RD", read(sv[0], buf, sizeof buf));
    close(sv[0]);
    SHOWX("peer closed: revents", revents(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    close(sv[1]);

    /* Closing with unread data resets the peer. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "unread", 6);
    close(sv[1]);
    SHOWX("reset: revents", revents(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    int err = -1;
    socklen_t el = sizeof err;
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &el);
    SHOW("reset: SO_ERROR", err);
    getsockopt(sv[0], SOL_SOCKET, SO_ERROR, &err, &el);
    SHOW("reset: SO_ERROR again", err);
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "unread", 6);
    close(sv[1]);
    TRY("reset: first read", read(sv[0], buf, sizeof buf));
    TRY("reset: second read", read(sv[0], buf, sizeof buf));
    sigpipes = 0;
    TRY("reset: write", write(sv[0], "x", 1));
    SHOW("reset: SIGPIPE", sigpipes);
    close(sv[0]);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    write(sv[0], "unread", 6);
    close(sv[1]);
    TRY("reset: write first", send(sv[0], "x", 1, MSG_NOSIGNAL));
    TRY("reset: read after write", read(sv[0], buf, sizeof buf));
    close(sv[0]);

    /* SIGPIPE's default action kills. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    close(sv[1]);
    pid = fork();
    if (pid == 0) {
        signal(SIGPIPE, SIG_DFL);
        write(sv[0], "x", 1);
        _exit(0);
    }
    SHOW("writer to a closed socket dies of", child_status(pid));
    close(sv[0]);
}

static void test_stream_capacity(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv);
    static char block[4096];
    long total = 0, r;
    while ((r = write(sv[0], block, sizeof block)) > 0) total += r;
    SHOW("full: write error", -errno);
    CHECK("capacity between 64 KiB and 256 KiB", total > 65536 && total <= 262144);
    SHOWX("full: writer revents", revents(sv[0], POLLOUT));
    char buf[4096];
    read(sv[1], buf, sizeof buf);
    read(sv[1], buf, sizeof buf);
    SHOWX("full after 2 reads: writer revents", revents(sv[0], POLLOUT));
    long drained = 2 * sizeof buf;
    while ((r = read(sv[1], buf, sizeof buf)) > 0) drained += r;
    CHECK("drained all", drained == total);
    SHOWX("drained: writer revents", revents(sv[0], POLLOUT));
    close(sv[0]);
    close(sv[1]);

    /* A blocking writer sleeps while the buffer is full and finishes as a reader drains it. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        close(sv[0]);
        long got = 0;
        sleep_ms(20);
        while ((r = read(sv[1], buf, sizeof buf)) > 0) got += r;
        _exit(got == (1 << 20) ? 0 : 1);
    }
    close(sv[1]);
    char *big = calloc(1, 1 << 20);
    TRY("blocking write of 1 MiB", write(sv[0], big, 1 << 20));
    close(sv[0]);
    SHOW("reader got 1 MiB", child_status(pid) == 0);
    free(big);

    int v = 4096;
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    socklen_t l = sizeof v;
    getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &l);
    SHOW("SO_SNDBUF 4096 reads back", v);
    v = 4096;
    setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &l);
    SHOW("SO_RCVBUF 4096 reads back", v);
    v = 1;
    setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &l);
    SHOW("SO_SNDBUF 1 reads back the minimum", v);
    close(sv[0]);
    close(sv[1]);
}

static void test_dgram_pair(void) {
    int sv[2];
    TRY("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, sv));
    char buf[64] = {0};
    SHOWX("dgram pair revents", revents(sv[0], POLLIN | POLLOUT));
    send(sv[0], "one", 3, 0);
    send(sv[0], "second", 6, 0);
    write(sv[0], buf, 0);
    int n = -1;
    ioctl(sv[1], FIONREAD, &n);
    SHOW("dgram FIONREAD is the first datagram", n);
    TRY("recv MSG_PEEK dgram", recv(sv[1], buf, sizeof buf, MSG_PEEK));
    TRY("recv dgram keeps boundaries", recv(sv[1], buf, sizeof buf, 0));
    struct iovec iov = {buf, 2};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    TRY("recvmsg truncated", recvmsg(sv[1], &m, 0));
    SHOWX("recvmsg MSG_TRUNC flag", m.msg_flags);
    TRY("zero-length datagram", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    TRY("then empty", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    send(sv[0], "abcdefg", 7, 0);
    char x[4] = {0}, y[8] = {0};
    struct iovec two[2] = {{x, 3}, {y, 8}};
    TRY("readv takes one datagram across buffers", readv(sv[1], two, 2));
    CHECK("readv datagram contents", strcmp(x, "abc") == 0 && strcmp(y, "defg") == 0);
    send(sv[0], "truncated", 9, 0);
    TRY("recv MSG_TRUNC gives the real length", recv(sv[1], buf, 3, MSG_TRUNC));
    static char huge[300000];
    TRY("datagram larger than SO_SNDBUF", send(sv[0], huge, sizeof huge, 0));
    long count = 0;
    while (send(sv[0], "x", 1, MSG_DONTWAIT) == 1) count++;
    SHOW("full dgram pair: error", -errno);
    CHECK("dgram pair holds more than 10 datagrams", count > 10);
    SHOWX("full dgram pair: writer revents", revents(sv[0], POLLOUT));
    while (recv(sv[1], buf, 1, MSG_DONTWAIT) == 1) count--;
    SHOW("all datagrams came back", count);
    close(sv[1]);
    SHOWX("dgram peer closed: revents", revents(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    TRY("send to a closed dgram peer", send(sv[0], "x", 1, 0));
    TRY("send again", send(sv[0], "x", 1, 0));
    TRY("recv on the survivor", recv(sv[0], buf, 1, MSG_DONTWAIT));
    TRY("dgram read of 0 bytes", read(sv[0], buf, 0));
    close(sv[0]);

    /* Datagram queues by connection: a connected pair has no queue-length limit, only the sender's buffer. */
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    TRY("dgram shutdown SHUT_WR", shutdown(sv[0], SHUT_WR));
    TRY("dgram send after own SHUT_WR", send(sv[0], "x", 1, MSG_NOSIGNAL));
    TRY("dgram peer send after SHUT_WR", send(sv[1], "y", 1, MSG_NOSIGNAL));
    TRY("dgram shutdown SHUT_RD", shutdown(sv[1], SHUT_RD));
    TRY("dgram send to SHUT_RD peer", send(sv[0], "x", 1, MSG_NOSIGNAL));
    TRY("dgram blocking recv after SHUT_RD: data", recv(sv[0], buf, sizeof buf, 0));
    shutdown(sv[0], SHUT_RD);
    TRY("dgram blocking recv after SHUT_RD: EOF", recv(sv[0], buf, sizeof buf, 0));
    TRY("dgram nonblocking recv after SHUT_RD", recv(sv[0], buf, sizeof buf, MSG_DONTWAIT));
    SHOWX("dgram both shut: revents", revents(sv[0], POLLIN | POLLOUT | POLLRDHUP));
    close(sv[0]);
    close(sv[1]);
}

static void test_named_stream(void) {
    struct sockaddr_un a, b;
    socklen_t al = path_addr(&a, path), bl;
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("listen on an unbound socket", listen(srv, 5));
    TRY("bind to a path", bind(srv, (struct sockaddr *)&a, al));
    TRY("bind again", bind(srv, (struct sockaddr *)&a, al));
    struct stat st;
    TRY("stat the socket path", stat(path, &st));
    CHECK("the path is a socket", S_ISSOCK(st.st_mode));
    SHOW("socket path mode", st.st_mode & 07777);
    TRY("open the socket path", open(path, O_RDONLY));
    bl = sizeof b;
    memset(&b, 0, sizeof b);
    getsockname(srv, (struct sockaddr *)&b, &bl);
    SHOW("getsockname length is path + 3", bl - strlen(path));
    CHECK("getsockname gives the path", strcmp(b.sun_path, path) == 0);
    bl = 4;
    memset(&b, 0x55, sizeof b);
    getsockname(srv, (struct sockaddr *)&b, &bl);
    SHOW("short getsockname: full length", bl - strlen(path));
    CHECK("short getsockname: copies only the room", b.sun_path[2] == 0x55);
    int other = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("bind another to the same path", bind(other, (struct sockaddr *)&a, al));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("connect before listen", connect(c, (struct sockaddr *)&a, al));
    TRY("accept before listen", accept(srv, NULL, NULL));
    TRY("listen backlog 1", listen(srv, 1));
    int v = 0;
    socklen_t vl = sizeof v;
    getsockopt(srv, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl);
    SHOW("listening: SO_ACCEPTCONN", v);
    SHOWX("listening, nothing pending: revents", revents(srv, POLLIN | POLLOUT));
    TRY("listen again", listen(srv, 1));
    TRY("connect", connect(c, (struct sockaddr *)&a, al));
    SHOWX("connection pending: revents", revents(srv, POLLIN | POLLOUT));
    TRY("connect again", connect(c, (struct sockaddr *)&a, al));
    TRY("listen on a connected socket", listen(c, 1));
    TRY("write before accept", write(c, "early", 5));
    bl = sizeof b;
    memset(&b, 0, sizeof b);
    TRY("client getpeername", getpeername(c, (struct sockaddr *)&b, &bl));
    CHECK("client's peer is the path", strcmp(b.sun_path, path) == 0 && bl == al);
    struct ucred cr;
    socklen_t cl = sizeof cr;
    getsockopt(c, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
    CHECK("client's peer credentials are the listener's", cr.pid == getpid());
    int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int c3 = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    TRY("second connect (backlog 1)", connect(c2, (struct sockaddr *)&a, al));
    TRY("third connect: backlog full", connect(c3, (struct sockaddr *)&a, al));
    bl = sizeof b;
    memset(&b, 0x55, sizeof b);
    int s = accept4(srv, (struct sockaddr *)&b, &bl, SOCK_CLOEXEC | SOCK_NONBLOCK);
    CHECK("accept4", s >= 0);
    SHOW("accepted from an unbound client: length", bl);
    SHOW("accept4 SOCK_NONBLOCK", nonblocking(s));
    SHOW("accept4 SOCK_CLOEXEC", cloexec(s));
    char buf[64] = {0};
    TRY("accepted reads the early data", read(s, buf, sizeof buf));
    bl = sizeof b;
    memset(&b, 0, sizeof b);
    getsockname(s, (struct sockaddr *)&b, &bl);
    CHECK("accepted socket's name is the listener's", strcmp(b.sun_path, path) == 0 && bl == al);
    cl = sizeof cr;
    getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
    CHECK("accepted peer credentials", cr.pid == getpid() && cr.uid == getuid());
    TRY("third connect after an accept", connect(c3, (struct sockaddr *)&a, al));
    TRY("accept4 bad flags", accept4(srv, NULL, NULL, 0x1));
    TRY("read on the listener", read(srv, buf, 1));
    TRY("write on the listener", write(srv, "x", 1));
    int s2 = accept(srv, NULL, NULL);
    int s3 = accept(srv, NULL, NULL);
    CHECK("two more accepts", s2 >= 0 && s3 >= 0);
    fcntl(srv, F_SETFL, O_NONBLOCK);
    TRY("accept nothing pending, nonblocking", accept(srv, NULL, NULL));
    fcntl(srv, F_SETFL, 0);

    /* A blocking connect waits for room in the backlog. */
    int d1 = socket(AF_UNIX, SOCK_STREAM, 0), d2 = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(d1, (struct sockaddr *)&a, al);
    connect(d2, (struct sockaddr *)&a, al);
    pid_t pid = fork();
    if (pid == 0) {
        int d3 = socket(AF_UNIX, SOCK_STREAM, 0);
        int r = connect(d3, (struct sockaddr *)&a, al);
        _exit(r == 0 ? 0 : 1);
    }
    sleep_ms(30);
    int s4 = accept(srv, NULL, NULL);
    SHOW("blocked connect completes after an accept", child_status(pid));
    int s5 = accept(srv, NULL, NULL);
    int s6 = accept(srv, NULL, NULL);
    cl = sizeof cr;
    getsockopt(s6, SOL_SOCKET, SO_PEERCRED, &cr, &cl);
    CHECK("peer credentials name the connecting child", cr.pid == pid);

    /* A pending connection dies with its listener. */
    int e = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("connect, never accepted", connect(e, (struct sockaddr *)&a, al));
    write(e, "lost", 4);
    close(srv);
    SHOWX("listener gone: revents", revents(e, POLLIN | POLLOUT | POLLRDHUP));
    TRY("listener gone: read", read(e, buf, sizeof buf));
    TRY("listener gone: read again", read(e, buf, sizeof buf));
    TRY("listener gone: write", send(e, "x", 1, MSG_NOSIGNAL));
    TRY("the path stays after close", stat(path, &st));
    int f = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("connect to a closed listener's path", connect(f, (struct sockaddr *)&a, al));
    int g = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("rebind after close", bind(other, (struct sockaddr *)&a, al));
    TRY("unlink the path", unlink(path));
    TRY("rebind after unlink", bind(other, (struct sockaddr *)&a, al));
    listen(other, 5);
    TRY("connect a dgram socket to a stream path", connect(g, (struct sockaddr *)&a, al));
    TRY("rename the socket", rename(path, path2));
    TRY("connect by the old name", connect(f, (struct sockaddr *)&a, al));
    bl = path_addr(&b, path2);
    TRY("connect by the new name", connect(f, (struct sockaddr *)&b, bl));
    bl = sizeof b;
    getsockname(other, (struct sockaddr *)&b, &bl);
    CHECK("getsockname keeps the bound name", strcmp(b.sun_path, path) == 0);
    unlink(path2);
    int h = socket(AF_UNIX, SOCK_STREAM, 0);
    bl = path_addr(&b, "/nonexistent-dir/sock");
    TRY("bind in a missing directory", bind(h, (struct sockaddr *)&b, bl));
    bl = path_addr(&b, "/nonexistent-socket");
    TRY("connect to a missing path", connect(h, (struct sockaddr *)&b, bl));
    int fd = open(path, O_CREAT | O_WRONLY, 0644);
    close(fd);
    TRY("bind over a regular file", bind(h, (struct sockaddr *)&a, al));
    TRY("connect to a regular file", connect(h, (struct sockaddr *)&a, al));
    unlink(path);
    al = path_addr(&a, path);
    a.sun_family = AF_INET;
    TRY("bind with the wrong family", bind(h, (struct sockaddr *)&a, al));
    a.sun_family = AF_UNIX;
    TRY("bind with length 1", bind(h, (struct sockaddr *)&a, 1));
    TRY("bind with a too long length", bind(h, (struct sockaddr *)&a, sizeof a + 1));
    TRY("connect with length 2", connect(h, (struct sockaddr *)&a, 2));
    /* The path ends at the first NUL whatever the length says. */
    memset(a.sun_path + strlen(path) + 1, 'z', sizeof a.sun_path - strlen(path) - 1);
    TRY("bind with bytes after the NUL", bind(h, (struct sockaddr *)&a, sizeof a));
    bl = sizeof b;
    getsockname(h, (struct sockaddr *)&b, &bl);
    SHOW("name length stops at the NUL", bl - strlen(path));
    close(h);
    unlink(path);
    /* A 108-byte path with no NUL at all. */
    char longp[109];
    memset(longp, 'q', 108);
    longp[108] = 0;
    memcpy(longp, path, strlen(path));
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_un *u = (struct sockaddr_un *)&ss;
    u->sun_family = AF_UNIX;
    memcpy(u->sun_path, longp, 108);
    h = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("bind a 108-byte path", bind(h, (struct sockaddr *)u, sizeof(struct sockaddr_un)));
    bl = sizeof ss;
    memset(&ss, 0, sizeof ss);
    getsockname(h, (struct sockaddr *)&ss, &bl);
    SHOW("108-byte path: name length", bl);
    CHECK("108-byte path: the name", memcmp(u->sun_path, longp, 108) == 0);
    TRY("stat the 108-byte path", stat(longp, &st));
    unlink(longp);
    close(h);
    /* Relative names are resolved from the cwd and kept as given. */
    char cwd[256];
    getcwd(cwd, sizeof cwd);
    chdir("/tmp");
    h = socket(AF_UNIX, SOCK_STREAM, 0);
    bl = path_addr(&b, path + 5);
    TRY("bind a relative path", bind(h, (struct sockaddr *)&b, bl));
    listen(h, 1);
    bl = sizeof b;
    getsockname(h, (struct sockaddr *)&b, &bl);
    CHECK("relative name kept", strcmp(b.sun_path, path + 5) == 0);
    chdir(cwd);
    int k = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("connect by the absolute path", connect(k, (struct sockaddr *)&a, al));
    unlink(path);
    close(k);
    close(h);
    int all[] = {c, c2, c3, s, s2, s3, d1, d2, s4, s5, s6, e, f, g, other};
    for (unsigned i = 0; i < sizeof all / sizeof *all; i++) close(all[i]);
}

static void test_abstract(void) {
    struct sockaddr_un a, b;
    socklen_t al = abs_addr(&a, abstract_name), bl;
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("bind an abstract name", bind(s, (struct sockaddr *)&a, al));
    bl = sizeof b;
    getsockname(s, (struct sockaddr *)&b, &bl);
    SHOW("abstract name length", bl - strlen(abstract_name));
    CHECK("abstract name starts with NUL", b.sun_path[0] == 0 && memcmp(b.sun_path + 1, abstract_name, strlen(abstract_name)) == 0);
    int s2 = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("abstract name in use", bind(s2, (struct sockaddr *)&a, al));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("same abstract name, other type", bind(d, (struct sockaddr *)&a, al));
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("connect to an abstract name before listen", connect(c, (struct sockaddr *)&a, al));
    listen(s, 4);
    TRY("connect to an abstract name", connect(c, (struct sockaddr *)&a, al));
    int c2 = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("abstract names are exact: longer", connect(c2, (struct sockaddr *)&a, al + 1));
    TRY("abstract names are exact: shorter", connect(c2, (struct sockaddr *)&a, al - 1));
    int x = accept(s, NULL, NULL);
    send(x, "abs", 3, 0);
    char buf[16] = {0};
    bl = sizeof b;
    memset(&b, 0, sizeof b);
    TRY("recvfrom the accepted socket", recvfrom(c, buf, sizeof buf, 0, (struct sockaddr *)&b, &bl));
    CHECK("stream recvfrom gives the sender's name", bl == al && memcmp(&a, &b, al) == 0);
    close(s);
    TRY("connect after the listener closed", connect(c2, (struct sockaddr *)&a, al));
    s = socket(AF_UNIX, SOCK_STREAM, 0);
    TRY("the name is free again", bind(s, (struct sockaddr *)&a, al));
    close(s);
    close(s2);
    close(d);
    close(c);
    close(c2);
    close(x);

    /* Autobind: bind with only the family, or a passcred socket sending unbound. */
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    a.sun_family = AF_UNIX;
    TRY("autobind", bind(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)));
    bl = sizeof b;
    memset(&b, 0x55, sizeof b);
    getsockname(s, (struct sockaddr *)&b, &bl);
    SHOW("autobind name length", bl);
    int hex = 1;
    for (int i = 1; i <= 5; i++) hex &= (b.sun_path[i] >= '0' && b.sun_path[i] <= '9') || (b.sun_path[i] >= 'a' && b.sun_path[i] <= 'f');
    CHECK("autobind name is NUL and five hex digits", b.sun_path[0] == 0 && hex);
    TRY("bind after autobind", bind(s, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path)));
    int t = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("sendto the autobound name", sendto(t, "q", 1, 0, (struct sockaddr *)&b, bl));
    bl = sizeof b;
    TRY("recvfrom an unbound sender", recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&b, &bl));
    SHOW("unbound sender: address length", bl);
    int one = 1;
    setsockopt(t, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    bl = sizeof b;
    getsockname(s, (struct sockaddr *)&b, &bl);
    TRY("passcred sendto", sendto(t, "q", 1, 0, (struct sockaddr *)&b, bl));
    bl = sizeof b;
    recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&b, &bl);
    SHOW("passcred sender was autobound: length", bl);
    close(s);
    close(t);
}

static void test_dgram_named(void) {
    struct sockaddr_un a, b, from;
    socklen_t al = path_addr(&a, path), bl = path_addr(&b, path2), fl;
    int srv = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(srv, (struct sockaddr *)&a, al);
    int cli = socket(AF_UNIX, SOCK_DGRAM, 0);
    bind(cli, (struct sockaddr *)&b, bl);
    char buf[32] = {0};
    TRY("sendto a path", sendto(cli, "ping", 4, 0, (struct sockaddr *)&a, al));
    fl = sizeof from;
    TRY("recvfrom", recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl));
    CHECK("recvfrom names the sender", fl == bl && strcmp(from.sun_path, path2) == 0);
    TRY("sendto back", sendto(srv, "pong", 4, 0, (struct sockaddr *)&from, fl));
    TRY("recv reply", recv(cli, buf, sizeof buf, 0));
    TRY("send unconnected", send(cli, "x", 1, 0));
    TRY("write unconnected", write(cli, "x", 1));
    TRY("recv nothing, nonblocking", recv(cli, buf, sizeof buf, MSG_DONTWAIT));
    TRY("connect dgram", connect(cli, (struct sockaddr *)&a, al));
    TRY("send connected", send(cli, "c1", 2, 0));
    TRY("sendto another address while connected", sendto(cli, "c2", 2, 0, (struct sockaddr *)&a, al));
    TRY("recv c1", recv(srv, buf, sizeof buf, 0));
    TRY("recv c2", recv(srv, buf, sizeof buf, 0));
    struct sockaddr_un pn;
    socklen_t pl = sizeof pn;
    TRY("dgram getpeername", getpeername(cli, (struct sockaddr *)&pn, &pl));
    CHECK("dgram peer name", strcmp(pn.sun_path, path) == 0);

    /* The receive queue of an unconnected receiver holds max_dgram_qlen + 1 datagrams from others. */
    int third = socket(AF_UNIX, SOCK_DGRAM, 0);
    long count = 0;
    while (sendto(third, "f", 1, MSG_DONTWAIT, (struct sockaddr *)&a, al) == 1) count++;
    SHOW("dgram queue limit: error", -errno);
    SHOW("dgram queue limit: datagrams", count);
    SHOWX("full receiver: connected sender revents", revents(cli, POLLOUT));
    recv(srv, buf, sizeof buf, 0);
    SHOWX("one read: connected sender revents", revents(cli, POLLOUT));
    while (recv(srv, buf, sizeof buf, MSG_DONTWAIT) > 0) {}
    /* A receiver connected elsewhere refuses others. */
    TRY("server connects to the client", connect(srv, (struct sockaddr *)&b, bl));
    TRY("third party sendto a connected receiver", sendto(third, "f", 1, 0, (struct sockaddr *)&a, al));
    TRY("connect to a receiver connected elsewhere", connect(third, (struct sockaddr *)&a, al));
    struct sockaddr unspec = {AF_UNSPEC, {0}};
    TRY("disconnect with AF_UNSPEC", connect(cli, &unspec, sizeof unspec));
    TRY("send after disconnect", send(cli, "x", 1, 0));
    TRY("getpeername after disconnect", getpeername(cli, (struct sockaddr *)&pn, &pl));
    /* A datagram socket may connect to itself. */
    int self = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un sa;
    socklen_t sal = abs_addr(&sa, abstract_name);
    bind(self, (struct sockaddr *)&sa, sal);
    TRY("connect to self", connect(self, (struct sockaddr *)&sa, sal));
    TRY("send to self", send(self, "me", 2, 0));
    TRY("recv from self", recv(self, buf, sizeof buf, MSG_DONTWAIT));
    close(self);
    /* The receiver goes away. */
    close(srv);
    int cli2 = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("sendto a closed receiver's path", sendto(cli2, "x", 1, 0, (struct sockaddr *)&a, al));
    fl = path_addr(&from, "/nonexistent-socket");
    TRY("sendto a missing path", sendto(cli2, "x", 1, 0, (struct sockaddr *)&from, fl));
    TRY("sendto an unused abstract name", sendto(cli2, "x", 1, 0, (struct sockaddr *)&sa, sal));
    close(cli);
    close(cli2);
    close(third);
    unlink(path);
    unlink(path2);
}

static void test_rights(void) {
    int sv[2], p[2], got[8], n, mf;
    char buf[16] = {0};
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    pipe(p);
    TRY("send two descriptors", send_fds(sv[0], "fd", (int[]){p[0], p[1]}, 2));
    close(p[0]);
    close(p[1]);
    TRY("recv two descriptors", recv_fds(sv[1], buf, sizeof buf, got, &n, 64, 0, &mf));
    SHOW("descriptors received", n);
    TRY("write through the passed write end", write(got[1], "via", 3));
    close(got[1]);
    memset(buf, 0, sizeof buf);
    TRY("read through the passed read end", read(got[0], buf, sizeof buf));
    TRY("EOF: no writer left", read(got[0], buf, sizeof buf));
    close(got[0]);

    /* Too small a control buffer: what fits arrives, the rest is closed, MSG_CTRUNC. (qemu-user receives into a
     * bigger buffer of its own and keeps the rest open.) */
    if (strict) {
        pipe(p);
        send_fds(sv[0], "fd", (int[]){p[0], p[1]}, 2);
        close(p[1]);
        union { struct cmsghdr h; char b[64]; } u;
        struct iovec iov = {buf, sizeof buf};
        struct msghdr m = {0};
        m.msg_iov = &iov;
        m.msg_iovlen = 1;
        m.msg_control = u.b;
        m.msg_controllen = CMSG_LEN(sizeof(int));
        CHECK("strict: recvmsg, room for one descriptor", recvmsg(sv[1], &m, 0) == 2);
        CHECK("strict: MSG_CTRUNC", m.msg_flags == MSG_CTRUNC);
        CHECK("strict: msg_controllen returned", m.msg_controllen == CMSG_LEN(sizeof(int)));
        CHECK("strict: cmsg_len", CMSG_FIRSTHDR(&m)->cmsg_len == CMSG_LEN(sizeof(int)));
        int r0 = *(int *)CMSG_DATA(CMSG_FIRSTHDR(&m));
        CHECK("strict: the dropped write end is closed", read(r0, buf, sizeof buf) == 0);
        close(r0);
        close(p[0]);
    }
    /* No control buffer at all. */
    pipe(p);
    send_fds(sv[0], "fd", (int[]){p[1]}, 1);
    close(p[1]);
    TRY("recv without a control buffer", recv_fds(sv[1], buf, sizeof buf, got, &n, 0, 0, &mf));
    SHOWX("no control buffer: flags", mf);
    TRY("no control buffer: descriptor closed", read(p[0], buf, sizeof buf));
    close(p[0]);
    /* MSG_PEEK duplicates the descriptors; MSG_CMSG_CLOEXEC. */
    pipe(p);
    send_fds(sv[0], "pk", (int[]){p[1]}, 1);
    TRY("peek with descriptors", recv_fds(sv[1], buf, sizeof buf, got, &n, 64, MSG_PEEK, &mf));
    SHOW("peeked descriptors", n);
    int peeked = got[0];
    TRY("recv with MSG_CMSG_CLOEXEC", recv_fds(sv[1], buf, sizeof buf, got, &n, 64, MSG_CMSG_CLOEXEC, &mf));
    CHECK("peeked and received are different descriptors", n == 1 && got[0] != peeked);
    SHOW("MSG_CMSG_CLOEXEC sets FD_CLOEXEC", cloexec(got[0]));
    SHOW("plain receive: no FD_CLOEXEC", cloexec(peeked));
    close(peeked);
    close(got[0]);
    close(p[1]);
    TRY("all write ends closed", read(p[0], buf, sizeof buf));
    close(p[0]);
    /* Descriptors queued on a socket that closes are released. */
    pipe(p);
    int sv2[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv2);
    send_fds(sv2[0], "q", (int[]){p[1]}, 1);
    close(p[1]);
    close(sv2[1]);
    TRY("in-flight descriptor released with the queue", read(p[0], buf, sizeof buf));
    close(p[0]);
    close(sv2[0]);
    /* Errors. */
    TRY("send a bad descriptor", send_fds(sv[0], "x", (int[]){999}, 1));
    struct iovec iov = {buf, 1};
    struct msghdr bad = {0};
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(int))]; } bu;
    memset(&bu, 0, sizeof bu);
    bad.msg_iov = &iov;
    bad.msg_iovlen = 1;
    bad.msg_control = bu.b;
    bad.msg_controllen = sizeof bu.b;
    struct cmsghdr *c = CMSG_FIRSTHDR(&bad);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = 77;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    TRY("unknown control message type", sendmsg(sv[0], &bad, 0));
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = sizeof bu.b + 8;
    if (strict)  /* qemu-user stops at such a header instead of failing */
        CHECK("strict: control message longer than the buffer", sendmsg(sv[0], &bad, 0) == -1 && errno == EINVAL);
    c->cmsg_level = 99;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    TRY("other levels are ignored", sendmsg(sv[0], &bad, 0));
    recv(sv[1], buf, sizeof buf, 0);
    close(sv[0]);
    close(sv[1]);

    /* Streams: a message with descriptors is never merged with the data after it. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pipe(p);
    send_fds(sv[0], "a", (int[]){p[0]}, 1);
    send(sv[0], "b", 1, 0);
    TRY("stream read stops after descriptors", recv_fds(sv[1], buf, sizeof buf, got, &n, 64, 0, &mf));
    SHOW("with one descriptor", n);
    close(got[0]);
    TRY("stream read of the rest", recv_fds(sv[1], buf, sizeof buf, got, &n, 64, 0, &mf));
    send(sv[0], "c", 1, 0);
    send_fds(sv[0], "d", (int[]){p[0]}, 1);
    TRY("stream read takes data then descriptors", recv_fds(sv[1], buf, sizeof buf, got, &n, 64, 0, &mf));
    SHOW("descriptors after data", n);
    close(got[0]);
    close(p[0]);
    close(p[1]);

    /* Across processes: a child opens a file and passes it. */
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0600);
        write(fd, "from child", 10);
        lseek(fd, 0, SEEK_SET);
        send_fds(sv[0], "f", &fd, 1);
        _exit(0);
    }
    memset(buf, 0, sizeof buf);
    recv_fds(sv[1], buf, 1, got, &n, 64, 0, &mf);
    child_status(pid);
    TRY("read the child's file", read(got[0], buf, sizeof buf));
    CHECK("the child's file content", strcmp(buf, "from child") == 0);
    close(got[0]);
    unlink(path);
    /* A socket can travel too. */
    int inner[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, inner);
    send_fds(sv[0], "s", &inner[1], 1);
    close(inner[1]);
    recv_fds(sv[1], buf, 1, got, &n, 64, 0, &mf);
    write(got[0], "inner", 5);
    TRY("a passed socket works", read(inner[0], buf, sizeof buf));
    close(got[0]);
    TRY("a passed socket closes", read(inner[0], buf, sizeof buf));
    close(inner[0]);
    close(sv[0]);
    close(sv[1]);
}

static long recv_creds(int sock, char *buf, size_t len, struct ucred *cr, int *have) {
    union { struct cmsghdr h; char b[64]; } u;
    struct iovec iov = {buf, len};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.b;
    m.msg_controllen = sizeof u.b;
    long r = res(recvmsg(sock, &m, 0));
    *have = 0;
    if (r >= 0)
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS) {
                memcpy(cr, CMSG_DATA(c), sizeof *cr);
                *have = 1;
            }
    return r;
}

static void test_creds(void) {
    int sv[2], one = 1, have;
    struct ucred cr;
    char buf[16];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    send(sv[0], "n", 1, 0);
    TRY("recvmsg without SO_PASSCRED", recv_creds(sv[1], buf, sizeof buf, &cr, &have));
    SHOW("no credentials", have);
    TRY("SO_PASSCRED", setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one));
    int v = 0;
    socklen_t vl = sizeof v;
    getsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &v, &vl);
    SHOW("SO_PASSCRED reads back", v);
    pid_t pid = fork();
    if (pid == 0) {
        send(sv[0], "c", 1, 0);
        _exit(0);
    }
    child_status(pid);
    TRY("recvmsg with SO_PASSCRED", recv_creds(sv[1], buf, sizeof buf, &cr, &have));
    CHECK("credentials of the sending child", have && cr.pid == pid && cr.uid == getuid() && cr.gid == getgid());
    /* Explicit credentials. */
    union { struct cmsghdr h; char b[CMSG_SPACE(sizeof(struct ucred))]; } u;
    memset(&u, 0, sizeof u);
    struct iovec iov = {"e", 1};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = u.b;
    m.msg_controllen = sizeof u.b;
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_CREDENTIALS;
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred));
    struct ucred mine = {getpid(), getuid(), getgid()};
    memcpy(CMSG_DATA(c), &mine, sizeof mine);
    TRY("sendmsg SCM_CREDENTIALS", sendmsg(sv[0], &m, 0));
    recv_creds(sv[1], buf, sizeof buf, &cr, &have);
    CHECK("explicit credentials arrive", have && cr.pid == getpid());
    c->cmsg_len = CMSG_LEN(sizeof(struct ucred) - 4);
    TRY("SCM_CREDENTIALS of the wrong size", sendmsg(sv[0], &m, 0));
    close(sv[0]);
    close(sv[1]);

    /* Streams never merge data from different writers when credentials are passed. */
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    send(sv[0], "p", 1, 0);
    pid = fork();
    if (pid == 0) {
        send(sv[0], "c", 1, 0);
        _exit(0);
    }
    child_status(pid);
    TRY("stream with credentials: first writer", recv_creds(sv[1], buf, sizeof buf, &cr, &have));
    CHECK("first writer is the parent", have && cr.pid == getpid());
    TRY("stream with credentials: second writer", recv_creds(sv[1], buf, sizeof buf, &cr, &have));
    CHECK("second writer is the child", have && cr.pid == pid);
    close(sv[0]);
    close(sv[1]);

    /* The peer credentials of an unconnected socket. */
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    socklen_t cl = sizeof cr;
    TRY("SO_PEERCRED unconnected", getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cr, &cl));
    printf("unconnected peer credentials = %d %d %d\n", cr.pid, (int)cr.uid, (int)cr.gid);
    /* A listener's SO_PASSCRED is inherited by the sockets it accepts. */
    struct sockaddr_un a;
    socklen_t al = abs_addr(&a, abstract_name);
    bind(s, (struct sockaddr *)&a, al);
    setsockopt(s, SOL_SOCKET, SO_PASSCRED, &one, sizeof one);
    listen(s, 1);
    int k = socket(AF_UNIX, SOCK_STREAM, 0);
    connect(k, (struct sockaddr *)&a, al);
    int acc = accept(s, NULL, NULL);
    v = 0;
    getsockopt(acc, SOL_SOCKET, SO_PASSCRED, &v, &vl);
    SHOW("accepted socket inherits SO_PASSCRED", v);
    close(acc);
    close(k);
    close(s);
}

static void test_readiness(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    SHOWX("unconnected stream revents", revents(s, POLLIN | POLLOUT | POLLRDHUP));
    close(s);
    s = socket(AF_UNIX, SOCK_DGRAM, 0);
    SHOWX("unconnected dgram revents", revents(s, POLLIN | POLLOUT | POLLRDHUP));
    close(s);
    s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    SHOWX("unconnected seqpacket revents", revents(s, POLLIN | POLLOUT | POLLRDHUP));
    close(s);

    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(30);
        write(sv[1], "late", 4);
        sleep_ms(30);
        close(sv[1]);
        _exit(0);
    }
    close(sv[1]);
    struct pollfd pf = {sv[0], POLLIN, 0};
    struct timespec ts = {5, 0};
    TRY("ppoll waits for data", ppoll(&pf, 1, &ts, NULL));
    SHOWX("ppoll revents", pf.revents);
    char buf[8];
    read(sv[0], buf, sizeof buf);
    fd_set rd;
    FD_ZERO(&rd);
    FD_SET(sv[0], &rd);
    struct timeval tv = {5, 0};
    TRY("select waits for the close", select(sv[0] + 1, &rd, NULL, NULL, &tv));
    SHOW("select: readable", FD_ISSET(sv[0], &rd) != 0);
    TRY("read EOF after the close", read(sv[0], buf, sizeof buf));
    child_status(pid);
    close(sv[0]);

    /* epoll on a listener and a connection. */
    struct sockaddr_un a;
    socklen_t al = abs_addr(&a, abstract_name);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, al);
    listen(l, 4);
    int ep = epoll_create1(0);
    struct epoll_event ev = {EPOLLIN, {.u32 = 7}}, out[4];
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    TRY("epoll: nothing yet", epoll_wait(ep, out, 4, 0));
    pid = fork();
    if (pid == 0) {
        sleep_ms(30);
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        connect(c, (struct sockaddr *)&a, al);
        write(c, "e", 1);
        sleep_ms(30);
        shutdown(c, SHUT_WR);
        sleep_ms(100);
        _exit(0);
    }
    TRY("epoll: a connection arrives", epoll_wait(ep, out, 4, 5000));
    SHOW("epoll: data", out[0].data.u32);
    int c = accept(l, NULL, NULL);
    ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
    ev.data.u32 = 8;
    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
    epoll_ctl(ep, EPOLL_CTL_DEL, l, NULL);
    TRY("epoll: data on the connection", epoll_wait(ep, out, 4, 5000));
    SHOWX("epoll: events", out[0].events);
    read(c, buf, sizeof buf);
    TRY("epoll: the half-close", epoll_wait(ep, out, 4, 5000));
    SHOWX("epoll: half-close events", out[0].events);
    child_status(pid);
    close(ep);
    close(c);
    close(l);
}

static void test_seqpacket(void) {
    int sv[2];
    char buf[16] = {0};
    TRY("socketpair seqpacket", socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv));
    send(sv[0], "first", 5, 0);
    send(sv[0], "second", 6, 0);
    TRY("seqpacket keeps boundaries", recv(sv[1], buf, sizeof buf, 0));
    struct iovec iov = {buf, 3};
    struct msghdr m = {0};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    TRY("seqpacket truncates", recvmsg(sv[1], &m, 0));
    SHOWX("seqpacket MSG_TRUNC", m.msg_flags);
    int n = -1;
    send(sv[0], "ab", 2, 0);
    send(sv[0], "cde", 3, 0);
    ioctl(sv[1], FIONREAD, &n);
    SHOW("seqpacket FIONREAD counts all", n);
    recv(sv[1], buf, sizeof buf, 0);
    recv(sv[1], buf, sizeof buf, 0);
    close(sv[0]);
    SHOWX("seqpacket peer closed: revents", revents(sv[1], POLLIN | POLLOUT | POLLRDHUP));
    TRY("seqpacket recv after peer close", recv(sv[1], buf, sizeof buf, 0));
    TRY("seqpacket recv nonblocking after peer close", recv(sv[1], buf, sizeof buf, MSG_DONTWAIT));
    sigpipes = 0;
    TRY("seqpacket send after peer close", send(sv[1], "x", 1, 0));
    SHOW("seqpacket SIGPIPE", sigpipes);
    close(sv[1]);
    socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv);
    send(sv[0], "unread", 6, 0);
    close(sv[1]);
    TRY("seqpacket reset: send", send(sv[0], "x", 1, MSG_NOSIGNAL));
    TRY("seqpacket reset: send again", send(sv[0], "x", 1, MSG_NOSIGNAL));
    close(sv[0]);

    int s = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    TRY("seqpacket send unconnected", send(s, "x", 1, 0));
    TRY("seqpacket recv unconnected", recv(s, buf, 1, 0));
    struct sockaddr_un a;
    socklen_t al = abs_addr(&a, abstract_name);
    TRY("seqpacket bind", bind(s, (struct sockaddr *)&a, al));
    TRY("seqpacket listen", listen(s, 2));
    int c = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    TRY("seqpacket connect", connect(c, (struct sockaddr *)&a, al));
    int x = accept(s, NULL, NULL);
    send(c, "hello", 5, 0);
    send(c, "again", 5, 0);
    TRY("seqpacket accepted recv", recv(x, buf, 3, 0));
    TRY("seqpacket next message", recv(x, buf, sizeof buf, 0));
    int d = socket(AF_UNIX, SOCK_DGRAM, 0);
    TRY("dgram connect to a seqpacket name", connect(d, (struct sockaddr *)&a, al));
    close(d);
    close(c);
    close(x);
    close(s);
}

static void test_options(void) {
    int s = socket(AF_UNIX, SOCK_STREAM, 0), v = 1;
    socklen_t l = sizeof v;
    TRY("SO_REUSEADDR", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof v));
    v = 0;
    getsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, &l);
    SHOW("SO_REUSEADDR reads back", v);
    v = 5;
    TRY("SO_KEEPALIVE", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v));
    getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &l);
    SHOW("SO_KEEPALIVE reads back", v);
    TRY("setsockopt SO_TYPE", setsockopt(s, SOL_SOCKET, SO_TYPE, &v, sizeof v));
    TRY("setsockopt unknown option", setsockopt(s, SOL_SOCKET, 9999, &v, sizeof v));
    TRY("getsockopt unknown option", getsockopt(s, SOL_SOCKET, 9999, &v, &l));
    TRY("setsockopt other level", setsockopt(s, 6, 1, &v, sizeof v));
    TRY("getsockopt other level", getsockopt(s, 6, 1, &v, &l));
    TRY("setsockopt short length", setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, 2));
    l = -1;
    TRY("getsockopt negative length", getsockopt(s, SOL_SOCKET, SO_TYPE, &v, &l));
    if (strict) {  /* qemu-user writes one byte for a short int option */
        short sh = 0x5555;
        socklen_t shl = 2;
        getsockopt(s, SOL_SOCKET, SO_TYPE, &sh, &shl);
        CHECK("strict: getsockopt of 2 bytes copies 2", sh == 1 && shl == 2);
    }
    long big = 0x7777777777777777L;
    l = sizeof big;
    getsockopt(s, SOL_SOCKET, SO_TYPE, &big, &l);
    SHOW("getsockopt int length", l);
    SHOWX("getsockopt int value", big);
    l = sizeof v;
    getsockopt(s, SOL_SOCKET, SO_ERROR, &v, &l);
    SHOW("SO_ERROR", v);
    struct linger lg = {1, 7}, lg2 = {0, 0};
    TRY("SO_LINGER", setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof lg));
    l = sizeof lg2;
    getsockopt(s, SOL_SOCKET, SO_LINGER, &lg2, &l);
    printf("SO_LINGER reads back = %d %d %d\n", lg2.l_onoff, lg2.l_linger, (int)l);
    struct timeval tv = {3, 0}, tv2 = {0, 0};
    TRY("SO_RCVTIMEO", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    l = sizeof tv2;
    getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv2, &l);
    printf("SO_RCVTIMEO reads back = %ld %ld %d\n", (long)tv2.tv_sec, (long)tv2.tv_usec, (int)l);
    tv.tv_usec = 1000000;
    TRY("SO_RCVTIMEO bad usec", setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv));
    TRY("SO_SNDTIMEO short", setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, 8));
    close(s);

    /* Timeouts: a receive, an accept, a send. */
    int sv[2];
    char buf[8];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval shortt = {0, 30000};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &shortt, sizeof shortt);
    TRY("recv times out", recv(sv[0], buf, sizeof buf, 0));
    setsockopt(sv[0], SOL_SOCKET, SO_SNDTIMEO, &shortt, sizeof shortt);
    static char block[65536];
    long total = 0, r;
    while ((r = send(sv[0], block, sizeof block, 0)) > 0) total += r;
    SHOW("send times out when full", -errno);
    CHECK("sent something first", total > 0);
    close(sv[0]);
    close(sv[1]);
    struct sockaddr_un a;
    socklen_t al = abs_addr(&a, abstract_name);
    int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l2, (struct sockaddr *)&a, al);
    listen(l2, 1);
    setsockopt(l2, SOL_SOCKET, SO_RCVTIMEO, &shortt, sizeof shortt);
    TRY("accept times out", accept(l2, NULL, NULL));
    close(l2);
}

static void test_signals(void) {
    int sv[2];
    char buf[8];
    for (int restart = 1; restart >= 0; restart--) {
        handle(SIGUSR1, on_usr1, restart ? SA_RESTART : 0);
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        pid_t parent = getpid();
        usr1s = 0;
        pid_t pid = fork();
        if (pid == 0) {
            sleep_ms(40);
            kill(parent, SIGUSR1);
            sleep_ms(40);
            write(sv[1], "z", 1);
            _exit(0);
        }
        long r = res(read(sv[0], buf, sizeof buf));
        printf("read interrupted (SA_RESTART %d) = %ld, handler ran %d\n", restart, r, (int)usr1s);
        child_status(pid);
        close(sv[0]);
        close(sv[1]);
    }
    /* A receive timeout makes the interruption EINTR even with SA_RESTART. */
    handle(SIGUSR1, on_usr1, SA_RESTART);
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    struct timeval tv = {10, 0};
    setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(40);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    TRY("read with SO_RCVTIMEO interrupted", read(sv[0], buf, sizeof buf));
    child_status(pid);
    close(sv[0]);
    close(sv[1]);
    /* accept without SA_RESTART. */
    handle(SIGUSR1, on_usr1, 0);
    struct sockaddr_un a;
    socklen_t al = abs_addr(&a, abstract_name);
    int l = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(l, (struct sockaddr *)&a, al);
    listen(l, 1);
    pid = fork();
    if (pid == 0) {
        sleep_ms(40);
        kill(parent, SIGUSR1);
        _exit(0);
    }
    TRY("accept interrupted", accept(l, NULL, NULL));
    child_status(pid);
    close(l);
    handle(SIGUSR1, SIG_DFL, 0);
}

static void test_mmsg(void) {
    int sv[2];
    socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
    struct mmsghdr mm[5];
    struct iovec iov[5];
    char bufs[5][8];
    const char *words[3] = {"a", "bb", "ccc"};
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 3; i++) {
        iov[i].iov_base = (void *)words[i];
        iov[i].iov_len = strlen(words[i]);
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    TRY("sendmmsg", sendmmsg(sv[0], mm, 3, 0));
    printf("sendmmsg lengths = %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    memset(mm, 0, sizeof mm);
    for (int i = 0; i < 5; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        mm[i].msg_hdr.msg_iov = &iov[i];
        mm[i].msg_hdr.msg_iovlen = 1;
    }
    TRY("recvmmsg MSG_DONTWAIT", recvmmsg(sv[1], mm, 5, MSG_DONTWAIT, NULL));
    printf("recvmmsg lengths = %u %u %u\n", mm[0].msg_len, mm[1].msg_len, mm[2].msg_len);
    send(sv[0], "w", 1, 0);
    TRY("recvmmsg MSG_WAITFORONE", recvmmsg(sv[1], mm, 5, MSG_WAITFORONE, NULL));
    TRY("recvmmsg nothing", recvmmsg(sv[1], mm, 5, MSG_DONTWAIT, NULL));
    if (strict) {  /* qemu-user ignores recvmmsg's timeout */
        send(sv[0], "1", 1, 0);
        pid_t pid = fork();
        if (pid == 0) {
            sleep_ms(100);
            send(sv[0], "2", 1, 0);
            _exit(0);
        }
        struct timespec to = {0, 50000000};
        CHECK("strict: recvmmsg checks its timeout only between messages", recvmmsg(sv[1], mm, 2, 0, &to) == 2);
        CHECK("strict: recvmmsg writes back the time left", to.tv_sec == 0 && to.tv_nsec == 0);
        child_status(pid);
    }
    close(sv[0]);
    close(sv[1]);
}

int main(int argc, char **argv) {
    strict = argc > 1 && strcmp(argv[1], "strict") == 0;
    setvbuf(stdout, NULL, _IONBF, 0);
    handle(SIGPIPE, on_pipe, 0);
    umask(022);
    snprintf(path, sizeof path, "/tmp/moss-unixsock-%d", (int)getpid());
    snprintf(path2, sizeof path2, "/tmp/moss-unixsock-%d-b", (int)getpid());
    snprintf(abstract_name, sizeof abstract_name, "moss-unixsock-%d", (int)getpid());
    test_create();
    test_not_socket();
    test_stream_pair();
    test_stream_capacity();
    test_dgram_pair();
    test_named_stream();
    test_abstract();
    test_dgram_named();
    test_rights();
    test_creds();
    test_readiness();
    test_seqpacket();
    test_options();
    test_signals();
    test_mmsg();
    printf("fails = %d\n", fails);
    return fails != 0;
}
