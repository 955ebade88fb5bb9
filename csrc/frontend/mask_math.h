// Soft masks of harmonic/percussive separation, one cell at a time, exactly like
// librosa.util.softmask(X, X_ref, power, split_zeros) in float32:
//   Z = max(X, X_ref); where Z < FLT_MIN the mask is 0.5 (split_zeros) or 0;
//   else mask = (X/Z)^p / ((X/Z)^p + (X_ref/Z)^p); power = inf gives the hard mask X > X_ref.
// (numpy's x**2 is x*x, so for power 2 the results are bit-identical to librosa's.)
#pragma once

#include <math.h>

#include "common/hd.h"

namespace tf::frontend {

// Smallest positive normal float (numpy.finfo(np.float32).tiny).
constexpr float kFloatTiny = 1.17549435e-38f;

// Since Z = max(X, X_ref), one of X/Z and X_ref/Z is exactly 1, so librosa's float32
// result is obtained with two divisions: q = min/max, then (1 or q^p) / (1 + q^p).
static TF_HD float softmask_value(float x, float x_ref, float power, bool hard, bool split_zeros) {
  if (hard) return x > x_ref ? 1.0f : 0.0f;
  const bool x_larger = x >= x_ref;
  const float z = x_larger ? x : x_ref;
  if (z < kFloatTiny) return split_zeros ? 0.5f : 0.0f;
  const float q = (x_larger ? x_ref : x) / z;
  float qp;
  if (power == 2.0f)
    qp = q * q;
  else if (power == 1.0f)
    qp = q;
  else
    qp = powf(q, power);
  return (x_larger ? 1.0f : qp) / (1.0f + qp);
}

}  // namespace tf::frontend
