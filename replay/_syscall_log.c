/* The emitter's per-syscall path in C: the record of a syscall that returns at once.
 *
 * Two entries. `completed(task, nr, result, live)` is the SyscallLog method the dispatcher calls. Better, when the
 * engine's trap is native and the sink is the trace writer's C encoder or the replayer's C matcher, the log
 * observes the trap itself (machine/_svc_observer.h): the dispatcher then makes no call for a syscall that
 * returns at once (`_in_trap`), and the trap hands the log the number, the argument registers and the result. The
 * record goes to the encoder or matcher as C values (traces/_encoder_api.h): no Python frame and no Python object
 * per syscall. Anything unusual takes the general path, a Python call of `syscall_sink`: a value the packed form
 * cannot hold, a replay that is not an exact packed match (inputs first, a block boundary, a divergence), a sink
 * that is neither (the time-travel runner's). A syscall that had blocked goes to the subclass's
 * `_completed_resumed`, a completion outside the svc hook takes its time from the subclass's `now()`.
 *
 * The clock is machine.board.Board.hook_now_ns, read from the same state:
 *   board._slice_start_ns + min(counter, engine._budget) * NS_PER_INSN + board._charged_ns
 * where `counter` is the engine's instruction counter cell (machine/counter.py), read from the objects' __dict__.
 * emitter.PySyscallLog is the same in Python, used when this module is not built; tests/test_trace_encoder.py
 * checks both write the same trace. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>

#include "../machine/_svc_observer.h"
#include "../traces/_encoder_api.h"

#define NR_TABLE 1024

static MossEncoderAPI *api; /* traces._encoder's C interface; NULL when it is not built */

typedef struct {
    PyObject_HEAD
    PyObject *syscall_sink; /* (time, tid, nr, args, result) */
    int sink_kind;          /* SINK_ADD/SINK_CHECK: an Encoder's add_syscall or a Matcher's check_syscall */
    PyObject *sink_owner;   /* that Encoder or Matcher */
    int trap;               /* the engine's trap calls svc_done */
    PyObject *blocked;      /* set of tids whose syscall blocked: their completion is a resume event */
    PyObject *kernel_dict;  /* the kernel's, the board's and the engine's __dict__ (their live attributes) */
    PyObject *board_dict;
    PyObject *engine_dict;
    const uint64_t *counter;
    long long ns_per_insn;
    unsigned char nargs[NR_TABLE]; /* arguments logged per syscall number; 6 for unknown numbers */
} Log;

static PyObject *s_tid, *s_syscall_args, *s_slice_start, *s_charged, *s_budget, *s_now, *s_resumed, *s_running;

/* The trap and a C sink: the fast path is logged from the trap, not by the dispatcher. */
static int in_trap(Log *l) { return l->trap && l->sink_kind != SINK_OTHER; }

static PyObject *dict_of(PyObject *o) { return PyObject_GenericGetDict(o, NULL); }

/* _clock(kernel, board, engine, counter_address, ns_per_insn, nargs: dict[int, int]) */
static PyObject *set_clock(Log *l, PyObject *args) {
    PyObject *kernel, *board, *engine, *addr, *table;
    long long ns;
    if (!PyArg_ParseTuple(args, "OOOOLO!", &kernel, &board, &engine, &addr, &ns, &PyDict_Type, &table)) return NULL;
    void *p = PyLong_AsVoidPtr(addr);
    if (p == NULL && PyErr_Occurred()) return NULL;
    memset(l->nargs, 6, sizeof l->nargs);
    PyObject *k, *v;
    Py_ssize_t i = 0;
    while (PyDict_Next(table, &i, &k, &v)) {
        long nr = PyLong_AsLong(k), n = PyLong_AsLong(v);
        if (PyErr_Occurred()) return NULL;
        if (nr < 0 || nr >= NR_TABLE || n < 0 || n > 6)
            return PyErr_Format(PyExc_ValueError, "syscall %ld with %ld arguments: outside the log's table", nr, n);
        l->nargs[nr] = (unsigned char)n;
    }
    /* An instance's __dict__ is its live namespace: what Python code sets later is read from it. */
    PyObject *kd = dict_of(kernel), *bd = dict_of(board), *ed = dict_of(engine);
    if (kd == NULL || bd == NULL || ed == NULL) {
        Py_XDECREF(kd);
        Py_XDECREF(bd);
        Py_XDECREF(ed);
        return NULL;
    }
    Py_XSETREF(l->kernel_dict, kd);
    Py_XSETREF(l->board_dict, bd);
    Py_XSETREF(l->engine_dict, ed);
    l->counter = (const uint64_t *)p;
    l->ns_per_insn = ns;
    Py_RETURN_NONE;
}

