// Kernel-level agreement of every SIMD level of the C++ core with its scalar level, as a
// standalone program (no Python), so that it can be cross-compiled for aarch64 and run
// under user-mode emulation (scripts/test_neon_qemu.sh) as well as natively.
//
// Same checks and tolerances as the Python tests of the x86 levels:
//   frontend: real FFT (vs a float64 DFT and vs scalar, 2e-6 * max|X| * sqrt(n_fft), the
//     tolerance of tests/test_frontends.py; also with the pruned first pass of a short
//     centred window, and fused with the magnitude: bit-exact with rfft + magnitude), running median (bit-exact, NaN-free and with
//     ties), soft masks power 2 (also fused with the masked power and the mel sums), max, dB and log (bit-exact with the scalar header formulas,
//     tests/test_frontend_math.py);
//   contrastive: GEMM through the packed micro-kernel with every transpose and edge tile
//     (rtol 1e-5, atol 1e-5 * sqrt(k) * 4 vs float64, tests/test_contrastive_math.py), the
//     A-packing kernel (bit-exact with the generic packing), row max (exact), exp of the
//     log-sum-exp passes (rel < 3e-7 vs float64 exp, +inf / 0 saturation, every tail length),
//     and the whole InfoNCE forward + backward at each level vs scalar (1e-5 of the scale,
//     tests/test_losses.py's assert_close32).
//
//   simd_agreement            all levels this CPU supports
//   simd_agreement --require neon   also fail unless that level is present
// Exit status: 0 when everything agrees, 1 otherwise (every failure is printed).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "common/cpu_features.h"
#include "contrastive/gemm.h"
#include "contrastive/info_nce.h"
#include "contrastive/kernels.h"
#include "frontend/db_math.h"
#include "frontend/fft.h"
#include "frontend/kernels.h"
#include "frontend/mask_math.h"

namespace fe = tf::frontend;
namespace ct = tf::contrastive;
using tf::cpu::Simd;

