// CUDA kernels of the fused frontend, mirroring csrc/frontend/frontend.cpp:
//   stft_kernel:   one block per frame; the project's radix-2 Stockham FFT in shared
//                  memory (no cuFFT), twiddles in double precision; writes |X| (HPSS) or
//                  |X|^power per bin.
//   median_kernel: running median of window k along time or frequency (scipy's reflect
//                  extension), one output per thread, exact rank selection by counting.
//   mel_kernel:    soft masks (mask_math.h) and the sparse mel projection, one output
//                  cell (band, frame) of every channel per thread.
//   max_kernel / scale_kernel: per-example maximum, then dB (db_math.h) or log.
// The per-element math is the C++ core's (__host__ __device__ headers), so both backends
// compute the same formulas.
#include <cuda_runtime.h>

#include <cstdint>
#include <stdexcept>
#include <string>

#include "cuda/frontend.h"
#include "cuda/runtime.h"
#include "frontend/db_math.h"
#include "frontend/mask_math.h"
#include "frontend/pad_math.h"

namespace tf::cuda {
namespace {

namespace fe = tf::frontend;

__device__ __forceinline__ float2 cmul(float2 a, float2 b) {
  return make_float2(a.x * b.x - a.y * b.y, a.x * b.y + a.y * b.x);
}

__device__ __forceinline__ float spectrum_value(float v, float power) {
  if (power == 2.0f) return v * v;
  if (power == 1.0f) return v;
  return powf(v, power);
}

// ---------------------------------------------------------------- STFT

__global__ void stft_kernel(const float* __restrict__ y, long n, long frames, int n_fft, int hop,
                            const float* __restrict__ window, bool center, int pad_mode, bool magnitude,
                            float power, float* __restrict__ spec) {
  extern __shared__ float2 smem[];
  const int m = n_fft / 2;
  const int ntw = m / 2 > 0 ? m / 2 : 1;
  float2* a = smem;
  float2* b = smem + m;
  float2* tw = smem + 2 * m;  // exp(-2 pi i j / m), j < m / 2
  const long t = blockIdx.x;
  const long item = blockIdx.y;
  const float* x = y + item * n;
  const long start = t * hop - (center ? n_fft / 2 : 0);
  const fe::PadMode mode = static_cast<fe::PadMode>(pad_mode);

  for (int j = threadIdx.x; j < ntw; j += blockDim.x) {
    double s, c;
    sincospi(-2.0 * j / m, &s, &c);
    tw[j] = make_float2(static_cast<float>(c), static_cast<float>(s));
  }
  for (int j = threadIdx.x; j < m; j += blockDim.x) {
    float v[2];
    for (int e = 0; e < 2; ++e) {
      const int i = 2 * j + e;
      const long src = fe::pad_index(start + i, n, mode);
      v[e] = src < 0 ? 0.0f : x[src] * window[i];
    }
    a[j] = make_float2(v[0], v[1]);
  }
  __syncthreads();
  // Complex FFT of size m, radix-2 Stockham (as kernels_impl.inl's rfft_impl).
  for (int nn = m, s = 1; nn > 1; nn >>= 1, s <<= 1) {
    const int h = nn >> 1;
    const int tw_step = m / nn;
    for (int idx = threadIdx.x; idx < m / 2; idx += blockDim.x) {
      const int p = idx / s, q = idx % s;
      const float2 w = tw[p * tw_step];
      const float2 c0 = a[q + s * p];
      const float2 c1 = a[q + s * (p + h)];
      b[q + s * 2 * p] = make_float2(c0.x + c1.x, c0.y + c1.y);
      b[q + s * (2 * p + 1)] = cmul(make_float2(c0.x - c1.x, c0.y - c1.y), w);
    }
    __syncthreads();
    float2* tmp = a;
    a = b;
    b = tmp;
  }
  // Split the packed spectrum into bins 0..m and write them bin-major: spec[item][k][t].
  const long bins = m + 1;
  for (int k = threadIdx.x; k <= m; k += blockDim.x) {
    const float2 z1 = a[k == m ? 0 : k];
    const float2 z2 = a[k == 0 ? 0 : m - k];
    const float er = 0.5f * (z1.x + z2.x), ei = 0.5f * (z1.y - z2.y);
    const float orr = 0.5f * (z1.y + z2.y), oi = 0.5f * (z2.x - z1.x);
    double s, c;
    sincospi(-2.0 * k / n_fft, &s, &c);
    const float wr = static_cast<float>(c), wi = static_cast<float>(s);
    const float xr = er + orr * wr - oi * wi;
    const float xi = ei + orr * wi + oi * wr;
    const float mag = sqrtf(xr * xr + xi * xi);
    spec[(item * bins + k) * frames + t] = magnitude ? mag : spectrum_value(mag, power);
  }
}

// ---------------------------------------------------------------- median filters

// out[item][f][t] = rank k/2 of the window [pos - k/2, pos - k/2 + k) along time
// (along_time) or frequency, with scipy's reflect extension.
__global__ void median_kernel(const float* __restrict__ in, long batch, int bins, long frames, int k,
                              bool along_time, float* __restrict__ out) {
  const long cell = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  const long per = bins * frames;
  if (cell >= batch * per) return;
  const long item = cell / per;
  const long f = (cell % per) / frames;
  const long t = cell % frames;
  const float* line = along_time ? in + (item * bins + f) * frames : in + item * per + t;
  const long stride = along_time ? 1 : frames;
  const long len = along_time ? frames : bins;
  const long pos = along_time ? t : f;
  const long first = pos - k / 2;
  const int r = k / 2;
  float result = 0.0f;
  for (int j = 0; j < k; ++j) {
    const float v = line[fe::symmetric_index(first + j, len) * stride];
    int less = 0, equal = 0;
    for (int i = 0; i < k; ++i) {
      const float u = line[fe::symmetric_index(first + i, len) * stride];
      less += u < v;
      equal += u == v;
    }
    if (less <= r && r < less + equal) {
      result = v;
      break;
    }
  }
  out[cell] = result;
}

// ---------------------------------------------------------------- masks + mel

__global__ void mel_kernel(const float* __restrict__ spec, const float* __restrict__ harm,
                           const float* __restrict__ perc, int bins, long frames,
                           const float* __restrict__ mel, const int* __restrict__ band_lo,
                           const int* __restrict__ band_hi, int n_mels, bool hpss, float power,
                           float mask_power, bool mask_hard, float margin_harm, float margin_perc,
                           float* __restrict__ out) {
  const long t = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  const int m = blockIdx.y;
  const long item = blockIdx.z;
  if (t >= frames) return;
  const long base = item * bins * frames + t;
  const float* w = mel + static_cast<long>(m) * bins;
  const bool split = margin_harm == 1.0f && margin_perc == 1.0f;
  float acc_h = 0.0f, acc_p = 0.0f;
  for (int f = band_lo[m]; f < band_hi[m]; ++f) {
    const long i = base + static_cast<long>(f) * frames;
    if (hpss) {
      const float h = harm[i], p = perc[i], mag = spec[i];
      const float mh = fe::softmask_value(h, p * margin_harm, mask_power, mask_hard, split);
      const float mp = fe::softmask_value(p, h * margin_perc, mask_power, mask_hard, split);
      acc_h += w[f] * spectrum_value(mag * mh, power);
      acc_p += w[f] * spectrum_value(mag * mp, power);
    } else {
      acc_h += w[f] * spec[i];
    }
  }
  const int channels = hpss ? 2 : 1;
  out[((item * channels + 0) * n_mels + m) * frames + t] = acc_h;
  if (hpss) out[((item * channels + 1) * n_mels + m) * frames + t] = acc_p;
}

// ---------------------------------------------------------------- scaling

__global__ void max_kernel(const float* __restrict__ x, long count, float* __restrict__ maxima) {
  __shared__ float red[256];
  const float* e = x + blockIdx.x * count;
  float v = -INFINITY;
  for (long i = threadIdx.x; i < count; i += blockDim.x) v = fmaxf(v, e[i]);
  red[threadIdx.x] = v;
  __syncthreads();
  for (int s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) red[threadIdx.x] = fmaxf(red[threadIdx.x], red[threadIdx.x + s]);
    __syncthreads();
  }
  if (threadIdx.x == 0) maxima[blockIdx.x] = red[0];
}

__global__ void scale_kernel(float* __restrict__ x, long examples, long count,
                             const float* __restrict__ maxima, int scale, bool ref_max, float ref,
                             float amin, bool has_top_db, float top_db, float log_lo, float log_hi) {
  const long cell = blockIdx.x * static_cast<long>(blockDim.x) + threadIdx.x;
  if (cell >= examples * count) return;
  if (scale == 2) {
    x[cell] = fe::log_clipped(x[cell], log_lo, log_hi);
    return;
  }
  const float mx = maxima[cell / count];
  const float offset = fe::db_ref_offset(ref_max ? mx : ref, amin);
  float v = fe::db_value(x[cell], amin) - offset;
  if (has_top_db) v = fe::db_clip(v, (fe::db_value(mx, amin) - offset) - top_db);
  x[cell] = v;
}

constexpr long kMaxGridYZ = 65535;

void launched(const char* kernel) { check(static_cast<int>(cudaGetLastError()), kernel); }

unsigned blocks_for(long n, int threads) { return static_cast<unsigned>((n + threads - 1) / threads); }

}  // namespace

