// The frontend kernels (kernels_impl.inl) on aarch64 Advanced SIMD, with the vector layer
// written in arm_neon.h intrinsics: a 16-lane value is four q registers, loaded and stored
// with one multi-register ld1/st1, selects are bsl. NEON is the aarch64 baseline, so this
// file needs no extra flags; CMake compiles it for aarch64 targets only.
#include <cstddef>

#include "frontend/kernels.h"
#include "frontend/db_math.h"
#include "frontend/mask_math.h"

#if defined(TF_AARCH64)
#include <arm_neon.h>

namespace tf::frontend {
namespace isa_neon {

// The element-wise code of kernels_impl.inl (ln_positive_v) works on the GCC/Clang
// vector types; both compilers treat them as the same types as float32x4_t / int32x4_t.
#define TF_VBYTES 16
typedef float nf __attribute__((vector_size(16)));
typedef int ni __attribute__((vector_size(16)));
constexpr int kParts = 4;
constexpr int kPartLanes = 4;

struct vf {
  float32x4_t p[kParts];
};
struct vm {
  uint32x4_t p[kParts];
};

static inline vf load(const float* x) {
  const float32x4x4_t q = vld1q_f32_x4(x);
  return vf{{q.val[0], q.val[1], q.val[2], q.val[3]}};
}
static inline void store(float* x, const vf& v) {
  float32x4x4_t q;
  q.val[0] = v.p[0];
  q.val[1] = v.p[1];
  q.val[2] = v.p[2];
  q.val[3] = v.p[3];
  vst1q_f32_x4(x, q);
}
static inline vf splat(float x) {
  const float32x4_t s = vdupq_n_f32(x);
  return vf{{s, s, s, s}};
}

#define TF_NEON_BINARY(NAME, INTR)                                      \
  static inline vf NAME(const vf& a, const vf& b) {                     \
    return vf{{INTR(a.p[0], b.p[0]), INTR(a.p[1], b.p[1]), INTR(a.p[2], b.p[2]), INTR(a.p[3], b.p[3])}}; \
  }
#define TF_NEON_COMPARE(NAME, INTR)                                     \
  static inline vm NAME(const vf& a, const vf& b) {                     \
    return vm{{INTR(a.p[0], b.p[0]), INTR(a.p[1], b.p[1]), INTR(a.p[2], b.p[2]), INTR(a.p[3], b.p[3])}}; \
  }
TF_NEON_BINARY(operator+, vaddq_f32)
TF_NEON_BINARY(operator-, vsubq_f32)
TF_NEON_BINARY(operator*, vmulq_f32)
TF_NEON_BINARY(operator/, vdivq_f32)
TF_NEON_COMPARE(operator<, vcltq_f32)
TF_NEON_COMPARE(operator<=, vcleq_f32)
TF_NEON_COMPARE(operator>, vcgtq_f32)
#undef TF_NEON_BINARY
#undef TF_NEON_COMPARE

static inline vf operator-(const vf& a) { return vf{{vnegq_f32(a.p[0]), vnegq_f32(a.p[1]), vnegq_f32(a.p[2]), vnegq_f32(a.p[3])}}; }
// m ? a : b, lane by lane.
static inline vf select(const vm& m, const vf& a, const vf& b) {
  vf r;
  for (int i = 0; i < kParts; ++i) r.p[i] = vbslq_f32(m.p[i], a.p[i], b.p[i]);
  return r;
}
// a < b ? a : b (and a > b ? a : b): the scalar forms' NaN behaviour (vminq/vmaxq would
// return NaN for a NaN in either operand; the running median relies on the ordering).
static inline vf vmin(const vf& a, const vf& b) { return select(a < b, a, b); }
static inline vf vmax(const vf& a, const vf& b) { return select(a > b, a, b); }

#define TF_KERNELS_OWN_VF 1
#include "frontend/kernels_impl.inl"
#undef TF_KERNELS_OWN_VF

}  // namespace isa_neon

const Kernels& kernels_neon() {
  static const Kernels k{"neon", &isa_neon::rfft_impl, &isa_neon::median_impl,
                         &isa_neon::softmask2_impl, &isa_neon::max_impl,
                         &isa_neon::db_impl, &isa_neon::log_impl,
                         &isa_neon::magnitude_impl, &isa_neon::power_masked2_impl,
                         &isa_neon::axpy_impl, &isa_neon::to_lanes_impl,
                         &isa_neon::from_lanes_impl, &isa_neon::rfft_magnitude_impl,
                         &isa_neon::masked_mel2_impl,
                         &isa_neon::median_range_impl,
                         &isa_neon::frames_window_impl,
                         &isa_neon::power_mel_impl};
  return k;
}

}  // namespace tf::frontend
#endif  // TF_AARCH64