namespace {

int g_failures = 0;
int g_checks = 0;

void check(bool ok, const std::string& level, const std::string& what, double err = 0, double tol = 0) {
  ++g_checks;
  if (ok) return;
  ++g_failures;
  std::printf("FAIL [%s] %s (error %.3g, tolerance %.3g)\n", level.c_str(), what.c_str(), err, tol);
}

bool same_bits(float a, float b) {
  std::uint32_t x, y;
  std::memcpy(&x, &a, 4);
  std::memcpy(&y, &b, 4);
  return x == y;
}

// Runs f with the SIMD level capped at `s`; returns the level in effect.
template <class F>
Simd at_level(Simd s, F&& f) {
  const Simd before = tf::cpu::simd_level();
  const Simd got = tf::cpu::set_simd_cap(s);
  f();
  tf::cpu::set_simd_cap(before == Simd::Scalar ? Simd::Scalar : Simd::Neon);  // Neon = no cap
  return got;
}

// ------------------------------------------------------------------ frontend

// The lane layout of the FFT kernel's input: x[l][t] of frame l -> zr/zi lane arrays.
void fft_frames(const fe::Kernels& k, int n_fft, const std::vector<float>& frames, std::vector<float>& xr,
                std::vector<float>& xi) {
  const fe::FftTables& t = fe::fft_plan(n_fft).tables();
  const int m = t.m, L = fe::kLanes;
  fe::FloatBuffer zr(m * L), zi(m * L), sr(m * L), si(m * L), or_((m + 1) * L), oi((m + 1) * L);
  for (int j = 0; j < m; ++j)
    for (int l = 0; l < L; ++l) {
      zr[j * L + l] = frames[l * n_fft + 2 * j];
      zi[j * L + l] = frames[l * n_fft + 2 * j + 1];
    }
  k.rfft(t, zr.data(), zi.data(), sr.data(), si.data(), 0, m, or_.data(), oi.data());
  xr.assign(or_.begin(), or_.end());
  xi.assign(oi.begin(), oi.end());
}

// The FFT with the window's non-zero pairs [nz_lo, nz_hi) declared (frames zero outside):
// the pairs that rfft_read_range excludes hold NaN, so reading one would show. fused: the
// magnitudes of rfft_magnitude (lanes and rows) instead of the spectrum, in mag.
void fft_frames_nz(const fe::Kernels& k, int n_fft, const std::vector<float>& frames, int nz_lo, int nz_hi,
                   bool fused, std::vector<float>& xr, std::vector<float>& xi, std::vector<float>& mag,
                   std::vector<float>& mag_rows) {
  const fe::FftTables& t = fe::fft_plan(n_fft).tables();
  const int m = t.m, L = fe::kLanes;
  fe::FloatBuffer zr(m * L), zi(m * L), sr(m * L), si(m * L), or_((m + 1) * L), oi((m + 1) * L);
  int r_lo = 0, r_hi = m;
  fe::rfft_read_range(m, nz_lo, nz_hi, &r_lo, &r_hi);
  for (int j = 0; j < m; ++j)
    for (int l = 0; l < L; ++l) {
      const bool read = j >= r_lo && j < r_hi;
      zr[j * L + l] = read ? frames[l * n_fft + 2 * j] : NAN;
      zi[j * L + l] = read ? frames[l * n_fft + 2 * j + 1] : NAN;
    }
  if (!fused) {
    k.rfft(t, zr.data(), zi.data(), sr.data(), si.data(), nz_lo, nz_hi, or_.data(), oi.data());
    xr.assign(or_.begin(), or_.end());
    xi.assign(oi.begin(), oi.end());
    return;
  }
  const int ld = 3 * L + 5;  // rows: bin f's 16 values at f * ld
  std::vector<float> lanes(static_cast<size_t>(m + 1) * L, -1.0f), rows(static_cast<size_t>(m + 1) * ld, -1.0f);
  const fe::FloatBuffer zr0 = zr, zi0 = zi;
  k.rfft_magnitude(t, zr.data(), zi.data(), sr.data(), si.data(), nz_lo, nz_hi, lanes.data(), rows.data(), ld);
  mag = lanes;
  // rows null: the lane array only, the same values
  zr = zr0;
  zi = zi0;
  std::vector<float> only(lanes.size(), -1.0f);
  k.rfft_magnitude(t, zr.data(), zi.data(), sr.data(), si.data(), nz_lo, nz_hi, only.data(), nullptr, 0);
  for (size_t i = 0; i < only.size(); ++i)
    if (!same_bits(only[i], lanes[i])) {
      mag[i] = NAN;  // fails the bit-exact check below
      break;
    }
  mag_rows.assign(lanes.size(), 0.0f);
  for (int f = 0; f <= m; ++f)
    for (int l = 0; l < L; ++l) mag_rows[static_cast<size_t>(f) * L + l] = rows[static_cast<size_t>(f) * ld + l];
}

// The pruned first pass (window at most half the frame, centred: the first and last quarter
// of the packed input are never read) and the fused rfft + magnitude: vs a float64 DFT and
// vs scalar with the FFT's tolerance, and the fused magnitudes bit-exact with this level's
// rfft followed by its magnitude kernel.
void check_fft_pruned_fused(const fe::Kernels& k, const fe::Kernels& scalar, std::mt19937& rng) {
  std::normal_distribution<float> nd;
  const int L = fe::kLanes;
  struct Case { int n_fft, win; };
  for (Case c : {Case{16, 8}, Case{32, 16}, Case{64, 20}, Case{256, 100}, Case{1024, 400}, Case{1024, 512},
                 Case{1024, 1024}, Case{2048, 777}, Case{8, 4}, Case{4, 2}}) {
    const int n_fft = c.n_fft, m = n_fft / 2;
    const int lo = (n_fft - c.win) / 2, hi = lo + c.win;  // samples [lo, hi) non-zero
    const int nz_lo = lo / 2, nz_hi = (hi + 1) / 2;
    std::vector<float> frames(static_cast<size_t>(L) * n_fft, 0.0f);
    for (int l = 0; l < L; ++l)
      for (int i = lo; i < hi; ++i) frames[l * n_fft + i] = nd(rng);
    std::vector<float> xr, xi, sr, si, mag, mag_rows, smag, smag_rows, unused;
    fft_frames_nz(k, n_fft, frames, nz_lo, nz_hi, false, xr, xi, unused, unused);
    fft_frames_nz(scalar, n_fft, frames, nz_lo, nz_hi, false, sr, si, unused, unused);
    fft_frames_nz(k, n_fft, frames, nz_lo, nz_hi, true, unused, unused, mag, mag_rows);
    fft_frames_nz(scalar, n_fft, frames, nz_lo, nz_hi, true, unused, unused, smag, smag_rows);
    double max_ref = 0, err_ref = 0, err_lvl = 0, err_mag = 0;
    for (int l = 0; l < L; l += (n_fft > 256 ? L - 1 : 1))
      for (int b = 0; b <= m; b += (m > 64 ? 7 : 1)) {
        double re = 0, im = 0;
        for (int t = lo; t < hi; ++t) {
          const double ang = -2.0 * M_PI * (static_cast<double>(b) * t / n_fft);
          re += frames[l * n_fft + t] * std::cos(ang);
          im += frames[l * n_fft + t] * std::sin(ang);
        }
        const size_t i = static_cast<size_t>(b) * L + l;
        max_ref = std::max(max_ref, std::hypot(re, im));
        err_ref = std::max(err_ref, std::hypot(xr[i] - re, xi[i] - im));
        err_mag = std::max(err_mag, std::fabs(mag[i] - std::hypot(re, im)));
      }
    bool exact = true;
    for (size_t i = 0; i < xr.size(); ++i) {
      err_lvl = std::max(err_lvl, std::hypot(double(xr[i]) - sr[i], double(xi[i]) - si[i]));
      err_lvl = std::max(err_lvl, std::fabs(double(mag[i]) - smag[i]));
      const float want = std::sqrt(xr[i] * xr[i] + xi[i] * xi[i]);
      exact = exact && same_bits(mag[i], want) && same_bits(mag_rows[i], want);
    }
    const std::string what = ", n_fft=" + std::to_string(n_fft) + " win=" + std::to_string(c.win) +
                             (fe::rfft_pruned(m, nz_lo, nz_hi) ? " (pruned)" : "");
    const double tol = 2e-6 * max_ref * std::sqrt(double(n_fft));
    check(err_ref <= tol, k.name, "rfft with zero quarters vs float64 DFT" + what, err_ref, tol);
    check(err_mag <= tol, k.name, "rfft_magnitude vs float64 |DFT|" + what, err_mag, tol);
    check(err_lvl <= tol, k.name, "rfft / rfft_magnitude vs scalar" + what, err_lvl, tol);
    check(exact, k.name, "rfft_magnitude bit-exact with rfft + magnitude" + what);
  }
}

void check_fft(const fe::Kernels& k, const fe::Kernels& scalar, std::mt19937& rng) {
  std::normal_distribution<float> nd;
  for (int n_fft : {4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096}) {
    std::vector<float> frames(static_cast<size_t>(fe::kLanes) * n_fft);
    for (float& v : frames) v = nd(rng);
    std::vector<float> xr, xi, sr, si;
    fft_frames(k, n_fft, frames, xr, xi);
    fft_frames(scalar, n_fft, frames, sr, si);
    const int m = n_fft / 2;
    // float64 DFT of a few bins of every lane, and the scale max|X|.
    double max_ref = 0, err_ref = 0, err_lvl = 0;
    // (every lane for small sizes; lanes 0 and 15 and every 7th bin above: emulation is slow)
    for (int l = 0; l < fe::kLanes; l += (n_fft > 256 ? fe::kLanes - 1 : 1))
      for (int b = 0; b <= m; b += (m > 64 ? 7 : 1)) {
        double re = 0, im = 0;
        for (int t = 0; t < n_fft; ++t) {
          const double ang = -2.0 * M_PI * (static_cast<double>(b) * t / n_fft);
          re += frames[l * n_fft + t] * std::cos(ang);
          im += frames[l * n_fft + t] * std::sin(ang);
        }
        const size_t i = static_cast<size_t>(b) * fe::kLanes + l;
        max_ref = std::max(max_ref, std::hypot(re, im));
        err_ref = std::max(err_ref, std::hypot(xr[i] - re, xi[i] - im));
      }
    for (size_t i = 0; i < xr.size(); ++i)
      err_lvl = std::max(err_lvl, std::hypot(double(xr[i]) - sr[i], double(xi[i]) - si[i]));
    const double tol = 2e-6 * max_ref * std::sqrt(double(n_fft));
    check(err_ref <= tol, k.name, "rfft vs float64 DFT, n_fft=" + std::to_string(n_fft), err_ref, tol);
    check(err_lvl <= tol, k.name, "rfft vs scalar, n_fft=" + std::to_string(n_fft), err_lvl, tol);
  }
}

void check_median(const fe::Kernels& k, const fe::Kernels& scalar, std::mt19937& rng) {
  const int L = fe::kLanes;
  // Values of both signs (the float keys), and in [+0, +inf] only (magnitudes: the kernels'
  // non-negative path, with int keys on AVX2), with ties, zeros and +inf.
  for (int n : {1, 2, 3, 7, 31, 100, 513}) {
    for (int kw : {1, 2, 3, 4, 5, 17, 31, 64, 301}) {
      for (int ties = 0; ties < 4; ++ties) {
        std::vector<float> in(static_cast<size_t>(n) * L);
        const bool nonneg = ties >= 2;
        std::uniform_real_distribution<float> u(nonneg ? 0.0f : -5.0f, 5.0f);
        for (float& v : in) v = ties % 2 ? std::floor(u(rng)) : u(rng);
        if (nonneg && ties == 3 && n > 2) in[static_cast<size_t>(n / 2) * L + 3] = INFINITY;
        fe::FloatBuffer work(fe::median_work_floats(kw));
        std::vector<float> a(in.size()), b(in.size());
        k.median(in.data(), L, n, kw, a.data(), L, work.data());
        scalar.median(in.data(), L, n, kw, b.data(), L, work.data());
        bool ok = true;
        for (size_t i = 0; i < a.size(); ++i) ok = ok && same_bits(a[i], b[i]);
        // and against a direct median of the reflected window (lane 0)
        for (int i = 0; i < n && ok; ++i) {
          std::vector<float> win(kw);
          for (int j = 0; j < kw; ++j) win[j] = in[fe::median_line_index(i - kw / 2 + j, n) * L];
          std::nth_element(win.begin(), win.begin() + kw / 2, win.end());
          ok = same_bits(a[static_cast<size_t>(i) * L], win[kw / 2]);
        }
        // median_range: the same bits on [o_lo, o_hi), nothing written elsewhere
        const int o_lo = n / 4, o_hi = n - n / 5;
        std::vector<float> c(in.size(), -7.0f);
        k.median_range(in.data(), L, n, kw, o_lo, o_hi, c.data(), L, work.data());
        for (size_t i = 0; i < c.size(); ++i) {
          const int o = static_cast<int>(i / L);
          ok = ok && (o >= o_lo && o < o_hi ? same_bits(c[i], a[i]) : c[i] == -7.0f);
        }
        check(ok, k.name, "median n=" + std::to_string(n) + " k=" + std::to_string(kw) + (ties % 2 ? " ties" : "") +
                              (nonneg ? " non-negative" : ""));
      }
    }
  }
}

// The STFT's framing (Kernels::frames_window) against its definition: to_lanes of the 16
// frames, then one multiply by the window per sample, split into even / odd: bit-exact.
void check_frames_window(const fe::Kernels& k, std::mt19937& rng) {
  const int L = fe::kLanes;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  for (int pairs : {1, 3, 4, 5, 200, 203}) {
    const long ld = 2 * pairs + 37;
    std::vector<float> rows(static_cast<size_t>(L) * ld), win(2 * pairs);
    for (float& v : rows) v = u(rng);
    for (float& v : win) v = u(rng);
    std::vector<float> zr(static_cast<size_t>(pairs) * L), zi(zr.size()), lanes(2 * zr.size());
    k.frames_window(rows.data(), ld, pairs, win.data(), zr.data(), zi.data());
    k.to_lanes(rows.data(), ld, 2 * pairs, lanes.data());
    bool ok = true;
    for (int j = 0; j < pairs; ++j)
      for (int l = 0; l < L; ++l) {
        ok = ok && same_bits(zr[j * L + l], lanes[(2 * j) * L + l] * win[2 * j]);
        ok = ok && same_bits(zi[j * L + l], lanes[(2 * j + 1) * L + l] * win[2 * j + 1]);
      }
    check(ok, k.name, "frames_window pairs=" + std::to_string(pairs));
  }
}

void check_masks(const fe::Kernels& k, std::mt19937& rng) {
  const int n = 16 * 40;
  std::vector<float> h(n), p(n), mh(n), mp(n);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int i = 0; i < n; ++i) {
    h[i] = u(rng) < 0.3f ? 0.0f : u(rng);
    p[i] = u(rng) < 0.3f ? 0.0f : u(rng) * 3.0f;
  }
  h[0] = p[0] = 0.0f;
  h[1] = p[1] = 0.25f;
  h[2] = 1e-39f;
  for (float margin_h : {1.0f, 2.0f}) {
    for (bool split : {false, true}) {
      const float margin_p = margin_h == 1.0f ? 1.0f : 1.5f;
      k.softmask2(h.data(), p.data(), n, margin_h, margin_p, split, mh.data(), mp.data());
      bool ok = true;
      for (int i = 0; i < n; ++i) {
        ok = ok && same_bits(mh[i], fe::softmask_value(h[i], p[i] * margin_h, 2.0f, false, split));
        ok = ok && same_bits(mp[i], fe::softmask_value(p[i], h[i] * margin_p, 2.0f, false, split));
      }
      check(ok, k.name, std::string("softmask2 bit-exact with the header, margin ") + (margin_h == 1.0f ? "1" : "2/1.5") +
                            (split ? " split_zeros" : ""));
    }
  }
}

