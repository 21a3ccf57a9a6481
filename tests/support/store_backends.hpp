// Store tests that run on both backends: a test written as TEST_P on a fixture derived from
// OnEachBackend, instantiated with KFORGE_ON_EACH_BACKEND(Fixture), runs once on a SQLite file
// and once on a fresh database of the test binary's PostgreSQL server (postgres_server.hpp);
// the PostgreSQL run skips, saying why, where PostgreSQL is not installed.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "datasets/store.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge::testing {

class OnEachBackend : public ::testing::TestWithParam<sql::Dialect> {
 protected:
  void SetUp() override {
    if (GetParam() == sql::Dialect::kSqlite) {
      location_ = (dir_ / "kforge.db").string();
      return;
    }
    std::string why_not;
    PostgresServer* server = PostgresServer::shared(&why_not);
    if (server == nullptr)
      GTEST_SKIP() << "no PostgreSQL server for the tests: " << why_not;
    location_ = server->create_database();
  }

  // The test's store, created on first use; opening it again gives another connection to it.
  std::unique_ptr<Store> open_store(bool create = true) {
    return Store::open_location(location_, {.create = create, .retry_seconds = 10});
  }
  bool postgres() const { return GetParam() == sql::Dialect::kPostgres; }
  const std::string& location() const { return location_; }

  TemporaryDirectory dir_;
  std::string location_;
};

inline std::string backend_name(const ::testing::TestParamInfo<sql::Dialect>& info) {
  return info.param == sql::Dialect::kSqlite ? "Sqlite" : "Postgres";
}

}  // namespace kforge::testing

#define KFORGE_ON_EACH_BACKEND(fixture)                                                      \
  INSTANTIATE_TEST_SUITE_P(                                                                  \
      , fixture,                                                                             \
      ::testing::Values(::kforge::sql::Dialect::kSqlite, ::kforge::sql::Dialect::kPostgres), \
      ::kforge::testing::backend_name)
