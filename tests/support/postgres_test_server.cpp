// The ctest fixture's server (tests/support/postgres_server.hpp): `start FOLDER` starts one
// PostgreSQL server in FOLDER and leaves it running for the tests, which find it through
// KFORGE_TEST_POSTGRES=FOLDER; `stop FOLDER` stops it and removes FOLDER. Without PostgreSQL
// installed, start says so and succeeds: the tests then skip, saying why.
#include <cstdio>
#include <string>

#include "tests/support/postgres_server.hpp"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: postgres_test_server start|stop FOLDER\n");
    return 2;
  }
  std::string action = argv[1];
  std::filesystem::path folder = argv[2];
  std::error_code ignored;
  if (action == "start") {
    std::filesystem::remove_all(folder, ignored);
    std::string why_not;
    auto server = kforge::testing::PostgresServer::start_detached(folder, &why_not);
    if (!server)
      std::printf("no PostgreSQL server for the tests: %s\n", why_not.c_str());
    else
      std::printf("PostgreSQL server for the tests in %s\n", folder.c_str());
    return 0;
  }
  if (action == "stop") {
    if (std::filesystem::exists(folder / "ready"))
      kforge::testing::PostgresServer::attach(folder)->stop_and_remove();
    std::filesystem::remove_all(folder, ignored);
    return 0;
  }
  std::fprintf(stderr, "postgres_test_server: unknown action %s\n", action.c_str());
  return 2;
}
