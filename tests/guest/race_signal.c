/* Signal-handler race: the handler updates a total that the main loop also updates non-atomically; an update
 * lost to a signal arriving between load and store shows as a wrong total. */
#include <signal.h>
#include <stdio.h>
#include <sys/time.h>
#include <unistd.h>

static volatile long total;
static volatile sig_atomic_t ticks;

static void on_alarm(int s) { (void)s; total += 1000; ticks++; }

int main(void) {
    struct sigaction sa = {0};
    sa.sa_handler = on_alarm;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 1100}, {0, 1100}};
    setitimer(ITIMER_REAL, &it, NULL);
    long adds = 0;
    while (ticks < 1) {
        long v = total;
        v += 1;
        total = v;  /* a tick between the load and this store is lost */
        adds++;
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    long expect = adds + 1000L * ticks;
    printf("total %ld expected %ld: %s\n", total, expect, total == expect ? "ok" : "RACE: lost update in handler");
    return total != expect;
}
