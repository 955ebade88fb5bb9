// AVX2 + FMA direct dot kernel (this file alone is compiled with -mavx2 -mfma).
#include <immintrin.h>

#include "search/dots.h"

namespace tf::search {
namespace {

inline float hsum(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}

void dots(const float* g, const int64_t* rows, int64_t count, int64_t d, const float* q, int64_t m, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    const float* x = g + (rows ? rows[i] : i) * d;
    if (i + 1 < count) {
      const char* nx = reinterpret_cast<const char*>(g + (rows ? rows[i + 1] : i + 1) * d);
      for (int64_t b = 0; b < d * 4; b += 64) _mm_prefetch(nx + b, _MM_HINT_T0);
    }
    for (int64_t j = 0; j < m; ++j) {
      const float* y = q + j * d;
      __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
             a3 = _mm256_setzero_ps();
      int64_t t = 0;
      for (; t + 32 <= d; t += 32) {
        a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + t), _mm256_loadu_ps(y + t), a0);
        a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + t + 8), _mm256_loadu_ps(y + t + 8), a1);
        a2 = _mm256_fmadd_ps(_mm256_loadu_ps(x + t + 16), _mm256_loadu_ps(y + t + 16), a2);
        a3 = _mm256_fmadd_ps(_mm256_loadu_ps(x + t + 24), _mm256_loadu_ps(y + t + 24), a3);
      }
      for (; t + 8 <= d; t += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + t), _mm256_loadu_ps(y + t), a0);
      float s = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
      for (; t < d; ++t) s += x[t] * y[t];
      out[i * m + j] = s;
    }
  }
}

}  // namespace

DotFn dot_kernel_avx2() { return &dots; }

}  // namespace tf::search
