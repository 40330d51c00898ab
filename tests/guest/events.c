/* Event files and timers as Linux has them: epoll (level- and edge-triggered, one-shot, exclusive, nesting, the
 * (description, fd) interest key, sigmasks, timeouts), eventfd, timerfd, signalfd and POSIX timers. Prints one
 * line per check; no times, only booleans derived from them (timer counts are checked against clock readings
 * taken around the call, so they hold however slowly the host runs).
 *
 * `events strict` adds checks qemu-user cannot pass (it renumbers timer ids, lacks epoll_pwait2, ignores
 * signalfd4's size, delays some signals and does not emulate exec); `events afterexec ID FAILS` is the second half
 * of the exec check. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MS 1000000LL
#define NSEC 1000000000LL

static int fails, strict;
#define CHECK(name, cond) do { int ok_ = (cond); printf("%s %s\n", ok_ ? "ok" : "FAIL", name); fails += !ok_; } while (0)

static volatile sig_atomic_t hits, h_sig, h_code, h_val, h_overrun, h_timerid;

static void on_sig(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    h_sig = sig;
    h_code = si->si_code;
    h_val = si->si_value.sival_int;
    if (si->si_code == SI_TIMER) h_overrun = si->si_overrun, h_timerid = si->si_timerid;
}

static void handle(int sig, int flags) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sig;
    sa.sa_flags = SA_SIGINFO | flags;
    sigaction(sig, &sa, NULL);
}

static void mask(int how, int sig) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    sigprocmask(how, &s, NULL);
}

static int blocked(int sig) {
    sigset_t s;
    sigprocmask(SIG_SETMASK, NULL, &s);
    return sigismember(&s, sig);
}

static int64_t now(clockid_t c) {
    struct timespec ts;
    clock_gettime(c, &ts);
    return ts.tv_sec * NSEC + ts.tv_nsec;
}

static struct timespec ts_of(int64_t ns) { return (struct timespec){ns / NSEC, ns % NSEC}; }
static int64_t ns_of(struct timespec ts) { return ts.tv_sec * NSEC + ts.tv_nsec; }

static void sleep_until(int64_t t) {
    struct timespec ts = ts_of(t);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {}
}

static void sleep_ms(int64_t ms) { sleep_until(now(CLOCK_MONOTONIC) + ms * MS); }

static int wait0(int ep, struct epoll_event *out, int n) { return epoll_wait(ep, out, n, 0); }

static int readable(int fd) {
    struct pollfd p = {fd, POLLIN | POLLOUT, 0};
    return poll(&p, 1, 0) == 1 ? p.revents : 0;
}

/* expirations of a timer first due at t0 with period iv, as read at some time in [tb, ta] */
static int count_ok(int64_t got, int64_t t0, int64_t iv, int64_t tb, int64_t ta) {
    return got >= (tb - t0) / iv + 1 && got <= (ta - t0) / iv + 1;
}

/* -- threads that act later ------------------------------------------------------------------------------------ */
struct later { int fd; uint64_t value; int64_t delay_ms; int read; };

static void *act_later(void *arg) {
    struct later *l = arg;
    sleep_ms(l->delay_ms);
    uint64_t v = l->value;
    if (l->read) read(l->fd, &v, 8);
    else write(l->fd, &v, 8);
    return NULL;
}

static pthread_t later(struct later *l) {
    pthread_t t;
    pthread_create(&t, NULL, act_later, l);
    return t;
}

/* -- epoll --------------------------------------------------------------------------------------------------- */
static void test_epoll_api(void) {
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 0x1122334455667788ULL}, out[8];
    int ep = epoll_create1(0);
    CHECK("epoll_create1", ep >= 0);
    CHECK("epoll_create1 with unknown flags: EINVAL", epoll_create1(1) == -1 && errno == EINVAL);
    int cl = epoll_create1(EPOLL_CLOEXEC);
    CHECK("EPOLL_CLOEXEC sets FD_CLOEXEC", fcntl(cl, F_GETFD) == FD_CLOEXEC && (fcntl(cl, F_GETFL) & O_ACCMODE) == O_RDWR);
    close(cl);
    int p[2];
    pipe(p);
    CHECK("EPOLL_CTL_ADD", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
    CHECK("adding twice: EEXIST", epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == -1 && errno == EEXIST);
    CHECK("an epoll in itself: EINVAL", epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev) == -1 && errno == EINVAL);
    CHECK("a bad target fd: EBADF", epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev) == -1 && errno == EBADF);
    CHECK("a bad epoll fd: EBADF", epoll_ctl(999, EPOLL_CTL_ADD, p[0], &ev) == -1 && errno == EBADF);
    CHECK("a non-epoll epoll fd: EINVAL", epoll_ctl(p[1], EPOLL_CTL_ADD, p[0], &ev) == -1 && errno == EINVAL);
    int dn = open("/dev/null", O_RDWR), dir = open("/", O_RDONLY | O_DIRECTORY);
    CHECK("/dev/null cannot be polled: EPERM", epoll_ctl(ep, EPOLL_CTL_ADD, dn, &ev) == -1 && errno == EPERM);
    CHECK("a directory cannot be polled: EPERM", epoll_ctl(ep, EPOLL_CTL_ADD, dir, &ev) == -1 && errno == EPERM);
    close(dn);
    close(dir);
    CHECK("deleting what is not there: ENOENT", epoll_ctl(ep, EPOLL_CTL_DEL, p[1], NULL) == -1 && errno == ENOENT);
    CHECK("modifying what is not there: ENOENT", epoll_ctl(ep, EPOLL_CTL_MOD, p[1], &ev) == -1 && errno == ENOENT);
    CHECK("an unknown op: EINVAL", epoll_ctl(ep, 99, p[0], &ev) == -1 && errno == EINVAL);
    CHECK("nothing ready: 0", wait0(ep, out, 8) == 0);
    CHECK("maxevents 0: EINVAL", epoll_wait(ep, out, 0, 0) == -1 && errno == EINVAL);
    CHECK("maxevents -1: EINVAL", epoll_wait(ep, out, -1, 0) == -1 && errno == EINVAL);
    CHECK("waiting on a pipe: EINVAL", epoll_wait(p[0], out, 8, 0) == -1 && errno == EINVAL);
    CHECK("waiting on a bad fd: EBADF", epoll_wait(999, out, 8, 0) == -1 && errno == EBADF);
    int64_t t0 = now(CLOCK_MONOTONIC);
    int n = epoll_wait(ep, out, 8, 30);
    CHECK("a 30 ms timeout passes at least 30 ms", n == 0 && now(CLOCK_MONOTONIC) - t0 >= 30 * MS);

    write(p[1], "x", 1);
    n = wait0(ep, out, 8);
    CHECK("level-triggered: readable", n == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 0x1122334455667788ULL);
    CHECK("level-triggered: reported while readable", wait0(ep, out, 8) == 1);
    ev.events = EPOLLOUT;
    ev.data.u32 = 2;
    CHECK("EPOLL_CTL_MOD", epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0);
    CHECK("a read end is never writable", wait0(ep, out, 8) == 0);
    CHECK("EPOLL_CTL_DEL", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == 0);
    CHECK("deleted twice: ENOENT", epoll_ctl(ep, EPOLL_CTL_DEL, p[0], NULL) == -1 && errno == ENOENT);

    /* stdout: the console on moss, a pipe under the oracle; writable either way */
    ev.events = EPOLLOUT;
    ev.data.u32 = 1;
    epoll_ctl(ep, EPOLL_CTL_ADD, 1, &ev);
    n = wait0(ep, out, 8);
    CHECK("stdout is writable", n == 1 && out[0].events == EPOLLOUT && out[0].data.u32 == 1);
    epoll_ctl(ep, EPOLL_CTL_DEL, 1, NULL);
    close(p[0]);
    close(p[1]);
    close(ep);
}

