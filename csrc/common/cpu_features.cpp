#include "common/cpu_features.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace tf::cpu {
namespace {

Simd detect() {
#if defined(TF_X86) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("fma"))
    return Simd::Avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Simd::Avx2;
#endif
#if defined(TF_AARCH64)
  return Simd::Neon;  // Advanced SIMD is mandatory on aarch64
#endif
  return Simd::Scalar;
}

Simd initial_cap() {
  const char* env = std::getenv("TIMBREFAST_SIMD");
  if (!env || !*env) return Simd::Neon;  // no cap (the highest rank)
  if (!std::strcmp(env, "scalar")) return Simd::Scalar;
  if (!std::strcmp(env, "avx2")) return Simd::Avx2;
  if (!std::strcmp(env, "avx512")) return Simd::Avx512;
  return Simd::Neon;
}

std::atomic<int>& cap_ref() {
  static std::atomic<int> cap{static_cast<int>(initial_cap())};
  return cap;
}

}  // namespace

Simd simd_supported() {
  static const Simd s = detect();
  return s;
}

Simd simd_level() {
  const Simd sup = simd_supported();
  int c = cap_ref().load(std::memory_order_relaxed);
  // aarch64: two levels; any cap but "scalar" leaves NEON on.
  if (sup == Simd::Neon) return c == static_cast<int>(Simd::Scalar) ? Simd::Scalar : Simd::Neon;
  int s = static_cast<int>(sup);
  return static_cast<Simd>(s < c ? s : c);
}

Simd set_simd_cap(Simd cap) {
  cap_ref().store(static_cast<int>(cap));
  return simd_level();
}

const char* simd_name(Simd s) {
  switch (s) {
    case Simd::Avx512: return "avx512";
    case Simd::Avx2: return "avx2";
    case Simd::Neon: return "neon";
    default: return "scalar";
  }
}

}  // namespace tf::cpu
