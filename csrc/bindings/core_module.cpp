// The `timbrefast._core` extension: the CPU core. It never includes torch;
// every entry point takes numpy buffers and releases the GIL while it computes.
#include "bindings/binders.h"

PYBIND11_MODULE(_core, m) {
  m.doc() = "timbrefast CPU core (numpy buffers in, numpy buffers out)";
  tf::bindings::bind_common(m);
  tf::bindings::bind_frontend(m);
  tf::bindings::bind_contrastive(m);
  tf::bindings::register_search(m);
  tf::bindings::register_frontend_backward(m);
}
