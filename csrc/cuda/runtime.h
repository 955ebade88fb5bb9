// Host-side CUDA runtime queries and error checking for the _cuda module.
#pragma once

#include <string>

namespace tf::cuda {

int device_count();
int runtime_version();
int driver_version();
std::string status();
std::string compiled_architectures();

// Throws std::runtime_error naming `what` (a kernel or call) when err != 0.
void check(int err, const char* what);

}  // namespace tf::cuda
