// Tiled InfoNCE on the GPU: logit tiles S = X Y^T * inv_tau are computed in shared
// memory and registers and never stored; the forward keeps an online log-sum-exp per
// row (lse_math.h, shared with the C++ core) over column tiles, split across blocks
// and merged by a second kernel; the backward recomputes each tile, forms
// dS = info_nce_logit_grad(...) (lse_math.h) in shared memory and accumulates
// dQ += dS P and dP += dS^T Q with atomics. Memory O((n + m) d).
#include <cuda_runtime.h>

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "contrastive/lse_math.h"
#include "cuda/infonce.h"
#include "cuda/runtime.h"

namespace tf::cuda {
namespace {

using tf::contrastive::hd_exp;
using tf::contrastive::info_nce_logit_grad;
using tf::contrastive::info_nce_row_loss;
using tf::contrastive::lse_empty;
using tf::contrastive::lse_merge;
using tf::contrastive::lse_merge_block;
using tf::contrastive::lse_value;
using tf::contrastive::LseState;

constexpr int kThreads = 256;  // 16 x 16 threads; thread (ty, tx) owns a TM x TM micro-tile
constexpr int BK = 16;         // depth of a shared-memory panel

// float: 64 x 64 tiles (4 x 4 per thread); double: 32 x 32 tiles (2 x 2), so that the
// shared memory stays under the static 48 KiB.
template <class T>
struct Tiling;
template <>
struct Tiling<float> {
  static constexpr int TM = 4;
};
template <>
struct Tiling<double> {
  static constexpr int TM = 2;
};

template <class T>
struct Smem {
  static constexpr int TILE = 16 * Tiling<T>::TM;
  union {
    struct {
      T a[BK][TILE];
      T b[BK][TILE];
    } ab;
    T x[TILE][TILE + 1];
  } u;
  T g[TILE][TILE + 1];
  T red[kThreads / 32];
};

// Device-side "dim3" helper avoiding 32-bit overflow in index math.
__device__ __forceinline__ int64_t i64(unsigned v) { return static_cast<int64_t>(v); }

template <class T>
__device__ __forceinline__ T shfl_xor(T v, int offset, int width) {
  return __shfl_xor_sync(0xffffffffu, v, offset, width);
}

// acc[i][j] += sum_k A(r0 + ty*TM + i, k) * B(k, c0 + tx*TM + j), zero outside [0, M) x [0, N) x [0, K).
template <class T>
__device__ void tile_product(const T* __restrict__ A, int64_t a_rs, int64_t a_cs, const T* __restrict__ B,
                             int64_t b_rs, int64_t b_cs, int64_t M, int64_t N, int64_t K, int64_t r0, int64_t c0,
                             T (&acc)[Tiling<T>::TM][Tiling<T>::TM], Smem<T>& sm) {
  constexpr int TM = Tiling<T>::TM;
  constexpr int TILE = Smem<T>::TILE;
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  for (int64_t k0 = 0; k0 < K; k0 += BK) {
    for (int e = tid; e < BK * TILE; e += kThreads) {
      const int row = e / BK, k = e % BK;  // consecutive threads read consecutive k
      const int64_t gk = k0 + k;
      const int64_t gr = r0 + row, gc = c0 + row;
      sm.u.ab.a[k][row] = (gr < M && gk < K) ? A[gr * a_rs + gk * a_cs] : T(0);
      sm.u.ab.b[k][row] = (gc < N && gk < K) ? B[gk * b_rs + gc * b_cs] : T(0);
    }
    __syncthreads();
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      T av[TM], bv[TM];
#pragma unroll
      for (int i = 0; i < TM; ++i) av[i] = sm.u.ab.a[k][ty * TM + i];
#pragma unroll
      for (int j = 0; j < TM; ++j) bv[j] = sm.u.ab.b[k][tx * TM + j];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TM; ++j) acc[i][j] += av[i] * bv[j];
    }
    __syncthreads();
  }
}

