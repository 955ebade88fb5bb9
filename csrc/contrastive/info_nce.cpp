#include "contrastive/info_nce.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <unordered_map>
#include <vector>

#include "common/errors.h"
#include "common/parallel.h"
#include "contrastive/gemm.h"
#include "contrastive/kernels.h"
#include "contrastive/lse_math.h"

namespace tf::contrastive {
namespace {

constexpr int64_t kTileCols = kGemmKC;            // columns of P per streamed tile (= a packed depth block)
constexpr int64_t kStripRows = 192;               // rows of A per strip (rounded to the micro-tile)
constexpr int64_t kFusedStripBytes = 64 << 20;    // per-thread logit strip of the fused path

// Which columns are positives of which rows: columns grouped by label (ascending
// within a group), each row pointing at its group.
struct Positives {
  std::vector<int64_t> cols;                  // column indices grouped by label
  std::vector<int64_t> row_begin, row_end;    // row i's positives: cols[row_begin[i] .. row_end[i])
  std::vector<double> n_pos_col;              // rows sharing column j's label (symmetric only)

  Positives(int64_t n, int64_t m, const int64_t* row_labels, const int64_t* col_labels, bool need_cols) {
    std::unordered_map<int64_t, int64_t> group;  // label -> group id
    group.reserve(static_cast<size_t>(m) * 2);
    std::vector<int64_t> count;
    std::vector<int64_t> gid(static_cast<size_t>(m));
    for (int64_t j = 0; j < m; ++j) {
      auto it = group.emplace(col_labels[j], static_cast<int64_t>(count.size())).first;
      if (it->second == static_cast<int64_t>(count.size())) count.push_back(0);
      gid[j] = it->second;
      ++count[it->second];
    }
    std::vector<int64_t> start(count.size() + 1, 0);
    for (size_t g = 0; g < count.size(); ++g) start[g + 1] = start[g] + count[g];
    cols.resize(static_cast<size_t>(m));
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t j = 0; j < m; ++j) cols[fill[gid[j]]++] = j;
    row_begin.resize(static_cast<size_t>(n));
    row_end.resize(static_cast<size_t>(n));
    std::vector<int64_t> rows_per_group(count.size(), 0);
    for (int64_t i = 0; i < n; ++i) {
      auto it = group.find(row_labels[i]);
      if (it == group.end())
        throw ValueError(msg("row ", i, " (label ", row_labels[i],
                             ") has no positive: no column carries that label"));
      row_begin[i] = start[it->second];
      row_end[i] = start[it->second + 1];
      ++rows_per_group[it->second];
    }
    if (need_cols) {
      n_pos_col.resize(static_cast<size_t>(m));
      for (int64_t j = 0; j < m; ++j) {
        const int64_t c = rows_per_group[gid[j]];
        if (c == 0)
          throw ValueError(msg("column ", j, " (label ", col_labels[j],
                               ") has no positive: no row carries that label (needed by symmetric)"));
        n_pos_col[j] = static_cast<double>(c);
      }
    }
  }

  double n_pos_row(int64_t i) const { return static_cast<double>(row_end[i] - row_begin[i]); }

