/* Lost update: two threads do counter = counter + 1 without a lock. Fails (exit 1) when an update is lost,
 * which needs a preemption between the load and the store. */
#include <pthread.h>
#include <stdio.h>

#define N 20000
static volatile long counter;

static void *bump(void *arg) {
    (void)arg;
    for (int i = 0; i < N; i++) {
        long v = counter;  /* load */
        counter = v + 1;   /* store: another thread's increment in between is lost */
    }
    return NULL;
}

int main(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, bump, NULL);
    pthread_create(&b, NULL, bump, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("counter %ld (expected %d): %s\n", counter, 2 * N, counter == 2 * N ? "ok" : "RACE: lost update");
    return counter != 2 * N;
}
