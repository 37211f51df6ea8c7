#!/bin/bash
# The GPU check (issue 31, item 9): every backend x attack on CUDA and the pipeline with every
# backend (pytest -m gpu), then the default run with --device cuda, whose report is
# reports/example-gpu/ with its run.log. Run from the repository root on a CUDA machine:
#   COMMIT=$(git rev-parse --short HEAD) bash benchmarks/gpu_check.sh [LOG_DIR]
# Each step has its own time limit and the script goes on after a failure, so one run says
# everything; LOG_DIR (default /tmp/gpu-check) receives env.txt, pytest_gpu.log and run.log.
set -u
logs=${1:-/tmp/gpu-check}
mkdir -p "$logs"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
gpu=$($py -c "import torch; print(torch.cuda.get_device_name(0))" 2>/dev/null || echo "no GPU")
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    $py -c "import torch, sys; print('python', sys.version.split()[0], 'torch', torch.__version__, 'cuda', torch.version.cuda)"
    $py -m pip list 2>/dev/null | grep -iE "^(torchattacks|adversarial|foolbox|eagerpy|numpy|scipy|pandas) "
    echo "cpus $(nproc)"
} >"$logs/env.txt" 2>&1

# 1. the default run on the GPU: the report a user of a GPU machine gets
start=$(date +%s)
{
    echo '$ advcompare run --device cuda --out reports/example-gpu'
    timeout 210 $py -m advcompare run --device cuda --out reports/example-gpu 2>&1
    rc=$?
    s=$(($(date +%s) - start))
    echo "# wall time $((s / 60)) min $((s % 60)) s ($(date +%F), commit ${COMMIT:-unknown}, $gpu, $(nproc) CPU cores, one run)"
    [ "$rc" -eq 0 ] || echo "# exit status $rc"
} >"$logs/run.log"
cp "$logs/run.log" reports/example-gpu/run.log 2>/dev/null

# 2. every backend on CUDA: the adapter contract per backend x attack, and the pipeline
per_test=""
$py -c "import pytest_timeout" 2>/dev/null && per_test="--timeout 150"
timeout 330 $py -m pytest -m gpu -p no:cacheprovider -q -rs --durations 12 $per_test \
    tests/test_models_train.py \
    tests/test_adapters.py tests/test_end_to_end.py >"$logs/pytest_gpu.log" 2>&1
echo "# pytest exit status $?" >>"$logs/pytest_gpu.log"

# 3. the same seed gives the same figures on the GPU: the default run again, from a fresh
# weights cache into another directory, compared cell by cell with the first
ADVCOMPARE_CACHE=/tmp/gpu-check-cache timeout 150 $py -m advcompare run --device cuda --quiet \
    --out /tmp/gpu-check-again >"$logs/reproduce.txt" 2>&1
$py - >>"$logs/reproduce.txt" 2>&1 <<'PY'
import pandas as pd

cols = ["label", "backend", "clean_f1", "adv_f1", "success_rate", "l2_median", "linf_median"]
first = pd.read_csv("reports/example-gpu/results.csv")
again = pd.read_csv("/tmp/gpu-check-again/results.csv")
cols = [c for c in cols if c in first.columns]
same = first[cols].equals(again[cols])
print(first[cols].to_string(index=False))
print("a second run from a fresh cache:", "the same figures" if same else "DIFFERENT figures")
if not same:
    print(again[cols].to_string(index=False))
PY
