// Body of the per-ISA kernels (see kernels.h). Included inside a namespace by
// kernels_scalar.cpp, kernels_avx2.cpp and kernels_avx512.cpp, each compiled with its
// own instruction-set flags; GCC/Clang vector extensions turn the 16-lane arithmetic
// into the widest registers available (one zmm, two ymm or four xmm per value).
// kernels_neon.cpp defines the vector layer itself with arm_neon.h (TF_KERNELS_OWN_VF)
// and shares the algorithms below.

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#ifndef TF_KERNELS_OWN_VF

// A value of 16 float lanes made of native-width vectors (one zmm, two ymm or four xmm),
// so that every operation maps onto real instructions of the instruction set.
#if defined(__AVX512F__)
#define TF_VBYTES 64
#elif defined(__AVX2__)
#define TF_VBYTES 32
#else
#define TF_VBYTES 16
#endif
typedef float nf __attribute__((vector_size(TF_VBYTES)));
typedef float nf_u __attribute__((vector_size(TF_VBYTES), aligned(4), may_alias));
typedef int ni __attribute__((vector_size(TF_VBYTES)));
constexpr int kParts = 64 / TF_VBYTES;
constexpr int kPartLanes = TF_VBYTES / 4;

struct vf {
  nf p[kParts];
};
struct vm {
  ni p[kParts];
};

#define TF_LANEWISE(expr)                            \
  do {                                               \
    for (int i_ = 0; i_ < kParts; ++i_) expr;        \
  } while (0)

static inline vf load(const float* x) {
  vf r;
  TF_LANEWISE(r.p[i_] = *reinterpret_cast<const nf_u*>(x + i_ * kPartLanes));
  return r;
}
static inline void store(float* x, const vf& v) {
  TF_LANEWISE(*reinterpret_cast<nf_u*>(x + i_ * kPartLanes) = v.p[i_]);
}
static inline vf splat(float x) {
  vf r;
  TF_LANEWISE(r.p[i_] = nf{} + x);
  return r;
}
static inline vf operator+(const vf& a, const vf& b) { vf r; TF_LANEWISE(r.p[i_] = a.p[i_] + b.p[i_]); return r; }
static inline vf operator-(const vf& a, const vf& b) { vf r; TF_LANEWISE(r.p[i_] = a.p[i_] - b.p[i_]); return r; }
static inline vf operator*(const vf& a, const vf& b) { vf r; TF_LANEWISE(r.p[i_] = a.p[i_] * b.p[i_]); return r; }
static inline vf operator/(const vf& a, const vf& b) { vf r; TF_LANEWISE(r.p[i_] = a.p[i_] / b.p[i_]); return r; }
static inline vf operator-(const vf& a) { vf r; TF_LANEWISE(r.p[i_] = -a.p[i_]); return r; }
static inline vm operator<(const vf& a, const vf& b) { vm r; TF_LANEWISE(r.p[i_] = a.p[i_] < b.p[i_]); return r; }
static inline vm operator<=(const vf& a, const vf& b) { vm r; TF_LANEWISE(r.p[i_] = a.p[i_] <= b.p[i_]); return r; }
static inline vm operator>(const vf& a, const vf& b) { vm r; TF_LANEWISE(r.p[i_] = a.p[i_] > b.p[i_]); return r; }
static inline vf vmin(const vf& a, const vf& b) { vf r; TF_LANEWISE(r.p[i_] = a.p[i_] < b.p[i_] ? a.p[i_] : b.p[i_]); return r; }
static inline vf vmax(const vf& a, const vf& b) { vf r; TF_LANEWISE(r.p[i_] = a.p[i_] > b.p[i_] ? a.p[i_] : b.p[i_]); return r; }
// m ? a : b, lane by lane.
static inline vf select(const vm& m, const vf& a, const vf& b) {
  vf r;
  TF_LANEWISE(r.p[i_] = m.p[i_] ? a.p[i_] : b.p[i_]);
  return r;
}
#endif  // TF_KERNELS_OWN_VF

// ---------------------------------------------------------------- real FFT

// The complex FFT of size m: Stockham passes (decimation in frequency, self-sorting), each
// reading one buffer pair and writing the other, so the result comes out in natural order:
// radix-4 passes, the last one radix-8 when log2(m) is odd (radix-2 for m = 2). Element
// (q, p) of a pass with stride s and length n sits at q + s * p; the twiddle W_n^j is
// cw[j * (m / n)]. (Running the small passes class by class, q mod s, so that they stay in
// L1 was measured no faster on AVX2: the passes are bound by the adds, not by L2.)

// One radix-4 pass (n >= 4, n != 8 at the end).
static inline void fft_radix4_pass(const FftTables& t, const float* ar, const float* ai, float* br, float* bi,
                                   int n, int s) {
  const int n4 = n >> 2;
  const int tw_step = t.m / n;
  const long step = static_cast<long>(s) * n4 * kLanes;
  const long os = static_cast<long>(s) * kLanes;
  for (int p = 0; p < n4; ++p) {
    const vf w1r = splat(t.cw_re[p * tw_step]), w1i = splat(t.cw_im[p * tw_step]);
    const vf w2r = splat(t.cw_re[2 * p * tw_step]), w2i = splat(t.cw_im[2 * p * tw_step]);
    const vf w3r = splat(t.cw_re[3 * p * tw_step]), w3i = splat(t.cw_im[3 * p * tw_step]);
    for (int q = 0; q < s; ++q) {
      const long i0 = static_cast<long>(q + s * p) * kLanes;
      const vf a_r = load(ar + i0), a_i = load(ai + i0);
      const vf b_r = load(ar + i0 + step), b_i = load(ai + i0 + step);
      const vf c_r = load(ar + i0 + 2 * step), c_i = load(ai + i0 + 2 * step);
      const vf d_r = load(ar + i0 + 3 * step), d_i = load(ai + i0 + 3 * step);
      const vf apc_r = a_r + c_r, apc_i = a_i + c_i;
      const vf amc_r = a_r - c_r, amc_i = a_i - c_i;
      const vf bpd_r = b_r + d_r, bpd_i = b_i + d_i;
      // j (b - d), with j the imaginary unit
      const vf jbmd_r = d_i - b_i, jbmd_i = b_r - d_r;
      const long o = static_cast<long>(q + s * 4 * p) * kLanes;
      store(br + o, apc_r + bpd_r);
      store(bi + o, apc_i + bpd_i);
      const vf x1r = amc_r - jbmd_r, x1i = amc_i - jbmd_i;
      store(br + o + os, x1r * w1r - x1i * w1i);
      store(bi + o + os, x1r * w1i + x1i * w1r);
      const vf x2r = apc_r - bpd_r, x2i = apc_i - bpd_i;
      store(br + o + 2 * os, x2r * w2r - x2i * w2i);
      store(bi + o + 2 * os, x2r * w2i + x2i * w2r);
      const vf x3r = amc_r + jbmd_r, x3i = amc_i + jbmd_i;
      store(br + o + 3 * os, x3r * w3r - x3i * w3i);
      store(bi + o + 3 * os, x3r * w3i + x3i * w3r);
    }
  }
}

