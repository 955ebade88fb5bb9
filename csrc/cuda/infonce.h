// Host entry points of the CUDA InfoNCE kernels (infonce.cu). Pointers are device
// addresses passed as integers, `stream` is the caller's cudaStream_t, `device` the
// CUDA device index; every output and workspace is allocated by the caller (torch).
// `is_double` selects float64 (true) or float32 (false) for every floating array;
// labels are int64. No torch, no pybind11 here.
#pragma once

#include <cstdint>

namespace tf::cuda {

// C[0:M, 0:N] (+)= A * B with A(i, k) = a[i * a_rs + k * a_cs], B(k, j) = b[k * b_rs + j * b_cs],
// C row-major with leading dimension ldc.
void gemm(bool is_double, int64_t M, int64_t N, int64_t K, uintptr_t a, int64_t a_rs, int64_t a_cs, uintptr_t b,
          int64_t b_rs, int64_t b_cs, uintptr_t c, int64_t ldc, bool accumulate, uintptr_t stream, int device);

// Number of column splits used by info_nce_row_stats for R rows and C columns; the
// caller allocates a workspace of 4 * R * splits elements.
int info_nce_splits(bool is_double, int64_t R, int64_t C);

// Per row r of S = X Y^T * inv_tau (X: R x d, Y: C x d, never materialised):
// lse[r] = logsumexp_c S[r, c], cnt[r] = #{c : ylab[c] == xlab[r]},
// loss[r] = lse[r] - (sum of S[r, c] over those c) / cnt[r].
void info_nce_row_stats(bool is_double, uintptr_t x, uintptr_t y, int64_t R, int64_t C, int64_t d, double inv_tau,
                        uintptr_t xlab, uintptr_t ylab, int splits, uintptr_t workspace, uintptr_t lse, uintptr_t loss,
                        uintptr_t cnt, uintptr_t stream, int device);

// Number of thread blocks of info_nce_grad (the length of its dtau_partial output).
int64_t info_nce_grad_blocks(bool is_double, int64_t n, int64_t m);

// Gradients of sum_i g_row[i] loss_row[i] (+ sum_j g_col[j] loss_col[j] when g_col != 0)
// with respect to Q (n x d) and P (m x d), ADDED into dq and dp (zero them first), and
// per-block partial sums of dS * S in dtau_partial (d loss / d tau = -inv_tau * their sum).
void info_nce_grad(bool is_double, uintptr_t q, uintptr_t p, int64_t n, int64_t m, int64_t d, double inv_tau,
                   uintptr_t rlab, uintptr_t clab, uintptr_t lse_row, uintptr_t cnt_row, uintptr_t g_row,
                   uintptr_t lse_col, uintptr_t cnt_col, uintptr_t g_col, uintptr_t dq, uintptr_t dp,
                   uintptr_t dtau_partial, uintptr_t stream, int device);

}  // namespace tf::cuda
