// Logarithmic scaling of one example (a contiguous block of cells), in place.
#pragma once

namespace tf::frontend {

enum class Scale : int { None = 0, Db = 1, Log = 2 };

struct ScaleSpec {
  Scale scale = Scale::None;
  bool ref_max = true;     // Db: reference = the example's maximum
  float ref = 1.0f;        // Db: fixed reference when !ref_max
  float amin = 1e-10f;     // Db: floor inside the log
  bool has_top_db = true;  // Db: clip at (max dB - top_db)
  float top_db = 80.0f;
  float log_lo = 1e-5f, log_hi = 1e8f;  // Log: ln(clip(x, log_lo, log_hi))
};

// power_to_db / log compression of x[0..count) as one example.
void apply_scale(float* x, long count, const ScaleSpec& s);

}  // namespace tf::frontend
