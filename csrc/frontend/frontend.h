// Batch entry points of the frontends: each splits the batch over the thread pool and
// keeps one workspace per thread. Inputs and outputs are C-contiguous float32 (complex64
// as interleaved float pairs). The fused frontend goes from waveform to model input
// without materialising the complex STFT: |H|^2 = |S|^2 mask_H^2, so no phase is needed.
#pragma once

#include <complex>

#include "frontend/db.h"
#include "frontend/hpss.h"
#include "frontend/mel.h"
#include "frontend/stft.h"

namespace tf::frontend {

struct FrontendSpec {
  StftSpec stft;
  float power = 2.0f;  // exponent on |X| (after masking) before the mel bank
  bool hpss = false;   // two channels (harmonic, percussive) instead of one
  HpssSpec hpss_spec;
  MelBank bank;
  ScaleSpec scale;
  int channels() const { return hpss ? 2 : 1; }
};

// y: batch x n -> out: batch x n_bins x frames (complex64).
void stft_run(const StftSpec& s, const float* y, long batch, long n, std::complex<float>* out,
              int num_threads);

// y: batch x n -> out: batch x channels x n_mels x frames.
void frontend_run(const FrontendSpec& s, const float* y, long batch, long n, float* out,
                  int num_threads);

// mag: batch x bins x frames -> the two masks, same shape.
void hpss_masks_run(const HpssSpec& s, const float* mag, long batch, int bins, int frames,
                    float* mask_harm, float* mask_perc, int num_threads);

// S: batch x n_bins x frames -> out: batch x n_mels x frames (out = weights @ S).
void mel_project_run(const MelBank& bank, const float* S, long batch, int frames, float* out,
                     int num_threads);

// x: batch x count, each row one example, scaled in place.
void scale_run(const ScaleSpec& s, float* x, long batch, long count, int num_threads);

}  // namespace tf::frontend
