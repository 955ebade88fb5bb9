// Bindings of the CUDA frontend (issue 5). Arguments are device pointers (ints from
// torch's tensor.data_ptr()) and the caller's stream (torch.cuda.current_stream().cuda_stream);
// outputs and workspace are allocated by torch. python/timbrefast/_frontends_cuda.py
// validates everything before calling.
#include <pybind11/pybind11.h>

#include <cstdint>

#include "cuda/frontend.h"

namespace py = pybind11;

namespace tf::cuda_bindings {

void bind_frontend(py::module_& m) {
  m.attr("max_fft") = tf::cuda::kMaxGpuFft;
  m.def("frontend_work_floats", &tf::cuda::frontend_work_floats, py::arg("batch"), py::arg("n_fft"),
        py::arg("frames"), py::arg("channels"),
        "Floats of device workspace the fused frontend needs.");
  // The per-frontend part of the launch arguments (sizes, flags and the device constants:
  // window, mel bank and band ranges, owned by the caller on one device); built once per
  // frontend and device, then passed to every frontend() call.
  py::class_<tf::cuda::FrontendArgs>(m, "FrontendSpec",
                                     "A fused frontend's launch parameters on one device (keyword-only).")
      .def(py::init([](int n_fft, int hop, std::uintptr_t window, bool center, int pad_mode, float power,
                       std::uintptr_t mel, std::uintptr_t band_lo, std::uintptr_t band_hi, int n_mels, bool hpss,
                       int win_harm, int win_perc, float mask_power, bool mask_hard, float margin_harm,
                       float margin_perc, int scale, bool ref_max, float ref, float amin, bool has_top_db,
                       float top_db, float log_lo, float log_hi) {
             tf::cuda::FrontendArgs a;
             a.n_fft = n_fft;
             a.hop = hop;
             a.window = reinterpret_cast<const float*>(window);
             a.center = center;
             a.pad_mode = pad_mode;
             a.power = power;
             a.mel = reinterpret_cast<const float*>(mel);
             a.band_lo = reinterpret_cast<const int*>(band_lo);
             a.band_hi = reinterpret_cast<const int*>(band_hi);
             a.n_mels = n_mels;
             a.hpss = hpss;
             a.win_harm = win_harm;
             a.win_perc = win_perc;
             a.mask_power = mask_power;
             a.mask_hard = mask_hard;
             a.margin_harm = margin_harm;
             a.margin_perc = margin_perc;
             a.scale = scale;
             a.ref_max = ref_max;
             a.ref = ref;
             a.amin = amin;
             a.has_top_db = has_top_db;
             a.top_db = top_db;
             a.log_lo = log_lo;
             a.log_hi = log_hi;
             return a;
           }),
           py::kw_only(), py::arg("n_fft"), py::arg("hop"), py::arg("window"), py::arg("center"),
           py::arg("pad_mode"), py::arg("power"), py::arg("mel"), py::arg("band_lo"), py::arg("band_hi"),
           py::arg("n_mels"), py::arg("hpss"), py::arg("win_harm"), py::arg("win_perc"), py::arg("mask_power"),
           py::arg("mask_hard"), py::arg("margin_harm"), py::arg("margin_perc"), py::arg("scale"),
           py::arg("ref_max"), py::arg("ref"), py::arg("amin"), py::arg("has_top_db"), py::arg("top_db"),
           py::arg("log_lo"), py::arg("log_hi"))
      .def_property_readonly("n_fft", [](const tf::cuda::FrontendArgs& a) { return a.n_fft; })
      .def_property_readonly("channels", [](const tf::cuda::FrontendArgs& a) { return a.hpss ? 2 : 1; })
      .def_property_readonly("n_mels", [](const tf::cuda::FrontendArgs& a) { return a.n_mels; });
  m.def(
      "frontend",
      [](const tf::cuda::FrontendArgs& spec, std::uintptr_t y, long batch, long n, long frames, std::uintptr_t out,
         std::uintptr_t work, int device, std::uintptr_t stream) {
        tf::cuda::FrontendArgs a = spec;
        a.y = reinterpret_cast<const float*>(y);
        a.batch = batch;
        a.n = n;
        a.frames = frames;
        a.out = reinterpret_cast<float*>(out);
        a.work = reinterpret_cast<float*>(work);
        py::gil_scoped_release nogil;
        tf::cuda::frontend(a, device, stream);
      },
      py::arg("spec"), py::arg("y"), py::arg("batch"), py::arg("n"), py::arg("frames"), py::arg("out"),
      py::arg("work"), py::arg("device"), py::arg("stream"),
      "Fused frontend on the GPU: (batch, n) waveform -> (batch, channels, n_mels, frames), stream-ordered.");
}

}  // namespace tf::cuda_bindings