// The last pass when log2(m) is odd (n = 8): one radix-8 pass (its twiddles are all 1)
// instead of radix-4 then radix-2, one sweep fewer. DFT-8 = two DFT-4 (even / odd inputs)
// joined with W8^k = exp(-i pi k / 4).
static inline void fft_radix8_last(const float* ar, const float* ai, float* br, float* bi, int s) {
  const vf r2 = splat(0.70710678118654752f);
  const long os = static_cast<long>(s) * kLanes;
  for (int q = 0; q < s; ++q) {
    const long i0 = static_cast<long>(q) * kLanes;
    vf xr[8], xi[8];
    for (int k = 0; k < 8; ++k) {
      xr[k] = load(ar + i0 + k * os);
      xi[k] = load(ai + i0 + k * os);
    }
    // E = DFT4(x0, x2, x4, x6), O = DFT4(x1, x3, x5, x7)
    vf er[4], ei[4], odr[4], odi[4];
    for (int h = 0; h < 2; ++h) {
      const vf a_r = xr[h], a_i = xi[h], b_r = xr[h + 2], b_i = xi[h + 2];
      const vf c_r = xr[h + 4], c_i = xi[h + 4], d_r = xr[h + 6], d_i = xi[h + 6];
      const vf apc_r = a_r + c_r, apc_i = a_i + c_i, amc_r = a_r - c_r, amc_i = a_i - c_i;
      const vf bpd_r = b_r + d_r, bpd_i = b_i + d_i;
      const vf jbmd_r = d_i - b_i, jbmd_i = b_r - d_r;  // i (b - d)
      vf* yr = h == 0 ? er : odr;
      vf* yi = h == 0 ? ei : odi;
      yr[0] = apc_r + bpd_r;
      yi[0] = apc_i + bpd_i;
      yr[1] = amc_r - jbmd_r;
      yi[1] = amc_i - jbmd_i;
      yr[2] = apc_r - bpd_r;
      yi[2] = apc_i - bpd_i;
      yr[3] = amc_r + jbmd_r;
      yi[3] = amc_i + jbmd_i;
    }
    // W8^k O[k]: k = 1: ((r + i), (i - r)) / sqrt 2; k = 2: (i, -r); k = 3: ((i - r), -(r + i)) / sqrt 2
    const vf t1r = (odr[1] + odi[1]) * r2, t1i = (odi[1] - odr[1]) * r2;
    const vf t2r = odi[2], t2i = -odr[2];
    const vf t3r = (odi[3] - odr[3]) * r2, t3i = -(odr[3] + odi[3]) * r2;
    store(br + i0, er[0] + odr[0]);
    store(bi + i0, ei[0] + odi[0]);
    store(br + i0 + 4 * os, er[0] - odr[0]);
    store(bi + i0 + 4 * os, ei[0] - odi[0]);
    store(br + i0 + os, er[1] + t1r);
    store(bi + i0 + os, ei[1] + t1i);
    store(br + i0 + 5 * os, er[1] - t1r);
    store(bi + i0 + 5 * os, ei[1] - t1i);
    store(br + i0 + 2 * os, er[2] + t2r);
    store(bi + i0 + 2 * os, ei[2] + t2i);
    store(br + i0 + 6 * os, er[2] - t2r);
    store(bi + i0 + 6 * os, ei[2] - t2i);
    store(br + i0 + 3 * os, er[3] + t3r);
    store(bi + i0 + 3 * os, ei[3] + t3i);
    store(br + i0 + 7 * os, er[3] - t3r);
    store(bi + i0 + 7 * os, ei[3] - t3i);
  }
}

// The last radix-2 pass (n = 2, twiddle 1).
static inline void fft_radix2_last(const float* ar, const float* ai, float* br, float* bi, int s) {
  for (int q = 0; q < s; ++q) {
    const long i0 = static_cast<long>(q) * kLanes, i1 = static_cast<long>(q + s) * kLanes;
    const vf a_r = load(ar + i0), a_i = load(ai + i0);
    const vf b_r = load(ar + i1), b_i = load(ai + i1);
    store(br + i0, a_r + b_r);
    store(bi + i0, a_i + b_i);
    store(br + i1, a_r - b_r);
    store(bi + i1, a_i - b_i);
  }
}

