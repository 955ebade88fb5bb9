// The project's own real FFT: power-of-two sizes, radix-4 Stockham (the last pass radix-8
// when log2(n_fft / 2) is odd, radix-2 for n_fft = 4) on 16 frames at once
// (kernels.h), twiddles precomputed in double precision and cached per size.
#pragma once

#include <vector>

#include "frontend/aligned.h"
#include "frontend/kernels.h"

namespace tf::frontend {

// True when n is a power of two >= 2.
inline bool is_fft_size(long n) { return n >= 2 && (n & (n - 1)) == 0; }

// Largest supported transform.
constexpr int kMaxFft = 1 << 20;

class FftPlan {
 public:
  explicit FftPlan(int n_fft);  // throws tf::ValueError for unsupported sizes
  const FftTables& tables() const { return tables_; }
  int n_fft() const { return tables_.n_fft; }
  int n_bins() const { return tables_.m + 1; }

 private:
  FloatBuffer cw_re_, cw_im_, rw_re_, rw_im_;
  FftTables tables_;
};

// A shared, immutable plan for n_fft (built once per size, thread-safe).
const FftPlan& fft_plan(int n_fft);

// Lane buffers for one 16-frame transform of size n_fft.
struct FftScratch {
  FloatBuffer zr, zi, sr, si, xr, xi;
  void reserve(int n_fft);
};

}  // namespace tf::frontend
