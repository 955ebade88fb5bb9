// Stage-by-stage profile of the fused COCOLA frontend on one thread (thread CPU time,
// best of N), built against the core's static library:
//   c++ -O2 -std=c++17 -Icsrc benchmarks/native/frontend_profile.cpp build/dev/libtimbrefast_cpu.a -lpthread
// Not part of the build or the tests: a developer's tool (timings stay in benchmarks/).
#include <time.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "frontend/frontend.h"
#include "frontend/kernels.h"
#include "frontend/hpss.h"
#include "frontend/mel.h"

using namespace tf::frontend;

static double tnow() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

template <class F>
static double best_of(int reps, F&& f) {
  double best = 1e30;
  for (int r = 0; r < reps; ++r) {
    const double t0 = tnow();
    f();
    best = std::min(best, tnow() - t0);
  }
  return best;
}

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 15;
  const int n = 80000, n_fft = 1024, hop = 160, bins = 513, M = 64, k = 31;
  std::mt19937 rng(0);
  std::normal_distribution<float> nd(0.f, 0.1f);
  const int B = 8;
  std::vector<float> y(static_cast<size_t>(B) * n);
  for (auto& v : y) v = nd(rng);

  FrontendSpec s;
  s.stft = make_stft_spec(n_fft, hop, make_window(WindowKind::Hann, 400, n_fft), true, PadMode::Constant);
  s.hpss = true;
  MelSpec ms;
  ms.sr = 16000;
  ms.n_fft = n_fft;
  ms.n_mels = M;
  ms.fmin = 60;
  ms.fmax = 7800;
  auto dense = mel_filters(ms);
  s.bank = mel_bank_from_dense(dense.data(), M, bins);
  s.scale.scale = Scale::Db;
  const long T = stft_num_frames(n, s.stft);
  const int Tp = round_up(static_cast<int>(T), kLanes);
  const Kernels& kern = kernels();
  std::printf("kernels: %s, T=%ld\n", kern.name, T);

  std::vector<float> out(static_cast<size_t>(B) * 2 * M * T);
  const double full = best_of(reps, [&] { frontend_run(s, y.data(), B, n, out.data(), 1); }) / B;

  // Stages of one clip.
  StftWork sw;
  pad_signal(y.data(), n, s.stft, sw);
  FloatBuffer mag(static_cast<size_t>(bins) * Tp), perc(static_cast<size_t>(bins) * Tp),
      lanes(static_cast<size_t>(bins) * kLanes), win(median_work_floats(k)),
      lin(static_cast<size_t>(T) * kLanes), lout(static_cast<size_t>(T) * kLanes), rh(Tp), rp(Tp), mh(Tp),
      mp(Tp), hrow(Tp), mel(static_cast<size_t>(2) * M * Tp);
  const double t_pad = best_of(reps, [&] { pad_signal(y.data(), n, s.stft, sw); });
  const double t_stft = best_of(reps, [&] {
    for (int t0 = 0; t0 < T; t0 += kLanes) stft_group(s.stft, sw, t0, std::min<int>(kLanes, T - t0));
  });
  const double t_fft = best_of(reps, [&] {
    for (int t0 = 0; t0 < T; t0 += kLanes)
      kern.rfft(s.stft.plan->tables(), sw.fft.zr.data(), sw.fft.zi.data(), sw.fft.sr.data(), sw.fft.si.data(),
                s.stft.win_lo / 2, stft_nz_hi(s.stft),
                sw.fft.xr.data(), sw.fft.xi.data());
  });
  const double t_mag = best_of(reps, [&] {
    for (int t0 = 0; t0 < T; t0 += kLanes) {
      const float* xr = sw.fft.xr.data();
      const float* xi = sw.fft.xi.data();
      for (int f = 0; f < bins; ++f) {
        const float* a = xr + f * kLanes;
        const float* b = xi + f * kLanes;
        float* l = lanes.data() + f * kLanes;
        float* dst = mag.data() + static_cast<long>(f) * Tp + t0;
        for (int i = 0; i < kLanes; ++i) {
          l[i] = std::sqrt(a[i] * a[i] + b[i] * b[i]);
          dst[i] = l[i];
        }
      }
    }
  });
  // fill mag properly
  for (int t0 = 0; t0 < T; t0 += kLanes) {
    stft_group(s.stft, sw, t0, std::min<int>(kLanes, T - t0));
    for (int f = 0; f < bins; ++f)
      for (int i = 0; i < kLanes; ++i) {
        const float a = sw.fft.xr[f * kLanes + i], b = sw.fft.xi[f * kLanes + i];
        lanes[f * kLanes + i] = mag[static_cast<long>(f) * Tp + t0 + i] = std::sqrt(a * a + b * b);
      }
  }
  const double t_perc = best_of(reps, [&] {
    for (int t0 = 0; t0 < T; t0 += kLanes)
      kern.median(lanes.data(), kLanes, bins, k, perc.data() + t0, Tp, win.data());
  });
  // the real perc
  for (int t0 = 0; t0 < T; t0 += kLanes)
    kern.median(mag.data() + t0, Tp, bins, k, perc.data() + t0, Tp, win.data());
  int strips = 0;
  for (int f0 = 0; f0 < bins; f0 += kLanes) {
    const int nr = std::min(kLanes, bins - f0);
    if (s.bank.start[f0] != s.bank.start[f0 + nr]) ++strips;
  }
  const double t_transp = best_of(reps, [&] {
    for (int f0 = 0; f0 < bins; f0 += kLanes) {
      const int nr = std::min(kLanes, bins - f0);
      if (s.bank.start[f0] == s.bank.start[f0 + nr]) continue;
      for (int l = 0; l < nr; ++l) {
        const float* src = mag.data() + static_cast<long>(f0 + l) * Tp;
        for (int t = 0; t < T; ++t) lin[static_cast<long>(t) * kLanes + l] = src[t];
      }
    }
  });
  const double t_harm = best_of(reps, [&] {
    for (int i = 0; i < strips; ++i) kern.median(lin.data(), kLanes, T, k, lout.data(), kLanes, win.data());
  });
  int rows = 0;
  for (int f = 0; f < bins; ++f) rows += s.bank.start[f] != s.bank.start[f + 1];
  const double t_mask = best_of(reps, [&] {
    for (int f = 0; f < rows; ++f)
      hpss_mask_row(mag.data() + 5 * Tp, perc.data() + (f + 3) * Tp, Tp, s.hpss_spec, mh.data(), mp.data());
  });
  const double t_melacc = best_of(reps, [&] {
    std::memset(mel.data(), 0, sizeof(float) * mel.size());
    for (int f = 0; f < bins; ++f) {
      if (s.bank.start[f] == s.bank.start[f + 1]) continue;
      const float* m = mag.data() + static_cast<long>(f) * Tp;
      for (int t = 0; t < T; ++t) {
        const float a = m[t] * mh[t], b = m[t] * mp[t];
        rh[t] = a * a;
        rp[t] = b * b;
      }
      mel_accumulate_bin(s.bank, f, rh.data(), T, mel.data(), Tp);
      mel_accumulate_bin(s.bank, f, rp.data(), T, mel.data() + M * Tp, Tp);
    }
  });
  std::vector<float> o2(2 * M * T);
  const double t_db = best_of(reps, [&] {
    for (int c = 0; c < 2; ++c) {
      for (int m = 0; m < M; ++m) std::memcpy(o2.data() + (c * M + m) * T, mel.data() + (c * M + m) * Tp, 4 * T);
      apply_scale(o2.data() + c * M * T, M * T, s.scale);
    }
  });
  // A/B in one run (interleaved, best of reps): the spectrum stage as round 5 ran it (the full
  // radix-4 first pass, then the magnitude pass over xr/xi) against the pruned first pass and
  // the fused split + magnitude (Kernels::rfft_magnitude). Both include the framing.
  const FftTables& tb = s.stft.plan->tables();
  const int m_pairs = n_fft / 2;
  double ab_old = 1e30, ab_new = 1e30, ab_frames = 1e30;
  for (int r = 0; r < reps; ++r) {
    for (int v = 0; v < 3; ++v) {
      const int variant = (v + r) % 3;
      const double t0 = tnow();
      for (int g = 0; g < T; g += kLanes) {
        const int cnt = std::min<int>(kLanes, T - g);
        if (variant == 0) {
          // round 5: every pair zeroed and read
          stft_frames(s.stft, sw, g, cnt);
          std::memset(sw.fft.zr.data(), 0, sizeof(float) * kLanes * (s.stft.win_lo / 2));
          std::memset(sw.fft.zi.data(), 0, sizeof(float) * kLanes * (s.stft.win_lo / 2));
          const int hi = stft_nz_hi(s.stft);
          std::memset(sw.fft.zr.data() + hi * kLanes, 0, sizeof(float) * kLanes * (m_pairs - hi));
          std::memset(sw.fft.zi.data() + hi * kLanes, 0, sizeof(float) * kLanes * (m_pairs - hi));
          kern.rfft(tb, sw.fft.zr.data(), sw.fft.zi.data(), sw.fft.sr.data(), sw.fft.si.data(), 0, m_pairs,
                    sw.fft.xr.data(), sw.fft.xi.data());
          kern.magnitude(sw.fft.xr.data(), sw.fft.xi.data(), bins, lanes.data(), mag.data() + g, Tp);
        } else if (variant == 1) {
          stft_group_magnitude(s.stft, sw, g, cnt, lanes.data(), mag.data() + g, Tp);
        } else {
          stft_frames(s.stft, sw, g, cnt);
        }
      }
      const double dt = tnow() - t0;
      double& best = variant == 0 ? ab_old : variant == 1 ? ab_new : ab_frames;
      best = std::min(best, dt);
    }
  }
  std::printf("A/B spectrum stage per clip (framing + FFT + |X|), interleaved best of %d:\n", reps);
  std::printf("  round 5 (full first pass, separate magnitude): %8.1f us\n", ab_old * 1e6);
  std::printf("  pruned first pass + fused split/magnitude   : %8.1f us  (%.2fx)\n", ab_new * 1e6, ab_old / ab_new);
  std::printf("  of which framing (stft_frames)              : %8.1f us\n", ab_frames * 1e6);
  // A/B in one run (interleaved, best of reps): stage 2's per-bin tail as round 5 ran it
  // (masks, masked power, one axpy per band and channel: four passes over the row) against
  // Kernels::masked_mel2 (one pass), on this clip's magnitudes and percussive medians (the
  // harmonic row is a shifted magnitude row: the cost does not depend on the values).
  {
    double ab_r5 = 1e30, ab_fused = 1e30;
    const float* wts = s.bank.weight.data();
    float* mel_h = mel.data();
    float* mel_p = mel.data() + static_cast<std::size_t>(M) * Tp;
    for (int r = 0; r < reps; ++r) {
      for (int v0 = 0; v0 < 2; ++v0) {
        const int v = (v0 + r) % 2;
        std::memset(mel.data(), 0, sizeof(float) * mel.size());
        const double t0 = tnow();
        for (int f = 0; f < bins; ++f) {
          if (s.bank.start[f] == s.bank.start[f + 1]) continue;
          const float* m = mag.data() + static_cast<long>(f) * Tp;
          const float* hrow_ = mag.data() + static_cast<long>(f > 0 ? f - 1 : f) * Tp;
          const float* prow = perc.data() + static_cast<long>(f) * Tp;
          if (v == 0) {
            hpss_mask_row(hrow_, prow, Tp, s.hpss_spec, mh.data(), mp.data());
            kern.power_masked2(m, mh.data(), mp.data(), T, rh.data(), rp.data());
            for (int j = s.bank.start[f]; j < s.bank.start[f + 1]; ++j) {
              kern.axpy(wts[j], rh.data(), T, mel_h + static_cast<long>(s.bank.band[j]) * Tp);
              kern.axpy(wts[j], rp.data(), T, mel_p + static_cast<long>(s.bank.band[j]) * Tp);
            }
          } else {
            float* dh[8];
            float* dp[8];
            const int nb = s.bank.start[f + 1] - s.bank.start[f];
            for (int j = 0; j < nb && j < 8; ++j) {
              dh[j] = mel_h + static_cast<long>(s.bank.band[s.bank.start[f] + j]) * Tp;
              dp[j] = mel_p + static_cast<long>(s.bank.band[s.bank.start[f] + j]) * Tp;
            }
            kern.masked_mel2(hrow_, prow, m, kLanes, Tp, 1.0f, 1.0f, true, std::min(nb, 8), wts + s.bank.start[f], dh, dp);
          }
        }
        const double dt = tnow() - t0;
        (v == 0 ? ab_r5 : ab_fused) = std::min(v == 0 ? ab_r5 : ab_fused, dt);
      }
    }
    std::printf("A/B stage 2 per-bin tail per clip (masks + power + mel sums), interleaved best of %d:\n", reps);
    std::printf("  round 5 (four passes per row): %8.1f us | masked_mel2 (one pass): %8.1f us (%.2fx)\n", ab_r5 * 1e6,
                ab_fused * 1e6, ab_r5 / ab_fused);
  }
  // One clip per call (the single-candidate case), warm against after a sweep of 32 MiB (the
  // caches as a model's forward pass leaves them), interleaved; thread CPU time per call.
  {
    std::vector<float> sweep((32u << 20) / 4, 1.0f);
    float sink = 0.0f;
    std::vector<double> warm, cold;
    std::vector<float> o1(static_cast<size_t>(2) * M * T);
    for (int r = 0; r < 4 * reps; ++r) {
      for (int v = 0; v < 2; ++v) {
        if (v == 1) {
          for (std::size_t i = 0; i < sweep.size(); i += 16) sweep[i] += sink;
          sink += sweep[r];
        } else {
          frontend_run(s, y.data(), 1, n, o1.data(), 1);
        }
        const double t0 = tnow();
        frontend_run(s, y.data(), 1, n, o1.data(), 1);
        (v == 0 ? warm : cold).push_back(tnow() - t0);
      }
    }
    auto p50 = [](std::vector<double> v) { std::sort(v.begin(), v.end()); return v[v.size() / 2]; };
    auto best = [](const std::vector<double>& v) { return *std::min_element(v.begin(), v.end()); };
    std::printf("single clip (frontend_run, batch 1, 1 thread), thread CPU p50 / best: warm %.1f / %.1f us, "
                "after a 32 MiB sweep %.1f / %.1f us%s\n", p50(warm) * 1e6, best(warm) * 1e6, p50(cold) * 1e6,
                best(cold) * 1e6, sink == 0.5f ? " " : "");
  }
  const double sum = t_pad + t_stft + t_mag + t_perc + t_transp + t_harm + t_mask + t_melacc + t_db;
  auto row = [&](const char* name, double t) { std::printf("  %-28s %8.1f us  %5.1f%%\n", name, t * 1e6, 100 * t / full); };
  std::printf("full clip (frontend_run, 1 thread): %.1f us/clip; stages sum %.1f us\n", full * 1e6, sum * 1e6);
  row("pad", t_pad);
  row("stft (frame+window+rfft)", t_stft);
  row("  of which rfft", t_fft);
  row("magnitude", t_mag);
  row("percussive median", t_perc);
  row("harmonic transpose", t_transp);
  row("harmonic median", t_harm);
  row("masks", t_mask);
  row("power+mel accumulate", t_melacc);
  row("copy+dB", t_db);
  // median micro: per output
  const double per_out = (t_perc + t_harm) / (static_cast<double>(bins) * T + static_cast<double>(strips) * kLanes * T);
  std::printf("  median: %.2f ns per output (%d harmonic strips, %d mel rows)\n", per_out * 1e9, strips, rows);
  // warm-up share: median of a short line (n = 1) costs the warm-up only
  const double t_warm = best_of(reps, [&] {
    for (int i = 0; i < 64; ++i) kern.median(lanes.data(), kLanes, 1, k, lout.data(), kLanes, win.data());
  }) / 64;
  std::printf("  median warm-up (n=1): %.2f us per call, %d calls per clip = %.1f us\n", t_warm * 1e6,
              static_cast<int>((T + 15) / 16 + strips), t_warm * 1e6 * ((T + 15) / 16 + strips));
  return 0;
}
