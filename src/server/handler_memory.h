// Memory for a connection's asynchronous operations, kept with the
// connection, so that a read or a write does not cost a heap allocation.
//
// Asio allocates every pending operation (the socket op, with the
// completion handler inside it) through the handler's associated allocator.
// The default one caches a single block per thread, which a network thread
// serving many connections, each with an operation pending, keeps missing.
// This is the pattern of Asio's own "allocation" example (Boost 1.74 has no
// bind_allocator yet).
//
// Threads: not thread-safe. A connection's operations use its memories on
// its network thread only; a memory used from two threads needs its uses
// ordered by a lock (see SessionHost::QueueAnswer).
#pragma once

#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace tally::http {

// Room for one operation at a time (a connection reads, and writes, one
// thing at a time); a second one, or a larger one, falls back to the heap.
// Asio releases an operation's memory before it calls its handler, so the
// handler can start the next operation in the same memory.
class HandlerMemory {
 public:
  HandlerMemory() = default;
  HandlerMemory(const HandlerMemory&) = delete;
  HandlerMemory& operator=(const HandlerMemory&) = delete;

  void* Allocate(std::size_t size) {
    if (!in_use_ && size <= sizeof(storage_)) {
      in_use_ = true;
      return storage_;
    }
    return ::operator new(size);
  }
  void Deallocate(void* pointer) {
    if (pointer == storage_) {
      in_use_ = false;
    } else {
      ::operator delete(pointer);
    }
  }

 private:
  // A Beast read or write on a basic_stream with its handler takes ~300-500
  // bytes.
  alignas(std::max_align_t) unsigned char storage_[1024];
  bool in_use_ = false;
};

// The standard allocator interface over a HandlerMemory.
template <typename T>
class HandlerAllocator {
 public:
  using value_type = T;

  explicit HandlerAllocator(HandlerMemory& memory) : memory_(&memory) {}
  template <typename U>
  HandlerAllocator(
      const HandlerAllocator<U>& other) noexcept  // NOLINT(google-explicit-constructor)
      : memory_(other.memory_) {}

  T* allocate(std::size_t n) const { return static_cast<T*>(memory_->Allocate(sizeof(T) * n)); }
  void deallocate(T* pointer, std::size_t) const { memory_->Deallocate(pointer); }

  template <typename U>
  bool operator==(const HandlerAllocator<U>& other) const noexcept {
    return memory_ == other.memory_;
  }

 private:
  template <typename>
  friend class HandlerAllocator;
  HandlerMemory* memory_;
};

// A completion handler whose operation is allocated from `memory`.
template <typename Handler>
class HandlerWithMemory {
 public:
  using allocator_type = HandlerAllocator<Handler>;

  HandlerWithMemory(HandlerMemory& memory, Handler handler)
      : memory_(memory), handler_(std::move(handler)) {}

  allocator_type get_allocator() const noexcept { return allocator_type(memory_); }

  template <typename... Args>
  void operator()(Args&&... args) {
    handler_(std::forward<Args>(args)...);
  }

 private:
  HandlerMemory& memory_;
  Handler handler_;
};

// `memory` must outlive the operation: keep it in the object the handler
// keeps alive.
template <typename Handler>
HandlerWithMemory<std::decay_t<Handler>> WithMemory(HandlerMemory& memory, Handler&& handler) {
  return HandlerWithMemory<std::decay_t<Handler>>(memory, std::forward<Handler>(handler));
}

}  // namespace tally::http
