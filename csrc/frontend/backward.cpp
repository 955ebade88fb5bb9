#include "frontend/backward.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "common/errors.h"
#include "common/parallel.h"
#include "frontend/db_math.h"
#include "frontend/grad_math.h"
#include "frontend/kernels.h"
#include "frontend/mask_math.h"
#include "frontend/pad_math.h"

namespace tf::frontend {
namespace {

using DVec = std::vector<double>;

// x_n = sum_k Z_k e^{+2 pi i k n / N} in place, double precision (iterative radix-2): the
// inverse DFT (without 1/N) that the STFT's adjoint applies to each frame's gradient.
class InverseDft {
 public:
  explicit InverseDft(int n) : n_(n), rev_(n), cr_(n / 2), ci_(n / 2) {
    int bits = 0;
    while ((1 << bits) < n) ++bits;
    for (int i = 0; i < n; ++i) {
      int r = 0;
      for (int b = 0; b < bits; ++b)
        if ((i >> b) & 1) r |= 1 << (bits - 1 - b);
      rev_[i] = r;
    }
    const double two_pi = 6.283185307179586476925286766559;
    for (int j = 0; j < n / 2; ++j) {
      cr_[j] = std::cos(two_pi * j / n);
      ci_[j] = std::sin(two_pi * j / n);
    }
  }

  void run(double* re, double* im) const {
    for (int i = 0; i < n_; ++i)
      if (i < rev_[i]) {
        std::swap(re[i], re[rev_[i]]);
        std::swap(im[i], im[rev_[i]]);
      }
    for (int len = 2; len <= n_; len <<= 1) {
      const int half = len / 2, step = n_ / len;
      for (int i = 0; i < n_; i += len)
        for (int j = 0; j < half; ++j) {
          const double wr = cr_[j * step], wi = ci_[j * step];
          const int a = i + j, b = a + half;
          const double tr = re[b] * wr - im[b] * wi, ti = re[b] * wi + im[b] * wr;
          re[b] = re[a] - tr;
          im[b] = im[a] - ti;
          re[a] += tr;
          im[a] += ti;
        }
    }
  }

