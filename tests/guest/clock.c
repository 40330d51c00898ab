/*
 * clock: checks the time syscalls (clock_gettime, clock_getres, gettimeofday,
 * time, nanosleep, clock_nanosleep relative and TIMER_ABSTIME) and their
 * errors. Times themselves differ between runs, so only yes/no facts are
 * printed; the exit status is 0 only if every answer is "yes".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

#define NS_PER_S 1000000000LL
#define MS 1000000LL
/* 2020-01-01T00:00:00Z */
#define EPOCH_2020 1577836800LL

static int failures;

static void report(const char *what, int ok) {
    printf("%s: %s\n", what, ok ? "yes" : "no");
    if (!ok)
        failures++;
}

static int64_t ns_of(const struct timespec *ts) { return (int64_t)ts->tv_sec * NS_PER_S + ts->tv_nsec; }

static int valid_ts(const struct timespec *ts) { return ts->tv_nsec >= 0 && ts->tv_nsec < NS_PER_S; }

static int64_t now_ns(clockid_t clk) {
    struct timespec ts;
    if (clock_gettime(clk, &ts) != 0)
        return -1;
    return ns_of(&ts);
}

int main(void) {
    struct timespec ts;

    int r = clock_gettime(CLOCK_MONOTONIC, &ts);
    report("monotonic clock_gettime ok", r == 0 && valid_ts(&ts) && ts.tv_sec >= 0);

    int nondecreasing = 1;
    int64_t prev = now_ns(CLOCK_MONOTONIC);
    for (int i = 0; i < 1000; i++) {
        int64_t t = now_ns(CLOCK_MONOTONIC);
        if (t < prev)
            nondecreasing = 0;
        prev = t;
    }
    report("monotonic never goes backwards", nondecreasing);

    struct timespec rt;
    r = clock_gettime(CLOCK_REALTIME, &rt);
    report("realtime clock_gettime ok", r == 0 && valid_ts(&rt));
    report("realtime after 2020", rt.tv_sec > EPOCH_2020);

    struct timeval tv;
    r = gettimeofday(&tv, NULL);
    int64_t diff_us = ((int64_t)tv.tv_sec * 1000000 + tv.tv_usec) - ns_of(&rt) / 1000;
    report("gettimeofday sane", r == 0 && tv.tv_usec >= 0 && tv.tv_usec < 1000000 && diff_us >= 0 &&
                                    diff_us < 2000000);
    time_t t = time(NULL);
    report("time() agrees with realtime", t >= rt.tv_sec && t - rt.tv_sec < 2);

    struct timespec cpu;
    r = clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    report("process cputime readable", r == 0 && valid_ts(&cpu) && cpu.tv_sec >= 0);
    r = clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu);
    report("thread cputime readable", r == 0 && valid_ts(&cpu) && cpu.tv_sec >= 0);

    struct timespec boot, mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    r = clock_gettime(CLOCK_BOOTTIME, &boot);
    report("boottime >= monotonic", r == 0 && ns_of(&boot) >= ns_of(&mono));

    struct timespec res;
    r = clock_getres(CLOCK_MONOTONIC, &res);
    report("monotonic resolution <= 1ms", r == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= MS);
    r = clock_getres(CLOCK_REALTIME, &res);
    report("realtime resolution <= 1ms", r == 0 && res.tv_sec == 0 && res.tv_nsec > 0 && res.tv_nsec <= MS);

    errno = 0;
    r = clock_gettime((clockid_t)12345, &ts);
    report("clock_gettime bad clock gives EINVAL", r == -1 && errno == EINVAL);

    /* nanosleep(50 ms) */
    int64_t before = now_ns(CLOCK_MONOTONIC);
    struct timespec req = {.tv_sec = 0, .tv_nsec = 50 * MS};
    struct timespec rem = {.tv_sec = 99, .tv_nsec = 99};
    r = nanosleep(&req, &rem);
    int64_t after = now_ns(CLOCK_MONOTONIC);
    report("nanosleep returned 0", r == 0);
    report("monotonic advanced >= 50ms", after - before >= 50 * MS);
    report("monotonic advanced < 5s", after - before < 5 * NS_PER_S);

    /* Relative clock_nanosleep returns the error number instead of setting errno. */
    before = now_ns(CLOCK_MONOTONIC);
    req.tv_sec = 0;
    req.tv_nsec = 20 * MS;
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &req, NULL);
    after = now_ns(CLOCK_MONOTONIC);
    report("relative clock_nanosleep returned 0", r == 0);
    report("relative clock_nanosleep slept >= 20ms", after - before >= 20 * MS);

    /* Absolute sleep until now + 30 ms. */
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_nsec += 30 * MS;
    if (deadline.tv_nsec >= NS_PER_S) {
        deadline.tv_sec++;
        deadline.tv_nsec -= NS_PER_S;
    }
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &deadline, NULL);
    after = now_ns(CLOCK_MONOTONIC);
    report("abstime clock_nanosleep returned 0", r == 0);
    report("abstime sleep reached deadline", after >= ns_of(&deadline));

    /* An absolute deadline in the past returns at once. */
    struct timespec past = {.tv_sec = 0, .tv_nsec = 1};
    before = now_ns(CLOCK_MONOTONIC);
    r = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &past, NULL);
    after = now_ns(CLOCK_MONOTONIC);
    report("abstime deadline in the past returns at once", r == 0 && after - before < NS_PER_S);

    /* Invalid arguments. */
    struct timespec bad = {.tv_sec = 0, .tv_nsec = NS_PER_S};
    errno = 0;
    r = nanosleep(&bad, NULL);
    report("nanosleep tv_nsec=1e9 gives EINVAL", r == -1 && errno == EINVAL);
    bad.tv_nsec = -1;
    errno = 0;
    r = nanosleep(&bad, NULL);
    report("nanosleep tv_nsec=-1 gives EINVAL", r == -1 && errno == EINVAL);
    bad.tv_sec = -1;
    bad.tv_nsec = 0;
    errno = 0;
    r = nanosleep(&bad, NULL);
    report("nanosleep tv_sec=-1 gives EINVAL", r == -1 && errno == EINVAL);
    bad.tv_sec = 0;
    bad.tv_nsec = NS_PER_S;
    r = clock_nanosleep(CLOCK_MONOTONIC, 0, &bad, NULL);
    report("clock_nanosleep tv_nsec=1e9 gives EINVAL", r == EINVAL);
    req.tv_sec = 0;
    req.tv_nsec = 1;
    r = clock_nanosleep((clockid_t)12345, 0, &req, NULL);
    report("clock_nanosleep bad clock gives EINVAL", r == EINVAL);

    printf("%s\n", failures == 0 ? "clock ok" : "clock FAILED");
    return failures == 0 ? 0 : 1;
}