template <class T>
__global__ void __launch_bounds__(kThreads) gemm_kernel(int64_t M, int64_t N, int64_t K, const T* __restrict__ A,
                                                        int64_t a_rs, int64_t a_cs, const T* __restrict__ B,
                                                        int64_t b_rs, int64_t b_cs, T* __restrict__ C, int64_t ldc,
                                                        bool accumulate) {
  constexpr int TM = Tiling<T>::TM;
  constexpr int TILE = Smem<T>::TILE;
  __shared__ Smem<T> sm;
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int64_t r0 = i64(blockIdx.x) * TILE, c0 = i64(blockIdx.y) * TILE;
  T acc[TM][TM];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TM; ++j) acc[i][j] = T(0);
  tile_product<T>(A, a_rs, a_cs, B, b_rs, b_cs, M, N, K, r0, c0, acc, sm);
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int64_t r = r0 + ty * TM + i;
    if (r >= M) continue;
#pragma unroll
    for (int j = 0; j < TM; ++j) {
      const int64_t c = c0 + tx * TM + j;
      if (c < N) C[r * ldc + c] = accumulate ? C[r * ldc + c] + acc[i][j] : acc[i][j];
    }
  }
}

// Online log-sum-exp over the column tiles [t_begin, t_end) of split blockIdx.y, for
// the rows of tile blockIdx.x; writes (max, sum, positive-logit sum, positive count).
template <class T>
__global__ void __launch_bounds__(kThreads)
    lse_partial_kernel(const T* __restrict__ X, const T* __restrict__ Y, int64_t R, int64_t C, int64_t d, T inv_tau,
                       const int64_t* __restrict__ xlab, const int64_t* __restrict__ ylab, int64_t tiles_per_split,
                       int splits, T* __restrict__ pmax, T* __restrict__ psum, T* __restrict__ ppos,
                       T* __restrict__ pcnt) {
  constexpr int TM = Tiling<T>::TM;
  constexpr int TILE = Smem<T>::TILE;
  __shared__ Smem<T> sm;
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int64_t r0 = i64(blockIdx.x) * TILE;
  const int split = blockIdx.y;
  const int64_t n_tiles = (C + TILE - 1) / TILE;
  const int64_t t_begin = split * tiles_per_split;
  const int64_t t_end = t_begin + tiles_per_split < n_tiles ? t_begin + tiles_per_split : n_tiles;

  LseState<T> st[TM];
  T pos[TM], cnt[TM];
  int64_t rlab[TM];
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    st[i] = lse_empty<T>();
    pos[i] = T(0);
    cnt[i] = T(0);
    const int64_t r = r0 + ty * TM + i;
    rlab[i] = r < R ? xlab[r] : 0;
  }
  for (int64_t t = t_begin; t < t_end; ++t) {
    const int64_t c0 = t * TILE;
    T acc[TM][TM];
#pragma unroll
    for (int i = 0; i < TM; ++i)
#pragma unroll
      for (int j = 0; j < TM; ++j) acc[i][j] = T(0);
    tile_product<T>(X, d, 1, Y, 1, d, R, C, d, r0, c0, acc, sm);
#pragma unroll
    for (int i = 0; i < TM; ++i) {
      T mx = static_cast<T>(-INFINITY);
#pragma unroll
      for (int j = 0; j < TM; ++j) {
        const int64_t c = c0 + tx * TM + j;
        acc[i][j] *= inv_tau;
        if (c < C) mx = acc[i][j] > mx ? acc[i][j] : mx;
      }
      // The 16 threads of a row group are 16 consecutive lanes of one warp.
#pragma unroll
      for (int off = 8; off > 0; off >>= 1) {
        const T o = shfl_xor(mx, off, 16);
        mx = o > mx ? o : mx;
      }
      T sum = T(0);
#pragma unroll
      for (int j = 0; j < TM; ++j) {
        const int64_t c = c0 + tx * TM + j;
        if (c < C) {
          sum += hd_exp(acc[i][j] - mx);
          if (ylab[c] == rlab[i]) {
            pos[i] += acc[i][j];
            cnt[i] += T(1);
          }
        }
      }
#pragma unroll
      for (int off = 8; off > 0; off >>= 1) sum += shfl_xor(sum, off, 16);
      st[i] = lse_merge_block(st[i], mx, sum);
    }
  }
