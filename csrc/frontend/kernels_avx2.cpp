// The frontend kernels (kernels_impl.inl) compiled for the avx2 instruction set.
#include <cstddef>

#include "frontend/kernels.h"
#include "frontend/db_math.h"
#include "frontend/mask_math.h"

#if defined(TF_X86)
#include <immintrin.h>

namespace tf::frontend {
namespace isa_avx2 {
#include "frontend/kernels_impl.inl"
}  // namespace isa_avx2

const Kernels& kernels_avx2() {
  static const Kernels k{"avx2", &isa_avx2::rfft_impl, &isa_avx2::median_impl,
                         &isa_avx2::softmask2_impl, &isa_avx2::max_impl,
                         &isa_avx2::db_impl, &isa_avx2::log_impl,
                         &isa_avx2::magnitude_impl, &isa_avx2::power_masked2_impl,
                         &isa_avx2::axpy_impl, &isa_avx2::to_lanes_impl,
                         &isa_avx2::from_lanes_impl, &isa_avx2::rfft_magnitude_impl,
                         &isa_avx2::masked_mel2_impl,
                         &isa_avx2::median_range_impl,
                         &isa_avx2::frames_window_impl,
                         &isa_avx2::power_mel_impl};
  return k;
}

}  // namespace tf::frontend
#endif
