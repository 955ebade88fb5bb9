// AVX2 + FMA inner kernels (this file alone is compiled with -mavx2 -mfma; chosen at run time).
#include <immintrin.h>

#include <cmath>

#include "contrastive/kernels.h"

namespace tf::contrastive {
namespace {

constexpr int MR = 6;  // 6 x 16 micro-tile: 12 ymm accumulators + 2 B vectors + 1 broadcast
constexpr int NR = 16;

// The 12 accumulators must stay in registers: every access to r[][] below uses a
// compile-time index (a run-time index, e.g. in the edge-tile store, would make GCC
// keep the array on the stack and store it on every k step).
void micro(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
           bool accumulate) {
  __m256 r00 = _mm256_setzero_ps(), r01 = _mm256_setzero_ps(), r10 = _mm256_setzero_ps(),
         r11 = _mm256_setzero_ps(), r20 = _mm256_setzero_ps(), r21 = _mm256_setzero_ps(),
         r30 = _mm256_setzero_ps(), r31 = _mm256_setzero_ps(), r40 = _mm256_setzero_ps(),
         r41 = _mm256_setzero_ps(), r50 = _mm256_setzero_ps(), r51 = _mm256_setzero_ps();
#define TF_AVX2_STEP(K)                                     \
  {                                                         \
    const __m256 b0 = _mm256_loadu_ps(b + (K) * NR);         \
    const __m256 b1 = _mm256_loadu_ps(b + (K) * NR + 8);     \
    __m256 ai = _mm256_broadcast_ss(a + (K) * MR + 0);      \
    r00 = _mm256_fmadd_ps(ai, b0, r00);                     \
    r01 = _mm256_fmadd_ps(ai, b1, r01);                     \
    ai = _mm256_broadcast_ss(a + (K) * MR + 1);             \
    r10 = _mm256_fmadd_ps(ai, b0, r10);                     \
    r11 = _mm256_fmadd_ps(ai, b1, r11);                     \
    ai = _mm256_broadcast_ss(a + (K) * MR + 2);             \
    r20 = _mm256_fmadd_ps(ai, b0, r20);                     \
    r21 = _mm256_fmadd_ps(ai, b1, r21);                     \
    ai = _mm256_broadcast_ss(a + (K) * MR + 3);             \
    r30 = _mm256_fmadd_ps(ai, b0, r30);                     \
    r31 = _mm256_fmadd_ps(ai, b1, r31);                     \
    ai = _mm256_broadcast_ss(a + (K) * MR + 4);             \
    r40 = _mm256_fmadd_ps(ai, b0, r40);                     \
    r41 = _mm256_fmadd_ps(ai, b1, r41);                     \
    ai = _mm256_broadcast_ss(a + (K) * MR + 5);             \
    r50 = _mm256_fmadd_ps(ai, b0, r50);                     \
    r51 = _mm256_fmadd_ps(ai, b1, r51);                     \
  }
  // The C tile is only touched after the loop: start fetching it now.
  for (int i = 0; i < m; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + 15), _MM_HINT_T0);
  }
  int64_t k = 0;
  for (; k + 4 <= kc; k += 4) {
    // A streams from L2 (the B sliver stays in L1 across the row slivers): fetch ahead.
    _mm_prefetch(reinterpret_cast<const char*>(a + 16 * MR), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(a + 16 * MR + 16), _MM_HINT_T0);
    TF_AVX2_STEP(0)
    TF_AVX2_STEP(1)
    TF_AVX2_STEP(2)
    TF_AVX2_STEP(3)
    a += 4 * MR;
    b += 4 * NR;
  }
  for (; k < kc; ++k) {
    TF_AVX2_STEP(0)
    a += MR;
    b += NR;
  }
#undef TF_AVX2_STEP
  if (m == MR && n == NR) {
#define TF_AVX2_STORE(I, R0, R1)                                                \
  {                                                                             \
    float* ci = c + (I) * ldc;                                                  \
    if (accumulate) {                                                           \
      _mm256_storeu_ps(ci, _mm256_add_ps(_mm256_loadu_ps(ci), R0));             \
      _mm256_storeu_ps(ci + 8, _mm256_add_ps(_mm256_loadu_ps(ci + 8), R1));     \
    } else {                                                                    \
      _mm256_storeu_ps(ci, R0);                                                 \
      _mm256_storeu_ps(ci + 8, R1);                                             \
    }                                                                           \
  }
    TF_AVX2_STORE(0, r00, r01)
    TF_AVX2_STORE(1, r10, r11)
    TF_AVX2_STORE(2, r20, r21)
    TF_AVX2_STORE(3, r30, r31)
    TF_AVX2_STORE(4, r40, r41)
    TF_AVX2_STORE(5, r50, r51)
#undef TF_AVX2_STORE
    return;
  }
  alignas(32) float tmp[MR][NR];
  _mm256_store_ps(tmp[0], r00);
  _mm256_store_ps(tmp[0] + 8, r01);
  _mm256_store_ps(tmp[1], r10);
  _mm256_store_ps(tmp[1] + 8, r11);
  _mm256_store_ps(tmp[2], r20);
  _mm256_store_ps(tmp[2] + 8, r21);
  _mm256_store_ps(tmp[3], r30);
  _mm256_store_ps(tmp[3] + 8, r31);
  _mm256_store_ps(tmp[4], r40);
  _mm256_store_ps(tmp[4] + 8, r41);
  _mm256_store_ps(tmp[5], r50);
  _mm256_store_ps(tmp[5] + 8, r51);
  for (int i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    if (accumulate)
      for (int j = 0; j < n; ++j) ci[j] += tmp[i][j];
    else
      for (int j = 0; j < n; ++j) ci[j] = tmp[i][j];
  }
}

