// The frontend kernels (kernels_impl.inl) compiled for the avx512 instruction set.
#include <cstddef>

#include "frontend/kernels.h"
#include "frontend/db_math.h"
#include "frontend/mask_math.h"

#if defined(TF_X86)
#include <immintrin.h>

namespace tf::frontend {
namespace isa_avx512 {
#include "frontend/kernels_impl.inl"
}  // namespace isa_avx512

const Kernels& kernels_avx512() {
  static const Kernels k{"avx512", &isa_avx512::rfft_impl, &isa_avx512::median_impl,
                         &isa_avx512::softmask2_impl, &isa_avx512::max_impl,
                         &isa_avx512::db_impl, &isa_avx512::log_impl,
                         &isa_avx512::magnitude_impl, &isa_avx512::power_masked2_impl,
                         &isa_avx512::axpy_impl, &isa_avx512::to_lanes_impl,
                         &isa_avx512::from_lanes_impl, &isa_avx512::rfft_magnitude_impl,
                         &isa_avx512::masked_mel2_impl,
                         &isa_avx512::median_range_impl,
                         &isa_avx512::frames_window_impl,
                         &isa_avx512::power_mel_impl};
  return k;
}

}  // namespace tf::frontend
#endif
