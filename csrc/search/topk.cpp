#include "search/topk.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#if defined(TF_X86)
#include <emmintrin.h>  // SSE2: part of the x86-64 baseline
#endif

#include "common/cpu_features.h"
#include "common/errors.h"
#include "common/parallel.h"
#include "contrastive/gemm.h"
#include "contrastive/kernels.h"
#include "search/dots.h"

namespace tf::search {
namespace {

// Portable direct dots: 8 independent partial sums (vectorised by the compiler).
void dots_portable(const float* g, const int64_t* rows, int64_t count, int64_t d, const float* q, int64_t m,
                   float* out) {
  for (int64_t i = 0; i < count; ++i) {
    const float* x = g + (rows ? rows[i] : i) * d;
    for (int64_t j = 0; j < m; ++j) {
      const float* y = q + j * d;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t t = 0;
      for (; t + 8 <= d; t += 8)
        for (int l = 0; l < 8; ++l) acc[l] += x[t + l] * y[t + l];
      float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
      for (; t < d; ++t) s += x[t] * y[t];
      out[i * m + j] = s;
    }
  }
}

struct Entry {
  float key;
  int64_t idx;
};

// a ranks before b: larger key, then lower row.
inline bool better(const Entry& a, const Entry& b) { return a.key > b.key || (a.key == b.key && a.idx < b.idx); }

// Gallery rows in one block of the score tile (direct path and GEMM path).
constexpr int64_t kRowBlock = 192;
// Query columns of one GEMM tile (a multiple of every micro-kernel's nr).
constexpr int64_t kQueryTile = 256;
// Bytes of per-(chunk, query) top-k state allowed at once (the queries run in super-batches).
constexpr int64_t kStateBudget = int64_t(64) << 20;
// Queries packed at once for the GEMM path.
constexpr int64_t kMaxSuperBatch = 4096;

bool excluded(const TopkProblem& p, int64_t q, int64_t row) {
  if (!p.excl_ptr) return false;
  const int64_t* b = p.excl_idx + p.excl_ptr[q];
  const int64_t* e = p.excl_idx + p.excl_ptr[q + 1];
  if (b == e) return false;
  return std::binary_search(b, e, row);
}

// The per-task state: top-k heaps (worst at the front) of `nq` queries.
struct Heaps {
  Entry* h;       // nq * k
  int64_t* count; // nq
  float* thr;     // nq: the worst kept key once full, NaN before (so that everything passes)
  int64_t k;

