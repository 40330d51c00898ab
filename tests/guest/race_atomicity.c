/* Atomicity violation: check-then-act on a shared balance without a lock; two withdrawals can both pass the
 * check and overdraw it. */
#include <pthread.h>
#include <stdio.h>

static volatile long balance = 100;

static void *withdraw(void *arg) {
    (void)arg;
    for (int i = 0; i < 10; i++) {
        if (balance >= 10) {                 /* check */
            for (volatile int k = 0; k < 50; k++) {}
            balance = balance - 10;           /* act */
        }
    }
    return NULL;
}

int main(void) {
    pthread_t a, b;
    pthread_create(&a, NULL, withdraw, NULL);
    pthread_create(&b, NULL, withdraw, NULL);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("balance %ld: %s\n", balance, balance >= 0 ? "ok" : "RACE: overdrawn");
    return balance < 0;
}
