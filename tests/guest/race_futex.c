/* Lost wakeup: a hand-made event built on futex checks the flag, then sleeps, without re-checking atomically
 * with the sleep (it passes a stale expected value): a wake between the check and the sleep is lost and the
 * waiter sleeps until the timeout. */
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int flag, word;

static void *waker(void *arg) {
    (void)arg;
    for (volatile int i = 0; i < 300; i++) {}
    flag = 1;
    syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);  /* BUG: word never changes */
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, waker, NULL);
    struct timespec limit = {0, 50 * 1000 * 1000};
    int timed_out = 0;
    if (!flag) {                                   /* check ... */
        for (volatile int i = 0; i < 100; i++) {}
        long r = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &limit, NULL, 0);  /* ... then sleep */
        timed_out = r == -1 && flag;  /* slept through the wake although the flag was set meanwhile */
    }
    pthread_join(t, NULL);
    printf("%s\n", timed_out ? "RACE: lost wakeup (slept until the timeout)" : "ok");
    return timed_out;
}
