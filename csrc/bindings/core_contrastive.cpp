// Bindings of the contrastive core (csrc/contrastive/): tiled InfoNCE forward,
// backward and fused forward+backward, in float32 and float64, plus small entry
// points that expose the shared per-element math and the inner kernels to the tests.
#include <pybind11/numpy.h>
#include <pybind11/stl.h>
#include <pybind11/pybind11.h>

#include <cmath>
#include <optional>
#include <string>

#include "bindings/binders.h"
#include "common/errors.h"
#include "contrastive/gemm.h"
#include "contrastive/info_nce.h"
#include "contrastive/kernels.h"
#include "contrastive/lse_math.h"

namespace py = pybind11;

namespace tf::bindings {
namespace {

using tf::contrastive::InfoNceProblem;

template <class T>
using Arr = py::array_t<T, py::array::c_style>;

std::string shape_str(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t k = 0; k < a.ndim(); ++k) s += (k ? ", " : "") + std::to_string(a.shape(k));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

// A C-contiguous array of exactly dtype T and rank `ndim`, or a TypeError / ValueError.
template <class T>
Arr<T> take(const py::array& x, const char* name, int ndim) {
  if (!x.dtype().is(py::dtype::of<T>()))
    throw TypeError(msg(name, " must have dtype ", std::string(py::str(py::dtype::of<T>())), " like the anchors, got ",
                        std::string(py::str(x.dtype()))));
  if (x.ndim() != ndim) throw ValueError(msg(name, " must have ", ndim, " dimension(s), got shape ", shape_str(x)));
  if (!(x.flags() & py::array::c_style)) throw TypeError(msg(name, " must be C-contiguous"));
  return Arr<T>::ensure(x);
}

struct Inputs {
  py::array a, p;
  std::optional<py::array> w;
  py::array row_labels, col_labels;
};

template <class T>
struct Prepared {
  Arr<T> a, p;
  std::optional<Arr<T>> w;
  Arr<int64_t> rl, cl;
  InfoNceProblem<T> pb;
};

template <class T>
Prepared<T> prepare(const Inputs& in, double inv_tau, bool symmetric) {
  Prepared<T> r{take<T>(in.a, "anchors", 2), take<T>(in.p, "positives", 2), std::nullopt,
                take<int64_t>(in.row_labels, "row_labels", 1), take<int64_t>(in.col_labels, "col_labels", 1), {}};
  const int64_t n = r.a.shape(0), d = r.a.shape(1), m = r.p.shape(0);
  TF_CHECK(r.p.shape(1) == d, "anchors and positives must have the same embedding size, got shapes ",
           shape_str(r.a), " and ", shape_str(r.p));
  TF_CHECK(n > 0 && m > 0 && d > 0, "empty batch: anchors ", shape_str(r.a), ", positives ", shape_str(r.p));
  TF_CHECK(r.rl.shape(0) == n, "row_labels must have one label per anchor (", n, "), got ", r.rl.shape(0));
  TF_CHECK(r.cl.shape(0) == m, "col_labels must have one label per positive (", m, "), got ", r.cl.shape(0));
  TF_CHECK(std::isfinite(inv_tau) && inv_tau > 0, "1 / temperature must be finite and > 0, got ", inv_tau);
  if (in.w) {
    r.w = take<T>(*in.w, "weight", 2);
    TF_CHECK(r.w->shape(0) == d && r.w->shape(1) == d, "weight must have shape (", d, ", ", d, "), got ",
             shape_str(*r.w));
  }
  r.pb.n = n;
  r.pb.m = m;
  r.pb.d = d;
  r.pb.a = r.a.data();
  r.pb.p = r.p.data();
  r.pb.w = r.w ? r.w->data() : nullptr;
  r.pb.inv_tau = static_cast<T>(inv_tau);
  r.pb.row_labels = r.rl.data();
  r.pb.col_labels = r.cl.data();
  r.pb.symmetric = symmetric;
  return r;
}

bool is_f64(const py::array& a) {
  if (a.dtype().is(py::dtype::of<double>())) return true;
  if (a.dtype().is(py::dtype::of<float>())) return false;
  throw TypeError(msg("anchors must be float32 or float64, got ", std::string(py::str(a.dtype()))));
}

template <class T>
py::tuple forward_impl(const Inputs& in, double inv_tau, bool symmetric) {
  Prepared<T> r = prepare<T>(in, inv_tau, symmetric);
  Arr<T> loss_row(r.pb.n), lse_row(r.pb.n);
  py::object loss_col = py::none(), lse_col = py::none();
  T *lc = nullptr, *sc = nullptr;
  if (symmetric) {
    Arr<T> a1(r.pb.m), a2(r.pb.m);
    lc = a1.mutable_data();
    sc = a2.mutable_data();
    loss_col = a1;
    lse_col = a2;
  }
  {
    T* lr = loss_row.mutable_data();
    T* sr = lse_row.mutable_data();
    py::gil_scoped_release nogil;
    tf::contrastive::info_nce_forward<T>(r.pb, lr, sr, lc, sc);
  }
  return py::make_tuple(loss_row, lse_row, loss_col, lse_col);
}

template <class T>
py::tuple backward_impl(const Inputs& in, double inv_tau, bool symmetric, const py::array& lse_row,
                        const std::optional<py::array>& lse_col, const py::array& g_row,
                        const std::optional<py::array>& g_col) {
  Prepared<T> r = prepare<T>(in, inv_tau, symmetric);
  Arr<T> lr = take<T>(lse_row, "lse_row", 1), gr = take<T>(g_row, "g_row", 1);
  TF_CHECK(lr.shape(0) == r.pb.n && gr.shape(0) == r.pb.n, "lse_row and g_row must have ", r.pb.n, " entries");
  std::optional<Arr<T>> lc, gc;
  if (symmetric) {
    TF_CHECK(lse_col && g_col, "symmetric backward needs lse_col and g_col");
    lc = take<T>(*lse_col, "lse_col", 1);
    gc = take<T>(*g_col, "g_col", 1);
    TF_CHECK(lc->shape(0) == r.pb.m && gc->shape(0) == r.pb.m, "lse_col and g_col must have ", r.pb.m,
             " entries");
  }
  Arr<T> da({r.pb.n, r.pb.d}), dp({r.pb.m, r.pb.d});
  py::object dw_obj = py::none();
  T* dwp = nullptr;
  if (r.w) {
    Arr<T> dw({r.pb.d, r.pb.d});
    dwp = dw.mutable_data();
    dw_obj = dw;
  }
  double dtau = 0.0;
  {
    T* dap = da.mutable_data();
    T* dpp = dp.mutable_data();
    const T* lcp = lc ? lc->data() : nullptr;
    const T* gcp = gc ? gc->data() : nullptr;
    py::gil_scoped_release nogil;
    tf::contrastive::info_nce_backward<T>(r.pb, lr.data(), lcp, gr.data(), gcp, dap, dpp, dwp, &dtau);
  }
  return py::make_tuple(da, dp, dw_obj, dtau);
}

template <class T>
py::tuple fused_impl(const Inputs& in, double inv_tau) {
  Prepared<T> r = prepare<T>(in, inv_tau, false);
  Arr<T> loss_row(r.pb.n), lse_row(r.pb.n), da({r.pb.n, r.pb.d}), dp({r.pb.m, r.pb.d});
  py::object dw_obj = py::none();
  T* dwp = nullptr;
  if (r.w) {
    Arr<T> dw({r.pb.d, r.pb.d});
    dwp = dw.mutable_data();
    dw_obj = dw;
  }
  double dtau = 0.0;
  {
    T* l = loss_row.mutable_data();
    T* s = lse_row.mutable_data();
    T* dap = da.mutable_data();
    T* dpp = dp.mutable_data();
    py::gil_scoped_release nogil;
    tf::contrastive::info_nce_forward_backward<T>(r.pb, l, s, dap, dpp, dwp, &dtau);
  }
  return py::make_tuple(loss_row, lse_row, da, dp, dw_obj, dtau);
}

template <class T>
py::array gemm_check(const py::array& a_in, const py::array& b_in, bool trans_a, bool trans_b) {
  Arr<T> a = take<T>(a_in, "a", 2), b = take<T>(b_in, "b", 2);
  const int64_t M = trans_a ? a.shape(1) : a.shape(0), K = trans_a ? a.shape(0) : a.shape(1);
  const int64_t Kb = trans_b ? b.shape(1) : b.shape(0), N = trans_b ? b.shape(0) : b.shape(1);
  TF_CHECK(K == Kb, "inner dimensions differ: ", K, " and ", Kb);
  Arr<T> c({M, N});
  const int64_t lda = a.shape(1), ldb = b.shape(1);
  T* cp = c.mutable_data();
  {
    py::gil_scoped_release nogil;
    tf::contrastive::gemm_parallel_rows<T>(M, N, K, a.data(), trans_a ? 1 : lda, trans_a ? lda : 1, b.data(),
                                           trans_b ? 1 : ldb, trans_b ? ldb : 1, cp, N, false);
  }
  return c;
}

}  // namespace

void bind_contrastive(py::module_& m) {
  m.def(
      "info_nce_forward",
      [](py::array a, py::array p, std::optional<py::array> w, double inv_tau, py::array row_labels,
         py::array col_labels, bool symmetric) {
        Inputs in{a, p, w, row_labels, col_labels};
        return is_f64(a) ? forward_impl<double>(in, inv_tau, symmetric) : forward_impl<float>(in, inv_tau, symmetric);
      },
      py::arg("anchors"), py::arg("positives"), py::arg("weight"), py::arg("inv_tau"), py::arg("row_labels"),
      py::arg("col_labels"), py::arg("symmetric"),
      "Tiled multi-positive InfoNCE over S = (A W) P^T * inv_tau (W None = identity).\n"
      "Returns (loss_row (n,), lse_row (n,), loss_col (m,) or None, lse_col (m,) or None).");
  m.def(
      "info_nce_backward",
      [](py::array a, py::array p, std::optional<py::array> w, double inv_tau, py::array row_labels,
         py::array col_labels, bool symmetric, py::array lse_row, std::optional<py::array> lse_col, py::array g_row,
         std::optional<py::array> g_col) {
        Inputs in{a, p, w, row_labels, col_labels};
        return is_f64(a) ? backward_impl<double>(in, inv_tau, symmetric, lse_row, lse_col, g_row, g_col)
                         : backward_impl<float>(in, inv_tau, symmetric, lse_row, lse_col, g_row, g_col);
      },
      py::arg("anchors"), py::arg("positives"), py::arg("weight"), py::arg("inv_tau"), py::arg("row_labels"),
      py::arg("col_labels"), py::arg("symmetric"), py::arg("lse_row"), py::arg("lse_col"), py::arg("g_row"),
      py::arg("g_col"),
      "Gradients of sum_i g_row[i] loss_row[i] (+ sum_j g_col[j] loss_col[j]) recomputing the logits tile by\n"
      "tile. Returns (dA (n, d), dP (m, d), dW (d, d) or None, d_tau as float).");
  m.def(
      "info_nce_forward_backward",
      [](py::array a, py::array p, std::optional<py::array> w, double inv_tau, py::array row_labels,
         py::array col_labels) {
        Inputs in{a, p, w, row_labels, col_labels};
        return is_f64(a) ? fused_impl<double>(in, inv_tau) : fused_impl<float>(in, inv_tau);
      },
      py::arg("anchors"), py::arg("positives"), py::arg("weight"), py::arg("inv_tau"), py::arg("row_labels"),
      py::arg("col_labels"),
      "Row-direction InfoNCE and the gradients of sum_i loss_row[i] in one sweep.\n"
      "Returns (loss_row, lse_row, dA, dP, dW or None, d_tau).");

  // ---- test hooks: the shared TF_HD math and the inner kernels
  m.def(
      "_lse_stream",
      [](Arr<double> x) {
        auto s = tf::contrastive::lse_empty<double>();
        for (py::ssize_t k = 0; k < x.shape(0); ++k) s = tf::contrastive::lse_push(s, x.data()[k]);
        return tf::contrastive::lse_value(s);
      },
      py::arg("x"), "log-sum-exp of x by pushing one value at a time (lse_push).");
  m.def(
      "_lse_blocks",
      [](Arr<double> x, int64_t block) {
        TF_CHECK(block > 0, "block must be > 0");
        auto s = tf::contrastive::lse_empty<double>();
        const double* v = x.data();
        for (int64_t b = 0; b < x.shape(0); b += block) {
          auto t = tf::contrastive::lse_empty<double>();
          for (int64_t k = b; k < std::min<int64_t>(b + block, x.shape(0)); ++k) t = tf::contrastive::lse_push(t, v[k]);
          s = tf::contrastive::lse_merge(s, t);
        }
        return tf::contrastive::lse_value(s);
      },
      py::arg("x"), py::arg("block"), "log-sum-exp of x by merging the states of blocks (lse_merge).");
  m.def(
      "_lse_merge",
      [](double max_a, double sum_a, double max_b, double sum_b) {
        auto s = tf::contrastive::lse_merge(tf::contrastive::LseState<double>{max_a, sum_a},
                                            tf::contrastive::LseState<double>{max_b, sum_b});
        return py::make_tuple(s.max, s.sum);
      },
      py::arg("max_a"), py::arg("sum_a"), py::arg("max_b"), py::arg("sum_b"));
  m.def(
      "_info_nce_logit_grad",
      [](double s, double lse_row, double g_row, double n_pos_row, double lse_col, double g_col, double n_pos_col,
         bool is_pos) {
        return tf::contrastive::info_nce_logit_grad<double>(s, lse_row, g_row, n_pos_row, lse_col, g_col, n_pos_col,
                                                            is_pos);
      },
      py::arg("s"), py::arg("lse_row"), py::arg("g_row"), py::arg("n_pos_row"), py::arg("lse_col"),
      py::arg("g_col"), py::arg("n_pos_col"), py::arg("is_pos"));
  m.def(
      "_exp_sub_sum",
      [](Arr<float> x, float c) {
        Arr<float> out(x.shape(0));
        float s = tf::contrastive::kernels_f32().exp_sub_sum(x.data(), c, x.shape(0), out.mutable_data());
        return py::make_tuple(out, s, tf::contrastive::kernels_f32().row_max(x.data(), x.shape(0)));
      },
      py::arg("x"), py::arg("c"), "(exp(x - c), its sum, max(x)) with the current SIMD level's kernels.");
  m.def(
      "_gemm",
      [](py::array a, py::array b, bool trans_a, bool trans_b) {
        return is_f64(a) ? gemm_check<double>(a, b, trans_a, trans_b) : gemm_check<float>(a, b, trans_a, trans_b);
      },
      py::arg("a"), py::arg("b"), py::arg("trans_a") = false, py::arg("trans_b") = false,
      "op(a) @ op(b) with the core's packed GEMM (tests).");
}

}  // namespace tf::bindings
