#include "contrastive/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

#include "common/parallel.h"
#include "contrastive/kernels.h"

namespace tf::contrastive {
namespace {

constexpr int64_t KC = kGemmKC;  // depth of a packed panel (A sliver + B sliver stay in L1)
constexpr int64_t MC = 192;   // rows of A packed at once (L2)
constexpr int64_t NC = 2048;  // columns of B packed at once (L2/L3)

struct FreeDeleter {
  void operator()(void* p) const { std::free(p); }
};

template <class T>
T* thread_buffer(int which, size_t count) {
  // Two growing 64-byte aligned scratch buffers per thread (packed A and packed B).
  thread_local std::unique_ptr<char, FreeDeleter> buf[2];
  thread_local size_t cap[2] = {0, 0};
  const size_t bytes = (count * sizeof(T) + 63) / 64 * 64;
  if (cap[which] < bytes) {
    void* p = std::aligned_alloc(64, bytes);
    if (!p) throw std::bad_alloc();
    buf[which].reset(static_cast<char*>(p));
    cap[which] = bytes;
  }
  return reinterpret_cast<T*>(buf[which].get());
}

// Pack rows [0, mc) x depth [0, kc) of A into slivers of MR rows, k-major, zero padded.
template <class T>
void pack_a(const Kernels<T>& kern, int64_t mc, int64_t kc, const T* a, int64_t rs, int64_t cs, T* out) {
  const int MR = kern.mr;
  if (cs == 1 && kern.pack_a_rows) {
    kern.pack_a_rows(mc, kc, a, rs, out);
    return;
  }
  if (rs == 1) {
    // Column-major A: depth k is the contiguous run a[k * cs + 0 .. mc); walk it once
    // per k across all slivers (a strided walk per sliver would touch a new line per k).
    const int64_t full = mc / MR;
    for (int64_t k = 0; k < kc; ++k) {
      const T* src = a + k * cs;
      T* dst = out + k * MR;
      for (int64_t s = 0; s < full; ++s) {
        const T* sp = src + s * MR;
        T* dp = dst + s * kc * MR;
        for (int r = 0; r < MR; ++r) dp[r] = sp[r];
      }
      if (full * MR < mc) {
        const int m = static_cast<int>(mc - full * MR);
        const T* sp = src + full * MR;
        T* dp = dst + full * kc * MR;
        for (int r = 0; r < m; ++r) dp[r] = sp[r];
        for (int r = m; r < MR; ++r) dp[r] = T(0);
      }
    }
    return;
  }
  for (int64_t i0 = 0; i0 < mc; i0 += MR) {
    const int m = static_cast<int>(std::min<int64_t>(MR, mc - i0));
    for (int r = 0; r < m; ++r) {
      const T* src = a + (i0 + r) * rs;
      for (int64_t k = 0; k < kc; ++k) out[k * MR + r] = src[k * cs];
    }
    for (int r = m; r < MR; ++r)
      for (int64_t k = 0; k < kc; ++k) out[k * MR + r] = T(0);
    out += kc * MR;
  }
}

// Pack depth [0, kc) x columns [0, nc) of B into slivers of NR columns, k-major, zero padded.
template <class T>
void pack_b(int64_t kc, int64_t nc, const T* b, int64_t rs, int64_t cs, int NR, T* out) {
  for (int64_t j0 = 0; j0 < nc; j0 += NR) {
    const int n = static_cast<int>(std::min<int64_t>(NR, nc - j0));
    if (cs == 1) {
      for (int64_t k = 0; k < kc; ++k) {
        const T* src = b + k * rs + j0;
        T* dst = out + k * NR;
        for (int c = 0; c < n; ++c) dst[c] = src[c];
        for (int c = n; c < NR; ++c) dst[c] = T(0);
      }
    } else {
      for (int c = 0; c < n; ++c) {
        const T* src = b + (j0 + c) * cs;
        for (int64_t k = 0; k < kc; ++k) out[k * NR + c] = src[k * rs];
      }
      for (int c = n; c < NR; ++c)
        for (int64_t k = 0; k < kc; ++k) out[k * NR + c] = T(0);
    }
    out += kc * NR;
  }
}

}  // namespace

template <class T>
void gemm_serial(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                 int64_t b_rs, int64_t b_cs, T* c, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::memset(c + i * ldc, 0, sizeof(T) * N);
    return;
  }
  const Kernels<T>& kern = kernels<T>();
  const int MR = kern.mr, NR = kern.nr;
  const int64_t mc_max = std::max<int64_t>(MR, MC / MR * MR);
  const int64_t nc_max = std::max<int64_t>(NR, NC / NR * NR);
  const int64_t kc_max = std::min<int64_t>(KC, K);
  T* ap = thread_buffer<T>(0, static_cast<size_t>(mc_max * kc_max));
  T* bp = thread_buffer<T>(1, static_cast<size_t>(std::min<int64_t>(nc_max, (N + NR - 1) / NR * NR) * kc_max));
  for (int64_t jc = 0; jc < N; jc += nc_max) {
    const int64_t nc = std::min(nc_max, N - jc);
    for (int64_t pc = 0; pc < K; pc += KC) {
      const int64_t kc = std::min(KC, K - pc);
      const bool acc = accumulate || pc > 0;
      pack_b(kc, nc, b + pc * b_rs + jc * b_cs, b_rs, b_cs, NR, bp);
      for (int64_t ic = 0; ic < M; ic += mc_max) {
        const int64_t mc = std::min(mc_max, M - ic);
        pack_a(kern, mc, kc, a + ic * a_rs + pc * a_cs, a_rs, a_cs, ap);
        for (int64_t jr = 0; jr < nc; jr += NR) {
          const int n = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          const T* bs = bp + (jr / NR) * kc * NR;
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            kern.micro(kc, ap + (ir / MR) * kc * MR, bs, c + (ic + ir) * ldc + jc + jr, ldc, m, n, acc);
          }
        }
      }
    }
  }
}

