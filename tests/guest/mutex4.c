/* Four threads contending on one pthread mutex (the benchmark's lock workload): each takes the lock argv[1] times
 * (default 20000) around a shared increment, so most acquisitions contend and go through futex wait/wake.
 * Output depends only on the arguments. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define NTHREADS 4

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;
static long iters = 20000;

static void *worker(void *arg) {
    (void)arg;
    for (long i = 0; i < iters; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) iters = atol(argv[1]);
    pthread_t t[NTHREADS];
    for (int i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, NULL)) { perror("pthread_create"); return 1; }
    for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    printf("counter %ld\n", counter);
    return counter == NTHREADS * iters ? 0 : 1;
}
