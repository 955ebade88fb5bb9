// Decibels and logarithmic compression, one cell at a time (shared with the CUDA kernels).
// power_to_db follows librosa.power_to_db in float32:
//   10 log10(max(amin, S)) - 10 log10(max(amin, ref)), then clipped at (max - top_db).
#pragma once

#include <math.h>

#include "common/hd.h"

namespace tf::frontend {

// Bits of a float and back (memcpy on the host, intrinsics on the device).
static TF_HD int float_to_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_int(x);
#else
  int i;
  __builtin_memcpy(&i, &x, sizeof(i));
  return i;
#endif
}
static TF_HD float bits_to_float(int i) {
#if defined(__CUDA_ARCH__)
  return __int_as_float(i);
#else
  float x;
  __builtin_memcpy(&x, &i, sizeof(x));
  return x;
#endif
}

// Natural log of a positive finite float, branch-free so that loops over it vectorise.
// x = 2^e m with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m - 1) / (m + 1),
// |s| <= 0.1716, summed to s^11 (next term < 1e-11). Accurate to a few float ulps.
static TF_HD float ln_positive(float x) {
  // Both sides of every select are computed unconditionally (no branch, so loops vectorise).
  const bool sub = x < 1.17549435e-38f;  // subnormal: scale into the normal range
  const float scaled = x * 8388608.0f;
  x = sub ? scaled : x;
  const int bits = float_to_bits(x);
  int e = ((bits >> 23) & 0xff) - 127;
  float m = bits_to_float((bits & 0x007fffff) | 0x3f800000);
  const bool big = m > 1.41421356f;
  const float half = m * 0.5f;
  m = big ? half : m;
  e = e + (big ? 1 : 0) - (sub ? 23 : 0);
  const float s = (m - 1.0f) / (m + 1.0f);
  const float s2 = s * s;
  const float p = s2 * (0.333333333f + s2 * (0.2f + s2 * (0.142857143f + s2 * (0.111111111f + s2 * 0.0909090909f))));
  const float ln_m = 2.0f * s + 2.0f * s * p;
  const float fe = static_cast<float>(e);
  return fe * 0.693145752f + (fe * 1.42860677e-06f + ln_m);  // ln 2 split into hi + lo
}

// 10 log10(max(amin, x)) in float32.
static TF_HD float db_value(float x, float amin) {
  const float v = x > amin ? x : amin;
  return 4.34294481903f * ln_positive(v);  // 10 / ln 10
}

// The offset subtracted for a reference power ref: 10 log10(max(amin, |ref|)).
static TF_HD float db_ref_offset(float ref, float amin) {
  const float r = ref < 0.0f ? -ref : ref;
  return db_value(r, amin);
}

// Clip a dB value from below at floor (max - top_db).
static TF_HD float db_clip(float db, float floor_db) { return db > floor_db ? db : floor_db; }

// Natural log after clipping to [lo, hi] (the COLA compression).
static TF_HD float log_clipped(float x, float lo, float hi) {
  float v = x < lo ? lo : x;
  v = v > hi ? hi : v;
  return ln_positive(v);
}

}  // namespace tf::frontend
