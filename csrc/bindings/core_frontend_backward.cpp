// Python bindings of the frontends' backward passes (issue 17): vector-Jacobian products
// of the fused frontend, the HPSS masks, the mel projection and the dB / log scaling, plus
// the per-element derivatives of grad_math.h for CPU unit tests ("_" names). Buffers are
// C-contiguous float32 with the batch flattened into the first axis; the GIL is released.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <string>

#include "bindings/binders.h"
#include "common/errors.h"
#include "frontend/backward.h"
#include "frontend/grad_math.h"

namespace py = pybind11;
namespace fe = tf::frontend;

namespace tf::bindings {
namespace {

using FArr = py::array_t<float, py::array::c_style>;

void check_same_shape(const py::array& a, const py::array& b, const char* name_a, const char* name_b) {
  bool same = a.ndim() == b.ndim();
  for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
  if (!same) throw tf::ValueError(tf::msg(name_b, " must have the shape of ", name_a));
}

void check_ndim(const py::array& a, int ndim, const char* name) {
  if (a.ndim() != ndim) throw tf::ValueError(tf::msg(name, " must have ", ndim, " dimensions, got ", a.ndim()));
}

}  // namespace

void register_frontend_backward(py::module_& m) {
  m.def("_power_grad", &fe::power_grad, py::arg("v"), py::arg("p"));
  m.def(
      "_softmask_grad",
      [](float x, float x_ref, float power, bool hard, bool split_zeros) {
        double dx, dr;
        fe::softmask_grad(x, x_ref, power, hard, split_zeros, &dx, &dr);
        return py::make_tuple(dx, dr);
      },
      py::arg("x"), py::arg("x_ref"), py::arg("power"), py::arg("hard"), py::arg("split_zeros"),
      "(d mask / d x, d mask / d x_ref) of _softmask_value.");
  m.def("_db_grad", &fe::db_grad, py::arg("x"), py::arg("amin"));
  m.def("_log_clipped_grad", &fe::log_clipped_grad, py::arg("x"), py::arg("lo"), py::arg("hi"));

  m.def(
      "frontend_backward",
      [](const FArr& y, const FArr& grad, const fe::FrontendSpec& s, int num_threads) {
        check_ndim(y, 2, "y");
        check_ndim(grad, 4, "grad");
        const long batch = y.shape(0), n = y.shape(1);
        const long frames = fe::stft_num_frames(n, s.stft);
        if (grad.shape(0) != batch || grad.shape(1) != s.channels() || grad.shape(2) != s.bank.n_mels ||
            grad.shape(3) != frames)
          throw tf::ValueError(tf::msg("grad must have shape (", batch, ", ", s.channels(), ", ", s.bank.n_mels,
                                       ", ", frames, "), the frontend's output for y"));
        FArr out({y.shape(0), y.shape(1)});
        const float* yp = y.data();
        const float* gp = grad.data();
        float* op = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          fe::frontend_backward_run(s, yp, batch, n, gp, op, num_threads);
        }
        return out;
      },
      py::arg("y"), py::arg("grad"), py::arg("spec"), py::arg("num_threads") = 0,
      "Gradient of the fused frontend: (batch, n) signal and (batch, channels, n_mels, frames) output "
      "gradient -> (batch, n).");

