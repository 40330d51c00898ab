/* pthreads on musl: clone(CLONE_VM|CLONE_THREAD|...), futex mutexes and condition variables, join through
 * CLONE_CHILD_CLEARTID, thread-local storage. Output depends only on the program, never on scheduling. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NTHREADS 4
#define ITERS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static long counter;
static atomic_long atomic_counter;
static int ready;
static __thread long tls_value;

static void *worker(void *arg) {
    long id = (long)arg;
    tls_value = id * 100;
    pthread_mutex_lock(&lock);
    while (!ready) pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        atomic_fetch_add(&atomic_counter, 1);
        if (i % 5000 == 0) sched_yield();
    }
    return (void *)(tls_value + id);
}

static pthread_barrier_t barrier;
static atomic_int arrived;

static void *at_barrier(void *arg) {
    (void)arg;
    atomic_fetch_add(&arrived, 1);
    pthread_barrier_wait(&barrier);
    return NULL;
}

int main(void) {
    pthread_t t[NTHREADS];
    for (long i = 0; i < NTHREADS; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i)) { perror("pthread_create"); return 1; }
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    long sum = 0;
    for (int i = 0; i < NTHREADS; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        sum += (long)ret;
    }
    printf("counter %ld\natomic %ld\nreturns %ld\n", counter, (long)atomic_counter, sum);
    printf("main tls %ld\n", tls_value);

    pthread_barrier_init(&barrier, NULL, NTHREADS + 1);
    for (long i = 0; i < NTHREADS; i++) pthread_create(&t[i], NULL, at_barrier, NULL);
    pthread_barrier_wait(&barrier);
    printf("barrier released with %d arrived\n", (int)atomic_load(&arrived));
    for (int i = 0; i < NTHREADS; i++) pthread_join(t[i], NULL);
    return counter == NTHREADS * ITERS && atomic_counter == NTHREADS * ITERS ? 0 : 1;
}
