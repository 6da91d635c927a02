/*
 * Table columns (numpy StringDType arrays) built and read without a Python object per cell.
 *
 * split_rows: tab-separated rows straight into string columns. One pass over the bytes finds
 *   each row and cell, and each cell is packed into its column with numpy's string API.
 *   exprhub.formats.soft_table does the same with numpy alone when this module is not built;
 *   the tests compare the two. Rows follow soft_table's rules: a line ends at "\n" (a "\r"
 *   before it is dropped), blank lines are skipped, a row with more cells than there are
 *   columns loses the extra cells, and a row with fewer is padded with empty strings.
 * arrow_buffers: a column as the offsets and bytes of an Arrow large_string array.
 * equal: whether two columns hold the same strings.
 * parse_floats: a column's plain decimal numbers as float64, the rest left to the caller.
 *
 * Their loops run without the GIL, so that other threads run meanwhile (arrow_buffers and
 * equal keep it below numpy's threshold size, where giving it up costs more than it frees).
 * Each takes its columns' allocator locks and gives them back inside that stretch: numpy
 * takes those locks while holding the GIL (to read an item, for one), so waiting for the GIL
 * with a lock held can deadlock.
 */
#define EXPRHUB_STRINGS_MODULE
#include "_strings.h"

/* Cells held at most in one block of rows (see block_writer). */
#define BLOCK_CELLS 8192

typedef struct {
    const char *buf;
    size_t size;
} cell_span;

/*
 * Rows are split into a block of cell spans, then packed column by column: packing row by
 * row writes to every column in turn, and each cell then waits for its column's memory.
 */
typedef struct {
    Py_ssize_t width;
    npy_string_allocator **allocators;
    char **slots;
    npy_intp *strides;
    npy_intp capacity;
    cell_span *cells; /* column-major: cells[j * block_rows + r] */
    npy_intp block_rows;
} block_writer;

typedef struct {
    npy_intp rows;
    Py_ssize_t long_rows;
    Py_ssize_t short_rows;
    Py_ssize_t lines;
} split_counts;

enum { SPLIT_OK = 0, SPLIT_NO_ROOM = 1, SPLIT_NO_MEMORY = 2 };

/* Pack the `n` rows held in the block into the columns, from row `first` on. */
static int
pack_block(const block_writer *w, npy_intp first, npy_intp n)
{
    for (Py_ssize_t j = 0; j < w->width; j++) {
        char *slot = w->slots[j] + first * w->strides[j];
        const cell_span *cell = w->cells + j * w->block_rows;
        for (npy_intp r = 0; r < n; r++, slot += w->strides[j], cell++) {
            if (NpyString_pack(w->allocators[j], (npy_packed_static_string *)slot, cell->buf,
                               cell->size) < 0) {
                return -1;
            }
        }
    }
    return 0;
}

/* Split the rows of [p, stop) into the columns; runs without the GIL. */
static int
split_rows(const block_writer *w, const char *p, const char *stop, split_counts *counts)
{
    npy_intp held = 0; /* rows in the block, not yet packed */
    while (p < stop) {
        const char *line = p;
        const char *newline = memchr(p, '\n', (size_t)(stop - p));
        const char *line_end = newline ? newline : stop;
        p = newline ? newline + 1 : stop;
        if (newline) {
            counts->lines++;
            if (line_end > line && line_end[-1] == '\r') {
                line_end--;
            }
        }
        if (line_end == line) { /* a blank line */
            continue;
        }
        if (counts->rows + held >= w->capacity) {
            return SPLIT_NO_ROOM;
        }
        cell_span *cell = w->cells + held;
        Py_ssize_t j = 0;
        for (;;) {
            const char *tab = memchr(line, '\t', (size_t)(line_end - line));
            const char *cell_end = tab ? tab : line_end;
            if (j < w->width) {
                cell->buf = line;
                cell->size = (size_t)(cell_end - line);
                cell += w->block_rows;
            }
            j++;
            if (tab == NULL) {
                break;
            }
            line = tab + 1;
        }
        if (j > w->width) {
            counts->long_rows++;
        }
        else if (j < w->width) {
            counts->short_rows++;
            for (; j < w->width; j++, cell += w->block_rows) {
                cell->buf = "";
                cell->size = 0;
            }
        }
        if (++held == w->block_rows) {
            if (pack_block(w, counts->rows, held) < 0) {
                return SPLIT_NO_MEMORY;
            }
            counts->rows += held;
            held = 0;
        }
    }
    if (held) {
        if (pack_block(w, counts->rows, held) < 0) {
            return SPLIT_NO_MEMORY;
        }
        counts->rows += held;
    }
    return SPLIT_OK;
}

/* Check the columns and note where their slots are; -1 with an exception set if unfit.
 * `refs` gets a new reference to each column checked, so that the arrays outlive the call
 * even if the list changes while the GIL is released. */
