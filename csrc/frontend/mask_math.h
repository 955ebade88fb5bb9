// Soft masks of harmonic/percussive separation, one cell at a time, exactly like
// librosa.util.softmask(X, X_ref, power, split_zeros) in float32:
//   Z = max(X, X_ref); where Z < FLT_MIN the mask is 0.5 (split_zeros) or 0;
//   else mask = (X/Z)^p / ((X/Z)^p + (X_ref/Z)^p); power = inf gives the hard mask X > X_ref.
#pragma once

#include <math.h>

#include "common/hd.h"

namespace tf::frontend {

// Smallest positive normal float (numpy.finfo(np.float32).tiny).
constexpr float kFloatTiny = 1.17549435e-38f;

static TF_HD float softmask_value(float x, float x_ref, float power, bool hard, bool split_zeros) {
  if (hard) return x > x_ref ? 1.0f : 0.0f;
  const float z = x > x_ref ? x : x_ref;
  if (z < kFloatTiny) return split_zeros ? 0.5f : 0.0f;
  float a = x / z;
  float b = x_ref / z;
  if (power == 2.0f) {
    a = a * a;
    b = b * b;
  } else if (power != 1.0f) {
    a = powf(a, power);
    b = powf(b, power);
  }
  return a / (a + b);
}

}  // namespace tf::frontend
