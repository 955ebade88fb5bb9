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
#define TF_PROF_RESET() tf_prof_t = __rdtsc()
#define TF_PROF(i)                                                                    \
  do {                                                                                \
    const unsigned long long n_ = __rdtsc();                                          \
    const long k_ = __atomic_fetch_add(&g_prof_n, 1, __ATOMIC_RELAXED);             \
    if (k_ < (1 << 22)) g_prof[k_] = (n_ - tf_prof_t) | (static_cast<unsigned long long>(i) << 56); \
    tf_prof_t = n_;                                                                   \
  } while (0)
#else
#define TF_PROF_START() (void)0
#define TF_PROF_RESET() (void)0
#define TF_PROF(i) (void)0
#endif

namespace tf::frontend {
namespace {

struct ClipWork {
  StftWork stft;
  MedianWork median;
  FloatBuffer mag, harm, perc, mel, row_h, row_p, mask_h, mask_p, lanes;
  FloatBuffer rows_h, rows_p;  // a clip's masked power rows (frontend_clip_threads)
  FloatBuffer strip_mag, strip_perc;  // stage 2's rows of one strip of 16 bins
  FloatBuffer strip_pm;                // stage 2's percussive median of one wide strip (strip_width rows)

  // The buffers that grow with the clip (the FFT scratch is bounded by n_fft).
  std::size_t bytes() const {
    std::size_t n = stft.padded.capacity() + median.window.capacity() + median.lanes_in.capacity() +
                    median.lanes_out.capacity();
    for (const FloatBuffer* b : {&mag, &harm, &perc, &mel, &row_h, &row_p, &mask_h, &mask_p, &lanes, &rows_h, &rows_p, &strip_mag, &strip_perc, &strip_pm})
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

// One clip's shared state between the stages of the fused frontend.
struct ClipCtx {
  const FrontendSpec& s;
  const FftTables& tables;
  int bins, T, Tp, M, C;
  const float* padded;  // the padded signal (pad_signal)
  // HPSS: |X| and the percussive median, bins x Tp rows, or with `blocks` group-major: one
  // block per group of 16 frames, block g = bins lane arrays of 16 frames (the FFT's and
  // the median's own layout), bin f of frame 16 g + l at [g * bins * 16 + f * 16 + l].
  // Stage 1 writes a block in one contiguous sweep where rows take a cache line every
  // 2 KiB: when a model's forward pass has just left the caches cold (one clip per call),
  // each of those is a miss; stage 2 then copies its strip rows from 1 KiB pieces, and its
  // percussive median (strip_width) reads the block's bins in one contiguous run. Measured
  // on AVX2: one clip after a 32 MiB sweep 1.1-1.2x faster with blocks; batches too, since
  // the percussive median moved to stage 2 (5-8 % at 1 thread; with rows, batches were
  // 5-10 % faster while stage 1 wrote both spectrograms, as it still does for windows past
  // the median's block algorithm: there batches keep rows).
  bool blocks;
  float* mag;
  float* perc;
  float* mel;           // C x M x Tp, zeroed
  // The bins [f_lo, f_hi) that feed a band: the percussive median is computed there
  // only (cocola: 496 of 513 bins, 16 blocks of the median's 31 instead of 17), stage 2
  // runs its strips from f_lo.
  int f_lo, f_hi;
  // Bins per stage-2 strip (at most 2 kLanes). Greater than kLanes: the percussive median
  // is computed in stage 2, strip by strip, from |X| (one block of the median's per group
  // of 16 frames when it equals win_perc: cocola's 496 bins = 16 strips of 31), into a
  // strip buffer that stays in L2, and `perc` does not exist: the clip's working set is |X|
  // alone (1 MiB for cocola, instead of 2 MiB with the percussive spectrogram, whose stores
  // from stage 1 went to lines 2 KiB apart and missed the caches). kLanes: stage 1 computes
  // `perc` (windows past the median's block algorithm, whose cost would not be per strip).
  int strip_width;
};

// Bins per stage-2 strip (ClipCtx::strip_width).
int strip_width_for(const FrontendSpec& s) {
  const int k = s.hpss_spec.win_perc;
  if (!s.hpss || k > kMedianBlockMax) return kLanes;
  return k > kLanes && k <= 2 * kLanes ? k : 2 * kLanes;
}

ClipCtx clip_ctx(const FrontendSpec& s, long frames) {
  const int T = static_cast<int>(frames);
  const int bins = s.stft.n_bins();
  const bool fed = s.bank.n_bins == bins;  // the bank's feeding range (built with the bank)
  const int f_lo = fed ? s.bank.feed_lo : 0, f_hi = fed ? s.bank.feed_hi : 0;
  return ClipCtx{s, (s.stft.plan ? *s.stft.plan : fft_plan(s.stft.n_fft)).tables(), bins, T,
                 round_up(T, kLanes), s.bank.n_mels, s.channels(), nullptr, false, nullptr, nullptr, nullptr,
                 f_lo, f_hi, strip_width_for(s)};
}

// Stage 1 for the 16 frames from t0: the spectrum; without HPSS straight into the mel
// columns t0.., with HPSS |X| into the columns of mag and the percussive median (along
// frequency) of these frames into perc while they are in cache (the FFT's lanes are frames
// and its positions bins, the layout the kernel wants). Writes only columns t0..t0+15 (with
// blocks: block t0 / 16).
// Scratch: w.stft (frames, FFT), w.lanes, w.median.window.
void clip_group(const ClipCtx& c, int t0, ClipWork& w) {
  const FrontendSpec& s = c.s;
  const int cnt = std::min(kLanes, c.T - t0);
  TF_PROF_START();
  if (!s.hpss) {
    // Spectrum -> mel straight from each group of 16 frames.
    stft_frames(s.stft, c.padded, w.stft, t0, cnt);
    kernels().rfft(c.tables, w.stft.fft.zr.data(), w.stft.fft.zi.data(), w.stft.fft.sr.data(), w.stft.fft.si.data(),
                   s.stft.win_lo / 2, stft_nz_hi(s.stft), w.stft.fft.xr.data(), w.stft.fft.xi.data());
    const float* xr = w.stft.fft.xr.data();
    const float* xi = w.stft.fft.xi.data();
    if (s.power == 2.0f) {
      // one kernel per group: the power and the weighted sums in 16-lane vectors (the mel rows
      // are Tp = T rounded up to 16 long, so the 16 columns from t0 exist)
      const MelBank& bank = s.bank;
      kernels().power_mel(xr, xi, 0, c.bins, bank.start.data(), bank.band.data(), bank.weight.data(), c.mel + t0,
                          c.Tp);
      return;
    }
    float row[kLanes];  // other powers: |X|^power per bin, then the bin's mel weights
    for (int f = 0; f < c.bins; ++f) {
      const float* a = xr + static_cast<long>(f) * kLanes;
      const float* b = xi + static_cast<long>(f) * kLanes;
      for (int l = 0; l < kLanes; ++l) row[l] = spectrum_value(std::sqrt(a[l] * a[l] + b[l] * b[l]), s.power);
      mel_accumulate_bin(s.bank, f, row, kLanes, c.mel + t0, c.Tp);
    }
    return;
  }
  const Kernels& kern = kernels();
  float* win = ensure(w.median.window, median_work_floats(std::max(s.hpss_spec.win_perc, s.hpss_spec.win_harm)));
  stft_frames(s.stft, c.padded, w.stft, t0, cnt);
  TF_PROF(1);
  if (c.blocks) {
    const long block = static_cast<long>(t0 / kLanes) * c.bins * kLanes;
    kern.rfft_magnitude(c.tables, w.stft.fft.zr.data(), w.stft.fft.zi.data(), w.stft.fft.sr.data(),
                        w.stft.fft.si.data(), s.stft.win_lo / 2, stft_nz_hi(s.stft), c.mag + block, nullptr, 0);
    TF_PROF(2);
    if (!c.perc) return;  // computed by stage 2 (ClipCtx::strip_width)
    kern.median_range(c.mag + block, kLanes, c.bins, s.hpss_spec.win_perc, c.f_lo, c.f_hi, c.perc + block, kLanes,
                      win);
    TF_PROF(3);
    return;
  }
  float* lanes = ensure(w.lanes, static_cast<std::size_t>(c.bins) * kLanes);
  kern.rfft_magnitude(c.tables, w.stft.fft.zr.data(), w.stft.fft.zi.data(), w.stft.fft.sr.data(),
                      w.stft.fft.si.data(), s.stft.win_lo / 2, stft_nz_hi(s.stft), lanes, c.mag + t0, c.Tp);
  TF_PROF(2);
  if (!c.perc) return;  // computed by stage 2 (ClipCtx::strip_width)
  kern.median_range(lanes, kLanes, c.bins, s.hpss_spec.win_perc, c.f_lo, c.f_hi, c.perc + t0, c.Tp, win);
  TF_PROF(3);
}

// The harmonic strip buffer of stage 2 (16 rows of Tp, the cells past T zero), once per thread.
float* strip_rows(const ClipCtx& c, ClipWork& w) {
  const long ld = c.Tp;
  float* harm = ensure(w.harm, static_cast<std::size_t>(kLanes) * ld);
  for (int l = 0; l < kLanes; ++l) std::fill(harm + l * ld + c.T, harm + l * ld + c.Tp, 0.0f);
  return harm;
}

// Stage 2 (HPSS) for the nr <= 16 bins from f0: the harmonic median along time, the masks and
// the masked power rows of the bins that feed a band. pm: the percussive median's rows of
// these bins (ld Tp), or null: from c.perc. rows_h / rows_p null: the rows go into the
// mel bands straight away (mel_accumulate_bin's arithmetic, band by band); else they are
// kept there (bins x Tp) for stage 3. So the harmonic spectrogram never exists in full (the
// working set stays mag + perc, or mag alone: ClipCtx::strip_width). Scratch: w.median, w.harm (strip_rows), w.mask_*, w.row_*.
void clip_strip(const ClipCtx& c, int f0, int nr_bins, ClipWork& w, float* rows_h, float* rows_p, const float* pm) {
  const FrontendSpec& s = c.s;
  const MelBank& bank = s.bank;
  const int T = c.T, Tp = c.Tp;
  const long ld = Tp;
  // nl rows of |X| go into the lanes (16 where they exist: the extra lanes' medians are
  // not used), the first nr are the strip's bins.
  const int nl = std::min(kLanes, c.bins - f0);
  const int nr = std::min(nl, nr_bins);
  if (bank.start[f0] == bank.start[f0 + nr]) return;  // these bins feed no band
  TF_PROF_START();
  const Kernels& kern = kernels();
  float* lin = ensure(w.median.lanes_in, static_cast<std::size_t>(Tp) * kLanes);
  float* lout = ensure(w.median.lanes_out, static_cast<std::size_t>(T) * kLanes);
  float* win = ensure(w.median.window, median_work_floats(std::max(s.hpss_spec.win_perc, s.hpss_spec.win_harm)));
  float* harm = w.harm.data();
  float* mh = ensure(w.mask_h, Tp);
  float* mp = ensure(w.mask_p, Tp);
  float* rh = ensure(w.row_h, Tp);
  float* rp = ensure(w.row_p, Tp);
  float* mel_h = c.mel;
  float* mel_p = c.mel + static_cast<std::size_t>(c.M) * Tp;
  // |X| of the strip as the lane array of the harmonic median (lanes = bins), and the rows
  // (16 x Tp) of |X| and of the percussive median for the masks: with rows, pointers into
  // them; with blocks, copies from the 1 KiB pieces (prefetched two groups ahead: too short
  // for the hardware prefetcher to follow).
  const float* mag_rows = c.mag + static_cast<long>(f0) * ld;
  const float* perc_rows = pm ? pm : c.perc + static_cast<long>(f0) * ld;
  if (!c.blocks) {
    if (nl == kLanes) {
      kern.to_lanes(mag_rows, ld, T, lin);
    } else {
      zero(lin, static_cast<std::size_t>(T) * kLanes);
      for (int l = 0; l < nl; ++l)
        for (int t = 0; t < T; ++t) lin[static_cast<long>(t) * kLanes + l] = mag_rows[l * ld + t];
    }
  } else {
    float* mag = ensure(w.strip_mag, static_cast<std::size_t>(kLanes) * ld);
    float* perc = ensure(w.strip_perc, static_cast<std::size_t>(kLanes) * ld);
    const int G = Tp / kLanes;
    const long gstride = static_cast<long>(c.bins) * kLanes;
    auto prefetch = [&](int g) {
      if (g >= G) return;
      const float* pmag = c.mag + g * gstride + static_cast<long>(f0) * kLanes;
      for (int i = 0; i < nl; ++i) __builtin_prefetch(pmag + i * kLanes);
      if (pm) return;
      const float* pp = c.perc + g * gstride + static_cast<long>(f0) * kLanes;
      for (int i = 0; i < nr; ++i) __builtin_prefetch(pp + i * kLanes);
    };
    prefetch(0);
    prefetch(1);
    if (nl == kLanes) {
      for (int g = 0; g < G; ++g) {
        prefetch(g + 2);
        kern.to_lanes(c.mag + g * gstride + static_cast<long>(f0) * kLanes, kLanes, kLanes, lin + g * kLanes * kLanes);
      }
      kern.from_lanes(lin, Tp, mag, ld);
    } else {
      zero(lin, static_cast<std::size_t>(Tp) * kLanes);
      for (int l = 0; l < nl; ++l)
        for (int g = 0; g < G; ++g) {
          const float* src = c.mag + g * gstride + static_cast<long>(f0 + l) * kLanes;
          for (int i = 0; i < kLanes; ++i) {
            lin[static_cast<long>(g * kLanes + i) * kLanes + l] = src[i];
            mag[l * ld + g * kLanes + i] = src[i];
          }
        }
    }
    if (!pm) {
      for (int l = 0; l < nr; ++l)
        for (int g = 0; g < G; ++g)
          std::memcpy(perc + l * ld + g * kLanes, c.perc + g * gstride + static_cast<long>(f0 + l) * kLanes,
                      sizeof(float) * kLanes);
      perc_rows = perc;
    }
    mag_rows = mag;
  }
  const bool fused = !rows_h && !s.hpss_spec.hard && s.hpss_spec.power == 2.0f && s.power == 2.0f;
  TF_PROF(4);
  kern.median(lin, kLanes, T, s.hpss_spec.win_harm, lout, kLanes, win);
  TF_PROF(5);
  kern.from_lanes(lout, T, harm, ld);
  TF_PROF(6);
  // Masks, power and mel sums in one pass per bin (Kernels::masked_mel2, the same bits).
  for (int l = 0; l < nr; ++l) {
    const int f = f0 + l;
    if (bank.start[f] == bank.start[f + 1]) continue;  // bin feeds no band
    const long off = f * ld;
    if (fused) {
      constexpr int kMaxBands = 8;
      float* dh[kMaxBands];
      float* dp[kMaxBands];
      for (int j0 = bank.start[f]; j0 < bank.start[f + 1]; j0 += kMaxBands) {
        const int nb = std::min(kMaxBands, bank.start[f + 1] - j0);
        for (int j = 0; j < nb; ++j) {
          const long band = static_cast<long>(bank.band[j0 + j]) * Tp;
          dh[j] = mel_h + band;
          dp[j] = mel_p + band;
        }
        kern.masked_mel2(harm + l * ld, perc_rows + l * ld, mag_rows + l * ld, kLanes, Tp, s.hpss_spec.margin_harm,
                         s.hpss_spec.margin_perc, s.hpss_spec.split_zeros(), nb, &bank.weight[j0], dh, dp);
      }
      TF_PROF(7);
      continue;
    }
    hpss_mask_row(harm + l * ld, perc_rows + l * ld, Tp, s.hpss_spec, mh, mp);
    TF_PROF(7);
    const float* m = mag_rows + l * ld;
    float* oh = rows_h ? rows_h + off : rh;
    float* op = rows_p ? rows_p + off : rp;
    if (s.power == 2.0f) {
      kern.power_masked2(m, mh, mp, T, oh, op);
    } else {
      for (int t = 0; t < T; ++t) {
        oh[t] = spectrum_value(m[t] * mh[t], s.power);
        op[t] = spectrum_value(m[t] * mp[t], s.power);
      }
    }
    TF_PROF(8);
    if (rows_h) continue;
    // mel_accumulate_bin's arithmetic (out[band] += weight * row), per band of this bin.
    for (int j = bank.start[f]; j < bank.start[f + 1]; ++j) {
      const long band = static_cast<long>(bank.band[j]) * Tp;
      kern.axpy(bank.weight[j], rh, T, mel_h + band);
      kern.axpy(bank.weight[j], rp, T, mel_p + band);
    }
    TF_PROF(9);
  }
}

// Stage 2 for the strip of bins [f0, f0 + strip_width) (clipped to f_hi): with no `perc`, its
// percussive median first (group by group of 16 frames, from |X|, into w.strip_pm), then
// clip_strip for each 16 of its bins.
void clip_wide_strip(const ClipCtx& c, int f0, ClipWork& w, float* rows_h, float* rows_p) {
  const int nb = std::min(c.strip_width, c.f_hi - f0);
  if (c.perc) {
    clip_strip(c, f0, nb, w, rows_h, rows_p, nullptr);
    return;
  }
  const MelBank& bank = c.s.bank;
  if (bank.start[f0] == bank.start[f0 + nb]) return;  // these bins feed no band
  TF_PROF_START();
  const Kernels& kern = kernels();
  const int k = c.s.hpss_spec.win_perc;
  const long ld = c.Tp;
  float* win = ensure(w.median.window, median_work_floats(std::max(k, c.s.hpss_spec.win_harm)));
  float* pm = ensure(w.strip_pm, static_cast<std::size_t>(c.strip_width) * ld);
  const long gstride = c.blocks ? static_cast<long>(c.bins) * kLanes : kLanes;
  const std::ptrdiff_t in_stride = c.blocks ? kLanes : ld;
  // Output position f of group g at pm[(f - f0) * ld + 16 g] (median_range indexes out from 0).
  float* out0 = pm - static_cast<long>(f0) * ld;
  for (int g = 0; g < c.Tp / kLanes; ++g)
    kern.median_range(c.mag + g * gstride, in_stride, c.bins, k, f0, f0 + nb, out0 + g * kLanes, ld, win);
  TF_PROF(3);
  for (int f = f0; f < f0 + nb; f += kLanes)
    clip_strip(c, f, std::min(kLanes, f0 + nb - f), w, rows_h, rows_p, pm + static_cast<long>(f - f0) * ld);
}

// Stage 4: the mel rows (stride Tp) -> out (C x M x T), scaled per channel.
void clip_finish(const ClipCtx& c, float* out) {
  for (int ch = 0; ch < c.C; ++ch) {
    float* dst = out + static_cast<long>(ch) * c.M * c.T;
    for (int m = 0; m < c.M; ++m)
      std::memcpy(dst + static_cast<long>(m) * c.T, c.mel + (static_cast<long>(ch) * c.M + m) * c.Tp,
                  sizeof(float) * c.T);
    apply_scale(dst, static_cast<long>(c.M) * c.T, c.s.scale);
  }
}

// The clip's shared buffers in w (the padded signal, mag, perc, the zeroed mel rows).
ClipCtx clip_setup(const FrontendSpec& s, const float* y, long n, long frames, ClipWork& w, bool blocks) {
  ClipCtx c = clip_ctx(s, frames);
  c.blocks = blocks;
  pad_signal(y, n, s.stft, w.stft);
  c.padded = w.stft.padded.data();
  c.mel = ensure(w.mel, static_cast<std::size_t>(c.C) * c.M * c.Tp);
  zero(c.mel, static_cast<std::size_t>(c.C) * c.M * c.Tp);
  if (s.hpss) {
    c.mag = ensure(w.mag, static_cast<std::size_t>(c.bins) * c.Tp);  // rows or blocks (ClipCtx)
    if (c.strip_width == kLanes) c.perc = ensure(w.perc, static_cast<std::size_t>(c.bins) * c.Tp);
  }
  return c;
}

// One clip on the calling thread (blocks: ClipCtx).
void frontend_clip(const FrontendSpec& s, const float* y, long n, long frames, float* out, ClipWork& w,
                   bool blocks) {
  TF_PROF_START();
  const ClipCtx c = clip_setup(s, y, n, frames, w, blocks);
  TF_PROF(0);
  for (int t0 = 0; t0 < c.T; t0 += kLanes) clip_group(c, t0, w);
  if (s.hpss) {
    strip_rows(c, w);
    for (int f0 = c.f_lo; f0 < c.f_hi; f0 += c.strip_width) clip_wide_strip(c, f0, w, nullptr, nullptr);
  }
  TF_PROF_RESET();
  clip_finish(c, out);
  TF_PROF(10);
}

// fn(task, workspace) for tasks [0, count) over up to `threads` threads, one task at a time
// from a shared counter (a thread the OS sets aside delays one task, not a share).
template <class Fn>
void for_each_task(long count, int threads, Fn&& fn) {
  std::atomic<long> next{0};
  tf::parallel_for(
      std::max<long>(1, std::min<long>(count, threads)),
      [&](int64_t, int64_t) {
        auto& ws = thread_work();
        tf::Workspace::Use use(ws);
        ClipWork& w = ws.value;
        for (long i = next.fetch_add(1); i < count; i = next.fetch_add(1)) fn(i, w);
      },
      threads, 1);
}

// fn(item, workspace) for every item of the batch. Each thread pulls one item at a time
// from a shared counter, so a thread that the OS sets aside (a busy machine) delays at
// most one item instead of a whole chunk of the batch.
template <class Fn>
void for_each_item(long batch, int num_threads, Fn&& fn) {
  if (batch <= 0) return;
  for_each_task(batch, num_threads > 0 ? num_threads : tf::get_num_threads(), fn);
}

// One clip over several threads (a batch smaller than the thread count: one candidate), with
// the serial path's bits: stage 1 by groups of 16 frames and stage 2 by strips of 16 bins
// (each writes its own columns / rows), then stage 3, the mel sums, band by band with the
// bins in the serial order; each stage pulls its tasks from a shared counter.
void frontend_clip_threads(const FrontendSpec& s, const float* y, long n, long frames, float* out, ClipWork& w,
                           int threads) {
  const ClipCtx c = clip_setup(s, y, n, frames, w, true);
  for_each_task((c.T + kLanes - 1) / kLanes, threads,
                [&](long g, ClipWork& tw) { clip_group(c, static_cast<int>(g) * kLanes, tw); });
  if (!s.hpss) {
    clip_finish(c, out);
    return;
  }
  const std::size_t cells = static_cast<std::size_t>(c.bins) * c.Tp;
  float* rows_h = ensure(w.rows_h, cells);
  float* rows_p = ensure(w.rows_p, cells);
  for_each_task((c.f_hi - c.f_lo + c.strip_width - 1) / c.strip_width, threads, [&](long i, ClipWork& tw) {
    strip_rows(c, tw);  // (the padding of a few cells; another clip may have left other T)
    clip_wide_strip(c, c.f_lo + static_cast<int>(i) * c.strip_width, tw, rows_h, rows_p);
  });
  // Stage 3: task = (channel, band); the band's (bin, weight) pairs in bin order (the
  // bank's band-major copy, built once with the bank).
  const MelBank& bank = s.bank;
  const Kernels& kern = kernels();
  for_each_task(2L * c.M, threads, [&](long task, ClipWork&) {
    const int ch = static_cast<int>(task / c.M), m = static_cast<int>(task % c.M);
    const float* rows = ch == 0 ? rows_h : rows_p;
    float* dst = c.mel + (static_cast<long>(ch) * c.M + m) * c.Tp;
    for (int k = bank.band_start[m]; k < bank.band_start[m + 1]; ++k)
      kern.axpy(bank.band_weight[k], rows + static_cast<long>(bank.band_bin[k]) * c.Tp, c.T, dst);
  });
  clip_finish(c, out);
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
  const int threads = num_threads > 0 ? num_threads : tf::get_num_threads();
  if (batch < threads && threads > 1) {
    // Fewer clips than threads (one candidate): each clip over all the threads.
    auto& ws = thread_work();
    tf::Workspace::Use use(ws);
    for (long b = 0; b < batch; ++b) frontend_clip_threads(s, y + b * n, n, frames, out + b * per, ws.value, threads);
    return;
  }
  // One clip per call (a candidate scored after a model's pass): the cold-cache layout;
  // batches too where stage 2 computes the percussive median (ClipCtx::blocks).
  const bool blocks = batch == 1 || !s.hpss || strip_width_for(s) > kLanes;
  for_each_item(batch, num_threads,
                [&](long b, ClipWork& w) { frontend_clip(s, y + b * n, n, frames, out + b * per, w, blocks); });
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
