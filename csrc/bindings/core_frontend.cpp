#include "bindings/binders.h"

namespace tf::bindings {

// Filled by the frontends work (issue 3): stft, mel filters, hpss, presets.
void bind_frontend(pybind11::module_& m) { (void)m; }

}  // namespace tf::bindings