#pragma unroll
  for (int i = 0; i < TM; ++i) {
#pragma unroll
    for (int off = 8; off > 0; off >>= 1) {
      pos[i] += shfl_xor(pos[i], off, 16);
      cnt[i] += shfl_xor(cnt[i], off, 16);
    }
    const int64_t r = r0 + ty * TM + i;
    if (tx == 0 && r < R) {
      const int64_t k = r * splits + split;
      pmax[k] = st[i].max;
      psum[k] = st[i].sum;
      ppos[k] = pos[i];
      pcnt[k] = cnt[i];
    }
  }
}

template <class T>
__global__ void lse_combine_kernel(const T* __restrict__ pmax, const T* __restrict__ psum, const T* __restrict__ ppos,
                                   const T* __restrict__ pcnt, int64_t R, int splits, T* __restrict__ lse,
                                   T* __restrict__ loss, T* __restrict__ cnt) {
  const int64_t r = i64(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= R) return;
  LseState<T> st = lse_empty<T>();
  T pos = T(0), c = T(0);
  for (int s = 0; s < splits; ++s) {
    const int64_t k = r * splits + s;
    st = lse_merge(st, LseState<T>{pmax[k], psum[k]});
    pos += ppos[k];
    c += pcnt[k];
  }
  lse[r] = lse_value(st);
  loss[r] = info_nce_row_loss(lse[r], pos, c);
  cnt[r] = c;
}

template <class T>
__global__ void __launch_bounds__(kThreads)
    grad_kernel(const T* __restrict__ Q, const T* __restrict__ P, int64_t n, int64_t m, int64_t d, T inv_tau,
                const int64_t* __restrict__ rlab, const int64_t* __restrict__ clab, const T* __restrict__ lse_r,
                const T* __restrict__ cnt_r, const T* __restrict__ g_r, const T* __restrict__ lse_c,
                const T* __restrict__ cnt_c, const T* __restrict__ g_c, T* __restrict__ dQ, T* __restrict__ dP,
                T* __restrict__ dtau_partial) {
  constexpr int TM = Tiling<T>::TM;
  constexpr int TILE = Smem<T>::TILE;
  __shared__ Smem<T> sm;
  const int tid = threadIdx.x, ty = tid / 16, tx = tid % 16;
  const int64_t r0 = i64(blockIdx.x) * TILE, c0 = i64(blockIdx.y) * TILE;
  T acc[TM][TM];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TM; ++j) acc[i][j] = T(0);
  tile_product<T>(Q, d, 1, P, 1, d, n, m, d, r0, c0, acc, sm);

  // dS for this tile (lse_math.h), scaled by inv_tau for the products below.
  T tsum = T(0);
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int64_t r = r0 + ty * TM + i;
    const bool rv = r < n;
    const T lr = rv ? lse_r[r] : T(0), gr = rv ? g_r[r] : T(0), cr = rv ? cnt_r[r] : T(1);
    const int64_t lab = rv ? rlab[r] : 0;
