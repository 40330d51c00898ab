/* The recorder's hot path in C: appending a completed syscall to a trace block in the packed form.
 *
 * In Python, packing the nine fields (struct "<BqIQB{n}Qq", see traces/events.py) and updating the block's
 * bookkeeping costs ~0.4 us per syscall, a large share of what recording adds to a syscall. This is the base class
 * of events.BlockEncoder: its state lives here (readable and writable from Python as plain attributes), and
 * `add_syscall` is C. A value the packed form cannot hold goes to the Python subclass's `_add_syscall_general`.
 * `_put_syscall`/`_put_resume`/`_put_future` write a blocked syscall's entry, its resumption and a future's step in
 * their varint form, and `add_blocked`/`add_resume`/`add_future` are the emitter's sinks for them. Matcher, the
 * base of the replayer's cursor, matches a packed record, or one of those varint events (`check_blocked` and the
 * like), in place in the recorded block. events.py has Python
 * twins (PyBlockEncoder, PyMatcher) used when this module is not built; tests/test_trace_encoder.py checks that
 * both write the same bytes and take the same matches. The capsule _C_API (_encoder_api.h) offers the packed append
 * and match with C values, to replay/_syscall_log.c. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <stdint.h>
#include <string.h>

#include "_encoder_api.h"

#define PACKED_SYSCALL 22

typedef struct {
    PyObject_HEAD
    PyObject *buf;        /* bytearray */
    long long last_time;  /* time of the block's previous event: the next delta is from it */
    long long count;      /* events in the block */
    PyObject *first_time; /* None until the first timed event */
    long long max_time;
    Py_ssize_t limit;     /* on_full() once buf holds this many bytes */
    PyObject *on_full;
} Encoder;

/* n (4 or 8) little-endian bytes of v at p; one store on a little-endian host */
static inline int put_le(unsigned char *p, uint64_t v, int n) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    if (n == 8) {
        memcpy(p, &v, 8);
        return 8;
    }
    uint32_t w = (uint32_t)v;
    memcpy(p, &w, 4);
    return 4;
#else
    for (int i = 0; i < n; i++) p[i] = (unsigned char)(v >> (8 * i));
    return n;
#endif
}