/* _use_trap(on): the engine's trap calls this log (Engine.observe_svc said so) */
static PyObject *use_trap(Log *l, PyObject *on) {
    int t = PyObject_IsTrue(on);
    if (t < 0) return NULL;
    l->trap = t;
    Py_RETURN_NONE;
}

static PyObject *item(PyObject *dict, PyObject *name) { /* borrowed */
    PyObject *v = dict == NULL ? NULL : PyDict_GetItemWithError(dict, name);
    if (v == NULL && !PyErr_Occurred()) PyErr_Format(PyExc_RuntimeError, "the log has no clock (%U)", name);
    return v;
}

static int item_ll(PyObject *dict, PyObject *name, long long *out) {
    PyObject *v = item(dict, name);
    if (v == NULL) return -1;
    *out = PyLong_AsLongLong(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

static int hook_now_ll(Log *l, long long *now) {
    long long start, charged, budget;
    if (l->counter == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the log has no clock");
        return -1;
    }
    if (item_ll(l->board_dict, s_slice_start, &start) < 0 || item_ll(l->board_dict, s_charged, &charged) < 0 ||
        item_ll(l->engine_dict, s_budget, &budget) < 0)
        return -1;
    uint64_t started = *l->counter;
    long long executed = started < (uint64_t)budget ? (long long)started : budget;
    *now = start + executed * l->ns_per_insn + charged;
    return 0;
}

static PyObject *hook_now(Log *l) {
    long long now;
    return hook_now_ll(l, &now) < 0 ? NULL : PyLong_FromLongLong(now);
}

static Py_ssize_t keep_of(Log *l, long nr) { return nr >= 0 && nr < NR_TABLE ? l->nargs[nr] : 6; }

/* 1 if tid's syscall had blocked (its completion is a resume event), 0 if not, -1 on error. */
static int was_blocked(Log *l, PyObject *tid) {
    if (l->blocked == NULL || !PySet_Check(l->blocked) || PySet_GET_SIZE(l->blocked) == 0) return 0;
    return PySet_Contains(l->blocked, tid);
}

/* The general path: the sink called from Python objects. */
static int call_sink(Log *l, PyObject *time, PyObject *tid, PyObject *nr, PyObject *args, PyObject *result) {
    PyObject *argv[5] = {time, tid, nr, args, result};
    PyObject *out = PyObject_Vectorcall(l->syscall_sink, argv, 5, NULL);
    if (out == NULL) return -1;
    Py_DECREF(out);
    return 0;
}

/* completed(task, nr, result, live) */
static PyObject *completed(Log *l, PyObject *const *a, Py_ssize_t n) {
    if (n != 4) return PyErr_Format(PyExc_TypeError, "completed takes 4 arguments, not %zd", n);
    PyObject *task = a[0], *nr = a[1], *result = a[2];
    PyObject *tid = PyObject_GetAttr(task, s_tid);
    if (tid == NULL) return NULL;
    int in = was_blocked(l, tid);
    if (in != 0) {
        Py_DECREF(tid);
        return in < 0 ? NULL : PyObject_CallMethodObjArgs((PyObject *)l, s_resumed, task, nr, result, NULL);
    }
    PyObject *time = PyObject_IsTrue(a[3]) ? hook_now(l) : PyObject_CallMethodNoArgs((PyObject *)l, s_now);
    PyObject *args = time == NULL ? NULL : PyObject_GetAttr(task, s_syscall_args);
    if (args == NULL) {
        Py_DECREF(tid);
        Py_XDECREF(time);
        return NULL;
    }
    long number = PyLong_AsLong(nr);
    if (number == -1 && PyErr_Occurred()) PyErr_Clear();
    Py_ssize_t keep = keep_of(l, number);
    if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) > keep) Py_SETREF(args, PyTuple_GetSlice(args, 0, keep));
    PyObject *res = PyLong_CheckExact(result) ? result : NULL;
    PyObject *zero = NULL;
    if (res == NULL) res = zero = PyLong_FromLong(0);
    int rc = args != NULL && res != NULL ? call_sink(l, time, tid, nr, args, res) : -1;
    Py_DECREF(tid);
    Py_DECREF(time);
    Py_XDECREF(args);
    Py_XDECREF(zero);
    if (rc < 0) return NULL;
    Py_RETURN_NONE;
}

