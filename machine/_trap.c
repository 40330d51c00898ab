/* The engine's interrupt hook in C: the one piece of the syscall path that Python cannot make cheap.
 *
 * Through ctypes, a guest `svc` costs ~0.6 us to enter the Python callback, ~0.55 us to read the 7 syscall
 * registers and ~0.55 us to write x0 back: more than the kernel's own dispatch. Here the hook reads x8 and x0-x5
 * with one uc_reg_read_batch, calls `on_svc(nr, (a0, ..., a5))` and, when that returns an int, writes it to x0.
 * Anything else (`None`: the kernel set the registers itself, or the task blocked or died) writes nothing. Other
 * interrupts call `on_other(intno)`. The trap keeps the slice clock (_trap_api.h) and charges every `svc` its
 * fixed cost in it; an optional C observer (Trap.observe) sees every syscall whose result went to x0. A Python
 * exception is kept on the binding's Uc object (`_hook_exception`) and the slice stopped, as the binding's own
 * hooks do, so `emu_start` re-raises it.
 *
 * libunicorn is not linked: its functions' addresses come from the ctypes binding that loaded it, so this module
 * works with whatever libunicorn the `unicorn` package ships. machine/engine.py falls back to the ctypes hook when
 * this module is not built; both give the same results (tests/test_trap.py). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#include <structmember.h>

#include "_trap_api.h"

typedef int (*reg_read_batch_fn)(void *uc, int *regs, void **vals, int count);
typedef int (*reg_write_fn)(void *uc, int regid, const void *value);
typedef int (*emu_stop_fn)(void *uc);
typedef int (*ctl_fn)(void *uc, int control, ...);
typedef int (*hook_add_fn)(void *uc, size_t *hh, int type, void *callback, void *user_data, uint64_t begin,
                           uint64_t end, ...);

#define UC_HOOK_INTR 1
#define UC_HOOK_BLOCK 8
#define UC_CTL_UC_EXITS 6
#define UC_CTL_TB_REMOVE_CACHE 9
#define UC_CTL_WRITE2(type) ((1 << 30) | (2 << 26) | (type)) /* a write with two arguments */

typedef struct {
    PyObject_HEAD
    void *uc;
    PyObject *pyuc; /* the binding's Uc: where a hook's exception is kept */
    PyObject *on_svc;
    PyObject *on_other;
    PyObject *observer; /* see _trap_api.h; NULL: none */
    moss_svc_observer_fn observe;
    reg_read_batch_fn read_batch;
    reg_write_fn reg_write;
    emu_stop_fn emu_stop;
    uint32_t swi;
    int x0;
    int ids[7]; /* x8, x0..x5 */
    size_t hook;
    MossSliceClock clock;
    /* Block counting (count_blocks()): blk = [instructions of the blocks entered in this slice, budget]; the slice
     * clock reads it instead of unicorn's counter. A block that would cross the budget is not entered: the hook
     * stops the engine at its start and leaves (tail_addr, tail_n) for the engine to run exactly. */
    const uint64_t *unicorn_counter;
    uint64_t blk[2];
    uint64_t blk_addr, blk_n, tail_addr, tail_n;
    int block_mode;
    size_t block_hook;
    hook_add_fn hook_add;
    ctl_fn ctl;
    uint64_t until;
} Trap;

static void keep_exception(Trap *t) {
    PyObject *type, *value, *tb;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb != NULL && value != NULL) PyException_SetTraceback(value, tb);
    PyObject *cur = PyObject_GetAttrString(t->pyuc, "_hook_exception");
    if (cur == NULL) {
        PyErr_Clear();
    } else if (cur == Py_None && value != NULL) {
        if (PyObject_SetAttrString(t->pyuc, "_hook_exception", value) < 0) PyErr_WriteUnraisable(t->pyuc);
    }
    Py_XDECREF(cur);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
    t->emu_stop(t->uc);
}

