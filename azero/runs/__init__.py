"""The HDF5 run store: a run directory that survives kills, can be resumed, and holds everything for analysis.

A run directory (schema in docs/run_format.md) holds ``run.h5`` (config, seeds, rank count, segments,
experiments, final result; written by rank 0, always replaced whole by write-then-rename) and one
``island-NNNN.h5`` per island (progress history, new-best lineage, migrations, population snapshots,
checkpoints; created by write-then-rename, then appended in place in HDF5 SWMR mode, so a reader can open it
while it grows and a kill -9 at any moment leaves every committed checkpoint readable).

One concept per module, lowest first: `schema` (names, version, record layouts, checksums), `files` (opening,
atomic writes, locks, SWMR tables), `directory` (run.h5's contents, island file creation), `writer`
(`RunStore`), `reader` (`load_run`, `Run`), `status`, `checkpoints` (planning a resume) and, above the experiment
loop, `resume`. Every problem with the files (missing, truncated, corrupt, newer schema, config mismatch) raises
`schema.RunStoreError`, one line, before anything is written.

This package imports nothing on purpose: `azero.runs.resume` imports `azero.search`, which imports the writer.
"""