static int
inspect_columns(PyObject *columns, block_writer *w, PyArray_Descr **descrs, PyObject **refs)
{
    w->capacity = NPY_MAX_INTP;
    for (Py_ssize_t j = 0; j < w->width; j++) {
        PyObject *item = PyList_GET_ITEM(columns, j);
        if (!PyArray_Check(item)) {
            PyErr_Format(PyExc_TypeError, "column %zd is not a numpy array", j);
            return -1;
        }
        char name[32];
        snprintf(name, sizeof name, "column %zd", j);
        PyArrayObject *array = string_column(item, name);
        if (array == NULL) {
            return -1;
        }
        if (!PyArray_ISWRITEABLE(array)) {
            PyErr_Format(PyExc_ValueError, "column %zd is read-only", j);
            return -1;
        }
        Py_INCREF(item);
        refs[j] = item;
        descrs[j] = PyArray_DESCR(array);
        w->slots[j] = PyArray_BYTES(array);
        w->strides[j] = PyArray_STRIDES(array)[0];
        if (PyArray_DIMS(array)[0] < w->capacity) {
            w->capacity = PyArray_DIMS(array)[0];
        }
    }
    return 0;
}

PyDoc_STRVAR(split_rows_doc,
"split_rows(data, start, end, columns) -> (rows, long_rows, short_rows, lines)\n"
"\n"
"Write the rows of data[start:end] into the StringDType arrays ``columns`` (a list, one\n"
"array per cell of a row, each with room for every row), from their first element on.\n"
"``data`` is UTF-8 text. The GIL is released meanwhile: the caller must not resize the\n"
"columns from another thread. Returns the number of rows written, how many had more and\n"
"fewer cells than there are columns, and the number of newlines.");

static PyObject *
split_rows_into(PyObject *Py_UNUSED(module), PyObject *args)
{
    PyObject *data, *columns;
    Py_ssize_t start, end;
    if (!PyArg_ParseTuple(args, "OnnO!:split_rows", &data, &start, &end, &PyList_Type,
                          &columns)) {
        return NULL;
    }
    block_writer w = {0};
    w.width = PyList_GET_SIZE(columns);
    if (w.width < 1) {
        PyErr_SetString(PyExc_ValueError, "split_rows needs at least one column");
        return NULL;
    }
    Py_buffer view;
    if (PyObject_GetBuffer(data, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    PyObject *result = NULL;
    split_counts counts = {0};
    int status = SPLIT_OK;
    w.block_rows = BLOCK_CELLS / w.width > 0 ? BLOCK_CELLS / w.width : 1;
    PyArray_Descr **descrs = PyMem_Malloc(w.width * sizeof(*descrs));
    PyObject **refs = PyMem_Calloc(w.width, sizeof(*refs));
    w.allocators = PyMem_Malloc(w.width * sizeof(*w.allocators));
    w.slots = PyMem_Malloc(w.width * sizeof(*w.slots));
    w.strides = PyMem_Malloc(w.width * sizeof(*w.strides));
    w.cells = PyMem_Malloc(w.width * w.block_rows * sizeof(*w.cells));
    if (!descrs || !refs || !w.allocators || !w.slots || !w.strides || !w.cells) {
        PyErr_NoMemory();
        goto finish;
    }
    if (start < 0 || end < start || end > view.len) {
        PyErr_Format(PyExc_ValueError, "bad range [%zd, %zd) of %zd bytes", start, end,
                     view.len);
        goto finish;
    }
    if (inspect_columns(columns, &w, descrs, refs) < 0) {
        goto finish;
    }
    Py_BEGIN_ALLOW_THREADS
    NpyString_acquire_allocators((size_t)w.width, descrs, w.allocators);
    status = split_rows(&w, (const char *)view.buf + start, (const char *)view.buf + end,
                        &counts);
    NpyString_release_allocators((size_t)w.width, w.allocators);
    Py_END_ALLOW_THREADS
    if (status == SPLIT_NO_ROOM) {
        PyErr_Format(PyExc_ValueError, "the columns have room for %zd rows; the text holds more",
                     (Py_ssize_t)w.capacity);
    }
    else if (status == SPLIT_NO_MEMORY) {
        PyErr_NoMemory();
    }
    else {
        result = Py_BuildValue("nnnn", (Py_ssize_t)counts.rows, counts.long_rows,
                               counts.short_rows, counts.lines);
    }

finish:
    for (Py_ssize_t j = 0; refs != NULL && j < w.width; j++) {
        Py_XDECREF(refs[j]);
    }
    PyMem_Free(refs);
    PyMem_Free(descrs);
    PyMem_Free(w.allocators);
    PyMem_Free(w.slots);
    PyMem_Free(w.strides);
    PyMem_Free(w.cells);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef strings_methods[] = {
    {"split_rows", split_rows_into, METH_VARARGS, split_rows_doc},
    {"arrow_buffers", arrow_buffers, METH_O, arrow_buffers_doc},
    {"equal", equal, METH_VARARGS, equal_doc},
    {"parse_floats", parse_floats, METH_O, parse_floats_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef strings_module = {
    .m_base = PyModuleDef_HEAD_INIT,
    .m_name = "_strings",
    .m_doc = "Table columns (numpy StringDType arrays) built and read in C.",
    .m_size = -1,
    .m_methods = strings_methods,
};

PyMODINIT_FUNC
PyInit__strings(void)
{
    import_array();
    return PyModule_Create(&strings_module);
}
