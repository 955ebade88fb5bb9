#!/usr/bin/env bash
# The clang build (the compiler of macOS wheels): builds the CPU core with clang++
# (CUDA off) into its own build folder, puts it into a copy of the package there (the
# working tree's python/timbrefast is left alone) and runs the core's kernel, frontend and
# loss tests against it. Warnings are errors (-Werror): the C++ is meant to have no GCC-only
# constructs, which clang reports as warnings.
#
#   scripts/clang_build_test.sh                 # the default test selection
#   scripts/clang_build_test.sh tests/test_X.py # other tests
#
# Installs clang with apt-get when missing (root or sudo); needs CMake >= 3.21 and pybind11
# (installed with pip when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${CLANG_BUILD_DIR:-$ROOT/build/clang}
PKG=$BUILD/pkg
start=$(date +%s)

CXX_BIN=${CLANG_CXX:-clang++}
if ! command -v "$CXX_BIN" >/dev/null; then
  command -v apt-get >/dev/null || { echo "clang_build_test.sh: please install clang" >&2; exit 1; }
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "clang_build_test.sh: installing clang"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends clang >/dev/null
fi
python3 -c "import pybind11" 2>/dev/null || python3 -m pip install -q "pybind11>=2.12"
command -v cmake >/dev/null || python3 -m pip install -q "cmake>=3.21"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)

rm -rf "$PKG"
python3 - "$ROOT/python/timbrefast" "$PKG/timbrefast" <<'PY'
import shutil, sys
shutil.copytree(sys.argv[1], sys.argv[2],
                ignore=shutil.ignore_patterns("_core*.so", "_cuda*.so", "*.pyd", "__pycache__"))
PY

"$CXX_BIN" --version | head -1
CXX="$CXX_BIN" cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX_BIN" \
  -DPython_EXECUTABLE="$(command -v python3)" -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" \
  -DTIMBREFAST_CUDA=OFF -DTIMBREFAST_MODULE_DIR="$PKG/timbrefast" -DCMAKE_CXX_FLAGS=-Werror >/dev/null
cmake --build "$BUILD" --parallel "$(nproc 2>/dev/null || echo 2)" >"$BUILD/build.log" 2>&1 ||
  { tail -n 60 "$BUILD/build.log" >&2; echo "clang_build_test.sh: the clang build failed" >&2; exit 1; }
ls "$PKG"/timbrefast/_core*.so >/dev/null
echo "clang_build_test.sh: core built with clang in $(( $(date +%s) - start )) s"

if [ $# -eq 0 ]; then
  set -- tests/test_frontend_math.py tests/test_contrastive_math.py tests/test_frontends_median.py \
    tests/test_frontends.py tests/test_losses.py tests/test_package.py
fi
export PYTHONPATH="$PKG${PYTHONPATH:+:$PYTHONPATH}"
python3 -c "import timbrefast, sys; assert timbrefast.__file__.startswith(sys.argv[1]), timbrefast.__file__" "$PKG"
python3 -m pytest "$@" -m "not slow and not gpu" -q -p no:cacheprovider
echo "clang_build_test.sh: passed in $(( $(date +%s) - start )) s"
