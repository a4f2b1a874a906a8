# cython: language_level=3
"""The lane kernel (lanes.pxi) compiled for the x86-64 baseline (SSE2) (setup.py sets the flags); the evaluator
loads this module only on a CPU that supports it."""
include "lanes.pxi"