// The fused stage-2 pass (masks + masked power + mel sums of 0..3 bands) bit-exact with the
// header's softmask formula, the squares and one add per band, zeros and ties included.
void check_masked_mel(const fe::Kernels& k, std::mt19937& rng) {
  const int n = 16 * 33;
  std::vector<float> h(n), p(n), m(n);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int i = 0; i < n; ++i) {
    h[i] = u(rng) < 0.3f ? 0.0f : u(rng);
    p[i] = u(rng) < 0.3f ? 0.0f : u(rng) * 3.0f;
    m[i] = u(rng) < 0.1f ? 0.0f : u(rng) * 10.0f;
  }
  h[0] = p[0] = 0.0f;
  h[1] = p[1] = 0.25f;
  h[2] = 1e-39f;
  for (float margin_h : {1.0f, 2.0f}) {
    for (bool split : {false, true}) {
      for (int nb : {0, 1, 2, 3}) {
        const float margin_p = margin_h == 1.0f ? 1.0f : 1.5f;
        std::vector<std::vector<float>> mel(2 * nb, std::vector<float>(n));
        std::vector<float*> dh(nb + 1), dp(nb + 1);
        const float w[3] = {0.37f, 1.25e-3f, 2.0f};
        for (int j = 0; j < 2 * nb; ++j)
          for (float& v : mel[j]) v = u(rng);
        const std::vector<std::vector<float>> before = mel;
        for (int j = 0; j < nb; ++j) {
          dh[j] = mel[j].data();
          dp[j] = mel[nb + j].data();
        }
        // perc and mag as 16-cell chunks 40 floats apart (the frontend's blocks), harm a row
        const int cs = 40;
        std::vector<float> pc(static_cast<size_t>(n / 16) * cs, NAN), mc(pc.size(), NAN);
        for (int i = 0; i < n; ++i) {
          pc[static_cast<size_t>(i / 16) * cs + i % 16] = p[i];
          mc[static_cast<size_t>(i / 16) * cs + i % 16] = m[i];
        }
        if (nb == 2) {  // plain rows (chunk stride 16) as well
          std::vector<std::vector<float>> mel2 = mel;
          std::vector<float*> eh(nb), ep(nb);
          for (int j = 0; j < nb; ++j) eh[j] = mel2[j].data(), ep[j] = mel2[nb + j].data();
          k.masked_mel2(h.data(), p.data(), m.data(), 16, n, margin_h, margin_p, split, nb, w, eh.data(), ep.data());
          k.masked_mel2(h.data(), pc.data(), mc.data(), cs, n, margin_h, margin_p, split, nb, w, dh.data(), dp.data());
          check(mel2 == mel, k.name, "masked_mel2 chunk stride 16 == chunk stride 40");
          for (int j = 0; j < 2 * nb; ++j) mel[j] = before[j];
        }
        k.masked_mel2(h.data(), pc.data(), mc.data(), cs, n, margin_h, margin_p, split, nb, w, dh.data(), dp.data());
        bool ok = true;
        for (int i = 0; i < n; ++i) {
          const float a = m[i] * fe::softmask_value(h[i], p[i] * margin_h, 2.0f, false, split);
          const float b = m[i] * fe::softmask_value(p[i], h[i] * margin_p, 2.0f, false, split);
          const float ra = a * a, rb = b * b;
          for (int j = 0; j < nb; ++j) {
            const float ph = w[j] * ra, pp = w[j] * rb;
            ok = ok && same_bits(mel[j][i], before[j][i] + ph) && same_bits(mel[nb + j][i], before[nb + j][i] + pp);
          }
        }
        check(ok, k.name, "masked_mel2 bit-exact with masks + power + axpy, bands=" + std::to_string(nb) +
                              (margin_h == 1.0f ? " margin 1" : " margin 2/1.5") + (split ? " split_zeros" : ""));
      }
    }
  }
}

