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

TEST(NameThisThreadTest, NamesTheCallingThreadOnly) {
  const std::string before = NameOfThisThread();
  std::string seen;
  std::thread([&] {
    NameThisThread("tally-writer");
    seen = NameOfThisThread();
  }).join();
  EXPECT_EQ(seen, "tally-writer");
  EXPECT_EQ(NameOfThisThread(), before);
}

TEST(NameThisThreadTest, CutsALongNameToFifteenBytes) {
  std::string seen;
  std::thread([&] {
    NameThisThread("tally-a-name-far-too-long");
    seen = NameOfThisThread();
  }).join();
  EXPECT_EQ(seen, "tally-a-name-fa");
}

}  // namespace
}  // namespace tally