 private:
  int n_;
  std::vector<int> rev_;
  DVec cr_, ci_;
};

// One shared, immutable transform per size (built once, never freed, like fft_plan).
const InverseDft& inverse_dft(int n) {
  static std::mutex* mu = new std::mutex;
  static auto* cache = new std::map<int, std::unique_ptr<InverseDft>>;
  std::lock_guard<std::mutex> lock(*mu);
  auto& slot = (*cache)[n];
  if (!slot) slot = std::make_unique<InverseDft>(n);
  return *slot;
}

// Gradient of the STFT (bins x frames, gradients of the real and imaginary parts) -> the
// signal's gradient (n samples, accumulated into gy).
void stft_adjoint(const StftSpec& s, const double* g_re, const double* g_im, long frames, long n, double* gy) {
  const int N = s.n_fft, m = N / 2;
  const long pad = s.center ? N / 2 : 0;
  const long len = n + 2 * pad;
  DVec gpad(static_cast<std::size_t>(len), 0.0), re(N), im(N);
  const InverseDft& dft = inverse_dft(N);
  for (long t = 0; t < frames; ++t) {
    // The Hermitian spectrum whose inverse DFT is Re(sum_{k<=m} G_k e^{+2 pi i k n / N}).
    re[0] = g_re[t];
    im[0] = 0.0;
    re[m] = g_re[static_cast<long>(m) * frames + t];
    im[m] = 0.0;
    for (int k = 1; k < m; ++k) {
      const double a = 0.5 * g_re[static_cast<long>(k) * frames + t];
      const double b = 0.5 * g_im[static_cast<long>(k) * frames + t];
      re[k] = a;
      im[k] = b;
      re[N - k] = a;
      im[N - k] = -b;
    }
    dft.run(re.data(), im.data());
    double* dst = gpad.data() + t * s.hop;
    for (int i = s.win_lo; i < s.win_hi; ++i) dst[i] += static_cast<double>(s.window[i]) * re[i];
  }
  // Fold the centring padding back onto the samples it copied.
  for (long i = 0; i < len; ++i) {
    const long j = pad_index(i - pad, n, s.pad);
    if (j >= 0) gy[j] += gpad[i];
  }
}

// dx of one example of the scale (count cells) given the gradient g of its output.
void scale_backward_one(const ScaleSpec& s, const float* x, const float* g, long count, double* gx) {
  if (s.scale == Scale::None) {
    for (long i = 0; i < count; ++i) gx[i] = g[i];
    return;
  }
  if (s.scale == Scale::Log) {
    for (long i = 0; i < count; ++i) gx[i] = g[i] * log_clipped_grad(x[i], s.log_lo, s.log_hi);
    return;
  }
  if (count <= 0) return;
  long arg = 0;  // first occurrence of the maximum
  float mx = x[0];
  for (long i = 1; i < count; ++i)
    if (x[i] > mx) {
      mx = x[i];
      arg = i;
    }
  const float offset = db_ref_offset(s.ref_max ? mx : s.ref, s.amin);
  const float floor_db = s.has_top_db ? (db_value(mx, s.amin) - offset) - s.top_db : -__builtin_inff();
  const double d_offset = s.ref_max ? db_grad(mx, s.amin) : 0.0;           // d offset / d max
  const double d_floor = s.has_top_db ? db_grad(mx, s.amin) - d_offset : 0.0;  // d floor / d max
  double g_max = 0.0;
  for (long i = 0; i < count; ++i) {
    const float v = db_value(x[i], s.amin) - offset;
    if (v > floor_db) {
      gx[i] = g[i] * db_grad(x[i], s.amin);
      g_max -= g[i] * d_offset;
    } else {
      gx[i] = 0.0;
      g_max += g[i] * d_floor;
    }
  }
  gx[arg] += g_max;
}

// The masks' gradients (gmh, gmp: bins x frames) -> the magnitudes' (gmag, accumulated),
// given the magnitudes and their medians (leading dimension ld).
void masks_backward(const float* mag, const float* H, const float* P, int bins, int T, long ld, const HpssSpec& s,
                    const double* gmh, const double* gmp, double* gmag) {
  const bool split = s.split_zeros();
  DVec gH(static_cast<std::size_t>(bins) * T, 0.0), gP(static_cast<std::size_t>(bins) * T, 0.0);
  for (int f = 0; f < bins; ++f)
    for (int t = 0; t < T; ++t) {
      const long c = static_cast<long>(f) * T + t;
      const double a = gmh[c], b = gmp[c];
      if (a == 0.0 && b == 0.0) continue;
      const float h = H[f * ld + t], p = P[f * ld + t];
      double dx, dr;
      softmask_grad(h, p * s.margin_harm, s.power, s.hard, split, &dx, &dr);
      gH[c] += a * dx;
      gP[c] += a * dr * s.margin_harm;
      softmask_grad(p, h * s.margin_perc, s.power, s.hard, split, &dx, &dr);
      gP[c] += b * dx;
      gH[c] += b * dr * s.margin_perc;
    }
  // Each median passes its gradient to the window element it selected.
  const int hh = s.win_harm / 2, hp = s.win_perc / 2;
  for (int f = 0; f < bins; ++f) {
    const float* row = mag + f * ld;
    for (int t = 0; t < T; ++t) {
      const double g = gH[static_cast<long>(f) * T + t];
      if (g == 0.0) continue;
      const float v = H[f * ld + t];
      for (int i = 0; i < s.win_harm; ++i) {
        const long j = symmetric_index(static_cast<long>(t) - hh + i, T);
        if (row[j] == v) {
          gmag[static_cast<long>(f) * T + j] += g;
          break;
        }
      }
    }
  }
  for (int f = 0; f < bins; ++f)
    for (int t = 0; t < T; ++t) {
      const double g = gP[static_cast<long>(f) * T + t];
      if (g == 0.0) continue;
      const float v = P[f * ld + t];
      for (int i = 0; i < s.win_perc; ++i) {
        const long j = symmetric_index(static_cast<long>(f) - hp + i, bins);
        if (mag[j * ld + t] == v) {
          gmag[j * T + t] += g;
          break;
        }
      }
    }
}

inline float spectrum_value(float v, float power) {
  if (power == 2.0f) return v * v;
  if (power == 1.0f) return v;
  return std::pow(v, power);
}

void frontend_backward_clip(const FrontendSpec& s, const float* y, long n, long frames, const float* gout,
                            float* gy_out) {
  const int bins = s.stft.n_bins();
  const int T = static_cast<int>(frames);
  const int Tp = round_up(T, kLanes);
  const int M = s.bank.n_mels;
  const int C = s.channels();
  const long cells = static_cast<long>(bins) * T;
  // ---- the forward again: STFT, magnitudes, (medians and masks), mel
  StftWork sw;
  pad_signal(y, n, s.stft, sw);
  std::vector<float> xr(cells), xi(cells);
  FloatBuffer mag(static_cast<std::size_t>(bins) * Tp, 0.0f);
  for (int t0 = 0; t0 < T; t0 += kLanes) {
    const int cnt = std::min(kLanes, T - t0);
    stft_group(s.stft, sw, t0, cnt);
    const float* a = sw.fft.xr.data();
    const float* b = sw.fft.xi.data();
    for (int f = 0; f < bins; ++f)
      for (int l = 0; l < cnt; ++l) {
        const float re = a[f * kLanes + l], im = b[f * kLanes + l];
        xr[static_cast<long>(f) * T + t0 + l] = re;
        xi[static_cast<long>(f) * T + t0 + l] = im;
        mag[static_cast<long>(f) * Tp + t0 + l] = std::sqrt(re * re + im * im);
      }
  }
  FloatBuffer H, P, mh, mp;
  if (s.hpss) {
    H.assign(static_cast<std::size_t>(bins) * Tp, 0.0f);
    P.assign(static_cast<std::size_t>(bins) * Tp, 0.0f);
    mh.assign(static_cast<std::size_t>(bins) * Tp, 0.0f);
    mp.assign(static_cast<std::size_t>(bins) * Tp, 0.0f);
    MedianWork mw;
    hpss_medians(mag.data(), bins, T, Tp, s.hpss_spec, H.data(), P.data(), mw);
    for (int f = 0; f < bins; ++f) {
      const long off = static_cast<long>(f) * Tp;
      hpss_mask_row(H.data() + off, P.data() + off, T, s.hpss_spec, mh.data() + off, mp.data() + off);
    }
  }
  auto feeds = [&](int f) { return s.bank.start[f] != s.bank.start[f + 1]; };
  const long per_c = static_cast<long>(M) * T;
  std::vector<float> mel(static_cast<std::size_t>(C) * per_c, 0.0f), row(T);
  for (int f = 0; f < bins; ++f) {
    if (!feeds(f)) continue;
    for (int c = 0; c < C; ++c) {
      for (int t = 0; t < T; ++t) {
        const long i = static_cast<long>(f) * T + t;
        if (!s.hpss) {
          row[t] = s.power == 2.0f ? xr[i] * xr[i] + xi[i] * xi[i]
                                   : spectrum_value(mag[static_cast<long>(f) * Tp + t], s.power);
        } else {
          const float mk = (c == 0 ? mh : mp)[static_cast<long>(f) * Tp + t];
          row[t] = spectrum_value(mag[static_cast<long>(f) * Tp + t] * mk, s.power);
        }
      }
      mel_accumulate_bin(s.bank, f, row.data(), T, mel.data() + c * per_c, T);
    }
  }
  // ---- backwards: scale, mel^T, power (and masks, medians), |X|, STFT
  DVec gmel(static_cast<std::size_t>(C) * per_c);
  for (int c = 0; c < C; ++c) scale_backward_one(s.scale, mel.data() + c * per_c, gout + c * per_c, per_c,
                                                 gmel.data() + c * per_c);
  DVec gre(cells, 0.0), gim(cells, 0.0), gmag(cells, 0.0), gS(static_cast<std::size_t>(C) * T);
  DVec gmh, gmp;
  if (s.hpss) {
    gmh.assign(cells, 0.0);
    gmp.assign(cells, 0.0);
  }
  const double p = s.power;
  for (int f = 0; f < bins; ++f) {
    if (!feeds(f)) continue;
    std::fill(gS.begin(), gS.end(), 0.0);
    for (int j = s.bank.start[f]; j < s.bank.start[f + 1]; ++j) {
      const double wt = s.bank.weight[j];
      for (int c = 0; c < C; ++c) {
        const double* src = gmel.data() + c * per_c + static_cast<long>(s.bank.band[j]) * T;
        double* dst = gS.data() + static_cast<long>(c) * T;
        for (int t = 0; t < T; ++t) dst[t] += wt * src[t];
      }
    }
    for (int t = 0; t < T; ++t) {
      const long i = static_cast<long>(f) * T + t;
      const double m = mag[static_cast<long>(f) * Tp + t];
      if (!s.hpss) {
        if (s.power == 2.0f) {
          gre[i] = 2.0 * xr[i] * gS[t];
          gim[i] = 2.0 * xi[i] * gS[t];
        } else {
          gmag[i] += gS[t] * power_grad(m, p);
        }
      } else {
        const double kh = mh[static_cast<long>(f) * Tp + t], kp = mp[static_cast<long>(f) * Tp + t];
        const double gah = gS[t] * power_grad(m * kh, p), gap = gS[T + t] * power_grad(m * kp, p);
        gmag[i] += gah * kh + gap * kp;
        gmh[i] = gah * m;
        gmp[i] = gap * m;
      }
    }
  }
  if (s.hpss) masks_backward(mag.data(), H.data(), P.data(), bins, T, Tp, s.hpss_spec, gmh.data(), gmp.data(),
                             gmag.data());
  if (s.hpss || s.power != 2.0f) {
    for (int f = 0; f < bins; ++f)
      for (int t = 0; t < T; ++t) {
        const long i = static_cast<long>(f) * T + t;
        const double m = mag[static_cast<long>(f) * Tp + t];
        if (gmag[i] != 0.0 && m > 0.0) {
          gre[i] += gmag[i] * xr[i] / m;
          gim[i] += gmag[i] * xi[i] / m;
        }
      }
  }
  DVec gy(static_cast<std::size_t>(n), 0.0);
  stft_adjoint(s.stft, gre.data(), gim.data(), frames, n, gy.data());
  for (long i = 0; i < n; ++i) gy_out[i] = static_cast<float>(gy[i]);
}

}  // namespace

void frontend_backward_run(const FrontendSpec& s, const float* y, long batch, long n, const float* grad_out,
                           float* grad_y, int num_threads) {
  TF_CHECK(s.bank.n_bins == s.stft.n_bins(), "mel bank has ", s.bank.n_bins, " bins, STFT has ",
           s.stft.n_bins());
  const long frames = stft_num_frames(n, s.stft);
  const long per = static_cast<long>(s.channels()) * s.bank.n_mels * frames;
  tf::parallel_for(
      batch,
      [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b)
          frontend_backward_clip(s, y + b * n, n, frames, grad_out + b * per, grad_y + b * n);
      },
      num_threads, 1);
}

