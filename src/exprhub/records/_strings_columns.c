/*
 * Columns read in C: arrow_buffers, equal and parse_floats of exprhub.records._strings (see
 * _strings.c for what each does, and how their loops run without the GIL).
 */
#include "_strings.h"

/* A status besides NpyString_load's (0, 1: NA, -1: unreadable): memory ran out. */
#define LOAD_NO_MEMORY 2

/* Bytes gathered without the GIL, in memory from PyMem_RawMalloc. */
typedef struct {
    char *bytes;
    size_t used;
    size_t capacity;
} byte_buffer;

/* Make room for `more` bytes after the used ones, at least doubling the capacity when it
 * grows; -1 if memory runs out or the total would not fit an array length. */
static int
reserve(byte_buffer *buffer, size_t more)
{
    if (more <= buffer->capacity - buffer->used) {
        return 0;
    }
    const size_t most = (size_t)PY_SSIZE_T_MAX;
    if (more > most - buffer->used) {
        return -1;
    }
    size_t needed = buffer->used + more;
    size_t capacity = buffer->capacity > most / 2 ? most : buffer->capacity * 2;
    if (capacity < needed) {
        capacity = needed;
    }
    char *grown = PyMem_RawRealloc(buffer->bytes, capacity);
    if (grown == NULL) {
        return -1;
    }
    buffer->bytes = grown;
    buffer->capacity = capacity;
    return 0;
}

/* The strings of `n` slots as Arrow offsets (n + 1 of them) and bytes; 0, or the status of
 * the failed load, or LOAD_NO_MEMORY. Runs without the GIL. */
static int
gather_strings(PyArray_StringDTypeObject *descr, const char *slots, npy_intp stride, npy_intp n,
               npy_int64 *offsets, byte_buffer *out)
{
    int status = 0;
    npy_static_string text = {0, NULL};
    npy_string_allocator *allocator = NpyString_acquire_allocator(descr);
    offsets[0] = 0;
    for (npy_intp i = 0; i < n; i++, slots += stride) {
        status = NpyString_load(allocator, (const npy_packed_static_string *)slots, &text);
        if (status != 0) {
            break;
        }
        if (reserve(out, text.size) < 0) {
            status = LOAD_NO_MEMORY;
            break;
        }
        if (text.size) {
            memcpy(out->bytes + out->used, text.buf, text.size);
            out->used += text.size;
        }
        offsets[i + 1] = (npy_int64)out->used;
    }
    NpyString_release_allocator(allocator);
    return status;
}

static void
free_raw_bytes(PyObject *capsule)
{
    PyMem_RawFree(PyCapsule_GetPointer(capsule, NULL));
}

/* A uint8 array of the `size` bytes at `bytes` (from PyMem_RawMalloc), which frees them when
 * it goes; NULL with an exception set, and the bytes freed, if it cannot be made. */
static PyArrayObject *
array_owning(char *bytes, npy_intp size)
{
    PyObject *owner = PyCapsule_New(bytes, NULL, free_raw_bytes);
    if (owner == NULL) {
        PyMem_RawFree(bytes);
        return NULL;
    }
    PyArrayObject *array =
        (PyArrayObject *)PyArray_SimpleNewFromData(1, &size, NPY_UINT8, bytes);
    if (array == NULL) {
        Py_DECREF(owner);
        return NULL;
    }
    if (PyArray_SetBaseObject(array, owner) < 0) { /* takes `owner` even when it fails */
        Py_DECREF(array);
        return NULL;
    }
    return array;
}

const char arrow_buffers_doc[] = PyDoc_STR(
"arrow_buffers(column) -> (offsets, data)\n"
"\n"
"The strings of a 1-D StringDType array as an Arrow large_string array's buffers: int64\n"
"offsets (one more than the strings) and the UTF-8 bytes, both numpy arrays. For more\n"
"than 500 strings the GIL is released meanwhile: the caller must not resize the column\n"
"from another thread.");

