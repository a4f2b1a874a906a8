"""Build azero: pure-Python package plus the Cython extensions in azero/_core."""
import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

# Bit-exactness with the reference needs plain IEEE double arithmetic: no fused multiply-add and no
# fast-math reassociation. No -march flags either, so the build stays portable (SSE2 baseline).
COMPILE_ARGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-associative-math"]

# AZERO_EXTENSIONS=rng,executor builds only those modules (a developer convenience while one is being written).
_only = {name for name in os.environ.get("AZERO_EXTENSIONS", "").split(",") if name}

extensions = [
    Extension(
        f"azero._core.{path.stem}",
        [str(path)],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
    )
    for path in sorted(Path("azero/_core").glob("*.pyx"))
    if not _only or path.stem in _only
]

setup(
    name="azero",
    version="0.1.0",
    description="AutoML-Zero: evolve machine-learning algorithms from scratch (exact, fast, MPI islands, HDF5 runs)",
    long_description=Path("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.11",
    packages=find_packages(include=["azero", "azero.*"]),
    package_data={"azero._core": ["*.pxd", "gaussian_ziggurat_tables.txt"], "azero.presets": ["*.toml", "sweeps/*.toml"]},
    ext_modules=cythonize(
        extensions,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,  # IEEE division (x/0 -> inf, 0/0 -> NaN) instead of ZeroDivisionError
            "initializedcheck": False,
            "nonecheck": False,
        },
    ),
    install_requires=["numpy>=2", "h5py>=3.10", "tqdm>=4"],
    extras_require={
        "mpi": ["mpi4py>=4", "mpich"],
        "datasets": ["scikit-learn>=1.3"],
        "analysis": ["matplotlib>=3.7", "pandas>=2"],
        "test": ["pytest>=8", "mpi4py>=4", "mpich", "scikit-learn>=1.3", "matplotlib>=3.7", "pandas>=2"],
    },
    entry_points={"console_scripts": ["azero=azero.cli:main"]},
    zip_safe=False,
)
