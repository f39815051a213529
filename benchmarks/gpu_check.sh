#!/usr/bin/env bash
# The GPU checks of the CuPy backend, for a machine with CUDA, CuPy and the core packages
# (no install needed: the package is run from this checkout).  Writes to ${OUT:-gpu-results}/:
#   env.txt            GPU, driver, library versions
#   pytest-cupy.txt    tests/test_cupy.py (every catalogue activation on the GPU against the NumPy
#                      backend, every float16, limits, shapes, devices) and tests/test_nvrtc.py
#   bench-1e6.*        the paper's experiment (10^6 float32 from N(0, 1)): numpy and cupy
#                      backends, naive NumPy, PyTorch/JAX on CPU and GPU where installed
#   bench-1e8.*        the same on the GPU alone at 10^8 elements (a copy then runs at memory speed)
#   pytest-export-cuda.txt, bench-export-1e7.txt   the PyTorch/JAX exports on the GPU (issue 17)
# Usage: bash benchmarks/gpu_check.sh   (PYTHON=python3.12 to choose the interpreter)
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-gpu-results}"
mkdir -p "$out"
py="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
status=0

{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
  "$py" -c "import sys, numpy, scipy, sympy, cupy; print(sys.version.split()[0], 'numpy', numpy.__version__, \
'scipy', scipy.__version__, 'sympy', sympy.__version__, 'cupy', cupy.__version__, 'CUDA runtime', \
cupy.cuda.runtime.runtimeGetVersion())"
  echo "cpus: $(nproc)"; gcc --version 2>/dev/null | head -1; } 2>&1 | tee "$out/env.txt"

# -W default: warnings from that machine's library versions are listed, not turned into errors
"$py" -m pytest tests/test_cupy.py tests/test_nvrtc.py -n "${WORKERS:-8}" -W default 2>&1 | tee "$out/pytest-cupy.txt" || status=1

bench() {  # name, then benchmark() keyword arguments
  local name="$1"; shift
  "$py" - "$out/$name" "$@" <<'PY' 2>&1 | tee "$out/$name.txt" || status=1
import ast, json, sys
from activation_lab.analysis.benchmark import benchmark
kwargs = {k: ast.literal_eval(v) for k, v in (a.split("=", 1) for a in sys.argv[2:])}
result = benchmark(**kwargs)
print(result)
with open(sys.argv[1] + ".json", "w") as f:
    json.dump(result.to_dict(), f, indent=1)
PY
}
bench bench-1e6 n=1_000_000 backends="('numpy','cupy')" repeat=30
bench bench-1e8 n=100_000_000 backends="('cupy',)" repeat=20

# issue 17 on CUDA: the exports on GPU tensors (where torch/jax with CUDA are installed), and their
# forward plus backward timed against the frameworks' built-ins and naive autograd, CPU and GPU rows
"$py" -m pytest tests/test_export_torch.py tests/test_export_jax.py -k "cuda or gpu" -W default 2>&1 \
  | tee "$out/pytest-export-cuda.txt" || status=1
"$py" -m activation_lab bench telu gelu mish --backend torch,jax --n 10000000 --repeat 7 2>&1 \
  | tee "$out/bench-export-1e7.txt" || status=1
exit $status