  // Visit row i's positive columns inside [j0, j1).
  template <class F>
  void for_row_in(int64_t i, int64_t j0, int64_t j1, F&& f) const {
    const int64_t* b = cols.data() + row_begin[i];
    const int64_t* e = cols.data() + row_end[i];
    if (j0 > 0) b = std::lower_bound(b, e, j0);
    for (; b != e && *b < j1; ++b) f(*b);
  }
};

int64_t round_to(int64_t x, int64_t step) { return std::max<int64_t>(step, x / step * step); }

// Rows [0, n) in `tasks` contiguous ranges of nearly equal size (boundaries at multiples of
// the micro-tile's mr), each walked in equal strips of at most rb rows. (Whole strips of rb
// per task would leave the last task short by up to a strip: 6% of the work at n = 4096.)
struct Split {
  int64_t n, tasks, mr, rb;
  int64_t begin(int64_t t) const { return t >= tasks ? n : std::min(n, n * t / tasks / mr * mr); }
  int64_t end(int64_t t) const { return begin(t + 1); }
  int64_t step(int64_t t) const {
    const int64_t rows = end(t) - begin(t);
    if (rows <= 0) return rb;
    const int64_t k = (rows + rb - 1) / rb;
    return std::min(rb, ((rows + k - 1) / k + mr - 1) / mr * mr);
  }
};

Split make_split(int64_t n, int64_t rb, int64_t mr) {
  const int64_t threads = std::max(1, tf::get_num_threads());
  const int64_t n_strips = (n + rb - 1) / rb;
  return Split{n, std::max<int64_t>(1, std::min(threads, n_strips)), mr, rb};
}

// Q = A W (or A itself when W is the identity).
template <class T>
const T* form_q(const InfoNceProblem<T>& pb, std::vector<T>& storage) {
  if (!pb.w) return pb.a;
  storage.assign(static_cast<size_t>(pb.n * pb.d), T(0));
  gemm_parallel_rows<T>(pb.n, pb.d, pb.d, pb.a, pb.d, 1, pb.w, pb.d, 1, storage.data(), pb.d, false);
  return storage.data();
}

// After the sweeps: dP = sum of the per-task buffers, dA = dQ W^T, dW = A^T dQ.
template <class T>
void finish_grads(const InfoNceProblem<T>& pb, const T* dq, std::vector<std::vector<T>>& dp_extra, T* da,
                  T* dp, T* dw) {
  const int64_t md = pb.m * pb.d;
  if (!dp_extra.empty()) {
    tf::parallel_for(
        md,
        [&](int64_t b, int64_t e) {
          for (auto& buf : dp_extra) {
            const T* src = buf.data();
            for (int64_t k = b; k < e; ++k) dp[k] += src[k];
          }
        },
        0, 1 << 14);
  }
  if (pb.w) {
    // dA = dQ W^T: element (k, j) of W^T is w[j * d + k].
    gemm_parallel_rows<T>(pb.n, pb.d, pb.d, dq, pb.d, 1, pb.w, 1, pb.d, da, pb.d, false);
    // dW = A^T dQ: element (i, k) of A^T is a[k * d + i].
    gemm_parallel_cols<T>(pb.d, pb.d, pb.n, pb.a, 1, pb.d, dq, pb.d, 1, dw, pb.d, false);
  }
}

// ValueError naming the array and the first row holding a NaN or an Inf.
template <class T>
void check_finite_rows(const T* x, int64_t rows, int64_t cols, const char* name) {
  std::atomic<int64_t> first_bad{rows};
  tf::parallel_for(
      rows,
      [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const T* v = x + r * cols;
          bool ok = true;
          for (int64_t c = 0; c < cols; ++c) ok &= (v[c] - v[c]) == T(0);  // false for NaN and +-Inf
          if (!ok) {
            int64_t cur = first_bad.load();
            while (r < cur && !first_bad.compare_exchange_weak(cur, r)) {
            }
            return;
          }
        }
      },
      0, std::max<int64_t>(1, 65536 / std::max<int64_t>(cols, 1)));
  if (first_bad.load() < rows)
    throw ValueError(msg(name, " contains non-finite values (NaN or Inf), first in row ", first_bad.load()));
}

template <class T>
void check_problem(const InfoNceProblem<T>& pb) {
  TF_CHECK(pb.n > 0 && pb.m > 0, "InfoNCE needs a non-empty batch, got ", pb.n, " anchors and ", pb.m,
           " positives");
  TF_CHECK(pb.d > 0, "InfoNCE needs embeddings of dimension >= 1, got ", pb.d);
  check_finite_rows(pb.a, pb.n, pb.d, "anchors");
  check_finite_rows(pb.p, pb.m, pb.d, "positives");
  if (pb.w) check_finite_rows(pb.w, pb.d, pb.d, "weight");
}

}  // namespace

