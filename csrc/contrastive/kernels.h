// Inner kernels of the contrastive core, chosen at run time by SIMD level
// (csrc/common/cpu_features.h): a register-blocked GEMM micro-kernel on packed
// panels, and the vectorised row primitives (max, exp) of the log-sum-exp passes.
// float has AVX-512 / AVX2 / portable variants; double (used for gradcheck) has
// the portable one only.
#pragma once

#include <cstdint>

namespace tf::contrastive {

template <class T>
struct Kernels {
  int mr;  // rows of the micro-tile (A is packed in slivers of mr rows)
  int nr;  // columns of the micro-tile (B is packed in slivers of nr columns)
  // c[0:m, 0:n] (+)= a_packed (mr x kc, k-major) * b_packed (kc x nr, k-major).
  void (*micro)(int64_t kc, const T* a, const T* b, T* c, int64_t ldc, int m, int n,
                bool accumulate);
  // max_j x[j]  (n >= 1)
  T (*row_max)(const T* x, int64_t n);
  // out[j] = exp(x[j] - c); returns sum_j out[j]
  T (*exp_sub_sum)(const T* x, T c, int64_t n, T* out);
  // out[j] = exp(x[j] - c[j])
  void (*exp_sub_vec)(const T* x, const T* c, int64_t n, T* out);
  // Optional (nullptr: gemm.cpp's generic loop): pack rows [0, mc) x depth [0, kc) of a
  // row-major A (element (i, k) at a[i * rs + k]) into slivers of mr rows, k-major, zero
  // padded; the transposing copy that the logit strips need.
  void (*pack_a_rows)(int64_t mc, int64_t kc, const T* a, int64_t rs, T* out);
};

// The variant for the current SIMD level (re-read on every call: the cap can change).
const Kernels<float>& kernels_f32();
const Kernels<double>& kernels_f64();
template <class T>
const Kernels<T>& kernels();
template <>
inline const Kernels<float>& kernels<float>() { return kernels_f32(); }
template <>
inline const Kernels<double>& kernels<double>() { return kernels_f64(); }

// Defined in kernels_avx2.cpp / kernels_avx512.cpp (x86 builds only).
const Kernels<float>* kernels_f32_avx2();
const Kernels<float>* kernels_f32_avx512();
// Defined in kernels_neon.cpp (aarch64 builds only).
const Kernels<float>* kernels_f32_neon();

}  // namespace tf::contrastive
