/*
 * Shared by the two files of the extension exprhub.records._strings: _strings.c (the module,
 * and split_rows) and _strings_columns.c (arrow_buffers, equal, parse_floats). See
 * _strings.c for what each does.
 */
#ifndef EXPRHUB_STRINGS_H
#define EXPRHUB_STRINGS_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#define NPY_NO_DEPRECATED_API NPY_2_0_API_VERSION
#define NPY_TARGET_VERSION NPY_2_0_API_VERSION
/* One numpy API table for both files, filled by the module's import_array(). */
#define PY_ARRAY_UNIQUE_SYMBOL exprhub_strings_ARRAY_API
#ifndef EXPRHUB_STRINGS_MODULE
#define NO_IMPORT_ARRAY
#endif
#include <numpy/arrayobject.h>

/* A 1-D StringDType array, or NULL with an exception set. */
static inline PyArrayObject *
string_column(PyObject *object, const char *what)
{
    if (!PyArray_Check(object) || PyArray_NDIM((PyArrayObject *)object) != 1 ||
        PyArray_DESCR((PyArrayObject *)object)->type_num != NPY_VSTRING) {
        PyErr_Format(PyExc_TypeError, "%s is not a 1-D StringDType array", what);
        return NULL;
    }
    return (PyArrayObject *)object;
}

/* The exception for a failed NpyString_load (status 1: NA, -1: unreadable). */
static inline void
set_load_error(int status)
{
    PyErr_SetString(PyExc_ValueError, status == 1 ? "missing value (NA) in a string column"
                                                  : "could not read a numpy string");
}

/* In _strings_columns.c. */
PyObject *arrow_buffers(PyObject *module, PyObject *arg);
PyObject *equal(PyObject *module, PyObject *args);
PyObject *parse_floats(PyObject *module, PyObject *arg);
extern const char arrow_buffers_doc[];
extern const char equal_doc[];
extern const char parse_floats_doc[];

#endif
