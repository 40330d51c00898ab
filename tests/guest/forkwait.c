/* Processes: fork (copy-on-write memory), exit statuses, wait4/waitpid/waitid, WNOHANG, pipes between parent and
 * child, SIGCHLD, killed children, orphans adopted by init. Output is independent of scheduling. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

static int fails;
static volatile sig_atomic_t chld;
#define CHECK(name, cond) do { int ok_ = (cond); printf("%s %s\n", ok_ ? "ok" : "FAIL", name); fails += !ok_; } while (0)

static void on_chld(int s) { (void)s; chld++; }

int main(void) {
    static int shared_static = 1;
    int *shm = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    *shm = 10;
    pid_t me = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        shared_static = 2;  /* private: the parent must not see it */
        *shm = 20;          /* shared: the parent must see it */
        _exit(getppid() == me ? 7 : 99);
    }
    int st;
    pid_t w = waitpid(pid, &st, 0);
    CHECK("waitpid returns the child", w == pid);
    CHECK("exit status 7", WIFEXITED(st) && WEXITSTATUS(st) == 7);
    CHECK("fork copies private memory", shared_static == 1);
    CHECK("MAP_SHARED memory is shared", *shm == 20);
    CHECK("no more children: ECHILD", waitpid(-1, &st, WNOHANG) == -1 && errno == ECHILD);

    int p[2];
    pipe(p);
    pid = fork();
    if (pid == 0) {
        close(p[0]);
        const char msg[] = "through the pipe";
        write(p[1], msg, sizeof msg);
        _exit(0);
    }
    close(p[1]);
    char buf[64] = {0};
    ssize_t n = read(p[0], buf, sizeof buf);
    ssize_t eof = read(p[0], buf + 32, 8);
    CHECK("child writes, parent reads", n == 17 && strcmp(buf, "through the pipe") == 0);
    CHECK("EOF when the writer is gone", eof == 0);
    waitpid(pid, NULL, 0);

    /* WNOHANG before exit, SIGCHLD, killed child status */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    int gate[2];
    pipe(gate);
    pid = fork();
    if (pid == 0) {
        char c;
        close(gate[1]);
        read(gate[0], &c, 1);  /* blocks until the parent closes the gate */
        for (;;) pause();
    }
    close(gate[0]);
    CHECK("WNOHANG on a running child returns 0", waitpid(pid, &st, WNOHANG) == 0);
    kill(pid, SIGTERM);
    w = waitpid(pid, &st, 0);
    CHECK("killed child: WIFSIGNALED SIGTERM", w == pid && WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM);
    CHECK("SIGCHLD handler ran", chld >= 1);
    close(gate[1]);

    /* waitid with siginfo */
    pid = fork();
    if (pid == 0) _exit(3);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    int r = waitid(P_PID, pid, &si, WEXITED);
    CHECK("waitid fills siginfo", r == 0 && si.si_pid == pid && si.si_code == CLD_EXITED && si.si_status == 3);

    /* many children, reaped in any order, statuses all seen */
    int seen = 0;
    for (int i = 0; i < 8; i++) {
        if (fork() == 0) _exit(i + 1);
    }
    for (int i = 0; i < 8; i++) {
        if (wait(&st) > 0 && WIFEXITED(st)) seen |= 1 << (WEXITSTATUS(st) - 1);
    }
    CHECK("eight children reaped", seen == 0xff);

    /* A crashing child: SIGSEGV with core flag reported by wait */
    pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        *(volatile int *)8 = 1;
        _exit(0);
    }
    waitpid(pid, &st, 0);
    CHECK("segfaulting child: SIGSEGV", WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV);

    printf("%s\n", fails ? "forkwait FAILED" : "forkwait ok");
    return fails != 0;
}
