// A small packed GEMM (BLIS-style loops around the register-blocked micro-kernel
// of kernels.h), enough for the products of the contrastive losses. Operands are
// strided views, so transposes cost nothing at the call site:
//   element (i, k) of A is a[i * a_rs + k * a_cs], element (k, j) of B is b[k * b_rs + j * b_cs].
#pragma once

#include <cstdint>
#include <vector>

#include "contrastive/kernels.h"

namespace tf::contrastive {

// Depth of a packed panel. Callers that take row ranges of a pre-packed B must start
// them at multiples of this (see PackedB).
constexpr int64_t kGemmKC = 256;

// A whole K x N matrix B packed once into micro-kernel slivers (for operands that many
// GEMMs share, like the positives P in every row strip of the InfoNCE). Layout: for
// each depth block k0 = 0, KC, 2KC, ... (kc = min(KC, K - k0) rows), the N columns in
// slivers of nr, each kc x nr k-major; the block starts at data + k0 * npad.
template <class T>
struct PackedB {
  const Kernels<T>* kern = nullptr;
  int64_t k = 0, n = 0, npad = 0;
  std::vector<T> data;
};

// Pack B (element (k, j) at b[k * rs + j * cs]) with the current SIMD level's kernel, in parallel.
template <class T>
void pack_b_full(int64_t K, int64_t N, const T* b, int64_t rs, int64_t cs, PackedB<T>& out);

// C[0:M, 0:N] (+)= A * B[k0 : k0 + K, j0 : j0 + N] with B pre-packed. Needs k0 % kGemmKC == 0,
// j0 % nr == 0, and k0 + K == packed K or K a multiple of kGemmKC (whole depth blocks).
template <class T>
void gemm_serial_packed(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const PackedB<T>& b, int64_t k0, int64_t j0, T* c, int64_t ldc, bool accumulate);

// C[0:M, 0:N] (row-major, leading dimension ldc) = (accumulate ? C : 0) + A * B.
// Runs in the calling thread (the callers split work across threads themselves).
template <class T>
void gemm_serial(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                 int64_t b_rs, int64_t b_cs, T* c, int64_t ldc, bool accumulate);

// The same, split over row blocks of C with tf::parallel_for (global thread count).
template <class T>
void gemm_parallel_rows(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const T* b, int64_t b_rs, int64_t b_cs, T* c, int64_t ldc, bool accumulate);

// The same, split over column blocks of C (for short, wide outputs such as d x d with long K).
template <class T>
void gemm_parallel_cols(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const T* b, int64_t b_rs, int64_t b_cs, T* c, int64_t ldc, bool accumulate);

}  // namespace tf::contrastive
