#include "contrastive/kernels.h"

#include "common/cpu_features.h"
#include "contrastive/kernels_portable.h"

namespace tf::contrastive {

namespace {
const Kernels<float> kF32Portable{4, 16, &portable::micro<float, 4, 16>, &portable::row_max<float>,
                                  &portable::exp_sub_sum<float>, &portable::exp_sub_vec<float>, nullptr};
const Kernels<double> kF64Portable{4, 8, &portable::micro<double, 4, 8>, &portable::row_max<double>,
                                   &portable::exp_sub_sum<double>, &portable::exp_sub_vec<double>, nullptr};
}  // namespace

const Kernels<float>& kernels_f32() {
#if defined(TF_X86)
  switch (cpu::simd_level()) {
    case cpu::Simd::Avx512: return *kernels_f32_avx512();
    case cpu::Simd::Avx2: return *kernels_f32_avx2();
    default: break;
  }
#endif
#if defined(TF_AARCH64)
  if (cpu::simd_level() == cpu::Simd::Neon) return *kernels_f32_neon();
#endif
  return kF32Portable;
}

const Kernels<double>& kernels_f64() { return kF64Portable; }

}  // namespace tf::contrastive
