// AVX-512 direct dot kernel (this file alone is compiled with -mavx512f...).
// GCC 12 flags its own _mm512_undefined_ps() inside the intrinsics headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include "search/dots.h"

namespace tf::search {
namespace {

void dots(const float* g, const int64_t* rows, int64_t count, int64_t d, const float* q, int64_t m, float* out) {
  for (int64_t i = 0; i < count; ++i) {
    const float* x = g + (rows ? rows[i] : i) * d;
    if (i + 1 < count) {
      const char* nx = reinterpret_cast<const char*>(g + (rows ? rows[i + 1] : i + 1) * d);
      for (int64_t b = 0; b < d * 4; b += 64) _mm_prefetch(nx + b, _MM_HINT_T0);
    }
    for (int64_t j = 0; j < m; ++j) {
      const float* y = q + j * d;
      __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
      int64_t t = 0;
      for (; t + 32 <= d; t += 32) {
        a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + t), _mm512_loadu_ps(y + t), a0);
        a1 = _mm512_fmadd_ps(_mm512_loadu_ps(x + t + 16), _mm512_loadu_ps(y + t + 16), a1);
      }
      for (; t + 16 <= d; t += 16) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(x + t), _mm512_loadu_ps(y + t), a0);
      float s = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1));
      for (; t < d; ++t) s += x[t] * y[t];
      out[i * m + j] = s;
    }
  }
}

}  // namespace

DotFn dot_kernel_avx512() { return &dots; }

}  // namespace tf::search
