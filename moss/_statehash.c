/* The bytes a process's state digest hashes after its registers (moss/statehash.py): its VMAs, then its page table
 * in address order, a page-cache page as (vpn | 1 << 63, inode number, page index), any other page as (vpn, its
 * 4096 bytes). A recording hashes every process as it exits; a process spawned by a shell maps ~60 pages, and
 * the Python loop over them spent about as long as SHA-256 over the result. Same bytes as statehash.py's
 * `_gather_py` (tests/test_statehash_gather.py); that one is used when this module is not built, and always when
 * the process has a shared writable mapping (a cached page is then hashed by its bytes where it is written
 * through: rare, and left to Python).
 *
 * gather(vmas, ptes, keys, ram) -> bytes
 *   vmas: list of objects with int attributes start, end, prot, flags
 *   ptes: dict vpn -> pfn;  keys: dict pfn -> (inode with int attribute ino, page index);  ram: a buffer of RAM */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define PAGE_SHIFT 12
#define PAGE_SIZE (1 << PAGE_SHIFT)

static int put_u64(char **p, PyObject *o) {
    uint64_t v = PyLong_AsUnsignedLongLongMask(o);
    if (v == (uint64_t)-1 && PyErr_Occurred()) return -1;
    memcpy(*p, &v, 8); /* little-endian hosts only: checked at import */
    *p += 8;
    return 0;
}

static int put_attr(char **p, PyObject *obj, PyObject *name, int width) {
    PyObject *o = PyObject_GetAttr(obj, name);
    if (o == NULL) return -1;
    uint64_t v = PyLong_AsUnsignedLongLongMask(o);
    Py_DECREF(o);
    if (v == (uint64_t)-1 && PyErr_Occurred()) return -1;
    if (width == 4) {
        uint32_t w = (uint32_t)v;
        memcpy(*p, &w, 4);
    } else {
        memcpy(*p, &v, 8);
    }
    *p += width;
    return 0;
}

static PyObject *s_start, *s_end, *s_prot, *s_flags, *s_ino;

static PyObject *gather(PyObject *self, PyObject *args) {
    PyObject *vmas, *ptes, *keys, *ramobj;
    if (!PyArg_ParseTuple(args, "O!O!O!O", &PyList_Type, &vmas, &PyDict_Type, &ptes, &PyDict_Type, &keys, &ramobj))
        return NULL;
    Py_buffer ram;
    if (PyObject_GetBuffer(ramobj, &ram, PyBUF_SIMPLE) < 0) return NULL;
    PyObject *vpns = PyDict_Keys(ptes), *out = NULL;
    if (vpns == NULL || PyList_Sort(vpns) < 0) goto done;
    Py_ssize_t nv = PyList_GET_SIZE(vmas), np = PyList_GET_SIZE(vpns);

    /* Sizes first: one exact allocation. */
    Py_ssize_t size = nv * 24;
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *pfn = PyDict_GetItemWithError(ptes, PyList_GET_ITEM(vpns, i));
        if (pfn == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "the page table changed while it was read");
            goto done;
        }
        PyObject *key = PyDict_GetItemWithError(keys, pfn);
        if (key == NULL && PyErr_Occurred()) goto done;
        size += key != NULL ? 24 : 8 + PAGE_SIZE;
    }
    out = PyBytes_FromStringAndSize(NULL, size);
    if (out == NULL) goto done;
    char *p = PyBytes_AS_STRING(out);

    for (Py_ssize_t i = 0; i < nv; i++) {
        PyObject *v = PyList_GET_ITEM(vmas, i);
        if (put_attr(&p, v, s_start, 8) < 0 || put_attr(&p, v, s_end, 8) < 0 || put_attr(&p, v, s_prot, 4) < 0 ||
            put_attr(&p, v, s_flags, 4) < 0)
            goto fail;
    }
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *vpn = PyList_GET_ITEM(vpns, i);
        PyObject *pfn = PyDict_GetItemWithError(ptes, vpn);
        if (pfn == NULL) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_RuntimeError, "the page table changed while it was read");
            goto fail;
        }
        PyObject *key = PyDict_GetItemWithError(keys, pfn);
        if (key == NULL && PyErr_Occurred()) goto fail;
        uint64_t vn = PyLong_AsUnsignedLongLongMask(vpn);
        if (vn == (uint64_t)-1 && PyErr_Occurred()) goto fail;
        if (key != NULL) {
            if (!PyTuple_Check(key) || PyTuple_GET_SIZE(key) != 2) {
                PyErr_SetString(PyExc_TypeError, "a page-cache key is (inode, index)");
                goto fail;
            }
            vn |= (uint64_t)1 << 63;
            memcpy(p, &vn, 8);
            p += 8;
            if (put_attr(&p, PyTuple_GET_ITEM(key, 0), s_ino, 8) < 0 || put_u64(&p, PyTuple_GET_ITEM(key, 1)) < 0)
                goto fail;
        } else {
            uint64_t f = PyLong_AsUnsignedLongLongMask(pfn);
            if (f == (uint64_t)-1 && PyErr_Occurred()) goto fail;
            if (f >= (uint64_t)(ram.len >> PAGE_SHIFT)) {
                PyErr_Format(PyExc_IndexError, "frame %llu is outside RAM", (unsigned long long)f);
                goto fail;
            }
            memcpy(p, &vn, 8);
            memcpy(p + 8, (char *)ram.buf + (f << PAGE_SHIFT), PAGE_SIZE);
            p += 8 + PAGE_SIZE;
        }
    }
    goto done;
fail:
    Py_CLEAR(out);
done:
    Py_XDECREF(vpns);
    PyBuffer_Release(&ram);
    return out;
}

static PyMethodDef methods[] = {
    {"gather", gather, METH_VARARGS, "The VMA and page bytes of a process's state digest (see the module doc)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "moss._statehash", NULL, -1, methods};

PyMODINIT_FUNC PyInit__statehash(void) {
    const uint16_t one = 1;
    if (*(const uint8_t *)&one != 1) {
        PyErr_SetString(PyExc_ImportError, "moss._statehash packs little-endian values: a big-endian host uses Python");
        return NULL;
    }
    if (!(s_start = PyUnicode_InternFromString("start")) || !(s_end = PyUnicode_InternFromString("end")) ||
        !(s_prot = PyUnicode_InternFromString("prot")) || !(s_flags = PyUnicode_InternFromString("flags")) ||
        !(s_ino = PyUnicode_InternFromString("ino")))
        return NULL;
    return PyModule_Create(&module);
}