void check_scaling(const fe::Kernels& k, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(-45.0, 30.0);
  for (long n : {1L, 15L, 16L, 17L, 1000L}) {
    std::vector<float> x(n);
    for (float& v : x) v = static_cast<float>(std::pow(10.0, u(rng)));
    const float special[] = {0.0f, 1e-45f, 1.0f, 2.0f, 0.5f, 1.41421356f, 3e38f};
    for (long i = 0; i < n && i < 7; ++i) x[i] = special[i];
    float ref_max = -INFINITY;
    for (float v : x) ref_max = v > ref_max ? v : ref_max;
    check(same_bits(k.max(x.data(), n), ref_max), k.name, "max n=" + std::to_string(n));
    std::vector<float> d = x, l = x;
    k.db(d.data(), n, 1e-44f, 0.0f, -INFINITY);
    k.log(l.data(), n, 1e-5f, 1e8f);
    bool ok_d = true, ok_l = true;
    for (long i = 0; i < n; ++i) {
      ok_d = ok_d && same_bits(d[i], fe::db_value(x[i], 1e-44f));
      ok_l = ok_l && same_bits(l[i], fe::log_clipped(x[i], 1e-5f, 1e8f));
    }
    check(ok_d, k.name, "db bit-exact with db_value, n=" + std::to_string(n));
    check(ok_l, k.name, "log bit-exact with log_clipped, n=" + std::to_string(n));
    // offset and floor (power_to_db's top_db clip)
    std::vector<float> d2 = x;
    k.db(d2.data(), n, 1e-10f, 3.5f, -80.0f);
    bool ok_f = true;
    for (long i = 0; i < n; ++i) {
      const float v = fe::db_value(x[i], 1e-10f) - 3.5f;
      ok_f = ok_f && same_bits(d2[i], v > -80.0f ? v : -80.0f);
    }
    check(ok_f, k.name, "db with offset and floor, n=" + std::to_string(n));
  }
}