// The complex FFT of size m of the packed input (zr, zi), into whichever of the two buffer
// pairs the last pass wrote: on return *out_r / *out_i point at Z (zr/zi or sr/si).
// Pairs outside [nz_lo, nz_hi) are zero; when rfft_pruned(m, nz_lo, nz_hi) the first quarter
// and the last quarter are all zero, are never read, and the first pass is a two-input
// butterfly (the same sums with the zero terms left out).
static void fft_passes(const FftTables& t, float* zr, float* zi, float* sr, float* si, int nz_lo, int nz_hi,
                       const float** out_r, const float** out_i) {
  const int m = t.m;
  float* ar = zr;
  float* ai = zi;
  float* br = sr;
  float* bi = si;
  int n = m, s = 1;
  auto swap = [&] {
    float* tr = ar; ar = br; br = tr;
    float* ti = ai; ai = bi; bi = ti;
  };
  if (rfft_pruned(m, nz_lo, nz_hi)) {
    // First radix-4 pass (n = m, s = 1) with a = d = 0: a +- c = +-c, b +- d = b,
    // j (b - d) = j b; only b (quarter 1) and c (quarter 2) are loaded.
    const int n4 = m >> 2;
    const long step = static_cast<long>(n4) * kLanes;
    for (int p = 0; p < n4; ++p) {
      const vf w1r = splat(t.cw_re[p]), w1i = splat(t.cw_im[p]);
      const vf w2r = splat(t.cw_re[2 * p]), w2i = splat(t.cw_im[2 * p]);
      const vf w3r = splat(t.cw_re[3 * p]), w3i = splat(t.cw_im[3 * p]);
      const long i0 = static_cast<long>(p) * kLanes;
      const vf b_r = load(ar + i0 + step), b_i = load(ai + i0 + step);
      const vf c_r = load(ar + i0 + 2 * step), c_i = load(ai + i0 + 2 * step);
      const long o = static_cast<long>(4 * p) * kLanes;
      store(br + o, c_r + b_r);
      store(bi + o, c_i + b_i);
      const vf x1r = b_i - c_r, x1i = -(c_i + b_r);
      store(br + o + kLanes, x1r * w1r - x1i * w1i);
      store(bi + o + kLanes, x1r * w1i + x1i * w1r);
      const vf x2r = c_r - b_r, x2i = c_i - b_i;
      store(br + o + 2 * kLanes, x2r * w2r - x2i * w2i);
      store(bi + o + 2 * kLanes, x2r * w2i + x2i * w2r);
      const vf x3r = -(c_r + b_i), x3i = b_r - c_i;
      store(br + o + 3 * kLanes, x3r * w3r - x3i * w3i);
      store(bi + o + 3 * kLanes, x3r * w3i + x3i * w3r);
    }
    n >>= 2;
    s <<= 2;
    swap();
  }
  while (n > 1) {
    if (n == 8) {
      fft_radix8_last(ar, ai, br, bi, s);
      n = 1;
      s <<= 3;
    } else if (n >= 4) {
      fft_radix4_pass(t, ar, ai, br, bi, n, s);
      n >>= 2;
      s <<= 2;
    } else {
      fft_radix2_last(ar, ai, br, bi, s);
      n = 1;
      s <<= 1;
    }
    swap();
  }
  *out_r = ar;
  *out_i = ai;
}

// Split the packed spectrum Z (ar, ai) into bins [k0, k1) of X, written to xr/xi from
// position 0: X[k] = (Z[k] + conj Z[m-k]) / 2 - i/2 W^k (Z[k] - conj Z[m-k]).
static inline void rfft_split(const FftTables& t, const float* ar, const float* ai, int k0, int k1, float* xr,
                              float* xi) {
  const int m = t.m;
  const vf half = splat(0.5f);
  xr -= static_cast<long>(k0) * kLanes;
  xi -= static_cast<long>(k0) * kLanes;
  for (int k = k0; k < k1; ++k) {
    const long i1 = static_cast<long>(k == m ? 0 : k) * kLanes;
    const long i2 = static_cast<long>(k == 0 ? 0 : m - k) * kLanes;
    const vf z1r = load(ar + i1), z1i = load(ai + i1);
    const vf z2r = load(ar + i2), z2i = -load(ai + i2);  // conj Z[m-k]
    const vf er = (z1r + z2r) * half, ei = (z1i + z2i) * half;
    // Fo = -i (Z1 - Z2c) / 2 = ((z1i - z2i) / 2, -(z1r - z2r) / 2)
    const vf orr = (z1i - z2i) * half, oi = (z2r - z1r) * half;
    const vf wr = splat(t.rw_re[k]), wi = splat(t.rw_im[k]);
    store(xr + static_cast<long>(k) * kLanes, er + orr * wr - oi * wi);
    store(xi + static_cast<long>(k) * kLanes, ei + orr * wi + oi * wr);
  }
}

static void rfft_impl(const FftTables& t, float* zr, float* zi, float* sr, float* si, int nz_lo, int nz_hi,
                      float* xr, float* xi) {
  const float *ar, *ai;
  fft_passes(t, zr, zi, sr, si, nz_lo, nz_hi, &ar, &ai);
  rfft_split(t, ar, ai, 0, t.m + 1, xr, xi);
}

// ---------------------------------------------------------------- running median
//
// Two algorithms, both branch-free across the 16 lanes and exact (a median is one of the
// window's values, so any correct selection gives the same bits).
//
// Blocks (k <= kMedianBlockMax, the HPSS kernels): the line is cut into blocks of k
// positions. The k outputs whose windows start in block A end in the next block B, so
// window i = A[i..k) + B[0..i): the median, rank r = k/2 + 1, of the union of two sorted
// lists X (a suffix of A) and Y (a prefix of B) is
//   min over a + b = r of max(X_a, Y_b)                (X_0 = Y_0 = -inf, 1-based)
// and only the r smallest of each list matter. The suffixes of A are built backwards by
// insertion (truncated to r entries), the prefix of B forwards, in place; an insertion
// is new[j] = max(old[j-1], min(old[j], v)), min/max only. Per output that is about
// 2 (suffix) + 2 (prefix) + 1 (selection) times min(len, r) operations instead of the
// sliding window's 4 k below, and no sort of a first window.
//
// Sliding (larger k): each lane keeps its window sorted. Sliding by one removes a (the
// value leaving) and inserts b (the value entering), without branches:
//   u[j]  = w[j] < a ? w[j] : w[j+1]          (w without one copy of a; w[k] = +inf)
//   w'[j] = max(u[j-1], min(u[j], b))           (u with b inserted; u[-1] = -inf)
// The median is w[k/2]. The first window is sorted once per lane (O(k log k); sliding it
// in from a window of +inf was O(k^2), seconds for the largest kernels).

// A strict weak order for std::sort even with NaN (placed last).
static inline bool median_less(float a, float b) { return a < b || (b != b && a == a); }

