"""Build azero: pure-Python package plus the Cython extensions in azero/_core."""
import os
from pathlib import Path

import numpy
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

# Bit-exactness with the reference needs plain IEEE double arithmetic: no fused multiply-add and no
# fast-math reassociation. No -march flags either, so the build stays portable (SSE2 baseline).
COMPILE_ARGS = ["-O3", "-ffp-contract=off", "-fno-fast-math", "-fno-associative-math"]
# The lane kernel (azero/_core/lanes.pxi) is built once per x86-64 SIMD level; the evaluator picks the best one
# the CPU supports when it loads. These flags only widen the vectors: no FMA (-mavx512f does not enable it, and
# -ffp-contract=off forbids contraction anyway).
LANE_LEVEL_ARGS = {
    "lanes_sse2": [],
    "lanes_avx2": ["-mavx2"],
    "lanes_avx512": ["-mavx512f", "-mprefer-vector-width=512"],
}
# AZERO_NATIVE=1: tune every module for the build machine (-march=native); the binaries then need that CPU.
if os.environ.get("AZERO_NATIVE") == "1":
    COMPILE_ARGS.append("-march=native")

# AZERO_EXTENSIONS=rng,executor builds only those modules (a developer convenience while one is being written).
_only = {name for name in os.environ.get("AZERO_EXTENSIONS", "").split(",") if name}

extensions = [
    Extension(
        f"azero._core.{path.stem}",
        [str(path)],
        include_dirs=[numpy.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS + LANE_LEVEL_ARGS.get(path.stem, []),
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
    package_data={
        "azero": ["py.typed"],
        "azero._core": ["*.pxd", "*.pyi", "gaussian_ziggurat_tables.txt"],
        "azero.presets": ["*.toml", "sweeps/*.toml"],
    },
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
    # scikit-learn: azero.sklearn's estimators and the offline digits data of the digits_binary preset;
    # tomli-w: configs written as TOML (run files, sweeps).
    install_requires=["numpy>=2", "h5py>=3.10", "tqdm>=4", "scikit-learn>=1.6", "tomli-w>=1.0"],
    extras_require={
        "mpi": ["mpi4py>=4", "mpich"],
        "datasets": ["scikit-learn>=1.6"],
        "analysis": ["matplotlib>=3.7", "pandas>=2"],
        # MPI comes from the `mpi` extra (bundled MPICH) or from mpi4py built against the site's MPI
        # (`pip install --no-binary mpi4py mpi4py`); `test` brings neither, so it combines with both.
        "test": ["pytest>=8", "hypothesis>=6", "scikit-learn>=1.6", "matplotlib>=3.7", "pandas>=2", "mypy>=1.10"],
    },
    entry_points={"console_scripts": ["azero=azero.cli:main"]},
    zip_safe=False,
)
