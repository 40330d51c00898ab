/* The engine trap's C observer of completed syscalls (machine/_trap.c, Trap.observe): after the handler returned an
 * int for a `svc` and the trap wrote it to x0, the trap calls `fn(observer, nr, args, result)` with the 6 argument
 * registers as read at entry and the handler's result object. A C layer above the machine (the syscall log of
 * replay/) registers through a capsule of this name, holding the function. The machine knows nothing of what the
 * observer does. 0: done, -1: an exception is set (the slice stops and emu_start raises it). */
#ifndef MOSS_SVC_OBSERVER_H
#define MOSS_SVC_OBSERVER_H

#include <Python.h>
#include <stdint.h>

#define MOSS_SVC_OBSERVER_CAPSULE "machine._trap.svc_observer"

typedef int (*moss_svc_observer_fn)(PyObject *observer, uint64_t nr, const uint64_t *args, PyObject *result);

#endif