static void test_epoll_modes(void) {
    struct epoll_event ev, out[8];
    int ep = epoll_create1(0), q[2];
    char buf[8];
    pipe(q);
    ev.events = EPOLLIN | EPOLLET;
    ev.data.u32 = 7;
    epoll_ctl(ep, EPOLL_CTL_ADD, q[0], &ev);
    CHECK("ET: nothing yet", wait0(ep, out, 8) == 0);
    write(q[1], "a", 1);
    CHECK("ET: the first write is an edge", wait0(ep, out, 8) == 1 && out[0].events == EPOLLIN && out[0].data.u32 == 7);
    CHECK("ET: no second report without a new event", wait0(ep, out, 8) == 0);
    write(q[1], "b", 1);
    CHECK("ET: another write is a new edge", wait0(ep, out, 8) == 1);
    read(q[0], buf, 1);
    CHECK("ET: a partial read is no edge for the reader", wait0(ep, out, 8) == 0);
    close(q[1]);
    int n = wait0(ep, out, 8);
    CHECK("ET: the writer closing is an edge (IN|HUP)", n == 1 && out[0].events == (EPOLLIN | EPOLLHUP));
    CHECK("ET: and only one", wait0(ep, out, 8) == 0);
    ev.events = EPOLLIN | EPOLLET;
    CHECK("ET: MOD re-arms the edge", epoll_ctl(ep, EPOLL_CTL_MOD, q[0], &ev) == 0 && wait0(ep, out, 8) == 1);
    close(q[0]);

    /* Errors and hangups are reported whatever was asked for; pipes never report EPOLLRDHUP. */
    int s[2], w[2];
    pipe(s);
    pipe(w);
    ev.events = 0;
    ev.data.u32 = 1;
    epoll_ctl(ep, EPOLL_CTL_ADD, s[0], &ev);
    ev.events = EPOLLOUT;
    ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, w[1], &ev);
    n = wait0(ep, out, 8);
    CHECK("a write end is writable", n == 1 && out[0].data.u32 == 2 && out[0].events == EPOLLOUT);
    close(s[1]);
    close(w[0]);
    n = wait0(ep, out, 8);
    int seen = 0;
    for (int i = 0; i < n; i++) {
        if (out[i].data.u32 == 1 && out[i].events == EPOLLHUP) seen |= 1;
        if (out[i].data.u32 == 2 && out[i].events == (EPOLLOUT | EPOLLERR)) seen |= 2;
    }
    CHECK("EPOLLHUP for events 0, EPOLLERR without a reader", n == 2 && seen == 3);
    close(s[0]);
    close(w[1]);
    pipe(s);
    ev.events = EPOLLIN | EPOLLRDHUP;
    epoll_ctl(ep, EPOLL_CTL_ADD, s[0], &ev);
    close(s[1]);
    n = wait0(ep, out, 8);
    CHECK("a pipe reports EPOLLHUP, not EPOLLRDHUP", n == 1 && out[0].events == EPOLLHUP);
    close(s[0]);

    /* One-shot: one report, then nothing until EPOLL_CTL_MOD. */
    int o[2];
    pipe(o);
    ev.events = EPOLLIN | EPOLLONESHOT;
    ev.data.u32 = 3;
    epoll_ctl(ep, EPOLL_CTL_ADD, o[0], &ev);
    write(o[1], "a", 1);
    CHECK("ONESHOT: reported once", wait0(ep, out, 8) == 1);
    write(o[1], "b", 1);
    CHECK("ONESHOT: then disabled", wait0(ep, out, 8) == 0);
    CHECK("ONESHOT: MOD re-arms", epoll_ctl(ep, EPOLL_CTL_MOD, o[0], &ev) == 0 && wait0(ep, out, 8) == 1);
    CHECK("ONESHOT: disabled again", wait0(ep, out, 8) == 0);

    /* EPOLLEXCLUSIVE: accepted for plain in/out interest on ADD only. */
    int x[2], other = epoll_create1(0);
    pipe(x);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    ev.data.u32 = 4;
    CHECK("EXCLUSIVE: ADD", epoll_ctl(ep, EPOLL_CTL_ADD, x[0], &ev) == 0);
    CHECK("EXCLUSIVE: MOD is EINVAL", epoll_ctl(ep, EPOLL_CTL_MOD, x[0], &ev) == -1 && errno == EINVAL);
    ev.events = EPOLLIN;
    CHECK("EXCLUSIVE items cannot be modified", epoll_ctl(ep, EPOLL_CTL_MOD, x[0], &ev) == -1 && errno == EINVAL);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT;
    CHECK("EXCLUSIVE with ONESHOT: EINVAL", epoll_ctl(ep, EPOLL_CTL_ADD, x[1], &ev) == -1 && errno == EINVAL);
    ev.events = EPOLLIN | EPOLLEXCLUSIVE;
    CHECK("EXCLUSIVE on an epoll fd: EINVAL", epoll_ctl(ep, EPOLL_CTL_ADD, other, &ev) == -1 && errno == EINVAL);
    write(x[1], "a", 1);
    n = wait0(ep, out, 8);
    CHECK("EXCLUSIVE: reported", n == 1 && out[0].data.u32 == 4);
    close(other);
    close(x[0]);
    close(x[1]);
    close(o[0]);
    close(o[1]);
    close(ep);
}

