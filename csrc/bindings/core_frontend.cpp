// Python bindings of the frontends (issue 3). The public, validated API is
// python/timbrefast/frontends.py; these entry points expect C-contiguous float32
// (complex64) buffers with the batch flattened into the first axis, release the GIL,
// and split the batch over the thread pool. Functions starting with "_" expose the
// per-element math of the *_math.h headers for unit tests.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <complex>
#include <optional>
#include <string>
#include <vector>

#include "bindings/binders.h"
#include "common/errors.h"
#include "frontend/db_math.h"
#include "frontend/frontend.h"
#include "frontend/kernels.h"
#include "frontend/mask_math.h"
#include "frontend/mel_math.h"
#include "frontend/window_math.h"
#include "common/parallel.h"
#include "frontend/median.h"

namespace py = pybind11;
namespace fe = tf::frontend;

namespace tf::bindings {
namespace {

using FArr = py::array_t<float, py::array::c_style>;
using CArr = py::array_t<std::complex<float>, py::array::c_style>;

void check_ndim(const py::array& a, int ndim, const char* name) {
  if (a.ndim() != ndim)
    throw tf::ValueError(tf::msg(name, " must have ", ndim, " dimensions, got ", a.ndim()));
}

std::vector<float> to_vector(const FArr& a) {
  return std::vector<float>(a.data(), a.data() + a.size());
}

fe::StftSpec stft_spec(int n_fft, int hop, const FArr& window, bool center, const std::string& pad) {
  check_ndim(window, 1, "window");
  return fe::make_stft_spec(n_fft, hop, to_vector(window), center, fe::parse_pad_mode(pad));
}

fe::MelBank bank_from(const FArr& weights, int n_bins) {
  check_ndim(weights, 2, "mel weights");
  TF_CHECK(weights.shape(1) == n_bins, "mel weights have ", weights.shape(1), " bins, expected ", n_bins);
  return fe::mel_bank_from_dense(weights.data(), static_cast<int>(weights.shape(0)), n_bins);
}

fe::ScaleSpec scale_spec(const std::string& scale, bool ref_max, float ref, float amin,
                         std::optional<float> top_db, float log_lo, float log_hi) {
  fe::ScaleSpec s;
  if (scale == "none")
    s.scale = fe::Scale::None;
  else if (scale == "db")
    s.scale = fe::Scale::Db;
  else if (scale == "log")
    s.scale = fe::Scale::Log;
  else
    throw tf::ValueError(tf::msg("scale must be 'none', 'db' or 'log', got '", scale, "'"));
  s.ref_max = ref_max;
  s.ref = ref;
  TF_CHECK(amin > 0, "amin must be > 0, got ", amin);
  s.amin = amin;
  s.has_top_db = top_db.has_value();
  if (top_db) {
    TF_CHECK(*top_db >= 0, "top_db must be >= 0, got ", *top_db);
    s.top_db = *top_db;
  }
  TF_CHECK(log_lo > 0 && log_hi >= log_lo, "need 0 < log_lo <= log_hi");
  s.log_lo = log_lo;
  s.log_hi = log_hi;
  return s;
}

fe::HpssSpec hpss_spec(int win_harm, int win_perc, float power, float margin_harm, float margin_perc) {
  TF_CHECK(win_harm >= 1 && win_perc >= 1, "kernel sizes must be >= 1, got (", win_harm, ", ",
           win_perc, ")");
  TF_CHECK(power > 0, "power must be > 0, got ", power);
  TF_CHECK(margin_harm >= 1 && margin_perc >= 1, "margins must be >= 1, got (", margin_harm, ", ",
           margin_perc, ")");
  fe::HpssSpec s;
  s.win_harm = win_harm;
  s.win_perc = win_perc;
  s.hard = std::isinf(power);
  s.power = s.hard ? 1.0f : power;
  s.margin_harm = margin_harm;
  s.margin_perc = margin_perc;
  return s;
}

}  // namespace

void bind_frontend(py::module_& m) {
  // ---- per-element math (TF_HD headers), exposed for CPU unit tests
  m.def("_window_value",
        [](const std::string& name, int n, int length) {
          return fe::window_value(fe::parse_window(name), n, length);
        },
        py::arg("name"), py::arg("n"), py::arg("length"));
  m.def("_hz_to_mel", &fe::hz_to_mel, py::arg("hz"), py::arg("htk"));
  m.def("_mel_to_hz", &fe::mel_to_hz, py::arg("mel"), py::arg("htk"));
  m.def("_mel_weight", &fe::mel_weight, py::arg("m"), py::arg("k"), py::arg("sr"), py::arg("n_fft"),
        py::arg("n_mels"), py::arg("fmin"), py::arg("fmax"), py::arg("htk"), py::arg("slaney_norm"));
  m.def("_softmask_value", &fe::softmask_value, py::arg("x"), py::arg("x_ref"), py::arg("power"),
        py::arg("hard"), py::arg("split_zeros"));
  m.def("_db_value", &fe::db_value, py::arg("x"), py::arg("amin"));
  m.def("_log_clipped", &fe::log_clipped, py::arg("x"), py::arg("lo"), py::arg("hi"));
  m.def("_frontend_kernels", [] { return std::string(fe::kernels().name); },
        "Name of the frontend kernels in use ('scalar', 'avx2' or 'avx512').");

  m.def(
      "window",
      [](const std::string& name, int win_length, int n_fft) {
        std::vector<float> w = fe::make_window(fe::parse_window(name), win_length, n_fft);
        FArr out(static_cast<py::ssize_t>(w.size()));
        std::copy(w.begin(), w.end(), out.mutable_data());
        return out;
      },
      py::arg("name"), py::arg("win_length"), py::arg("n_fft"),
      "Periodic window of win_length samples centred in n_fft samples (float32).");

  m.def(
      "mel_filters",
      [](double sr, int n_fft, int n_mels, double fmin, double fmax, bool htk, bool slaney_norm) {
        fe::MelSpec s{sr, n_fft, n_mels, fmin, fmax, htk, slaney_norm};
        std::vector<float> w = fe::mel_filters(s);
        FArr out({static_cast<py::ssize_t>(n_mels), static_cast<py::ssize_t>(1 + n_fft / 2)});
        std::copy(w.begin(), w.end(), out.mutable_data());
        return out;
      },
      py::arg("sr"), py::arg("n_fft"), py::arg("n_mels"), py::arg("fmin"), py::arg("fmax"),
      py::arg("htk"), py::arg("slaney_norm"), "Mel filterbank (n_mels, 1 + n_fft/2); fmax < 0 means sr/2.");

  m.def(
      "num_frames",
      [](long n, int n_fft, int hop, bool center) {
        fe::StftSpec s;
        s.n_fft = n_fft;
        s.hop = hop;
        s.center = center;
        return fe::stft_num_frames(n, s);
      },
      py::arg("n"), py::arg("n_fft"), py::arg("hop"), py::arg("center"));

  m.def(
      "stft",
      [](const FArr& y, int n_fft, int hop, const FArr& window, bool center, const std::string& pad,
         int num_threads) {
        check_ndim(y, 2, "y");
        fe::StftSpec s = stft_spec(n_fft, hop, window, center, pad);
        const long batch = y.shape(0), n = y.shape(1);
        const long frames = fe::stft_num_frames(n, s);
        CArr out({static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(s.n_bins()),
                  static_cast<py::ssize_t>(frames)});
        const float* yp = y.data();
        std::complex<float>* op = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          fe::stft_run(s, yp, batch, n, op, num_threads);
        }
        return out;
      },
      py::arg("y"), py::arg("n_fft"), py::arg("hop"), py::arg("window"), py::arg("center"),
      py::arg("pad_mode"), py::arg("num_threads") = 0,
      "STFT of a (batch, n) float32 signal -> (batch, 1 + n_fft/2, frames) complex64.");