#pragma unroll
    for (int j = 0; j < TM; ++j) {
      const int64_t c = c0 + tx * TM + j;
      T gval = T(0);
      if (rv && c < m) {
        const T s = acc[i][j] * inv_tau;
        T lc = T(0), gc = T(0), cc = T(1);
        if (g_c) {
          lc = lse_c[c];
          gc = g_c[c];
          cc = cnt_c[c];
        }
        gval = info_nce_logit_grad<T>(s, lr, gr, cr, lc, gc, cc, lab == clab[c]);
        tsum += gval * s;
      }
      sm.g[ty * TM + i][tx * TM + j] = gval * inv_tau;
    }
  }
  // Block sum of dS * S for d loss / d tau.
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) tsum += shfl_xor(tsum, off, 32);
  if ((tid & 31) == 0) sm.red[tid >> 5] = tsum;
  __syncthreads();
  if (tid == 0) {
    T s = T(0);
    for (int w = 0; w < kThreads / 32; ++w) s += sm.red[w];
    dtau_partial[i64(blockIdx.y) * gridDim.x + blockIdx.x] = s;
  }

  for (int64_t dc0 = 0; dc0 < d; dc0 += TILE) {
    // dQ[r0 + row, dc0 + col] += sum_c dS[row, c] * P[c0 + c, dc0 + col]
    for (int e = tid; e < TILE * TILE; e += kThreads) {
      const int rr = e / TILE, cc = e % TILE;
      const int64_t gr = c0 + rr, gc = dc0 + cc;
      sm.u.x[rr][cc] = (gr < m && gc < d) ? P[gr * d + gc] : T(0);
    }
    __syncthreads();
    {
      T o[TM][TM];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TM; ++j) o[i][j] = T(0);
      for (int k = 0; k < TILE; ++k) {
#pragma unroll
        for (int i = 0; i < TM; ++i) {
          const T gv = sm.g[ty * TM + i][k];
#pragma unroll
          for (int j = 0; j < TM; ++j) o[i][j] += gv * sm.u.x[k][tx * TM + j];
        }
      }
#pragma unroll
      for (int i = 0; i < TM; ++i) {
        const int64_t r = r0 + ty * TM + i;
        if (r >= n) continue;
#pragma unroll
        for (int j = 0; j < TM; ++j) {
          const int64_t c = dc0 + tx * TM + j;
          if (c < d) atomicAdd(dQ + r * d + c, o[i][j]);
        }
      }
    }
    __syncthreads();
    // dP[c0 + col, dc0 + k] += sum_r dS[r, col] * Q[r0 + r, dc0 + k]
    for (int e = tid; e < TILE * TILE; e += kThreads) {
      const int rr = e / TILE, cc = e % TILE;
      const int64_t gr = r0 + rr, gc = dc0 + cc;
      sm.u.x[rr][cc] = (gr < n && gc < d) ? Q[gr * d + gc] : T(0);
    }
    __syncthreads();
    {
      T o[TM][TM];
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TM; ++j) o[i][j] = T(0);
      for (int k = 0; k < TILE; ++k) {
#pragma unroll
        for (int i = 0; i < TM; ++i) {
          const T gv = sm.g[k][ty * TM + i];
#pragma unroll
          for (int j = 0; j < TM; ++j) o[i][j] += gv * sm.u.x[k][tx * TM + j];
        }
      }
#pragma unroll
      for (int i = 0; i < TM; ++i) {
        const int64_t c = c0 + ty * TM + i;
        if (c >= m) continue;
#pragma unroll
        for (int j = 0; j < TM; ++j) {
          const int64_t k = dc0 + tx * TM + j;
          if (k < d) atomicAdd(dP + c * d + k, o[i][j]);
        }
      }
    }
    __syncthreads();
  }
}

// Makes `device` current for the scope of a launch and restores the previous one.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    check(cudaGetDevice(&prev_), "cudaGetDevice");
    if (device != prev_) check(cudaSetDevice(device), "cudaSetDevice");
  }
  ~DeviceGuard() { cudaSetDevice(prev_); }

 private:
  int prev_ = 0;
};

template <class T>
constexpr int tile_of() {
  return Smem<T>::TILE;
}

int64_t blocks_for(int64_t n, int64_t tile) { return (n + tile - 1) / tile; }

