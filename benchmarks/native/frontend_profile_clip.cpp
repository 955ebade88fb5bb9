// Time per stage of the fused COCOLA clip (frontend.cpp built with TF_FRONTEND_PROFILE),
// one thread or more (argv[2]). Robust on a shared machine: each stage's cost is the median duration of its
// events times their count (a preempted event is an outlier, not a share of the total).
// A developer's tool, not part of the build:
//   g++ -O3 -fno-math-errno -std=c++17 -Icsrc -DTF_X86=1 -DTF_FRONTEND_PROFILE \
//     benchmarks/native/frontend_profile_clip.cpp csrc/frontend/frontend.cpp build/dev/libtimbrefast_cpu.a -lpthread
#include <time.h>
#include <x86intrin.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "frontend/frontend.h"
#include "frontend/kernels.h"

namespace tf::frontend {
unsigned long long* frontend_profile_counters(long** n);
}
using namespace tf::frontend;

int main(int argc, char** argv) {
  // argv: [reps] [threads] [cold]: cold = 1 runs one clip per call with a 32 MiB sweep
  // between calls (the caches as a model's forward pass leaves them: the single-clip case).
  const int reps = argc > 1 ? std::atoi(argv[1]) : 5;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  const bool cold = argc > 3 && std::atoi(argv[3]) != 0;
  const int n = 80000, n_fft = 1024, bins = 513, M = 64, B = 8;
  std::vector<float> sweep(cold ? (32u << 20) / 4 : 0, 1.0f);
  float sink = 0.0f;
  std::mt19937 rng(0);
  std::normal_distribution<float> nd(0.f, 0.1f);
  std::vector<float> y(static_cast<size_t>(B) * n);
  for (auto& v : y) v = nd(rng);
  FrontendSpec s;
  s.stft = make_stft_spec(n_fft, 160, make_window(WindowKind::Hann, 400, n_fft), true, PadMode::Constant);
  s.hpss = true;
  MelSpec ms;
  ms.sr = 16000; ms.n_fft = n_fft; ms.n_mels = M; ms.fmin = 60; ms.fmax = 7800;
  auto dense = mel_filters(ms);
  s.bank = mel_bank_from_dense(dense.data(), M, bins);
  s.scale.scale = Scale::Db;
  const long T = stft_num_frames(n, s.stft);
  std::vector<float> out(static_cast<size_t>(B) * 2 * M * T);
  long* np_;
  unsigned long long* ev = frontend_profile_counters(&np_);
  const char* names[] = {"pad+zero", "frames+window", "rfft+magnitude", "perc median", "strip rows in",
                         "harm median", "harm rows out", "masks+power+mel", "power (unfused)", "mel (unfused)",
                         "copy+dB", "s11", "s12", "s13", "s14", "s15"};
  frontend_run(s, y.data(), B, n, out.data(), threads);  // warm
  *np_ = 0;
  for (int r = 0; r < reps; ++r) {
    if (!cold) {
      frontend_run(s, y.data(), B, n, out.data(), threads);
      continue;
    }
    for (int b = 0; b < B; ++b) {
      for (std::size_t i = 0; i < sweep.size(); i += 16) sweep[i] += sink;  // evict the caches
      sink += sweep[b];
      frontend_run(s, y.data() + static_cast<long>(b) * n, 1, n, out.data() + static_cast<long>(b) * 2 * M * T, 1);
    }
  }
  std::vector<std::vector<unsigned long long>> d(16);
  *np_ = std::min(*np_, 1L << 22);
  for (long i = 0; i < *np_; ++i) d[ev[i] >> 56].push_back(ev[i] & ((1ull << 56) - 1));
  timespec a, b; clock_gettime(CLOCK_MONOTONIC, &a); const unsigned long long t0 = __rdtsc();
  do clock_gettime(CLOCK_MONOTONIC, &b); while ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec) < 2e7);
  const double ghz = (__rdtsc() - t0) / ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec));
  double est[16] = {0}, total = 0, med[16] = {0}, med_total = 0;
  const double clips = static_cast<double>(B) * reps;
  for (int i = 0; i < 16; ++i) {
    if (d[i].empty()) continue;
    auto v = d[i];
    std::nth_element(v.begin(), v.begin() + v.size() / 4, v.end());
    // lower quartile x count: robust to preemption and interrupts
    est[i] = static_cast<double>(v[v.size() / 4]) * v.size() / clips / ghz / 1e3;
    total += est[i];
    // the median clip's sum of this stage (cold misses of a clip's first events show here,
    // not in the lower quartile of single events)
    const std::size_t per = v.size() / static_cast<std::size_t>(clips);
    std::vector<double> sums;
    for (std::size_t c = 0; c + 1 <= static_cast<std::size_t>(clips); ++c) {
      double acc = 0;
      for (std::size_t j = 0; j < per; ++j) acc += static_cast<double>(d[i][c * per + j]);
      sums.push_back(acc);
    }
    std::nth_element(sums.begin(), sums.begin() + sums.size() / 2, sums.end());
    med[i] = sums[sums.size() / 2] / ghz / 1e3;
    med_total += med[i];
  }
  std::printf("%s, %d thread(s)%s\n", cold ? "cold caches (one clip per call)" : "warm", threads, sink == 0.5f ? "" : "");
  std::printf("kernels %s, TSC %.2f GHz: %.1f us/clip (sum of stages; median clip %.1f us)\n", kernels().name, ghz,
              total, med_total);
  std::printf("  %-20s %8s  %6s  %10s\n", "stage", "q1 x n", "share", "median clip");
  for (int i = 0; i < 16; ++i)
    if (est[i] > 0)
      std::printf("  %-20s %8.1f us  %5.1f%%  %8.1f us  (%zu events/clip)\n", names[i], est[i], 100.0 * est[i] / total,
                  med[i], static_cast<size_t>(d[i].size() / clips));
}
