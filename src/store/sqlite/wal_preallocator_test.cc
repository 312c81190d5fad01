#include "store/sqlite/wal_preallocator.h"

#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/temp_dir.h"

namespace tally {
namespace {

constexpr int64_t kChunk = 64 << 10;
constexpr int64_t kLimit = 200 << 10;

class WalPreallocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    ASSERT_GE(fd_, 0);
  }
  void TearDown() override {
    if (fd_ >= 0) ::close(fd_);
  }

  int64_t Size() const { return static_cast<int64_t>(std::filesystem::file_size(path_)); }
  // What SQLite does: writes `bytes` of frames at `offset`.
  void WriteFrames(int64_t offset, int64_t bytes) {
    std::vector<char> data(static_cast<size_t>(bytes), 'f');
    ASSERT_EQ(::pwrite(fd_, data.data(), data.size(), offset), bytes);
  }
  std::string ReadAll() const {
    std::string data(static_cast<size_t>(Size()), '?');
    EXPECT_EQ(::pread(fd_, data.data(), data.size(), 0), static_cast<ssize_t>(data.size()));
    return data;
  }

  TempDir dir_{"tally-walpre"};
  std::string path_ = dir_.File("t.db-wal");
  int fd_ = -1;
};

TEST_F(WalPreallocatorTest, ReservesAChunkOfZerosPastTheEnd) {
  WriteFrames(0, 1000);
  WalPreallocator pre(kChunk, kLimit);
  ASSERT_TRUE(pre.BeforeCommit(fd_).ok());
  EXPECT_EQ(Size(), 1000 + kChunk);
  std::string data = ReadAll();
  EXPECT_EQ(data.substr(0, 1000), std::string(1000, 'f')) << "it wrote over frames";
  EXPECT_EQ(data.substr(1000), std::string(kChunk, '\0'));
}

TEST_F(WalPreallocatorTest, CommitsInsideTheReservationDoNotGrowTheFile) {
  WalPreallocator pre(kChunk, kLimit);
  ASSERT_TRUE(pre.BeforeCommit(fd_).ok());  // an empty, new WAL
  ASSERT_EQ(Size(), kChunk);
  for (int64_t offset = 0; offset + 1000 <= kChunk; offset += 1000) {
    ASSERT_TRUE(pre.BeforeCommit(fd_).ok());
    WriteFrames(offset, 1000);
    ASSERT_EQ(Size(), kChunk) << "at offset " << offset;
  }
}

TEST_F(WalPreallocatorTest, ReservesAgainOnceSqliteWritesPastTheReservation) {
  WalPreallocator pre(kChunk, kLimit);
  ASSERT_TRUE(pre.BeforeCommit(fd_).ok());
  WriteFrames(kChunk - 100, 300);  // a commit that did not fit
  ASSERT_EQ(Size(), kChunk + 200);
  ASSERT_TRUE(pre.BeforeCommit(fd_).ok());
  EXPECT_EQ(Size(), 2 * kChunk + 200);
  EXPECT_EQ(ReadAll().substr(kChunk - 100, 300), std::string(300, 'f'));
}

TEST_F(WalPreallocatorTest, NeverExtendsPastTheLimit) {
  WalPreallocator pre(kChunk, kLimit);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(pre.BeforeCommit(fd_).ok());
    WriteFrames(Size(), 10);  // always past the end, as if the reservation were used up
  }
  // Extended to 64 K, 128 K + 10, 192 K + 20, then only to the limit; the
  // appends of that and the six later commits (7 x 10 bytes) go past it.
  EXPECT_EQ(Size(), kLimit + 70) << "extended past the limit";
}

TEST_F(WalPreallocatorTest, ReservesAgainAfterTheWalWasTruncated) {
  WalPreallocator pre(kChunk, kLimit);
  ASSERT_TRUE(pre.BeforeCommit(fd_).ok());
  ASSERT_EQ(::ftruncate(fd_, 0), 0);  // PRAGMA wal_checkpoint(TRUNCATE)
  ASSERT_TRUE(pre.BeforeCommit(fd_).ok());
  EXPECT_EQ(Size(), kChunk);
}

TEST_F(WalPreallocatorTest, StopsForGoodAfterAnError) {
  WalPreallocator pre(kChunk, kLimit);
  int read_only = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(read_only, 0);
  Status s = pre.BeforeCommit(read_only);  // pwrite fails: EBADF
  ::close(read_only);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(pre.BeforeCommit(fd_).ok());
  EXPECT_EQ(Size(), 0) << "a stopped preallocator wrote";
}

}  // namespace
}  // namespace tally
