// Short-time Fourier transform as librosa.stft computes it: the signal padded by
// n_fft/2 on both sides when centred (pad_mode), frames of n_fft samples every hop,
// multiplied by the window (win_length samples centred in n_fft), real FFT.
// Frames are transformed 16 at a time; the result arrives per group of frames in
// lane arrays (bin k of frame t0+l at x[k * kLanes + l]).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "frontend/aligned.h"
#include "frontend/fft.h"
#include "frontend/pad_math.h"
#include "frontend/window_math.h"

namespace tf::frontend {

// "constant", "edge", "reflect" (numpy: d c b | a b c d -> excludes the edge) or
// "symmetric" (numpy: c b a | a b c); anything else raises tf::ValueError.
PadMode parse_pad_mode(const std::string& name);
WindowKind parse_window(const std::string& name);

// The window of win_length samples centred in n_fft samples, as float32.
std::vector<float> make_window(WindowKind kind, int win_length, int n_fft);

struct StftSpec {
  int n_fft = 2048;
  int hop = 512;
  bool center = true;
  PadMode pad = PadMode::Constant;
  std::vector<float> window;  // n_fft samples
  int win_lo = 0, win_hi = 0;  // non-zero part of the window: [win_lo, win_hi)
  const FftPlan* plan = nullptr;  // the cached plan of n_fft (set by make_stft_spec)
  int n_bins() const { return n_fft / 2 + 1; }
};

// Validates sizes and records the window's non-zero range. window: n_fft samples.
StftSpec make_stft_spec(int n_fft, int hop, std::vector<float> window, bool center, PadMode pad);

// Number of frames for a signal of n samples (throws when uncentred and n < n_fft).
long stft_num_frames(long n, const StftSpec& s);

struct StftWork {
  FloatBuffer padded;
  FftScratch fft;
};

// Sample i (may lie outside [0, n)) of the padded signal.
float padded_sample(const float* y, long n, long i, PadMode mode);

// Fill w.padded with the (padded) signal; returns its length.
long pad_signal(const float* y, long n, const StftSpec& s, StftWork& w);

// End of the packed pairs (sample pairs 2j, 2j + 1) that the window's non-zero part touches.
inline int stft_nz_hi(const StftSpec& s) { return (s.win_hi + 1) / 2; }

// Window frames [t0, t0 + count) (count <= kLanes) of the padded signal into the FFT's
// packed input w.fft.zr / w.fft.zi (the zeros outside the window only where the FFT reads).
void stft_frames(const StftSpec& s, StftWork& w, long t0, int count);
// The same from a padded signal held elsewhere (pad_signal's output of another workspace).
void stft_frames(const StftSpec& s, const float* padded, StftWork& w, long t0, int count);

// Window and transform frames [t0, t0 + count) (count <= kLanes) of the padded signal.
// On return w.fft.xr / w.fft.xi hold bins 0..n_fft/2 as lane arrays.
void stft_group(const StftSpec& s, StftWork& w, long t0, int count);

// The same frames' |X| straight into `lanes` (a lane array of n_fft/2 + 1 positions) and
// rows[f * ld + l] (Kernels::rfft_magnitude; the bits of stft_group then magnitude).
void stft_group_magnitude(const StftSpec& s, StftWork& w, long t0, int count, float* lanes, float* rows,
                          std::ptrdiff_t ld);

}  // namespace tf::frontend
