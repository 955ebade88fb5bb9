// Portable (compiler-vectorised) versions of the inner kernels; the baseline for
// every type and the only path for double.
#pragma once

#include <cmath>
#include <cstdint>

namespace tf::contrastive::portable {

template <class T, int MR, int NR>
void micro(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int m, int n, bool accumulate) {
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const T* bk = b + k * NR;
    const T* ak = a + k * MR;
    for (int i = 0; i < MR; ++i) {
      const T ai = ak[i];
      for (int j = 0; j < NR; ++j) acc[i][j] += ai * bk[j];
    }
  }
  for (int i = 0; i < m; ++i) {
    T* ci = c + i * ldc;
    if (accumulate)
      for (int j = 0; j < n; ++j) ci[j] += acc[i][j];
    else
      for (int j = 0; j < n; ++j) ci[j] = acc[i][j];
  }
}

template <class T>
T row_max(const T* x, int64_t n) {
  T m = x[0];
  for (int64_t j = 1; j < n; ++j) m = x[j] > m ? x[j] : m;
  return m;
}

template <class T>
T exp_sub_sum(const T* x, T c, int64_t n, T* out) {
  T s = 0;
  for (int64_t j = 0; j < n; ++j) {
    out[j] = std::exp(x[j] - c);
    s += out[j];
  }
  return s;
}

template <class T>
void exp_sub_vec(const T* x, const T* c, int64_t n, T* out) {
  for (int64_t j = 0; j < n; ++j) out[j] = std::exp(x[j] - c[j]);
}

}  // namespace tf::contrastive::portable
