#include "common/thread_name.h"

#include <pthread.h>

#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace tally {
namespace {

std::string NameOfThisThread() {
  char name[64] = {};
  EXPECT_EQ(pthread_getname_np(pthread_self(), name, sizeof(name)), 0);
  return name;
}

// The name a new thread has after calling NameThisThread(name).
std::string NameInNewThread(const char* name) {
  std::string seen;
  std::thread([&] {
    NameThisThread(name);
    seen = NameOfThisThread();
  }).join();
  return seen;
}

TEST(NameThisThreadTest, NamesTheCallingThreadOnly) {
  const std::string before = NameOfThisThread();
  EXPECT_EQ(NameInNewThread("tally-writer"), "tally-writer");
  EXPECT_EQ(NameOfThisThread(), before);
}

TEST(NameThisThreadTest, CutsALongNameToFifteenBytes) {
  EXPECT_EQ(NameInNewThread("tally-a-name-far-too-long"), "tally-a-name-fa");
}

}  // namespace
}  // namespace tally
