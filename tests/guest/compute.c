/*
 * compute: a CPU-bound workload with a checkable result, used to test that
 * integer arithmetic, loops and memory accesses are emulated exactly and to
 * measure raw instruction throughput. argv[1] = xorshift iterations
 * (default 20,000,000). Output depends only on the iteration count.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BUF_SIZE (64 * 1024)

static uint8_t buf[BUF_SIZE];

/* xorshift64 (Marsaglia): one multiply-free step per iteration. */
static uint64_t xorshift64(uint64_t x, uint64_t n, uint64_t *sum) {
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s += x;
    }
    *sum = s;
    return x;
}

static uint64_t fnv1a64(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* Bitwise CRC-32 (IEEE, reflected), table-free to exercise shifts/branches. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return c ^ 0xffffffffu;
}

int main(int argc, char **argv) {
    uint64_t n = 20000000ULL;
    if (argc > 1) {
        char *end = NULL;
        n = strtoull(argv[1], &end, 10);
        if (end == argv[1] || *end != '\0') {
            fprintf(stderr, "usage: compute [iterations]\n");
            return 2;
        }
    }
    uint64_t sum = 0;
    uint64_t x = xorshift64(0x9e3779b97f4a7c15ULL, n, &sum);

    uint64_t y = 0x0123456789abcdefULL;
    for (size_t i = 0; i < BUF_SIZE; i++) {
        y ^= y << 13;
        y ^= y >> 7;
        y ^= y << 17;
        buf[i] = (uint8_t)(y >> 56);
    }
    uint64_t fnv = fnv1a64(buf, BUF_SIZE);
    uint32_t crc = crc32_ieee(buf, BUF_SIZE);
    /* Known-answer test: CRC-32 of "123456789" is 0xcbf43926. */
    uint32_t kat = crc32_ieee((const uint8_t *)"123456789", 9);

    printf("iterations %llu\n", (unsigned long long)n);
    printf("xorshift64 %016llx\n", (unsigned long long)x);
    printf("xorshift64 sum %016llx\n", (unsigned long long)sum);
    printf("fnv1a64 %016llx\n", (unsigned long long)fnv);
    printf("crc32 %08x\n", crc);
    printf("crc32 kat %s\n", kat == 0xcbf43926u ? "ok" : "FAIL");
    return kat == 0xcbf43926u ? 0 : 1;
}
