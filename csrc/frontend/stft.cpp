#include "frontend/stft.h"

#include <algorithm>
#include <cstring>

#include "common/errors.h"

namespace tf::frontend {

PadMode parse_pad_mode(const std::string& name) {
  if (name == "constant") return PadMode::Constant;
  if (name == "edge") return PadMode::Edge;
  if (name == "reflect") return PadMode::Reflect;
  if (name == "symmetric") return PadMode::Symmetric;
  throw tf::ValueError(tf::msg("pad_mode must be 'constant', 'edge', 'reflect' or 'symmetric', got '",
                               name, "'"));
}

WindowKind parse_window(const std::string& name) {
  if (name == "hann" || name == "hanning") return WindowKind::Hann;
  if (name == "hamming") return WindowKind::Hamming;
  if (name == "blackman") return WindowKind::Blackman;
  if (name == "boxcar" || name == "rectangular" || name == "ones" || name == "rect")
    return WindowKind::Boxcar;
  throw tf::ValueError(tf::msg("window must be 'hann', 'hamming', 'blackman' or 'boxcar' (or an "
                               "array of win_length samples), got '", name, "'"));
}

std::vector<float> make_window(WindowKind kind, int win_length, int n_fft) {
  TF_CHECK(win_length >= 1 && win_length <= n_fft, "win_length must be in [1, n_fft=", n_fft,
           "], got ", win_length);
  std::vector<float> w(n_fft);
  for (int i = 0; i < n_fft; ++i)
    w[i] = static_cast<float>(window_padded_value(kind, i, win_length, n_fft));
  return w;
}

StftSpec make_stft_spec(int n_fft, int hop, std::vector<float> window, bool center, PadMode pad) {
  TF_CHECK(is_fft_size(n_fft) && n_fft <= kMaxFft,
           "n_fft must be a power of two between 2 and ", kMaxFft,
           " (other sizes are not supported), got ", n_fft);
  TF_CHECK(hop >= 1, "hop_length must be >= 1, got ", hop);
  TF_CHECK(static_cast<int>(window.size()) == n_fft, "window must have n_fft=", n_fft,
           " samples, got ", window.size());
  StftSpec s;
  s.n_fft = n_fft;
  s.hop = hop;
  s.center = center;
  s.pad = pad;
  s.window = std::move(window);
  int lo = 0, hi = n_fft;
  while (lo < n_fft && s.window[lo] == 0.0f) ++lo;
  while (hi > lo && s.window[hi - 1] == 0.0f) --hi;
  s.win_lo = lo;
  s.win_hi = hi;
  s.plan = &fft_plan(n_fft);
  return s;
}

long stft_num_frames(long n, const StftSpec& s) {
  if (s.center) return 1 + (n + 2L * (s.n_fft / 2) - s.n_fft) / s.hop;
  TF_CHECK(n >= s.n_fft, "the signal has ", n, " samples, fewer than n_fft=", s.n_fft,
           " needed by one uncentred frame (use center=True or a smaller n_fft)");
  return 1 + (n - s.n_fft) / s.hop;
}

float padded_sample(const float* y, long n, long i, PadMode mode) {
  const long j = pad_index(i, n, mode);
  return j < 0 ? 0.0f : y[j];
}

long pad_signal(const float* y, long n, const StftSpec& s, StftWork& w) {
  const long pad = s.center ? s.n_fft / 2 : 0;
  const long len = n + 2 * pad;
  float* p = ensure(w.padded, static_cast<std::size_t>(len));
  for (long i = 0; i < pad; ++i) p[i] = padded_sample(y, n, i - pad, s.pad);
  std::memcpy(p + pad, y, sizeof(float) * static_cast<std::size_t>(n));
  for (long i = n + pad; i < len; ++i) p[i] = padded_sample(y, n, i - pad, s.pad);
  return len;
}

void stft_frames(const StftSpec& s, StftWork& w, long t0, int count) {
  stft_frames(s, w.padded.data(), w, t0, count);
}

void stft_frames(const StftSpec& s, const float* padded, StftWork& w, long t0, int count) {
  const int m = s.n_fft / 2;
  w.fft.reserve(s.n_fft);
  float* zr = w.fft.zr.data();
  float* zi = w.fft.zi.data();
  // Sample i goes to zr (even i) or zi (odd i) at pair i / 2. Only the pairs that the
  // window's non-zero part [win_lo, win_hi) touches are written; the rest is zero (and
  // only the zeros the FFT reads are written: rfft_read_range).
  const int j_lo = s.win_lo / 2, j_hi = stft_nz_hi(s);
  int r_lo = 0, r_hi = m;
  rfft_read_range(m, j_lo, j_hi, &r_lo, &r_hi);
  const std::size_t lane_bytes = sizeof(float) * kLanes;
  std::memset(zr + static_cast<long>(r_lo) * kLanes, 0, lane_bytes * (j_lo - r_lo));
  std::memset(zi + static_cast<long>(r_lo) * kLanes, 0, lane_bytes * (j_lo - r_lo));
  std::memset(zr + static_cast<long>(j_hi) * kLanes, 0, lane_bytes * (r_hi - j_hi));
  std::memset(zi + static_cast<long>(j_hi) * kLanes, 0, lane_bytes * (r_hi - j_hi));
  const float* win = s.window.data();
  const float* x[kLanes];
  for (int l = 0; l < count; ++l) x[l] = padded + (t0 + l) * static_cast<long>(s.hop);
  // Full groups: the pairs inside the window [jf_lo, jf_hi) come from one transpose of the
  // 16 frames (rows hop apart) into lane arrays, then a multiply by the window.
  const int jf_lo = count == kLanes ? std::max(j_lo, (s.win_lo + 1) / 2) : j_hi;
  const int jf_hi = count == kLanes ? std::max(jf_lo, std::min(j_hi, s.win_hi / 2)) : j_hi;
  if (jf_hi > jf_lo) {
    kernels().frames_window(x[0] + 2 * jf_lo, s.hop, jf_hi - jf_lo, win + 2 * jf_lo, zr + static_cast<long>(jf_lo) * kLanes,
                            zi + static_cast<long>(jf_lo) * kLanes);
  }
  for (int j = j_lo; j < j_hi; ++j) {
    if (j == jf_lo && jf_hi > jf_lo) {  // done above
      j = jf_hi - 1;
      continue;
    }
    const int i = 2 * j;
    // A sample outside [win_lo, win_hi) contributes exactly 0 (also when it is not finite).
    const bool even_in = i >= s.win_lo, odd_in = i + 1 < s.win_hi;
    const float we = win[i], wo = odd_in ? win[i + 1] : 0.0f;
    float* er = zr + static_cast<long>(j) * kLanes;
    float* oi = zi + static_cast<long>(j) * kLanes;
    if (even_in && odd_in) {
      for (int l = 0; l < count; ++l) {
        er[l] = x[l][i] * we;
        oi[l] = x[l][i + 1] * wo;
      }
    } else {
      for (int l = 0; l < count; ++l) {
        er[l] = even_in ? x[l][i] * we : 0.0f;
        oi[l] = odd_in ? x[l][i + 1] * wo : 0.0f;
      }
    }
    for (int l = count; l < kLanes; ++l) er[l] = oi[l] = 0.0f;
  }
}

void stft_group(const StftSpec& s, StftWork& w, long t0, int count) {
  const FftPlan& plan = s.plan ? *s.plan : fft_plan(s.n_fft);
  stft_frames(s, w, t0, count);
  kernels().rfft(plan.tables(), w.fft.zr.data(), w.fft.zi.data(), w.fft.sr.data(), w.fft.si.data(),
                 s.win_lo / 2, stft_nz_hi(s), w.fft.xr.data(), w.fft.xi.data());
}

void stft_group_magnitude(const StftSpec& s, StftWork& w, long t0, int count, float* lanes, float* rows,
                          std::ptrdiff_t ld) {
  const FftPlan& plan = s.plan ? *s.plan : fft_plan(s.n_fft);
  stft_frames(s, w, t0, count);
  kernels().rfft_magnitude(plan.tables(), w.fft.zr.data(), w.fft.zi.data(), w.fft.sr.data(), w.fft.si.data(),
                           s.win_lo / 2, stft_nz_hi(s), lanes, rows, ld);
}

}  // namespace tf::frontend
