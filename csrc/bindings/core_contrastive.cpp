#include "bindings/binders.h"

namespace tf::bindings {

// Filled by the losses work (issue 4): tiled InfoNCE, margin and triplet losses.
void bind_contrastive(pybind11::module_& m) { (void)m; }

}  // namespace tf::bindings
