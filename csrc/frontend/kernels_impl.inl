// Body of the per-ISA kernels (see kernels.h). Included inside a namespace by
// kernels_scalar.cpp, kernels_avx2.cpp and kernels_avx512.cpp, each compiled with its
// own instruction-set flags; GCC/Clang vector extensions turn the 16-lane arithmetic
// into the widest registers available (one zmm, two ymm or four xmm per value).

#pragma GCC diagnostic ignored "-Wpsabi"

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

// ---------------------------------------------------------------- real FFT

static void rfft_impl(const FftTables& t, float* zr, float* zi, float* sr, float* si, float* xr,
                      float* xi) {
  const int m = t.m;
  // Complex FFT of size m, radix-2 Stockham (decimation in frequency, self-sorting):
  // each pass reads x and writes y, so the result comes out in natural order.
  float* ar = zr;
  float* ai = zi;
  float* br = sr;
  float* bi = si;
  for (int n = m, s = 1; n > 1; n >>= 1, s <<= 1) {
    const int h = n >> 1;
    const int tw_step = m / n;
    for (int p = 0; p < h; ++p) {
      const vf wr = splat(t.cw_re[p * tw_step]);
      const vf wi = splat(t.cw_im[p * tw_step]);
      for (int q = 0; q < s; ++q) {
        const long ia = static_cast<long>(q + s * p) * kLanes;
        const long ib = static_cast<long>(q + s * (p + h)) * kLanes;
        const vf a_r = load(ar + ia), a_i = load(ai + ia);
        const vf b_r = load(ar + ib), b_i = load(ai + ib);
        const long o0 = static_cast<long>(q + s * 2 * p) * kLanes;
        const long o1 = o0 + static_cast<long>(s) * kLanes;
        store(br + o0, a_r + b_r);
        store(bi + o0, a_i + b_i);
        const vf d_r = a_r - b_r, d_i = a_i - b_i;
        store(br + o1, d_r * wr - d_i * wi);
        store(bi + o1, d_r * wi + d_i * wr);
      }
    }
    float* tr = ar; ar = br; br = tr;
    float* ti = ai; ai = bi; bi = ti;
  }
  // Split the packed spectrum: X[k] = (Z[k] + conj Z[m-k]) / 2 - i/2 W^k (Z[k] - conj Z[m-k]).
  const vf half = splat(0.5f);
  for (int k = 0; k <= m; ++k) {
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

// ---------------------------------------------------------------- running median
//
// Each lane keeps its window sorted. Sliding by one removes a (the value leaving) and
// inserts b (the value entering), without branches:
//   u[j]  = w[j] < a ? w[j] : w[j+1]          (w without one copy of a; w[k] = +inf)
//   w'[j] = max(u[j-1], min(u[j], b))           (u with b inserted; u[-1] = -inf)
// The median is w[k/2]. Filling starts from a window of +inf and removes one +inf per
// inserted sample.

static void median_impl(const float* in, std::ptrdiff_t in_stride, int n, int k, float* out,
                        std::ptrdiff_t out_stride, float* work) {
  vf* w = reinterpret_cast<vf*>(work);  // 64-byte aligned
  const vf inf = splat(__builtin_inff());
  const vf ninf = -inf;
  for (int j = 0; j <= k; ++j) w[j] = inf;
  const int h = k / 2;
  auto at = [&](long i) { return load(in + reflect_index(i, n) * in_stride); };
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
  for (int i = 0; i < k; ++i) slide(inf, at(static_cast<long>(i) - h));
  store(out, w[h]);
  for (int i = 1; i < n; ++i) {
    const long first = static_cast<long>(i) - 1 - h;
    slide(at(first), at(first + k));
    store(out + static_cast<std::ptrdiff_t>(i) * out_stride, w[h]);
  }
}

// ---------------------------------------------------------------- soft masks (power 2)
//
// mask_math.h's softmask_value for power 2, 16 cells at a time and with the same float
// operations in the same order, so the results are bit-identical to the scalar form.

// fp-contract=off: no fused multiply-adds, so the rounding is the scalar formula's.
#define TF_NO_FMA __attribute__((optimize("fp-contract=off")))

static inline TF_NO_FMA vf softmask2(const vf& x, const vf& x_ref, const vf& fill) {
  const vf one = splat(1.0f);
  const vf z = vmax(x, x_ref);
  const vm bad = z < splat(kFloatTiny);
  const vf zz = select(bad, one, z);
  vf a = x / zz;
  vf b = x_ref / zz;
  a = a * a;
  b = b * b;
  return select(bad, fill, a / (a + b));
}

static TF_NO_FMA void softmask2_impl(const float* harm, const float* perc, int n, float margin_harm,
                           float margin_perc, bool split_zeros, float* mask_harm, float* mask_perc) {
  const vf fill = splat(split_zeros ? 0.5f : 0.0f);
  const vf mh = splat(margin_harm), mp = splat(margin_perc);
  for (int i = 0; i + kLanes <= n; i += kLanes) {
    const vf h = load(harm + i), p = load(perc + i);
    store(mask_harm + i, softmask2(h, p * mh, fill));
    store(mask_perc + i, softmask2(p, h * mp, fill));
  }
}