template <class T>
void gemm_parallel_rows(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const T* b, int64_t b_rs, int64_t b_cs, T* c, int64_t ldc, bool accumulate) {
  const int64_t mr = kernels<T>().mr;
  const int64_t blocks = (M + mr - 1) / mr;
  tf::parallel_for(
      blocks,
      [&](int64_t b0, int64_t b1) {
        const int64_t i0 = b0 * mr, i1 = std::min(M, b1 * mr);
        gemm_serial<T>(i1 - i0, N, K, a + i0 * a_rs, a_rs, a_cs, b, b_rs, b_cs, c + i0 * ldc, ldc,
                       accumulate);
      },
      0, std::max<int64_t>(1, (blocks + tf::get_num_threads() - 1) / tf::get_num_threads()));
}

template <class T>
void gemm_parallel_cols(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const T* b, int64_t b_rs, int64_t b_cs, T* c, int64_t ldc, bool accumulate) {
  const int64_t nr = kernels<T>().nr;
  const int64_t blocks = (N + nr - 1) / nr;
  tf::parallel_for(
      blocks,
      [&](int64_t b0, int64_t b1) {
        const int64_t j0 = b0 * nr, j1 = std::min(N, b1 * nr);
        gemm_serial<T>(M, j1 - j0, K, a, a_rs, a_cs, b + j0 * b_cs, b_rs, b_cs, c + j0, ldc, accumulate);
      },
      0, std::max<int64_t>(1, (blocks + tf::get_num_threads() - 1) / tf::get_num_threads()));
}

template <class T>
void pack_b_full(int64_t K, int64_t N, const T* b, int64_t rs, int64_t cs, PackedB<T>& out) {
  out.kern = &kernels<T>();
  const int64_t NR = out.kern->nr;
  out.k = K;
  out.n = N;
  out.npad = (N + NR - 1) / NR * NR;
  out.data.assign(static_cast<size_t>(K * out.npad), T(0));
  const int64_t slivers = out.npad / NR;
  T* base = out.data.data();
  tf::parallel_for(
      slivers,
      [&](int64_t s0, int64_t s1) {
        const int64_t j0 = s0 * NR, nc = std::min(N, s1 * NR) - j0;
        for (int64_t k0 = 0; k0 < K; k0 += KC) {
          const int64_t kc = std::min(KC, K - k0);
          pack_b(kc, nc, b + k0 * rs + j0 * cs, rs, cs, static_cast<int>(NR), base + k0 * out.npad + j0 * kc);
        }
      },
      0, std::max<int64_t>(1, slivers / (4 * std::max(1, tf::get_num_threads()))));
}

template <class T>
void gemm_serial_packed(int64_t M, int64_t N, int64_t K, const T* a, int64_t a_rs, int64_t a_cs,
                        const PackedB<T>& b, int64_t k0, int64_t j0, T* c, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) {
    if (!accumulate)
      for (int64_t i = 0; i < M; ++i) std::memset(c + i * ldc, 0, sizeof(T) * N);
    return;
  }
  const Kernels<T>& kern = *b.kern;
  const int MR = kern.mr, NR = kern.nr;
  const int64_t mc_max = std::max<int64_t>(MR, MC / MR * MR);
  T* ap = thread_buffer<T>(0, static_cast<size_t>(mc_max * std::min<int64_t>(KC, K)));
  for (int64_t pc = 0; pc < K; pc += KC) {
    const int64_t kc = std::min(KC, K - pc);
    const bool acc = accumulate || pc > 0;
    const T* bpanel = b.data.data() + (k0 + pc) * b.npad + j0 * kc;
    for (int64_t ic = 0; ic < M; ic += mc_max) {
      const int64_t mc = std::min(mc_max, M - ic);
      pack_a(kern, mc, kc, a + ic * a_rs + pc * a_cs, a_rs, a_cs, ap);
      for (int64_t jr = 0; jr < N; jr += NR) {
        const int n = static_cast<int>(std::min<int64_t>(NR, N - jr));
        const T* bs = bpanel + jr * kc;
        for (int64_t ir = 0; ir < mc; ir += MR) {
          const int m = static_cast<int>(std::min<int64_t>(MR, mc - ir));
          kern.micro(kc, ap + (ir / MR) * kc * MR, bs, c + (ic + ir) * ldc + jr, ldc, m, n, acc);
        }
      }
    }
  }
}

#define TF_GEMM_INSTANTIATE(T)                                                                      \
  template void gemm_serial<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t, const T*,       \
                               int64_t, int64_t, T*, int64_t, bool);                                 \
  template void gemm_parallel_rows<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t,          \
                                      const T*, int64_t, int64_t, T*, int64_t, bool);                \
  template void gemm_parallel_cols<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t,          \
                                      const T*, int64_t, int64_t, T*, int64_t, bool);                \
  template void pack_b_full<T>(int64_t, int64_t, const T*, int64_t, int64_t, PackedB<T>&);            \
  template void gemm_serial_packed<T>(int64_t, int64_t, int64_t, const T*, int64_t, int64_t,          \
                                      const PackedB<T>&, int64_t, int64_t, T*, int64_t, bool);
TF_GEMM_INSTANTIATE(float)
TF_GEMM_INSTANTIATE(double)
#undef TF_GEMM_INSTANTIATE

}  // namespace tf::contrastive
