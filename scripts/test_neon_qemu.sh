#!/usr/bin/env bash
# The NEON path of the C++ core, tested without ARM hardware: cross-compiles the core and
# the standalone agreement test (tests/native/simd_agreement.cpp: every SIMD level against
# the scalar one, with the tolerances of the Python tests of the x86 levels) for aarch64
# with g++-aarch64-linux-gnu, and runs it under user-mode emulation (qemu-aarch64). Exit
# status non-zero on any disagreement.
#
#   scripts/test_neon_qemu.sh            # aarch64 under qemu (installs the tools if missing)
#   scripts/test_neon_qemu.sh --native   # the same harness built for this machine (on x86:
#                                        # scalar, AVX2, AVX-512), a control for the harness
#
# Installs qemu-user and g++-aarch64-linux-gnu with apt-get when missing (root or sudo).
# The core is built by CMakeLists.txt itself (target timbrefast_cpu; a cross build for
# aarch64), incrementally in build/neon-qemu (or build/native-simd). Needs CMake >= 3.21 and
# pybind11 for the configure step (installed with pip when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=aarch64
[ "${1:-}" = "--native" ] && MODE=native
start=$(date +%s)
JOBS=$(nproc 2>/dev/null || echo 2)

if [ "$MODE" = aarch64 ]; then
  CXX=${AARCH64_CXX:-aarch64-linux-gnu-g++}
  SYSROOT=${AARCH64_SYSROOT:-/usr/aarch64-linux-gnu}
  need=()
  command -v "$CXX" >/dev/null || need+=(g++-aarch64-linux-gnu)
  command -v qemu-aarch64 >/dev/null || need+=(qemu-user)
  if [ ${#need[@]} -gt 0 ]; then
    command -v apt-get >/dev/null || { echo "test_neon_qemu.sh: please install ${need[*]}" >&2; exit 1; }
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "test_neon_qemu.sh: installing ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
  BUILD=${NEON_BUILD_DIR:-$ROOT/build/neon-qemu}
  DEFS=(-DTF_AARCH64=1)
  RUN=(qemu-aarch64 -L "$SYSROOT")
  REQUIRE=(--require neon)
else
  CXX=${CXX:-c++}
  BUILD=${NATIVE_BUILD_DIR:-$ROOT/build/native-simd}
  case "$(uname -m)" in
    x86_64|amd64) DEFS=(-DTF_X86=1); REQUIRE=() ;;
    aarch64|arm64) DEFS=(-DTF_AARCH64=1); REQUIRE=(--require neon) ;;
    *) DEFS=(); REQUIRE=() ;;
  esac
  RUN=()
fi
mkdir -p "$BUILD"
python3 -c "import pybind11" 2>/dev/null || python3 -m pip install -q "pybind11>=2.12"
command -v cmake >/dev/null || python3 -m pip install -q "cmake>=3.21"
GEN=()
command -v ninja >/dev/null && GEN=(-G Ninja)
"$CXX" --version | head -1

# The core library (target timbrefast_cpu) with CMakeLists.txt's own rules: which ISA files
# go in, TF_X86 / TF_AARCH64, the per-file flags. (Python is only found, not used, by it:
# the host's headers satisfy the configure step of the cross build.)
CROSS=()
[ "$MODE" = aarch64 ] && CROSS=(-DCMAKE_SYSTEM_NAME=Linux -DCMAKE_SYSTEM_PROCESSOR=aarch64)
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" "${GEN[@]}" "${CROSS[@]}" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_COMPILER="$CXX" \
    -DPython_EXECUTABLE="$(command -v python3)" \
    -DPython_INCLUDE_DIR="$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["include"])')" \
    -Dpybind11_DIR="$(python3 -m pybind11 --cmakedir)" -DTIMBREFAST_CUDA=OFF \
    -DTIMBREFAST_MODULE_DIR="$BUILD/unused" >"$BUILD/configure.log" 2>&1 ||
    { cat "$BUILD/configure.log" >&2; exit 1; }
fi
cmake --build "$BUILD" --target timbrefast_cpu --parallel "$JOBS" >"$BUILD/build.log" 2>&1 ||
  { tail -n 60 "$BUILD/build.log" >&2; exit 1; }

# The test program: the header formulas it compares with are compiled here, so it takes the
# core's floating-point contraction rule (CMakeLists.txt's TF_EXACT_FP: off on aarch64 and
# with clang).
FLAGS=(-std=gnu++17 -O2 -fno-math-errno -Wall -Wextra -Wno-unused-parameter -I"$ROOT/csrc" "${DEFS[@]}")
if [ "$MODE" = aarch64 ] || [ "$(uname -m)" = aarch64 ] || "$CXX" --version | grep -qi clang; then
  FLAGS+=(-ffp-contract=off)
fi
LINK=()
[ "$MODE" = aarch64 ] && LINK=(-static-libstdc++ -static-libgcc)
"$CXX" "${FLAGS[@]}" "$ROOT/tests/native/simd_agreement.cpp" "$BUILD/libtimbrefast_cpu.a" \
  -o "$BUILD/simd_agreement" -pthread "${LINK[@]}"
built=$(date +%s)
echo "test_neon_qemu.sh: built ($MODE) in $((built - start)) s"
status=0
"${RUN[@]}" "$BUILD/simd_agreement" "${REQUIRE[@]}" || status=$?
echo "test_neon_qemu.sh: ran in $(( $(date +%s) - built )) s"
[ "$status" -eq 0 ] || { echo "test_neon_qemu.sh: FAILED" >&2; exit "$status"; }
echo "test_neon_qemu.sh: passed ($MODE) in $(( $(date +%s) - start )) s"
