// Mel filterbanks (librosa.filters.mel) and their sparse application: each FFT bin
// feeds only the one or two bands whose triangle covers it, so applying the bank costs
// (non-zero weights) x frames instead of n_mels x n_bins x frames.
#pragma once

#include <vector>

namespace tf::frontend {

struct MelSpec {
  double sr = 22050.0;
  int n_fft = 2048;
  int n_mels = 128;
  double fmin = 0.0;
  double fmax = -1.0;  // < 0: sr / 2
  bool htk = false;
  bool slaney_norm = true;
};

// Dense weights, n_mels x (1 + n_fft/2), float32 like librosa.filters.mel.
std::vector<float> mel_filters(const MelSpec& spec);

// The non-zero weights grouped by FFT bin (CSR): bin f feeds bands band[j] with
// weight[j] for j in [start[f], start[f+1]).
struct MelBank {
  int n_mels = 0;
  int n_bins = 0;
  std::vector<int> start, band;
  std::vector<float> weight;
  // The same weights grouped by band (CSC), bins ascending: band m sums bins band_bin[k]
  // with weight band_weight[k] for k in [band_start[m], band_start[m+1]).
  std::vector<int> band_start, band_bin;
  std::vector<float> band_weight;
  // The bins [feed_lo, feed_hi) between the first and the last that feed a band.
  int feed_lo = 0, feed_hi = 0;
};

MelBank mel_bank_from_dense(const float* weights, int n_mels, int n_bins);

// out[band][t] += weight * row[t] for every band fed by bin f (t < n).
void mel_accumulate_bin(const MelBank& bank, int f, const float* row, int n, float* out, long ld_out);

}  // namespace tf::frontend
