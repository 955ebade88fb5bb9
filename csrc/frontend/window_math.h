// Analysis windows, one sample at a time (shared by the C++ core and the CUDA kernels).
//
// The windows are the periodic ("fftbins=True") forms that scipy.signal.get_window
// returns and librosa.stft uses: w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N),
// evaluated in double precision. window_padded_value() centres a window of length
// win_length inside n_fft samples (librosa.util.pad_center: left pad (n_fft - win)/2).
#pragma once

#include <math.h>

#include "common/hd.h"

namespace tf::frontend {

enum class WindowKind : int { Hann = 0, Hamming = 1, Blackman = 2, Boxcar = 3 };

// Periodic window of length `length` at sample n (0 <= n < length).
static TF_HD double window_value(WindowKind kind, int n, int length) {
  const double two_pi = 6.283185307179586476925286766559;
  if (kind == WindowKind::Boxcar || length == 1) return 1.0;
  const double x = two_pi * static_cast<double>(n) / static_cast<double>(length);
  switch (kind) {
    case WindowKind::Hann:
      return 0.5 - 0.5 * cos(x);
    case WindowKind::Hamming:
      return 0.54 - 0.46 * cos(x);
    case WindowKind::Blackman:
      return 0.42 - 0.5 * cos(x) + 0.08 * cos(2.0 * x);
    default:
      return 1.0;
  }
}

// Sample n (0 <= n < n_fft) of the window of length win_length centred in n_fft samples.
static TF_HD double window_padded_value(WindowKind kind, int n, int win_length, int n_fft) {
  const int lpad = (n_fft - win_length) / 2;
  const int i = n - lpad;
  if (i < 0 || i >= win_length) return 0.0;
  return window_value(kind, i, win_length);
}

}  // namespace tf::frontend