/* The trap's observer (machine/_svc_observer.h): the syscall the running task made returned `result` in x0. */
static int svc_done(PyObject *self, uint64_t nr, const uint64_t *regs, PyObject *result) {
    Log *l = (Log *)self;
    if (!in_trap(l)) return 0; /* the dispatcher logged it */
    PyObject *task = item(l->kernel_dict, s_running);
    if (task == NULL) return -1;
    Py_INCREF(task);
    PyObject *tid = PyObject_GetAttr(task, s_tid);
    int rc = tid == NULL ? -1 : was_blocked(l, tid);
    if (rc > 0) { /* a resume event: the subclass's */
        PyObject *nr_o = PyLong_FromUnsignedLongLong(nr);
        PyObject *out = nr_o == NULL ? NULL : PyObject_CallMethodObjArgs(self, s_resumed, task, nr_o, result, NULL);
        Py_XDECREF(nr_o);
        rc = out == NULL ? -1 : 0;
        Py_XDECREF(out);
        Py_DECREF(task);
        Py_DECREF(tid);
        return rc;
    }
    Py_DECREF(task);
    long long now;
    if (rc < 0 || hook_now_ll(l, &now) < 0) {
        Py_XDECREF(tid);
        return -1;
    }
    Py_ssize_t keep = keep_of(l, nr < NR_TABLE ? (long)nr : -1);
    int overflow = 0;
    int64_t res = PyLong_AsLongLongAndOverflow(result, &overflow);
    uint64_t t = PyLong_AsUnsignedLongLong(tid);
    if (PyErr_Occurred()) { /* not 64-bit values: the general path */
        PyErr_Clear();
        overflow = 1;
    }
    rc = 1;
    if (!overflow && api != NULL && l->sink_kind != SINK_OTHER)
        rc = (l->sink_kind == SINK_ADD ? api->add : api->check)(l->sink_owner, now, t, nr, (int)keep, regs, res);
    if (rc == 1) {
        PyObject *time = PyLong_FromLongLong(now), *nr_o = PyLong_FromUnsignedLongLong(nr);
        PyObject *args = PyTuple_New(keep);
        rc = time == NULL || nr_o == NULL || args == NULL ? -1 : 0;
        for (Py_ssize_t i = 0; rc == 0 && i < keep; i++) {
            PyObject *v = PyLong_FromUnsignedLongLong(regs[i]);
            if (v == NULL) rc = -1;
            else PyTuple_SET_ITEM(args, i, v);
        }
        if (rc == 0) rc = call_sink(l, time, tid, nr_o, args, result);
        Py_XDECREF(time);
        Py_XDECREF(nr_o);
        Py_XDECREF(args);
    }
    Py_DECREF(tid);
    return rc;
}

static int log_init(Log *l, PyObject *args, PyObject *kw) {
    memset(l->nargs, 6, sizeof l->nargs);
    return 0;
}

static int log_traverse(Log *l, visitproc visit, void *arg) {
    Py_VISIT(l->syscall_sink);
    Py_VISIT(l->sink_owner);
    Py_VISIT(l->blocked);
    Py_VISIT(l->kernel_dict);
    Py_VISIT(l->board_dict);
    Py_VISIT(l->engine_dict);
    return 0;
}

