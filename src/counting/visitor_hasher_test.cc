#include "counting/visitor_hasher.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "common/local_day.h"
#include "common/temp_dir.h"
#include "store/sqlite/sqlite_store.h"

namespace tally {
namespace {

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) (out += kHex[data[i] >> 4]) += kHex[data[i] & 0xf];
  return out;
}

// What every Tally so far has stored as a visitor: OpenSSL's one-shot
// HMAC-SHA256 of "site\nip\nuser agent" under the day's salt, first 16 bytes
// in hex.
std::string OpenSslVisitorHash(std::string_view salt, std::string_view site, std::string_view ip,
                               std::string_view user_agent) {
  std::string message;
  message.append(site).append("\n").append(ip).append("\n").append(user_agent);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), salt.data(), static_cast<int>(salt.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  EXPECT_EQ(mac_len, 32u);
  return Hex(mac, 16);
}

constexpr char kToday[] = "2026-11-25";
const int64_t kNow = UtcDayStart(kToday) + int64_t{12} * 3600;

// The salts come from a real SQLite store in a temp dir, as in `tally serve`.
class VisitorHasherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = SqliteStore::Open(dir_.File("t.db"), Durability::kRelaxed);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
  }

  // The salt the store holds for `day` (the first one written wins).
  std::string Salt(std::string_view day) {
    Result<std::string> salt = store_->DailySalt(day, "not-the-first");
    EXPECT_TRUE(salt.ok()) << salt.status().ToString();
    return salt.ok() ? *salt : "";
  }

  TempDir dir_{"tally-hasher"};  // declared first: removed after the store closes
  std::unique_ptr<SqliteStore> store_;
};

// Hash is HMAC-SHA256 of the joined parts under each day's salt, in any
// order of days: what a one-shot HMAC gives.
TEST_F(VisitorHasherTest, HashIsOpenSslHmacOfTheJoinedParts) {
  VisitorHasher hasher(*store_);
  ASSERT_TRUE(hasher.Refresh(kNow).ok());
  const std::string long_agent(300, 'M');  // several SHA-256 blocks
  struct Input {
    std::string_view site, ip, user_agent;
  } inputs[] = {
      {"example.com", "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Firefox/120.0"},
      {"example.com", "2001:db8::1", long_agent},
      {"a", "", ""},
      {"", "", ""},
      {"blog.example.org", "198.51.100.2", "Ünïcode \xF0\x9F\x98\x80 agent"},
  };
  const std::string days[] = {AddDays(kToday, -1), kToday, AddDays(kToday, 1)};
  for (int round = 0; round < 2; ++round) {
    for (const std::string& day : days) {
      const std::string& salt = Salt(day);
      for (const Input& in : inputs) {
        std::string expected = OpenSslVisitorHash(salt, in.site, in.ip, in.user_agent);
        EXPECT_EQ(hasher.Hash(day, in.site, in.ip, in.user_agent), expected)
            << day << " " << in.site << " " << in.ip << " " << in.user_agent;
        char out[VisitorHasher::kHashSize];
        ASSERT_TRUE(hasher.Hash(day, in.site, in.ip, in.user_agent,
                                std::span<char, VisitorHasher::kHashSize>(out)));
        EXPECT_EQ(std::string_view(out, sizeof out), expected);
      }
    }
  }
}

// One value pinned outright (Python's hmac module gave it), so that a change
// to the hash shows even if the test's own HMAC were to change alike.
TEST_F(VisitorHasherTest, HashOfFixedInputsIsPinned) {
  // Written before the hasher's Refresh, so it is the salt Refresh finds.
  ASSERT_TRUE(
      store_->DailySalt(kToday, "a3f1c2e4b5d6978812345678deadbeefcafebabe0011223344556677889900aa")
          .ok());
  VisitorHasher hasher(*store_);
  ASSERT_TRUE(hasher.Refresh(kNow).ok());
  EXPECT_EQ(hasher.Hash(kToday, "example.com", "203.0.113.7",
                        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"),
            "cf979c2c082ca9133f3331144534046d");
}

TEST_F(VisitorHasherTest, PartsCannotBeShiftedAcrossTheSeparator) {
  VisitorHasher hasher(*store_);
  ASSERT_TRUE(hasher.Refresh(kNow).ok());
  EXPECT_NE(hasher.Hash(kToday, "a", "bc", "d"), hasher.Hash(kToday, "ab", "c", "d"));
  EXPECT_NE(hasher.Hash(kToday, "a", "b", "cd"), hasher.Hash(kToday, "a", "bc", "d"));
}

TEST_F(VisitorHasherTest, UnloadedDayIsNoVisitor) {
  VisitorHasher hasher(*store_);
  ASSERT_TRUE(hasher.Refresh(kNow).ok());
  EXPECT_EQ(hasher.Hash(AddDays(kToday, 2), "example.com", "203.0.113.7", "ua"), "");
  char out[VisitorHasher::kHashSize] = {'x'};
  EXPECT_FALSE(hasher.Hash(AddDays(kToday, -2), "example.com", "203.0.113.7", "ua",
                           std::span<char, VisitorHasher::kHashSize>(out)));
  EXPECT_EQ(out[0], 'x');
}

// Threads hashing under different salts at once must not disturb each other.
TEST_F(VisitorHasherTest, ThreadsHashingOtherDaysAgree) {
  VisitorHasher hasher(*store_);
  ASSERT_TRUE(hasher.Refresh(kNow).ok());
  const std::string days[] = {AddDays(kToday, -1), kToday, AddDays(kToday, 1)};
  std::map<std::string, std::string> expected;
  for (const std::string& day : days) {
    expected[day] = OpenSslVisitorHash(Salt(day), "example.com", "203.0.113.7", "ua");
  }
  std::vector<std::thread> threads;
  threads.reserve(4);
  std::vector<int> wrong(4, 0);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 500; ++i) {
        const std::string& day = days[(t + i) % 3];
        if (hasher.Hash(day, "example.com", "203.0.113.7", "ua") != expected.at(day)) ++wrong[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(wrong, std::vector<int>(4, 0));
}

}  // namespace
}  // namespace tally