// The fused frontend's passes: magnitudes, masked power, axpy (bit-exact with the scalar
// expressions) and the 16-row <-> lane-array transposes (exact copies), odd lengths included.
void check_fused_passes(const fe::Kernels& k, std::mt19937& rng) {
  const int L = fe::kLanes;
  std::normal_distribution<float> nd;
  for (int n : {1, 7, 8, 9, 31, 513}) {
    std::vector<float> xr(static_cast<size_t>(n) * L), xi(xr.size()), lanes(xr.size());
    for (float& v : xr) v = nd(rng);
    for (float& v : xi) v = nd(rng);
    const int ld = n * L + 3;  // rows: position f's 16 values at rows + f * ld
    std::vector<float> rows(static_cast<size_t>(n) * ld, -1.0f);
    k.magnitude(xr.data(), xi.data(), n, lanes.data(), rows.data(), ld);
    bool ok = true;
    for (int f = 0; f < n; ++f)
      for (int l = 0; l < L; ++l) {
        const size_t i = static_cast<size_t>(f) * L + l;
        const float want = std::sqrt(xr[i] * xr[i] + xi[i] * xi[i]);
        ok = ok && same_bits(lanes[i], want) && same_bits(rows[static_cast<size_t>(f) * ld + l], want);
      }
    check(ok, k.name, "magnitude bit-exact, n=" + std::to_string(n));

    std::vector<float> m(n), mh(n), mp(n), rh(n), rp(n), y(n), y0(n);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (int t = 0; t < n; ++t) m[t] = std::fabs(nd(rng)), mh[t] = u(rng), mp[t] = 1.0f - mh[t], y0[t] = nd(rng);
    k.power_masked2(m.data(), mh.data(), mp.data(), n, rh.data(), rp.data());
    y = y0;
    k.axpy(0.37f, m.data(), n, y.data());
    bool ok_p = true, ok_a = true;
    for (int t = 0; t < n; ++t) {
      const float a = m[t] * mh[t], b = m[t] * mp[t];
      ok_p = ok_p && same_bits(rh[t], a * a) && same_bits(rp[t], b * b);
      const float prod = 0.37f * m[t];
      ok_a = ok_a && same_bits(y[t], y0[t] + prod);
    }
    check(ok_p, k.name, "power_masked2 bit-exact, n=" + std::to_string(n));
    check(ok_a, k.name, "axpy bit-exact (no fused multiply-add), n=" + std::to_string(n));

    const int rld = n + 5;
    std::vector<float> r16(static_cast<size_t>(L) * rld), back(r16.size(), 0.0f), lan(static_cast<size_t>(n) * L);
    for (float& v : r16) v = nd(rng);
    k.to_lanes(r16.data(), rld, n, lan.data());
    k.from_lanes(lan.data(), n, back.data(), rld);
    bool ok_t = true;
    for (int l = 0; l < L; ++l)
      for (int t = 0; t < n; ++t) {
        ok_t = ok_t && same_bits(lan[static_cast<size_t>(t) * L + l], r16[static_cast<size_t>(l) * rld + t]);
        ok_t = ok_t && same_bits(back[static_cast<size_t>(l) * rld + t], r16[static_cast<size_t>(l) * rld + t]);
      }
    check(ok_t, k.name, "to_lanes / from_lanes exact, n=" + std::to_string(n));
  }
}