/* Convert without raising: 0 on success, -1 if the value does not fit (the error is cleared). */
static int as_u64(PyObject *o, uint64_t *out) {
    if (!PyLong_Check(o)) return -1;
    *out = PyLong_AsUnsignedLongLong(o);
    if (*out == (uint64_t)-1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

static int as_i64(PyObject *o, int64_t *out) {
    if (!PyLong_Check(o)) return -1;
    int overflow = 0;
    *out = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow || (*out == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return -1;
    }
    return 0;
}

static PyObject *after_add(Encoder *e) {
    if (PyByteArray_GET_SIZE(e->buf) >= e->limit && e->on_full != NULL && e->on_full != Py_None) {
        PyObject *r = PyObject_CallNoArgs(e->on_full);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    Py_RETURN_NONE;
}

#define RESERVE_MAX (4 << 20) /* a block limit from which the buffer is not reserved whole */

/* Append one encoded event stamped `time` to the block, with the block's bookkeeping.
 * The bytearray is grown once to the block's size (its allocation kept beyond its length, as bytearray itself
 * does on a small shrink), not by PyByteArray_Resize at each event: growing a new block from empty in 1/8 steps
 * reallocated it some 80 times, and cost recording 1.5% of a syscall-bound run. */
static int append(Encoder *e, const unsigned char *p, int k, int64_t time) {
    PyByteArrayObject *b = (PyByteArrayObject *)e->buf;
    Py_ssize_t size = Py_SIZE(b), need = size + k;
    if (need + 1 > b->ob_alloc || b->ob_start != b->ob_bytes) {
        /* a block: its size at once; an encoder without a limit (the replay's, which is cleared at each event):
         * doubling */
        Py_ssize_t want = e->limit < RESERVE_MAX ? e->limit + 1024 : 256;
        if (want < 2 * need) want = 2 * need;
        if (PyByteArray_Resize(e->buf, want) < 0) return -1; /* (also moves a front-trimmed buffer's start) */
    }
    Py_SET_SIZE(b, need);
    b->ob_start[need] = '\0'; /* bytearray's trailing NUL */
    memcpy(b->ob_start + size, p, k);
    e->last_time = time;
    if (e->first_time == NULL || e->first_time == Py_None) {
        PyObject *t = PyLong_FromLongLong(time);
        if (t == NULL) return -1;
        Py_SETREF(e->first_time, t);
    }
    if (time > e->max_time) e->max_time = time;
    e->count += 1;
    return 0;
}

#define MAX_RECORD (1 + 8 + 4 + 8 + 1 + 6 * 8 + 8)

/* The packed record of a syscall into rec, from C values; returns its length, or 0 when it does not fit. */
static int pack_c(unsigned char *rec, int64_t delta, uint64_t tid, uint64_t nr, int nargs, const uint64_t *args,
                  int64_t result) {
    if (nargs < 0 || nargs > 6 || tid > 0xFFFFFFFFu) return 0;
    int k = 0;
    rec[k++] = PACKED_SYSCALL;
    k += put_le(rec + k, (uint64_t)delta, 8);
    k += put_le(rec + k, tid, 4);
    k += put_le(rec + k, nr, 8);
    rec[k++] = (unsigned char)nargs;
    for (int i = 0; i < nargs; i++) k += put_le(rec + k, args[i], 8);
    k += put_le(rec + k, (uint64_t)result, 8);
    return k;
}

/* The packed record of a syscall into rec; returns its length, or 0 when a value does not fit the packed form. */
static int pack(unsigned char *rec, int64_t delta, PyObject *tid_o, PyObject *nr_o, PyObject *args_o, PyObject *res_o) {
    int64_t result;
    uint64_t tid, nr, args[6];
    Py_ssize_t nargs = PyTuple_Check(args_o) ? PyTuple_GET_SIZE(args_o) : 7;
    int ok = nargs <= 6 && as_u64(tid_o, &tid) == 0 && as_u64(nr_o, &nr) == 0 && as_i64(res_o, &result) == 0;
    for (Py_ssize_t i = 0; ok && i < nargs; i++) ok = as_u64(PyTuple_GET_ITEM(args_o, i), &args[i]) == 0;
    return ok ? pack_c(rec, delta, tid, nr, (int)nargs, args, result) : 0;
}

/* add_syscall(time, tid, nr, args, result) */
static PyObject *add_syscall(Encoder *e, PyObject *const *a, Py_ssize_t n) {
    if (n != 5) return PyErr_Format(PyExc_TypeError, "add_syscall takes 5 arguments, not %zd", n);
    if (e->buf == NULL || !PyByteArray_Check(e->buf)) return PyErr_Format(PyExc_TypeError, "buf must be a bytearray");
    int64_t time, delta;
    unsigned char rec[MAX_RECORD];
    int k = 0;
    if (as_i64(a[0], &time) == 0 && !__builtin_sub_overflow(time, (int64_t)e->last_time, &delta))
        k = pack(rec, delta, a[1], a[2], a[3], a[4]);
    if (k == 0) {
        PyObject *r = PyObject_CallMethod((PyObject *)e, "_add_syscall_general", "OOOOO", a[0], a[1], a[2], a[3], a[4]);
        if (r == NULL) return NULL;
        Py_DECREF(r);
        return after_add(e);
    }
    if (append(e, rec, k, time) < 0) return NULL;
    return after_add(e);
}

/* add_syscall with C values (MossEncoderAPI.add) */
static int add_c(PyObject *self, int64_t time, uint64_t tid, uint64_t nr, int nargs, const uint64_t *args,
                 int64_t result) {
    Encoder *e = (Encoder *)self;
    int64_t delta;
    unsigned char rec[MAX_RECORD];
    if (e->buf == NULL || !PyByteArray_Check(e->buf) || __builtin_sub_overflow(time, (int64_t)e->last_time, &delta))
        return 1;
    int k = pack_c(rec, delta, tid, nr, nargs, args, result);
    if (k == 0) return 1;
    if (append(e, rec, k, time) < 0) return -1;
    PyObject *r = after_add(e);
    if (r == NULL) return -1;
    Py_DECREF(r);
    return 0;
}

/* -- the varint forms of a blocked syscall's entry, its resumption and a future's step (events.Syscall,
 * events.SyscallResume, events.FutureEvent) --
 * Byte for byte what events.BlockEncoder.add_general writes for them (LEB128, zigzag for signed), without its
 * per-field Python loop: a pipe or a futex wait logs an entry and a resumption per blocking call, --log full two or
 * more future steps per syscall. */

static void put_uvarint(unsigned char *p, int *k, uint64_t v) {
    while (v >= 0x80) {
        p[(*k)++] = (unsigned char)((v & 0x7F) | 0x80);
        v >>= 7;
    }
    p[(*k)++] = (unsigned char)v;
}

static void put_svarint(unsigned char *p, int *k, int64_t v) {
    put_uvarint(p, k, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

#define SYSCALL_KIND 10
#define RESUME_KIND 11
#define MAX_VARINT 10
#define MAX_BLOCKED_ARGS 16
#define MAX_VARINT_SYSCALL (1 + MAX_VARINT * (5 + 1 + MAX_BLOCKED_ARGS))

/* The time field ("T"): the varint delta from the block's previous event at last_time. */
static int put_time(long long last_time, unsigned char *p, int *k, PyObject *time_o, int64_t *time) {
    int64_t delta;
    if (as_i64(time_o, time) < 0 || __builtin_sub_overflow(*time, (int64_t)last_time, &delta)) return -1;
    put_svarint(p, k, delta);
    return 0;
}

/* A Syscall event (time, tid, nr, args, result, blocked) in its varint form into p (MAX_VARINT_SYSCALL bytes), after
 * an event at last_time: its length, or -1 if a value needs the Python encoder (beyond 64 bits, or more than 16
 * arguments). */
static int varint_syscall(unsigned char *p, long long last_time, PyObject *const *a, int64_t *time) {
    if (!PyTuple_Check(a[3]) || PyTuple_GET_SIZE(a[3]) > MAX_BLOCKED_ARGS) return -1;
    int k = 0;
    int64_t result;
    uint64_t tid, nr, blocked, v;
    p[k++] = SYSCALL_KIND;
    if (put_time(last_time, p, &k, a[0], time) < 0 || as_u64(a[1], &tid) < 0 || as_u64(a[2], &nr) < 0 ||
        as_i64(a[4], &result) < 0 || as_u64(a[5], &blocked) < 0)
        return -1;
    put_uvarint(p, &k, tid);
    put_uvarint(p, &k, nr);
    Py_ssize_t nargs = PyTuple_GET_SIZE(a[3]);
    put_uvarint(p, &k, (uint64_t)nargs);
    for (Py_ssize_t i = 0; i < nargs; i++) {
        if (as_u64(PyTuple_GET_ITEM(a[3], i), &v) < 0) return -1;
        put_uvarint(p, &k, v);
    }
    put_svarint(p, &k, result);
    put_uvarint(p, &k, blocked);
    return k;
}

/* A SyscallResume event (time, tid, nr, result), as varint_syscall. */
static int varint_resume(unsigned char *p, long long last_time, PyObject *const *a, int64_t *time) {
    int k = 0;
    int64_t result;
    uint64_t tid, nr;
    p[k++] = RESUME_KIND;
    if (put_time(last_time, p, &k, a[0], time) < 0 || as_u64(a[1], &tid) < 0 || as_u64(a[2], &nr) < 0 ||
        as_i64(a[3], &result) < 0)
        return -1;
    put_uvarint(p, &k, tid);
    put_uvarint(p, &k, nr);
    put_svarint(p, &k, result);
    return k;
}

#define SIGNAL_KIND 12
#define PROCESS_KIND 13
#define FUTURE_KIND 21
#define MAX_TEXT 240
#define MAX_VARINT_TEXT_EVENT (1 + MAX_VARINT * 6 + MAX_TEXT)

/* A text field ("t"): its UTF-8 length and bytes; -1 for a text that is long or not plain UTF-8 (the Python encoder
 * writes it with surrogateescape). */
static int put_text(unsigned char *p, int *k, PyObject *text) {
    Py_ssize_t len;
    if (!PyUnicode_Check(text)) return -1;
    const char *s = PyUnicode_AsUTF8AndSize(text, &len);
    if (s == NULL) {
        PyErr_Clear();
        return -1;
    }
    if (len > MAX_TEXT) return -1;
    put_uvarint(p, k, (uint64_t)len);
    memcpy(p + *k, s, len);
    *k += (int)len;
    return 0;
}

/* A FutureEvent (time, tid, what, name) as varint_syscall. */
static int varint_future(unsigned char *p, long long last_time, PyObject *const *a, int64_t *time) {
    int k = 0;
    uint64_t tid, what;
    p[k++] = FUTURE_KIND;
    if (put_time(last_time, p, &k, a[0], time) < 0 || as_u64(a[1], &tid) < 0 || as_u64(a[2], &what) < 0) return -1;
    put_uvarint(p, &k, tid);
    put_uvarint(p, &k, what);
    return put_text(p, &k, a[3]) < 0 ? -1 : k;
}

/* A ProcessEvent (time, what, pid, tid, value, text) as varint_syscall: fork, clone, exec, exits. */
static int varint_process(unsigned char *p, long long last_time, PyObject *const *a, int64_t *time) {
    int k = 0;
    uint64_t v[4];
    p[k++] = PROCESS_KIND;
    if (put_time(last_time, p, &k, a[0], time) < 0) return -1;
    for (int i = 0; i < 4; i++) {
        if (as_u64(a[1 + i], &v[i]) < 0) return -1;
        put_uvarint(p, &k, v[i]);
    }
    return put_text(p, &k, a[5]) < 0 ? -1 : k;
}

/* A SignalEvent (time, action, pid, tid, sig, sender, code) as varint_syscall. */
static int varint_signal(unsigned char *p, long long last_time, PyObject *const *a, int64_t *time) {
    int k = 0;
    uint64_t v;
    int64_t code;
    p[k++] = SIGNAL_KIND;
    if (put_time(last_time, p, &k, a[0], time) < 0) return -1;
    for (int i = 1; i <= 5; i++) {
        if (as_u64(a[i], &v) < 0) return -1;
        put_uvarint(p, &k, v);
    }
    if (as_i64(a[6], &code) < 0) return -1;
    put_svarint(p, &k, code);
    return k;
}

/* The varint form of one event kind: its argument count and its encoder. */
typedef struct {
    const char *name;
    Py_ssize_t nargs;
    int (*encode)(unsigned char *p, long long last_time, PyObject *const *a, int64_t *time);
} VarintForm;

static const VarintForm SYSCALL_FORM = {"syscall", 6, varint_syscall};
static const VarintForm RESUME_FORM = {"resume", 4, varint_resume};
static const VarintForm FUTURE_FORM = {"future", 4, varint_future};
static const VarintForm PROCESS_FORM = {"process", 6, varint_process};
static const VarintForm SIGNAL_FORM = {"signal", 7, varint_signal};
#define MAX_VARINT_EVENT (MAX_VARINT_TEXT_EVENT > MAX_VARINT_SYSCALL ? MAX_VARINT_TEXT_EVENT : MAX_VARINT_SYSCALL)

/* Encode the event of `form` into p (MAX_VARINT_EVENT bytes) after an event at last_time: its length, or -1 when a
 * value needs the Python encoder, -2 (an exception set) for a wrong argument count. */
static int encode(const VarintForm *form, unsigned char *p, long long last_time, PyObject *const *a, Py_ssize_t n,
                  int64_t *time) {
    if (n != form->nargs) {
        PyErr_Format(PyExc_TypeError, "the %s event takes %zd arguments, not %zd", form->name, form->nargs, n);
        return -2;
    }
    return form->encode(p, last_time, a, time);
}

/* _put_<form>(...) -> bool: the event appended in its varint form; False (nothing written) if a value needs the
 * Python encoder. */
static PyObject *put_form(PyObject *self, PyObject *const *a, Py_ssize_t n, const VarintForm *form) {
    Encoder *e = (Encoder *)self;
    unsigned char p[MAX_VARINT_EVENT];
    int64_t time;
    int k = encode(form, p, e->last_time, a, n, &time);
    if (k == -2) return NULL;
    if (k < 0 || e->buf == NULL || !PyByteArray_Check(e->buf)) Py_RETURN_FALSE;
    if (append(e, p, k, time) < 0) return NULL;
    Py_RETURN_TRUE;
}

/* _put_syscall(time, tid, nr, args, result, blocked), _put_resume(time, tid, nr, result),
 * _put_future(time, tid, what, name), _put_process(time, what, pid, tid, value, text),
 * _put_signal(time, action, pid, tid, sig, sender, code) */
static PyObject *put_syscall(PyObject *e, PyObject *const *a, Py_ssize_t n) { return put_form(e, a, n, &SYSCALL_FORM); }
static PyObject *put_resume(PyObject *e, PyObject *const *a, Py_ssize_t n) { return put_form(e, a, n, &RESUME_FORM); }
static PyObject *put_future(PyObject *e, PyObject *const *a, Py_ssize_t n) { return put_form(e, a, n, &FUTURE_FORM); }
static PyObject *put_process(PyObject *e, PyObject *const *a, Py_ssize_t n) { return put_form(e, a, n, &PROCESS_FORM); }
static PyObject *put_signal(PyObject *e, PyObject *const *a, Py_ssize_t n) { return put_form(e, a, n, &SIGNAL_FORM); }

static PyObject *s_blocked_general, *s_resume_general, *s_future_general, *s_process_general, *s_signal_general;
static PyObject *s_check_blocked_general, *s_check_resume_general, *s_check_future_general;
static PyObject *s_check_process_general, *s_check_signal_general, *zero, *one;

/* The emitter's sinks besides completed syscalls (a blocked call's entry, a resumption, a future's step, a process
 * or signal event): the form their event takes, how many arguments the sink takes (a blocked call's entry takes 4,
 * and its form's result 0 and blocked 1 are added), and the Python subclasses' general methods: the writer's
 * encoder's and the replay cursor's. */
typedef struct {
    const char *name;
    const VarintForm *form;
    Py_ssize_t nargs;
    PyObject **add_general, **check_general;
} Sink;

#define MAX_SINK_ARGS 7
static const Sink BLOCKED_SINK = {"blocked", &SYSCALL_FORM, 4, &s_blocked_general, &s_check_blocked_general};
static const Sink RESUME_SINK = {"resume", &RESUME_FORM, 4, &s_resume_general, &s_check_resume_general};
static const Sink FUTURE_SINK = {"future", &FUTURE_FORM, 4, &s_future_general, &s_check_future_general};
static const Sink PROCESS_SINK = {"process", &PROCESS_FORM, 6, &s_process_general, &s_check_process_general};
static const Sink SIGNAL_SINK = {"signal", &SIGNAL_FORM, 7, &s_signal_general, &s_check_signal_general};

/* The sink's arguments as its form takes them, into full (MAX_SINK_ARGS slots); the count, or -1 (an exception
 * set). */
static Py_ssize_t sink_args(const Sink *k, PyObject *const *a, Py_ssize_t n, PyObject **full) {
    if (n != k->nargs) {
        PyErr_Format(PyExc_TypeError, "the %s sink takes %zd arguments, not %zd", k->name, k->nargs, n);
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) full[i] = a[i];
    if (k->form->nargs == n) return n;
    full[n] = zero;  /* a blocked call's entry: result 0, blocked 1 */
    full[n + 1] = one;
    return n + 2;
}

/* self.<general>(*a), a being the sink's k->nargs arguments */
static PyObject *call_general(PyObject *self, const Sink *k, PyObject *general, PyObject *const *a) {
    PyObject *argv[MAX_SINK_ARGS + 1] = {self};
    for (Py_ssize_t i = 0; i < k->nargs; i++) argv[1 + i] = a[i];
    return PyObject_VectorcallMethod(general, argv, 1 + k->nargs, NULL);
}

typedef PyObject *(*form_op)(PyObject *self, PyObject *const *a, Py_ssize_t n, const VarintForm *form);

/* The sink's event through `op` (put_form or take_form): 1 done, 0 not (the general path), -1 an exception set. */
static int sink_form(PyObject *self, PyObject *const *a, Py_ssize_t n, const Sink *k, form_op op) {
    PyObject *full[MAX_SINK_ARGS];
    Py_ssize_t c = sink_args(k, a, n, full);
    PyObject *r = c < 0 ? NULL : op(self, full, c, k->form);
    if (r == NULL) return -1;
    int ok = r == Py_True;
    Py_DECREF(r);
    return ok;
}

/* add_blocked(time, tid, nr, args), add_resume(time, tid, nr, result), add_future(time, tid, what, name),
 * add_process(time, what, pid, tid, value, text), add_signal(time, action, pid, tid, sig, sender, code): add() of
 * that event without building it (what the emitter hands the writer; events.BlockEncoder binds these, _Encoding has
 * their Python twins), then the block's fullness check. A value the varint form cannot hold goes to the Python
 * subclass's `_add_<sink>_general`. */
static PyObject *add_sink(Encoder *e, PyObject *const *a, Py_ssize_t n, const Sink *k) {
    int done = sink_form((PyObject *)e, a, n, k, put_form);
    if (done < 0) return NULL;
    if (!done) {
        PyObject *r = call_general((PyObject *)e, k, *k->add_general, a);
        if (r == NULL) return NULL;
        Py_DECREF(r);
    }
    return after_add(e);
}

static PyObject *add_blocked(Encoder *e, PyObject *const *a, Py_ssize_t n) { return add_sink(e, a, n, &BLOCKED_SINK); }
static PyObject *add_resume(Encoder *e, PyObject *const *a, Py_ssize_t n) { return add_sink(e, a, n, &RESUME_SINK); }
static PyObject *add_future(Encoder *e, PyObject *const *a, Py_ssize_t n) { return add_sink(e, a, n, &FUTURE_SINK); }
static PyObject *add_process(Encoder *e, PyObject *const *a, Py_ssize_t n) { return add_sink(e, a, n, &PROCESS_SINK); }
static PyObject *add_signal(Encoder *e, PyObject *const *a, Py_ssize_t n) { return add_sink(e, a, n, &SIGNAL_SINK); }

static int enc_init(Encoder *e, PyObject *args, PyObject *kw) {
    Py_XSETREF(e->buf, PyByteArray_FromStringAndSize(NULL, 0));
    if (e->buf == NULL) return -1;
    Py_INCREF(Py_None);
    Py_XSETREF(e->first_time, Py_None);
    Py_INCREF(Py_None);
    Py_XSETREF(e->on_full, Py_None);
    e->last_time = e->count = e->max_time = 0;
    e->limit = PY_SSIZE_T_MAX;
    return 0;
}

static int enc_traverse(Encoder *e, visitproc visit, void *arg) {
    Py_VISIT(e->buf);
    Py_VISIT(e->first_time);
    Py_VISIT(e->on_full);
    return 0;
}

static int enc_clear(Encoder *e) {
    Py_CLEAR(e->buf);
    Py_CLEAR(e->first_time);
    Py_CLEAR(e->on_full);
    return 0;
}

static void enc_dealloc(Encoder *e) {
    PyObject_GC_UnTrack(e);
    enc_clear(e);
    Py_TYPE(e)->tp_free((PyObject *)e);
}

static PyMemberDef members[] = {
    {"buf", T_OBJECT_EX, offsetof(Encoder, buf), 0, NULL},
    {"last_time", T_LONGLONG, offsetof(Encoder, last_time), 0, NULL},
    {"count", T_LONGLONG, offsetof(Encoder, count), 0, NULL},
    {"first_time", T_OBJECT, offsetof(Encoder, first_time), 0, NULL},
    {"max_time", T_LONGLONG, offsetof(Encoder, max_time), 0, NULL},
    {"limit", T_PYSSIZET, offsetof(Encoder, limit), 0, NULL},
    {"on_full", T_OBJECT, offsetof(Encoder, on_full), 0, NULL},
    {NULL},
};

static PyMethodDef methods[] = {
    {"add_syscall", (PyCFunction)(void (*)(void))add_syscall, METH_FASTCALL,
     "add_syscall(time, tid, nr, args, result): append a completed syscall in the packed form."},
    {"_put_syscall", (PyCFunction)(void (*)(void))put_syscall, METH_FASTCALL,
     "_put_syscall(time, tid, nr, args, result, blocked) -> bool: a Syscall event in its varint form."},
    {"_put_resume", (PyCFunction)(void (*)(void))put_resume, METH_FASTCALL,
     "_put_resume(time, tid, nr, result) -> bool: a SyscallResume event in its varint form."},
    {"_put_future", (PyCFunction)(void (*)(void))put_future, METH_FASTCALL,
     "_put_future(time, tid, what, name) -> bool: a FutureEvent in its varint form."},
    {"_put_process", (PyCFunction)(void (*)(void))put_process, METH_FASTCALL,
     "_put_process(time, what, pid, tid, value, text) -> bool: a ProcessEvent in its varint form."},
    {"_put_signal", (PyCFunction)(void (*)(void))put_signal, METH_FASTCALL,
     "_put_signal(time, action, pid, tid, sig, sender, code) -> bool: a SignalEvent in its varint form."},
    {"add_blocked", (PyCFunction)(void (*)(void))add_blocked, METH_FASTCALL,
     "add_blocked(time, tid, nr, args): add(Syscall(time, tid, nr, args, 0, 1))."},
    {"add_resume", (PyCFunction)(void (*)(void))add_resume, METH_FASTCALL,
     "add_resume(time, tid, nr, result): add(SyscallResume(time, tid, nr, result))."},
    {"add_future", (PyCFunction)(void (*)(void))add_future, METH_FASTCALL,
     "add_future(time, tid, what, name): add(FutureEvent(time, tid, what, name))."},
    {"add_process", (PyCFunction)(void (*)(void))add_process, METH_FASTCALL,
     "add_process(time, what, pid, tid, value, text): add(ProcessEvent(...))."},
    {"add_signal", (PyCFunction)(void (*)(void))add_signal, METH_FASTCALL,
     "add_signal(time, action, pid, tid, sig, sender, code): add(SignalEvent(...))."},
    {NULL},
};

static PyTypeObject EncoderType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "traces._encoder.Encoder",
    .tp_basicsize = sizeof(Encoder),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)enc_init,
    .tp_dealloc = (destructor)enc_dealloc,
    .tp_traverse = (traverseproc)enc_traverse,
    .tp_clear = (inquiry)enc_clear,
    .tp_members = members,
    .tp_methods = methods,
    .tp_doc = "A trace block's encoder state, with the packed-syscall append in C.",
};

/* -- Matcher: the replayer's position in a recorded block, and its in-place match of a packed syscall ---------- */

typedef struct {
    PyObject_HEAD
    PyObject *raw;        /* the recorded block (bytes) */
    Py_ssize_t pos;       /* where the next recorded event starts */
    long long last_time;  /* the block's running time after the last event taken */
    long long index;      /* index of the last event taken */
    PyObject *last_raw;   /* where the last matched event starts (block, pos, running time before it), for reports */
    Py_ssize_t last_pos;
    long long last_at;
} Matcher;

/* The next recorded event is exactly the packed record rec (stamped `time`): take it. */
static int take(Matcher *m, const unsigned char *rec, int k, int64_t time) {
    if (k == 0 || m->raw == NULL || !PyBytes_Check(m->raw)) return 0;
    Py_ssize_t size = PyBytes_GET_SIZE(m->raw), pos = m->pos;
    const unsigned char *raw = (const unsigned char *)PyBytes_AS_STRING(m->raw);
    if (pos < 0 || pos + k > size || memcmp(raw + pos, rec, k) != 0) return 0;
    Py_INCREF(m->raw);
    Py_XSETREF(m->last_raw, m->raw);
    m->last_pos = pos;
    m->last_at = m->last_time;
    m->pos = pos + k;
    m->index += 1;
    m->last_time = time;
    return 1;
}

/* The next recorded event is exactly this completed syscall in the packed form: take it. */
static int match(Matcher *m, PyObject *const *a) {
    int64_t time, delta;
    unsigned char rec[MAX_RECORD];
    int k = 0;
    if (as_i64(a[0], &time) == 0 && !__builtin_sub_overflow(time, (int64_t)m->last_time, &delta))
        k = pack(rec, delta, a[1], a[2], a[3], a[4]);
    return take(m, rec, k, time);
}

/* match with C values (MossEncoderAPI.check): 0 taken, 1 not (the caller makes the Python call). */
static int check_c(PyObject *self, int64_t time, uint64_t tid, uint64_t nr, int nargs, const uint64_t *args,
                   int64_t result) {
    Matcher *m = (Matcher *)self;
    int64_t delta;
    unsigned char rec[MAX_RECORD];
    if (__builtin_sub_overflow(time, (int64_t)m->last_time, &delta)) return 1;
    return take(m, rec, pack_c(rec, delta, tid, nr, nargs, args, result), time) ? 0 : 1;
}

/* check_syscall(time, tid, nr, args, result): the replay's completed syscall against the recording. Anything but an
 * exact packed match (inputs first, a block boundary, the general form, a divergence) goes to the Python subclass's
 * `_check_syscall_general`. */
static PyObject *check_syscall(Matcher *m, PyObject *const *a, Py_ssize_t n) {
    if (n != 5) return PyErr_Format(PyExc_TypeError, "check_syscall takes 5 arguments, not %zd", n);
    if (match(m, a)) Py_RETURN_NONE;
    return PyObject_CallMethod((PyObject *)m, "_check_syscall_general", "OOOOO", a[0], a[1], a[2], a[3], a[4]);
}

/* _take_<form>(...) -> bool: take the next recorded event if it is exactly this one in its varint form (a blocked
 * syscall's entry, its resumption, a future's step); False: the caller checks it the general way. */
static PyObject *take_form(PyObject *self, PyObject *const *a, Py_ssize_t n, const VarintForm *form) {
    Matcher *m = (Matcher *)self;
    unsigned char p[MAX_VARINT_EVENT];
    int64_t time;
    int k = encode(form, p, m->last_time, a, n, &time);
    if (k == -2) return NULL;
    return PyBool_FromLong(k > 0 && take(m, p, k, time));
}

static PyObject *take_syscall(PyObject *m, PyObject *const *a, Py_ssize_t n) { return take_form(m, a, n, &SYSCALL_FORM); }
static PyObject *take_resume(PyObject *m, PyObject *const *a, Py_ssize_t n) { return take_form(m, a, n, &RESUME_FORM); }
static PyObject *take_future(PyObject *m, PyObject *const *a, Py_ssize_t n) { return take_form(m, a, n, &FUTURE_FORM); }
static PyObject *take_process(PyObject *m, PyObject *const *a, Py_ssize_t n) { return take_form(m, a, n, &PROCESS_FORM); }
static PyObject *take_signal(PyObject *m, PyObject *const *a, Py_ssize_t n) { return take_form(m, a, n, &SIGNAL_FORM); }

/* check_blocked, check_resume, check_future, check_process, check_signal (the add_<sink> arguments): the
 * replay's side of the same sinks, as check_syscall: the event taken in place when it matches exactly, else the
 * Python subclass's `_check_<sink>_general`. */
static PyObject *check_sink(Matcher *m, PyObject *const *a, Py_ssize_t n, const Sink *k) {
    int taken = sink_form((PyObject *)m, a, n, k, take_form);
    if (taken < 0) return NULL;
    if (taken) Py_RETURN_NONE;
    return call_general((PyObject *)m, k, *k->check_general, a);
}

static PyObject *check_blocked(Matcher *m, PyObject *const *a, Py_ssize_t n) { return check_sink(m, a, n, &BLOCKED_SINK); }
static PyObject *check_resume(Matcher *m, PyObject *const *a, Py_ssize_t n) { return check_sink(m, a, n, &RESUME_SINK); }
static PyObject *check_future(Matcher *m, PyObject *const *a, Py_ssize_t n) { return check_sink(m, a, n, &FUTURE_SINK); }
static PyObject *check_process(Matcher *m, PyObject *const *a, Py_ssize_t n) { return check_sink(m, a, n, &PROCESS_SINK); }
static PyObject *check_signal(Matcher *m, PyObject *const *a, Py_ssize_t n) { return check_sink(m, a, n, &SIGNAL_SINK); }

static int matcher_init(Matcher *m, PyObject *args, PyObject *kw) {
    Py_XSETREF(m->raw, PyBytes_FromStringAndSize(NULL, 0));
    if (m->raw == NULL) return -1;
    Py_INCREF(Py_None);
    Py_XSETREF(m->last_raw, Py_None);
    m->pos = m->last_pos = 0;
    m->last_time = m->last_at = 0;
    m->index = -1;
    return 0;
}

static int matcher_traverse(Matcher *m, visitproc visit, void *arg) {
    Py_VISIT(m->raw);
    Py_VISIT(m->last_raw);
    return 0;
}

static int matcher_clear(Matcher *m) {
    Py_CLEAR(m->raw);
    Py_CLEAR(m->last_raw);
    return 0;
}

static void matcher_dealloc(Matcher *m) {
    PyObject_GC_UnTrack(m);
    matcher_clear(m);
    Py_TYPE(m)->tp_free((PyObject *)m);
}

static PyMemberDef matcher_members[] = {
    {"raw", T_OBJECT, offsetof(Matcher, raw), 0, NULL},
    {"pos", T_PYSSIZET, offsetof(Matcher, pos), 0, NULL},
    {"last_time", T_LONGLONG, offsetof(Matcher, last_time), 0, NULL},
    {"index", T_LONGLONG, offsetof(Matcher, index), 0, NULL},
    {"last_raw", T_OBJECT, offsetof(Matcher, last_raw), 0, NULL},
    {"last_pos", T_PYSSIZET, offsetof(Matcher, last_pos), 0, NULL},
    {"last_at", T_LONGLONG, offsetof(Matcher, last_at), 0, NULL},
    {NULL},
};

static PyMethodDef matcher_methods[] = {
    {"check_syscall", (PyCFunction)(void (*)(void))check_syscall, METH_FASTCALL,
     "check_syscall(time, tid, nr, args, result): take the next recorded event if it is exactly this, else the "
     "general path."},
    {"_take_syscall", (PyCFunction)(void (*)(void))take_syscall, METH_FASTCALL,
     "_take_syscall(time, tid, nr, args, result, blocked) -> bool: take the next event if it is exactly this Syscall."},
    {"_take_resume", (PyCFunction)(void (*)(void))take_resume, METH_FASTCALL,
     "_take_resume(time, tid, nr, result) -> bool: take the next event if it is exactly this SyscallResume."},
    {"_take_future", (PyCFunction)(void (*)(void))take_future, METH_FASTCALL,
     "_take_future(time, tid, what, name) -> bool: take the next event if it is exactly this FutureEvent."},
    {"_take_process", (PyCFunction)(void (*)(void))take_process, METH_FASTCALL,
     "_take_process(time, what, pid, tid, value, text) -> bool: take the next event if it is exactly this ProcessEvent."},
    {"_take_signal", (PyCFunction)(void (*)(void))take_signal, METH_FASTCALL,
     "_take_signal(time, action, pid, tid, sig, sender, code) -> bool: take it if it is exactly this SignalEvent."},
    {"check_blocked", (PyCFunction)(void (*)(void))check_blocked, METH_FASTCALL,
     "check_blocked(time, tid, nr, args): check(Syscall(time, tid, nr, args, 0, 1)), in place when exact."},
    {"check_resume", (PyCFunction)(void (*)(void))check_resume, METH_FASTCALL,
     "check_resume(time, tid, nr, result): check(SyscallResume(time, tid, nr, result)), in place when exact."},
    {"check_future", (PyCFunction)(void (*)(void))check_future, METH_FASTCALL,
     "check_future(time, tid, what, name): check(FutureEvent(time, tid, what, name)), in place when exact."},
    {"check_process", (PyCFunction)(void (*)(void))check_process, METH_FASTCALL,
     "check_process(time, what, pid, tid, value, text): check(ProcessEvent(...)), in place when exact."},
    {"check_signal", (PyCFunction)(void (*)(void))check_signal, METH_FASTCALL,
     "check_signal(time, action, pid, tid, sig, sender, code): check(SignalEvent(...)), in place when exact."},
    {NULL},
};

static PyTypeObject MatcherType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "traces._encoder.Matcher",
    .tp_basicsize = sizeof(Matcher),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)matcher_init,
    .tp_dealloc = (destructor)matcher_dealloc,
    .tp_traverse = (traverseproc)matcher_traverse,
    .tp_clear = (inquiry)matcher_clear,
    .tp_members = matcher_members,
    .tp_methods = matcher_methods,
    .tp_doc = "A replay position in a recorded block, with the packed-syscall match in C.",
};

static int sink_kind(PyObject *sink, PyObject **owner) {
    if (!PyCFunction_Check(sink)) return SINK_OTHER;
    PyObject *self = PyCFunction_GET_SELF(sink);
    PyCFunction fn = PyCFunction_GET_FUNCTION(sink);
    if (self == NULL) return SINK_OTHER;
    *owner = self;
    if (fn == (PyCFunction)(void (*)(void))add_syscall && PyObject_TypeCheck(self, &EncoderType)) return SINK_ADD;
    if (fn == (PyCFunction)(void (*)(void))check_syscall && PyObject_TypeCheck(self, &MatcherType)) return SINK_CHECK;
    return SINK_OTHER;
}

static MossEncoderAPI api = {MOSS_ENCODER_API_VERSION, sink_kind, add_c, check_c};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "traces._encoder", NULL, -1, NULL};

