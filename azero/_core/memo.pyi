"""Type stub of azero._core.memo (compiled): the evaluator's memo of recent evaluations (its use is C-level)."""

class ProgramMemo:
    def __init__(self, num_tasks: int) -> None: ...
