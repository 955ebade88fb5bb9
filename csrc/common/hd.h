// Marks per-element math shared by the C++ core and the CUDA kernels.
// Headers that use TF_HD must stay free of std:: containers and exceptions so
// that nvcc can compile them for the device; the CPU tests exercise them on the host.
#pragma once

#if defined(__CUDACC__)
#define TF_HD __host__ __device__ __forceinline__
#else
#define TF_HD inline
#endif