// The mel-only fused frontend's group kernel (Kernels::power_mel) against its scalar loop:
// bins feeding no band, one band and two bands, a sub-range of bins, rows with padding.
void check_power_mel(const fe::Kernels& k, std::mt19937& rng) {
  const int L = fe::kLanes;
  std::normal_distribution<float> nd;
  std::uniform_int_distribution<int> nb(0, 2);
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  for (int bins : {1, 5, 513}) {
    const int bands = 7;
    std::vector<int> start(bins + 1, 0), band;
    std::vector<float> weight;
    for (int f = 0; f < bins; ++f) {
      const int c = nb(rng);
      for (int j = 0; j < c; ++j) {
        band.push_back((f + j) % bands);
        weight.push_back(u(rng));
      }
      start[f + 1] = static_cast<int>(band.size());
    }
    std::vector<float> xr(static_cast<size_t>(bins) * L), xi(xr.size());
    for (float& v : xr) v = nd(rng);
    for (float& v : xi) v = nd(rng);
    const int ld = 3 * L + 5;
    std::vector<float> out0(static_cast<size_t>(bands) * ld);
    for (float& v : out0) v = nd(rng);
    for (int lo : {0, bins / 3}) {
      const int hi = bins - bins / 4;
      std::vector<float> out = out0, want = out0;
      k.power_mel(xr.data(), xi.data(), lo, hi, start.data(), band.empty() ? nullptr : band.data(),
                  weight.empty() ? nullptr : weight.data(), out.data() + 4, ld);
      for (int f = lo; f < hi; ++f)
        for (int j = start[f]; j < start[f + 1]; ++j)
          for (int l = 0; l < L; ++l) {
            const size_t i = static_cast<size_t>(f) * L + l;
            const float pw = xr[i] * xr[i] + xi[i] * xi[i];
            const float prod = weight[j] * pw;
            float& dst = want[static_cast<size_t>(band[j]) * ld + 4 + l];
            dst = dst + prod;
          }
      bool ok = true;
      for (size_t i = 0; i < out.size(); ++i) ok = ok && same_bits(out[i], want[i]);
      check(ok, k.name, "power_mel bit-exact with the scalar loop, bins=" + std::to_string(bins) +
                            " from " + std::to_string(lo));
    }
  }
}

// ------------------------------------------------------------------ contrastive

void check_gemm(const std::string& level, std::mt19937& rng) {
  std::normal_distribution<float> nd;
  const int shapes[][3] = {{1, 1, 1}, {13, 37, 5}, {50, 3, 300}, {145, 70, 257}, {7, 2100, 9}, {401, 33, 520}, {8, 12, 4}, {16, 24, 1}};
  for (const auto& s : shapes) {
    const int M = s[0], N = s[1], K = s[2];
    std::vector<float> a(static_cast<size_t>(M) * K), b(static_cast<size_t>(K) * N);
    for (float& v : a) v = nd(rng);
    for (float& v : b) v = nd(rng);
    for (int ta = 0; ta < 2; ++ta)
      for (int tb = 0; tb < 2; ++tb)
        for (int acc = 0; acc < 2; ++acc) {
          // element (i, k) of A: row-major M x K, or its transpose stored K x M
          const int64_t a_rs = ta ? 1 : K, a_cs = ta ? M : 1;
          const int64_t b_rs = tb ? 1 : N, b_cs = tb ? K : 1;
          std::vector<float> c(static_cast<size_t>(M) * N, 0.5f);
          ct::gemm_serial<float>(M, N, K, a.data(), a_rs, a_cs, b.data(), b_rs, b_cs, c.data(), N, acc);
          double err = 0, worst = 0;
          for (int i = 0; i < M; ++i)
            for (int j = 0; j < N; ++j) {
              double r = acc ? 0.5 : 0.0;
              for (int q = 0; q < K; ++q) r += double(a[i * a_rs + q * a_cs]) * b[q * b_rs + j * b_cs];
              const double e = std::fabs(c[size_t(i) * N + j] - r);
              const double tol = 1e-5 * std::fabs(r) + 1e-5 * std::sqrt(double(K)) * 4;
              if (e - tol > worst) worst = e - tol, err = e;
            }
          check(worst <= 0, level,
                "gemm " + std::to_string(M) + "x" + std::to_string(N) + "x" + std::to_string(K) + (ta ? " A^T" : "") +
                    (tb ? " B^T" : "") + (acc ? " accumulate" : ""),
                err, 1e-5);
        }
  }
}