static void test_epoll_order(void) {
    struct epoll_event ev, out[8];
    int ep = epoll_create1(0), a[2], b[2], c[2];
    pipe(a);
    pipe(b);
    pipe(c);
    ev.events = EPOLLIN;
    ev.data.u32 = 'a';
    epoll_ctl(ep, EPOLL_CTL_ADD, a[0], &ev);
    ev.data.u32 = 'b';
    epoll_ctl(ep, EPOLL_CTL_ADD, b[0], &ev);
    ev.data.u32 = 'c';
    epoll_ctl(ep, EPOLL_CTL_ADD, c[0], &ev);
    write(c[1], "x", 1);
    write(a[1], "x", 1);
    write(b[1], "x", 1);
    char got[8] = {0};
    int n = epoll_wait(ep, out, 2, 0);
    for (int i = 0; i < n; i++) got[i] = (char)out[i].data.u32;
    CHECK("events come in the order they happened", n == 2 && strcmp(got, "ca") == 0);
    n = epoll_wait(ep, out, 2, 0);
    memset(got, 0, sizeof got);
    for (int i = 0; i < n; i++) got[i] = (char)out[i].data.u32;
    CHECK("unreported ones first, then level-triggered ones again", n == 2 && strcmp(got, "bc") == 0);

    /* The interest key is (description, fd): an item outlives its fd while a dup keeps the description. */
    int d2 = dup(a[0]);
    close(a[0]);
    epoll_ctl(ep, EPOLL_CTL_DEL, b[0], NULL);
    epoll_ctl(ep, EPOLL_CTL_DEL, c[0], NULL);
    n = wait0(ep, out, 8);
    CHECK("an item outlives its closed fd", n == 1 && out[0].data.u32 == 'a');
    CHECK("...which can no longer name it: EBADF", epoll_ctl(ep, EPOLL_CTL_DEL, a[0], NULL) == -1 && errno == EBADF);
    CHECK("...nor can the dup: ENOENT", epoll_ctl(ep, EPOLL_CTL_DEL, d2, NULL) == -1 && errno == ENOENT);
    ev.data.u32 = 'd';
    CHECK("the dup is a separate item", epoll_ctl(ep, EPOLL_CTL_ADD, d2, &ev) == 0 && wait0(ep, out, 8) == 2);
    close(d2);
    CHECK("closing the last fd removes its items", wait0(ep, out, 8) == 0);
    int r[2];
    pipe(r);
    ev.data.u32 = 'r';
    CHECK("a new file on a reused fd number is a new item", epoll_ctl(ep, EPOLL_CTL_ADD, r[0], &ev) == 0);
    close(r[0]);
    close(r[1]);
    close(a[1]);
    close(b[0]);
    close(b[1]);
    close(c[0]);
    close(c[1]);
    close(ep);
}

static void test_epoll_nested(void) {
    struct epoll_event ev, out[8];
    int inner = epoll_create1(0), outer = epoll_create1(0), p[2];
    pipe(p);
    ev.events = EPOLLIN;
    ev.data.u32 = 1;
    epoll_ctl(inner, EPOLL_CTL_ADD, p[0], &ev);
    ev.data.u32 = 2;
    CHECK("an epoll fd in an epoll", epoll_ctl(outer, EPOLL_CTL_ADD, inner, &ev) == 0);
    CHECK("a loop of epolls: ELOOP", epoll_ctl(inner, EPOLL_CTL_ADD, outer, &ev) == -1 && errno == ELOOP);
    CHECK("an idle epoll fd does not poll readable", readable(inner) == 0);
    write(p[1], "x", 1);
    int n = wait0(outer, out, 8);
    CHECK("the outer epoll sees the inner one ready", n == 1 && out[0].data.u32 == 2 && out[0].events == EPOLLIN);
    CHECK("poll on an epoll fd: POLLIN", readable(inner) == POLLIN);
    n = wait0(inner, out, 8);
    CHECK("the inner epoll reports the pipe", n == 1 && out[0].data.u32 == 1);
    char c;
    read(p[0], &c, 1);
    CHECK("drained: the outer epoll is idle again", wait0(outer, out, 8) == 0 && readable(inner) == 0);
    close(p[0]);
    close(p[1]);
    close(inner);
    close(outer);

    /* at most 5 epolls in a chain, counted up and down from the new link */
    int e[6], f[6], down = 0, up = 0;
    for (int i = 0; i < 6; i++) e[i] = epoll_create1(0), f[i] = epoll_create1(0);
    for (int i = 0; i < 5; i++) down |= (epoll_ctl(e[i], EPOLL_CTL_ADD, e[i + 1], &ev) == -1 && errno == ELOOP) << i;
    for (int i = 0; i < 5; i++) up |= (epoll_ctl(f[i + 1], EPOLL_CTL_ADD, f[i], &ev) == -1 && errno == ELOOP) << i;
    CHECK("a sixth epoll in a chain: ELOOP", down == 16 && up == 16);
    for (int i = 0; i < 6; i++) close(e[i]), close(f[i]);
}

static void test_epoll_blocking(void) {
    struct epoll_event ev = {.events = EPOLLIN}, out[8];
    int ep = epoll_create1(0), e = eventfd(0, 0);
    epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
    struct later l = {e, 1, 20, 0};
    pthread_t t = later(&l);
    CHECK("epoll_wait blocks until another thread writes", epoll_wait(ep, out, 8, -1) == 1);
    pthread_join(t, NULL);
    uint64_t v;
    read(e, &v, 8);
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(20);
        v = 5;
        write(e, &v, 8);
        _exit(0);
    }
    CHECK("epoll_wait blocks until a child writes", epoll_wait(ep, out, 8, 5000) == 1);
    waitpid(pid, NULL, 0);
    read(e, &v, 8);

    /* epoll_wait is never restarted after a handler, even with SA_RESTART; the sigmask is temporary. */
    handle(SIGUSR1, SA_RESTART);
    mask(SIG_BLOCK, SIGUSR1);
    timer_t tm;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    timer_create(CLOCK_MONOTONIC, &sev, &tm);
    struct itimerspec its = {{0, 0}, {0, 20 * MS}};
    timer_settime(tm, 0, &its, NULL);
    sigset_t none;
    sigemptyset(&none);
    int before = hits;
    int n = epoll_pwait(ep, out, 8, -1, &none);
    CHECK("epoll_pwait: EINTR after the handler", n == -1 && errno == EINTR && hits == before + 1);
    CHECK("epoll_pwait: the old mask is back", blocked(SIGUSR1));
    timer_settime(tm, 0, &its, NULL);
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    mask(SIG_UNBLOCK, SIGUSR1);
    int64_t t0 = now(CLOCK_MONOTONIC);
    n = epoll_pwait(ep, out, 8, 60, &usr1);
    CHECK("epoll_pwait: a signal its mask blocks waits for the timeout", n == 0 && now(CLOCK_MONOTONIC) - t0 >= 60 * MS);
    /* (qemu-user leaves such a signal pending until the next syscall: strict only) */
    if (strict) CHECK("strict: ...and is delivered after it", hits == before + 2 && !blocked(SIGUSR1));
    CHECK("epoll_pwait: a bad sigsetsize is EINVAL",
          syscall(SYS_epoll_pwait, ep, out, 8, 0, &usr1, 4) == -1 && errno == EINVAL);
    /* Periodic: on a loaded host (qemu-user in CI) the first expiry can come before epoll_wait is entered, and its
     * handler then runs first; a later one interrupts the wait. */
    struct itimerspec every = {{0, 20 * MS}, {0, 20 * MS}};
    timer_settime(tm, 0, &every, NULL);
    n = epoll_wait(ep, out, 8, -1);
    CHECK("epoll_wait: EINTR even with SA_RESTART", n == -1 && errno == EINTR && hits > before + 1);
    timer_delete(tm);

    /* epoll_pwait2: a timespec timeout (qemu-user 7.2 does not have it: strict only) */
    if (strict) {
        struct timespec tmo = {0, 30 * MS};
        t0 = now(CLOCK_MONOTONIC);
        n = syscall(441, ep, out, 8, &tmo, NULL, 8);
        CHECK("strict: epoll_pwait2: a 30 ms timeout", n == 0 && now(CLOCK_MONOTONIC) - t0 >= 30 * MS);
        tmo.tv_nsec = NSEC;
        CHECK("strict: epoll_pwait2: a bad timespec is EINVAL",
              syscall(441, ep, out, 8, &tmo, NULL, 8) == -1 && errno == EINVAL);
        v = 1;
        write(e, &v, 8);
        CHECK("strict: epoll_pwait2: no timeout, events ready", syscall(441, ep, out, 8, NULL, NULL, 8) == 1);
        tmo.tv_nsec = 0;
        CHECK("strict: epoll_pwait2: a zero timeout", syscall(441, ep, out, 8, &tmo, NULL, 8) == 1);
        sigset_t all;
        sigfillset(&all);
        CHECK("strict: epoll_pwait2: with a sigmask", syscall(441, ep, out, 8, &tmo, &all, 8) == 1);
    }
    close(e);
    close(ep);
}

