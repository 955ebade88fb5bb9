#include "frontend/frontend.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <initializer_list>

#include "common/errors.h"
#include "common/parallel.h"
#include "common/workspace.h"
#include "frontend/kernels.h"

// TF_FRONTEND_PROFILE (never in release builds): cycles per stage of the fused clip,
// read by benchmarks/native/frontend_profile.cpp through frontend_profile_counters().
#if defined(TF_FRONTEND_PROFILE)
#include <x86intrin.h>
namespace tf::frontend {
// Each event: stage index in the top byte, cycles below (any thread; the count is atomic).
unsigned long long g_prof[1 << 22];
long g_prof_n = 0;
unsigned long long* frontend_profile_counters(long** n) {
  *n = &g_prof_n;
  return g_prof;
}
}  // namespace tf::frontend
#define TF_PROF_START() unsigned long long tf_prof_t = __rdtsc()
#define TF_PROF(i)                                                                    \
  do {                                                                                \
    const unsigned long long n_ = __rdtsc();                                          \
    const long k_ = __atomic_fetch_add(&g_prof_n, 1, __ATOMIC_RELAXED);             \
    if (k_ < (1 << 22)) g_prof[k_] = (n_ - tf_prof_t) | (static_cast<unsigned long long>(i) << 56); \
    tf_prof_t = n_;                                                                   \
  } while (0)
#else
#define TF_PROF_START() (void)0
#define TF_PROF(i) (void)0
#endif

namespace tf::frontend {
namespace {

struct ClipWork {
  StftWork stft;
  MedianWork median;
  FloatBuffer mag, harm, perc, mel, row_h, row_p, mask_h, mask_p, lanes;

