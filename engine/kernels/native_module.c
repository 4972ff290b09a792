/* The extension module engine.kernels._native: the project's C kernels in one
 * shared library (hc.c, ...).  Python never imports it: engine/kernels/clib.py
 * finds the built file and loads it with ctypes, which costs about a
 * millisecond and releases the GIL during each call.  PyInit__native exists
 * only so that the file is a valid extension module for setuptools and pip. */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef native_module = {
    PyModuleDef_HEAD_INIT,
    "_native",
    "GMM Studio's C kernels, loaded with ctypes by engine.kernels.clib.",
    -1,
    NULL,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&native_module); }