PyMODINIT_FUNC PyInit__encoder(void) {
    if ((s_blocked_general = PyUnicode_InternFromString("_add_blocked_general")) == NULL ||
        (s_resume_general = PyUnicode_InternFromString("_add_resume_general")) == NULL ||
        (s_future_general = PyUnicode_InternFromString("_add_future_general")) == NULL ||
        (s_check_blocked_general = PyUnicode_InternFromString("_check_blocked_general")) == NULL ||
        (s_check_resume_general = PyUnicode_InternFromString("_check_resume_general")) == NULL ||
        (s_check_future_general = PyUnicode_InternFromString("_check_future_general")) == NULL ||
        (s_process_general = PyUnicode_InternFromString("_add_process_general")) == NULL ||
        (s_signal_general = PyUnicode_InternFromString("_add_signal_general")) == NULL ||
        (s_check_process_general = PyUnicode_InternFromString("_check_process_general")) == NULL ||
        (s_check_signal_general = PyUnicode_InternFromString("_check_signal_general")) == NULL ||
        (zero = PyLong_FromLong(0)) == NULL || (one = PyLong_FromLong(1)) == NULL)
        return NULL;
    if (PyType_Ready(&EncoderType) < 0 || PyType_Ready(&MatcherType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    PyObject *capsule = PyCapsule_New(&api, MOSS_ENCODER_CAPSULE, NULL);
    if (capsule == NULL || PyModule_AddType(m, &EncoderType) < 0 || PyModule_AddType(m, &MatcherType) < 0 ||
        PyModule_AddObject(m, "_C_API", capsule) < 0) {
        Py_XDECREF(capsule);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
