// One binder function per feature; core_module.cpp calls each of them.
// A feature adds its functions to the `_core` module in its own core_<feature>.cpp.
#pragma once

#include <pybind11/pybind11.h>

namespace tf::bindings {

void bind_common(pybind11::module_& m);       // core_common.cpp: version, threads, SIMD
void bind_frontend(pybind11::module_& m);     // core_frontend.cpp: stft, mel, hpss, presets
void bind_contrastive(pybind11::module_& m);  // core_contrastive.cpp: InfoNCE and friends
void register_search(pybind11::module_& m);   // core_search.cpp: exact top-k gallery search
void register_frontend_backward(pybind11::module_& m);  // core_frontend_backward.cpp: frontend gradients

}  // namespace tf::bindings
