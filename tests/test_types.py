"""The package type-checks: mypy (the settings of pyproject.toml) against the stubs of the compiled modules."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMPILED = ("rng", "executor", "evaluator", "fec", "mutator", "evolution", "estimator",
            "lanes_sse2", "lanes_avx2", "lanes_avx512")


def test_every_compiled_module_has_a_stub_and_the_package_is_marked_typed():
    core = ROOT / "azero" / "_core"
    assert sorted(p.stem for p in core.glob("*.pyx")) == sorted(COMPILED)
    assert sorted(p.stem for p in core.glob("*.pyi")) == sorted(COMPILED)
    assert (ROOT / "azero" / "py.typed").is_file()


def test_mypy_passes_on_the_package():
    result = subprocess.run([sys.executable, "-m", "mypy", "azero"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"mypy failed:\n{result.stdout}{result.stderr}"
    assert result.stdout.startswith("Success: no issues found")
