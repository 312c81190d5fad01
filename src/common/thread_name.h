// NameThisThread: names the calling thread, so that `top -H`, `ps -L`, perf
// and gdb tell the server's threads apart ("tally-writer", "tally-net", ...)
// and an operator can see which part is busy.
#pragma once

#include <pthread.h>

#include <string_view>

namespace tally {

// Linux keeps at most 15 bytes of a thread's name; a longer one is cut there.
inline void NameThisThread(std::string_view name) {
  char truncated[16] = {};
  name.copy(truncated, sizeof(truncated) - 1);
  (void)pthread_setname_np(pthread_self(), truncated);
}

}  // namespace tally
