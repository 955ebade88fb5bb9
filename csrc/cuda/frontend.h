// Host launchers of the frontend kernels (csrc/cuda/frontend.cu). Pointers are device
// pointers owned by the caller (torch allocates them); `stream` is the caller's
// cudaStream_t as an integer. Every launch is checked; an error names the kernel.
#pragma once

#include <cstddef>
#include <cstdint>

namespace tf::cuda {

// Largest n_fft the GPU STFT supports (its FFT lives in shared memory).
constexpr int kMaxGpuFft = 4096;

struct FrontendArgs {
  const float* y = nullptr;  // batch x n waveform
  long batch = 0, n = 0, frames = 0;
  float* out = nullptr;   // batch x channels x n_mels x frames
  float* work = nullptr;  // frontend_work_floats(...) floats
  int n_fft = 1024, hop = 160;
  const float* window = nullptr;  // n_fft samples (the window centred in the frame)
  bool center = true;
  int pad_mode = 0;  // tf::frontend::PadMode
  float power = 2.0f;
  const float* mel = nullptr;  // n_mels x (1 + n_fft / 2)
  const int* band_lo = nullptr;  // first and one-past-last non-zero bin of each band
  const int* band_hi = nullptr;
  int n_mels = 64;
  bool hpss = false;
  int win_harm = 31, win_perc = 31;
  float mask_power = 2.0f;
  bool mask_hard = false;
  float margin_harm = 1.0f, margin_perc = 1.0f;
  int scale = 0;  // 0 none, 1 dB, 2 log
  bool ref_max = true;
  float ref = 1.0f, amin = 1e-10f;
  bool has_top_db = true;
  float top_db = 80.0f;
  float log_lo = 1e-5f, log_hi = 1e8f;
};

// Floats of workspace frontend() needs: magnitudes, both medians, per-example maxima.
std::size_t frontend_work_floats(long batch, int n_fft, long frames, int channels);

// waveform -> STFT -> (HPSS) -> mel -> scale, all on `stream` of `device`.
void frontend(const FrontendArgs& a, int device, std::uintptr_t stream);

}  // namespace tf::cuda
