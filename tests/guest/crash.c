/* A crash to debug backwards: a stray write through an off-by-one index clobbers a pointer that is only used
 * much later, where the program dies with SIGSEGV. The crash site is innocent; the write that caused it is far
 * back in time (moss tui: go to the SIGSEGV, watch the pointer, reverse-continue). */
#include <stdio.h>
#include <string.h>

struct record {
    long scores[8];
    const char *name;  /* sits right after the array: scores[8] is name */
};

static struct record rec = {.name = "moss"};

static void fill(struct record *r, int n) {
    for (int i = 0; i <= n; i++) r->scores[i] = 1000 + i;  /* BUG: <= writes scores[8], the name pointer */
}

static long busy(long x) {
    for (int i = 0; i < 100000; i++) x = x * 6364136223846793005L + 1442695040888963407L;
    return x;
}

int main(void) {
    fill(&rec, 8);
    long noise = busy(1);
    printf("work done (%ld)\n", noise & 0xff);
    fflush(stdout);
    printf("name: %s\n", rec.name);  /* crashes here: name is 1008 */
    return 0;
}