  // ---- the compiled frontend: built once per Frontend, then passed to every call
  py::class_<fe::FrontendSpec>(
      m, "FrontendSpec",
      "A validated fused frontend (STFT, optional HPSS, mel bank, scaling), built once and "
      "passed to frontend(); keyword-only construction.")
      .def(py::init([](int n_fft, int hop, const FArr& window, bool center, const std::string& pad_mode,
                       float power, const FArr& mel_weights, bool hpss, int win_harm, int win_perc,
                       float mask_power, float margin_harm, float margin_perc, const std::string& scale,
                       bool ref_max, float ref, float amin, std::optional<float> top_db, float log_lo,
                       float log_hi) {
             fe::FrontendSpec s;
             s.stft = stft_spec(n_fft, hop, window, center, pad_mode);
             TF_CHECK(power > 0, "power must be > 0, got ", power);
             s.power = power;
             s.hpss = hpss;
             if (hpss) s.hpss_spec = hpss_spec(win_harm, win_perc, mask_power, margin_harm, margin_perc);
             s.bank = bank_from(mel_weights, s.stft.n_bins());
             s.scale = scale_spec(scale, ref_max, ref, amin, top_db, log_lo, log_hi);
             return s;
           }),
           py::kw_only(), py::arg("n_fft"), py::arg("hop"), py::arg("window"), py::arg("center"),
           py::arg("pad_mode"), py::arg("power"), py::arg("mel_weights"), py::arg("hpss"),
           py::arg("win_harm"), py::arg("win_perc"), py::arg("mask_power"), py::arg("margin_harm"),
           py::arg("margin_perc"), py::arg("scale"), py::arg("ref_max"), py::arg("ref"), py::arg("amin"),
           py::arg("top_db"), py::arg("log_lo"), py::arg("log_hi"))
      .def_property_readonly("n_fft", [](const fe::FrontendSpec& s) { return s.stft.n_fft; })
      .def_property_readonly("hop", [](const fe::FrontendSpec& s) { return s.stft.hop; })
      .def_property_readonly("center", [](const fe::FrontendSpec& s) { return s.stft.center; })
      .def_property_readonly("n_mels", [](const fe::FrontendSpec& s) { return s.bank.n_mels; })
      .def_property_readonly("channels", &fe::FrontendSpec::channels)
      .def_property_readonly("hpss", [](const fe::FrontendSpec& s) { return s.hpss; })
      .def("num_frames", [](const fe::FrontendSpec& s, long n) { return fe::stft_num_frames(n, s.stft); },
           py::arg("n"), "Frames of a signal of n samples (ValueError when uncentred and n < n_fft).")
      .def("__repr__", [](const fe::FrontendSpec& s) {
        return tf::msg("FrontendSpec(n_fft=", s.stft.n_fft, ", hop=", s.stft.hop, ", n_mels=", s.bank.n_mels,
                       ", channels=", s.channels(), ")");
      });

