// Harmonic/percussive soft masks of one magnitude spectrogram, as
// librosa.decompose.hpss(..., mask=True): medians along time (harmonic, window
// win_harm) and along frequency (percussive, window win_perc) with scipy's reflect
// extension, then librosa.util.softmask with split_zeros when both margins are 1.
#pragma once

#include "frontend/aligned.h"
#include "frontend/median.h"

namespace tf::frontend {

struct HpssSpec {
  int win_harm = 31;
  int win_perc = 31;
  float power = 2.0f;
  bool hard = false;  // power = inf: binary masks
  float margin_harm = 1.0f;
  float margin_perc = 1.0f;
  bool split_zeros() const { return margin_harm == 1.0f && margin_perc == 1.0f; }
};

// mag: bins x frames with leading dimension ld (a multiple of 16, padding columns up to
// round_up(frames, 16) readable). harm/perc receive the two median-filtered spectrograms
// with the same layout.
void hpss_medians(const float* mag, int bins, int frames, long ld, const HpssSpec& s, float* harm,
                  float* perc, MedianWork& w);

// Masks of one row (n cells) from the medians.
void hpss_mask_row(const float* harm, const float* perc, int n, const HpssSpec& s, float* mask_harm,
                   float* mask_perc);

}  // namespace tf::frontend
