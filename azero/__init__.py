"""azero: AutoML-Zero as a library — exact, fast, MPI islands, HDF5 runs."""
__version__ = "0.1.0"