  m.def(
      "hpss_masks_backward",
      [](const FArr& mag, const FArr& grad_harm, const FArr& grad_perc, int win_harm, int win_perc, float power,
         float margin_harm, float margin_perc, int num_threads) {
        check_ndim(mag, 3, "S");
        check_same_shape(mag, grad_harm, "S", "grad_harm");
        check_same_shape(mag, grad_perc, "S", "grad_perc");
        TF_CHECK(win_harm >= 1 && win_perc >= 1, "kernel sizes must be >= 1, got (", win_harm, ", ", win_perc, ")");
        TF_CHECK(power > 0, "power must be > 0, got ", power);
        TF_CHECK(margin_harm >= 1 && margin_perc >= 1, "margins must be >= 1");
        fe::HpssSpec s;
        s.win_harm = win_harm;
        s.win_perc = win_perc;
        s.hard = std::isinf(power);
        s.power = s.hard ? 1.0f : power;
        s.margin_harm = margin_harm;
        s.margin_perc = margin_perc;
        FArr out({mag.shape(0), mag.shape(1), mag.shape(2)});
        const long batch = mag.shape(0);
        const int bins = static_cast<int>(mag.shape(1)), frames = static_cast<int>(mag.shape(2));
        const float *in = mag.data(), *gh = grad_harm.data(), *gp = grad_perc.data();
        float* o = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          fe::hpss_masks_backward_run(s, in, batch, bins, frames, gh, gp, o, num_threads);
        }
        return out;
      },
      py::arg("S"), py::arg("grad_harm"), py::arg("grad_perc"), py::arg("win_harm"), py::arg("win_perc"),
      py::arg("power"), py::arg("margin_harm"), py::arg("margin_perc"), py::arg("num_threads") = 0,
      "Gradient of hpss_masks w.r.t. the (batch, bins, frames) magnitudes.");

  m.def(
      "mel_project_backward",
      [](const FArr& grad, const FArr& weights, int num_threads) {
        check_ndim(grad, 3, "grad");
        check_ndim(weights, 2, "mel weights");
        TF_CHECK(weights.shape(0) == grad.shape(1), "mel weights have ", weights.shape(0), " bands, grad has ",
                 grad.shape(1));
        const int n_bins = static_cast<int>(weights.shape(1));
        fe::MelBank bank = fe::mel_bank_from_dense(weights.data(), static_cast<int>(weights.shape(0)), n_bins);
        FArr out({grad.shape(0), static_cast<py::ssize_t>(n_bins), grad.shape(2)});
        const long batch = grad.shape(0);
        const int frames = static_cast<int>(grad.shape(2));
        const float* g = grad.data();
        float* o = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          fe::mel_project_backward_run(bank, g, batch, frames, o, num_threads);
        }
        return out;
      },
      py::arg("grad"), py::arg("weights"), py::arg("num_threads") = 0,
      "weights.T @ grad over (batch, n_mels, frames) -> (batch, n_bins, frames).");

  m.def(
      "scale_backward",
      [](const FArr& x, const FArr& grad, const std::string& scale, bool ref_max, float ref, float amin,
         std::optional<float> top_db, float log_lo, float log_hi, int num_threads) {
        check_ndim(x, 2, "x");
        check_same_shape(x, grad, "x", "grad");
        fe::ScaleSpec s;
        if (scale == "none")
          s.scale = fe::Scale::None;
        else if (scale == "db")
          s.scale = fe::Scale::Db;
        else if (scale == "log")
          s.scale = fe::Scale::Log;
        else
          throw tf::ValueError(tf::msg("scale must be 'none', 'db' or 'log', got '", scale, "'"));
        TF_CHECK(amin > 0, "amin must be > 0, got ", amin);
        s.ref_max = ref_max;
        s.ref = ref;
        s.amin = amin;
        s.has_top_db = top_db.has_value();
        if (top_db) s.top_db = *top_db;
        s.log_lo = log_lo;
        s.log_hi = log_hi;
        FArr out({x.shape(0), x.shape(1)});
        const long batch = x.shape(0), count = x.shape(1);
        const float *xp = x.data(), *gp = grad.data();
        float* o = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          fe::scale_backward_run(s, xp, gp, batch, count, o, num_threads);
        }
        return out;
      },
      py::arg("x"), py::arg("grad"), py::arg("scale"), py::arg("ref_max"), py::arg("ref"), py::arg("amin"),
      py::arg("top_db"), py::arg("log_lo"), py::arg("log_hi"), py::arg("num_threads") = 0,
      "Gradient of scale() w.r.t. its (batch, cells) input, each row one example.");
}

}  // namespace tf::bindings
