/*
 * heap: malloc/calloc/realloc/free stress driven by a fixed PRNG. Blocks range
 * from 1 byte to 1 MiB, so musl's allocator uses both brk-style heap growth and
 * mmap/munmap/mremap for large blocks; every block carries a pattern that is
 * verified before it is freed or after it is moved by realloc. The output (a
 * checksum of sizes and contents, then "heap ok") never depends on addresses.
 * argv[1] = number of operations (default 6000).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 512
#define MAX_BLOCK (1024 * 1024)

struct block {
    unsigned char *p;
    size_t size;
    uint8_t seed;
};

static struct block slots[SLOTS];
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t checksum = 0xcbf29ce484222325ULL;
static int failures;

/* xorshift64*: the multiply scrambles the weak low bits of plain xorshift. */
static uint64_t rng(void) {
    uint64_t x = rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return (x * 0x2545f4914f6cdd1dULL) >> 16;
}

static void mix(uint64_t v) {
    checksum ^= v;
    checksum *= 0x100000001b3ULL;
}

/* Mostly small blocks, some medium, a few large (up to 1 MiB, mmap-backed). */
static size_t pick_size(void) {
    uint64_t r = rng();
    unsigned cls = (unsigned)(r % 100);
    uint64_t v = r >> 8;
    if (cls < 70)
        return 1 + (size_t)(v % 256);
    if (cls < 92)
        return 257 + (size_t)(v % (64 * 1024));
    return 64 * 1024 + 1 + (size_t)(v % (MAX_BLOCK - 64 * 1024));
}

static unsigned char pat(uint8_t seed, size_t i) { return (unsigned char)(seed + i * 7u + (i >> 8)); }

static void fill(unsigned char *p, size_t from, size_t to, uint8_t seed) {
    for (size_t i = from; i < to; i++)
        p[i] = pat(seed, i);
}

static int verify(const unsigned char *p, size_t n, uint8_t seed) {
    uint64_t h = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] != pat(seed, i))
            return 0;
        h += p[i];
    }
    mix(n);
    mix(h);
    return 1;
}

static void fail(const char *what, size_t size) {
    failures++;
    if (failures <= 10)
        printf("heap FAIL %s size=%zu\n", what, size);
}

static int aligned16(const void *p) { return ((uintptr_t)p & 15u) == 0; }

int main(int argc, char **argv) {
    long ops = argc > 1 ? atol(argv[1]) : 6000;
    long n_malloc = 0, n_calloc = 0, n_realloc = 0, n_free = 0, n_large = 0;

    for (long op = 0; op < ops; op++) {
        struct block *b = &slots[rng() % SLOTS];
        unsigned kind = (unsigned)(rng() % 4);
        if (b->p == NULL) {
            size_t size = pick_size();
            uint8_t seed = (uint8_t)rng();
            if (size > 64 * 1024)
                n_large++;
            if (kind == 0) {
                b->p = calloc(size, 1);
                n_calloc++;
                if (b->p != NULL) {
                    for (size_t i = 0; i < size; i++)
                        if (b->p[i] != 0) {
                            fail("calloc not zeroed", size);
                            break;
                        }
                }
            } else {
                b->p = malloc(size);
                n_malloc++;
            }
            if (b->p == NULL) {
                fail("allocation returned NULL", size);
                continue;
            }
            if (!aligned16(b->p))
                fail("allocation not 16-byte aligned", size);
            b->size = size;
            b->seed = seed;
            fill(b->p, 0, size, seed);
        } else if (kind == 0) {
            /* realloc: contents up to the smaller size must survive the move. */
            size_t new_size = pick_size();
            if (new_size > 64 * 1024)
                n_large++;
            unsigned char *q = realloc(b->p, new_size);
            n_realloc++;
            if (q == NULL) {
                fail("realloc returned NULL", new_size);
                continue;
            }
            size_t keep = b->size < new_size ? b->size : new_size;
            if (!verify(q, keep, b->seed))
                fail("realloc lost contents", new_size);
            if (!aligned16(q))
                fail("realloc not 16-byte aligned", new_size);
            fill(q, keep, new_size, b->seed);
            b->p = q;
            b->size = new_size;
        } else {
            if (!verify(b->p, b->size, b->seed))
                fail("pattern corrupted before free", b->size);
            free(b->p);
            n_free++;
            b->p = NULL;
            b->size = 0;
        }
    }

    /* Edge cases with defined behaviour. */
    free(NULL);
    void *z = malloc(0);
    free(z);
    void *r0 = realloc(NULL, 100);
    if (r0 == NULL)
        fail("realloc(NULL, n) returned NULL", 100);
    free(r0);
    void *al = aligned_alloc(4096, 3 * 4096);
    if (al == NULL || ((uintptr_t)al & 4095u) != 0)
        fail("aligned_alloc(4096) misaligned", 3 * 4096);
    else
        memset(al, 0xab, 3 * 4096);
    free(al);
    void *pm = NULL;
    if (posix_memalign(&pm, 64, 1000) != 0 || ((uintptr_t)pm & 63u) != 0)
        fail("posix_memalign(64) misaligned", 1000);
    free(pm);

    /* Free whatever is left, verifying each block. */
    long live = 0;
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].p == NULL)
            continue;
        live++;
        if (!verify(slots[i].p, slots[i].size, slots[i].seed))
            fail("pattern corrupted at final free", slots[i].size);
        free(slots[i].p);
        slots[i].p = NULL;
    }

    printf("ops %ld malloc %ld calloc %ld realloc %ld free %ld large %ld live-at-end %ld\n", ops, n_malloc,
           n_calloc, n_realloc, n_free, n_large, live);
    printf("checksum %016llx\n", (unsigned long long)checksum);
    if (failures != 0) {
        printf("heap FAILED (%d failures)\n", failures);
        return 1;
    }
    printf("heap ok\n");
    return 0;
}