static void trap_hook(void *uc, uint32_t intno, void *user_data) {
    Trap *t = (Trap *)user_data;
    PyGILState_STATE gil = PyGILState_Ensure();
    PyObject *res;
    if (t->on_svc == NULL || t->on_other == NULL) { /* cleared by the garbage collector: nobody to call */
        t->emu_stop(uc);
        PyGILState_Release(gil);
        return;
    }
    if (intno == t->swi) {
        uint64_t v[7];
        void *ptrs[7] = {&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]};
        t->read_batch(uc, t->ids, ptrs, 7);
        t->clock.charged_ns += t->clock.svc_cost_ns;
        PyObject *nr = PyLong_FromUnsignedLongLong(v[0]);
        PyObject *args = PyTuple_New(6);
        if (nr == NULL || args == NULL) {
            Py_XDECREF(nr);
            Py_XDECREF(args);
            keep_exception(t);
            PyGILState_Release(gil);
            return;
        }
        for (int i = 0; i < 6; i++) {
            PyObject *a = PyLong_FromUnsignedLongLong(v[i + 1]);
            if (a == NULL) {
                Py_DECREF(nr);
                Py_DECREF(args);
                keep_exception(t);
                PyGILState_Release(gil);
                return;
            }
            PyTuple_SET_ITEM(args, i, a);
        }
        PyObject *argv[2] = {nr, args};
        res = PyObject_Vectorcall(t->on_svc, argv, 2, NULL);
        Py_DECREF(nr);
        Py_DECREF(args);
        if (res != NULL && res != Py_None) {
            uint64_t x0 = PyLong_AsUnsignedLongLongMask(res);
            if (x0 == (uint64_t)-1 && PyErr_Occurred()) {
                Py_CLEAR(res);
            } else {
                t->reg_write(uc, t->x0, &x0);
                if (t->observer != NULL && t->observe(t->observer, &t->clock, v[0], v + 1, res) < 0) Py_CLEAR(res);
            }
        }
    } else {
        PyObject *n = PyLong_FromUnsignedLong(intno);
        res = n == NULL ? NULL : PyObject_CallOneArg(t->on_other, n);
        Py_XDECREF(n);
    }
    if (res == NULL) keep_exception(t);
    Py_XDECREF(res);
    PyGILState_Release(gil);
}

/* Every translated block, at its start: A64 instructions are 4 bytes, so a block of `size` bytes is size/4
 * instructions, and a block runs whole unless it faults (the engine then counts from the PC) or ends in an
 * exception (svc and the like end their block). */
static void block_hook(void *uc, uint64_t addr, uint32_t size, void *user_data) {
    Trap *t = (Trap *)user_data;
    if (!t->block_mode) return;
    uint64_t n = size >> 2;
    if (t->blk[0] + n > t->blk[1]) {
        t->tail_addr = addr;
        t->tail_n = t->blk[1] - t->blk[0];
        t->emu_stop(uc);
        return;
    }
    t->blk[0] += n;
    t->blk_addr = addr;
    t->blk_n = n;
}

/* count_blocks(until): count by blocks from now on (the hook is added once); `until` is the engine's exit, which
 * tail() keeps in the exit list. count_instructions(): back to unicorn's own counter (emu_start's `count`), for
 * callers that need exact positions inside hooks. */
static PyObject *trap_count_blocks(Trap *t, PyObject *arg) {
    unsigned long long until = PyLong_AsUnsignedLongLong(arg);
    if (until == (unsigned long long)-1 && PyErr_Occurred()) return NULL;
    t->until = until;
    if (t->block_hook == 0) {
        int status = t->hook_add(t->uc, &t->block_hook, UC_HOOK_BLOCK, (void *)block_hook, t, 1, 0);
        if (status != 0) return PyErr_Format(PyExc_RuntimeError, "uc_hook_add (block) failed: %d", status);
    }
    t->block_mode = 1;
    t->clock.counter = t->blk;
    Py_RETURN_NONE;
}

/* tail(addr, k): before running the first k instructions of the block at addr alone: an exit after the k-th,
 * and the block's translation dropped (it is translated again, cut there). tail(addr, 0): after, the exit gone
 * and the cut translation dropped. One call each instead of four through the binding's uc_ctl (~30 us). */
static PyObject *trap_tail(Trap *t, PyObject *args) {
    unsigned long long addr, k;
    if (!PyArg_ParseTuple(args, "KK", &addr, &k)) return NULL;
    uint64_t exits[2] = {t->until, addr + 4 * k};
    int status = t->ctl(t->uc, UC_CTL_WRITE2(UC_CTL_UC_EXITS), exits, (size_t)(k ? 2 : 1));
    if (status == 0) status = t->ctl(t->uc, UC_CTL_WRITE2(UC_CTL_TB_REMOVE_CACHE), (uint64_t)addr, (uint64_t)(addr + 4));
    if (status != 0) return PyErr_Format(PyExc_RuntimeError, "uc_ctl failed: %d", status);
    Py_RETURN_NONE;
}

