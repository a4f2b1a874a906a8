"""azero: AutoML-Zero as a library — exact, fast, MPI islands, HDF5 runs.

The public names (README "Python API"): programs (`Algorithm`, `algorithms`), tasks (`TaskSpec`, `Task`, `make_tasks`),
fitness (`evaluate`), configuration (`SearchConfig`, `presets`), search (`run_search`, `Search`) and runs
(`load_run`, `resume`, `status`; offline analysis in `azero.analysis` and `azero.export`). No public name is also
the name of a submodule: `azero.search` is the experiment loop's module, `azero.runs` the run store's package.
"""
from azero import algorithms, presets
from azero._core import ops
from azero._version import __version__
from azero.algorithm import INSTRUCTION_DTYPE, Algorithm, ProgramError
from azero.config import ConfigError, SearchConfig
from azero.evaluation import evaluate
from azero.results import SearchResult
from azero.runs.reader import load_run
from azero.runs.resume import resume
from azero.runs.schema import RunStoreError
from azero.runs.status import status
from azero.search import Search, run_search
from azero.tasks import Task, TaskSpec, make_tasks, randomize_task_seeds

__all__ = [
    "Algorithm", "ConfigError", "INSTRUCTION_DTYPE", "ProgramError", "RunStoreError", "Search", "SearchConfig",
    "SearchResult", "Task", "TaskSpec", "algorithms", "evaluate", "load_run", "make_tasks", "ops",
    "presets", "randomize_task_seeds", "resume", "run_search", "status",
]
