#include <pybind11/pybind11.h>

namespace tf::cuda_bindings {

// Filled by the CUDA work (issue 5).
void bind_frontend(pybind11::module_& m) { (void)m; }

}  // namespace tf::cuda_bindings