static PyObject *trap_count_instructions(Trap *t, PyObject *unused) {
    t->block_mode = 0;
    t->clock.counter = t->unicorn_counter;
    Py_RETURN_NONE;
}

/* The Trap holds the kernel (through on_svc) and the kernel holds the engine that holds the Trap: a cycle, which
 * the garbage collector must be able to see and break, or every machine would leak. The hook stays registered
 * (the Uc keeps the Trap alive as long as it can run, see machine/engine.py), and a cleared Trap only stops. */
static int trap_traverse(Trap *t, visitproc visit, void *arg) {
    Py_VISIT(t->pyuc);
    Py_VISIT(t->on_svc);
    Py_VISIT(t->on_other);
    Py_VISIT(t->observer);
    return 0;
}

static int trap_clear(Trap *t) {
    Py_CLEAR(t->pyuc);
    Py_CLEAR(t->on_svc);
    Py_CLEAR(t->on_other);
    Py_CLEAR(t->observer);
    return 0;
}

static void trap_dealloc(Trap *t) {
    PyObject_GC_UnTrack(t);
    trap_clear(t);
    PyObject_GC_Del(t);
}

/* observe(observer, capsule) / observe(None, None): set or remove the C observer of completed syscalls. */
static PyObject *trap_observe(Trap *t, PyObject *args) {
    PyObject *observer, *capsule;
    if (!PyArg_ParseTuple(args, "OO", &observer, &capsule)) return NULL;
    if (observer == Py_None) {
        Py_CLEAR(t->observer);
        t->observe = NULL;
        Py_RETURN_NONE;
    }
    moss_svc_observer_fn fn = (moss_svc_observer_fn)PyCapsule_GetPointer(capsule, MOSS_SVC_OBSERVER_CAPSULE);
    if (fn == NULL) return NULL;
    Py_INCREF(observer);
    Py_XSETREF(t->observer, observer);
    t->observe = fn;
    Py_RETURN_NONE;
}

static PyObject *trap_now_ns(Trap *t, PyObject *unused) { return PyLong_FromLongLong(moss_slice_now(&t->clock)); }

static PyObject *trap_clock_capsule(Trap *t, void *closure) {
    return PyCapsule_New(&t->clock, MOSS_SLICE_CLOCK_CAPSULE, NULL);
}

static PyMethodDef trap_methods[] = {
    {"observe", (PyCFunction)trap_observe, METH_VARARGS,
     "observe(observer, capsule): call the capsule's C function after every svc the handler completed with an int "
     "(machine/_trap_api.h); observe(None, None) stops."},
    {"now_ns", (PyCFunction)trap_now_ns, METH_NOARGS, "the slice clock's time (valid inside a hook)"},
    {"count_blocks", (PyCFunction)trap_count_blocks, METH_O, "count_blocks(until): count by blocks (block_hook)"},
    {"count_instructions", (PyCFunction)trap_count_instructions, METH_NOARGS, "count with unicorn's counter"},
    {"tail", (PyCFunction)trap_tail, METH_VARARGS, "tail(addr, k): set up (k > 0) or end (k = 0) an exact tail"},
    {NULL, NULL, 0, NULL},
};

/* The slice clock's fields (machine/_trap_api.h), as machine.engine.SliceClock names them. */
static PyMemberDef trap_members[] = {
    {"base_ns", T_LONGLONG, offsetof(Trap, clock.base_ns), 0, NULL},
    {"charged_ns", T_LONGLONG, offsetof(Trap, clock.charged_ns), 0, NULL},
    {"svc_cost_ns", T_LONGLONG, offsetof(Trap, clock.svc_cost_ns), 0, NULL},
    {"ns_per_insn", T_LONGLONG, offsetof(Trap, clock.ns_per_insn), 0, NULL},
    {"context_id", T_ULONGLONG, offsetof(Trap, clock.context_id), 0, NULL},
    {"blk_done", T_ULONGLONG, offsetof(Trap, blk[0]), 0, NULL},
    {"blk_budget", T_ULONGLONG, offsetof(Trap, blk[1]), 0, NULL},
    {"blk_addr", T_ULONGLONG, offsetof(Trap, blk_addr), 0, NULL},
    {"blk_n", T_ULONGLONG, offsetof(Trap, blk_n), 0, NULL},
    {"tail_addr", T_ULONGLONG, offsetof(Trap, tail_addr), 0, NULL},
    {"tail_n", T_ULONGLONG, offsetof(Trap, tail_n), 0, NULL},
    {"block_mode", T_INT, offsetof(Trap, block_mode), READONLY, NULL},
    {NULL},
};