void check_pack(const ct::Kernels<float>& k, const std::string& level, std::mt19937& rng) {
  if (!k.pack_a_rows) return;
  std::normal_distribution<float> nd;
  for (int mc : {1, 5, k.mr, 2 * k.mr + 3, 37})
    for (int kc : {1, 3, 4, 8, 13, 256}) {
      const int64_t rs = kc + 3;
      std::vector<float> a(static_cast<size_t>(mc) * rs);
      for (float& v : a) v = nd(rng);
      const int64_t slivers = (mc + k.mr - 1) / k.mr;
      std::vector<float> got(static_cast<size_t>(slivers) * kc * k.mr, -1.0f), ref(got.size());
      k.pack_a_rows(mc, kc, a.data(), rs, got.data());
      for (int64_t s = 0; s < slivers; ++s)
        for (int q = 0; q < kc; ++q)
          for (int r = 0; r < k.mr; ++r) {
            const int64_t i = s * k.mr + r;
            ref[(s * kc + q) * k.mr + r] = i < mc ? a[i * rs + q] : 0.0f;
          }
      bool ok = true;
      for (size_t i = 0; i < got.size(); ++i) ok = ok && same_bits(got[i], ref[i]);
      check(ok, level, "pack_a_rows mc=" + std::to_string(mc) + " kc=" + std::to_string(kc));
    }
}

void check_lse_pieces(const ct::Kernels<float>& k, const ct::Kernels<float>& scalar, const std::string& level) {
  const int n = 20011;
  std::vector<float> x(n), out(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(-120.0 + 200.0 * i / (n - 1));
  const float total = k.exp_sub_sum(x.data(), 0.0f, n, out.data());
  double worst = 0, ref_sum = 0;
  bool ok_small = true;
  for (int i = 0; i < n; ++i) {
    const double r = std::exp(double(x[i]));
    ref_sum += r;
    if (r > 1e-37)
      worst = std::max(worst, std::fabs(out[i] - r) / r);
    else
      ok_small = ok_small && out[i] <= 1e-37f && out[i] >= 0.0f;
  }
  check(worst < 3e-7, level, "exp_sub_sum relative error", worst, 3e-7);
  check(ok_small, level, "exp_sub_sum underflow to [0, 1e-37]");
  check(std::fabs(total - ref_sum) <= 1e-5 * ref_sum, level, "exp_sub_sum total", std::fabs(total - ref_sum) / ref_sum, 1e-5);
  const float big[] = {89.0f, 100.0f, 88.8f, 95.0f, 89.5f, 120.0f, 200.0f, 1e30f};
  float big_out[8];
  k.exp_sub_sum(big, 0.0f, 8, big_out);
  bool ok_inf = true;
  for (float v : big_out) ok_inf = ok_inf && std::isinf(v) && v > 0;
  check(ok_inf, level, "exp_sub_sum overflow to +inf");
  for (int m = 1; m < 40; ++m) {
    std::vector<float> xs(m), o(m), cs(m), ov(m);
    for (int i = 0; i < m; ++i) xs[i] = m == 1 ? 0.0f : static_cast<float>(-3.0 + 6.0 * i / (m - 1)), cs[i] = 0.25f * i - 2.0f;
    k.exp_sub_sum(xs.data(), 1.0f, m, o.data());
    k.exp_sub_vec(xs.data(), cs.data(), m, ov.data());
    double e1 = 0, e2 = 0;
    for (int i = 0; i < m; ++i) {
      const double r1 = std::exp(double(xs[i]) - 1.0), r2 = std::exp(double(xs[i]) - double(cs[i]));
      e1 = std::max(e1, std::fabs(o[i] - r1) / r1);
      e2 = std::max(e2, std::fabs(ov[i] - r2) / r2);
    }
    check(e1 <= 3e-7, level, "exp_sub_sum tail n=" + std::to_string(m), e1, 3e-7);
    check(e2 <= 3e-7, level, "exp_sub_vec tail n=" + std::to_string(m), e2, 3e-7);
    const float mx = k.row_max(xs.data(), m);
    check(same_bits(mx, scalar.row_max(xs.data(), m)), level, "row_max n=" + std::to_string(m));
  }
}

struct LossOut {
  std::vector<float> loss_r, lse_r, loss_c, lse_c, da, dp, dw;
  double dtau = 0;
};

LossOut run_info_nce(int n, int d, bool symmetric, std::mt19937& rng_src) {
  std::mt19937 rng(rng_src());
  std::normal_distribution<float> nd;
  static std::vector<float> a, p, w;
  static std::vector<int64_t> labels;
  a.resize(size_t(n) * d), p.resize(size_t(n) * d), w.resize(size_t(d) * d), labels.resize(n);
  for (float& v : a) v = nd(rng);
  for (float& v : p) v = nd(rng);
  for (float& v : w) v = nd(rng) / std::sqrt(float(d));
  for (int i = 0; i < n; ++i) labels[i] = i;
  ct::InfoNceProblem<float> pb;
  pb.n = pb.m = n;
  pb.d = d;
  pb.a = a.data(), pb.p = p.data(), pb.w = w.data();
  pb.inv_tau = 2.0f;
  pb.row_labels = pb.col_labels = labels.data();
  pb.symmetric = symmetric;
  LossOut o;
  o.loss_r.resize(n), o.lse_r.resize(n), o.loss_c.resize(n), o.lse_c.resize(n);
  o.da.resize(size_t(n) * d), o.dp.resize(size_t(n) * d), o.dw.resize(size_t(d) * d);
  ct::info_nce_forward<float>(pb, o.loss_r.data(), o.lse_r.data(), symmetric ? o.loss_c.data() : nullptr,
                              symmetric ? o.lse_c.data() : nullptr);
  std::vector<float> g(n, 1.0f / n);
  ct::info_nce_backward<float>(pb, o.lse_r.data(), symmetric ? o.lse_c.data() : nullptr, g.data(),
                               symmetric ? g.data() : nullptr, o.da.data(), o.dp.data(), o.dw.data(), &o.dtau);
  return o;
}

void close32(const std::vector<float>& x, const std::vector<float>& ref, const std::string& level, const std::string& what) {
  double scale = 0;
  for (float v : ref) scale = std::max(scale, double(std::fabs(v)));
  double worst = 0, err = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double e = std::fabs(double(x[i]) - ref[i]);
    const double tol = 1e-5 * std::fabs(ref[i]) + 1e-5 * std::max(scale, 1e-30);
    if (e - tol > worst) worst = e - tol, err = e;
  }
  check(worst <= 0, level, what, err, 1e-5 * scale);
}

