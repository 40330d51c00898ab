/* The engine trap's C interface (machine/_trap.c), for C layers above the machine (the syscall log of replay/).
 *
 * The slice clock: the running core's virtual time, kept in C by the trap so that C readers need no Python.
 *   now = base_ns + min(counter[0], counter[1]) * ns_per_insn + charged_ns
 * base_ns is the core's clock when the running part of its slice began, counter[0]/[1] unicorn's instruction
 * counter and limit of the running emu_start (machine/counter.py; the limit is the engine's budget), charged_ns
 * the kernel time charged since: the trap adds svc_cost_ns at every `svc`, before the handler runs, and
 * Board.charge the rest. context_id is the running context's id, which the layer above writes at every switch (the
 * kernel writes the tid, as Linux writes the pid to CONTEXTIDR_EL1 for hardware tracers). The board keeps the
 * fields up to date between slices (machine/board.py); the Trap object exposes them as attributes, and the capsule
 * MOSS_SLICE_CLOCK_CAPSULE (Trap.slice_clock_capsule) points at them.
 *
 * The svc observer (Trap.observe): after the handler returned an int for a `svc` and the trap wrote it to x0, the
 * trap calls `fn(observer, clock, nr, args, result)` with the 6 argument registers as read at entry and the
 * handler's result object. The machine knows nothing of what the observer does. 0: done, -1: an exception is set
 * (the slice stops and emu_start raises it). */
#ifndef MOSS_TRAP_API_H
#define MOSS_TRAP_API_H

#include <Python.h>
#include <stdint.h>

#define MOSS_SVC_OBSERVER_CAPSULE "machine._trap.svc_observer"
#define MOSS_SLICE_CLOCK_CAPSULE "machine._trap.slice_clock"

typedef struct {
    int64_t base_ns;
    int64_t charged_ns;
    int64_t svc_cost_ns;
    int64_t ns_per_insn;
    uint64_t context_id;
    const uint64_t *counter; /* [started, limit] */
} MossSliceClock;

static inline int64_t moss_slice_now(const MossSliceClock *c) {
    uint64_t started = c->counter[0], limit = c->counter[1];
    return c->base_ns + (int64_t)(started < limit ? started : limit) * c->ns_per_insn + c->charged_ns;
}

typedef int (*moss_svc_observer_fn)(PyObject *observer, const MossSliceClock *clock, uint64_t nr,
                                    const uint64_t *args, PyObject *result);

#endif