template <class T>
void info_nce_forward(const InfoNceProblem<T>& pb, T* loss_row, T* lse_row, T* loss_col, T* lse_col) {
  check_problem(pb);
  const Positives pos(pb.n, pb.m, pb.row_labels, pb.col_labels, pb.symmetric);
  std::vector<T> q_storage;
  const T* q = form_q(pb, q_storage);
  const Kernels<T>& kern = kernels<T>();
  const int64_t rb = round_to(kStripRows, kern.mr);
  const int64_t cb = round_to(kTileCols, kern.nr);
  const Split split = make_split(pb.n, rb, kern.mr);
  const int64_t m = pb.m, d = pb.d;
  PackedB<T> pt;  // P^T packed once for every strip's logit tiles
  pack_b_full<T>(d, m, pb.p, 1, d, pt);
  // Per-task column statistics (symmetric): running max, sum, positive-logit sum.
  std::vector<std::vector<T>> col_max, col_sum;
  std::vector<std::vector<double>> col_pos;
  if (pb.symmetric) {
    col_max.assign(split.tasks, std::vector<T>(m, static_cast<T>(-INFINITY)));
    col_sum.assign(split.tasks, std::vector<T>(m, T(0)));
    col_pos.assign(split.tasks, std::vector<double>(m, 0.0));
  }
  tf::parallel_for(
      split.tasks,
      [&](int64_t t0, int64_t t1) {
        std::vector<T> tile(rb * cb), tmp(cb), nmax(cb);
        std::vector<LseState<T>> st(rb);
        std::vector<double> pos_sum(rb);
        for (int64_t t = t0; t < t1; ++t) {
          const int64_t row_end = split.end(t), step = split.step(t);
          for (int64_t i0 = split.begin(t); i0 < row_end; i0 += step) {
            const int64_t ri = std::min(step, row_end - i0);
            for (int64_t r = 0; r < ri; ++r) {
              st[r] = lse_empty<T>();
              pos_sum[r] = 0.0;
            }
            for (int64_t j0 = 0; j0 < m; j0 += cb) {
              const int64_t cj = std::min(cb, m - j0);
              gemm_serial_packed<T>(ri, cj, d, q + i0 * d, d, 1, pt, 0, j0, tile.data(), cb, false);
              for (int64_t r = 0; r < ri; ++r) {
                T* sr = tile.data() + r * cb;
                for (int64_t c = 0; c < cj; ++c) sr[c] *= pb.inv_tau;
                const T mx = kern.row_max(sr, cj);
                const T sum = kern.exp_sub_sum(sr, mx, cj, tmp.data());
                st[r] = lse_merge_block(st[r], mx, sum);
                pos.for_row_in(i0 + r, j0, j0 + cj, [&](int64_t j) {
                  pos_sum[r] += sr[j - j0];
                  if (pb.symmetric) col_pos[t][j] += sr[j - j0];
                });
              }
              if (pb.symmetric) {
                // Online column log-sum-exp: new max per column, rescale, add this strip.
                T* cmax = col_max[t].data() + j0;
                T* csum = col_sum[t].data() + j0;
                for (int64_t c = 0; c < cj; ++c) nmax[c] = cmax[c];
                for (int64_t r = 0; r < ri; ++r) {
                  const T* sr = tile.data() + r * cb;
                  for (int64_t c = 0; c < cj; ++c) nmax[c] = sr[c] > nmax[c] ? sr[c] : nmax[c];
                }
                for (int64_t c = 0; c < cj; ++c) {
                  csum[c] = csum[c] > T(0) ? csum[c] * hd_exp(cmax[c] - nmax[c]) : T(0);
                  cmax[c] = nmax[c];
                }
                for (int64_t r = 0; r < ri; ++r) {
                  kern.exp_sub_vec(tile.data() + r * cb, nmax.data(), cj, tmp.data());
                  for (int64_t c = 0; c < cj; ++c) csum[c] += tmp[c];
                }
              }
            }
            for (int64_t r = 0; r < ri; ++r) {
              const int64_t i = i0 + r;
              lse_row[i] = lse_value(st[r]);
              loss_row[i] = info_nce_row_loss<T>(lse_row[i], static_cast<T>(pos_sum[r]),
                                                 static_cast<T>(pos.n_pos_row(i)));
            }
          }
        }
      },
      0, 1);
  if (pb.symmetric) {
    tf::parallel_for(
        m,
        [&](int64_t b, int64_t e) {
          for (int64_t j = b; j < e; ++j) {
            LseState<T> stj = lse_empty<T>();
            double ps = 0.0;
            for (int64_t t = 0; t < split.tasks; ++t) {
              stj = lse_merge(stj, LseState<T>{col_max[t][j], col_sum[t][j]});
              ps += col_pos[t][j];
            }
            lse_col[j] = lse_value(stj);
            loss_col[j] = info_nce_row_loss<T>(lse_col[j], static_cast<T>(ps), static_cast<T>(pos.n_pos_col[j]));
          }
        },
        0, 1024);
  }
}