// The block algorithm works on keys with a min / max: the floats themselves (vf) or, for
// lines whose values all lie in [+0, +inf] (magnitudes: no -0, no NaN), on AVX2 their bits as
// ints (vik): there the int order of the bits is the float order and equal floats have equal
// bits, so min / max pick the same bits, and on AMD Zen the integer min / max issue on four
// ports instead of two (the float ones).
#if !defined(TF_KERNELS_OWN_VF)
#define TF_MEDIAN_NONNEG 1
typedef int ni_u __attribute__((vector_size(TF_VBYTES), aligned(4), may_alias));
// Whether the n lane groups at in (stride in_stride) all lie in [+0, +inf] (no -0, no NaN):
// as ints, their bits in [0, 0x7f800000].
static inline bool median_keys_nonneg(const float* in, std::ptrdiff_t in_stride, int n) {
  ni lo = ni{}, hi = ni{};
  for (int i = 0; i < n; ++i)
    for (int p = 0; p < kParts; ++p) {
      const ni v = *reinterpret_cast<const ni_u*>(in + static_cast<std::ptrdiff_t>(i) * in_stride + p * kPartLanes);
      lo = lo < v ? lo : v;
      hi = hi > v ? hi : v;
    }
  bool ok = true;
  for (int l = 0; l < kPartLanes; ++l) ok = ok && lo[l] >= 0 && hi[l] <= 0x7f800000;
  return ok;
}
#endif
#if defined(__AVX2__) && !defined(__AVX512F__) && !defined(TF_KERNELS_OWN_VF)
#define TF_MEDIAN_INT_KEYS 1
struct vik {
  ni p[kParts];
};
static inline vik kload(const float* x, vik*) {
  vik r;
  TF_LANEWISE(r.p[i_] = *reinterpret_cast<const ni_u*>(x + i_ * kPartLanes));
  return r;
}
static inline void kstore(float* x, const vik& v) {
  TF_LANEWISE(*reinterpret_cast<ni_u*>(x + i_ * kPartLanes) = v.p[i_]);
}
static inline vik vmin(const vik& a, const vik& b) { vik r; TF_LANEWISE(r.p[i_] = a.p[i_] < b.p[i_] ? a.p[i_] : b.p[i_]); return r; }
static inline vik vmax(const vik& a, const vik& b) { vik r; TF_LANEWISE(r.p[i_] = a.p[i_] > b.p[i_] ? a.p[i_] : b.p[i_]); return r; }
static inline vik kbelow(vik*) {  // below every key of [+0, +inf]
  vik r;
  TF_LANEWISE(r.p[i_] = ni{} - 1);
  return r;
}
static inline vik kabove(vik*) {  // above every key of [+0, +inf]
  vik r;
  TF_LANEWISE(r.p[i_] = ni{} + 0x7f800001);
  return r;
}
#endif
static inline vf kload(const float* x, vf*) { return load(x); }
#if defined(TF_MEDIAN_NONNEG)
// *p = v part by part (GCC copies a plain struct assignment through general registers).
template <class K>
static inline void kput(K* p, const K& v) {
  TF_LANEWISE(p->p[i_] = v.p[i_]);
}
#endif
static inline void kstore(float* x, const vf& v) { store(x, v); }
static inline vf kbelow(vf*) { return splat(-__builtin_inff()); }
static inline vf kabove(vf*) { return splat(__builtin_inff()); }

// The ranks of the block algorithm's suffixes (see median_blocks): suffix i keeps ranks
// lo[i]..hi[i], stored at suffixes + off[i].
static inline void median_block_ranks(int k, int r, int* lo, int* hi, int* off) {
  for (int i = k - 1, o = 0; i >= 0; --i) {
    lo[i] = std::max(1, r - i);
    hi[i] = std::min(k - i, r);
    off[i] = o;
    o += hi[i] - lo[i] + 1;
  }
}

// The suffixes of block A = [a0, a0 + k), backwards: suffix i = suffix i + 1 with A[i]
// inserted (at(i): the key of line position i; put(p, v): *p = v, as the caller stores keys).
template <class K, class At, class Put>
static inline void median_block_suffixes(const At& at, const Put& put, long a0, int k, const int* lo, const int* hi,
                                         const int* off, K* suffixes, const K& ninf) {
  put(suffixes + off[k - 1], at(a0 + k - 1));  // one value: ranks [1, 1]
  for (int i = k - 2; i >= 0; --i) {
    const K v = at(a0 + i);
    const K* src = suffixes + off[i + 1] - lo[i + 1];  // src[q]: rank q of suffix i + 1
    K* dst = suffixes + off[i] - lo[i];
    const int q_lo = lo[i], q_hi = hi[i], src_hi = hi[i + 1];
    K prev = q_lo == 1 ? ninf : src[q_lo - 1];
    const int q_end = std::min(q_hi, src_hi);
    for (int q = q_lo; q <= q_end; ++q) {
      const K cur = src[q];
      put(dst + q, vmax(prev, vmin(cur, v)));
      prev = cur;
    }
    if (q_hi > src_hi) put(dst + q_hi, vmax(prev, v));  // the list grows: src rank q_hi is +inf
  }
}