  void push(int64_t j, float key, int64_t row) {
    if (key != key) key = -std::numeric_limits<float>::infinity();
    Entry* hj = h + j * k;
    const Entry e{key, row};
    int64_t& c = count[j];
    if (c < k) {
      hj[c++] = e;
      std::push_heap(hj, hj + c, better);
      if (c == k) thr[j] = hj[0].key;
      return;
    }
    if (!better(e, hj[0])) return;
    std::pop_heap(hj, hj + k, better);
    hj[k - 1] = e;
    std::push_heap(hj, hj + k, better);
    thr[j] = hj[0].key;
  }
};

// Scan one tile row of keys c[0:nc] (query columns j0 .. j0 + nc of the task) for entries that
// can enter the heaps: !(c <= thr) is true for c > thr, for a NaN c and while a heap fills.
void scan_row(const TopkProblem& p, Heaps& hs, const float* c, int64_t nc, int64_t jlocal0, int64_t qglobal0,
              int64_t row) {
  const float* thr = hs.thr + jlocal0;
  int64_t j = 0;
#if defined(TF_X86)
  for (; j + 8 <= nc; j += 8) {
    const int mask = _mm_movemask_ps(_mm_cmpnle_ps(_mm_loadu_ps(c + j), _mm_loadu_ps(thr + j))) |
                     (_mm_movemask_ps(_mm_cmpnle_ps(_mm_loadu_ps(c + j + 4), _mm_loadu_ps(thr + j + 4))) << 4);
    if (!mask) continue;
    for (int b = 0; b < 8; ++b) {
      if (!(mask >> b & 1)) continue;
      if (!(c[j + b] <= thr[j + b]) && !excluded(p, qglobal0 + j + b, row))
        hs.push(jlocal0 + j + b, c[j + b], row);
    }
  }
#endif
  for (; j < nc; ++j)
    if (!(c[j] <= thr[j]) && !excluded(p, qglobal0 + j, row)) hs.push(jlocal0 + j, c[j], row);
}

struct Task {
  int64_t p0, p1;  // candidate positions
  int64_t qa, qb;  // queries, relative to the super-batch
  int64_t chunk;   // gallery chunk (its heaps)
};

}  // namespace

void dot_block(const float* g, const int64_t* rows, int64_t count, int64_t d, const float* q, int64_t m,
               float* out) {
  dot_kernel()(g, rows, count, d, q, m, out);
}

DotFn dot_kernel() {
#if defined(TF_X86)
  switch (tf::cpu::simd_level()) {
    case tf::cpu::Simd::Avx512: return dot_kernel_avx512();
    case tf::cpu::Simd::Avx2: return dot_kernel_avx2();
    default: break;
  }
#endif
  return &dots_portable;
}

void topk_search(const TopkProblem& p, int64_t* out_idx, float* out_key) {
  const int64_t m = p.m, d = p.d, k = p.k;
  const int64_t N = p.rows ? p.n_rows : p.n;
  TF_CHECK(k >= 1, "k must be >= 1, got ", k);
  TF_CHECK(d >= 1, "the dimension must be >= 1, got ", d);
  TF_CHECK(m >= 0 && N >= 0, "negative sizes");
  if (m == 0) return;
  TF_CHECK(k <= N, "k = ", k, " exceeds the ", N, " searchable gallery entries");
  TF_CHECK(p.metric != Metric::L2 || p.sq_norms, "the L2 metric needs the squared norms of the gallery rows");
  if (p.excl_ptr) {
    for (int64_t q = 0; q < m; ++q) {
      int64_t gone = 0;
      for (int64_t e = p.excl_ptr[q]; e < p.excl_ptr[q + 1]; ++e) {
        const int64_t r = p.excl_idx[e];
        gone += p.rows ? std::binary_search(p.rows, p.rows + p.n_rows, r) : (r >= 0 && r < p.n);
      }
      TF_CHECK(k <= N - gone, "k = ", k, " exceeds the ", N - gone, " searchable entries of query ", q, " (",
               gone, " excluded)");
    }
  }
  const int threads = p.num_threads > 0 ? p.num_threads : tf::get_num_threads();
  const bool direct = m < kDirectMaxQueries;
  const DotFn dots = dot_kernel();
  const auto& kern = tf::contrastive::kernels<float>();
  const int64_t tile = direct ? m : std::max<int64_t>(kern.nr, kQueryTile / kern.nr * kern.nr);

  // Gallery chunks: enough for the threads (several each, for balance), not below one row block.
  const int64_t blocks = (N + kRowBlock - 1) / kRowBlock;
  int64_t G = std::max<int64_t>(1, std::min<int64_t>(blocks, 4 * int64_t(threads)));
  const int64_t per_state = k * int64_t(sizeof(Entry)) + 16;
  G = std::max<int64_t>(1, std::min<int64_t>(G, kStateBudget / per_state));
  int64_t QB = std::max<int64_t>(1, kStateBudget / (G * per_state));
  QB = std::min<int64_t>({QB, m, kMaxSuperBatch});
  if (!direct && QB < m && QB >= tile) QB = QB / tile * tile;  // whole tiles per super-batch

  tf::contrastive::PackedB<float> packed;
  std::vector<Entry> heap;
  std::vector<int64_t> count;
  std::vector<float> thr;
  for (int64_t q0 = 0; q0 < m; q0 += QB) {
    const int64_t mq = std::min(QB, m - q0);
    const float* qs = p.queries + q0 * d;
    if (!direct) tf::contrastive::pack_b_full<float>(d, mq, qs, 1, d, packed);
    heap.resize(static_cast<size_t>(G * mq * k));
    count.assign(static_cast<size_t>(G * mq), 0);
    thr.assign(static_cast<size_t>(G * mq), std::numeric_limits<float>::quiet_NaN());
    // Tasks: gallery chunk x query range (the queries split only when the chunks are too few).
    const int64_t tiles = (mq + tile - 1) / tile;
    const int64_t QS = std::max<int64_t>(1, std::min<int64_t>(tiles, (2 * threads + G - 1) / G));
    const int64_t tiles_per = (tiles + QS - 1) / QS;
    std::vector<Task> tasks;
    for (int64_t g = 0; g < G; ++g) {
      const int64_t b0 = blocks * g / G, b1 = blocks * (g + 1) / G;
      for (int64_t s = 0; s < QS; ++s) {
        const int64_t qa = s * tiles_per * tile, qb = std::min(mq, (s + 1) * tiles_per * tile);
        if (qa < qb && b0 < b1) tasks.push_back({b0 * kRowBlock, std::min(N, b1 * kRowBlock), qa, qb, g});
      }
    }
    tf::parallel_for(
        static_cast<int64_t>(tasks.size()),
        [&](int64_t t0, int64_t t1) {
          thread_local std::vector<float> cbuf, gbuf;
          cbuf.resize(static_cast<size_t>(kRowBlock * tile));
          for (int64_t t = t0; t < t1; ++t) {
            const Task& ts = tasks[t];
            Heaps hs{heap.data() + ts.chunk * mq * k, count.data() + ts.chunk * mq, thr.data() + ts.chunk * mq, k};
            for (int64_t b0 = ts.p0; b0 < ts.p1; b0 += kRowBlock) {
              const int64_t nb = std::min(kRowBlock, ts.p1 - b0);
              const int64_t* rows = p.rows ? p.rows + b0 : nullptr;
              auto row_of = [&](int64_t i) { return rows ? rows[i] : b0 + i; };
              if (direct) {
                dots(rows ? p.gallery : p.gallery + b0 * d, rows, nb, d, qs + ts.qa * d, ts.qb - ts.qa, cbuf.data());
                const int64_t nc = ts.qb - ts.qa;
                for (int64_t i = 0; i < nb; ++i) {
                  float* ci = cbuf.data() + i * nc;
                  const int64_t row = row_of(i);
                  if (p.metric == Metric::L2) {
                    const float s = p.sq_norms[row];
                    for (int64_t j = 0; j < nc; ++j) ci[j] = ci[j] * 2.0f - s;
                  }
                  scan_row(p, hs, ci, nc, ts.qa, q0 + ts.qa, row);
                }
                continue;
              }
              const float* a = p.gallery + b0 * d;
              if (rows) {  // gather the family's rows into one contiguous block
                gbuf.resize(static_cast<size_t>(kRowBlock * d));
                for (int64_t i = 0; i < nb; ++i) std::copy_n(p.gallery + rows[i] * d, d, gbuf.data() + i * d);
                a = gbuf.data();
              }
              for (int64_t qc = ts.qa; qc < ts.qb; qc += tile) {
                const int64_t nc = std::min(tile, ts.qb - qc);
                tf::contrastive::gemm_serial_packed<float>(nb, nc, d, a, d, 1, packed, 0, qc, cbuf.data(), tile,
                                                           false);
                for (int64_t i = 0; i < nb; ++i) {
                  float* ci = cbuf.data() + i * tile;
                  const int64_t row = row_of(i);
                  if (p.metric == Metric::L2) {
                    const float s = p.sq_norms[row];
                    for (int64_t j = 0; j < nc; ++j) ci[j] = ci[j] * 2.0f - s;
                  }
                  scan_row(p, hs, ci, nc, qc, q0 + qc, row);
                }
              }
            }
          }
        },
        threads, 1);
    // Merge the chunks' heaps of every query, best first.
    tf::parallel_for(
        mq,
        [&](int64_t j0, int64_t j1) {
          std::vector<Entry> all;
          for (int64_t j = j0; j < j1; ++j) {
            all.clear();
            for (int64_t g = 0; g < G; ++g) {
              const Entry* hj = heap.data() + (g * mq + j) * k;
              all.insert(all.end(), hj, hj + count[g * mq + j]);
            }
            if (static_cast<int64_t>(all.size()) < k)
              throw tf::ValueError(tf::msg("query ", q0 + j, " has only ", all.size(), " searchable entries for k = ", k));
            std::partial_sort(all.begin(), all.begin() + k, all.end(), better);
            for (int64_t r = 0; r < k; ++r) {
              out_idx[(q0 + j) * k + r] = all[r].idx;
              out_key[(q0 + j) * k + r] = all[r].key;
            }
          }
        },
        threads, std::max<int64_t>(1, 64 / std::max<int64_t>(1, k)));
  }
}

}  // namespace tf::search
