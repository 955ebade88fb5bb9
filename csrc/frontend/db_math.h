// Decibels and logarithmic compression, one cell at a time (shared with the CUDA kernels).
// power_to_db follows librosa.power_to_db in float32:
//   10 log10(max(amin, S)) - 10 log10(max(amin, ref)), then clipped at (max - top_db).
#pragma once

#include <math.h>

#include "common/hd.h"

namespace tf::frontend {

// 10 log10(max(amin, x)) in float32.
TF_HD float db_value(float x, float amin) {
  const float v = x > amin ? x : amin;
  return 10.0f * log10f(v);
}

// The offset subtracted for a reference power ref: 10 log10(max(amin, |ref|)).
TF_HD float db_ref_offset(float ref, float amin) {
  const float r = ref < 0.0f ? -ref : ref;
  return db_value(r, amin);
}

// Clip a dB value from below at floor (max - top_db).
TF_HD float db_clip(float db, float floor_db) { return db > floor_db ? db : floor_db; }

// Natural log after clipping to [lo, hi] (the COLA compression).
TF_HD float log_clipped(float x, float lo, float hi) {
  float v = x < lo ? lo : x;
  v = v > hi ? hi : v;
  return logf(v);
}

}  // namespace tf::frontend
