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
# The flags follow CMakeLists.txt's rules for the core: *_avx2 / *_avx512 files on x86 only,
# *_neon files on aarch64 only, TF_X86 / TF_AARCH64, -ffp-contract=off on aarch64 and with
# clang (GCC's NEON files excepted). Objects are cached in build/neon-qemu (or build/native-simd).
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
  SKIP='_(avx2|avx512)\.cpp$'
  RUN=(qemu-aarch64 -L "$SYSROOT")
  REQUIRE=(--require neon)
else
  CXX=${CXX:-c++}
  BUILD=${NATIVE_BUILD_DIR:-$ROOT/build/native-simd}
  case "$(uname -m)" in
    x86_64|amd64) DEFS=(-DTF_X86=1); SKIP='_neon\.cpp$'; REQUIRE=() ;;
    aarch64|arm64) DEFS=(-DTF_AARCH64=1); SKIP='_(avx2|avx512)\.cpp$'; REQUIRE=(--require neon) ;;
    *) DEFS=(); SKIP='_(avx2|avx512|neon)\.cpp$'; REQUIRE=() ;;
  esac
  RUN=()
fi
mkdir -p "$BUILD"
BASE=(-std=gnu++17 -O2 -fno-math-errno -Wall -Wextra -Wno-unused-parameter -I"$ROOT/csrc" "${DEFS[@]}")
# As CMakeLists.txt: no implicit fused multiply-adds on aarch64 or with clang (TF_EXACT_FP).
if [ "$MODE" = aarch64 ] || [ "$(uname -m)" = aarch64 ] || "$CXX" --version | grep -qi clang; then
  BASE+=(-ffp-contract=off)
fi
"$CXX" --version | head -1

# One object per source (rebuilt when the source or any header is newer than it).
newest_header=$(find "$ROOT/csrc" "$ROOT/tests/native" -name '*.h' -o -name '*.inl' | xargs ls -t | head -1)
srcs=()
for f in "$ROOT"/csrc/common/*.cpp "$ROOT"/csrc/frontend/*.cpp "$ROOT"/csrc/contrastive/*.cpp \
         "$ROOT"/tests/native/simd_agreement.cpp; do
  [[ "$f" =~ $SKIP ]] || srcs+=("$f")
done
compile() {  # src -> obj, with the per-file ISA options of CMakeLists.txt
  local src=$1 obj=$2 extra=()
  case "$src" in
    *_avx2.cpp) extra=(-mavx2 -mfma -mf16c) ;;
    *_avx512.cpp) extra=(-mavx512f -mavx512dq -mavx512bw -mavx512vl -mavx2 -mfma -mf16c) ;;
    *_neon.cpp) "$CXX" --version | grep -qi clang || extra=(-ffp-contract=fast) ;;
  esac
  "$CXX" "${BASE[@]}" "${extra[@]}" -c "$src" -o "$obj"
}

objs=()
todo=()
for f in "${srcs[@]}"; do
  rel=${f#"$ROOT"/}
  obj="$BUILD/${rel//\//_}.o"
  objs+=("$obj")
  if [ ! -f "$obj" ] || [ "$f" -nt "$obj" ] || [ "$newest_header" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
    todo+=("$f" "$obj")
  fi
done
if [ ${#todo[@]} -gt 0 ]; then
  printf '%s\0' "${todo[@]}" | xargs -0 -n 2 -P "$JOBS" bash -c "$(declare -p BASE CXX); $(declare -f compile); compile \"\$0\" \"\$1\""
fi
LINK=()
[ "$MODE" = aarch64 ] && LINK=(-static-libstdc++ -static-libgcc)
"$CXX" "${objs[@]}" -o "$BUILD/simd_agreement" -pthread "${LINK[@]}"
built=$(date +%s)
echo "test_neon_qemu.sh: built ($MODE) in $((built - start)) s"
status=0
"${RUN[@]}" "$BUILD/simd_agreement" "${REQUIRE[@]}" || status=$?
echo "test_neon_qemu.sh: ran in $(( $(date +%s) - built )) s"
[ "$status" -eq 0 ] || { echo "test_neon_qemu.sh: FAILED" >&2; exit "$status"; }
echo "test_neon_qemu.sh: passed ($MODE) in $(( $(date +%s) - start )) s"