template <class K>
static void median_blocks(const float* in, std::ptrdiff_t in_stride, int n, int k, int o_lo, int o_hi, float* out,
                          std::ptrdiff_t out_stride, float* work) {
  const int h = k / 2, r = h + 1;
  // Window i takes a entries of the suffix X = A[i..k) and r - a of the prefix Y = B[0..i)
  // with a in [r - min(i, r), min(k - i, r)]: the suffix needs only its ranks
  // [max(1, r - i), min(k - i, r)] and the prefix only [max(1, r - k + i), min(i, r)].
  // Both windows of ranks move by at most one per insertion, so an insertion updates only
  // the ranks still needed (new_q = max(old_{q-1}, min(old_q, v))).
  K* prefix = reinterpret_cast<K*>(work);  // rank q at prefix[q - 1] (64-byte aligned)
  K* suffixes = prefix + r;                  // suffix i: ranks lo[i]..hi[i] at suffixes + off[i]
  int lo[kMedianBlockMax], hi[kMedianBlockMax], off[kMedianBlockMax];
  median_block_ranks(k, r, lo, hi, off);
  const K ninf = kbelow(static_cast<K*>(nullptr));
  auto at = [&](long i) {
    const long j = i >= 0 && i < n ? i : median_line_index(i, n);
    return kload(in + j * in_stride, static_cast<K*>(nullptr));
  };
  for (int o0 = o_lo; o0 < o_hi; o0 += k) {
    const long a0 = static_cast<long>(o0) - h;  // block A = [a0, a0 + k), B = [a0 + k, a0 + 2k)
    const int count = std::min(k, o_hi - o0);
    median_block_suffixes(at, [](K* p, const K& v) { *p = v; }, a0, k, lo, hi, off, suffixes, ninf);
    // The prefix of B, forwards, in place (ranks below the needed ones are left stale).
    for (int i = 0; i < count; ++i) {
      const int py_hi = std::min(i, r);  // ranks of the prefix for window i
      if (i > 0) {
        const K v = at(a0 + k + i - 1);
        const int q_lo = std::max(1, r - k + i), old_hi = std::min(i - 1, r);
        K* y = prefix - 1;  // y[q]: rank q
        K prev = q_lo == 1 ? ninf : y[q_lo - 1];
        const int q_end = std::min(py_hi, old_hi);
        for (int q = q_lo; q <= q_end; ++q) {
          const K cur = y[q];
          y[q] = vmax(prev, vmin(cur, v));
          prev = cur;
        }
        if (py_hi > old_hi) y[py_hi] = vmax(prev, v);
      }
      const K* x = suffixes + off[i] - lo[i];  // x[a]: rank a of the suffix
      const K* y = prefix - 1;
      const int a_lo = std::max(0, r - py_hi), a_hi = hi[i];
      K best = a_lo == 0 ? y[r] : (a_lo == r ? x[r] : vmax(x[a_lo], y[r - a_lo]));
      for (int a = a_lo + 1; a <= a_hi; ++a) best = vmin(best, a == r ? x[r] : vmax(x[a], y[r - a]));
      kstore(out + static_cast<std::ptrdiff_t>(o0 + i) * out_stride, best);
    }
  }
}

#if defined(TF_MEDIAN_NONNEG)
// median_blocks for lines whose values all lie in [+0, +inf] (no -0, no NaN: there min and max
// are a total order's, so their order does not change the bits): the prefix insertion and the
// selection of window i in one loop over the prefix ranks q (pair a = r - q), which reads each
// new prefix rank from a register instead of reloading it, one loop per window instead of two.
template <class K>
static void median_blocks_nonneg(const float* in, std::ptrdiff_t in_stride, int n, int k, int o_lo, int o_hi, float* out,
                                 std::ptrdiff_t out_stride, float* work) {
  const int h = k / 2, r = h + 1;
  K* prefix = reinterpret_cast<K*>(work);  // rank q at prefix[q - 1] (64-byte aligned)
  K* suffixes = prefix + r;                // suffix i: ranks lo[i]..hi[i] at suffixes + off[i]
  int lo[kMedianBlockMax], hi[kMedianBlockMax], off[kMedianBlockMax];
  median_block_ranks(k, r, lo, hi, off);
  const K ninf = kbelow(static_cast<K*>(nullptr));
  auto at = [&](long i) {
    const long j = i >= 0 && i < n ? i : median_line_index(i, n);
    return kload(in + j * in_stride, static_cast<K*>(nullptr));
  };
  for (int o0 = o_lo; o0 < o_hi; o0 += k) {
    const long a0 = static_cast<long>(o0) - h;  // block A = [a0, a0 + k), B = [a0 + k, a0 + 2k)
    const int count = std::min(k, o_hi - o0);
    median_block_suffixes(at, [](K* p, const K& v) { kput(p, v); }, a0, k, lo, hi, off, suffixes, ninf);
    // Window 0: the median of A.
    kstore(out + static_cast<std::ptrdiff_t>(o0) * out_stride, suffixes[off[0] - lo[0] + r]);
    K* y = prefix - 1;  // y[q]: rank q of the prefix of B
    for (int i = 1; i < count; ++i) {
      // Insert B[i - 1]: ranks [q_lo, py_hi] (the list grows while i <= r). Window i's pairs
      // are q in [max(0, r - k + i), py_hi]: q = 0 is the suffix's rank r alone, q = r the
      // prefix's rank r alone, else max(x[r - q], y[q]).
      const K v = at(a0 + k + i - 1);
      const K* x = suffixes + off[i] - lo[i];  // x[a]: rank a of the suffix
      const int py_hi = std::min(i, r), old_hi = std::min(i - 1, r);
      const int q_lo = std::max(1, r - k + i);
      K best = q_lo == 1 && r - k + i <= 0 ? x[r] : kabove(static_cast<K*>(nullptr));
      K prev = q_lo == 1 ? ninf : y[q_lo - 1];
      const int q_end = std::min(py_hi, old_hi);
      const int q_pair_end = std::min(q_end, r - 1);
      int q = q_lo;
      for (; q <= q_pair_end; ++q) {
        const K cur = y[q];
        const K nv = vmax(prev, vmin(cur, v));
        kput(y + q, nv);
        best = vmin(best, vmax(x[r - q], nv));
        prev = cur;
      }
      if (q <= q_end) {  // q == r (full prefix): rank r alone
        const K nv = vmax(prev, vmin(y[q], v));
        kput(y + q, nv);
        best = vmin(best, nv);
      } else if (py_hi > old_hi) {  // the list grows: rank py_hi is new
        const K nv = vmax(prev, v);
        kput(y + py_hi, nv);
        best = vmin(best, py_hi == r ? nv : vmax(x[r - py_hi], nv));
      }
      kstore(out + static_cast<std::ptrdiff_t>(o0 + i) * out_stride, best);
    }
  }
}

#endif  // TF_MEDIAN_NONNEG