template <class T>
void info_nce_backward(const InfoNceProblem<T>& pb, const T* lse_row, const T* lse_col, const T* g_row,
                       const T* g_col, T* da, T* dp, T* dw, double* dtau) {
  check_problem(pb);
  const bool sym = pb.symmetric && g_col != nullptr;
  const Positives pos(pb.n, pb.m, pb.row_labels, pb.col_labels, sym);
  std::vector<T> q_storage;
  const T* q = form_q(pb, q_storage);
  const Kernels<T>& kern = kernels<T>();
  const int64_t rb = round_to(kStripRows, kern.mr);
  const int64_t cb = round_to(kTileCols, kern.nr);
  const Split split = make_split(pb.n, rb, kern.mr);
  const int64_t m = pb.m, d = pb.d;
  std::vector<T> dq_storage;
  T* dq = da;  // identity W: dA is dQ
  if (pb.w) {
    dq_storage.assign(static_cast<size_t>(pb.n * d), T(0));
    dq = dq_storage.data();
  }
  std::fill(dp, dp + m * d, T(0));
  std::vector<std::vector<T>> dp_extra(split.tasks - 1, std::vector<T>(m * d, T(0)));
  std::vector<double> dtau_task(split.tasks, 0.0);
  PackedB<T> pt, pn;  // P^T (logit tiles) and P (dQ), packed once for all strips
  pack_b_full<T>(d, m, pb.p, 1, d, pt);
  pack_b_full<T>(m, d, pb.p, d, 1, pn);
  tf::parallel_for(
      split.tasks,
      [&](int64_t t0, int64_t t1) {
        std::vector<T> tile(rb * cb), gbuf(cb), ubuf(cb);
        for (int64_t t = t0; t < t1; ++t) {
          T* dpt = t == 0 ? dp : dp_extra[t - 1].data();
          double dt = 0.0;
          const int64_t row_end = split.end(t), step = split.step(t);
          for (int64_t i0 = split.begin(t); i0 < row_end; i0 += step) {
            const int64_t ri = std::min(step, row_end - i0);
            for (int64_t j0 = 0; j0 < m; j0 += cb) {
              const int64_t cj = std::min(cb, m - j0);
              gemm_serial_packed<T>(ri, cj, d, q + i0 * d, d, 1, pt, 0, j0, tile.data(), cb, false);
              for (int64_t r = 0; r < ri; ++r) {
                const int64_t i = i0 + r;
                T* sr = tile.data() + r * cb;
                for (int64_t c = 0; c < cj; ++c) sr[c] *= pb.inv_tau;
                // d loss / d s_ij (lse_math.h info_nce_logit_grad, vectorised by parts)
                const T gi = g_row[i];
                kern.exp_sub_sum(sr, lse_row[i], cj, gbuf.data());
                for (int64_t c = 0; c < cj; ++c) gbuf[c] *= gi;
                if (sym) {
                  kern.exp_sub_vec(sr, lse_col + j0, cj, ubuf.data());
                  const T* gc = g_col + j0;
                  for (int64_t c = 0; c < cj; ++c) gbuf[c] += gc[c] * ubuf[c];
                }
                const T row_w = gi / static_cast<T>(pos.n_pos_row(i));
                pos.for_row_in(i, j0, j0 + cj, [&](int64_t j) {
                  gbuf[j - j0] -= row_w + (sym ? g_col[j] / static_cast<T>(pos.n_pos_col[j]) : T(0));
                });
                T acc = T(0);
                for (int64_t c = 0; c < cj; ++c) acc += gbuf[c] * sr[c];
                dt += static_cast<double>(acc);
                for (int64_t c = 0; c < cj; ++c) sr[c] = gbuf[c] * pb.inv_tau;
              }
              // dQ_I += dS_IJ P_J ; dP_J += dS_IJ^T Q_I
              gemm_serial_packed<T>(ri, d, cj, tile.data(), cb, 1, pn, j0, 0, dq + i0 * d, d, j0 > 0);
              gemm_serial<T>(cj, d, ri, tile.data(), 1, cb, q + i0 * d, d, 1, dpt + j0 * d, d, true);
            }
          }
          dtau_task[t] = dt;
        }
      },
      0, 1);
  double dts = 0.0;
  for (double v : dtau_task) dts += v;
  *dtau = -static_cast<double>(pb.inv_tau) * dts;
  finish_grads(pb, dq, dp_extra, da, dp, dw);
}

