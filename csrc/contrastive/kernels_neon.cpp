// aarch64 Advanced SIMD inner kernels (NEON is the aarch64 baseline: no extra flags; CMake
// compiles this file for aarch64 targets only, chosen at run time as the "neon" level).
#include "contrastive/gemm.h"
#include "contrastive/kernels.h"

#if defined(TF_AARCH64)
#include <arm_neon.h>

#include <cmath>

namespace tf::contrastive {
namespace {

// 12 x 8 micro-tile: 24 q-register accumulators + 2 B vectors + 3 A vectors of the 32
// registers; each A value is used through the lane form of fmla (no broadcasts). NR must
// divide the packed depth (info_nce.cpp streams column tiles of kGemmKC = 256 columns and
// uses them as depth blocks of a pre-packed B).
constexpr int MR = 12;
constexpr int NR = 8;
static_assert(kGemmKC % NR == 0, "column tiles of the InfoNCE are whole slivers");

void micro(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
           bool accumulate) {
#define TF_NEON_ROW(I) float32x4_t r##I##0 = vdupq_n_f32(0.0f), r##I##1 = r##I##0;
  TF_NEON_ROW(0) TF_NEON_ROW(1) TF_NEON_ROW(2) TF_NEON_ROW(3) TF_NEON_ROW(4) TF_NEON_ROW(5)
  TF_NEON_ROW(6) TF_NEON_ROW(7) TF_NEON_ROW(8) TF_NEON_ROW(9) TF_NEON_ROW(10) TF_NEON_ROW(11)
#undef TF_NEON_ROW
#define TF_NEON_FMA(I, A, L)                      \
  r##I##0 = vfmaq_laneq_f32(r##I##0, b0, A, L);   \
  r##I##1 = vfmaq_laneq_f32(r##I##1, b1, A, L);
#define TF_NEON_STEP(K)                                      \
  {                                                          \
    const float32x4_t b0 = vld1q_f32(b + (K) * NR);          \
    const float32x4_t b1 = vld1q_f32(b + (K) * NR + 4);      \
    const float32x4_t a0 = vld1q_f32(a + (K) * MR);          \
    const float32x4_t a1 = vld1q_f32(a + (K) * MR + 4);      \
    const float32x4_t a2 = vld1q_f32(a + (K) * MR + 8);      \
    TF_NEON_FMA(0, a0, 0) TF_NEON_FMA(1, a0, 1) TF_NEON_FMA(2, a0, 2) TF_NEON_FMA(3, a0, 3) \
    TF_NEON_FMA(4, a1, 0) TF_NEON_FMA(5, a1, 1) TF_NEON_FMA(6, a1, 2) TF_NEON_FMA(7, a1, 3) \
    TF_NEON_FMA(8, a2, 0) TF_NEON_FMA(9, a2, 1) TF_NEON_FMA(10, a2, 2) TF_NEON_FMA(11, a2, 3) \
  }
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    __builtin_prefetch(a + 16 * MR);
    TF_NEON_STEP(0)
    TF_NEON_STEP(1)
    TF_NEON_STEP(2)
    TF_NEON_STEP(3)
    a += 4 * MR;
    b += 4 * NR;
  }
  for (; k < kc; ++k) {
    TF_NEON_STEP(0)
    a += MR;
    b += NR;
  }
#undef TF_NEON_STEP
#undef TF_NEON_FMA
  if (m == MR && n == NR) {
#define TF_NEON_STORE(I)                                                        \
  {                                                                             \
    float* ci = c + (I) * ldc;                                                  \
    if (accumulate) {                                                           \
      vst1q_f32(ci, vaddq_f32(vld1q_f32(ci), r##I##0));                         \
      vst1q_f32(ci + 4, vaddq_f32(vld1q_f32(ci + 4), r##I##1));                 \
    } else {                                                                    \
      vst1q_f32(ci, r##I##0);                                                   \
      vst1q_f32(ci + 4, r##I##1);                                               \
    }                                                                           \
  }
    TF_NEON_STORE(0) TF_NEON_STORE(1) TF_NEON_STORE(2) TF_NEON_STORE(3) TF_NEON_STORE(4) TF_NEON_STORE(5)
    TF_NEON_STORE(6) TF_NEON_STORE(7) TF_NEON_STORE(8) TF_NEON_STORE(9) TF_NEON_STORE(10) TF_NEON_STORE(11)
#undef TF_NEON_STORE
    return;
  }
  // Edge tile: through a buffer (compile-time register indices only, see kernels_avx2.cpp).
  float tmp[MR][NR];
#define TF_NEON_SPILL(I)              \
  vst1q_f32(tmp[I], r##I##0);         \
  vst1q_f32(tmp[I] + 4, r##I##1);
  TF_NEON_SPILL(0) TF_NEON_SPILL(1) TF_NEON_SPILL(2) TF_NEON_SPILL(3) TF_NEON_SPILL(4) TF_NEON_SPILL(5)
  TF_NEON_SPILL(6) TF_NEON_SPILL(7) TF_NEON_SPILL(8) TF_NEON_SPILL(9) TF_NEON_SPILL(10) TF_NEON_SPILL(11)
#undef TF_NEON_SPILL
  for (int i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (accumulate)
      for (int j = 0; j < n; ++j) ci[j] += tmp[i][j];
    else
      for (int j = 0; j < n; ++j) ci[j] = tmp[i][j];
  }
}

// exp(x) to about 1 ulp, the Cephes expf polynomial of kernels_avx2.cpp's exp8: 0 below
// -87.3, +inf above log(FLT_MAX).
inline float32x4_t exp4(float32x4_t x) {
  const uint32x4_t under = vcltq_f32(x, vdupq_n_f32(-87.3f));
  const uint32x4_t over = vcgtq_f32(x, vdupq_n_f32(88.72283f));
  x = vmaxq_f32(x, vdupq_n_f32(-87.3f));
  x = vminq_f32(x, vdupq_n_f32(88.72283f));
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693359375f));
  r = vfmsq_f32(r, n, vdupq_n_f32(-2.12194440e-4f));
  float32x4_t p = vdupq_n_f32(1.9875691500E-4f);
  p = vfmaq_f32(vdupq_n_f32(1.3981999507E-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(8.3334519073E-3f), p, r);
  p = vfmaq_f32(vdupq_n_f32(4.1665795894E-2f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.6666665459E-1f), p, r);
  p = vfmaq_f32(vdupq_n_f32(5.0000001201E-1f), p, r);
  p = vfmaq_f32(vaddq_f32(r, vdupq_n_f32(1.0f)), p, vmulq_f32(r, r));
  // 2^n as 2^h * 2^(n - h), h = n >> 1, both factors normal floats for n in [-126, 128].
  const int32x4_t ni = vcvtq_s32_f32(n);
  const int32x4_t h = vshrq_n_s32(ni, 1);
  const int32x4_t e1 = vshlq_n_s32(vaddq_s32(h, vdupq_n_s32(127)), 23);
  const int32x4_t e2 = vshlq_n_s32(vaddq_s32(vsubq_s32(ni, h), vdupq_n_s32(127)), 23);
  float32x4_t y = vmulq_f32(vmulq_f32(p, vreinterpretq_f32_s32(e1)), vreinterpretq_f32_s32(e2));
  y = vreinterpretq_f32_u32(vbicq_u32(vreinterpretq_u32_f32(y), under));
  return vbslq_f32(over, vdupq_n_f32(INFINITY), y);
}

float row_max(const float* x, int64_t n) {
  float32x4_t m0 = vdupq_n_f32(-INFINITY), m1 = m0;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    m0 = vmaxq_f32(m0, vld1q_f32(x + j));
    m1 = vmaxq_f32(m1, vld1q_f32(x + j + 4));
  }
  float r = vmaxvq_f32(vmaxq_f32(m0, m1));
  for (; j < n; ++j) r = x[j] > r ? x[j] : r;
  return r;
}

float exp_sub_sum(const float* x, float c, int64_t n, float* out) {
  const float32x4_t vc = vdupq_n_f32(c);
  float32x4_t s0 = vdupq_n_f32(0.0f), s1 = s0;
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const float32x4_t e0 = exp4(vsubq_f32(vld1q_f32(x + j), vc));
    const float32x4_t e1 = exp4(vsubq_f32(vld1q_f32(x + j + 4), vc));
    vst1q_f32(out + j, e0);
    vst1q_f32(out + j + 4, e1);
    s0 = vaddq_f32(s0, e0);
    s1 = vaddq_f32(s1, e1);
  }
  for (; j + 4 <= n; j += 4) {
    const float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + j), vc));
    vst1q_f32(out + j, e);
    s0 = vaddq_f32(s0, e);
  }
  float t = vaddvq_f32(vaddq_f32(s0, s1));
  for (; j < n; ++j) {
    out[j] = std::exp(x[j] - c);
    t += out[j];
  }
  return t;
}

void exp_sub_vec(const float* x, const float* c, int64_t n, float* out) {
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) vst1q_f32(out + j, exp4(vsubq_f32(vld1q_f32(x + j), vld1q_f32(c + j))));
  for (; j < n; ++j) out[j] = std::exp(x[j] - c[j]);
}

// Row-major A into 12-row slivers: three 4 x 4 transposes (rows 0-3, 4-7, 8-11) per 4 depths.
inline void transpose4(float32x4_t r0, float32x4_t r1, float32x4_t r2, float32x4_t r3, float32x4_t out[4]) {
  const float32x4x2_t t01 = vtrnq_f32(r0, r1);  // (r0[0] r1[0] r0[2] r1[2]), (r0[1] r1[1] r0[3] r1[3])
  const float32x4x2_t t23 = vtrnq_f32(r2, r3);
  out[0] = vcombine_f32(vget_low_f32(t01.val[0]), vget_low_f32(t23.val[0]));
  out[1] = vcombine_f32(vget_low_f32(t01.val[1]), vget_low_f32(t23.val[1]));
  out[2] = vcombine_f32(vget_high_f32(t01.val[0]), vget_high_f32(t23.val[0]));
  out[3] = vcombine_f32(vget_high_f32(t01.val[1]), vget_high_f32(t23.val[1]));
}

void pack_a_rows(int64_t mc, int64_t kc, const float* a, int64_t rs, float* out) {
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int m = static_cast<int>(mc - i0 < MR ? mc - i0 : MR);
    const float* src[MR];
    for (int r = 0; r < MR; ++r) src[r] = a + (i0 + (r < m ? r : 0)) * rs;
    int64_t k = 0;
    if (m == MR) {
      for (; k + 4 <= kc; k += 4) {
        float32x4_t t[3][4];
        for (int g = 0; g < 3; ++g)
          transpose4(vld1q_f32(src[4 * g] + k), vld1q_f32(src[4 * g + 1] + k), vld1q_f32(src[4 * g + 2] + k),
                     vld1q_f32(src[4 * g + 3] + k), t[g]);
        float* o = out + k * MR;
        for (int q = 0; q < 4; ++q)
          for (int g = 0; g < 3; ++g) vst1q_f32(o + q * MR + 4 * g, t[g][q]);
      }
    }
    for (; k < kc; ++k) {
      float* o = out + k * MR;
      for (int r = 0; r < m; ++r) o[r] = src[r][k];
      for (int r = m; r < MR; ++r) o[r] = 0.0f;
    }
    out += kc * MR;
  }
}

const Kernels<float> kNeon{MR, NR, &micro, &row_max, &exp_sub_sum, &exp_sub_vec, &pack_a_rows};

}  // namespace

const Kernels<float>* kernels_f32_neon() { return &kNeon; }

}  // namespace tf::contrastive
#endif  // TF_AARCH64
