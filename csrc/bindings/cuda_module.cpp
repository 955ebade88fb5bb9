// The `timbrefast._cuda` extension. Entry points take raw device pointers and
// the caller's cudaStream_t (as an integer); torch is never included. Importing
// it needs no GPU or driver: cudart is linked statically and loads the driver lazily.
#include <pybind11/pybind11.h>

#include "cuda/runtime.h"

namespace py = pybind11;

namespace tf::cuda_bindings {
void bind_frontend(py::module_& m);     // cuda_frontend.cpp: STFT, mel, HPSS, presets
void bind_contrastive(py::module_& m);  // cuda_contrastive.cpp: tiled InfoNCE
}

PYBIND11_MODULE(_cuda, m) {
  m.doc() = "timbrefast CUDA kernels (device pointers + the caller's stream)";
  m.def("device_count", &tf::cuda::device_count,
        "Number of usable CUDA devices (0 when no driver or device is present).");
  m.def("runtime_version", &tf::cuda::runtime_version, "CUDA runtime version, e.g. 13000.");
  m.def("driver_version", &tf::cuda::driver_version, "Driver's CUDA version, 0 when no driver.");
  m.def("status", &tf::cuda::status, "Why CUDA is or is not usable, in words.");
  m.def("compiled_architectures", &tf::cuda::compiled_architectures,
        "The architectures this module was compiled for.");
  tf::cuda_bindings::bind_frontend(m);
  tf::cuda_bindings::bind_contrastive(m);
}