void hpss_masks_backward_run(const HpssSpec& s, const float* mag, long batch, int bins, int frames,
                             const float* grad_harm, const float* grad_perc, float* grad_mag, int num_threads) {
  const int Tp = round_up(frames, kLanes);
  const long per = static_cast<long>(bins) * frames;
  tf::parallel_for(
      batch,
      [&](int64_t b0, int64_t b1) {
        FloatBuffer m(static_cast<std::size_t>(bins) * Tp), H(m.size()), P(m.size());
        DVec gmh(per), gmp(per), gmag(per);
        MedianWork mw;
        for (int64_t b = b0; b < b1; ++b) {
          std::fill(m.begin(), m.end(), 0.0f);
          for (int f = 0; f < bins; ++f)
            std::copy(mag + b * per + static_cast<long>(f) * frames, mag + b * per + static_cast<long>(f + 1) * frames,
                      m.data() + static_cast<long>(f) * Tp);
          hpss_medians(m.data(), bins, frames, Tp, s, H.data(), P.data(), mw);
          for (long i = 0; i < per; ++i) {
            gmh[i] = grad_harm[b * per + i];
            gmp[i] = grad_perc[b * per + i];
          }
          std::fill(gmag.begin(), gmag.end(), 0.0);
          masks_backward(m.data(), H.data(), P.data(), bins, frames, Tp, s, gmh.data(), gmp.data(), gmag.data());
          for (long i = 0; i < per; ++i) grad_mag[b * per + i] = static_cast<float>(gmag[i]);
        }
      },
      num_threads, 1);
}