  m.def(
      "frontend",
      [](const FArr& y, const fe::FrontendSpec& s, int num_threads) {
        check_ndim(y, 2, "y");
        const long batch = y.shape(0), n = y.shape(1);
        const long frames = fe::stft_num_frames(n, s.stft);
        FArr out({static_cast<py::ssize_t>(batch), static_cast<py::ssize_t>(s.channels()),
                  static_cast<py::ssize_t>(s.bank.n_mels), static_cast<py::ssize_t>(frames)});
        const float* yp = y.data();
        float* op = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          fe::frontend_run(s, yp, batch, n, op, num_threads);
        }
        return out;
      },
      py::arg("y"), py::arg("spec"), py::arg("num_threads") = 0,
      "Fused waveform -> (HPSS) -> mel -> scale: (batch, n) -> (batch, channels, n_mels, frames).");

  m.def(
      "hpss_masks",
      [](const FArr& mag, int win_harm, int win_perc, float power, float margin_harm, float margin_perc,
         int num_threads) {
        check_ndim(mag, 3, "S");
        fe::HpssSpec s = hpss_spec(win_harm, win_perc, power, margin_harm, margin_perc);
        const long batch = mag.shape(0);
        const int bins = static_cast<int>(mag.shape(1)), frames = static_cast<int>(mag.shape(2));
        FArr mh({mag.shape(0), mag.shape(1), mag.shape(2)});
        FArr mp({mag.shape(0), mag.shape(1), mag.shape(2)});
        const float* in = mag.data();
        float* a = mh.mutable_data();
        float* b = mp.mutable_data();
        {
          py::gil_scoped_release nogil;
          fe::hpss_masks_run(s, in, batch, bins, frames, a, b, num_threads);
        }
        return py::make_tuple(mh, mp);
      },
      py::arg("S"), py::arg("win_harm"), py::arg("win_perc"), py::arg("power"), py::arg("margin_harm"),
      py::arg("margin_perc"), py::arg("num_threads") = 0,
      "Harmonic and percussive soft masks of (batch, bins, frames) magnitudes.");

  m.def(
      "median_filter",
      [](const FArr& x, int k, int axis, int num_threads) {
        check_ndim(x, 3, "x");
        TF_CHECK(k >= 1, "kernel size must be >= 1, got ", k);
        TF_CHECK(axis == -1 || axis == -2, "axis must be -1 or -2, got ", axis);
        const long batch = x.shape(0);
        const int rows = static_cast<int>(x.shape(1)), cols = static_cast<int>(x.shape(2));
        const int cp = fe::round_up(cols, fe::kLanes);
        FArr out({x.shape(0), x.shape(1), x.shape(2)});
        const float* in = x.data();
        float* o = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          tf::parallel_for(
              batch,
              [&](int64_t b0, int64_t b1) {
                fe::MedianWork w;
                fe::FloatBuffer src(static_cast<std::size_t>(rows) * cp, 0.0f);
                fe::FloatBuffer dst(static_cast<std::size_t>(rows) * cp);
                for (int64_t b = b0; b < b1; ++b) {
                  for (int r = 0; r < rows; ++r)
                    std::copy(in + (b * rows + r) * cols, in + (b * rows + r + 1) * cols,
                              src.data() + static_cast<long>(r) * cp);
                  if (axis == -1)
                    fe::median_along_rows(src.data(), rows, cols, cp, k, dst.data(), cp, w);
                  else
                    fe::median_along_cols(src.data(), rows, cols, cp, k, dst.data(), cp, w);
                  for (int r = 0; r < rows; ++r)
                    std::copy(dst.data() + static_cast<long>(r) * cp,
                              dst.data() + static_cast<long>(r) * cp + cols, o + (b * rows + r) * cols);
                }
              },
              num_threads, 1);
        }
        return out;
      },
      py::arg("x"), py::arg("k"), py::arg("axis"), py::arg("num_threads") = 0,
      "Running median (scipy reflect mode) of window k along axis -1 or -2 of (batch, rows, cols).");

  m.def(
      "mel_project",
      [](const FArr& S, const FArr& weights, int num_threads) {
        check_ndim(S, 3, "S");
        fe::MelBank bank = bank_from(weights, static_cast<int>(S.shape(1)));
        const long batch = S.shape(0);
        const int frames = static_cast<int>(S.shape(2));
        FArr out({S.shape(0), static_cast<py::ssize_t>(bank.n_mels), S.shape(2)});
        const float* in = S.data();
        float* o = out.mutable_data();
        {
          py::gil_scoped_release nogil;
          fe::mel_project_run(bank, in, batch, frames, o, num_threads);
        }
        return out;
      },
      py::arg("S"), py::arg("weights"), py::arg("num_threads") = 0,
      "weights @ S over (batch, bins, frames) with a sparse mel bank -> (batch, n_mels, frames).");

  m.def(
      "scale",
      [](const FArr& x, const std::string& scale, bool ref_max, float ref, float amin,
         std::optional<float> top_db, float log_lo, float log_hi, int num_threads) {
        check_ndim(x, 2, "x");
        fe::ScaleSpec s = scale_spec(scale, ref_max, ref, amin, top_db, log_lo, log_hi);
        FArr out({x.shape(0), x.shape(1)});
        std::copy(x.data(), x.data() + x.size(), out.mutable_data());
        float* o = out.mutable_data();
        const long batch = x.shape(0), count = x.shape(1);
        {
          py::gil_scoped_release nogil;
          fe::scale_run(s, o, batch, count, num_threads);
        }
        return out;
      },
      py::arg("x"), py::arg("scale"), py::arg("ref_max"), py::arg("ref"), py::arg("amin"),
      py::arg("top_db"), py::arg("log_lo"), py::arg("log_hi"), py::arg("num_threads") = 0,
      "dB / log scaling of (batch, cells), each row one example.");
}

}  // namespace tf::bindings
