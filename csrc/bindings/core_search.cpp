// Bindings of the exact top-k search (csrc/search/): numpy in, numpy out, GIL released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "common/errors.h"
#include "search/topk.h"

namespace py = pybind11;

namespace tf::bindings {
namespace {

template <class T>
using Arr = py::array_t<T, py::array::c_style>;

std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t k = 0; k < a.ndim(); ++k) s += (k ? ", " : "") + std::to_string(a.shape(k));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

template <class T>
Arr<T> take(const py::array& x, const char* name, int ndim, const char* dtype) {
  if (!x.dtype().is(py::dtype::of<T>()))
    throw TypeError(msg(name, " must have dtype ", dtype, ", got ", std::string(py::str(x.dtype()))));
  if (x.ndim() != ndim) throw ValueError(msg(name, " must have ", ndim, " dimension(s), got shape ", shape_of(x)));
  if (!(x.flags() & py::array::c_style)) throw TypeError(msg(name, " must be C-contiguous"));
  return Arr<T>::ensure(x);
}

void check_finite(const float* x, int64_t rows, int64_t d, const char* name) {
  for (int64_t i = 0; i < rows * d; ++i)
    if (!std::isfinite(x[i])) throw ValueError(msg(name, " contains NaN or Inf (first in row ", i / d, ")"));
}

py::tuple topk_search(const py::array& queries, const py::array& gallery, int64_t k, const std::string& metric,
                      const std::optional<py::array>& sq_norms, const std::optional<py::array>& mask,
                      const std::optional<py::array>& excl_ptr, const std::optional<py::array>& excl_idx,
                      int threads, bool check_gallery) {
  Arr<float> q = take<float>(queries, "queries", 2, "float32");
  Arr<float> g = take<float>(gallery, "gallery", 2, "float32");
  tf::search::TopkProblem p;
  p.m = q.shape(0);
  p.n = g.shape(0);
  p.d = g.shape(1);
  p.k = k;
  TF_CHECK(p.d >= 1 && p.n >= 1, "the gallery must be non-empty with dimension >= 1, got shape ", shape_of(g));
  TF_CHECK(q.shape(1) == p.d, "queries have dimension ", q.shape(1), ", the gallery has ", p.d);
  TF_CHECK(k >= 1, "k must be >= 1, got ", k);
  TF_CHECK(threads >= 0, "threads must be >= 0, got ", threads);
  if (metric == "ip") {
    p.metric = tf::search::Metric::InnerProduct;
  } else if (metric == "l2") {
    p.metric = tf::search::Metric::L2;
  } else {
    throw ValueError(msg("metric must be 'ip' or 'l2', got '", metric, "'"));
  }
  std::optional<Arr<float>> sq;
  std::vector<float> sq_own;
  if (p.metric == tf::search::Metric::L2) {
    if (sq_norms) {
      sq = take<float>(*sq_norms, "sq_norms", 1, "float32");
      TF_CHECK(sq->shape(0) == p.n, "sq_norms must have one entry per gallery row (", p.n, "), got ", sq->shape(0));
      p.sq_norms = sq->data();
    } else {
      sq_own.resize(static_cast<size_t>(p.n));
      const float* gp = g.data();
      for (int64_t i = 0; i < p.n; ++i) {
        float s = 0;
        for (int64_t t = 0; t < p.d; ++t) s += gp[i * p.d + t] * gp[i * p.d + t];
        sq_own[i] = s;
      }
      p.sq_norms = sq_own.data();
    }
  }
  std::vector<int64_t> rows;
  if (mask) {
    Arr<bool> mk = take<bool>(*mask, "mask", 1, "bool");
    TF_CHECK(mk.shape(0) == p.n, "mask must have one entry per gallery row (", p.n, "), got ", mk.shape(0));
    const bool* mp = mk.data();
    for (int64_t i = 0; i < p.n; ++i)
      if (mp[i]) rows.push_back(i);
    TF_CHECK(!rows.empty(), "mask selects no gallery row");
    p.rows = rows.data();
    p.n_rows = static_cast<int64_t>(rows.size());
  }
  std::optional<Arr<int64_t>> ep, ei;
  if (excl_ptr || excl_idx) {
    TF_CHECK(excl_ptr && excl_idx, "excl_ptr and excl_idx go together");
    ep = take<int64_t>(*excl_ptr, "excl_ptr", 1, "int64");
    ei = take<int64_t>(*excl_idx, "excl_idx", 1, "int64");
    TF_CHECK(ep->shape(0) == p.m + 1, "excl_ptr must have m + 1 = ", p.m + 1, " entries, got ", ep->shape(0));
    const int64_t* a = ep->data();
    const int64_t* b = ei->data();
    TF_CHECK(a[0] == 0 && a[p.m] == ei->shape(0), "excl_ptr must run from 0 to len(excl_idx)");
    for (int64_t i = 0; i < p.m; ++i) {
      TF_CHECK(a[i] <= a[i + 1], "excl_ptr must be non-decreasing");
      for (int64_t e = a[i]; e < a[i + 1]; ++e) {
        TF_CHECK(b[e] >= 0 && b[e] < p.n, "excl_idx entries must be gallery rows in [0, ", p.n, "), got ", b[e]);
        TF_CHECK(e == a[i] || b[e - 1] < b[e], "excl_idx must be strictly ascending per query (query ", i, ")");
      }
    }
    p.excl_ptr = a;
    p.excl_idx = b;
  }
  p.queries = q.data();
  p.gallery = g.data();
  p.num_threads = threads;
  Arr<int64_t> idx({p.m, k});
  Arr<float> key({p.m, k});
  {
    int64_t* ip = idx.mutable_data();
    float* kp = key.mutable_data();
    py::gil_scoped_release nogil;
    check_finite(p.queries, p.m, p.d, "queries");
    if (check_gallery) check_finite(p.gallery, p.n, p.d, "gallery");
    tf::search::topk_search(p, ip, kp);
  }
  return py::make_tuple(idx, key);
}

py::array_t<float> dot_block(const py::array& gallery, const py::array& queries) {
  Arr<float> g = take<float>(gallery, "gallery", 2, "float32");
  Arr<float> q = take<float>(queries, "queries", 2, "float32");
  TF_CHECK(q.shape(1) == g.shape(1), "queries have dimension ", q.shape(1), ", the gallery has ", g.shape(1));
  Arr<float> out({g.shape(0), q.shape(0)});
  {
    float* op = out.mutable_data();
    py::gil_scoped_release nogil;
    tf::search::dot_block(g.data(), nullptr, g.shape(0), g.shape(1), q.data(), q.shape(0), op);
  }
  return out;
}

}  // namespace

void register_search(py::module_& m) {
  m.def("topk_search", &topk_search, py::arg("queries"), py::arg("gallery"), py::arg("k"), py::arg("metric"),
        py::arg("sq_norms") = py::none(), py::arg("mask") = py::none(), py::arg("excl_ptr") = py::none(),
        py::arg("excl_idx") = py::none(), py::arg("threads") = 0, py::arg("check_gallery") = true,
        "Exact top-k of float32 queries (m, d) against a gallery (n, d): (rows (m, k) int64, keys (m, k) float32),\n"
        "keys larger-is-better (metric 'ip': <q, g>; 'l2': 2<q, g> - |g|^2), sorted, ties by the lower row.\n"
        "mask (n,) bool restricts the candidates; excl_ptr (m + 1,) / excl_idx (CSR, ascending) excludes rows\n"
        "per query. The GIL is released.");
  m.def("search_dot_block", &dot_block, py::arg("gallery"), py::arg("queries"),
        "(n, d) x (m, d) -> (n, m) dot products by the few-query direct kernel (tests).");
  m.attr("SEARCH_DIRECT_MAX_QUERIES") = tf::search::kDirectMaxQueries;
}

}  // namespace tf::bindings
