#!/bin/bash
# azero on a SLURM cluster: one evolution island per MPI rank, stopped cleanly before the wall time.
#
#   sbatch scripts/slurm_example.sh                      # first job: starts the run in $RUN_DIR
#   sbatch scripts/slurm_example.sh                      # later jobs: $RUN_DIR exists, so they resume it
#   CONFIG=my.toml RUN_DIR=$PWD/runs/my NTASKS=64 sbatch --ntasks=64 scripts/slurm_example.sh
#
# Stop and resume: 5 minutes before the time limit SLURM sends SIGUSR1 to this batch shell (B:), which passes
# it on to the launcher; srun and mpiexec forward it to every rank. azero finishes the current generation,
# writes a checkpoint on every island and exits 0 ("Stopped on request; ..."). Submitting the script again
# resumes from that checkpoint (`azero resume RUN_DIR`). Keep the number of ranks when resuming: island r's
# stream and population live in the run's per-island file, and migration pairs depend on the rank count.
# To chain jobs automatically: sbatch --dependency=afterany:$SLURM_JOB_ID scripts/slurm_example.sh
#
#SBATCH --job-name=azero
#SBATCH --ntasks=32
#SBATCH --cpus-per-task=1
#SBATCH --time=24:00:00
#SBATCH --signal=B:USR1@300
#SBATCH --output=%x-%j.out

set -uo pipefail   # no -e: `wait` returns non-zero when the trap below interrupts it

VENV=${VENV:-$HOME/azero/.venv}          # the environment where azero (with '.[mpi]') is installed
CONFIG=${CONFIG:-baseline}               # a preset name or a TOML file
SEED=${SEED:-1000}
RUN_DIR=${RUN_DIR:-$PWD/runs/azero-$CONFIG-$SEED}
LAUNCHER=${LAUNCHER:-srun}               # srun (the cluster's PMI) or mpiexec (the venv's MPICH, one node)

if [ -d "$RUN_DIR" ]; then
    ARGS=(resume "$RUN_DIR")
else
    mkdir -p "$(dirname "$RUN_DIR")"
    ARGS=(search "$CONFIG" --seed "$SEED" --run-dir "$RUN_DIR")
fi

# With srun, mpi4py must find a PMI the cluster provides (--mpi=pmi2 suits the pip MPICH; a cluster-built
# mpi4py, `pip install --no-binary mpi4py mpi4py` after loading the site's MPI module, may need --mpi=pmix).
# With the venv's mpiexec, the ranks all run on the first node of the allocation.
if [ "$LAUNCHER" = srun ]; then
    srun --mpi=pmi2 "$VENV/bin/azero" "${ARGS[@]}" &
else
    "$VENV/bin/mpiexec" -n "$SLURM_NTASKS" "$VENV/bin/azero" "${ARGS[@]}" &
fi
launcher=$!

trap 'echo "$(date): wall time near, asking azero to stop"; kill -USR1 "$launcher"' USR1
trap 'kill -TERM "$launcher"' TERM

wait "$launcher"
status=$?
while kill -0 "$launcher" 2>/dev/null; do   # the trap interrupted `wait`: wait for the clean stop
    wait "$launcher"
    status=$?
done
echo "$(date): azero exited with status $status"
exit "$status"
