// 64-byte aligned float buffers for the lane arrays of the kernels.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <new>
#include <vector>

namespace tf::frontend {

template <class T>
struct AlignedAllocator {
  using value_type = T;
  AlignedAllocator() = default;
  template <class U>
  AlignedAllocator(const AlignedAllocator<U>&) {}
  T* allocate(std::size_t n) {
    std::size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = std::aligned_alloc(64, bytes == 0 ? 64 : bytes);
    if (!p) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t) { std::free(p); }
  template <class U>
  bool operator==(const AlignedAllocator<U>&) const { return true; }
  template <class U>
  bool operator!=(const AlignedAllocator<U>&) const { return false; }
};

using FloatBuffer = std::vector<float, AlignedAllocator<float>>;

// Grow (never shrink) a buffer to at least n floats; contents are unspecified.
inline float* ensure(FloatBuffer& b, std::size_t n) {
  if (b.size() < n) b.resize(n);
  return b.data();
}

inline int round_up(int x, int to) { return (x + to - 1) / to * to; }

}  // namespace tf::frontend