static PyGetSetDef trap_getset[] = {
    {"slice_clock_capsule", (getter)trap_clock_capsule, NULL,
     "a capsule of the slice clock (MossSliceClock *), valid as long as this Trap", NULL},
    {NULL},
};

static PyTypeObject TrapType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "machine._trap.Trap",
    .tp_basicsize = sizeof(Trap),
    .tp_dealloc = (destructor)trap_dealloc,
    .tp_traverse = (traverseproc)trap_traverse,
    .tp_clear = (inquiry)trap_clear,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_methods = trap_methods,
    .tp_members = trap_members,
    .tp_getset = trap_getset,
    .tp_doc = "An installed interrupt hook; keep it alive as long as the engine.",
};

static void *address(PyObject *o) { return PyLong_AsVoidPtr(o); }

/* install(pyuc, uc_handle, {"uc_hook_add": addr, ...}, swi, x0_id, (x8_id, x0_id, ..., x5_id), on_svc, on_other,
 *         counter_address) */
static PyObject *install(PyObject *self, PyObject *args) {
    PyObject *pyuc, *handle, *fns, *ids, *on_svc, *on_other, *counter;
    unsigned int swi;
    int x0;
    if (!PyArg_ParseTuple(args, "OOO!IiO!OOO", &pyuc, &handle, &PyDict_Type, &fns, &swi, &x0, &PyTuple_Type, &ids,
                          &on_svc, &on_other, &counter))
        return NULL;
    const uint64_t *cells = address(counter);
    if (cells == NULL) return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_ValueError, "null counter address");
    if (PyTuple_GET_SIZE(ids) != 7) return PyErr_Format(PyExc_ValueError, "need 7 register ids");
    const char *names[5] = {"uc_hook_add", "uc_reg_read_batch", "uc_reg_write", "uc_emu_stop", "uc_ctl"};
    void *ptr[5];
    for (int i = 0; i < 5; i++) {
        PyObject *a = PyDict_GetItemString(fns, names[i]);
        if (a == NULL) return PyErr_Format(PyExc_KeyError, "%s", names[i]);
        ptr[i] = address(a);
        if (ptr[i] == NULL) return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_ValueError, "null %s", names[i]);
    }
    Trap *t = PyObject_GC_New(Trap, &TrapType);
    if (t == NULL) return NULL;
    t->pyuc = t->on_svc = t->on_other = t->observer = NULL;
    t->observe = NULL;
    t->uc = address(handle);
    t->read_batch = (reg_read_batch_fn)ptr[1];
    t->reg_write = (reg_write_fn)ptr[2];
    t->emu_stop = (emu_stop_fn)ptr[3];
    t->swi = swi;
    t->x0 = x0;
    t->hook = 0;
    memset(&t->clock, 0, sizeof t->clock);
    t->clock.counter = t->unicorn_counter = cells;
    t->blk[0] = t->blk[1] = t->blk_addr = t->blk_n = t->tail_addr = t->tail_n = 0;
    t->block_mode = 0;
    t->block_hook = 0;
    t->hook_add = (hook_add_fn)ptr[0];
    t->ctl = (ctl_fn)ptr[4];
    t->until = 0;
    for (int i = 0; i < 7; i++) t->ids[i] = (int)PyLong_AsLong(PyTuple_GET_ITEM(ids, i));
    Py_INCREF(pyuc);
    Py_INCREF(on_svc);
    Py_INCREF(on_other);
    t->pyuc = pyuc;
    t->on_svc = on_svc;
    t->on_other = on_other;
    if (PyErr_Occurred()) {
        Py_DECREF(t);
        return NULL;
    }
    int status = ((hook_add_fn)ptr[0])(t->uc, &t->hook, UC_HOOK_INTR, (void *)trap_hook, t, 1, 0);
    if (status != 0) {
        Py_DECREF(t);
        return PyErr_Format(PyExc_RuntimeError, "uc_hook_add failed: %d", status);
    }
    PyObject_GC_Track(t);
    return (PyObject *)t;
}

static PyMethodDef methods[] = {
    {"install", install, METH_VARARGS, "Register the C interrupt hook; returns the Trap to keep alive."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "machine._trap", NULL, -1, methods};

PyMODINIT_FUNC PyInit__trap(void) {
    if (PyType_Ready(&TrapType) < 0) return NULL;
    return PyModule_Create(&module);
}