// Outputs [o_lo, o_hi) only (out still indexed from position 0).
static void median_range_impl(const float* in, std::ptrdiff_t in_stride, int n, int k, int o_lo, int o_hi,
                              float* out, std::ptrdiff_t out_stride, float* work) {
  if (o_lo >= o_hi) return;
  if (k <= kMedianBlockMax) {
#if defined(TF_MEDIAN_NONNEG)
    // Only the positions that the outputs [o_lo, o_hi) read (reflected ones fall inside too).
    const int c_lo = std::max(0, o_lo - k / 2), c_hi = std::min(n, o_hi + k / 2);
    if (median_keys_nonneg(in + static_cast<std::ptrdiff_t>(c_lo) * in_stride, in_stride, c_hi - c_lo)) {
#if defined(TF_MEDIAN_INT_KEYS)
      median_blocks_nonneg<vik>(in, in_stride, n, k, o_lo, o_hi, out, out_stride, work);
#else
      median_blocks_nonneg<vf>(in, in_stride, n, k, o_lo, o_hi, out, out_stride, work);
#endif
      return;
    }
#endif
    median_blocks<vf>(in, in_stride, n, k, o_lo, o_hi, out, out_stride, work);
    return;
  }
  vf* w = reinterpret_cast<vf*>(work);  // 64-byte aligned
  const vf inf = splat(__builtin_inff());
  const vf ninf = -inf;
  const int h = k / 2;
  {
    float small[256];
    std::vector<float> large(k > 256 ? k : 0);
    float* line = k > 256 ? large.data() : small;
    for (int l = 0; l < kLanes; ++l) {
      for (int i = 0; i < k; ++i) line[i] = in[median_line_index(static_cast<long>(i) - h, n) * in_stride + l];
      std::sort(line, line + k, median_less);
      for (int j = 0; j < k; ++j) work[static_cast<std::ptrdiff_t>(j) * kLanes + l] = line[j];
    }
    w[k] = inf;
  }
  auto at = [&](long i) { return load(in + median_line_index(i, n) * in_stride); };
  auto slide = [&](vf a, vf b) {
    vf u_prev = ninf;
    vf wj = w[0];
    for (int j = 0; j < k; ++j) {
      const vf wn = w[j + 1];
      const vf u = select(wj < a, wj, wn);
      w[j] = vmax(u_prev, vmin(u, b));
      u_prev = u;
      wj = wn;
    }
  };
  if (o_lo == 0) store(out, w[h]);
  for (int i = 1; i < o_hi; ++i) {
    const long first = static_cast<long>(i) - 1 - h;
    slide(at(first), at(first + k));
    if (i >= o_lo) store(out + static_cast<std::ptrdiff_t>(i) * out_stride, w[h]);
  }
}

static void median_impl(const float* in, std::ptrdiff_t in_stride, int n, int k, float* out,
                        std::ptrdiff_t out_stride, float* work) {
  median_range_impl(in, in_stride, n, k, 0, n, out, out_stride, work);
}

// ---------------------------------------------------------------- soft masks (power 2)
//
// mask_math.h's softmask_value for power 2, 16 cells at a time and with the same float
// operations in the same order, so the results are bit-identical to the scalar form.

// fp-contract=off: no fused multiply-adds, so the rounding is the scalar formula's.
// GCC takes it per function; Clang ignores that attribute and takes the pragma instead,
// which holds from here to the end of the translation unit (only these kernels follow).
#if defined(__clang__)
#pragma clang fp contract(off)
#define TF_NO_FMA
#else
#define TF_NO_FMA __attribute__((optimize("fp-contract=off")))
#endif

// (1 or q^2) / (1 + q^2) for the cell's side, q^2 the squared min/max ratio.
static inline TF_NO_FMA vf softmask2_from(const vm& larger, const vm& bad, const vf& q2, const vf& fill) {
  const vf one = splat(1.0f);
  return select(bad, fill, select(larger, one, q2) / (one + q2));
}

static inline TF_NO_FMA vf ratio2(const vf& x, const vf& x_ref, vm& x_larger, vm& bad) {
  x_larger = x_ref <= x;
  const vf z = select(x_larger, x, x_ref);
  bad = z < splat(kFloatTiny);
  const vf q = select(x_larger, x_ref, x) / select(bad, splat(1.0f), z);
  return q * q;
}

static TF_NO_FMA void softmask2_impl(const float* harm, const float* perc, int n, float margin_harm,
                                     float margin_perc, bool split_zeros, float* mask_harm, float* mask_perc) {
  const vf fill = splat(split_zeros ? 0.5f : 0.0f);
  const vf mh = splat(margin_harm), mp = splat(margin_perc);
  const bool shared = margin_harm == 1.0f && margin_perc == 1.0f;
  for (int i = 0; i + kLanes <= n; i += kLanes) {
    const vf h = load(harm + i), p = load(perc + i);
    vm h_larger, bad;
    const vf q2 = ratio2(h, p * mh, h_larger, bad);
    store(mask_harm + i, softmask2_from(h_larger, bad, q2, fill));
    if (shared) {
      // Same pair, roles swapped: the percussive side is the larger one where p >= h.
      const vm p_larger = h <= p;
      store(mask_perc + i, softmask2_from(p_larger, bad, q2, fill));
    } else {
      vm p_larger, bad_p;
      const vf q2p = ratio2(p, h * mp, p_larger, bad_p);
      store(mask_perc + i, softmask2_from(p_larger, bad_p, q2p, fill));
    }
  }
}

// ---------------------------------------------------------------- scaling
//
// Element-wise dB / log of db_math.h; the loops are plain so that the compiler vectorises
// the branch-free formulas for this instruction set.

static float max_impl(const float* x, long n) {
  long i = 0;
  vf m = splat(-__builtin_inff());
  for (; i + kLanes <= n; i += kLanes) m = vmax(m, load(x + i));
  float r = -__builtin_inff();
  for (int p = 0; p < kParts; ++p)
    for (int l = 0; l < kPartLanes; ++l) r = m.p[p][l] > r ? m.p[p][l] : r;
  for (; i < n; ++i) r = x[i] > r ? x[i] : r;
  return r;
}

