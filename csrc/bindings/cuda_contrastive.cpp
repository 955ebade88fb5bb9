// Bindings of the CUDA InfoNCE kernels (csrc/cuda/infonce.cu). Pointers and streams
// are plain integers (tensor.data_ptr(), torch.cuda.current_stream(device).cuda_stream);
// outputs and workspaces are allocated by the caller. The GIL is released while the
// launches are queued.
#include <pybind11/pybind11.h>

#include "cuda/infonce.h"

namespace py = pybind11;

namespace tf::cuda_bindings {

void bind_contrastive(py::module_& m) {
  m.def(
      "gemm",
      [](bool is_double, int64_t M, int64_t N, int64_t K, uintptr_t a, int64_t a_rs, int64_t a_cs, uintptr_t b,
         int64_t b_rs, int64_t b_cs, uintptr_t c, int64_t ldc, bool accumulate, uintptr_t stream, int device) {
        py::gil_scoped_release nogil;
        tf::cuda::gemm(is_double, M, N, K, a, a_rs, a_cs, b, b_rs, b_cs, c, ldc, accumulate, stream, device);
      },
      py::arg("is_double"), py::arg("M"), py::arg("N"), py::arg("K"), py::arg("a"), py::arg("a_rs"), py::arg("a_cs"),
      py::arg("b"), py::arg("b_rs"), py::arg("b_cs"), py::arg("c"), py::arg("ldc"), py::arg("accumulate"),
      py::arg("stream"), py::arg("device"), "C (+)= A B on strided device arrays (see csrc/cuda/infonce.h).");
  m.def("info_nce_splits", &tf::cuda::info_nce_splits, py::arg("is_double"), py::arg("rows"), py::arg("cols"),
        "Column splits of info_nce_row_stats; its workspace holds 4 * rows * splits elements.");
  m.def(
      "info_nce_row_stats",
      [](bool is_double, uintptr_t x, uintptr_t y, int64_t R, int64_t C, int64_t d, double inv_tau, uintptr_t xlab,
         uintptr_t ylab, int splits, uintptr_t workspace, uintptr_t lse, uintptr_t loss, uintptr_t cnt,
         uintptr_t stream, int device) {
        py::gil_scoped_release nogil;
        tf::cuda::info_nce_row_stats(is_double, x, y, R, C, d, inv_tau, xlab, ylab, splits, workspace, lse, loss, cnt,
                                     stream, device);
      },
      py::arg("is_double"), py::arg("x"), py::arg("y"), py::arg("rows"), py::arg("cols"), py::arg("dim"),
      py::arg("inv_tau"), py::arg("x_labels"), py::arg("y_labels"), py::arg("splits"), py::arg("workspace"),
      py::arg("lse"), py::arg("loss"), py::arg("count"), py::arg("stream"), py::arg("device"),
      "Per-row log-sum-exp, positive count and multi-positive InfoNCE loss of X Y^T * inv_tau.");
  m.def("info_nce_grad_blocks", &tf::cuda::info_nce_grad_blocks, py::arg("is_double"), py::arg("n"), py::arg("m"),
        "Length of info_nce_grad's dtau_partial output.");
  m.def(
      "info_nce_grad",
      [](bool is_double, uintptr_t q, uintptr_t p, int64_t n, int64_t m_, int64_t d, double inv_tau, uintptr_t rlab,
         uintptr_t clab, uintptr_t lse_row, uintptr_t cnt_row, uintptr_t g_row, uintptr_t lse_col, uintptr_t cnt_col,
         uintptr_t g_col, uintptr_t dq, uintptr_t dp, uintptr_t dtau_partial, uintptr_t stream, int device) {
        py::gil_scoped_release nogil;
        tf::cuda::info_nce_grad(is_double, q, p, n, m_, d, inv_tau, rlab, clab, lse_row, cnt_row, g_row, lse_col,
                                cnt_col, g_col, dq, dp, dtau_partial, stream, device);
      },
      py::arg("is_double"), py::arg("q"), py::arg("p"), py::arg("n"), py::arg("m"), py::arg("dim"), py::arg("inv_tau"),
      py::arg("row_labels"), py::arg("col_labels"), py::arg("lse_row"), py::arg("count_row"), py::arg("g_row"),
      py::arg("lse_col"), py::arg("count_col"), py::arg("g_col"), py::arg("dq"), py::arg("dp"),
      py::arg("dtau_partial"), py::arg("stream"), py::arg("device"),
      "Adds the InfoNCE gradients into dq and dp (recomputing logit tiles); g_col = 0 for one direction.");
}

}  // namespace tf::cuda_bindings