void check_grid(int64_t y, const char* what) {
  if (y > 65535)
    throw std::runtime_error(std::string(what) + ": too many column tiles for one launch (batch too large)");
}

template <class T>
void gemm_t(int64_t M, int64_t N, int64_t K, uintptr_t a, int64_t a_rs, int64_t a_cs, uintptr_t b, int64_t b_rs,
            int64_t b_cs, uintptr_t c, int64_t ldc, bool accumulate, cudaStream_t s) {
  if (M <= 0 || N <= 0) return;
  const int64_t by = blocks_for(N, tile_of<T>());
  check_grid(by, "timbrefast gemm_kernel");
  dim3 grid(static_cast<unsigned>(blocks_for(M, tile_of<T>())), static_cast<unsigned>(by));
  gemm_kernel<T><<<grid, kThreads, 0, s>>>(M, N, K, reinterpret_cast<const T*>(a), a_rs, a_cs,
                                           reinterpret_cast<const T*>(b), b_rs, b_cs, reinterpret_cast<T*>(c), ldc,
                                           accumulate);
  check(cudaGetLastError(), "timbrefast gemm_kernel launch");
}

template <class T>
int splits_t(int64_t R, int64_t C) {
  // Enough blocks to fill a large GPU (~4 per SM on 132 SMs) without long merges.
  const int64_t row_blocks = blocks_for(R, tile_of<T>());
  const int64_t n_tiles = blocks_for(C, tile_of<T>());
  int64_t s = (512 + row_blocks - 1) / row_blocks;
  if (s > n_tiles) s = n_tiles;
  if (s > 64) s = 64;
  if (s < 1) s = 1;
  const int64_t per = (n_tiles + s - 1) / s;
  return static_cast<int>((n_tiles + per - 1) / per);  // no empty split
}

template <class T>
void row_stats_t(uintptr_t x, uintptr_t y, int64_t R, int64_t C, int64_t d, double inv_tau, uintptr_t xlab,
                 uintptr_t ylab, int splits, uintptr_t ws, uintptr_t lse, uintptr_t loss, uintptr_t cnt,
                 cudaStream_t s) {
  const int64_t n_tiles = blocks_for(C, tile_of<T>());
  const int64_t per = (n_tiles + splits - 1) / splits;
  T* w = reinterpret_cast<T*>(ws);
  const int64_t rs = R * splits;
  dim3 grid(static_cast<unsigned>(blocks_for(R, tile_of<T>())), static_cast<unsigned>(splits));
  lse_partial_kernel<T><<<grid, kThreads, 0, s>>>(
      reinterpret_cast<const T*>(x), reinterpret_cast<const T*>(y), R, C, d, static_cast<T>(inv_tau),
      reinterpret_cast<const int64_t*>(xlab), reinterpret_cast<const int64_t*>(ylab), per, splits, w, w + rs,
      w + 2 * rs, w + 3 * rs);
  check(cudaGetLastError(), "timbrefast lse_partial_kernel launch");
  lse_combine_kernel<T><<<static_cast<unsigned>(blocks_for(R, 256)), 256, 0, s>>>(
      w, w + rs, w + 2 * rs, w + 3 * rs, R, splits, reinterpret_cast<T*>(lse), reinterpret_cast<T*>(loss),
      reinterpret_cast<T*>(cnt));
  check(cudaGetLastError(), "timbrefast lse_combine_kernel launch");
}

