#include "store/sqlite/sqlite_allocator.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/heap_allocation_counter.h"
#include "common/temp_dir.h"
#include "store/sqlite/sqlite_connection.h"
#include "store/sqlite/sqlite_store.h"

namespace tally {
namespace {

using sqlite_allocator::kMaxPooledSize;
using sqlite_allocator::RoundUp;

// The first test to run: nothing in this process has touched SQLite yet.
TEST(SqliteAllocatorTest, OpeningAConnectionInstallsIt) {
  auto conn = SqliteConnection::Open(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, 1000);
  ASSERT_TRUE(conn.ok()) << conn.status().ToString();
  EXPECT_TRUE(sqlite_allocator::Install());
  // SQLite now asks it how large its blocks are.
  void* p = sqlite3_malloc(100);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(sqlite3_msize(p), RoundUp(100));
  sqlite3_free(p);
}

TEST(SqliteAllocatorTest, SizeClassesFitTightly) {
  size_t previous = 0;
  for (size_t n = 1; n <= kMaxPooledSize + 100; ++n) {
    size_t size = RoundUp(n);
    ASSERT_GE(size, n);
    ASSERT_EQ(size % 8, 0u) << n;
    ASSERT_GE(size, previous) << n;       // monotonic
    ASSERT_EQ(RoundUp(size), size) << n;  // a class size is its own class
    if (n > 128) {
      ASSERT_LE(size, n + n / 4) << n;  // at most 25% unused
    } else {
      ASSERT_LT(size - n, 16u) << n;
    }
    previous = size;
  }
  EXPECT_EQ(RoundUp(kMaxPooledSize), kMaxPooledSize);
  EXPECT_EQ(RoundUp(kMaxPooledSize + 1), kMaxPooledSize + 8);
}

// Blocks of every size keep their contents through realloc, whether it stays
// in its class, moves between classes or goes to and from the large blocks.
TEST(SqliteAllocatorTest, ReallocKeepsContents) {
  ASSERT_TRUE(sqlite_allocator::Install());
  for (int from : {1, 17, 200, 4100, 70000}) {
    for (int to : {1, 16, 300, 5000, 65536, 100000, 200000}) {
      auto* p = static_cast<unsigned char*>(sqlite3_malloc(from));
      ASSERT_NE(p, nullptr);
      for (int i = 0; i < from; ++i) p[i] = static_cast<unsigned char>(i * 7 + from);
      auto* q = static_cast<unsigned char*>(sqlite3_realloc(p, to));
      ASSERT_NE(q, nullptr);
      EXPECT_GE(sqlite3_msize(q), static_cast<sqlite3_uint64>(to));
      for (int i = 0; i < std::min(from, to); ++i) {
        ASSERT_EQ(q[i], static_cast<unsigned char>(i * 7 + from)) << from << " -> " << to;
      }
      sqlite3_free(q);
    }
  }
}

// A freed block serves the next request of its class on that thread: no
// malloc. A block freed on another thread joins that thread's lists and
// serves it next; a thread that exits returns its lists to malloc.
TEST(SqliteAllocatorTest, FreedBlocksAreReusedAndMayCrossThreads) {
  ASSERT_TRUE(sqlite_allocator::Install());
  sqlite3_free(sqlite3_malloc(700));  // one block of 700's class in this thread's list
  uint64_t before = HeapAllocations();
  for (int i = 0; i < 1000; ++i) sqlite3_free(sqlite3_malloc(700 - i % 60));  // 641..700: one class
  EXPECT_EQ(HeapAllocations() - before, 0u);

  std::vector<void*> blocks;
  blocks.reserve(2000);
  for (int i = 0; i < 2000; ++i) blocks.push_back(sqlite3_malloc(8 + i % 3000));
  uint64_t freer_mallocs = 0;
  int reused = 0;
  std::thread freer([&] {
    for (void* p : blocks) sqlite3_free(p);
    // The first 100 blocks' sizes again (8..107 bytes): served from the
    // blocks this thread just freed, all of them allocated on the other one.
    std::vector<void*> again;
    again.reserve(100);
    uint64_t start = HeapAllocations();
    for (int i = 0; i < 100; ++i) again.push_back(sqlite3_malloc(8 + i));
    freer_mallocs = HeapAllocations() - start;
    for (void* p : again) {
      reused += std::find(blocks.begin(), blocks.end(), p) != blocks.end() ? 1 : 0;
      std::memset(p, 0xab, 8);  // usable
      sqlite3_free(p);
    }
  });
  freer.join();  // exits with a list of cached blocks, which it returns to malloc
  EXPECT_EQ(freer_mallocs, 0u);
  EXPECT_EQ(reused, 100);
}

// The point of the allocator: a counter's hits applied again and again, after
// a warm-up, do not touch the heap (about 20 mallocs a commit without it).
TEST(SqliteAllocatorTest, SteadyHitsOnAStoreAllocateNothing) {
  TempDir dir("tally-alloc");
  {
    auto store = SqliteStore::Open(dir.File("t.db"), Durability::kStrict);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    ASSERT_TRUE(sqlite_allocator::Install());
    const std::string_view visitors[] = {"0123456789abcdef0123456789abcdef"};
    HitDelta deltas[] = {{"demo", "/", "2026-11-26", 3, visitors},
                         {"demo", "/blog/post", "2026-11-26", 1, visitors}};
    CounterTotals totals[2];
    auto commit = [&] {
      Status s = (*store)->ApplyHits(deltas, totals);
      ASSERT_TRUE(s.ok()) << s.ToString();
      ASSERT_TRUE((*store)->Sync().ok());
    };
    for (int i = 0; i < 100; ++i) commit();
    uint64_t before = HeapAllocations();
    for (int i = 0; i < 200; ++i) commit();
    EXPECT_EQ(HeapAllocations() - before, 0u);
    EXPECT_EQ(totals[0].hits, 900);
    EXPECT_EQ(totals[1].today_hits, 300);
  }
}

}  // namespace
}  // namespace tally