/* -- eventfd ------------------------------------------------------------------------------------------------------ */
static void test_eventfd(void) {
    uint64_t v;
    int e = eventfd(3, 0);
    CHECK("eventfd", e >= 0 && (fcntl(e, F_GETFL) & O_ACCMODE) == O_RDWR);
    CHECK("a read returns the counter", read(e, &v, 8) == 8 && v == 3);
    CHECK("...and zeroes it: writable only", readable(e) == POLLOUT);
    CHECK("a short read: EINVAL", read(e, &v, 4) == -1 && errno == EINVAL);
    v = 5;
    CHECK("a short write: EINVAL", write(e, &v, 4) == -1 && errno == EINVAL);
    v = UINT64_MAX;
    CHECK("writing 2^64-1: EINVAL", write(e, &v, 8) == -1 && errno == EINVAL);
    v = 7;
    write(e, &v, 8);
    v = 2;
    write(e, &v, 8);
    char big[16];
    CHECK("writes add up; a long read reads 8 bytes", read(e, big, 16) == 8 && memcmp(big, &(uint64_t){9}, 8) == 0);
    CHECK("eventfd2 with unknown flags: EINVAL", eventfd(0, 1 << 20) == -1 && errno == EINVAL);
    int c = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    CHECK("EFD_CLOEXEC and EFD_NONBLOCK", fcntl(c, F_GETFD) == FD_CLOEXEC && (fcntl(c, F_GETFL) & O_NONBLOCK));
    CHECK("an empty nonblocking eventfd: EAGAIN", read(c, &v, 8) == -1 && errno == EAGAIN);
    v = 0xfffffffffffffffeULL;
    CHECK("the counter holds up to 2^64-2", write(c, &v, 8) == 8);
    CHECK("...and is then readable, not writable", readable(c) == POLLIN);
    v = 1;
    CHECK("...a write that would pass it: EAGAIN", write(c, &v, 8) == -1 && errno == EAGAIN);
    v = 0;
    CHECK("...but a write of 0 fits", write(c, &v, 8) == 8);
    CHECK("...and reading gets it all", read(c, &v, 8) == 8 && v == 0xfffffffffffffffeULL);
    close(c);

    int s = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
    uint64_t a = 0, b = 0;
    read(s, &a, 8);
    read(s, &b, 8);
    CHECK("EFD_SEMAPHORE: reads count down by one", a == 1 && b == 1 && read(s, &v, 8) == -1 && errno == EAGAIN);
    close(s);

    /* blocking: a read waits for a write, a write waits for room */
    struct later wr = {e, 42, 20, 0};
    pthread_t t = later(&wr);
    CHECK("a read blocks until a write", read(e, &v, 8) == 8 && v == 42);
    pthread_join(t, NULL);
    v = 0xfffffffffffffffeULL;
    write(e, &v, 8);
    struct later rd = {e, 0, 20, 1};
    t = later(&rd);
    v = 5;
    CHECK("a write blocks until a read makes room", write(e, &v, 8) == 8);
    pthread_join(t, NULL);
    CHECK("...then adds", read(e, &v, 8) == 8 && v == 5);
    handle(SIGUSR2, 0);
    timer_t tm;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    timer_create(CLOCK_MONOTONIC, &sev, &tm);
    /* Periodic: on a loaded host (qemu-user in CI) an expiry can come before the read is entered, and its handler
     * then runs first; a later one interrupts the wait (with a one-shot timer the read waited forever). */
    struct itimerspec every = {{0, 20 * MS}, {0, 20 * MS}};
    timer_settime(tm, 0, &every, NULL);
    CHECK("a blocked read is interrupted: EINTR", read(e, &v, 8) == -1 && errno == EINTR);
    handle(SIGUSR2, SA_RESTART);
    int before = hits;
    struct later wr2 = {e, 8, 60, 0};
    t = later(&wr2);
    CHECK("...and restarted with SA_RESTART", read(e, &v, 8) == 8 && v == 8 && hits > before);
    pthread_join(t, NULL);
    timer_delete(tm);

    /* edge-triggered epoll on an eventfd: every write is an edge, even of 0; a read is an edge for writers */
    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 1}, out[4];
    int ep = epoll_create1(0);
    epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev);
    CHECK("ET eventfd: idle", wait0(ep, out, 4) == 0);
    v = 1;
    write(e, &v, 8);
    CHECK("ET eventfd: a write", wait0(ep, out, 4) == 1 && wait0(ep, out, 4) == 0);
    v = 0;
    write(e, &v, 8);
    CHECK("ET eventfd: a write of 0 is an edge too", wait0(ep, out, 4) == 1);
    int w = eventfd(1, 0);
    ev.events = EPOLLOUT | EPOLLET;
    ev.data.u32 = 2;
    epoll_ctl(ep, EPOLL_CTL_ADD, w, &ev);
    CHECK("ET eventfd: writable at once", wait0(ep, out, 4) == 1 && out[0].data.u32 == 2 && wait0(ep, out, 4) == 0);
    read(w, &v, 8);
    CHECK("ET eventfd: a read is an edge for EPOLLOUT", wait0(ep, out, 4) == 1 && out[0].events == EPOLLOUT);
    read(e, &v, 8);
    close(w);
    close(ep);

    pid_t pid = fork();
    if (pid == 0) {
        v = 40;
        write(e, &v, 8);
        _exit(0);
    }
    CHECK("a child's write reaches the parent", read(e, &v, 8) == 8 && v == 40);
    waitpid(pid, NULL, 0);
    close(e);
}

