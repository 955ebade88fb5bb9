// Tiled (multi-positive, optionally symmetric) InfoNCE over bilinear logits
//   S = (A W) P^T / tau      (W = identity when w == nullptr: cosine / dot-product InfoNCE)
// for anchors A (n x d), positives P (m x d), W (d x d). Row i's positives are the
// columns j with col_label[j] == row_label[i] (labels 0..n-1 on both sides give the
// usual diagonal), and its loss is lse_j S_ij - mean_{j positive} S_ij. With
// `symmetric`, every column also gets lse_i S_ij - mean_{i positive} S_ij.
//
// The n x m logits never exist: Q = A W is formed once, then column tiles of P are
// streamed per row strip with an online log-sum-exp (running max) per row and per
// column; the forward keeps O(n + m) numbers (the log-sum-exps) and the backward
// recomputes each tile (the flash-attention / Inf-CL scheme). Memory is O((n + m) d)
// plus per-thread tiles. Everything runs on tf::parallel_for; callers release the GIL.
#pragma once

#include <cstdint>

namespace tf::contrastive {

template <class T>
struct InfoNceProblem {
  int64_t n = 0, m = 0, d = 0;
  const T* a = nullptr;  // n x d, row-major
  const T* p = nullptr;  // m x d, row-major
  const T* w = nullptr;  // d x d, row-major, or nullptr for the identity
  T inv_tau = T(1);
  const int64_t* row_labels = nullptr;  // n
  const int64_t* col_labels = nullptr;  // m
  bool symmetric = false;
};

// Forward: per-row (and with `symmetric` per-column) losses and log-sum-exps.
// loss_col / lse_col may be null when not symmetric.
template <class T>
void info_nce_forward(const InfoNceProblem<T>& pb, T* loss_row, T* lse_row, T* loss_col, T* lse_col);

// Backward: given the forward's log-sum-exps and the upstream gradients of the
// per-row losses (g_row, n) and per-column losses (g_col, m; null when not
// symmetric), writes dA (n x d), dP (m x d), dW (d x d; skipped when w is null)
// and d loss / d tau.
template <class T>
void info_nce_backward(const InfoNceProblem<T>& pb, const T* lse_row, const T* lse_col, const T* g_row,
                       const T* g_col, T* da, T* dp, T* dw, double* dtau);

// Forward and gradients in one sweep for the row direction with unit upstream
// gradients (the loss is sum_i loss_row[i]); each row strip's logits are kept in a
// per-thread buffer until its log-sum-exps are known, so the logits are computed
// once instead of twice. Not symmetric.
template <class T>
void info_nce_forward_backward(const InfoNceProblem<T>& pb, T* loss_row, T* lse_row, T* da, T* dp, T* dw,
                               double* dtau);

}  // namespace tf::contrastive
