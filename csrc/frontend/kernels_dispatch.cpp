// Run-time choice of the frontend kernels.
#include "common/cpu_features.h"
#include "frontend/kernels.h"

namespace tf::frontend {

const Kernels& kernels() {
#if defined(TF_X86)
  switch (tf::cpu::simd_level()) {
    case tf::cpu::Simd::Avx512:
      return kernels_avx512();
    case tf::cpu::Simd::Avx2:
      return kernels_avx2();
    default:
      break;
  }
#endif
#if defined(TF_AARCH64)
  if (tf::cpu::simd_level() == tf::cpu::Simd::Neon) return kernels_neon();
#endif
  return kernels_scalar();
}

}  // namespace tf::frontend
