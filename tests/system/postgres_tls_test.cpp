// The real kforge binary on a PostgreSQL store over TLS, set up as docs/scale-out.md says
// (ssl = on; pg_hba.conf: TCP only over TLS with a password, anything else rejected): a server
// this test starts itself with a certificate authority made for it
// (tests/support/postgres_server.hpp). With sslmode=verify-full and that authority, kforge
// evaluates into the store; a certificate it must not trust, a host name the certificate does
// not carry, and a connection without TLS are each refused at once with one line, and nothing is
// written.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "datasets/postgres.hpp"
#include "harness/util/files.hpp"
#include "tests/support/postgres_server.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

namespace fs = std::filesystem;
using testing::run_kforge;

class PostgresTls : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why_not;
    server_ = testing::PostgresServer::private_server(&why_not, {.tls = true});
    if (server_ == nullptr)
      GTEST_SKIP() << "no PostgreSQL server with TLS for the tests: " << why_not;
    database_ = server_->create_database_named();
    // The store's retry limit stays at its default: a refusal must come at once, not after it.
  }

  ProcessResult kforge_eval(const std::string& db) {
    ProcessResult result =
        run_kforge({"--db", db, "--python", "/usr/bin/python3", "eval",
                    (testing::source_dir() / "tests/system/data/eval/relu_ok.cu").string(),
                    "--task", "builtin/relu", "--json"},
                   workspace_.path(), {}, 300);
    EXPECT_EQ(result.standard_output.find(server_->password()), std::string::npos);
    EXPECT_EQ(result.standard_error.find(server_->password()), std::string::npos);
    return result;
  }

  // Evaluations in the store, read over the server's Unix socket (no TLS there); -1 before
  // kforge made its tables.
  int64_t stored_evaluations() {
    sql::Connection db(sql::open_postgres(server_->url(database_), {.retry_seconds = 10}));
    auto exists =
        db.prepare("SELECT CASE WHEN to_regclass('evaluations') IS NULL THEN 0 ELSE 1 END");
    if (!exists.step() || exists.integer(0) != 1)
      return -1;
    auto count = db.prepare("SELECT count(*) FROM evaluations");
    count.step();
    return count.integer(0);
  }

  // A refusal: non-zero exit, one line on standard error that says kforge cannot connect and
  // names `reason`, within a few seconds (no waiting for a server that answers).
  void expect_refused(const std::string& db, const std::string& reason) {
    auto started = std::chrono::steady_clock::now();
    ProcessResult result = kforge_eval(db);
    double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_NE(result.exit_code, 0) << db;
    EXPECT_EQ(
        result.standard_error.rfind("kforge: error: cannot connect to the PostgreSQL store: ", 0),
        0u)
        << result.standard_error;
    EXPECT_NE(result.standard_error.find(reason), std::string::npos) << result.standard_error;
    EXPECT_EQ(std::count(result.standard_error.begin(), result.standard_error.end(), '\n'), 1)
        << result.standard_error;
    EXPECT_LT(took, 20) << "a refusal waited as if the server did not answer";
  }

  // Another certificate authority, which signed nothing the server holds.
  fs::path stranger_authority() {
    fs::path key = workspace_.path() / "stranger.key";
    fs::path certificate = workspace_.path() / "stranger.crt";
    std::string command =
        "openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=stranger "
        "-keyout " +
        key.string() + " -out " + certificate.string() + " > /dev/null 2>&1";
    EXPECT_EQ(std::system(command.c_str()), 0);
    return certificate;
  }

  std::unique_ptr<testing::PostgresServer> server_;
  std::string database_;
  testing::TemporaryDirectory workspace_;
};

TEST_F(PostgresTls, VerifyFullWithTheServersAuthorityStoresTheEvaluation) {
  ProcessResult result =
      kforge_eval(server_->tls_url(database_, "verify-full", server_->certificate_authority()));
  ASSERT_EQ(result.exit_code, 0) << result.standard_error;
  EXPECT_EQ(nlohmann::json::parse(result.standard_output).at("verdict"), "compiled")
      << result.standard_output;
  EXPECT_EQ(stored_evaluations(), 1);
  // By the address too: the certificate names 127.0.0.1 as well as localhost.
  ProcessResult by_address = kforge_eval(
      server_->tls_url(database_, "verify-full", server_->certificate_authority(), "127.0.0.1"));
  ASSERT_EQ(by_address.exit_code, 0) << by_address.standard_error;
  EXPECT_EQ(stored_evaluations(), 2);
}

TEST_F(PostgresTls, ACertificateFromAnotherAuthorityIsRefusedAndNothingIsWritten) {
  expect_refused(server_->tls_url(database_, "verify-full", stranger_authority()), "certificate");
  EXPECT_EQ(stored_evaluations(), -1);
}

TEST_F(PostgresTls, AHostNameTheCertificateDoesNotCarryIsRefusedUnderVerifyFull) {
  // The same server, asked for by a name its certificate does not carry: `hostaddr` gives the
  // address to connect to, `host` the name that verify-full checks.
  std::string url = server_->tls_url(database_, "verify-full", server_->certificate_authority(),
                                     "not-on-the-certificate.invalid") +
                    "&hostaddr=127.0.0.1";
  expect_refused(url, "not-on-the-certificate.invalid");
  EXPECT_EQ(stored_evaluations(), -1);
}

TEST_F(PostgresTls, AConnectionWithoutTlsIsRejectedByTheServer) {
  expect_refused(server_->tls_url(database_, "disable", {}), "no encryption");
  EXPECT_EQ(stored_evaluations(), -1);
}

}  // namespace
}  // namespace kforge
