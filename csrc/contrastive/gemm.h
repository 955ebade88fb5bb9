// A small packed GEMM (BLIS-style loops around the register-blocked micro-kernel
// of kernels.h), enough for the products of the contrastive losses. Operands are
// strided views, so transposes cost nothing at the call site:
//   element (i, k) of A is a[i * a_rs + k * a_cs], element (k, j) of B is b[k * b_rs + j * b_cs].
#pragma once

#include <cstdint>

namespace tf::contrastive {

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