  // The buffers that grow with the clip (the FFT scratch is bounded by n_fft).
  std::size_t bytes() const {
    std::size_t n = stft.padded.capacity() + median.window.capacity() + median.lanes_in.capacity() +
                    median.lanes_out.capacity();
    for (const FloatBuffer* b : {&mag, &harm, &perc, &mel, &row_h, &row_p, &mask_h, &mask_p, &lanes})
      n += b->capacity();
    return n * sizeof(float);
  }
  void release() { *this = ClipWork(); }
};

// One per thread, bounded and releasable (common/workspace.h).
tf::WorkspaceOf<ClipWork>& thread_work() {
  static thread_local tf::WorkspaceOf<ClipWork> w;
  return w;
}

inline float spectrum_value(float v, float power) {
  // |v|^power for a magnitude v >= 0.
  if (power == 2.0f) return v * v;
  if (power == 1.0f) return v;
  return std::pow(v, power);
}

void zero(float* p, std::size_t n) { std::memset(p, 0, sizeof(float) * n); }

// fn(item, workspace) for every item of the batch. Each thread pulls one item at a time
// from a shared counter, so a thread that the OS sets aside (a busy machine) delays at
// most one item instead of a whole chunk of the batch.
template <class Fn>
void for_each_item(long batch, int num_threads, Fn&& fn) {
  if (batch <= 0) return;
  const long wanted = num_threads > 0 ? num_threads : tf::get_num_threads();
  const long threads = std::max<long>(1, std::min<long>(batch, wanted));
  std::atomic<long> next{0};
  tf::parallel_for(
      threads,
      [&](int64_t, int64_t) {
        auto& ws = thread_work();
        tf::Workspace::Use use(ws);  // freed after the batch when above the high-water mark
        ClipWork& w = ws.value;
        for (long b = next.fetch_add(1); b < batch; b = next.fetch_add(1)) fn(b, w);
      },
      static_cast<int>(threads), 1);
}

void frontend_clip(const FrontendSpec& s, const float* y, long n, long frames, float* out,
                   ClipWork& w) {
  const int bins = s.stft.n_bins();
  const int T = static_cast<int>(frames);
  const int Tp = round_up(T, kLanes);
  const int M = s.bank.n_mels;
  const int C = s.channels();
  TF_PROF_START();
  pad_signal(y, n, s.stft, w.stft);
  float* mel = ensure(w.mel, static_cast<std::size_t>(C) * M * Tp);
  zero(mel, static_cast<std::size_t>(C) * M * Tp);
  TF_PROF(0);

  if (!s.hpss) {
    // Spectrum -> mel straight from each group of 16 frames.
    float row[kLanes];
    for (int t0 = 0; t0 < T; t0 += kLanes) {
      stft_group(s.stft, w.stft, t0, std::min(kLanes, T - t0));
      const float* xr = w.stft.fft.xr.data();
      const float* xi = w.stft.fft.xi.data();
      for (int f = 0; f < bins; ++f) {
        const float* a = xr + static_cast<long>(f) * kLanes;
        const float* b = xi + static_cast<long>(f) * kLanes;
        if (s.power == 2.0f) {
          for (int l = 0; l < kLanes; ++l) row[l] = a[l] * a[l] + b[l] * b[l];
        } else {
          for (int l = 0; l < kLanes; ++l)
            row[l] = spectrum_value(std::sqrt(a[l] * a[l] + b[l] * b[l]), s.power);
        }
        mel_accumulate_bin(s.bank, f, row, kLanes, mel + t0, Tp);
      }
    }
  } else {
    const long ld = Tp;  // rows of mag, perc and the harmonic strip
    float* mag = ensure(w.mag, static_cast<std::size_t>(bins) * ld);
    float* perc = ensure(w.perc, static_cast<std::size_t>(bins) * ld);
    float* lanes = ensure(w.lanes, static_cast<std::size_t>(bins) * kLanes);
    float* win = ensure(w.median.window,
                        median_work_floats(std::max(s.hpss_spec.win_perc, s.hpss_spec.win_harm)));
    const Kernels& kern = kernels();
    const FftTables& tables = (s.stft.plan ? *s.stft.plan : fft_plan(s.stft.n_fft)).tables();
    for (int t0 = 0; t0 < T; t0 += kLanes) {
      stft_frames(s.stft, w.stft, t0, std::min(kLanes, T - t0));
      TF_PROF(1);
      kern.rfft_magnitude(tables, w.stft.fft.zr.data(), w.stft.fft.zi.data(),
                          w.stft.fft.sr.data(), w.stft.fft.si.data(), s.stft.win_lo / 2, stft_nz_hi(s.stft),
                          lanes, mag + t0, ld);
      TF_PROF(2);
      // The percussive median (along frequency) of these 16 frames while they are in cache:
      // the FFT's lanes are frames and its positions are bins, the layout the kernel wants.
      kern.median(lanes, kLanes, bins, s.hpss_spec.win_perc, perc + t0, ld, win);
      TF_PROF(3);
    }
    // Harmonic median (along time) 16 bins at a time, and straight away the masks and the
    // mel of those bins, so the harmonic spectrogram never exists in full (the working set
    // stays mag + perc).
    float* lin = ensure(w.median.lanes_in, static_cast<std::size_t>(T) * kLanes);
    float* lout = ensure(w.median.lanes_out, static_cast<std::size_t>(T) * kLanes);
    float* harm = ensure(w.harm, static_cast<std::size_t>(kLanes) * ld);  // 16 rows
    for (int l = 0; l < kLanes; ++l) std::fill(harm + l * ld + T, harm + l * ld + Tp, 0.0f);
    float* mh = ensure(w.mask_h, Tp);
    float* mp = ensure(w.mask_p, Tp);
    float* rh = ensure(w.row_h, Tp);
    float* rp = ensure(w.row_p, Tp);
    float* mel_h = mel;
    float* mel_p = mel + static_cast<std::size_t>(M) * Tp;
    const MelBank& bank = s.bank;
    for (int f0 = 0; f0 < bins; f0 += kLanes) {
      const int nr = std::min(kLanes, bins - f0);
      if (bank.start[f0] == bank.start[f0 + nr]) continue;  // these bins feed no band
      if (nr == kLanes) {
        kern.to_lanes(mag + f0 * ld, ld, T, lin);
      } else {
        zero(lin, static_cast<std::size_t>(T) * kLanes);
        for (int l = 0; l < nr; ++l) {
          const float* src = mag + (f0 + l) * ld;
          for (int t = 0; t < T; ++t) lin[static_cast<long>(t) * kLanes + l] = src[t];
        }
      }
      TF_PROF(4);
      kern.median(lin, kLanes, T, s.hpss_spec.win_harm, lout, kLanes, win);
      TF_PROF(5);
      kern.from_lanes(lout, T, harm, ld);
      TF_PROF(6);
      for (int l = 0; l < nr; ++l) {
        const int f = f0 + l;
        if (bank.start[f] == bank.start[f + 1]) continue;  // bin feeds no band
        const long off = f * ld;
        hpss_mask_row(harm + l * ld, perc + off, Tp, s.hpss_spec, mh, mp);
        TF_PROF(7);
        const float* m = mag + off;
        if (s.power == 2.0f) {
          kern.power_masked2(m, mh, mp, T, rh, rp);
        } else {
          for (int t = 0; t < T; ++t) {
            rh[t] = spectrum_value(m[t] * mh[t], s.power);
            rp[t] = spectrum_value(m[t] * mp[t], s.power);
          }
        }
        TF_PROF(8);
        // mel_accumulate_bin's arithmetic (out[band] += weight * row), per band of this bin.
        for (int j = bank.start[f]; j < bank.start[f + 1]; ++j) {
          const long band = static_cast<long>(bank.band[j]) * Tp;
          kern.axpy(bank.weight[j], rh, T, mel_h + band);
          kern.axpy(bank.weight[j], rp, T, mel_p + band);
        }
        TF_PROF(9);
      }
    }
  }
  for (int c = 0; c < C; ++c) {
    float* dst = out + static_cast<long>(c) * M * T;
    for (int m = 0; m < M; ++m)
      std::memcpy(dst + static_cast<long>(m) * T, mel + (static_cast<long>(c) * M + m) * Tp,
                  sizeof(float) * T);
    apply_scale(dst, static_cast<long>(M) * T, s.scale);
  }
  TF_PROF(10);
}

}  // namespace

void stft_run(const StftSpec& s, const float* y, long batch, long n, std::complex<float>* out,
              int num_threads) {
  const long frames = stft_num_frames(n, s);
  const int bins = s.n_bins();
  for_each_item(batch, num_threads, [&](long b, ClipWork& w) {
    pad_signal(y + b * n, n, s, w.stft);
    std::complex<float>* o = out + b * bins * frames;
    for (long t0 = 0; t0 < frames; t0 += kLanes) {
      const int cnt = static_cast<int>(std::min<long>(kLanes, frames - t0));
      stft_group(s, w.stft, t0, cnt);
      const float* xr = w.stft.fft.xr.data();
      const float* xi = w.stft.fft.xi.data();
      for (int f = 0; f < bins; ++f)
        for (int l = 0; l < cnt; ++l) o[f * frames + t0 + l] = {xr[f * kLanes + l], xi[f * kLanes + l]};
    }
  });
}

void frontend_run(const FrontendSpec& s, const float* y, long batch, long n, float* out,
                  int num_threads) {
  TF_CHECK(s.bank.n_bins == s.stft.n_bins(), "mel bank has ", s.bank.n_bins, " bins, STFT has ",
           s.stft.n_bins());
  const long frames = stft_num_frames(n, s.stft);
  const long per = static_cast<long>(s.channels()) * s.bank.n_mels * frames;
  for_each_item(batch, num_threads,
                [&](long b, ClipWork& w) { frontend_clip(s, y + b * n, n, frames, out + b * per, w); });
}

void hpss_masks_run(const HpssSpec& s, const float* mag, long batch, int bins, int frames,
                    float* mask_harm, float* mask_perc, int num_threads) {
  const int Tp = round_up(frames, kLanes);
  const long per = static_cast<long>(bins) * frames;
  for_each_item(batch, num_threads, [&](long b, ClipWork& w) {
    float* m = ensure(w.mag, static_cast<std::size_t>(bins) * Tp);
    float* harm = ensure(w.harm, static_cast<std::size_t>(bins) * Tp);
    float* perc = ensure(w.perc, static_cast<std::size_t>(bins) * Tp);
    const float* src = mag + b * per;
    for (int f = 0; f < bins; ++f) {
      float* dst = m + static_cast<long>(f) * Tp;
      std::memcpy(dst, src + static_cast<long>(f) * frames, sizeof(float) * frames);
      std::fill(dst + frames, dst + Tp, 0.0f);
    }
    hpss_medians(m, bins, frames, Tp, s, harm, perc, w.median);
    for (int f = 0; f < bins; ++f) {
      const long off = static_cast<long>(f) * Tp;
      const long o = b * per + static_cast<long>(f) * frames;
      hpss_mask_row(harm + off, perc + off, frames, s, mask_harm + o, mask_perc + o);
    }
  });
}

void mel_project_run(const MelBank& bank, const float* S, long batch, int frames, float* out,
                     int num_threads) {
  const long in_per = static_cast<long>(bank.n_bins) * frames;
  const long out_per = static_cast<long>(bank.n_mels) * frames;
  tf::parallel_for(
      batch,
      [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) {
          float* o = out + b * out_per;
          zero(o, static_cast<std::size_t>(out_per));
          for (int f = 0; f < bank.n_bins; ++f)
            mel_accumulate_bin(bank, f, S + b * in_per + static_cast<long>(f) * frames, frames, o,
                               frames);
        }
      },
      num_threads, 1);
}

void scale_run(const ScaleSpec& s, float* x, long batch, long count, int num_threads) {
  tf::parallel_for(
      batch,
      [&](int64_t b0, int64_t b1) {
        for (int64_t b = b0; b < b1; ++b) apply_scale(x + b * count, count, s);
      },
      num_threads, 1);
}

}  // namespace tf::frontend