void mel_project_backward_run(const MelBank& bank, const float* grad, long batch, int frames, float* out,
                              int num_threads) {
  const long in_per = static_cast<long>(bank.n_mels) * frames;
  const long out_per = static_cast<long>(bank.n_bins) * frames;
  tf::parallel_for(
      batch,
      [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          float* o = out + b * out_per;
          std::fill(o, o + out_per, 0.0f);
          for (int f = 0; f < bank.n_bins; ++f)
            for (int j = bank.start[f]; j < bank.start[f + 1]; ++j) {
              const float wt = bank.weight[j];
              const float* src = grad + b * in_per + static_cast<long>(bank.band[j]) * frames;
              float* dst = o + static_cast<long>(f) * frames;
              for (int t = 0; t < frames; ++t) dst[t] += wt * src[t];
            }
        }
      },
      num_threads, 1);
}

void scale_backward_run(const ScaleSpec& s, const float* x, const float* grad, long batch, long count,
                        float* grad_x, int num_threads) {
  tf::parallel_for(
      batch,
      [&](int64_t b0, int64_t b1) {
        DVec gx(static_cast<std::size_t>(count));
        for (int64_t b = b0; b < b1; ++b) {
          scale_backward_one(s, x + b * count, grad + b * count, count, gx.data());
          for (long i = 0; i < count; ++i) grad_x[b * count + i] = static_cast<float>(gx[i]);
        }
      },
      num_threads, 1);
}

}  // namespace tf::frontend
