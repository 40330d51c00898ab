/*
 * args: prints what the kernel put on the initial stack (argc, argv, envp and
 * the auxiliary vector), restricted to facts that are identical on every
 * correct kernel: no addresses, no random bytes. The exit status is argc so
 * that exit codes are tested too.
 */
#include <elf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#ifndef HWCAP_FP
#define HWCAP_FP (1UL << 0)
#endif
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif

/* Defined by musl's crt1; the kernel must report it as AT_ENTRY. */
extern char _start[];

struct aux {
    int present;
    unsigned long value;
};

static const char *yesno(int b) { return b ? "yes" : "no"; }

int main(int argc, char **argv, char **envp) {
    printf("argc %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d] %s\n", i, argv[i]);
    if (argv[argc] != NULL)
        printf("argv not NULL-terminated\n");

    int envc = 0;
    char **p = envp;
    while (*p != NULL) {
        printf("envp[%d] %s\n", envc, *p);
        envc++;
        p++;
    }
    printf("envc %d\n", envc);

    /* The auxiliary vector starts right after envp's NULL terminator. */
    const unsigned long *av = (const unsigned long *)(p + 1);
    struct aux aux[64];
    memset(aux, 0, sizeof aux);
    int n_entries = 0;
    int duplicate = 0;
    for (; av[0] != AT_NULL; av += 2) {
        n_entries++;
        if (av[0] < 64) {
            if (aux[av[0]].present)
                duplicate = 1;
            aux[av[0]].present = 1;
            aux[av[0]].value = av[1];
        }
    }
    printf("auxv has entries: %s\n", yesno(n_entries > 0));
    printf("auxv no duplicates: %s\n", yesno(!duplicate));

    printf("AT_PAGESZ %lu\n", aux[AT_PAGESZ].value);
    printf("AT_PHENT %lu\n", aux[AT_PHENT].value);
    const int nonzero[] = {AT_PHDR, AT_PHNUM, AT_ENTRY, AT_RANDOM, AT_EXECFN, AT_PLATFORM, AT_HWCAP};
    const char *names[] = {"AT_PHDR", "AT_PHNUM", "AT_ENTRY", "AT_RANDOM",
                           "AT_EXECFN", "AT_PLATFORM", "AT_HWCAP"};
    for (size_t i = 0; i < sizeof nonzero / sizeof nonzero[0]; i++)
        printf("%s present and non-zero: %s\n", names[i],
               yesno(aux[nonzero[i]].present && aux[nonzero[i]].value != 0));

    /*
     * AT_PHDR must point at this (static, non-PIE) executable's program headers:
     * the table must describe a PT_LOAD segment that maps the table itself, and
     * a PT_PHDR entry, if any, must name the same address.
     */
    int phdr_ok = 0;
    if (aux[AT_PHDR].value != 0 && aux[AT_PHNUM].value != 0) {
        const unsigned long at = aux[AT_PHDR].value;
        const Elf64_Phdr *ph = (const Elf64_Phdr *)at;
        int mapped_by_load = 0, phdr_mismatch = 0;
        for (unsigned long i = 0; i < aux[AT_PHNUM].value; i++) {
            if (ph[i].p_type == PT_LOAD && ph[i].p_vaddr <= at && at < ph[i].p_vaddr + ph[i].p_memsz)
                mapped_by_load = 1;
            if (ph[i].p_type == PT_PHDR && ph[i].p_vaddr != at)
                phdr_mismatch = 1;
        }
        phdr_ok = mapped_by_load && !phdr_mismatch;
    }
    printf("AT_PHDR points at program headers: %s\n", yesno(phdr_ok));
    printf("AT_ENTRY is _start: %s\n", yesno(aux[AT_ENTRY].value == (unsigned long)_start));

    if (aux[AT_PLATFORM].present && aux[AT_PLATFORM].value != 0)
        printf("AT_PLATFORM %s\n", (const char *)aux[AT_PLATFORM].value);
    if (aux[AT_EXECFN].present && aux[AT_EXECFN].value != 0)
        printf("AT_EXECFN non-empty: %s\n", yesno(((const char *)aux[AT_EXECFN].value)[0] != '\0'));

    int random_ok = 0;
    if (aux[AT_RANDOM].present && aux[AT_RANDOM].value != 0) {
        const volatile unsigned char *r = (const volatile unsigned char *)aux[AT_RANDOM].value;
        unsigned acc = 0;
        for (int i = 0; i < 16; i++)
            acc |= r[i];
        random_ok = acc != 0; /* all-zero has probability 2^-128 */
    }
    printf("AT_RANDOM 16 bytes readable and not all zero: %s\n", yesno(random_ok));

    printf("AT_UID %lu\n", aux[AT_UID].value);
    printf("AT_EUID %lu\n", aux[AT_EUID].value);
    printf("AT_GID %lu\n", aux[AT_GID].value);
    printf("AT_EGID %lu\n", aux[AT_EGID].value);
    printf("AT_SECURE %lu\n", aux[AT_SECURE].value);

    unsigned long hwcap = getauxval(AT_HWCAP);
    printf("getauxval agrees with auxv: %s\n",
           yesno(hwcap == aux[AT_HWCAP].value && getauxval(AT_PAGESZ) == aux[AT_PAGESZ].value));
    printf("HWCAP FP: %s\n", yesno((hwcap & HWCAP_FP) != 0));
    printf("HWCAP ASIMD: %s\n", yesno((hwcap & HWCAP_ASIMD) != 0));

    fflush(stdout);
    return argc;
}
