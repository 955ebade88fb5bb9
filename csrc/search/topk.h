// Exact top-k search of queries against a gallery of embeddings: blocked matrix products
// (the packed GEMM of contrastive/gemm.h, or a direct dot kernel for a few queries) with a
// fused partial top-k per query, threads over gallery chunks and query ranges, bounded
// workspace. Scores are "keys", larger is better:
//   inner product: key = <q, g>;   L2: key = 2 <q, g> - |g|^2  (= |q|^2 - |q - g|^2).
// Results are sorted by key (descending), ties by the lower gallery row: the order does not
// depend on the thread count or on the blocking.
#pragma once

#include <cstdint>

namespace tf::search {

enum class Metric { InnerProduct, L2 };

struct TopkProblem {
  int64_t m = 0, n = 0, d = 0, k = 0;  // queries, gallery rows, dimension, results per query
  const float* queries = nullptr;      // m x d, row-major
  const float* gallery = nullptr;      // n x d, row-major
  const float* sq_norms = nullptr;     // n: |g_i|^2 (L2 only)
  // Candidate rows (ascending, unique, in [0, n)); nullptr: every row. n_rows: their count.
  const int64_t* rows = nullptr;
  int64_t n_rows = 0;
  // Per-query excluded rows (CSR): excl_idx[excl_ptr[q] : excl_ptr[q + 1]], ascending; or nullptr.
  const int64_t* excl_ptr = nullptr;
  const int64_t* excl_idx = nullptr;
  Metric metric = Metric::InnerProduct;
  int num_threads = 0;  // 0: the global setting
};

// out_idx / out_key: m x k. Throws tf::ValueError when a query has fewer than k searchable
// rows (after its exclusions). NaN keys (an overflowing product) rank below -inf.
void topk_search(const TopkProblem& p, int64_t* out_idx, float* out_key);

// out[i * m + j] = <g_row(i), q_j> for i < count, where g_row(i) = g + rows[i] * d (rows given)
// or g + i * d; the direct kernel of the few-query path (exposed for the tests).
void dot_block(const float* g, const int64_t* rows, int64_t count, int64_t d, const float* q, int64_t m,
               float* out);

// Number of queries below which the direct dot kernel replaces the GEMM.
constexpr int64_t kDirectMaxQueries = 16;

}  // namespace tf::search
