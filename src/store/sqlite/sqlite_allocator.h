// SqliteAllocator: the memory allocator Tally gives SQLite, so that running a
// prepared statement at steady state allocates nothing from the heap.
//
// Why: Debian's SQLite is built with SQLITE_OMIT_LOOKASIDE (PRAGMA
// compile_options), so every statement run mallocs and frees its cursors and
// record buffers: about 20 malloc calls per counter in each group commit,
// most of the hit path's heap traffic. This allocator plays the part of the
// missing lookaside: freed blocks go to per-thread free lists, one per size
// class, and the next request of that class takes one back. Blocks larger
// than kMaxPooledSize, and blocks beyond a list's cap, go to malloc/free.
//
// Thread safety: every function may be called from any thread (SQLite frees
// on one thread what it allocated on another; the block joins the freeing
// thread's list). A thread's lists are returned to malloc when it exits.
#pragma once

#include <cstddef>

namespace tally::sqlite_allocator {

// Makes this allocator SQLite's (SQLITE_CONFIG_MALLOC) and turns off SQLite's
// memory statistics (SQLITE_CONFIG_MEMSTATUS; Tally reads none, and they
// cost a global mutex per allocation). Must run before SQLite initialises,
// i.e. before the process opens its first connection; SqliteConnection::Open
// calls it. Returns whether this allocator is SQLite's: false if SQLite was
// initialised before the first call and keeps its own allocator (nothing
// breaks; it only allocates more). Idempotent and thread-safe.
bool Install();

// The size of the block that serves a request of `n` bytes (n >= 1): classes
// 16 bytes apart up to 128, then four per power of two (at most 25% unused)
// up to kMaxPooledSize; above it, `n` rounded up to 8.
constexpr size_t kMaxPooledSize = size_t{64} * 1024;
size_t RoundUp(size_t n);

}  // namespace tally::sqlite_allocator