template <class T>
void info_nce_forward_backward(const InfoNceProblem<T>& pb, T* loss_row, T* lse_row, T* da, T* dp, T* dw,
                               double* dtau) {
  check_problem(pb);
  TF_CHECK(!pb.symmetric, "info_nce_forward_backward covers the row direction only (symmetric=False)");
  const Positives pos(pb.n, pb.m, pb.row_labels, pb.col_labels, false);
  std::vector<T> q_storage;
  const T* q = form_q(pb, q_storage);
  const Kernels<T>& kern = kernels<T>();
  const int64_t m = pb.m, d = pb.d;
  const int64_t by_budget = kFusedStripBytes / static_cast<int64_t>(sizeof(T) * m);
  const int64_t rb = round_to(std::min<int64_t>(kStripRows, by_budget), kern.mr);
  const Split split = make_split(pb.n, rb, kern.mr);
  std::vector<T> dq_storage;
  T* dq = da;
  if (pb.w) {
    dq_storage.assign(static_cast<size_t>(pb.n * d), T(0));
    dq = dq_storage.data();
  }
  std::fill(dp, dp + m * d, T(0));
  std::vector<std::vector<T>> dp_extra(split.tasks - 1, std::vector<T>(m * d, T(0)));
  std::vector<double> dtau_task(split.tasks, 0.0);
  PackedB<T> pt, pn;
  pack_b_full<T>(d, m, pb.p, 1, d, pt);
  pack_b_full<T>(m, d, pb.p, d, 1, pn);
  tf::parallel_for(
      split.tasks,
      [&](int64_t t0, int64_t t1) {
        std::vector<T> strip(rb * m), ebuf(m);
        for (int64_t t = t0; t < t1; ++t) {
          T* dpt = t == 0 ? dp : dp_extra[t - 1].data();
          double dt = 0.0;
          const int64_t row_end = split.end(t), step = split.step(t);
          for (int64_t i0 = split.begin(t); i0 < row_end; i0 += step) {
            const int64_t ri = std::min(step, row_end - i0);
            gemm_serial_packed<T>(ri, m, d, q + i0 * d, d, 1, pt, 0, 0, strip.data(), m, false);
            for (int64_t r = 0; r < ri; ++r) {
              const int64_t i = i0 + r;
              T* sr = strip.data() + r * m;
              for (int64_t c = 0; c < m; ++c) sr[c] *= pb.inv_tau;
              const T mx = kern.row_max(sr, m);
              const T sum = kern.exp_sub_sum(sr, mx, m, ebuf.data());
              const T lse = lse_value(LseState<T>{mx, sum});
              const T npos = static_cast<T>(pos.n_pos_row(i));
              double ps = 0.0;
              pos.for_row_in(i, 0, m, [&](int64_t j) { ps += sr[j]; });
              lse_row[i] = lse;
              loss_row[i] = info_nce_row_loss<T>(lse, static_cast<T>(ps), npos);
              const T inv_sum = T(1) / sum;
              for (int64_t c = 0; c < m; ++c) ebuf[c] *= inv_sum;
              const T row_w = T(1) / npos;
              pos.for_row_in(i, 0, m, [&](int64_t j) { ebuf[j] -= row_w; });
              T acc = T(0);
              for (int64_t c = 0; c < m; ++c) acc += ebuf[c] * sr[c];
              dt += static_cast<double>(acc);
              for (int64_t c = 0; c < m; ++c) sr[c] = ebuf[c] * pb.inv_tau;
            }
            gemm_serial_packed<T>(ri, d, m, strip.data(), m, 1, pn, 0, 0, dq + i0 * d, d, false);
            gemm_serial<T>(m, d, ri, strip.data(), 1, m, q + i0 * d, d, 1, dpt, d, true);
          }
          dtau_task[t] = dt;
        }
      },
      0, 1);
  double dts = 0.0;
  for (double v : dtau_task) dts += v;
  *dtau = -static_cast<double>(pb.inv_tau) * dts;
  finish_grads(pb, dq, dp_extra, da, dp, dw);
}

#define TF_INFO_NCE_INSTANTIATE(T)                                                                  \
  template void info_nce_forward<T>(const InfoNceProblem<T>&, T*, T*, T*, T*);                      \
  template void info_nce_backward<T>(const InfoNceProblem<T>&, const T*, const T*, const T*, const T*, \
                                     T*, T*, T*, double*);                                         \
  template void info_nce_forward_backward<T>(const InfoNceProblem<T>&, T*, T*, T*, T*, T*, double*);
TF_INFO_NCE_INSTANTIATE(float)
TF_INFO_NCE_INSTANTIATE(double)
#undef TF_INFO_NCE_INSTANTIATE

}  // namespace tf::contrastive
