#include "harness/util/store_url.hpp"

#include <gtest/gtest.h>

namespace kforge::store_url {
namespace {

TEST(StoreUrl, TellsPostgresUrlsFromPaths) {
  EXPECT_TRUE(is_postgres("postgresql://host/db"));
  EXPECT_TRUE(is_postgres("postgres:///db?host=/tmp"));
  EXPECT_FALSE(is_postgres("kforge.db"));
  EXPECT_FALSE(is_postgres("/data/postgresql://x"));
}

TEST(StoreUrl, PasswordsAreFoundAndMasked) {
  EXPECT_FALSE(has_password("postgresql://alice@host/db"));
  EXPECT_TRUE(has_password("postgresql://alice:s3cret@host/db"));
  EXPECT_TRUE(has_password("postgresql:///db?host=/tmp&password=s3cret"));
  EXPECT_FALSE(has_password("kforge.db"));
  EXPECT_EQ(without_password("postgresql://alice:s3cret@host:5432/db?sslmode=require"),
            "postgresql://alice:***@host:5432/db?sslmode=require");
  EXPECT_EQ(without_password("postgresql:///db?password=s3cret&host=/tmp&password=again"),
            "postgresql:///db?password=***&host=/tmp&password=***");
  EXPECT_EQ(without_password("postgresql://alice@host/db"), "postgresql://alice@host/db");
  // An '@' in the password itself (it should be percent-encoded, but people write it).
  EXPECT_EQ(without_password("postgresql://alice:p@ss@host/db"), "postgresql://alice:***@host/db");
  EXPECT_EQ(without_password("/srv/kforge.db"), "/srv/kforge.db");
}

}  // namespace
}  // namespace kforge::store_url