// db_math.h's ln_positive, 16 lanes at a time with the same operations in the same order
// (and no fused multiply-adds), so the results are bit-identical to the scalar formula.
static inline TF_NO_FMA vf ln_positive_v(const vf& x) {
  vf r;
  for (int i = 0; i < kParts; ++i) {
    nf v = x.p[i];
    const ni sub = v < (nf{} + 1.17549435e-38f);
    const nf scaled = v * 8388608.0f;
    v = sub ? scaled : v;
    const ni bits = reinterpret_cast<ni>(v);
    ni e = ((bits >> 23) & 0xff) - 127;
    nf m = reinterpret_cast<nf>((bits & 0x007fffff) | 0x3f800000);
    const ni big = m > (nf{} + 1.41421356f);
    const nf half = m * 0.5f;
    m = big ? half : m;
    e = e + (big & 1) - (sub & 23);
    const nf s = (m - 1.0f) / (m + 1.0f);
    const nf s2 = s * s;
    const nf p =
        s2 * (0.333333333f + s2 * (0.2f + s2 * (0.142857143f + s2 * (0.111111111f + s2 * 0.0909090909f))));
    const nf ln_m = 2.0f * s + 2.0f * s * p;
    const nf fe = __builtin_convertvector(e, nf);
    r.p[i] = fe * 0.693145752f + (fe * 1.42860677e-06f + ln_m);
  }
  return r;
}

static TF_NO_FMA void db_impl(float* x, long n, float amin, float offset, float floor_db) {
  const vf va = splat(amin), vo = splat(offset), vfl = splat(floor_db), k10 = splat(4.34294481903f);
  long i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    const vf v = load(x + i);
    const vf d = k10 * ln_positive_v(select(v > va, v, va)) - vo;
    store(x + i, select(d > vfl, d, vfl));
  }
  for (; i < n; ++i) {
    const float v = db_value(x[i], amin) - offset;
    x[i] = v > floor_db ? v : floor_db;
  }
}

static TF_NO_FMA void log_impl(float* x, long n, float lo, float hi) {
  const vf vlo = splat(lo), vhi = splat(hi);
  long i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    vf v = load(x + i);
    v = select(v < vlo, vlo, v);
    v = select(v > vhi, vhi, v);
    store(x + i, ln_positive_v(v));
  }
  for (; i < n; ++i) x[i] = log_clipped(x[i], lo, hi);
}

// ---------------------------------------------------------------- fused-frontend passes
//
// Plain loops that the compiler vectorises for the instruction set (no fused multiply-
// adds, so every level gives the scalar expressions' bits).

static TF_NO_FMA void magnitude_impl(const float* __restrict xr, const float* __restrict xi, int n,
                                     float* __restrict lanes, float* __restrict rows, std::ptrdiff_t ld) {
  for (int f = 0; f < n; ++f) {
    const float* a = xr + static_cast<std::ptrdiff_t>(f) * kLanes;
    const float* b = xi + static_cast<std::ptrdiff_t>(f) * kLanes;
    float* l = lanes + static_cast<std::ptrdiff_t>(f) * kLanes;
    float* d = rows + static_cast<std::ptrdiff_t>(f) * ld;
    for (int i = 0; i < kLanes; ++i) {
      const float v = __builtin_sqrtf(a[i] * a[i] + b[i] * b[i]);
      l[i] = v;
      d[i] = v;
    }
  }
}

// magnitude_impl's |X| into the lane array only.
static TF_NO_FMA void magnitude_lanes_impl(const float* __restrict xr, const float* __restrict xi, int n,
                                           float* __restrict lanes) {
  for (int i = 0; i < n * kLanes; ++i) lanes[i] = __builtin_sqrtf(xr[i] * xr[i] + xi[i] * xi[i]);
}

// rfft_impl then magnitude_impl, without the spectrum's round trip through memory: the
// split is done 16 bins at a time into a block that stays in L1, whose magnitudes go
// straight to `lanes` and `rows` (the same functions, so the same bits as the two calls).
static void rfft_magnitude_impl(const FftTables& t, float* zr, float* zi, float* sr, float* si, int nz_lo,
                                int nz_hi, float* lanes, float* rows, std::ptrdiff_t ld) {
  const float *ar, *ai;
  fft_passes(t, zr, zi, sr, si, nz_lo, nz_hi, &ar, &ai);
  constexpr int kBlock = 16;
  alignas(64) float br[kBlock * kLanes];
  alignas(64) float bi[kBlock * kLanes];
  const int bins = t.m + 1;
  for (int k0 = 0; k0 < bins; k0 += kBlock) {
    const int k1 = std::min(bins, k0 + kBlock);
    rfft_split(t, ar, ai, k0, k1, br, bi);
    if (rows)
      magnitude_impl(br, bi, k1 - k0, lanes + static_cast<std::ptrdiff_t>(k0) * kLanes,
                     rows + static_cast<std::ptrdiff_t>(k0) * ld, ld);
    else
      magnitude_lanes_impl(br, bi, k1 - k0, lanes + static_cast<std::ptrdiff_t>(k0) * kLanes);
  }
}

static TF_NO_FMA void power_masked2_impl(const float* __restrict mag, const float* __restrict mask_harm,
                                         const float* __restrict mask_perc, int n, float* __restrict out_harm,
                                         float* __restrict out_perc) {
  for (int t = 0; t < n; ++t) {
    const float a = mag[t] * mask_harm[t], b = mag[t] * mask_perc[t];
    out_harm[t] = a * a;
    out_perc[t] = b * b;
  }
}

// Stage 2 of the fused frontend for one bin, in one pass over its row instead of four: the
// soft masks (softmask2_impl), the masked power (power_masked2_impl) and, per band the bin
// feeds, mel_h[j] += weights[j] * (mag * mask_h)^2 and mel_p[j] += weights[j] * (mag * mask_p)^2
// (axpy_impl): the same operations in the same order, so the same bits. n: a multiple of
// kLanes (rows padded to it); cells [16 i, 16 i + 16) of perc and mag at i * chunk_stride.
static TF_NO_FMA void masked_mel2_impl(const float* harm, const float* perc, const float* mag, std::ptrdiff_t chunk_stride,
                                       int n, float margin_harm, float margin_perc, bool split_zeros, int n_bands,
                                       const float* weights, float* const* mel_h, float* const* mel_p) {
  const vf fill = splat(split_zeros ? 0.5f : 0.0f);
  const vf mgh = splat(margin_harm), mgp = splat(margin_perc);
  const bool shared = margin_harm == 1.0f && margin_perc == 1.0f;
  for (int i = 0; i + kLanes <= n; i += kLanes) {
    const std::ptrdiff_t ci = static_cast<std::ptrdiff_t>(i / kLanes) * chunk_stride;
    const vf h = load(harm + i), p = load(perc + ci), m = load(mag + ci);
    vm h_larger, bad;
    const vf q2 = ratio2(h, p * mgh, h_larger, bad);
    const vf mh = softmask2_from(h_larger, bad, q2, fill);
    vf mp;
    if (shared) {
      const vm p_larger = h <= p;
      mp = softmask2_from(p_larger, bad, q2, fill);
    } else {
      vm p_larger, bad_p;
      const vf q2p = ratio2(p, h * mgp, p_larger, bad_p);
      mp = softmask2_from(p_larger, bad_p, q2p, fill);
    }
    const vf a = m * mh, b = m * mp;
    const vf rh = a * a, rp = b * b;
    for (int j = 0; j < n_bands; ++j) {
      const vf w = splat(weights[j]);
      store(mel_h[j] + i, load(mel_h[j] + i) + w * rh);
      store(mel_p[j] + i, load(mel_p[j] + i) + w * rp);
    }
  }
}