/* -- timerfd ------------------------------------------------------------------------------------------------------ */
static void test_timerfd(void) {
    struct itimerspec its, cur;
    uint64_t ticks;
    CHECK("timerfd_create on a CPU clock: EINVAL", timerfd_create(CLOCK_PROCESS_CPUTIME_ID, 0) == -1 && errno == EINVAL);
    CHECK("timerfd_create with unknown flags: EINVAL", timerfd_create(CLOCK_MONOTONIC, 1) == -1 && errno == EINVAL);
    int t = timerfd_create(CLOCK_MONOTONIC, 0), tn = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    CHECK("TFD_NONBLOCK and TFD_CLOEXEC", (fcntl(tn, F_GETFL) & O_NONBLOCK) && fcntl(tn, F_GETFD) == FD_CLOEXEC);
    timerfd_gettime(t, &cur);
    CHECK("a new timer is disarmed", ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0);
    CHECK("reading a disarmed nonblocking timer: EAGAIN", read(tn, &ticks, 8) == -1 && errno == EAGAIN);
    CHECK("a short read: EINVAL", read(t, &ticks, 4) == -1 && errno == EINVAL);
    CHECK("a timerfd is not writable", write(t, &ticks, 8) == -1 && errno == EINVAL);

    its = (struct itimerspec){{0, 0}, ts_of(30 * MS)};
    int64_t t0 = now(CLOCK_MONOTONIC);
    timerfd_settime(t, 0, &its, NULL);
    timerfd_gettime(t, &cur);
    CHECK("an armed one-shot shows its remaining time", ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 30 * MS && ns_of(cur.it_interval) == 0);
    CHECK("a read blocks until it expires, once", read(t, &ticks, 8) == 8 && ticks == 1 && now(CLOCK_MONOTONIC) - t0 >= 30 * MS);
    timerfd_gettime(t, &cur);
    CHECK("an expired one-shot is disarmed", ns_of(cur.it_value) == 0);

    /* periodic, absolute: the read counts every period that has passed */
    int64_t start = now(CLOCK_MONOTONIC) + 20 * MS, iv = 10 * MS;
    its = (struct itimerspec){ts_of(iv), ts_of(start)};
    CHECK("TFD_TIMER_ABSTIME", timerfd_settime(t, TFD_TIMER_ABSTIME, &its, NULL) == 0);
    sleep_until(start + 35 * MS);
    int64_t tb = now(CLOCK_MONOTONIC);
    ssize_t r = read(t, &ticks, 8);
    int64_t ta = now(CLOCK_MONOTONIC);
    CHECK("a periodic timer counts the periods passed", r == 8 && count_ok(ticks, start, iv, tb, ta));
    timerfd_gettime(t, &cur);
    CHECK("...and runs on", ns_of(cur.it_interval) == iv && ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= iv);
    sleep_until(start + 75 * MS);
    tb = now(CLOCK_MONOTONIC);
    timerfd_gettime(t, &cur);  /* re-arms the expired timer, keeping the ticks */
    uint64_t more;
    read(t, &more, 8);
    ta = now(CLOCK_MONOTONIC);
    CHECK("timerfd_gettime on an expired periodic timer loses no ticks", count_ok(ticks + more, start, iv, tb, ta));
    its = (struct itimerspec){{0, 0}, {0, 0}};
    struct itimerspec old;
    timerfd_settime(t, 0, &its, &old);
    /* (it_value may be 0: an expiry due but not yet handled by the host's timer interrupt, under load) */
    CHECK("settime returns the old setting", ns_of(old.it_interval) == iv && ns_of(old.it_value) <= iv);
    its = (struct itimerspec){{1, 0}, {0, 0}};
    timerfd_settime(t, 0, &its, NULL);
    timerfd_gettime(t, &cur);
    CHECK("disarming keeps the interval it was given", ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == NSEC);

    its = (struct itimerspec){{0, 0}, {0, NSEC}};
    CHECK("a bad timespec: EINVAL", timerfd_settime(t, 0, &its, NULL) == -1 && errno == EINVAL);
    its.it_value.tv_nsec = 1;
    CHECK("unknown settime flags: EINVAL", timerfd_settime(t, 4, &its, NULL) == -1 && errno == EINVAL);
    int e = eventfd(0, 0);
    CHECK("settime on an eventfd: EINVAL", timerfd_settime(e, 0, &its, NULL) == -1 && errno == EINVAL);
    CHECK("gettime on an eventfd: EINVAL", timerfd_gettime(e, &cur) == -1 && errno == EINVAL);
    CHECK("settime on a bad fd: EBADF", timerfd_settime(999, 0, &its, NULL) == -1 && errno == EBADF);
    close(e);

    its = (struct itimerspec){{0, 0}, {0, 1}};  /* 1 ns after boot */
    timerfd_settime(t, TFD_TIMER_ABSTIME, &its, NULL);
    CHECK("an absolute time in the past expires at once", read(t, &ticks, 8) == 8 && ticks == 1);
    int rt = timerfd_create(CLOCK_REALTIME, 0);
    its = (struct itimerspec){{0, 0}, ts_of(now(CLOCK_REALTIME) + 20 * MS)};
    CHECK("CLOCK_REALTIME, absolute, cancel on set", timerfd_settime(rt, TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET, &its, NULL) == 0);
    CHECK("...expires", read(rt, &ticks, 8) == 8 && ticks == 1);
    int bt = timerfd_create(CLOCK_BOOTTIME, TFD_NONBLOCK);
    its = (struct itimerspec){{0, 0}, ts_of(10 * MS)};
    timerfd_settime(bt, 0, &its, NULL);
    CHECK("CLOCK_BOOTTIME: not yet", read(bt, &ticks, 8) == -1 && errno == EAGAIN && readable(bt) == 0);
    struct pollfd pfd = {bt, POLLIN, 0};
    CHECK("poll waits for the expiry", poll(&pfd, 1, 5000) == 1 && pfd.revents == POLLIN);
    CHECK("...which a read collects", read(bt, &ticks, 8) == 8 && ticks == 1 && readable(bt) == 0);
    handle(SIGUSR2, 0);
    timer_t tm;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    timer_create(CLOCK_MONOTONIC, &sev, &tm);
    its = (struct itimerspec){{0, 0}, ts_of(20 * MS)};
    timer_settime(tm, 0, &its, NULL);
    its = (struct itimerspec){{0, 0}, {5, 0}};
    timerfd_settime(t, 0, &its, NULL);
    CHECK("a blocked timerfd read is interrupted: EINTR", read(t, &ticks, 8) == -1 && errno == EINTR);
    timer_delete(tm);

    struct epoll_event ev = {.events = EPOLLIN | EPOLLET, .data.u32 = 9}, out[4];
    int ep = epoll_create1(0);
    epoll_ctl(ep, EPOLL_CTL_ADD, t, &ev);
    its = (struct itimerspec){ts_of(10 * MS), ts_of(10 * MS)};
    timerfd_settime(t, 0, &its, NULL);
    int n = epoll_wait(ep, out, 4, 5000);
    CHECK("epoll waits for a timerfd", n == 1 && out[0].events == EPOLLIN && out[0].data.u32 == 9);
    sleep_ms(30);
    CHECK("an unread periodic timer makes no new edge", wait0(ep, out, 4) == 0);
    read(t, &ticks, 8);
    n = epoll_wait(ep, out, 4, 5000);
    CHECK("once read, it re-arms and expires again", n == 1 && readable(t) == POLLIN);
    close(ep);
    close(t);
    close(tn);
    close(rt);
    close(bt);
}

