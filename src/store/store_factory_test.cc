#include "store/store_factory.h"

#include <stdlib.h>

#include <filesystem>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/temp_dir.h"
#include "store/sqlite/sqlite_store.h"

namespace tally {
namespace {

using ::testing::HasSubstr;

class StoreFactoryTest : public ::testing::Test {
 protected:
  TempDir dir_{"tally-factory"};
};

TEST_F(StoreFactoryTest, SqliteSpecOpensAWorkingStoreAndCreatesDirectories) {
  const std::filesystem::path db = dir_.path() / "a" / "b" / "tally.db";
  Result<std::unique_ptr<Store>> store = OpenStore("sqlite:" + db.string(), Durability::kStrict);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(db));
  EXPECT_TRUE((*store)->Ping().ok());
  HitDelta delta{"s", "/", "2024-01-01", 2, {}};
  CounterTotals totals;
  ASSERT_TRUE((*store)->ApplyHits({&delta, 1}, {&totals, 1}).ok());
  EXPECT_EQ(totals.hits, 2);
}

TEST_F(StoreFactoryTest, DurabilityIsPassedToTheBackend) {
  for (Durability d : {Durability::kStrict, Durability::kRelaxed}) {
    Result<std::unique_ptr<Store>> store = OpenStore("sqlite:" + dir_.File("d.db"), d);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto* sqlite = dynamic_cast<SqliteStore*>(store->get());
    ASSERT_NE(sqlite, nullptr);
    EXPECT_EQ(sqlite->durability(), d);
  }
}

TEST_F(StoreFactoryTest, RelativePathIsRelativeToWorkingDirectory) {
  const std::filesystem::path saved = std::filesystem::current_path();
  std::filesystem::current_path(dir_.path());
  Result<std::unique_ptr<Store>> store = OpenStore("sqlite:data/tally.db", Durability::kStrict);
  std::filesystem::current_path(saved);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "data" / "tally.db"));
}

TEST_F(StoreFactoryTest, BareFileNameNeedsNoDirectory) {
  const std::filesystem::path saved = std::filesystem::current_path();
  std::filesystem::current_path(dir_.path());
  Result<std::unique_ptr<Store>> store = OpenStore("sqlite:plain.db", Durability::kRelaxed);
  std::filesystem::current_path(saved);
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(dir_.path() / "plain.db"));
}

TEST_F(StoreFactoryTest, EmptySqlitePathIsInvalid) {
  Result<std::unique_ptr<Store>> store = OpenStore("sqlite:", Durability::kStrict);
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr("path"));
}

TEST_F(StoreFactoryTest, LaterBackendsAreNamedButNotBuilt) {
  for (const char* spec : {"postgres://localhost/tally"}) {
    Result<std::unique_ptr<Store>> store = OpenStore(spec, Durability::kStrict);
    EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(store.status().message(), HasSubstr("not built in this version")) << spec;
    EXPECT_THAT(store.status().message(), HasSubstr("sqlite:PATH")) << spec;
  }
}

// The DynamoDB store itself is tested against dynalite in tests/dynamodb.
TEST_F(StoreFactoryTest, DynamoDbSpecNeedsATableAndTheAwsEnvironment) {
  EXPECT_EQ(OpenStore("dynamodb:", Durability::kStrict).status().code(),
            StatusCode::kInvalidArgument);
  for (const char* name :
       {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_DEFAULT_REGION"}) {
    unsetenv(name);
  }
  Result<std::unique_ptr<Store>> store = OpenStore("dynamodb:tally", Durability::kStrict);
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr("AWS_ACCESS_KEY_ID"));
}

TEST_F(StoreFactoryTest, UnknownSchemeListsSupportedOnes) {
  for (const char* spec : {"redis:localhost", "tally.db", ""}) {
    Result<std::unique_ptr<Store>> store = OpenStore(spec, Durability::kStrict);
    EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << spec;
    EXPECT_THAT(store.status().message(), HasSubstr("sqlite:PATH")) << spec;
    EXPECT_THAT(store.status().message(), HasSubstr("dynamodb:TABLE")) << spec;
  }
}

}  // namespace
}  // namespace tally
