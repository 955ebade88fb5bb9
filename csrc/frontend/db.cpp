#include "frontend/db.h"

#include "frontend/db_math.h"
#include "frontend/kernels.h"

namespace tf::frontend {

void apply_scale(float* x, long count, const ScaleSpec& s) {
  if (s.scale == Scale::None || count <= 0) return;
  const Kernels& kern = kernels();
  if (s.scale == Scale::Log) {
    kern.log(x, count, s.log_lo, s.log_hi);
    return;
  }
  // dB is monotonic, so the largest dB value is db_value(max) - offset (the CUDA kernels
  // use the same identity).
  const float mx = kern.max(x, count);
  const float offset = db_ref_offset(s.ref_max ? mx : s.ref, s.amin);
  const float floor_db = s.has_top_db ? (db_value(mx, s.amin) - offset) - s.top_db : -__builtin_inff();
  kern.db(x, count, s.amin, offset, floor_db);
}

}  // namespace tf::frontend
