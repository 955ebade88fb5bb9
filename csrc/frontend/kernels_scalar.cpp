// The frontend kernels (kernels_impl.inl) compiled for the scalar instruction set.
#include <cstddef>

#include "frontend/kernels.h"
#include "frontend/db_math.h"
#include "frontend/mask_math.h"


namespace tf::frontend {
namespace isa_scalar {
#include "frontend/kernels_impl.inl"
}  // namespace isa_scalar

const Kernels& kernels_scalar() {
  static const Kernels k{"scalar", &isa_scalar::rfft_impl, &isa_scalar::median_impl,
                         &isa_scalar::softmask2_impl, &isa_scalar::max_impl,
                         &isa_scalar::db_impl, &isa_scalar::log_impl,
                         &isa_scalar::magnitude_impl, &isa_scalar::power_masked2_impl,
                         &isa_scalar::axpy_impl, &isa_scalar::to_lanes_impl,
                         &isa_scalar::from_lanes_impl, &isa_scalar::rfft_magnitude_impl,
                         &isa_scalar::masked_mel2_impl,
                         &isa_scalar::median_range_impl,
                         &isa_scalar::frames_window_impl,
                         &isa_scalar::power_mel_impl};
  return k;
}

}  // namespace tf::frontend

