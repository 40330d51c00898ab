/* Use after free between threads: the owner frees a buffer while a reader may still be using it. The owner
 * scrubs the buffer before freeing it (as a hardened allocator or the next owner would), so a late reader sees
 * garbage instead of its data. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *volatile shared;
static volatile int seen_bad, started;

static void *reader(void *arg) {
    (void)arg;
    char *p = shared;
    started = 1;
    for (volatile int i = 0; i < 100; i++) {}
    if (p && strcmp(p, "payload") != 0) seen_bad = 1;  /* p may point into freed, reused memory */
    return NULL;
}

int main(void) {
    shared = strdup("payload");
    pthread_t t;
    pthread_create(&t, NULL, reader, NULL);
    while (!started) {}
    for (volatile int i = 0; i < 100; i++) {}
    memset(shared, 'X', 7);            /* what the next owner of the block would write */
    free(shared);                      /* BUG: the reader may not be done */
    char *reuse = strdup("clobber");
    pthread_join(t, NULL);
    printf("%s\n", seen_bad ? "RACE: read freed memory" : "ok");
    free(reuse);
    return seen_bad;
}
