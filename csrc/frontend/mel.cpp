#include "frontend/mel.h"

#include "common/errors.h"
#include "frontend/mel_math.h"

namespace tf::frontend {

std::vector<float> mel_filters(const MelSpec& s) {
  TF_CHECK(s.sr > 0, "sr must be > 0, got ", s.sr);
  TF_CHECK(s.n_fft >= 1, "n_fft must be >= 1, got ", s.n_fft);
  TF_CHECK(s.n_mels >= 1, "n_mels must be >= 1, got ", s.n_mels);
  const double fmax = s.fmax < 0 ? s.sr / 2.0 : s.fmax;
  TF_CHECK(s.fmin >= 0 && s.fmin < fmax, "need 0 <= fmin < fmax, got fmin=", s.fmin, ", fmax=", fmax);
  const int n_bins = 1 + s.n_fft / 2;
  // A dense bank beyond 2^30 cells (4 GiB) is a mistake in the parameters, not a request
  // to exhaust memory: refuse it with a ValueError instead of std::bad_alloc.
  const long long cells = static_cast<long long>(s.n_mels) * n_bins;
  TF_CHECK(cells <= (1LL << 30), "a dense mel filterbank of n_mels=", s.n_mels, " x ", n_bins,
           " bins (n_fft=", s.n_fft, ") has ", cells, " cells, more than 2^30 (4 GiB); lower n_mels or n_fft");
  std::vector<float> w(static_cast<std::size_t>(cells));
  // Band edges once per band (the same values mel_weight() derives per cell).
  std::vector<double> edges(s.n_mels + 2);
  for (int i = 0; i < s.n_mels + 2; ++i) edges[i] = mel_point_hz(i, s.n_mels + 2, s.fmin, fmax, s.htk);
  for (int m = 0; m < s.n_mels; ++m) {
    const double norm = s.slaney_norm ? mel_slaney_norm(edges[m], edges[m + 2]) : 1.0;
    for (int k = 0; k < n_bins; ++k) {
      const float tri =
          static_cast<float>(mel_triangle(fft_bin_hz(k, s.n_fft, s.sr), edges[m], edges[m + 1], edges[m + 2]));
      w[static_cast<std::size_t>(m) * n_bins + k] =
          s.slaney_norm ? static_cast<float>(static_cast<double>(tri) * norm) : tri;
    }
  }
  return w;
}

namespace {

// The non-zero entries of the dense n_mels x n_bins weights, grouped by the outer index:
// entry (outer o, inner i) at weights[o * outer_stride + i * inner_stride]; start[o] ..
// start[o + 1] index `inner` / `value`, inner ascending.
void compress(const float* weights, int n_outer, int n_inner, std::size_t outer_stride, std::size_t inner_stride,
              std::vector<int>& start, std::vector<int>& inner, std::vector<float>& value) {
  start.assign(n_outer + 1, 0);
  for (int o = 0; o < n_outer; ++o) {
    start[o] = static_cast<int>(inner.size());
    for (int i = 0; i < n_inner; ++i) {
      const float v = weights[o * outer_stride + i * inner_stride];
      if (v != 0.0f) {
        inner.push_back(i);
        value.push_back(v);
      }
    }
  }
  start[n_outer] = static_cast<int>(inner.size());
}

}  // namespace

MelBank mel_bank_from_dense(const float* weights, int n_mels, int n_bins) {
  MelBank b;
  b.n_mels = n_mels;
  b.n_bins = n_bins;
  const std::size_t row = static_cast<std::size_t>(n_bins);
  compress(weights, n_bins, n_mels, 1, row, b.start, b.band, b.weight);                  // by bin
  compress(weights, n_mels, n_bins, row, 1, b.band_start, b.band_bin, b.band_weight);   // by band
  for (b.feed_lo = 0; b.feed_lo < n_bins && b.start[b.feed_lo] == b.start[b.feed_lo + 1];) ++b.feed_lo;
  for (b.feed_hi = n_bins; b.feed_hi > b.feed_lo && b.start[b.feed_hi - 1] == b.start[b.feed_hi];) --b.feed_hi;
  return b;
}

void mel_accumulate_bin(const MelBank& bank, int f, const float* row, int n, float* out, long ld_out) {
  for (int j = bank.start[f]; j < bank.start[f + 1]; ++j) {
    const float wt = bank.weight[j];
    float* dst = out + static_cast<long>(bank.band[j]) * ld_out;
    for (int t = 0; t < n; ++t) dst[t] += wt * row[t];
  }
}

}  // namespace tf::frontend
