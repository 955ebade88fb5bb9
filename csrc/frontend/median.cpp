#include "frontend/median.h"

#include <algorithm>
#include <cstring>

#include "frontend/kernels.h"

namespace tf::frontend {

void median_along_rows(const float* x, int rows, int cols, long ld, int k, float* out, long ld_out,
                       MedianWork& w) {
  const Kernels& kern = kernels();
  float* win = ensure(w.window, median_work_floats(k));
  float* lin = ensure(w.lanes_in, static_cast<std::size_t>(cols) * kLanes);
  float* lout = ensure(w.lanes_out, static_cast<std::size_t>(cols) * kLanes);
  for (int r0 = 0; r0 < rows; r0 += kLanes) {
    const int nr = std::min(kLanes, rows - r0);
    // Gather 16 rows into lanes (a 16 x cols transpose); missing rows are zero.
    if (nr < kLanes) std::memset(lin, 0, sizeof(float) * static_cast<std::size_t>(cols) * kLanes);
    for (int l = 0; l < nr; ++l) {
      const float* src = x + static_cast<long>(r0 + l) * ld;
      for (int c = 0; c < cols; ++c) lin[static_cast<long>(c) * kLanes + l] = src[c];
    }
    kern.median(lin, kLanes, cols, k, lout, kLanes, win);
    for (int l = 0; l < nr; ++l) {
      float* dst = out + static_cast<long>(r0 + l) * ld_out;
      for (int c = 0; c < cols; ++c) dst[c] = lout[static_cast<long>(c) * kLanes + l];
    }
  }
}

void median_along_cols(const float* x, int rows, int cols, long ld, int k, float* out, long ld_out,
                       MedianWork& w) {
  const Kernels& kern = kernels();
  float* win = ensure(w.window, median_work_floats(k));
  for (int c0 = 0; c0 < cols; c0 += kLanes) kern.median(x + c0, ld, rows, k, out + c0, ld_out, win);
}

}  // namespace tf::frontend