template <class T>
void grad_t(uintptr_t q, uintptr_t p, int64_t n, int64_t m, int64_t d, double inv_tau, uintptr_t rlab, uintptr_t clab,
            uintptr_t lse_row, uintptr_t cnt_row, uintptr_t g_row, uintptr_t lse_col, uintptr_t cnt_col,
            uintptr_t g_col, uintptr_t dq, uintptr_t dp, uintptr_t dtau_partial, cudaStream_t s) {
  const int64_t by = blocks_for(m, tile_of<T>());
  check_grid(by, "timbrefast grad_kernel");
  dim3 grid(static_cast<unsigned>(blocks_for(n, tile_of<T>())), static_cast<unsigned>(by));
  grad_kernel<T><<<grid, kThreads, 0, s>>>(
      reinterpret_cast<const T*>(q), reinterpret_cast<const T*>(p), n, m, d, static_cast<T>(inv_tau),
      reinterpret_cast<const int64_t*>(rlab), reinterpret_cast<const int64_t*>(clab),
      reinterpret_cast<const T*>(lse_row), reinterpret_cast<const T*>(cnt_row), reinterpret_cast<const T*>(g_row),
      reinterpret_cast<const T*>(lse_col), reinterpret_cast<const T*>(cnt_col), reinterpret_cast<const T*>(g_col),
      reinterpret_cast<T*>(dq), reinterpret_cast<T*>(dp), reinterpret_cast<T*>(dtau_partial));
  check(cudaGetLastError(), "timbrefast grad_kernel launch");
}

}  // namespace

void gemm(bool is_double, int64_t M, int64_t N, int64_t K, uintptr_t a, int64_t a_rs, int64_t a_cs, uintptr_t b,
          int64_t b_rs, int64_t b_cs, uintptr_t c, int64_t ldc, bool accumulate, uintptr_t stream, int device) {
  DeviceGuard g(device);
  auto s = reinterpret_cast<cudaStream_t>(stream);
  if (is_double)
    gemm_t<double>(M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate, s);
  else
    gemm_t<float>(M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate, s);
}

int info_nce_splits(bool is_double, int64_t R, int64_t C) {
  return is_double ? splits_t<double>(R, C) : splits_t<float>(R, C);
}

void info_nce_row_stats(bool is_double, uintptr_t x, uintptr_t y, int64_t R, int64_t C, int64_t d, double inv_tau,
                        uintptr_t xlab, uintptr_t ylab, int splits, uintptr_t workspace, uintptr_t lse, uintptr_t loss,
                        uintptr_t cnt, uintptr_t stream, int device) {
  DeviceGuard g(device);
  auto s = reinterpret_cast<cudaStream_t>(stream);
  if (is_double)
    row_stats_t<double>(x, y, R, C, d, inv_tau, xlab, ylab, splits, workspace, lse, loss, cnt, s);
  else
    row_stats_t<float>(x, y, R, C, d, inv_tau, xlab, ylab, splits, workspace, lse, loss, cnt, s);
}

int64_t info_nce_grad_blocks(bool is_double, int64_t n, int64_t m) {
  const int64_t t = is_double ? tile_of<double>() : tile_of<float>();
  return blocks_for(n, t) * blocks_for(m, t);
}

void info_nce_grad(bool is_double, uintptr_t q, uintptr_t p, int64_t n, int64_t m, int64_t d, double inv_tau,
                   uintptr_t rlab, uintptr_t clab, uintptr_t lse_row, uintptr_t cnt_row, uintptr_t g_row,
                   uintptr_t lse_col, uintptr_t cnt_col, uintptr_t g_col, uintptr_t dq, uintptr_t dp,
                   uintptr_t dtau_partial, uintptr_t stream, int device) {
  DeviceGuard g(device);
  auto s = reinterpret_cast<cudaStream_t>(stream);
  if (is_double)
    grad_t<double>(q, p, n, m, d, inv_tau, rlab, clab, lse_row, cnt_row, g_row, lse_col, cnt_col, g_col, dq, dp,
                   dtau_partial, s);
  else
    grad_t<float>(q, p, n, m, d, inv_tau, rlab, clab, lse_row, cnt_row, g_row, lse_col, cnt_col, g_col, dq, dp,
                  dtau_partial, s);
}

}  // namespace tf::cuda
