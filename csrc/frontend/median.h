// Sliding median filters over a matrix (scipy.ndimage.median_filter with a 1-D window
// and mode="reflect"), 16 rows or columns at a time with the kernels of kernels.h.
// Matrices are row-major with a leading dimension ld (floats between rows).
#pragma once

#include "frontend/aligned.h"

namespace tf::frontend {

struct MedianWork {
  FloatBuffer window, lanes_in, lanes_out;
};

// Median of window k along each row (axis -1): out[r][c] = median(x[r][c-k/2 .. c-k/2+k-1]).
void median_along_rows(const float* x, int rows, int cols, long ld, int k, float* out, long ld_out,
                       MedianWork& w);

// Median of window k along each column (axis -2). Columns are processed 16 at a time
// straight from x, so ld and ld_out must be multiples of 16 and the padding columns up to
// round_up(cols, 16) must be readable/writable (their values are ignored).
void median_along_cols(const float* x, int rows, int cols, long ld, int k, float* out, long ld_out,
                       MedianWork& w);

}  // namespace tf::frontend
