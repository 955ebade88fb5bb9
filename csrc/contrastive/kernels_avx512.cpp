// AVX-512 inner kernels (this file alone is compiled with -mavx512f...; chosen at run time).
// GCC 12 flags its own _mm512_undefined_ps() inside the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <cmath>

#include "contrastive/kernels.h"

namespace tf::contrastive {
namespace {

constexpr int MR = 12;  // 12 x 32 micro-tile: 24 zmm accumulators + 2 B vectors
constexpr int NR = 32;

void micro(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, int m, int n,
           bool accumulate) {
  __m512 r[MR][2];
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) r[i][0] = r[i][1] = _mm512_setzero_ps();
  for (int64_t k = 0; k < kc; ++k) {
    const __m512 b0 = _mm512_loadu_ps(b);
    const __m512 b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      r[i][0] = _mm512_fmadd_ps(ai, b0, r[i][0]);
      r[i][1] = _mm512_fmadd_ps(ai, b1, r[i][1]);
    }
    a += MR;
    b += NR;
  }
  if (m == MR && n == NR) {
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      float* ci = c + i * ldc;
      if (accumulate) {
        _mm512_storeu_ps(ci, _mm512_add_ps(_mm512_loadu_ps(ci), r[i][0]));
        _mm512_storeu_ps(ci + 16, _mm512_add_ps(_mm512_loadu_ps(ci + 16), r[i][1]));
      } else {
        _mm512_storeu_ps(ci, r[i][0]);
        _mm512_storeu_ps(ci + 16, r[i][1]);
      }
    }
    return;
  }
  const __mmask16 m0 = n >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << n) - 1u);
  const __mmask16 m1 =
      n >= 32 ? __mmask16(0xFFFF) : (n > 16 ? __mmask16((1u << (n - 16)) - 1u) : __mmask16(0));
  for (int i = 0; i < m; ++i) {
    float* ci = c + i * ldc;
    __m512 v0 = r[i][0], v1 = r[i][1];
    if (accumulate) {
      v0 = _mm512_add_ps(_mm512_maskz_loadu_ps(m0, ci), v0);
      v1 = _mm512_add_ps(_mm512_maskz_loadu_ps(m1, ci + 16), v1);
    }
    _mm512_mask_storeu_ps(ci, m0, v0);
    _mm512_mask_storeu_ps(ci + 16, m1, v1);
  }
}

// exp(x) to about 1 ulp (Cephes expf polynomial), exact 0 below -104, +inf above 88.7.
inline __m512 exp16(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-104.0f));
  x = _mm512_min_ps(x, _mm512_set1_ps(88.8f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500E-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073E-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894E-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459E-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201E-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1u);
}

float row_max(const float* x, int64_t n) {
  __m512 m = _mm512_set1_ps(-INFINITY);
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) m = _mm512_max_ps(m, _mm512_loadu_ps(x + j));
  if (j < n) m = _mm512_mask_max_ps(m, tail_mask(n - j), m, _mm512_maskz_loadu_ps(tail_mask(n - j), x + j));
  return _mm512_reduce_max_ps(m);
}

float exp_sub_sum(const float* x, float c, int64_t n, float* out) {
  const __m512 vc = _mm512_set1_ps(c);
  __m512 s = _mm512_setzero_ps();
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + j), vc));
    _mm512_storeu_ps(out + j, e);
    s = _mm512_add_ps(s, e);
  }
  if (j < n) {
    const __mmask16 k = tail_mask(n - j);
    const __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), vc));
    _mm512_mask_storeu_ps(out + j, k, e);
    s = _mm512_mask_add_ps(s, k, s, e);
  }
  return _mm512_reduce_add_ps(s);
}

void exp_sub_vec(const float* x, const float* c, int64_t n, float* out) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    _mm512_storeu_ps(out + j, exp16(_mm512_sub_ps(_mm512_loadu_ps(x + j), _mm512_loadu_ps(c + j))));
  if (j < n) {
    const __mmask16 k = tail_mask(n - j);
    _mm512_mask_storeu_ps(
        out + j, k, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), _mm512_maskz_loadu_ps(k, c + j))));
  }
}

const Kernels<float> kAvx512{MR, NR, &micro, &row_max, &exp_sub_sum, &exp_sub_vec, nullptr};

}  // namespace

const Kernels<float>* kernels_f32_avx512() { return &kAvx512; }

}  // namespace tf::contrastive
