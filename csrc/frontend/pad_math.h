// Index extensions of a signal or a line beyond its ends, one index at a time (shared by
// the C++ core and the CUDA kernels).
#pragma once

#include "common/hd.h"

namespace tf::frontend {

// numpy.pad modes used by the STFT's centring.
enum class PadMode : int { Constant = 0, Edge = 1, Reflect = 2, Symmetric = 3 };

// Symmetric extension d c b a | a b c d | d c b a (numpy "symmetric", scipy.ndimage
// "reflect"), periodic with period 2n for any integer i.
static TF_HD long symmetric_index(long i, long n) {
  if (i >= 0 && i < n) return i;
  const long period = 2 * n;
  long r = i % period;
  if (r < 0) r += period;
  return r < n ? r : period - 1 - r;
}

// Reflection without repeating the edge: d c b | a b c d | c b a (numpy "reflect"),
// periodic with period 2(n - 1).
static TF_HD long reflect_index(long i, long n) {
  if (i >= 0 && i < n) return i;
  if (n == 1) return 0;
  const long period = 2 * (n - 1);
  long r = i % period;
  if (r < 0) r += period;
  return r < n ? r : period - r;
}

// Index of sample i of a signal of n samples extended with mode; -1 means "zero"
// (constant padding outside the signal).
static TF_HD long pad_index(long i, long n, PadMode mode) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PadMode::Edge:
      return i < 0 ? 0 : n - 1;
    case PadMode::Reflect:
      return reflect_index(i, n);
    case PadMode::Symmetric:
      return symmetric_index(i, n);
    default:
      return -1;
  }
}

}  // namespace tf::frontend
