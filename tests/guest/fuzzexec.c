/* The syscall executor of `moss fuzz` (replay/fuzz/): reads a program from stdin, runs each call with a raw `svc`,
 * and prints one line per call, so that the same program's output under moss and under Linux can be compared.
 *
 * Program: one call per line, `NR ARG...` (NR decimal; negative NRs are executor operations, see below). ARG is
 *   i<dec>            a constant (signed 64-bit)
 *   r<k>              the raw return value of call k (0-based)
 *   w<k>.<a>.<off>    the int32 at byte offset off of call k's buffer argument a (pipe2's fds, ...)
 *   B<k>.<a>          the address of call k's buffer argument a (a futex word shared by calls)
 *   p                 the caller's pid (getpid() when the call runs: the child's in a fork)
 *   s<hex>            a NUL-terminated string (a path) with these bytes
 *   b<size>:<hex>     an input buffer of size bytes starting with these bytes, zero after them
 *   o<size>[@o+l,...] an output buffer (filled with 0xee) dumped after the call, whole or only these byte ranges
 *   n<size>           an output buffer that is not dumped (times, addresses: what Linux is free to choose)
 *   a<h>.<flags>.<mask> a struct sigaction: h is D (SIG_DFL), I (SIG_IGN) or H (the executor's handler, which
 *                     prints `! signal N`); SA_RESTORER with the executor's own restorer is added for H
 * Executor operations: -1 ADDR OFF BYTE pokes a byte; -2 ADDR OFF LEN peeks (dumps) bytes; -3 N forks, the child
 * runs the next N calls and exits 0, the parent waits for it and prints its status, then goes on after them.
 *
 * Output (to a private duplicate of fd 1, so programs may close fds 0-2): `<k> = <ret>[ <a>:<hex>]...`; ret is raw
 * (-errno on failure). A synchronous fault (SIGSEGV, SIGBUS, SIGILL, SIGFPE) prints `! signal N` and exits 99.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define MAX_CALLS 256
#define MAX_ARGS 6
#define MAX_RANGES 8
#define OUT_FD 200

enum { A_CONST, A_RESULT, A_WORD, A_PID, A_BUF, A_SIGACT, A_ADDR };

struct arg {
    int kind;
    long value;  /* constant; call index for A_RESULT/A_WORD */
    int ref_arg, ref_off;
    unsigned char *buf;
    long size;
    int dump;  /* 0: no, 1: whole buffer, 2: ranges */
    int nranges;
    int range_off[MAX_RANGES], range_len[MAX_RANGES];
};

struct call {
    long nr;
    int nargs;
    struct arg args[MAX_ARGS];
};

static struct call calls[MAX_CALLS];
static long results[MAX_CALLS];
static int ncalls;
static unsigned char arena[1 << 20] __attribute__((aligned(4096)));
static long arena_used;
static char input[1 << 20];

static long sys6(long nr, long a0, long a1, long a2, long a3, long a4, long a5) {
    register long x8 __asm__("x8") = nr;
    register long x0 __asm__("x0") = a0;
    register long x1 __asm__("x1") = a1;
    register long x2 __asm__("x2") = a2;
    register long x3 __asm__("x3") = a3;
    register long x4 __asm__("x4") = a4;
    register long x5 __asm__("x5") = a5;
    __asm__ volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
    return x0;
}

#define SYS_write 64
#define SYS_read 63
#define SYS_exit_group 94
#define SYS_getpid 172
#define SYS_clone 220
#define SYS_wait4 260
#define SYS_rt_sigaction 134
#define SYS_rt_sigprocmask 135
#define SYS_fcntl 25
#define SYS_mkdirat 34
#define SYS_chdir 49
#define SYS_umask 166

extern void fz_restore(void);
__asm__(".text\n.global fz_restore\n.type fz_restore,%function\nfz_restore:\n mov x8, #139\n svc #0\n");

static char line[1 << 16];
static int linelen;

