#include "frontend/hpss.h"

#include "frontend/kernels.h"
#include "frontend/mask_math.h"

namespace tf::frontend {

void hpss_medians(const float* mag, int bins, int frames, long ld, const HpssSpec& s, float* harm,
                  float* perc, MedianWork& w) {
  median_along_rows(mag, bins, frames, ld, s.win_harm, harm, ld, w);
  median_along_cols(mag, bins, frames, ld, s.win_perc, perc, ld, w);
}

void hpss_mask_row(const float* harm, const float* perc, int n, const HpssSpec& s, float* mask_harm,
                   float* mask_perc) {
  const bool split = s.split_zeros();
  int t = 0;
  if (!s.hard && s.power == 2.0f) {
    kernels().softmask2(harm, perc, n, s.margin_harm, s.margin_perc, split, mask_harm, mask_perc);
    t = n - n % kLanes;
  }
  for (; t < n; ++t) {
    const float h = harm[t], p = perc[t];
    mask_harm[t] = softmask_value(h, p * s.margin_harm, s.power, s.hard, split);
    mask_perc[t] = softmask_value(p, h * s.margin_perc, s.power, s.hard, split);
  }
}

}  // namespace tf::frontend
