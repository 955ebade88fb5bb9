// Per-thread scratch memory with a bound: a workspace belongs to one thread (usually a
// thread_local) but is registered globally, so that
//   - after each use, its owner frees it when it holds more than the high-water mark
//     (TIMBREFAST_WORKSPACE_MB, default 64 MiB per thread), and
//   - release_memory() frees every workspace not in use right now, from any thread.
// A freed workspace grows again on its next use.
#pragma once

#include <cstddef>
#include <mutex>

namespace tf {

std::size_t release_memory();

// Use WorkspaceOf<T> below. A direct subclass must call enroll() last thing in its
// constructor and unregister() first thing in its destructor: release_memory() calls the
// virtual bytes()/release() of every registered workspace from any thread, so a workspace
// is registered only while it is whole (registering in this base constructor would let
// another thread call a pure virtual of a half-built object).
class Workspace {
 public:
  Workspace();
  virtual ~Workspace();
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  // Bytes held now (the buffers whose size follows the input).
  virtual std::size_t bytes() const = 0;
  // Free all buffers.
  virtual void release() = 0;

  // The owner's claim for one call: release_memory() skips the workspace meanwhile, and
  // the destructor frees it when it is above the high-water mark.
  class Use {
   public:
    explicit Use(Workspace& w);
    ~Use();
    Use(const Use&) = delete;
    Use& operator=(const Use&) = delete;

   private:
    Workspace& w_;
  };

 protected:
  void enroll();      // add to the registry (the object is fully constructed)
  void unregister();  // remove from it (before any member is destroyed)

 private:
  friend std::size_t release_memory();
  std::recursive_mutex mu_;  // recursive: a nested use in the owner thread must not deadlock
  int depth_ = 0;            // nested uses by the owner (changed under mu_)
  bool registered_ = false;
};

// A registered workspace holding a T with `std::size_t bytes() const` and `void release()`,
// typically `static thread_local WorkspaceOf<T> w;`.
template <class T>
class WorkspaceOf final : public Workspace {
 public:
  WorkspaceOf() { enroll(); }                // after `value` is constructed
  ~WorkspaceOf() override { unregister(); }  // before `value` is destroyed
  std::size_t bytes() const override { return value.bytes(); }
  void release() override { value.release(); }
  T value;
};

// The per-thread high-water mark in bytes (TIMBREFAST_WORKSPACE_MB, read once).
std::size_t workspace_high_water();

// Frees every idle workspace and returns freed heap memory to the OS where the C library
// can (glibc malloc_trim). Returns the bytes of workspace freed. Safe at any time, also
// while other threads are inside core calls (their workspaces are left alone).
std::size_t release_memory();

}  // namespace tf