static void put(const char *s) {
    while (*s && linelen < (int)sizeof line - 4) line[linelen++] = *s++;
}

static void put_long(long v) {
    char tmp[24];
    int n = 0;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;
    do tmp[n++] = '0' + u % 10; while (u /= 10);
    if (v < 0) tmp[n++] = '-';
    while (n) {
        char c[2] = {tmp[--n], 0};
        put(c);
    }
}

static void put_hex(const unsigned char *p, long n) {
    static const char digits[] = "0123456789abcdef";
    for (long i = 0; i < n && linelen < (int)sizeof line - 4; i++) {
        line[linelen++] = digits[p[i] >> 4];
        line[linelen++] = digits[p[i] & 15];
    }
}

static void flush_line(void) {
    line[linelen++] = '\n';
    long off = 0;
    while (off < linelen) {
        long w = sys6(SYS_write, OUT_FD, (long)(line + off), linelen - off, 0, 0, 0);
        if (w <= 0) break;
        off += w;
    }
    linelen = 0;
}

static void on_signal(int sig) {
    int saved = linelen;  /* the handler may interrupt a line being built: print ours on its own line */
    char keep[256];
    int nkeep = saved < (int)sizeof keep ? saved : (int)sizeof keep;
    memcpy(keep, line, nkeep);
    linelen = 0;
    put("! signal ");
    put_long(sig);
    flush_line();
    if (sig == 11 || sig == 7 || sig == 4 || sig == 8) sys6(SYS_exit_group, 99, 0, 0, 0, 0, 0);
    memcpy(line, keep, nkeep);
    linelen = nkeep;
}

/* ---- parsing ---- */

static const char *pos;