PyObject *
arrow_buffers(PyObject *Py_UNUSED(module), PyObject *arg)
{
    PyArrayObject *column = string_column(arg, "column");
    if (column == NULL) {
        return NULL;
    }
    npy_intp n = PyArray_DIMS(column)[0];
    npy_intp size = n + 1;
    PyArrayObject *offsets = (PyArrayObject *)PyArray_SimpleNew(1, &size, NPY_INT64);
    if (offsets == NULL) {
        return NULL;
    }
    /* Most columns are short cells (numbers, identifiers): one guess usually holds them. */
    byte_buffer buffer = {NULL, 0, 0};
    if (reserve(&buffer, n > 8 ? (size_t)n * 8 : 64) < 0) {
        Py_DECREF(offsets);
        return PyErr_NoMemory();
    }
    Py_INCREF(column); /* the column outlives the call whatever other threads do */
    PyArray_StringDTypeObject *descr = (PyArray_StringDTypeObject *)PyArray_DESCR(column);
    const char *slots = PyArray_BYTES(column);
    npy_intp stride = PyArray_STRIDES(column)[0];
    npy_int64 *offset = (npy_int64 *)PyArray_DATA(offsets);
    NPY_BEGIN_THREADS_DEF
    NPY_BEGIN_THREADS_THRESHOLDED(n) /* numpy's size below which releasing costs more */
    int status = gather_strings(descr, slots, stride, n, offset, &buffer);
    NPY_END_THREADS
    Py_DECREF(column);
    if (status != 0) {
        PyMem_RawFree(buffer.bytes);
        Py_DECREF(offsets);
        if (status == LOAD_NO_MEMORY) {
            return PyErr_NoMemory();
        }
        set_load_error(status);
        return NULL;
    }
    if (buffer.used < buffer.capacity) { /* give back what the guess left over */
        char *fitted = PyMem_RawRealloc(buffer.bytes, buffer.used ? buffer.used : 1);
        if (fitted != NULL) {
            buffer.bytes = fitted;
        }
    }
    PyArrayObject *data = array_owning(buffer.bytes, (npy_intp)buffer.used);
    if (data == NULL) {
        Py_DECREF(offsets);
        return NULL;
    }
    return Py_BuildValue("NN", offsets, data);
}

/* Whether the `n` strings of two columns agree (*same); 0, or the status of the failed load.
 * Runs without the GIL. */
static int
compare_strings(PyArray_Descr **descrs, const char *a, npy_intp a_stride, const char *b,
                npy_intp b_stride, npy_intp n, int *same)
{
    int status = 0;
    npy_static_string x = {0, NULL}, y = {0, NULL};
    npy_string_allocator *allocators[2];
    NpyString_acquire_allocators(2, descrs, allocators);
    *same = 1;
    for (npy_intp i = 0; i < n; i++, a += a_stride, b += b_stride) {
        status = NpyString_load(allocators[0], (const npy_packed_static_string *)a, &x);
        if (status == 0) {
            status = NpyString_load(allocators[1], (const npy_packed_static_string *)b, &y);
        }
        if (status != 0) {
            break;
        }
        if (x.size != y.size || (x.size != 0 && memcmp(x.buf, y.buf, x.size) != 0)) {
            *same = 0;
            break;
        }
    }
    NpyString_release_allocators(2, allocators);
    return status;
}

const char equal_doc[] = PyDoc_STR(
"equal(a, b) -> bool\n"
"\n"
"Whether two 1-D StringDType arrays have the same length and the same strings. For more\n"
"than 500 strings the GIL is released meanwhile: the caller must not resize the arrays\n"
"from another thread.");

PyObject *
equal(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *first, *second;
    if (!PyArg_ParseTuple(args, "OO:equal", &first, &second)) {
        return NULL;
    }
    PyArrayObject *a = string_column(first, "a");
    PyArrayObject *b = a ? string_column(second, "b") : NULL;
    if (b == NULL) {
        return NULL;
    }
    npy_intp n = PyArray_DIMS(a)[0];
    if (n != PyArray_DIMS(b)[0]) {
        Py_RETURN_FALSE;
    }
    Py_INCREF(a); /* both outlive the call whatever other threads do */
    Py_INCREF(b);
    PyArray_Descr *descrs[2] = {PyArray_DESCR(a), PyArray_DESCR(b)};
    const char *a_slots = PyArray_BYTES(a), *b_slots = PyArray_BYTES(b);
    npy_intp a_stride = PyArray_STRIDES(a)[0], b_stride = PyArray_STRIDES(b)[0];
    int same;
    NPY_BEGIN_THREADS_DEF
    NPY_BEGIN_THREADS_THRESHOLDED(n)
    int status = compare_strings(descrs, a_slots, a_stride, b_slots, b_stride, n, &same);
    NPY_END_THREADS
    Py_DECREF(a);
    Py_DECREF(b);
    if (status != 0) {
        set_load_error(status);
        return NULL;
    }
    return PyBool_FromLong(same);
}

/*
 * Decimal text to double, for the cells whose value one IEEE operation gives exactly: digits
 * that make an integer of at most 2^53 (an exact double) and a power of ten within 1e22 (also
 * exact), so m / 10^k or m * 10^k is the correctly rounded value, the one Python's float()
 * and numpy give. Returns 0 and sets *value, or -1 for a cell to be parsed elsewhere.
 */
