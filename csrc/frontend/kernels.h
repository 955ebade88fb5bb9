// The vectorised inner loops of the frontends, compiled once per instruction set
// (kernels_scalar.cpp: baseline x86-64 or the target's baseline, kernels_avx2.cpp,
// kernels_avx512.cpp) from the same source (kernels_impl.inl) and chosen at run time.
//
// Every kernel works on kLanes independent lanes at once: 16 frames of an FFT, or 16
// rows (or columns) of a median filter. A "lane array" of n positions is n consecutive
// groups of kLanes floats: element i of lane l is at base[i * stride + l].
#pragma once

#include <algorithm>  // std::sort, std::min (median kernel, kernels_impl.inl)
#include <cstddef>
#include <vector>

#include "frontend/pad_math.h"

namespace tf::frontend {

constexpr int kLanes = 16;

// Twiddle tables of a real FFT of size n_fft = 2 * m (see fft.h).
struct FftTables {
  int n_fft = 0;
  int m = 0;                     // complex FFT size n_fft / 2
  const float* cw_re = nullptr;  // exp(-2 pi i j / m), j < m
  const float* cw_im = nullptr;
  const float* rw_re = nullptr;  // exp(-2 pi i k / n_fft), k <= m
  const float* rw_im = nullptr;
};

struct Kernels {
  const char* name;
  // Real FFT of kLanes frames. On entry zr[j] = x[2j] and zi[j] = x[2j+1] (j < m, lane
  // arrays of stride kLanes), and the pairs outside [nz_lo, nz_hi) are zero: of those, only
  // the pairs in rfft_read_range() are read (and must hold their zeros). On return xr/xi
  // hold bins 0..m (m+1 positions). zr/zi are clobbered; sr/si are scratch of m positions.
  void (*rfft)(const FftTables& t, float* zr, float* zi, float* sr, float* si, int nz_lo, int nz_hi,
               float* xr, float* xi);
  // Running median of window k (rank k/2, scipy.ndimage's reflect extension d c b a | a b c d)
  // along n positions of kLanes lanes: in/out are lane arrays with the given strides (in floats).
  // work: median_work_floats(k) floats, 64-byte aligned.
  void (*median)(const float* in, std::ptrdiff_t in_stride, int n, int k, float* out,
                 std::ptrdiff_t out_stride, float* work);
  // Soft masks with power 2 (mask_math.h) of the first n - n % kLanes cells of a row.
  void (*softmask2)(const float* harm, const float* perc, int n, float margin_harm, float margin_perc,
                    bool split_zeros, float* mask_harm, float* mask_perc);
  // Largest of x[0..n).
  float (*max)(const float* x, long n);
  // x = max(db_value(x, amin) - offset, floor_db) (db_math.h), in place.
  void (*db)(float* x, long n, float amin, float offset, float floor_db);
  // x = log_clipped(x, lo, hi) (db_math.h), in place.
  void (*log)(float* x, long n, float lo, float hi);
  // Fused frontend. |X| of n positions of an FFT's lane arrays: into the lane array
  // `lanes` and into rows[f * ld + l] (16 consecutive floats per position).
  void (*magnitude)(const float* xr, const float* xi, int n, float* lanes, float* rows, std::ptrdiff_t ld);
  // out_harm = (mag * mask_harm)^2, out_perc = (mag * mask_perc)^2, n cells.
  void (*power_masked2)(const float* mag, const float* mask_harm, const float* mask_perc, int n,
                        float* out_harm, float* out_perc);
  // y += a * x, n cells (no fused multiply-add: the same bits at every level).
  void (*axpy)(float a, const float* x, int n, float* y);
  // 16 rows (row l at rows + l * ld) of n values <-> the lane array lanes[t * kLanes + l].
  void (*to_lanes)(const float* rows, std::ptrdiff_t ld, int n, float* lanes);
  void (*from_lanes)(const float* lanes, int n, float* rows, std::ptrdiff_t ld);
  // rfft then magnitude in one pass: |X| of bins 0..m into `lanes` and `rows` as magnitude
  // writes them (the same bits as rfft followed by magnitude), without xr/xi. rows may be
  // null (lanes only).
  void (*rfft_magnitude)(const FftTables& t, float* zr, float* zi, float* sr, float* si, int nz_lo, int nz_hi,
                         float* lanes, float* rows, std::ptrdiff_t ld);
  // One bin of the fused frontend's HPSS stage in one pass: the soft masks of power 2
  // (softmask2), the masked powers (power_masked2) and their weighted sums into the
  // n_bands mel rows the bin feeds (axpy); the same bits as those three kernels. n: a
  // multiple of kLanes; harm is a row, perc and mag are rows of 16-cell chunks chunk_stride
  // floats apart (kLanes: plain rows; the frontend's group-major blocks: bins * kLanes).
  void (*masked_mel2)(const float* harm, const float* perc, const float* mag, std::ptrdiff_t chunk_stride, int n,
                      float margin_harm,
                      float margin_perc, bool split_zeros, int n_bands, const float* weights, float* const* mel_h,
                      float* const* mel_p);
  // median for the outputs [o_lo, o_hi) only (0 <= o_lo <= o_hi <= n; out is still indexed
  // from position 0 and the others are not written): the same bits as median there.
  void (*median_range)(const float* in, std::ptrdiff_t in_stride, int n, int k, int o_lo, int o_hi, float* out,
                       std::ptrdiff_t out_stride, float* work);
  // The STFT's framing of 16 frames (frame l at rows + l * ld, 2 * pairs samples), times the
  // window win and split into the FFT's packed input: zr[j * kLanes + l] = frame_l[2 j] * win[2 j],
  // zi[j * kLanes + l] = frame_l[2 j + 1] * win[2 j + 1], j < pairs.
  void (*frames_window)(const float* rows, std::ptrdiff_t ld, int pairs, const float* win, float* zr, float* zi);
  // The fused frontend without HPSS, one group of 16 frames: per bin f in [f_lo, f_hi) the
  // power re^2 + im^2 of the FFT's lane arrays xr / xi, added with the bin's mel weights
  // (start[f] .. start[f + 1]: band[j], weight[j]) into out[band * ld_out + l], l < 16 (the
  // same bits as that scalar loop, mel_accumulate_bin's arithmetic).
  void (*power_mel)(const float* xr, const float* xi, int f_lo, int f_hi, const int* start, const int* band,
                    const float* weight, float* out, std::ptrdiff_t ld_out);
};

// Whether the FFT's first pass leaves out its zero inputs: the non-zero pairs [nz_lo, nz_hi)
// lie in the middle half [m/4, 3m/4) (a window at most half the frame, centred, e.g. 400
// samples in 1024), so the first and last quarters of the input are zero.
static inline bool rfft_pruned(int m, int nz_lo, int nz_hi) {
  return m >= 16 && nz_lo >= m / 4 && nz_hi <= 3 * (m / 4) && nz_lo < nz_hi;
}

// The pairs [*lo, *hi) of the packed input that rfft reads (outside, it ignores the input).
static inline void rfft_read_range(int m, int nz_lo, int nz_hi, int* lo, int* hi) {
  const bool pruned = rfft_pruned(m, nz_lo, nz_hi);
  *lo = pruned ? m / 4 : 0;
  *hi = pruned ? 3 * (m / 4) : m;
}

const Kernels& kernels_scalar();
#if defined(TF_X86)
const Kernels& kernels_avx2();
const Kernels& kernels_avx512();
#endif
#if defined(TF_AARCH64)
const Kernels& kernels_neon();  // kernels_neon.cpp
#endif

// The widest kernels usable now (tf::cpu::simd_level()).
const Kernels& kernels();

// Largest window of the median's block algorithm (kernels_impl.inl); larger windows slide.
constexpr int kMedianBlockMax = 64;

// Floats of scratch that the median kernel needs for a window of k.
static inline std::size_t median_work_floats(int k) {
  std::size_t vecs = static_cast<std::size_t>(k) + 1;  // sliding: the sorted window and a sentinel
  if (k <= kMedianBlockMax) {
    const int r = k / 2 + 1;  // block algorithm: the prefix and the needed ranks of every suffix
    vecs = r;
    for (int i = 0; i < k; ++i) vecs += std::min(k - i, r) - std::max(1, r - i) + 1;
  }
  return vecs * kLanes;
}

// scipy.ndimage "reflect" extension: index i (any integer) of a line of n samples.
static inline long median_line_index(long i, long n) { return symmetric_index(i, n); }

}  // namespace tf::frontend