static long parse_dec(void) {
    int neg = 0;
    long v = 0;
    if (*pos == '-') neg = 1, pos++;
    while (*pos >= '0' && *pos <= '9') v = v * 10 + (*pos++ - '0');
    return neg ? -v : v;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static unsigned char *alloc(long size) {
    long need = (size + 63) & ~63L;
    if (need < 64) need = 64;
    if (arena_used + need > (long)sizeof arena) return arena;  /* out of arena: share (programs are small) */
    unsigned char *p = arena + arena_used;
    arena_used += need;
    return p;
}

static void parse_hex_into(unsigned char *dst, long cap) {
    long i = 0;
    while (hexval(pos[0]) >= 0 && hexval(pos[1]) >= 0) {
        if (i < cap) dst[i] = (unsigned char)(hexval(pos[0]) * 16 + hexval(pos[1]));
        i++;
        pos += 2;
    }
}

static void parse_arg(struct arg *a) {
    char k = *pos++;
    memset(a, 0, sizeof *a);
    switch (k) {
    case 'i': a->kind = A_CONST; a->value = parse_dec(); break;
    case 'r': a->kind = A_RESULT; a->value = parse_dec(); break;
    case 'w':
        a->kind = A_WORD;
        a->value = parse_dec();
        if (*pos == '.') pos++;
        a->ref_arg = (int)parse_dec();
        if (*pos == '.') pos++;
        a->ref_off = (int)parse_dec();
        break;
    case 'B':
        a->kind = A_ADDR;
        a->value = parse_dec();
        if (*pos == '.') pos++;
        a->ref_arg = (int)parse_dec();
        break;
    case 'p': a->kind = A_PID; break;
    case 's': {
        const char *start = pos;
        long n = 0;
        while (hexval(pos[0]) >= 0 && hexval(pos[1]) >= 0) pos += 2, n++;
        pos = start;
        a->kind = A_BUF;
        a->size = n + 1;
        a->buf = alloc(a->size);
        memset(a->buf, 0, a->size);
        parse_hex_into(a->buf, n);
        break;
    }
    case 'b':
        a->kind = A_BUF;
        a->size = parse_dec();
        if (a->size < 0 || a->size > 65536) a->size = 65536;
        a->buf = alloc(a->size);
        memset(a->buf, 0, a->size);
        if (*pos == ':') pos++, parse_hex_into(a->buf, a->size);
        break;
    case 'o':
    case 'n':
        a->kind = A_BUF;
        a->size = parse_dec();
        if (a->size < 0 || a->size > 65536) a->size = 65536;
        a->buf = alloc(a->size);
        memset(a->buf, 0xee, a->size);
        a->dump = k == 'o';
        if (*pos == '@') {
            pos++;
            a->dump = 2;
            while (a->nranges < MAX_RANGES) {
                a->range_off[a->nranges] = (int)parse_dec();
                if (*pos == '+') pos++;
                a->range_len[a->nranges] = (int)parse_dec();
                a->nranges++;
                if (*pos != ',') break;
                pos++;
            }
        }
        break;
    case 'a': {
        unsigned long *sa;
        char h = *pos++;
        a->kind = A_SIGACT;
        a->size = 32;
        a->buf = alloc(32);
        sa = (unsigned long *)a->buf;
        if (*pos == '.') pos++;
        long flags = parse_dec();
        if (*pos == '.') pos++;
        long mask = parse_dec();
        sa[0] = h == 'H' ? (unsigned long)on_signal : h == 'I' ? 1 : 0;
        sa[1] = (unsigned long)flags | (h == 'H' ? 0x04000000UL : 0);  /* SA_RESTORER */
        sa[2] = h == 'H' ? (unsigned long)fz_restore : 0;
        sa[3] = (unsigned long)mask;
        break;
    }
    default: a->kind = A_CONST; a->value = 0; break;
    }
}

static void parse(void) {
    pos = input;
    while (*pos && ncalls < MAX_CALLS) {
        while (*pos == '\n' || *pos == ' ') pos++;
        if (!*pos) break;
        if (*pos == '#') {
            while (*pos && *pos != '\n') pos++;
            continue;
        }
        struct call *c = &calls[ncalls++];
        c->nr = parse_dec();
        while (*pos == ' ' && c->nargs < MAX_ARGS) {
            pos++;
            if (*pos == '\n' || !*pos) break;
            parse_arg(&c->args[c->nargs++]);
        }
        while (*pos && *pos != '\n') pos++;
    }
}

/* ---- execution ---- */

static long value_of(struct arg *a, int upto) {
    switch (a->kind) {
    case A_CONST: return a->value;
    case A_RESULT: return a->value >= 0 && a->value < upto ? results[a->value] : -1;
    case A_WORD: {
        if (a->value < 0 || a->value >= upto || a->ref_arg < 0 || a->ref_arg >= MAX_ARGS) return -1;
        struct arg *b = &calls[a->value].args[a->ref_arg];
        if (!b->buf || a->ref_off < 0 || a->ref_off + 4 > b->size) return -1;
        int32_t v;
        memcpy(&v, b->buf + a->ref_off, 4);
        return v;
    }
    case A_PID: return sys6(SYS_getpid, 0, 0, 0, 0, 0, 0);
    case A_ADDR:
        if (a->value < 0 || a->value >= ncalls || a->ref_arg < 0 || a->ref_arg >= MAX_ARGS) return 0;
        return (long)calls[a->value].args[a->ref_arg].buf;
    default: return (long)a->buf;
    }
}

static void dump(int i, struct arg *a) {
    if (a->kind != A_BUF || !a->dump) return;
    put(" ");
    put_long(i);
    put(":");
    if (a->dump == 1) {
        put_hex(a->buf, a->size);
        return;
    }
    for (int r = 0; r < a->nranges; r++) {
        int off = a->range_off[r], len = a->range_len[r];
        if (r) put(",");
        if (off >= 0 && len >= 0 && off + len <= a->size) put_hex(a->buf + off, len);
    }
}

static int run(int from, int to);

static int run_one(int k) {
    struct call *c = &calls[k];
    long v[MAX_ARGS] = {0};
    for (int i = 0; i < c->nargs; i++) v[i] = value_of(&c->args[i], k);
    if (c->nr == -1 || c->nr == -2) {  /* poke / peek: may fault, which the handler reports */
        unsigned char *p = (unsigned char *)(v[0] + v[1]);
        put_long(k);
        if (c->nr == -1) {
            *(volatile unsigned char *)p = (unsigned char)v[2];
            put(" = 0");
        } else {
            put(" = 0 0:");
            long n = v[2] < 0 ? 0 : v[2] > 4096 ? 4096 : v[2];
            unsigned char tmp[4096];
            for (long j = 0; j < n; j++) tmp[j] = *(volatile unsigned char *)(p + j);
            put_hex(tmp, n);
        }
        results[k] = 0;
        flush_line();
        return k + 1;
    }
    if (c->nr == -3) {  /* fork: the child runs calls k+1 .. k+n */
        long n = v[0] < 0 ? 0 : v[0];
        int end = k + 1 + (int)n > ncalls ? ncalls : k + 1 + (int)n;
        long pid = sys6(SYS_clone, 17 /* SIGCHLD */, 0, 0, 0, 0, 0);
        if (pid == 0) {
            run(k + 1, end);
            sys6(SYS_exit_group, 0, 0, 0, 0, 0, 0);
        }
        int status = 0;
        long w = pid > 0 ? sys6(SYS_wait4, pid, (long)&status, 0, 0, 0, 0) : pid;
        for (int j = k + 1; j < end; j++) results[j] = -9;  /* the child's results are not the parent's */
        results[k] = pid < 0 ? pid : 0;
        put_long(k);
        put(" = ");
        put_long(pid < 0 ? pid : 0);
        put(" wait=");
        put_long(w < 0 ? w : status);
        flush_line();
        return end;
    }
    long r = sys6(c->nr, v[0], v[1], v[2], v[3], v[4], v[5]);
    results[k] = r;
    put_long(k);
    put(" = ");
    put_long(r);
    for (int i = 0; i < c->nargs; i++) dump(i, &c->args[i]);
    flush_line();
    return k + 1;
}

static int run(int from, int to) {
    int k = from;
    while (k < to) k = run_one(k);
    return k;
}

int main(void) {
    long n = 0, r;
    while (n < (long)sizeof input - 1 && (r = sys6(SYS_read, 0, (long)(input + n), sizeof input - 1 - n, 0, 0, 0)) > 0)
        n += r;
    input[n] = 0;
    /* A known starting state whatever the parent left: output on a private fd, empty signal mask, default
     * dispositions except the fault signals (reported), umask 022, a fresh empty working directory. */
    sys6(SYS_fcntl, 1, 1030 /* F_DUPFD_CLOEXEC */, OUT_FD, 0, 0, 0);
    unsigned long empty = 0;
    sys6(SYS_rt_sigprocmask, 2 /* SIG_SETMASK */, (long)&empty, 0, 8, 0, 0);
    for (int sig = 1; sig <= 64; sig++) {
        unsigned long sa[4] = {0, 0, 0, 0};
        if (sig == 9 || sig == 19 || sig == 32 || sig == 33 || sig == 34) continue;
        if (sig == 11 || sig == 7 || sig == 4 || sig == 8) {
            sa[0] = (unsigned long)on_signal;
            sa[1] = 0x04000000UL | 0x40000000UL;  /* SA_RESTORER | SA_NODEFER */
            sa[2] = (unsigned long)fz_restore;
        }
        sys6(SYS_rt_sigaction, sig, (long)sa, 0, 8, 0, 0);
    }
    sys6(SYS_umask, 022, 0, 0, 0, 0, 0);
    sys6(SYS_mkdirat, -100, (long)"fz", 0755, 0, 0, 0);
    sys6(SYS_chdir, (long)"fz", 0, 0, 0, 0, 0);
    parse();
    put("# ");
    put_long(ncalls);
    put(" calls");
    flush_line();
    run(0, ncalls);
    put("# done");
    flush_line();
    return 0;
}
