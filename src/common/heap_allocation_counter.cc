#include "common/heap_allocation_counter.h"

#include <atomic>
#include <cstddef>

extern "C" {
// glibc's own allocator entry points, which the replacements below call.
// NOLINTBEGIN(bugprone-reserved-identifier): the names are glibc's
void* __libc_malloc(size_t);
void* __libc_calloc(size_t, size_t);
void* __libc_realloc(void*, size_t);
// NOLINTEND(bugprone-reserved-identifier)
}

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

extern "C" void* malloc(size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(n);
}
extern "C" void* calloc(size_t n, size_t m) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_calloc(n, m);
}
extern "C" void* realloc(void* p, size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_realloc(p, n);
}

namespace tally {

uint64_t HeapAllocations() { return g_allocations.load(std::memory_order_relaxed); }

}  // namespace tally
