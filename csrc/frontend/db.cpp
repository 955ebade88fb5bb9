#include "frontend/db.h"

#include "frontend/db_math.h"

namespace tf::frontend {

void apply_scale(float* x, long count, const ScaleSpec& s) {
  if (s.scale == Scale::None || count <= 0) return;
  if (s.scale == Scale::Log) {
    for (long i = 0; i < count; ++i) x[i] = log_clipped(x[i], s.log_lo, s.log_hi);
    return;
  }
  float ref = s.ref;
  if (s.ref_max) {
    ref = x[0];
    for (long i = 1; i < count; ++i) ref = x[i] > ref ? x[i] : ref;
  }
  const float offset = db_ref_offset(ref, s.amin);
  float top = -__builtin_inff();
  for (long i = 0; i < count; ++i) {
    const float v = db_value(x[i], s.amin) - offset;
    x[i] = v;
    top = v > top ? v : top;
  }
  if (s.has_top_db) {
    const float floor_db = top - s.top_db;
    for (long i = 0; i < count; ++i) x[i] = db_clip(x[i], floor_db);
  }
}

}  // namespace tf::frontend
