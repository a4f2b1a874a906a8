"""azero: AutoML-Zero as a library — exact, fast, MPI islands, HDF5 runs.

The public names (README "Python API"): programs (`Algorithm`, `algorithms`), tasks (`TaskSpec`, `Task`, `make_tasks`),
fitness (`evaluate`), configuration (`SearchConfig`, `presets`), search (`search`) and runs (`load_run`,
`resume`, `status`; offline analysis in `azero.analysis` and `azero.export`).
"""
__version__ = "0.1.0"

from azero import algorithms, ops, presets
from azero.algorithm import INSTRUCTION_DTYPE, Algorithm, ProgramError
from azero.config import ConfigError, SearchConfig
from azero.evaluation import evaluate
from azero.search import Search, SearchResult, search
from azero.storage import RunStoreError, load_run, resume, status
from azero.tasks import Task, TaskSpec, make_tasks, randomize_task_seeds

__all__ = [
    "Algorithm", "ConfigError", "INSTRUCTION_DTYPE", "ProgramError", "RunStoreError", "Search", "SearchConfig",
    "SearchResult", "Task", "TaskSpec", "algorithms", "evaluate", "load_run", "make_tasks", "ops", "presets",
    "randomize_task_seeds", "resume", "search", "status",
]
