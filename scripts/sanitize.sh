#!/usr/bin/env bash
# The sanitizer job (docs/reliability.md): builds the CPU core with
# -fsanitize=address,undefined (CUDA off) in its own build folder, puts it into a copy of
# the package there (the working tree's python/timbrefast is left alone) and runs the
# frontend, loss and fork/exit/thread tests against it with the ASan runtime preloaded into
# Python. Any sanitizer report fails the run.
#
#   scripts/sanitize.sh                 # the default test selection
#   scripts/sanitize.sh tests/test_X.py # other tests
#
# Needs a C++ compiler with libasan/libubsan (GCC or Clang), CMake >= 3.21 and pybind11
# (installed with pip when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${SANITIZE_BUILD_DIR:-$ROOT/build/sanitize}
PKG=$BUILD/pkg
CXX=${CXX:-c++}
start=$(date +%s)

python3 -c "import pybind11" 2>/dev/null || python3 -m pip install -q "pybind11>=2.12"
command -v cmake >/dev/null || python3 -m pip install -q "cmake>=3.21"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)

# A copy of the Python package without its compiled modules; the build adds _core.
rm -rf "$PKG"
python3 - "$ROOT/python/timbrefast" "$PKG/timbrefast" <<'PY'
import shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2],
                ignore=shutil.ignore_patterns("_core*.so", "_cuda*.so", "*.pyd", "__pycache__"))
PY

cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER="$CXX" \
  -DPython_EXECUTABLE="$(command -v python3)" -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" \
  -DTIMBREFAST_CUDA=OFF -DTIMBREFAST_SANITIZE=address,undefined -DTIMBREFAST_MODULE_DIR="$PKG/timbrefast" >/dev/null
cmake --build "$BUILD" --parallel "$(nproc 2>/dev/null || echo 2)" >/dev/null
ls "$PKG"/timbrefast/_core*.so >/dev/null

LIBASAN=$("$CXX" -print-file-name=libasan.so)
[ -f "$LIBASAN" ] || { echo "sanitize.sh: libasan.so not found for $CXX" >&2; exit 1; }
# python3 itself does not load the C++ runtime: preload it too, so that ASan finds the real
# __cxa_throw when it starts (C++ exceptions cross the bindings).
LIBSTDCXX=$("$CXX" -print-file-name=libstdc++.so.6)
[ -f "$LIBSTDCXX" ] || LIBSTDCXX=$("$CXX" -print-file-name=libstdc++.so)
REPORTS=$BUILD/reports
rm -rf "$REPORTS" && mkdir -p "$REPORTS"

if [ $# -eq 0 ]; then
  set -- tests/test_frontends.py tests/test_frontend_math.py tests/test_frontends_median.py \
    tests/test_losses.py tests/test_contrastive_math.py tests/test_reliability.py
fi
# detect_leaks=0: CPython keeps its own allocations until exit. The ASan runtime must come
# first, hence LD_PRELOAD; the child processes of the reliability tests inherit all of it.
# Reports go to files (pytest captures stderr) and are printed below.
export LD_PRELOAD="$LIBASAN $LIBSTDCXX${LD_PRELOAD:+ $LD_PRELOAD}"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:print_stacktrace=1:allocator_may_return_null=1:log_path=$REPORTS/asan${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$REPORTS/ubsan${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export PYTHONPATH="$PKG${PYTHONPATH:+:$PYTHONPATH}"
export TIMBREFAST_SANITIZED=1
python3 -c "import timbrefast, sys; assert timbrefast.__file__.startswith(sys.argv[1]), timbrefast.__file__" "$PKG"
echo "sanitize.sh: core built in $(( $(date +%s) - start )) s"
status=0
python3 -m pytest "$@" -m "not slow" -q -p no:cacheprovider || status=$?
if compgen -G "$REPORTS/*" >/dev/null; then
  echo "sanitize.sh: sanitizer reports:" >&2
  for f in "$REPORTS"/*; do echo "== $f" >&2; head -c 20000 "$f" >&2; done
  status=1
fi
[ "$status" -eq 0 ] || { echo "sanitize.sh: FAILED" >&2; exit "$status"; }
echo "sanitize.sh: passed in $(( $(date +%s) - start )) s"
