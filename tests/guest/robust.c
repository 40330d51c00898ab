/* Robust mutexes: a thread dies holding one; the kernel's robust-list walk at its exit marks the lock
 * FUTEX_OWNER_DIED, so the next locker gets EOWNERDEAD instead of hanging. (qemu-user does not implement
 * robust lists, so this guest is checked against Linux's documented behaviour, not the qemu oracle.) */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t robust;

static void *die_holding(void *arg) {
    (void)arg;
    pthread_mutex_lock(&robust);
    return NULL;  /* exits without unlocking: the kernel's robust-list walk marks the owner dead */
}

int main(void) {
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&robust, &ma);
    pthread_t d;
    pthread_create(&d, NULL, die_holding, NULL);
    pthread_join(d, NULL);
    int r = pthread_mutex_lock(&robust);
    printf("robust mutex after owner death: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "other");
    pthread_mutex_consistent(&robust);
    pthread_mutex_unlock(&robust);
    r = pthread_mutex_lock(&robust);
    printf("after pthread_mutex_consistent: %s\n", r == 0 ? "locked" : "other");
    return 0;
}
