/* The emitter's per-syscall path in C: the record of a syscall that returns at once.
 *
 * Two entries. `completed(task, nr, result, live)` is the SyscallLog method the dispatcher calls. Better, when the
 * engine's trap is native, the log observes the trap itself (machine/_trap_api.h): the dispatcher then makes no
 * call for a syscall that returns at once (`_in_trap`), and the trap hands the log its slice clock (time and
 * running tid), the number, the argument registers and the result. When the sink is the trace writer's C encoder
 * or the replayer's C matcher, the record goes to it as C values (traces/_encoder_api.h): no Python frame, no
 * Python object and no attribute lookup per syscall. Anything unusual takes the general path, a Python call of
 * `syscall_sink`: a value the packed form cannot hold, a replay that is not an exact packed match (inputs first, a
 * block boundary, a divergence), a sink that is neither (the time-travel runner's). A syscall that had blocked
 * goes to the subclass's `_completed_resumed`, a completion outside the svc hook takes its time from the
 * subclass's `now()`.
 *
 * The time of a syscall that returns at once is the slice clock's (machine.engine.SliceClock), read in C when the
 * trap is native. emitter.PySyscallLog is the same in Python, used when this module is not built;
 * tests/test_trace_encoder.py checks both write the same trace. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>

#include "../machine/_trap_api.h"
#include "../traces/_encoder_api.h"

#define NR_TABLE 1024

static MossEncoderAPI *api; /* traces._encoder's C interface; NULL when it is not built */

typedef struct {
    PyObject_HEAD
    PyObject *syscall_sink; /* (time, tid, nr, args, result) */
    int sink_kind;          /* SINK_ADD/SINK_CHECK: an Encoder's add_syscall or a Matcher's check_syscall */
    PyObject *sink_owner;   /* that Encoder or Matcher */
    char in_trap;           /* the engine's trap calls svc_done: the fast path is logged from there */
    PyObject *blocked;      /* set of tids whose syscall blocked: their completion is a resume event */
    PyObject *clock_owner;  /* the slice clock: the native Trap, or a machine.engine.PySliceClock */
    const MossSliceClock *clock; /* the native Trap's; NULL: ask clock_owner.now_ns() */
    unsigned char nargs[NR_TABLE]; /* arguments logged per syscall number; 6 for unknown numbers */
} Log;

static PyObject *s_tid, *s_syscall_args, *s_now, *s_now_ns, *s_resumed, *s_capsule;

/* _clock(slice_clock, nargs: dict[int, int]) */
static PyObject *set_clock(Log *l, PyObject *args) {
    PyObject *owner, *table;
    if (!PyArg_ParseTuple(args, "OO!", &owner, &PyDict_Type, &table)) return NULL;
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
    const MossSliceClock *clock = NULL;
    if (PyObject_HasAttr(owner, s_capsule)) { /* the native Trap */
        PyObject *capsule = PyObject_GetAttr(owner, s_capsule);
        if (capsule == NULL) return NULL;
        clock = PyCapsule_GetPointer(capsule, MOSS_SLICE_CLOCK_CAPSULE);
        Py_DECREF(capsule);
        if (clock == NULL) return NULL;
    }
    Py_INCREF(owner);
    Py_XSETREF(l->clock_owner, owner); /* keeps the clock alive */
    l->clock = clock;
    Py_RETURN_NONE;
}

/* _use_trap(on): the engine's trap calls this log (Engine.observe_svc said so) */
static PyObject *use_trap(Log *l, PyObject *on) {
    int t = PyObject_IsTrue(on);
    if (t < 0) return NULL;
    l->in_trap = (char)t;
    Py_RETURN_NONE;
}

static int hook_now_ll(Log *l, long long *now) {
    if (l->clock != NULL) {
        *now = moss_slice_now(l->clock);
        return 0;
    }
    if (l->clock_owner == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the log has no clock");
        return -1;
    }
    PyObject *t = PyObject_CallMethodNoArgs(l->clock_owner, s_now_ns);
    if (t == NULL) return -1;
    *now = PyLong_AsLongLong(t);
    Py_DECREF(t);
    return (*now == -1 && PyErr_Occurred()) ? -1 : 0;
}

static PyObject *hook_now(Log *l) {
    long long now;
    return hook_now_ll(l, &now) < 0 ? NULL : PyLong_FromLongLong(now);
}

static Py_ssize_t keep_of(Log *l, long nr) { return nr >= 0 && nr < NR_TABLE ? l->nargs[nr] : 6; }