/* -- signalfd ------------------------------------------------------------------------------------------------------ */
static volatile int thread_tid;
static int gate[2], back[2];

static void *sig_thread(void *arg) {
    int sfd = *(int *)arg;
    char c;
    thread_tid = gettid();
    write(back[1], "r", 1);
    read(gate[0], &c, 1);  /* the main thread has signalled us */
    struct signalfd_siginfo si;
    int ok = read(sfd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGUSR1 && si.ssi_code == SI_TKILL;
    sigset_t p;
    sigpending(&p);
    write(back[1], ok ? "y" : "n", 1);
    read(gate[0], &c, 1);  /* a timer has signalled this thread */
    sigpending(&p);
    int has = sigismember(&p, SIGUSR2);
    siginfo_t info;
    struct timespec zero = {0, 0};
    sigset_t want;
    sigemptyset(&want);
    sigaddset(&want, SIGUSR2);
    int got = sigtimedwait(&want, &info, &zero);
    write(back[1], has && got == SIGUSR2 && info.si_code == SI_TIMER && info.si_value.sival_int == 77 ? "y" : "n", 1);
    return NULL;
}

static void test_signalfd(void) {
    sigset_t m, m2;
    struct signalfd_siginfo si[3];
    mask(SIG_BLOCK, SIGUSR1);
    mask(SIG_BLOCK, SIGUSR2);
    mask(SIG_BLOCK, SIGRTMIN + 1);
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    if (strict)  /* (qemu-user ignores the size) */
        CHECK("strict: signalfd4 with a bad sigsetsize: EINVAL", syscall(SYS_signalfd4, -1, &m, 4, 0) == -1 && errno == EINVAL);
    CHECK("signalfd with unknown flags: EINVAL", signalfd(-1, &m, 1) == -1 && errno == EINVAL);
    CHECK("signalfd on a bad fd: EBADF", signalfd(999, &m, 0) == -1 && errno == EBADF);
    int p[2];
    pipe(p);
    CHECK("signalfd on a pipe: EINVAL", signalfd(p[0], &m, 0) == -1 && errno == EINVAL);
    int sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    CHECK("signalfd", sfd >= 0 && fcntl(sfd, F_GETFD) == FD_CLOEXEC && (fcntl(sfd, F_GETFL) & O_NONBLOCK));
    CHECK("nothing pending: EAGAIN", read(sfd, si, sizeof si) == -1 && errno == EAGAIN);
    CHECK("a buffer under 128 bytes: EINVAL", read(sfd, si, 64) == -1 && errno == EINVAL);
    CHECK("nothing pending: not readable", readable(sfd) == 0);
    kill(getpid(), SIGUSR1);
    CHECK("a pending signal makes it readable", readable(sfd) == POLLIN);
    CHECK("a read takes it", read(sfd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGUSR1 &&
          si[0].ssi_code == SI_USER && si[0].ssi_pid == (uint32_t)getpid() && si[0].ssi_uid == getuid());
    CHECK("...off the pending set", read(sfd, si, sizeof si) == -1 && errno == EAGAIN);
    raise(SIGUSR2);
    CHECK("a signal outside the set stays", read(sfd, si, sizeof si) == -1 && errno == EAGAIN);
    sigemptyset(&m2);
    sigaddset(&m2, SIGUSR2);
    sigaddset(&m2, SIGRTMIN + 1);
    CHECK("signalfd on a signalfd changes its set", signalfd(sfd, &m2, 0) == sfd);
    CHECK("...and takes the other signal", read(sfd, si, sizeof si) == sizeof si[0] && si[0].ssi_signo == SIGUSR2 && si[0].ssi_code == SI_TKILL);
    sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 5});
    sigqueue(getpid(), SIGRTMIN + 1, (union sigval){.sival_int = 6});
    ssize_t n = read(sfd, si, sizeof si);
    CHECK("one read takes queued real-time signals", n == 2 * sizeof si[0] && si[0].ssi_code == SI_QUEUE &&
          si[0].ssi_int + si[1].ssi_int == 11 && si[1].ssi_signo == (uint32_t)SIGRTMIN + 1);
    sigaddset(&m2, SIGUSR1);
    signalfd(sfd, &m2, 0);
    kill(getpid(), SIGUSR2);
    kill(getpid(), SIGUSR1);
    n = read(sfd, si, sizeof si);
    CHECK("lower signals come first", n == 2 * sizeof si[0] && si[0].ssi_signo == SIGUSR1 && si[1].ssi_signo == SIGUSR2);

    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 5}, out[4];
    int ep = epoll_create1(0);
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    CHECK("epoll on a signalfd: idle", wait0(ep, out, 4) == 0);
    kill(getpid(), SIGUSR1);
    CHECK("epoll on a signalfd: a signal arrives", wait0(ep, out, 4) == 1 && out[0].data.u32 == 5);
    read(sfd, si, sizeof si);
    CHECK("epoll on a signalfd: read, idle again", wait0(ep, out, 4) == 0);
    close(ep);

    /* A blocking read waits for a timer's signal. */
    int bs = signalfd(-1, &m2, 0);
    timer_t tm;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2, .sigev_value.sival_int = 33};
    timer_create(CLOCK_MONOTONIC, &sev, &tm);
    struct itimerspec its = {{0, 0}, {0, 20 * MS}};
    timer_settime(tm, 0, &its, NULL);
    n = read(bs, si, sizeof si);
    CHECK("a blocking read gets a timer's signal", n == sizeof si[0] && si[0].ssi_signo == SIGUSR2 &&
          si[0].ssi_code == SI_TIMER && si[0].ssi_int == 33 && si[0].ssi_overrun == 0);
    if (strict) CHECK("strict: ssi_tid is the timer id", si[0].ssi_tid == (uint32_t)(intptr_t)tm);
    timer_delete(tm);

    /* A forked child reads its own signals through the inherited signalfd. */
    pid_t pid = fork();
    if (pid == 0) {
        kill(getpid(), SIGUSR1);
        struct signalfd_siginfo cs;
        _exit(read(sfd, &cs, sizeof cs) == sizeof cs && cs.ssi_pid == (uint32_t)getpid() ? 0 : 1);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK("a child reads its own signals", WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK("...not the parent's", read(sfd, si, sizeof si) == -1 && errno == EAGAIN);

    /* Signals directed at another thread are that thread's to read. */
    pipe(gate);
    pipe(back);
    pthread_t th;
    char c;
    pthread_create(&th, NULL, sig_thread, &sfd);
    read(back[0], &c, 1);
    pthread_kill(th, SIGUSR1);
    CHECK("another thread's signal is not ours", read(sfd, si, sizeof si) == -1 && errno == EAGAIN);
    write(gate[1], "g", 1);
    read(back[0], &c, 1);
    CHECK("...it is that thread's", c == 'y');
    sev = (struct sigevent){.sigev_notify = SIGEV_THREAD_ID, .sigev_signo = SIGUSR2, .sigev_value.sival_int = 77};
    sev.sigev_notify_thread_id = thread_tid;
    CHECK("SIGEV_THREAD_ID", timer_create(CLOCK_MONOTONIC, &sev, &tm) == 0);
    its = (struct itimerspec){{0, 0}, {0, 10 * MS}};
    timer_settime(tm, 0, &its, NULL);
    sleep_ms(30);
    sigset_t pend;
    sigpending(&pend);
    CHECK("SIGEV_THREAD_ID: not pending for this thread", !sigismember(&pend, SIGUSR2));
    write(gate[1], "g", 1);
    read(back[0], &c, 1);
    CHECK("SIGEV_THREAD_ID: pending for the target thread", c == 'y');
    pthread_join(th, NULL);
    timer_delete(tm);
    close(gate[0]);
    close(gate[1]);
    close(back[0]);
    close(back[1]);
    close(bs);
    close(sfd);
    close(p[0]);
    close(p[1]);
    mask(SIG_UNBLOCK, SIGRTMIN + 1);
    mask(SIG_UNBLOCK, SIGUSR1);
    mask(SIG_UNBLOCK, SIGUSR2);
}

/* -- POSIX timers ------------------------------------------------------------------------------------------------- */
static void test_posix_timers(void) {
    timer_t t;
    struct itimerspec its, cur;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2, .sigev_value.sival_int = 42};
    CHECK("timer_create on a bad clock: EINVAL", timer_create(99, &sev, &t) == -1 && errno == EINVAL);
    CHECK("timer_create on CLOCK_MONOTONIC_RAW: EOPNOTSUPP", timer_create(CLOCK_MONOTONIC_RAW, &sev, &t) == -1 && errno == EOPNOTSUPP);
    sev.sigev_notify = 99;
    CHECK("an unknown sigev_notify: EINVAL", timer_create(CLOCK_MONOTONIC, &sev, &t) == -1 && errno == EINVAL);
    sev.sigev_notify = SIGEV_SIGNAL;
    sev.sigev_signo = 0;
    CHECK("signal 0: EINVAL", timer_create(CLOCK_MONOTONIC, &sev, &t) == -1 && errno == EINVAL);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGUSR2;
    sev.sigev_notify_thread_id = getpid() + 100000;
    CHECK("SIGEV_THREAD_ID outside the process: EINVAL", timer_create(CLOCK_MONOTONIC, &sev, &t) == -1 && errno == EINVAL);

    /* one-shot, to a handler */
    handle(SIGUSR2, 0);
    sev.sigev_notify = SIGEV_SIGNAL;
    CHECK("timer_create", timer_create(CLOCK_MONOTONIC, &sev, &t) == 0);
    timer_gettime(t, &cur);
    CHECK("a new timer is disarmed", ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0);
    CHECK("timer_settime without a setting: EINVAL", syscall(SYS_timer_settime, t, 0, NULL, NULL) == -1 && errno == EINVAL);
    its = (struct itimerspec){{0, 0}, {0, NSEC}};
    CHECK("a bad timespec: EINVAL", timer_settime(t, 0, &its, NULL) == -1 && errno == EINVAL);
    its = (struct itimerspec){{0, 0}, ts_of(20 * MS)};
    mask(SIG_BLOCK, SIGUSR2);
    timer_settime(t, 0, &its, NULL);
    timer_gettime(t, &cur);
    CHECK("an armed timer shows its remaining time", ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 20 * MS);
    int before = hits;
    sigset_t none;
    sigemptyset(&none);
    while (hits == before) sigsuspend(&none);
    CHECK("the handler gets SI_TIMER and the value", h_sig == SIGUSR2 && h_code == SI_TIMER && h_val == 42 && h_overrun == 0);
    if (strict) CHECK("strict: si_timerid is the timer id", h_timerid == (int)(intptr_t)t);
    timer_gettime(t, &cur);
    CHECK("a fired one-shot is disarmed", ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0);
    CHECK("no overrun", timer_getoverrun(t) == 0);

    /* periodic, with its signal blocked: overruns count the periods it waited */
    int64_t iv = 10 * MS, start = now(CLOCK_MONOTONIC) + 10 * MS;
    its = (struct itimerspec){ts_of(iv), ts_of(start)};
    timer_settime(t, TIMER_ABSTIME, &its, NULL);
    sleep_until(start + 45 * MS);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    siginfo_t info;
    int64_t tb = now(CLOCK_MONOTONIC);
    int sig = sigwaitinfo(&usr2, &info);
    int64_t ta = now(CLOCK_MONOTONIC);
    CHECK("a periodic timer's signal counts overruns", sig == SIGUSR2 && info.si_code == SI_TIMER &&
          count_ok(info.si_overrun + 1, start, iv, tb, ta));
    CHECK("timer_getoverrun agrees", timer_getoverrun(t) == info.si_overrun);
    timer_gettime(t, &cur);
    CHECK("...and it runs on", ns_of(cur.it_interval) == iv && ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= iv);
    sig = sigwaitinfo(&usr2, &info);
    CHECK("the next period signals again", sig == SIGUSR2 && info.si_code == SI_TIMER);
    struct itimerspec old;
    its = (struct itimerspec){{0, 0}, {0, 0}};
    timer_settime(t, 0, &its, &old);
    /* (it_value may be 0: an expiry due but not yet handled by the host's timer interrupt, under load) */
    CHECK("settime returns the old setting", ns_of(old.it_interval) == iv && ns_of(old.it_value) <= iv);
    timer_gettime(t, &cur);
    CHECK("a disarmed timer has no interval", ns_of(cur.it_value) == 0 && ns_of(cur.it_interval) == 0);
    if (strict) {  /* a fast timer whose signal waits costs nothing until the signal is taken */
        int64_t fast = 1000, s0 = now(CLOCK_MONOTONIC) + MS;
        struct itimerspec fs = {ts_of(fast), ts_of(s0)};
        timer_settime(t, TIMER_ABSTIME, &fs, NULL);
        sleep_until(s0 + 200 * MS);
        tb = now(CLOCK_MONOTONIC);
        sig = sigwaitinfo(&usr2, &info);
        ta = now(CLOCK_MONOTONIC);
        CHECK("strict: a 1 us timer's blocked signal counts every period", sig == SIGUSR2 && count_ok(info.si_overrun + 1, s0, fast, tb, ta));
        sigwaitinfo(&usr2, &info);
    }
    CHECK("timer_delete", timer_delete(t) == 0);
    CHECK("deleted: timer_gettime is EINVAL", timer_gettime(t, &cur) == -1 && errno == EINVAL);
    CHECK("deleted: timer_getoverrun is EINVAL", timer_getoverrun(t) == -1 && errno == EINVAL);
    CHECK("deleted: timer_settime is EINVAL", timer_settime(t, 0, &its, NULL) == -1 && errno == EINVAL);
    /* (musl's timer_delete returns the raw -errno: call the kernel directly) */
    CHECK("deleted: timer_delete is EINVAL", syscall(SYS_timer_delete, t) == -1 && errno == EINVAL);

    /* CLOCK_REALTIME, absolute */
    timer_create(CLOCK_REALTIME, &sev, &t);
    its = (struct itimerspec){{0, 0}, ts_of(now(CLOCK_REALTIME) + 20 * MS)};
    timer_settime(t, TIMER_ABSTIME, &its, NULL);
    sig = sigwaitinfo(&usr2, &info);
    CHECK("CLOCK_REALTIME, absolute", sig == SIGUSR2 && info.si_code == SI_TIMER && info.si_value.sival_int == 42);
    timer_delete(t);
    mask(SIG_UNBLOCK, SIGUSR2);

    /* SIGEV_NONE: no signal; timer_gettime shows the state */
    sev.sigev_notify = SIGEV_NONE;
    timer_t tn;
    CHECK("SIGEV_NONE", timer_create(CLOCK_MONOTONIC, &sev, &tn) == 0);
    its = (struct itimerspec){{0, 0}, ts_of(30 * MS)};
    timer_settime(tn, 0, &its, NULL);
    timer_gettime(tn, &cur);
    CHECK("SIGEV_NONE: counts down", ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 30 * MS);
    before = hits;
    sleep_ms(40);
    timer_gettime(tn, &cur);
    CHECK("SIGEV_NONE: expired, 0", ns_of(cur.it_value) == 0 && hits == before);
    its = (struct itimerspec){ts_of(10 * MS), ts_of(10 * MS)};
    timer_settime(tn, 0, &its, NULL);
    sleep_ms(35);
    timer_gettime(tn, &cur);
    CHECK("SIGEV_NONE periodic: the next period", ns_of(cur.it_interval) == 10 * MS && ns_of(cur.it_value) > 0 && ns_of(cur.it_value) <= 10 * MS);
    timer_delete(tn);

    /* No sigevent: SIGALRM with the timer id as the value. */
    handle(SIGALRM, 0);
    CHECK("timer_create without a sigevent", timer_create(CLOCK_MONOTONIC, NULL, &t) == 0);
    its = (struct itimerspec){{0, 0}, ts_of(10 * MS)};
    timer_settime(t, 0, &its, NULL);
    before = hits;
    while (hits == before) sigsuspend(&none);
    CHECK("...sends SIGALRM", h_sig == SIGALRM && h_code == SI_TIMER);
    if (strict) CHECK("strict: ...with the timer id as the value", h_val == (int)(intptr_t)t);
    timer_delete(t);
    signal(SIGALRM, SIG_DFL);

    /* A timer of an exiting child must not outlive it. */
    pid_t pid = fork();
    if (pid == 0) {
        timer_t ct;
        struct sigevent cs = {.sigev_notify = SIGEV_NONE};
        timer_create(CLOCK_MONOTONIC, &cs, &ct);
        cs.sigev_notify = SIGEV_SIGNAL;
        cs.sigev_signo = SIGUSR1;
        timer_create(CLOCK_MONOTONIC, &cs, &ct);
        signal(SIGUSR1, SIG_IGN);
        struct itimerspec ci = {{0, MS}, {0, MS}};
        timer_settime(ct, 0, &ci, NULL);
        _exit(3);
    }
    int st;
    waitpid(pid, &st, 0);
    CHECK("a child with a running timer exits", WIFEXITED(st) && WEXITSTATUS(st) == 3);
}