static const double exact_powers[23] = {
    1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static inline int
is_digit(char c)
{
    return (unsigned)((unsigned char)c - '0') < 10u;
}

static int
exact_decimal(const char *p, size_t size, double *value)
{
    const char *end = p + size;
    int negative = 0;
    if (p < end && (*p == '-' || *p == '+')) {
        negative = *p == '-';
        p++;
    }
    const char *first = p;
    while (p < end && *p == '0') { /* leading zeros add nothing */
        p++;
    }
    /* Up to 19 digits cannot overflow; more are left to the caller (wrapping is harmless). */
    npy_uint64 digits = 0;
    const char *counted = p;
    for (; p < end && is_digit(*p); p++) {
        digits = digits * 10 + (npy_uint64)(*p - '0');
    }
    Py_ssize_t count = p - counted;
    int any = p > first;
    long scale = 0;
    if (p < end && *p == '.') {
        const char *fraction = ++p;
        for (; p < end && is_digit(*p); p++) {
            digits = digits * 10 + (npy_uint64)(*p - '0');
        }
        scale = (long)(p - fraction);
        count += scale;
        any |= scale > 0;
    }
    if (!any || count > 19) {
        return -1;
    }
    long exponent = 0;
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        int exponent_negative = 0;
        if (p < end && (*p == '-' || *p == '+')) {
            exponent_negative = *p == '-';
            p++;
        }
        if (p == end) {
            return -1;
        }
        for (int n = 0; p < end && *p >= '0' && *p <= '9'; p++, n++) {
            if (n == 4) {
                return -1;
            }
            exponent = exponent * 10 + (*p - '0');
        }
        if (exponent_negative) {
            exponent = -exponent;
        }
    }
    if (p != end) {
        return -1;
    }
    if (digits > ((npy_uint64)1 << 53)) { /* not an exact double */
        return -1;
    }
    double result = (double)digits;
    long power = exponent - scale;
    if (digits != 0) {
        if (power < -22 || power > 22) {
            return -1;
        }
        result = power < 0 ? result / exact_powers[-power] : result * exact_powers[power];
    }
    *value = negative ? -result : result;
    return 0;
}

const char parse_floats_doc[] = PyDoc_STR(
"parse_floats(column) -> (values, rest)\n"
"\n"
"The cells of a 1-D StringDType array as float64: plain decimal numbers (optional sign,\n"
"digits with at most one point, optional exponent) whose value one exact IEEE operation\n"
"gives, and empty cells as NaN. `rest` (int64) indexes the cells left for the caller to\n"
"parse; their values are NaN here.");

PyObject *
parse_floats(PyObject *Py_UNUSED(module), PyObject *arg)
{
    PyArrayObject *column = string_column(arg, "column");
    if (column == NULL) {
        return NULL;
    }
    npy_intp n = PyArray_DIMS(column)[0];
    PyArrayObject *values = (PyArrayObject *)PyArray_SimpleNew(1, &n, NPY_FLOAT64);
    npy_int64 *rest = PyMem_RawMalloc((n ? n : 1) * sizeof(npy_int64));
    if (values == NULL || rest == NULL) {
        Py_XDECREF(values);
        PyMem_RawFree(rest);
        return PyErr_NoMemory();
    }
    double *out = (double *)PyArray_DATA(values);
    const char *slots = PyArray_BYTES(column);
    npy_intp stride = PyArray_STRIDES(column)[0];
    npy_intp n_rest = 0;
    int status = 0;
    PyArray_StringDTypeObject *descr = (PyArray_StringDTypeObject *)PyArray_DESCR(column);
    Py_BEGIN_ALLOW_THREADS
    npy_string_allocator *allocator = NpyString_acquire_allocator(descr);
    npy_static_string text = {0, NULL};
    for (npy_intp i = 0; i < n; i++) {
        status = NpyString_load(allocator, (const npy_packed_static_string *)(slots + i * stride),
                                &text);
        if (status != 0) {
            break;
        }
        if (text.size == 0) {
            out[i] = Py_NAN;
        }
        else if (exact_decimal(text.buf, text.size, &out[i]) < 0) {
            out[i] = Py_NAN;
            rest[n_rest++] = i;
        }
    }
    NpyString_release_allocator(allocator);
    Py_END_ALLOW_THREADS
    if (status != 0) {
        Py_DECREF(values);
        PyMem_RawFree(rest);
        set_load_error(status);
        return NULL;
    }
    PyArrayObject *indices = (PyArrayObject *)PyArray_SimpleNew(1, &n_rest, NPY_INT64);
    if (indices == NULL) {
        Py_DECREF(values);
        PyMem_RawFree(rest);
        return NULL;
    }
    if (n_rest) {
        memcpy(PyArray_DATA(indices), rest, n_rest * sizeof(npy_int64));
    }
    PyMem_RawFree(rest);
    return Py_BuildValue("NN", values, indices);
}