// exp(x) to about 1 ulp (Cephes expf polynomial); 0 below -87.3, +inf above log(FLT_MAX).
inline __m256 exp8(__m256 x) {
  const __m256 under = _mm256_cmp_ps(x, _mm256_set1_ps(-87.3f), _CMP_LT_OQ);
  const __m256 over = _mm256_cmp_ps(x, _mm256_set1_ps(88.72283f), _CMP_GT_OQ);
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
  x = _mm256_min_ps(x, _mm256_set1_ps(88.72283f));
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
  __m256 p = _mm256_set1_ps(1.9875691500E-4f);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073E-3f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894E-2f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459E-1f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201E-1f));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  // 2^n as 2^h * 2^(n - h), h = n >> 1, so that both factors are normal floats for n in [-126, 128].
  const __m256i ni = _mm256_cvtps_epi32(n);
  const __m256i h = _mm256_srai_epi32(ni, 1);
  const __m256i e1 = _mm256_slli_epi32(_mm256_add_epi32(h, _mm256_set1_epi32(127)), 23);
  const __m256i e2 = _mm256_slli_epi32(_mm256_add_epi32(_mm256_sub_epi32(ni, h), _mm256_set1_epi32(127)), 23);
  __m256 y = _mm256_mul_ps(_mm256_mul_ps(p, _mm256_castsi256_ps(e1)), _mm256_castsi256_ps(e2));
  y = _mm256_andnot_ps(under, y);
  return _mm256_blendv_ps(y, _mm256_set1_ps(INFINITY), over);
}

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

inline float hmax(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

float row_max(const float* x, int64_t n) {
  __m256 m = _mm256_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + j));
  float r = hmax(m);
  for (; j < n; ++j) r = x[j] > r ? x[j] : r;
  return r;
}

float exp_sub_sum(const float* x, float c, int64_t n, float* out) {
  const __m256 vc = _mm256_set1_ps(c);
  __m256 s = _mm256_setzero_ps();
  int64_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), vc));
    _mm256_storeu_ps(out + j, e);
    s = _mm256_add_ps(s, e);
  }
  float t = hsum(s);
  for (; j < n; ++j) {
    out[j] = std::exp(x[j] - c);
    t += out[j];
  }
  return t;
}

void exp_sub_vec(const float* x, const float* c, int64_t n, float* out) {
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    _mm256_storeu_ps(out + j, exp8(_mm256_sub_ps(_mm256_loadu_ps(x + j), _mm256_loadu_ps(c + j))));
  for (; j < n; ++j) out[j] = std::exp(x[j] - c[j]);
}

// Row-major A into 6-row slivers: 6 rows x 8 depths at a time through an 8 x 8
// transpose (rows 6, 7 zero), each depth's 6 values stored as 4 + 2.
void pack_a_rows(int64_t mc, int64_t kc, const float* a, int64_t rs, float* out) {
  const __m256 z = _mm256_setzero_ps();
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int m = static_cast<int>(mc - i0 < MR ? mc - i0 : MR);
    const float* src[MR];
    for (int r = 0; r < MR; ++r) src[r] = a + (i0 + (r < m ? r : 0)) * rs;
    int64_t k = 0;
    if (m == MR) {
      for (; k + 8 <= kc; k += 8) {
        const __m256 r0 = _mm256_loadu_ps(src[0] + k), r1 = _mm256_loadu_ps(src[1] + k),
                     r2 = _mm256_loadu_ps(src[2] + k), r3 = _mm256_loadu_ps(src[3] + k),
                     r4 = _mm256_loadu_ps(src[4] + k), r5 = _mm256_loadu_ps(src[5] + k);
        const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
        const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
        const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
        // u0: depths 0|4 rows 0-3, u1: 1|5, u2: 2|6, u3: 3|7; w* the same for rows 4, 5.
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 w0 = _mm256_shuffle_ps(t4, z, 0x44), w1 = _mm256_shuffle_ps(t4, z, 0xEE);
        const __m256 w2 = _mm256_shuffle_ps(t5, z, 0x44), w3 = _mm256_shuffle_ps(t5, z, 0xEE);
        float* o = out + k * MR;
        const __m256 us[4] = {u0, u1, u2, u3}, ws[4] = {w0, w1, w2, w3};
#pragma GCC unroll 4
        for (int q = 0; q < 4; ++q) {
          _mm_storeu_ps(o + q * MR, _mm256_castps256_ps128(us[q]));
          _mm_storel_pi(reinterpret_cast<__m64*>(o + q * MR + 4), _mm256_castps256_ps128(ws[q]));
          _mm_storeu_ps(o + (q + 4) * MR, _mm256_extractf128_ps(us[q], 1));
          _mm_storel_pi(reinterpret_cast<__m64*>(o + (q + 4) * MR + 4), _mm256_extractf128_ps(ws[q], 1));
        }
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

const Kernels<float> kAvx2{MR, NR, &micro, &row_max, &exp_sub_sum, &exp_sub_vec, &pack_a_rows};

}  // namespace

const Kernels<float>* kernels_f32_avx2() { return &kAvx2; }

}  // namespace tf::contrastive