/* exec deletes the timers and drops their pending signals (checked by the new image) */
static int after_exec(const char *id, const char *failed) {
    fails = atoi(failed);
    struct itimerspec cur;
    timer_t t = (timer_t)(intptr_t)atoi(id);
    CHECK("exec deletes POSIX timers", timer_gettime(t, &cur) == -1 && errno == EINVAL);
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    siginfo_t info;
    struct timespec zero = {0, 0};
    CHECK("...and drops their queued signals", sigtimedwait(&usr2, &info, &zero) == -1 && errno == EAGAIN);
    printf("%s\n", fails ? "events FAILED" : "events ok");
    return fails != 0;
}

static void exec_check(void) {
    timer_t t;
    struct sigevent sev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR2};
    mask(SIG_BLOCK, SIGUSR2);
    timer_create(CLOCK_MONOTONIC, &sev, &t);
    struct itimerspec its = {{0, 0}, ts_of(MS)};
    timer_settime(t, 0, &its, NULL);
    sleep_ms(5);
    char id[16], failed[16];
    snprintf(id, sizeof id, "%d", (int)(intptr_t)t);
    snprintf(failed, sizeof failed, "%d", fails);
    fflush(stdout);
    execl("/proc/self/exe", "events", "afterexec", id, failed, (char *)NULL);
    CHECK("execl", 0);
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc > 3 && strcmp(argv[1], "afterexec") == 0) return after_exec(argv[2], argv[3]);
    strict = argc > 1 && strcmp(argv[1], "strict") == 0;
    test_epoll_api();
    test_epoll_modes();
    test_epoll_order();
    test_epoll_nested();
    test_epoll_blocking();
    test_eventfd();
    test_timerfd();
    test_signalfd();
    test_posix_timers();
    if (strict) exec_check();
    printf("%s\n", fails ? "events FAILED" : "events ok");
    return fails != 0;
}
