#!/bin/bash
# azero on a SLURM cluster: one evolution island per MPI rank, stopped cleanly before the time limit, continued
# by the next job of a chain.
#
#   sbatch scripts/slurm_example.sh                      # starts the run in $RUN_DIR, or resumes it if it exists
#   CONFIG=my.toml RUN_DIR=$PWD/runs/my sbatch --ntasks=64 scripts/slurm_example.sh
#
# Stop and resume: 5 minutes before the time limit SLURM sends SIGUSR1 to this batch shell (B:), which passes
# it on to the launcher; srun and mpiexec forward it to every rank. azero finishes the current generation,
# writes a checkpoint on every island and exits 75 on every rank ("stopped on request, resumable"; 0 means
# finished, anything else failed). On 75 this script submits itself again, to start when this job has ended
# (CHAIN=0 turns that off); the next job finds $RUN_DIR and resumes it. RUN_DIR must be on a file system that
# every node sees. The next job may have another number of tasks: the islands are then redistributed (the
# best islands go on with fewer ranks, extra ranks start copies of the best islands; see README.md).
#
#SBATCH --job-name=azero
#SBATCH --ntasks=32
#SBATCH --cpus-per-task=1
#SBATCH --time=24:00:00
#SBATCH --signal=B:USR1@300
#SBATCH --output=%x-%j.out

set -uo pipefail   # no -e: `wait` returns non-zero when the trap below interrupts it

VENV=${VENV:-$HOME/azero/.venv}          # the environment where azero is installed
PYTHON=${PYTHON:-$VENV/bin/python}
CONFIG=${CONFIG:-baseline}               # a preset name or a TOML file
SEED=${SEED:-1000}
RUN_DIR=${RUN_DIR:-$PWD/runs/azero-$CONFIG-$SEED}
LAUNCHER=${LAUNCHER:-srun}               # srun (across nodes) or mpiexec (the environment's own, one node)
SRUN_MPI=${SRUN_MPI:-pmi2}               # pmi2 suits MPICH (the `mpi` extra's, or a site MPICH); Open MPI: pmix
CHAIN=${CHAIN:-1}
EXIT_STOPPED=75

if [ -d "$RUN_DIR" ]; then
    ARGS=(resume "$RUN_DIR")
else
    mkdir -p "$(dirname "$RUN_DIR")"
    ARGS=(search "$CONFIG" --seed "$SEED" --run-dir "$RUN_DIR")
fi

if [ "$LAUNCHER" = srun ]; then
    srun --mpi="$SRUN_MPI" "$PYTHON" -m azero "${ARGS[@]}" &
else
    "${MPIEXEC:-$VENV/bin/mpiexec}" -n "$SLURM_NTASKS" "$PYTHON" -m azero "${ARGS[@]}" &
fi
launcher=$!

trap 'echo "$(date): time limit near, asking azero to stop"; kill -USR1 "$launcher"' USR1
trap 'kill -TERM "$launcher"' TERM

wait "$launcher"
status=$?
while kill -0 "$launcher" 2>/dev/null; do   # the trap interrupted `wait`: wait for the clean stop
    wait "$launcher"
    status=$?
done
echo "$(date): azero exited with status $status"

if [ "$status" = "$EXIT_STOPPED" ] && [ "$CHAIN" = 1 ]; then
    script=${SCRIPT:-$(scontrol show job "$SLURM_JOB_ID" | sed -n 's/^ *Command=//p')}
    sbatch --dependency=afterany:"$SLURM_JOB_ID" --ntasks="$SLURM_NTASKS" "$script"   # same rank count: bitwise
fi
exit "$status"
