// Mel scale and triangular mel weights, element by element, exactly as librosa computes
// them (librosa.hz_to_mel / mel_to_hz / filters.mel, float64 arithmetic). Shared by the
// C++ core and the CUDA kernels.
#pragma once

#include <math.h>

#include "common/hd.h"

namespace tf::frontend {

// Hz -> mel. htk: 2595 log10(1 + f/700); otherwise Slaney's scale (linear below 1 kHz,
// logarithmic above).
static TF_HD double hz_to_mel(double hz, bool htk) {
  if (htk) return 2595.0 * log10(1.0 + hz / 700.0);
  const double f_sp = 200.0 / 3.0;
  const double min_log_hz = 1000.0;
  const double min_log_mel = min_log_hz / f_sp;
  const double logstep = log(6.4) / 27.0;
  if (hz >= min_log_hz) return min_log_mel + log(hz / min_log_hz) / logstep;
  return hz / f_sp;
}

// mel -> Hz, the inverse of hz_to_mel.
static TF_HD double mel_to_hz(double mel, bool htk) {
  if (htk) return 700.0 * (pow(10.0, mel / 2595.0) - 1.0);
  const double f_sp = 200.0 / 3.0;
  const double min_log_hz = 1000.0;
  const double min_log_mel = min_log_hz / f_sp;
  const double logstep = log(6.4) / 27.0;
  if (mel >= min_log_mel) return min_log_hz * exp(logstep * (mel - min_log_mel));
  return f_sp * mel;
}

// Centre frequency i (0 <= i < n_points) of n_points mel-spaced points from fmin to fmax
// (numpy.linspace on the mel scale, then back to Hz, like librosa.mel_frequencies).
static TF_HD double mel_point_hz(int i, int n_points, double fmin, double fmax, bool htk) {
  const double lo = hz_to_mel(fmin, htk);
  const double hi = hz_to_mel(fmax, htk);
  double mel;
  if (n_points > 1 && i == n_points - 1) {
    mel = hi;  // numpy.linspace sets the end point exactly
  } else {
    const double step = n_points > 1 ? (hi - lo) / static_cast<double>(n_points - 1) : 0.0;
    mel = static_cast<double>(i) * step + lo;
  }
  return mel_to_hz(mel, htk);
}

// Frequency of FFT bin k (numpy.fft.rfftfreq(n_fft, 1/sr)).
static TF_HD double fft_bin_hz(int k, int n_fft, double sr) {
  const double val = 1.0 / (static_cast<double>(n_fft) * (1.0 / sr));
  return static_cast<double>(k) * val;
}

// Unnormalised triangular weight of band m for a bin at frequency f, given the band's
// lower, centre and upper edges (Hz): max(0, min(lower ramp, upper ramp)).
static TF_HD double mel_triangle(double f, double f_lo, double f_c, double f_hi) {
  const double lower = -(f_lo - f) / (f_c - f_lo);
  const double upper = (f_hi - f) / (f_hi - f_c);
  double w = lower < upper ? lower : upper;
  return w > 0.0 ? w : 0.0;
}

// Slaney's area normalisation of a band: 2 / (f_hi - f_lo).
static TF_HD double mel_slaney_norm(double f_lo, double f_hi) { return 2.0 / (f_hi - f_lo); }

// Weight of band m (0 <= m < n_mels) at FFT bin k, as float32 like librosa.filters.mel:
// the triangle is rounded to float32, then multiplied (in double) by the Slaney norm.
static TF_HD float mel_weight(int m, int k, double sr, int n_fft, int n_mels, double fmin, double fmax,
                       bool htk, bool slaney_norm) {
  const double f_lo = mel_point_hz(m, n_mels + 2, fmin, fmax, htk);
  const double f_c = mel_point_hz(m + 1, n_mels + 2, fmin, fmax, htk);
  const double f_hi = mel_point_hz(m + 2, n_mels + 2, fmin, fmax, htk);
  const float tri = static_cast<float>(mel_triangle(fft_bin_hz(k, n_fft, sr), f_lo, f_c, f_hi));
  if (!slaney_norm) return tri;
  return static_cast<float>(static_cast<double>(tri) * mel_slaney_norm(f_lo, f_hi));
}

}  // namespace tf::frontend