std::size_t frontend_work_floats(long batch, int n_fft, long frames, int channels) {
  const std::size_t cells = static_cast<std::size_t>(batch) * (n_fft / 2 + 1) * frames;
  return 3 * cells + static_cast<std::size_t>(batch) * channels;
}

void frontend(const FrontendArgs& a, int device, std::uintptr_t stream_handle) {
  if (a.n_fft < 2 || (a.n_fft & (a.n_fft - 1)) || a.n_fft > kMaxGpuFft)
    throw std::invalid_argument("the CUDA frontend supports power-of-two n_fft from 2 to " +
                                std::to_string(kMaxGpuFft) + ", got " + std::to_string(a.n_fft));
  if (a.batch <= 0 || a.frames <= 0) return;
  int previous = 0;
  check(static_cast<int>(cudaGetDevice(&previous)), "cudaGetDevice");
  check(static_cast<int>(cudaSetDevice(device)), "cudaSetDevice");
  cudaStream_t stream = reinterpret_cast<cudaStream_t>(stream_handle);
  const int bins = a.n_fft / 2 + 1;
  const int m = a.n_fft / 2;
  const int channels = a.hpss ? 2 : 1;
  const long cells = a.batch * bins * a.frames;
  float* spec = a.work;
  float* harm = a.work + cells;
  float* perc = a.work + 2 * cells;
  float* maxima = a.work + 3 * cells;
  try {
    const std::size_t smem = sizeof(float2) * (2 * m + (m / 2 > 0 ? m / 2 : 1));
    // gridDim.y/z are limited to 65535: long batches go in chunks.
    for (long b0 = 0; b0 < a.batch; b0 += kMaxGridYZ) {
      const unsigned nb = static_cast<unsigned>(a.batch - b0 < kMaxGridYZ ? a.batch - b0 : kMaxGridYZ);
      stft_kernel<<<dim3(static_cast<unsigned>(a.frames), nb), 256, smem, stream>>>(
          a.y + b0 * a.n, a.n, a.frames, a.n_fft, a.hop, a.window, a.center, a.pad_mode, a.hpss, a.power,
          spec + b0 * bins * a.frames);
    }
    launched("stft_kernel");
    if (a.hpss) {
      median_kernel<<<blocks_for(cells, 256), 256, 0, stream>>>(spec, a.batch, bins, a.frames, a.win_harm,
                                                                 true, harm);
      launched("median_kernel (harmonic, along time)");
      median_kernel<<<blocks_for(cells, 256), 256, 0, stream>>>(spec, a.batch, bins, a.frames, a.win_perc,
                                                                 false, perc);
      launched("median_kernel (percussive, along frequency)");
    }
    for (long b0 = 0; b0 < a.batch; b0 += kMaxGridYZ) {
      const unsigned nb = static_cast<unsigned>(a.batch - b0 < kMaxGridYZ ? a.batch - b0 : kMaxGridYZ);
      const long off = b0 * bins * a.frames;
      mel_kernel<<<dim3(blocks_for(a.frames, 128), static_cast<unsigned>(a.n_mels), nb), 128, 0, stream>>>(
          spec + off, harm + off, perc + off, bins, a.frames, a.mel, a.band_lo, a.band_hi, a.n_mels, a.hpss,
          a.power, a.mask_power, a.mask_hard, a.margin_harm, a.margin_perc,
          a.out + b0 * channels * a.n_mels * a.frames);
    }
    launched("mel_kernel");
    if (a.scale != 0) {
      const long examples = a.batch * channels;
      const long count = static_cast<long>(a.n_mels) * a.frames;
      if (a.scale == 1) {
        max_kernel<<<static_cast<unsigned>(examples), 256, 0, stream>>>(a.out, count, maxima);
        launched("max_kernel");
      }
      scale_kernel<<<blocks_for(examples * count, 256), 256, 0, stream>>>(
          a.out, examples, count, maxima, a.scale, a.ref_max, a.ref, a.amin, a.has_top_db, a.top_db, a.log_lo,
          a.log_hi);
      launched("scale_kernel");
    }
  } catch (...) {
    cudaSetDevice(previous);
    throw;
  }
  check(static_cast<int>(cudaSetDevice(previous)), "cudaSetDevice");
}

}  // namespace tf::cuda
