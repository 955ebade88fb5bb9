// Per-element math of the tiled InfoNCE, shared by the C++ core and the CUDA
// kernels (TF_HD = __host__ __device__ under nvcc). No std:: containers and no
// exceptions here, so nvcc can compile it for the device; tests/test_contrastive_math.py
// exercises it on the host through small bindings.
//
// Log-sum-exp is carried as a state (max, sum) with lse = max + log(sum), where
// sum = sum_j exp(x_j - max). Logits are unbounded, so the running max is what
// keeps every exp() argument <= 0 (no overflow) while streaming column tiles.
#pragma once

#include <math.h>

#include "common/hd.h"

namespace tf::contrastive {

TF_HD float hd_exp(float x) { return expf(x); }
TF_HD double hd_exp(double x) { return exp(x); }
TF_HD float hd_log(float x) { return logf(x); }
TF_HD double hd_log(double x) { return log(x); }

template <class T>
struct LseState {
  T max;  // running maximum (-inf when empty)
  T sum;  // sum of exp(x - max) (0 when empty)
};

template <class T>
TF_HD LseState<T> lse_empty() {
  return LseState<T>{static_cast<T>(-INFINITY), T(0)};
}

// Add one value x to the state.
template <class T>
TF_HD LseState<T> lse_push(LseState<T> s, T x) {
  if (x <= s.max) return LseState<T>{s.max, s.sum + hd_exp(x - s.max)};
  // New maximum: rescale the old sum (exp(-inf) = 0 covers the empty state).
  return LseState<T>{x, s.sum * hd_exp(s.max - x) + T(1)};
}

// Merge two states (associative and commutative up to rounding).
template <class T>
TF_HD LseState<T> lse_merge(LseState<T> a, LseState<T> b) {
  if (!(a.sum > T(0))) return b;
  if (!(b.sum > T(0))) return a;
  const T m = a.max > b.max ? a.max : b.max;
  return LseState<T>{m, a.sum * hd_exp(a.max - m) + b.sum * hd_exp(b.max - m)};
}

// Merge a block summarised by its own maximum and its sum of exp(x - block_max).
template <class T>
TF_HD LseState<T> lse_merge_block(LseState<T> s, T block_max, T block_sum) {
  return lse_merge(s, LseState<T>{block_max, block_sum});
}

template <class T>
TF_HD T lse_value(LseState<T> s) {
  return s.max + hd_log(s.sum);
}

// Loss of one row of InfoNCE with `n_pos` positives whose logits sum to pos_sum:
// lse - mean positive logit (supervised-contrastive "L_out"; n_pos = 1 is plain InfoNCE).
template <class T>
TF_HD T info_nce_row_loss(T lse, T pos_sum, T n_pos) {
  return lse - pos_sum / n_pos;
}

// d loss / d logit s_ij for the (optionally symmetric) multi-positive InfoNCE:
//   g_row * (softmax_row_ij - pos_ij / n_pos_row_i)
// + g_col * (softmax_col_ij - pos_ij / n_pos_col_j)
// g_row / g_col are the upstream gradients of row i's and column j's losses
// (g_col = 0 when not symmetric); is_pos says whether (i, j) is a positive pair.
template <class T>
TF_HD T info_nce_logit_grad(T s, T lse_row, T g_row, T n_pos_row, T lse_col, T g_col, T n_pos_col,
                            bool is_pos) {
  T g = g_row * hd_exp(s - lse_row);
  if (g_col != T(0)) g += g_col * hd_exp(s - lse_col);
  if (is_pos) g -= g_row / n_pos_row + g_col / n_pos_col;
  return g;
}

}  // namespace tf::contrastive
