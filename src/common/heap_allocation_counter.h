// HeapAllocations: how many times this process has called malloc, calloc or
// realloc, on any thread, from any library (operator new, SQLite, OpenSSL).
//
// For tests and benchmarks only: linking this in replaces the process's
// malloc, calloc and realloc with counting wrappers around glibc's own
// (__libc_malloc & co.). Never link it into a shipped binary. Does not work
// under AddressSanitizer, which replaces malloc itself: an ASan build does
// not build sqlite_allocator_test, and its tally_micro_bench crashes at start.
#pragma once

#include <cstdint>

namespace tally {

uint64_t HeapAllocations();

}  // namespace tally