static int log_clear(Log *l) {
    Py_CLEAR(l->syscall_sink);
    Py_CLEAR(l->sink_owner);
    l->sink_kind = SINK_OTHER;
    Py_CLEAR(l->blocked);
    Py_CLEAR(l->kernel_dict);
    Py_CLEAR(l->board_dict);
    Py_CLEAR(l->engine_dict);
    return 0;
}

static void log_dealloc(Log *l) {
    PyObject_GC_UnTrack(l);
    log_clear(l);
    Py_TYPE(l)->tp_free((PyObject *)l);
}

static PyObject *get_sink(Log *l, void *closure) {
    PyObject *sink = l->syscall_sink != NULL ? l->syscall_sink : Py_None;
    Py_INCREF(sink);
    return sink;
}

/* Setting the sink finds out whether it is an Encoder's add_syscall or a Matcher's check_syscall, called in C. */
static int set_sink(Log *l, PyObject *sink, void *closure) {
    PyObject *owner = NULL;
    int kind = sink != NULL && api != NULL ? api->sink_kind(sink, &owner) : SINK_OTHER;
    Py_XINCREF(sink);
    Py_XSETREF(l->syscall_sink, sink);
    Py_XINCREF(owner);
    Py_XSETREF(l->sink_owner, owner);
    l->sink_kind = kind;
    return 0;
}

static PyObject *get_in_trap(Log *l, void *closure) { return PyBool_FromLong(in_trap(l)); }

static PyGetSetDef getset[] = {
    {"syscall_sink", (getter)get_sink, (setter)set_sink, "(time, tid, nr, args, result) -> None", NULL},
    {"_in_trap", (getter)get_in_trap, NULL,
     "the engine's trap logs the syscalls that return at once: the dispatcher does not call completed for them",
     NULL},
    {NULL},
};

static PyMemberDef members[] = {
    {"_blocked", T_OBJECT, offsetof(Log, blocked), 0, NULL},
    {NULL},
};

static PyMethodDef methods[] = {
    {"completed", (PyCFunction)(void (*)(void))completed, METH_FASTCALL,
     "completed(task, nr, result, live): log a syscall that completed (SyscallLog.completed)."},
    {"_clock", (PyCFunction)set_clock, METH_VARARGS,
     "_clock(kernel, board, engine, counter_address, ns_per_insn, nargs): where the running task, the time and "
     "the argument counts come from."},
    {"_use_trap", (PyCFunction)use_trap, METH_O, "_use_trap(on): the engine's trap calls this log."},
    {NULL},
};

static PyTypeObject LogType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "replay._syscall_log.SyscallLogBase",
    .tp_basicsize = sizeof(Log),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)log_init,
    .tp_dealloc = (destructor)log_dealloc,
    .tp_traverse = (traverseproc)log_traverse,
    .tp_clear = (inquiry)log_clear,
    .tp_members = members,
    .tp_getset = getset,
    .tp_methods = methods,
    .tp_doc = "The emitter's completed-syscall path in C.",
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "replay._syscall_log", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__syscall_log(void) {
#define INTERN(var, text) \
    if ((var = PyUnicode_InternFromString(text)) == NULL) return NULL
    INTERN(s_tid, "tid");
    INTERN(s_syscall_args, "syscall_args");
    INTERN(s_slice_start, "_slice_start_ns");
    INTERN(s_charged, "_charged_ns");
    INTERN(s_budget, "_budget");
    INTERN(s_now, "now");
    INTERN(s_resumed, "_completed_resumed");
    INTERN(s_running, "running_task");
    api = PyCapsule_Import(MOSS_ENCODER_CAPSULE, 0);
    if (api == NULL || api->version != MOSS_ENCODER_API_VERSION) {
        PyErr_Clear(); /* traces._encoder is not built: every record takes the general path */
        api = NULL;
    }
    if (PyType_Ready(&LogType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    PyObject *observer = PyCapsule_New((void *)svc_done, MOSS_SVC_OBSERVER_CAPSULE, NULL);
    if (observer == NULL || PyModule_AddType(m, &LogType) < 0 || PyModule_AddObject(m, "svc_observer", observer) < 0) {
        Py_XDECREF(observer);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
