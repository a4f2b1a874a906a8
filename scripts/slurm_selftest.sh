#!/bin/bash
# A real SLURM job chain on this one machine (Debian, as root): slurmctld and slurmd on localhost with a private
# configuration, `sbatch scripts/slurm_example.sh` with a one-minute time limit and an early SIGUSR1, a clean stop
# with a checkpoint and exit 75, the next job of the chain resuming the run, and a final result equal to the
# uninterrupted run's.
#
#   scripts/slurm_selftest.sh                        # uses .venv/ of the repository
#   PYTHON=/path/to/python scripts/slurm_selftest.sh  # any environment where `python -m azero` works, with mpi4py
#
# Installs slurm-wlm and munge with apt when they are missing. Starts munged only if none runs; stops the
# daemons it started (by their process ids) when it ends. Work files go to $WORK (default: a fresh /tmp folder).
# STEPS (train steps per island) sets the run's length: the default takes about a minute per run on 2 cores.
# Exit 0 when the chain behaved; 1 with the reason otherwise.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$REPO/.venv/bin/python}
MPIEXEC=${MPIEXEC:-$(dirname "$PYTHON")/mpiexec}
WORK=${WORK:-$(mktemp -d /tmp/azero-slurm.XXXXXX)}
STEPS=${STEPS:-1_200_000_000}
TASKS=2
SEED=5
DEADLINE=${DEADLINE:-900}      # seconds for the whole chain

fail() { echo "slurm_selftest: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || fail "run as root (it starts slurmctld, slurmd and munged)"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get install -y -q slurm-wlm munge >/dev/null || fail "apt-get install slurm-wlm munge failed"
fi
"$PYTHON" -c "import azero, mpi4py" || fail "$PYTHON cannot import azero and mpi4py"

mkdir -p "$WORK/state" "$WORK/spool"
WORK=$(cd "$WORK" && pwd)
started=()
cleanup() {
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
}
trap cleanup EXIT

# munge: the credentials slurmctld and slurmd exchange.
if ! pgrep -x munged >/dev/null; then
    [ -s /etc/munge/munge.key ] || mungekey --create
    mkdir -p /run/munge && chown munge: /run/munge
    munged --force --pid-file "$WORK/munged.pid"   # as root inside a container; it daemonizes
    started+=("$(cat "$WORK/munged.pid")")
fi

HOST=$(hostname -s)
export SLURM_CONF=$WORK/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=azero-selftest
SlurmctldHost=$HOST
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
KillWait=30
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$(nproc) State=UNKNOWN
PartitionName=selftest Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D >"$WORK/slurmctld.out" 2>&1 &
started+=($!)
slurmd -D >"$WORK/slurmd.out" 2>&1 &
started+=($!)
for _ in $(seq 60); do
    sinfo -h -o %t 2>/dev/null | grep -qx idle && break
    sleep 1
done
sinfo -h -o %t | grep -qx idle || fail "the node did not come up (see $WORK/slurmctld.log, $WORK/slurmd.log)"
echo "slurmctld and slurmd up on $HOST ($(nproc) CPUs); work folder $WORK"

sed -e "s/^max_train_steps = .*/max_train_steps = $STEPS/" -e "s/^max_experiments = .*/max_experiments = 1/" \
    "$REPO/azero/presets/demo.toml" > "$WORK/chain.toml"

echo "uninterrupted reference: $MPIEXEC -n $TASKS $PYTHON -m azero search chain.toml --seed $SEED --no-store"
(cd "$WORK" && "$MPIEXEC" -n "$TASKS" "$PYTHON" -m azero search chain.toml --seed "$SEED" --no-store) \
    > "$WORK/reference.out" 2>&1 || fail "the reference run failed: $(tail -3 "$WORK/reference.out")"

started_chain=$(date +%s)
echo "chain: sbatch --ntasks=$TASKS --time=1 --signal=B:USR1@40 scripts/slurm_example.sh"
(cd "$WORK" && SBATCH_TIMELIMIT=1 SBATCH_SIGNAL=B:USR1@40 PYTHON="$PYTHON" CONFIG="$WORK/chain.toml" SEED=$SEED \
    RUN_DIR="$WORK/run" SCRIPT="$REPO/scripts/slurm_example.sh" \
    sbatch --ntasks=$TASKS "$REPO/scripts/slurm_example.sh")
until [ -n "$(ls "$WORK"/azero-*.out 2>/dev/null)" ] && [ -z "$(squeue -h)" ]; do
    [ $(( $(date +%s) - started_chain )) -lt "$DEADLINE" ] || fail "the chain did not end within $DEADLINE s"
    sleep 2
done
echo "chain ended after $(( $(date +%s) - started_chain )) s"

logs=$(ls "$WORK"/azero-*.out | sort -t- -k2 -n)
for log in $logs; do echo "===== $(basename "$log")"; cat "$log"; done

fitness() { grep "fitness" "$1" || true; }
last=$(echo "$logs" | tail -1)
grep -q "azero exited with status 75" $logs || fail "no job of the chain stopped on request (exit 75)"
grep -q "Resuming run $WORK/run from checkpoint" "$last" || fail "the last job did not resume the run"
grep -q "azero exited with status 0" "$last" || fail "the last job did not finish the run"
[ -n "$(fitness "$WORK/reference.out")" ] || fail "no result in the reference run"
diff <(fitness "$WORK/reference.out") <(fitness "$last") || fail "the chain's result differs from the reference"
echo "uninterrupted run:"; fitness "$WORK/reference.out"
echo "slurm_selftest: OK: $(echo "$logs" | wc -l) jobs, stopped with exit 75 and resumed; same result as the uninterrupted run"
