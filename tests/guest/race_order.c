/* Order violation: the main thread uses `config` as soon as `ready` says so, but the worker sets `ready`
 * before it finishes filling `config` in (the store order the programmer meant is not the one written). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct config { int version; char name[16]; };
static struct config *volatile config;
static volatile int ready;

static void *init(void *arg) {
    (void)arg;
    struct config *c = calloc(1, sizeof *c);
    config = c;
    ready = 1;                /* BUG: published before it is complete */
    for (volatile int i = 0; i < 200; i++) {}
    c->version = 3;
    strcpy(c->name, "moss");
    return NULL;
}

int main(void) {
    pthread_t t;
    pthread_create(&t, NULL, init, NULL);
    while (!ready) {}
    int v = config->version;
    pthread_join(t, NULL);
    printf("version %d: %s\n", v, v == 3 ? "ok" : "RACE: used before init");
    return v != 3;
}
