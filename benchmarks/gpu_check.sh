#!/usr/bin/env bash
# xmbench's GPU check, for a CUDA machine (about 5-10 minutes): install the project from its own
# files, run the tests marked for CUDA, then time every trained method for a fixed number of
# updates on CUDA (separate runs, and --ensemble where the method supports it) against the same
# updates on this machine's CPU. Writes one table to $1 (default gpu-check.md) and prints it.
# Without CUDA the tests skip and the table has CPU columns only (how CI-less machines test it).
#   bash benchmarks/gpu_check.sh [TABLE] [UPDATES]
set -euo pipefail
cd "$(dirname "$0")/.."
table="${1:-gpu-check.md}"
updates="${2:-100}"
export PYTHONUNBUFFERED=1

# install from the project's own files; on an offline machine whose Python already has the
# dependencies (torch, scikit-learn, ...), the package alone
if ! python3 -m pip install -q -e ".[test]" 2>/dev/null; then
  echo "gpu_check: could not install the extras (offline?); installing xmbench alone over the present packages"
  python3 -m pip install -q --no-deps --no-build-isolation -e .
fi
python3 -c "import torch; print('torch', torch.__version__, '| CUDA:', torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'not available')"

# the tests that need CUDA (they skip without it)
python3 -m pytest -q -m cuda tests/ -p no:cacheprovider

# per method: fixed updates on CPU and CUDA, with and without --ensemble
python3 benchmarks/gpu_timings.py --updates "$updates" --out "$table"
cat "$table"
