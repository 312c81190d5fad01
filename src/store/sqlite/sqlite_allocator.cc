#include "store/sqlite/sqlite_allocator.h"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cstdlib>
#include <cstring>

namespace tally::sqlite_allocator {
namespace {

// Every block starts with its usable size; SQLite gets the address after it.
// malloc's 16-byte alignment plus 8 leaves the 8 SQLite requires.
constexpr size_t kHeader = 8;

constexpr size_t kSmallStep = 16;
constexpr size_t kSmallLimit = 128;
constexpr size_t kSmallClasses = kSmallLimit / kSmallStep;  // 16, 32, ..., 128
// Above 128: four classes in each (2^e, 2^(e+1)], for e = 7 .. 15.
constexpr size_t kClasses =
    kSmallClasses + 4 * (std::bit_width(kMaxPooledSize - 1) - std::bit_width(kSmallLimit - 1));

// What a thread keeps of one class: up to this many bytes, and at least a
// few blocks of the large classes. Bounds a thread's idle memory at about
// kClasses * kCachedBytesPerClass (~3 MiB with the large classes' minimum)
// however SQLite's use moves.
constexpr size_t kCachedBytesPerClass = size_t{64} * 1024;
constexpr uint32_t kMinCachedBlocks = 4;

size_t ClassOf(size_t n) {
  if (n <= kSmallLimit) return n == 0 ? 0 : (n - 1) / kSmallStep;
  size_t e = std::bit_width(n - 1) - 1;  // 2^e < n <= 2^(e+1)
  size_t quarter = ((n - 1) - (size_t{1} << e)) >> (e - 2);
  return kSmallClasses + 4 * (e - 7) + quarter;
}

size_t ClassSize(size_t c) {
  if (c < kSmallClasses) return (c + 1) * kSmallStep;
  size_t e = (c - kSmallClasses) / 4 + 7;
  size_t quarter = (c - kSmallClasses) % 4;
  return (size_t{1} << e) + ((quarter + 1) << (e - 2));
}

uint32_t CacheCap(size_t c) {
  return std::max<uint32_t>(kMinCachedBlocks,
                            static_cast<uint32_t>(kCachedBytesPerClass / ClassSize(c)));
}

// Plain data, so that it needs no constructor or destructor of its own and
// stays usable while the thread's other thread_local objects are destroyed.
struct FreeBlock {
  FreeBlock* next;
};
struct ThreadCache {
  FreeBlock* head[kClasses];
  uint32_t count[kClasses];
  bool drain_registered;
  bool exiting;  // the drain ran: frees go straight to free()
};
thread_local ThreadCache cache;

// Returns the thread's cached blocks to malloc when the thread exits.
struct CacheDrain {
  ~CacheDrain() {
    cache.exiting = true;
    for (size_t c = 0; c < kClasses; ++c) {
      while (FreeBlock* block = cache.head[c]) {
        cache.head[c] = block->next;
        std::free(reinterpret_cast<char*>(block) - kHeader);
      }
      cache.count[c] = 0;
    }
  }
};

void RegisterDrain() {
  thread_local CacheDrain drain;  // constructed here, destroyed at thread exit
  (void)drain;
  cache.drain_registered = true;
}

size_t& HeaderOf(void* p) { return *reinterpret_cast<size_t*>(static_cast<char*>(p) - kHeader); }

void* Fresh(size_t size) {
  void* raw = std::malloc(kHeader + size);
  if (raw == nullptr) return nullptr;
  *static_cast<size_t*>(raw) = size;
  return static_cast<char*>(raw) + kHeader;
}

void* Malloc(int n) {
  if (n <= 0) return nullptr;
  size_t size = RoundUp(static_cast<size_t>(n));
  if (size <= kMaxPooledSize && !cache.exiting) {
    size_t c = ClassOf(size);
    if (FreeBlock* block = cache.head[c]) {
      cache.head[c] = block->next;
      --cache.count[c];
      return block;
    }
  }
  return Fresh(size);
}

void Free(void* p) {
  if (p == nullptr) return;
  size_t size = HeaderOf(p);
  if (size <= kMaxPooledSize && !cache.exiting) {
    size_t c = ClassOf(size);
    if (cache.count[c] < CacheCap(c)) {
      if (!cache.drain_registered) RegisterDrain();
      auto* block = static_cast<FreeBlock*>(p);
      block->next = cache.head[c];
      cache.head[c] = block;
      ++cache.count[c];
      return;
    }
  }
  std::free(static_cast<char*>(p) - kHeader);
}

int Size(void* p) { return p == nullptr ? 0 : static_cast<int>(HeaderOf(p)); }

int Roundup(int n) { return n <= 0 ? 0 : static_cast<int>(RoundUp(static_cast<size_t>(n))); }

// SQLite's contract: on failure return nullptr and leave `p` as it was.
void* Realloc(void* p, int n) {
  if (n <= 0) return nullptr;
  size_t old_size = HeaderOf(p);
  size_t new_size = RoundUp(static_cast<size_t>(n));
  if (new_size == old_size) return p;
  if (old_size > kMaxPooledSize && new_size > kMaxPooledSize) {
    void* raw = std::realloc(static_cast<char*>(p) - kHeader, kHeader + new_size);
    if (raw == nullptr) return nullptr;
    *static_cast<size_t*>(raw) = new_size;
    return static_cast<char*>(raw) + kHeader;
  }
  void* q = Malloc(n);
  if (q == nullptr) return nullptr;
  std::memcpy(q, p, std::min(old_size, new_size));
  Free(p);
  return q;
}

int Init(void*) { return SQLITE_OK; }
void Shutdown(void*) {}

bool TryInstall() {
  sqlite3_mem_methods methods = {Malloc, Free, Realloc, Size, Roundup, Init, Shutdown, nullptr};
  if (sqlite3_config(SQLITE_CONFIG_MALLOC, &methods) != SQLITE_OK) return false;
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  return true;
}

}  // namespace

size_t RoundUp(size_t n) {
  if (n > kMaxPooledSize) return (n + 7) & ~size_t{7};
  return ClassSize(ClassOf(n));
}

bool Install() {
  static const bool installed = TryInstall();  // once, and thread-safely
  return installed;
}

}  // namespace tally::sqlite_allocator
