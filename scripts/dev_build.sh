#!/usr/bin/env bash
# Incremental development build without pip: configures once into build/dev and
# rebuilds only what changed; the extensions land in python/timbrefast/ so that
#   PYTHONPATH=python python -m pytest tests
# runs against the working tree. Needs: pip install pybind11 ninja (and cmake).
# Pass TIMBREFAST_CUDA=OFF to skip the CUDA module.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD_DIR:-build/dev}
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DPython_EXECUTABLE="$(command -v python3)" \
    -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" \
    -DTIMBREFAST_CUDA="${TIMBREFAST_CUDA:-AUTO}"
fi
cmake --build "$BUILD" "$@"