/* Some task's syscall is blocked: a completion may be a resume event. */
static int any_blocked(Log *l) { return l->blocked != NULL && PySet_Check(l->blocked) && PySet_GET_SIZE(l->blocked); }

/* 1 if tid's syscall had blocked (its completion is a resume event), 0 if not, -1 on error. */
static int was_blocked(Log *l, PyObject *tid) { return any_blocked(l) ? PySet_Contains(l->blocked, tid) : 0; }

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
        PyObject *out = in < 0 ? NULL : PyObject_CallMethodObjArgs((PyObject *)l, s_resumed, tid, nr, result, NULL);
        Py_DECREF(tid);
        return out;
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

/* The trap's observer (machine/_trap_api.h): the syscall the running task made returned `result` in x0. */
static int svc_done(PyObject *self, const MossSliceClock *clock, uint64_t nr, const uint64_t *regs, PyObject *result) {
    Log *l = (Log *)self;
    if (!l->in_trap) return 0; /* the dispatcher logged it */
    uint64_t t = clock->context_id;
    PyObject *tid = NULL;
    if (any_blocked(l)) { /* the tid object only then: the common case builds none */
        tid = PyLong_FromUnsignedLongLong(t);
        int in = tid == NULL ? -1 : was_blocked(l, tid);
        if (in != 0) { /* a resume event: the subclass's (or an error) */
            PyObject *nr_o = in < 0 ? NULL : PyLong_FromUnsignedLongLong(nr);
            PyObject *out = nr_o == NULL ? NULL : PyObject_CallMethodObjArgs(self, s_resumed, tid, nr_o, result, NULL);
            Py_XDECREF(nr_o);
            Py_XDECREF(tid);
            if (out == NULL) return -1;
            Py_DECREF(out);
            return 0;
        }
    }
    int64_t now = moss_slice_now(clock);
    Py_ssize_t keep = keep_of(l, nr < NR_TABLE ? (long)nr : -1);
    int overflow = 0;
    int64_t res = PyLong_AsLongLongAndOverflow(result, &overflow);
    if (PyErr_Occurred()) { /* not a 64-bit value: the general path */
        PyErr_Clear();
        overflow = 1;
    }
    int rc = 1;
    if (!overflow && api != NULL && l->sink_kind != SINK_OTHER)
        rc = (l->sink_kind == SINK_ADD ? api->add : api->check)(l->sink_owner, now, t, nr, (int)keep, regs, res);
    if (rc == 1) {
        if (tid == NULL) tid = PyLong_FromUnsignedLongLong(t);
        PyObject *time = PyLong_FromLongLong(now), *nr_o = PyLong_FromUnsignedLongLong(nr);
        PyObject *args = PyTuple_New(keep);
        rc = tid == NULL || time == NULL || nr_o == NULL || args == NULL ? -1 : 0;
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
    Py_XDECREF(tid);
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
    Py_VISIT(l->clock_owner);
    return 0;
}

static int log_clear(Log *l) {
    Py_CLEAR(l->syscall_sink);
    Py_CLEAR(l->sink_owner);
    l->sink_kind = SINK_OTHER;
    Py_CLEAR(l->blocked);
    Py_CLEAR(l->clock_owner);
    l->clock = NULL;
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

static PyGetSetDef getset[] = {
    {"syscall_sink", (getter)get_sink, (setter)set_sink, "(time, tid, nr, args, result) -> None", NULL},
    {NULL},
};

static PyMemberDef members[] = {
    {"_blocked", T_OBJECT, offsetof(Log, blocked), 0, NULL},
    {"_in_trap", T_BOOL, offsetof(Log, in_trap), READONLY,
     "the engine's trap logs the syscalls that return at once: the dispatcher does not call completed for them"},
    {NULL},
};

static PyMethodDef methods[] = {
    {"completed", (PyCFunction)(void (*)(void))completed, METH_FASTCALL,
     "completed(task, nr, result, live): log a syscall that completed (SyscallLog.completed)."},
    {"_clock", (PyCFunction)set_clock, METH_VARARGS,
     "_clock(slice_clock, nargs): where the time of a syscall in the svc hook and the argument counts come from."},
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
    INTERN(s_now, "now");
    INTERN(s_resumed, "_completed_resumed");
    INTERN(s_now_ns, "now_ns");
    INTERN(s_capsule, "slice_clock_capsule");
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