// The fused frontend without HPSS, for one group of 16 frames: per bin f in [f_lo, f_hi) the
// power |X|^2 = re * re + im * im of the FFT's lane arrays, and per band the bin feeds
// (start[f] .. start[f + 1]: band[j], weight[j]) out[band * ld_out + l] += weight * power[l];
// the scalar loop's operations in its order (no fused multiply-add), so the same bits.
static TF_NO_FMA void power_mel_impl(const float* xr, const float* xi, int f_lo, int f_hi, const int* start,
                                     const int* band, const float* weight, float* out, std::ptrdiff_t ld_out) {
  for (int f = f_lo; f < f_hi; ++f) {
    const int j0 = start[f], j1 = start[f + 1];
    if (j0 == j1) continue;
    const vf a = load(xr + static_cast<std::ptrdiff_t>(f) * kLanes), b = load(xi + static_cast<std::ptrdiff_t>(f) * kLanes);
    const vf pw = a * a + b * b;
    for (int j = j0; j < j1; ++j) {
      float* dst = out + static_cast<std::ptrdiff_t>(band[j]) * ld_out;
      store(dst, load(dst) + splat(weight[j]) * pw);
    }
  }
}

static TF_NO_FMA void axpy_impl(float a, const float* __restrict x, int n, float* __restrict y) {
  for (int t = 0; t < n; ++t) y[t] += a * x[t];
}

#if defined(__AVX2__) && !defined(TF_KERNELS_OWN_VF)
// 8 x 8 transpose of r[0..8) in place.
static inline void transpose8x8(__m256 r[8]) {
  const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
  const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
  const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
  const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
  const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
  const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
  const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
  r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
  r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
  r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
  r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
  r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
  r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
  r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
#define TF_HAVE_TRANSPOSE8 1
#endif

// 16 rows of n values (row l at rows + l * ld) -> the lane array lanes[t * kLanes + l].
static void to_lanes_impl(const float* rows, std::ptrdiff_t ld, int n, float* lanes) {
  int t0 = 0;
#if defined(TF_HAVE_TRANSPOSE8)
  for (; t0 + 8 <= n; t0 += 8) {
    for (int half = 0; half < 2; ++half) {  // rows 0-7, then 8-15
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows + (half * 8 + i) * ld + t0);
      transpose8x8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(lanes + static_cast<std::ptrdiff_t>(t0 + i) * kLanes + half * 8, r[i]);
    }
  }
#endif
  for (; t0 < n; ++t0)
    for (int l = 0; l < kLanes; ++l) lanes[static_cast<std::ptrdiff_t>(t0) * kLanes + l] = rows[l * ld + t0];
}

// The inverse: lanes[t * kLanes + l] -> rows[l * ld + t], t < n.
static void from_lanes_impl(const float* lanes, int n, float* rows, std::ptrdiff_t ld) {
  int t0 = 0;
#if defined(TF_HAVE_TRANSPOSE8)
  for (; t0 + 8 <= n; t0 += 8) {
    for (int half = 0; half < 2; ++half) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(lanes + static_cast<std::ptrdiff_t>(t0 + i) * kLanes + half * 8);
      transpose8x8(r);
      for (int i = 0; i < 8; ++i) _mm256_storeu_ps(rows + (half * 8 + i) * ld + t0, r[i]);
    }
  }
#endif
  for (; t0 < n; ++t0)
    for (int l = 0; l < kLanes; ++l) rows[l * ld + t0] = lanes[static_cast<std::ptrdiff_t>(t0) * kLanes + l];
}
// The framing of the STFT: 16 frames (frame l at rows + l * ld) of 2 * pairs samples, times
// the window win, split into even / odd samples: zr[j * kLanes + l] = rows[l * ld + 2 j] * win[2 j],
// zi[j * kLanes + l] = rows[l * ld + 2 j + 1] * win[2 j + 1] (to_lanes, then one multiply per
// sample: the same bits, without the lane array's round trip through memory).
static void frames_window_impl(const float* rows, std::ptrdiff_t ld, int pairs, const float* win, float* zr,
                               float* zi) {
  const int n = 2 * pairs;
  int t0 = 0;
#if defined(TF_HAVE_TRANSPOSE8)
  for (; t0 + 8 <= n; t0 += 8) {
    for (int half = 0; half < 2; ++half) {
      __m256 r[8];
      for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(rows + (half * 8 + i) * ld + t0);
      transpose8x8(r);
      for (int i = 0; i < 8; ++i) {
        const int t = t0 + i;
        float* dst = (t & 1 ? zi : zr) + static_cast<std::ptrdiff_t>(t >> 1) * kLanes + half * 8;
        _mm256_storeu_ps(dst, _mm256_mul_ps(r[i], _mm256_set1_ps(win[t])));
      }
    }
  }
#endif
  for (; t0 < n; ++t0) {
    const float w = win[t0];
    float* dst = (t0 & 1 ? zi : zr) + static_cast<std::ptrdiff_t>(t0 >> 1) * kLanes;
    for (int l = 0; l < kLanes; ++l) dst[l] = rows[l * ld + t0] * w;
  }
}

#undef TF_HAVE_TRANSPOSE8