void check_info_nce(Simd lvl, const std::string& level) {
  for (int sym = 0; sym < 2; ++sym)
    for (const auto& nd : {std::pair<int, int>{1, 1}, {97, 17}, {300, 64}}) {
      std::mt19937 r1(5), r2(5);
      LossOut ref, got;
      at_level(Simd::Scalar, [&] { ref = run_info_nce(nd.first, nd.second, sym, r1); });
      at_level(lvl, [&] { got = run_info_nce(nd.first, nd.second, sym, r2); });
      const std::string tag = " n=" + std::to_string(nd.first) + " d=" + std::to_string(nd.second) + (sym ? " symmetric" : "");
      close32(got.loss_r, ref.loss_r, level, "info_nce loss" + tag);
      close32(got.lse_r, ref.lse_r, level, "info_nce lse" + tag);
      if (sym) close32(got.loss_c, ref.loss_c, level, "info_nce column loss" + tag);
      close32(got.da, ref.da, level, "info_nce dA" + tag);
      close32(got.dp, ref.dp, level, "info_nce dP" + tag);
      close32(got.dw, ref.dw, level, "info_nce dW" + tag);
      close32({float(got.dtau)}, {float(ref.dtau)}, level, "info_nce dtau" + tag);
    }
}

}  // namespace

int main(int argc, char** argv) {
  std::string require;
  for (int i = 1; i < argc; ++i)
    if (!std::strcmp(argv[i], "--require") && i + 1 < argc) require = argv[++i];
  std::printf("simd_agreement: CPU supports '%s'\n", tf::cpu::simd_name(tf::cpu::simd_supported()));

  const fe::Kernels* scalar_fe = nullptr;
  const ct::Kernels<float>* scalar_ct = nullptr;
  at_level(Simd::Scalar, [&] {
    scalar_fe = &fe::kernels();
    scalar_ct = &ct::kernels_f32();
  });
  std::vector<Simd> levels{Simd::Scalar};
  for (Simd s : {Simd::Avx2, Simd::Avx512, Simd::Neon})
    if (at_level(s, [] {}) == s) levels.push_back(s);
  bool required_found = require.empty();
  for (Simd s : levels) {
    const std::string name = tf::cpu::simd_name(s);
    if (name == require) required_found = true;
    const int before = g_failures;
    at_level(s, [&] {
      const fe::Kernels& k = fe::kernels();
      const ct::Kernels<float>& kc = ct::kernels_f32();
      check(name == k.name, name, std::string("frontend kernels in use are '") + k.name + "'");
      std::mt19937 rng(1234);
      check_fft(k, *scalar_fe, rng);
      check_fft_pruned_fused(k, *scalar_fe, rng);
      check_median(k, *scalar_fe, rng);
      check_frames_window(k, rng);
      check_masks(k, rng);
      check_masked_mel(k, rng);
      check_scaling(k, rng);
      check_fused_passes(k, rng);
      check_power_mel(k, rng);
      check_gemm(name, rng);
      check_pack(kc, name, rng);
      check_lse_pieces(kc, *scalar_ct, name);
      std::printf("  %-7s mr x nr = %d x %d\n", name.c_str(), kc.mr, kc.nr);
    });
    if (s != Simd::Scalar) check_info_nce(s, name);
    std::printf("  %-7s %s\n", name.c_str(), g_failures == before ? "agrees with scalar" : "DISAGREES");
  }
  if (!required_found) {
    std::printf("FAIL: level '%s' required but not available\n", require.c_str());
    ++g_failures;
  }
  std::printf("simd_agreement: %d checks, %d failures\n", g_checks, g_failures);
  return g_failures == 0 ? 0 : 1;
}
