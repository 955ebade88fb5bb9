// Backward passes (vector-Jacobian products) of the frontends. Each takes the forward's
// input and the gradient of its output and returns the gradient of its input; the
// intermediates (STFT, magnitudes, medians, masks, mel) are recomputed from the input, so a
// forward without gradients saves nothing.
//
// The fused frontend, step by step backwards:
//   scale    dB: d/dx 10 log10(max(amin, x)) = 10 / (x ln 10) above amin, 0 at the clamp;
//            cells clipped at (max - top_db) get 0; with ref=max the reference's term and,
//            for a fixed ref, the clip floor's term go to the example's maximum (its first
//            occurrence: a subgradient); log: 1/x inside the clip range, 0 outside.
//   mel      linear: weights^T.
//   power    |a|^p: p |a|^(p-1) (0 at a = 0).
//   masks    the soft masks' partial derivatives (grad_math.h); hard masks: 0.
//   medians  the gradient of an output cell goes to the window element that the median
//            selected (rank k/2 of the window, for an even k the upper of the two middle
//            values, as scipy); among equal values, the first in window order; a cell of the
//            reflected extension is the input cell it mirrors.
//   |X|      X / |X| (0 where |X| = 0).
//   STFT     linear: frame t's gradient is window * Re(sum_k G_k e^{+2 pi i k n / n_fft}),
//            overlap-added at t * hop, and the centring padding folded back onto the
//            samples it copied (constant padding: dropped).
#pragma once

#include "frontend/frontend.h"

namespace tf::frontend {

// y: batch x n, grad_out: batch x channels x n_mels x frames -> grad_y: batch x n.
void frontend_backward_run(const FrontendSpec& s, const float* y, long batch, long n, const float* grad_out,
                           float* grad_y, int num_threads);

// mag: batch x bins x frames, grad_harm/grad_perc: gradients of the two masks (same shape)
// -> grad_mag (same shape).
void hpss_masks_backward_run(const HpssSpec& s, const float* mag, long batch, int bins, int frames,
                             const float* grad_harm, const float* grad_perc, float* grad_mag, int num_threads);

// grad: batch x n_mels x frames -> out: batch x n_bins x frames (out = weights^T @ grad).
void mel_project_backward_run(const MelBank& bank, const float* grad, long batch, int frames, float* out,
                              int num_threads);

// x (the scale's input) and grad (of its output): batch x count -> grad_x: batch x count.
void scale_backward_run(const ScaleSpec& s, const float* x, const float* grad, long batch, long count,
                        float* grad_x, int num_threads);

}  // namespace tf::frontend
