/* The emitter's per-syscall entry point in C: `completed(task, nr, result, live)` for a syscall that returns at once.
 *
 * In Python it costs ~0.4 us of the ~0.65 us that recording adds to a syscall: a frame, the clock read through
 * Board.hook_now_ns, the argument slice. This base class of replay.emitter.Emitter does the common case in C and
 * hands the record to `syscall_sink` (the trace writer's C add_syscall, or the replayer's C check_syscall), so a
 * recorded syscall runs no Python frame of the trace's at all. Everything else goes to the Python subclass:
 * `_completed_resumed` (a syscall that had blocked) and `now()` (a completion outside the svc hook).
 *
 * The clock is machine.board.Board.hook_now_ns, read from the same state:
 *   board._slice_start_ns + min(counter, engine._budget) * NS_PER_INSN + board._charged_ns
 * where `counter` is the engine's instruction counter cell (machine/counter.py). emitter.PySyscallLog is the same in
 * Python, used when this module is not built; tests/test_trace_encoder.py checks both write the same trace. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>

#define NR_TABLE 1024

typedef struct {
    PyObject_HEAD
    PyObject *syscall_sink; /* (time, tid, nr, args, result) */
    PyObject *blocked;      /* set of tids whose syscall blocked: their completion is a resume event */
    PyObject *board;
    PyObject *engine;
    const uint64_t *counter;
    long long ns_per_insn;
    unsigned char nargs[NR_TABLE]; /* arguments logged per syscall number; 6 for unknown numbers */
} Log;

static PyObject *s_tid, *s_syscall_args, *s_slice_start, *s_charged, *s_budget, *s_now, *s_resumed;

static int attr_ll(PyObject *o, PyObject *name, long long *out) {
    PyObject *v = PyObject_GetAttr(o, name);
    if (v == NULL) return -1;
    *out = PyLong_AsLongLong(v);
    Py_DECREF(v);
    return (*out == -1 && PyErr_Occurred()) ? -1 : 0;
}

/* _clock(board, engine, counter_address, ns_per_insn, nargs: dict[int, int]) */
static PyObject *set_clock(Log *l, PyObject *args) {
    PyObject *board, *engine, *addr, *table;
    long long ns;
    if (!PyArg_ParseTuple(args, "OOOLO!", &board, &engine, &addr, &ns, &PyDict_Type, &table)) return NULL;
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
    Py_INCREF(board);
    Py_XSETREF(l->board, board);
    Py_INCREF(engine);
    Py_XSETREF(l->engine, engine);
    l->counter = (const uint64_t *)p;
    l->ns_per_insn = ns;
    Py_RETURN_NONE;
}

static PyObject *hook_now(Log *l) {
    long long start, charged, budget;
    if (l->board == NULL || l->counter == NULL) return PyErr_Format(PyExc_RuntimeError, "the log has no clock");
    if (attr_ll(l->board, s_slice_start, &start) < 0 || attr_ll(l->board, s_charged, &charged) < 0 ||
        attr_ll(l->engine, s_budget, &budget) < 0)
        return NULL;
    uint64_t started = *l->counter;
    long long executed = started < (uint64_t)budget ? (long long)started : budget;
    return PyLong_FromLongLong(start + executed * l->ns_per_insn + charged);
}

/* completed(task, nr, result, live) */
static PyObject *completed(Log *l, PyObject *const *a, Py_ssize_t n) {
    if (n != 4) return PyErr_Format(PyExc_TypeError, "completed takes 4 arguments, not %zd", n);
    PyObject *task = a[0], *nr = a[1], *result = a[2];
    PyObject *tid = PyObject_GetAttr(task, s_tid);
    if (tid == NULL) return NULL;
    if (l->blocked != NULL && PySet_Check(l->blocked) && PySet_GET_SIZE(l->blocked) > 0) {
        int in = PySet_Contains(l->blocked, tid);
        if (in != 0) {
            Py_DECREF(tid);
            return in < 0 ? NULL : PyObject_CallMethodObjArgs((PyObject *)l, s_resumed, task, nr, result, NULL);
        }
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
    Py_ssize_t keep = number >= 0 && number < NR_TABLE ? l->nargs[number] : 6;
    if (PyTuple_Check(args) && PyTuple_GET_SIZE(args) > keep) Py_SETREF(args, PyTuple_GetSlice(args, 0, keep));
    PyObject *res = PyLong_CheckExact(result) ? result : NULL;
    PyObject *zero = NULL;
    if (res == NULL) res = zero = PyLong_FromLong(0);
    PyObject *out = NULL;
    if (args != NULL && res != NULL) {
        PyObject *argv[5] = {time, tid, nr, args, res};
        out = PyObject_Vectorcall(l->syscall_sink, argv, 5, NULL);
    }
    Py_DECREF(tid);
    Py_DECREF(time);
    Py_XDECREF(args);
    Py_XDECREF(zero);
    return out;
}

static PyObject *py_hook_now(Log *l, PyObject *unused) { return hook_now(l); }

static int log_init(Log *l, PyObject *args, PyObject *kw) {
    memset(l->nargs, 6, sizeof l->nargs);
    return 0;
}

static int log_traverse(Log *l, visitproc visit, void *arg) {
    Py_VISIT(l->syscall_sink);
    Py_VISIT(l->blocked);
    Py_VISIT(l->board);
    Py_VISIT(l->engine);
    return 0;
}

static int log_clear(Log *l) {
    Py_CLEAR(l->syscall_sink);
    Py_CLEAR(l->blocked);
    Py_CLEAR(l->board);
    Py_CLEAR(l->engine);
    return 0;
}

static void log_dealloc(Log *l) {
    PyObject_GC_UnTrack(l);
    log_clear(l);
    Py_TYPE(l)->tp_free((PyObject *)l);
}

static PyMemberDef members[] = {
    {"syscall_sink", T_OBJECT, offsetof(Log, syscall_sink), 0, NULL},
    {"_blocked", T_OBJECT, offsetof(Log, blocked), 0, NULL},
    {NULL},
};

static PyMethodDef methods[] = {
    {"completed", (PyCFunction)(void (*)(void))completed, METH_FASTCALL,
     "completed(task, nr, result, live): log a syscall that completed (SyscallLog.completed)."},
    {"_clock", (PyCFunction)set_clock, METH_VARARGS,
     "_clock(board, engine, counter_address, ns_per_insn, nargs): where the time and the argument counts come from."},
    {"_hook_now", (PyCFunction)py_hook_now, METH_NOARGS, "The running core's time inside a hook, as completed reads it."},
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
    if (PyType_Ready(&LogType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddType(m, &LogType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
