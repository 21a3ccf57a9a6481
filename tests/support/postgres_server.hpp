// A real PostgreSQL server for the tests, started by the tests themselves: Debian's postgresql
// (initdb and pg_ctl from /usr/lib/postgresql/<version>/bin, or KFORGE_PG_BIN) on a temporary
// folder, listening on a Unix socket in that folder only (listen_addresses = ''), with password
// (SCRAM) authentication so that the tests exercise kforge's credential handling. Each test
// takes a fresh database of its own (create_database()).
//
// One server per test binary: shared() is the server every test of the process uses. Under
// ctest, where every test is a process of its own, the test binaries' ctest fixture
// (tests/CMakeLists.txt: postgres.start / postgres.stop, running postgres_test_server.cpp)
// starts one server before the tests and stops it after them, and hands its folder to the tests
// in KFORGE_TEST_POSTGRES: shared() then attaches to it rather than starting another. A test
// that stops and starts its server (to test faults) takes a private() one, so that tests running
// in parallel on the shared server are not disturbed.
//
// Running as root: initdb and postgres refuse to run as root, and the tests here (and in CI) run
// as root. The server then runs as the unprivileged `nobody` user: the temporary folder is
// handed to nobody (chown), and initdb, pg_ctl and the server are started through
// `setpriv --reuid nobody --regid nogroup --clear-groups`. The test process, as root, still
// reaches the socket (root passes every permission check). Run as any other user, the server
// runs as that user and nothing changes hands.
//
// A TLS server (private_server with `tls`): besides the socket, it listens on 127.0.0.1 at a free
// TCP port with ssl = on, a server certificate for localhost and 127.0.0.1 signed by a
// certificate authority made for it (openssl), and the pg_hba.conf of docs/scale-out.md: TCP
// only over TLS with a password, anything else over TCP rejected.
//
// The password (one per process, whichever servers it uses) is set into this process's
// environment as PGPASSWORD (libpq reads it, and every kforge the tests start inherits it); no
// URL here carries it.
#pragma once

#include <arpa/inet.h>
#include <grp.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <random>
#include <string>

#include "datasets/postgres.hpp"
#include "harness/util/files.hpp"
#include "harness/util/strings.hpp"

namespace kforge::testing {

struct PostgresServerOptions {
  bool tls = false;  // also listen on 127.0.0.1 over TLS (see above)
};

class PostgresServer {
 public:
  // The process's shared server (see above), or nullptr, with `why_not` saying why, where
  // PostgreSQL's server programs are not installed or the server does not start.
  static PostgresServer* shared(std::string* why_not) {
    static std::string failure;
    static std::unique_ptr<PostgresServer> server = [] {
      const char* folder = std::getenv("KFORGE_TEST_POSTGRES");
      if (folder != nullptr && *folder != '\0' &&
          std::filesystem::exists(std::filesystem::path(folder) / "ready"))
        return attach(folder);
      return start_new(temporary_folder(), &failure);
    }();
    if (!server && why_not != nullptr)
      *why_not = failure;
    return server.get();
  }

  using Options = PostgresServerOptions;

  // A server of the caller's own, stopped and removed with the object.
  static std::unique_ptr<PostgresServer> private_server(std::string* why_not,
                                                        Options options = {}) {
    return start_new(temporary_folder(), why_not, options);
  }

  // Starts a server in `folder` (created) and leaves it running after this object is gone
  // (postgres_test_server.cpp's start); nullptr and `why_not` when it cannot.
  static std::unique_ptr<PostgresServer> start_detached(const std::filesystem::path& folder,
                                                        std::string* why_not) {
    auto server = start_new(folder, why_not);
    if (server) {
      server->owned_ = false;
      files::write_atomic(folder / "ready", "");
    }
    return server;
  }

  // The server running in `folder` (started by start_detached), not stopped with the object.
  static std::unique_ptr<PostgresServer> attach(const std::filesystem::path& folder) {
    std::unique_ptr<PostgresServer> server(new PostgresServer());
    server->folder_ = folder;
    server->bin_ = find_bin();
    server->as_server_user_ = ::geteuid() == 0 ? kAsNobody : "";
    server->password_ = std::string(strings::trim(files::read(folder / "password")));
    server->running_ = true;
    server->owned_ = false;
    ::setenv("PGPASSWORD", server->password_.c_str(), 1);
    return server;
  }

  ~PostgresServer() {
    if (!owned_)
      return;
    stop();
    std::error_code ignored;
    std::filesystem::remove_all(folder_, ignored);
  }
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  // A URL for `database` on this server (no password: PGPASSWORD carries it).
  std::string url(const std::string& database) const {
    std::string url = "postgresql:///" + database + "?host=" + folder_.string() + "&user=kforge";
    if (port_ != 0)  // a TLS server's socket is named after its TCP port
      url += "&port=" + std::to_string(port_);
    return url;
  }
  // A URL for `database` over TCP and TLS to a TLS server, `sslmode` and the root certificate
  // the client trusts given; host `host` (localhost or 127.0.0.1: the certificate names both).
  std::string tls_url(const std::string& database, const std::string& sslmode,
                      const std::filesystem::path& root_certificate,
                      const std::string& host = "localhost") const {
    std::string url = "postgresql://kforge@" + host + ":" + std::to_string(port_) + "/" + database +
                      "?sslmode=" + sslmode;
    if (!root_certificate.empty())
      url += "&sslrootcert=" + root_certificate.string();
    return url;
  }
  // The certificate authority that signed a TLS server's certificate.
  std::filesystem::path certificate_authority() const { return folder_ / "ca.crt"; }
  const std::string& password() const { return password_; }
  const std::filesystem::path& folder() const { return folder_; }

  // A new, empty database; returns its URL.
  std::string create_database() { return url(create_database_named()); }
  // A new, empty database; returns its name.
  std::string create_database_named() {
    static int counter = 0;
    std::random_device entropy;
    std::string name = "kforge_test_" + std::to_string(::getpid()) + "_" +
                       std::to_string(++counter) + "_" + std::to_string(entropy() % 100000);
    sql::Connection admin(sql::open_postgres(url("postgres"), {.retry_seconds = 10}));
    admin.execute("CREATE DATABASE " + name + " ENCODING 'UTF8' TEMPLATE template0");
    return name;
  }

  // Stops the server (fast shutdown: open connections are ended), and starts it again.
  bool stop() {
    if (running_ && run(pg_ctl("stop -m fast -w -t 60")))
      running_ = false;
    return !running_;
  }
  bool start() {
    running_ = run(pg_ctl(start_arguments()));
    return running_;
  }
  // Stops a server left running by start_detached, and removes its folder.
  void stop_and_remove() { owned_ = true; }

 private:
  static constexpr const char* kAsNobody =
      "setpriv --reuid=nobody --regid=nogroup --clear-groups -- ";

  PostgresServer() = default;

  // One password for every server of this process (PGPASSWORD holds one): the attached
  // fixture server's, or a random one.
  static std::string process_password() {
    static const std::string password = []() -> std::string {
      const char* folder = std::getenv("KFORGE_TEST_POSTGRES");
      if (folder != nullptr && *folder != '\0' &&
          std::filesystem::exists(std::filesystem::path(folder) / "ready"))
        return std::string(strings::trim(files::read(std::filesystem::path(folder) / "password")));
      std::random_device entropy;
      return "pw-" + std::to_string(entropy()) + "-" + std::to_string(entropy());
    }();
    return password;
  }

  static std::filesystem::path temporary_folder() {
    std::random_device entropy;
    return std::filesystem::temp_directory_path() /
           ("kforge-pg-" + std::to_string(::getpid()) + "-" + std::to_string(entropy()));
  }

  static std::string find_bin() {
    if (const char* bin = std::getenv("KFORGE_PG_BIN"); bin && *bin)
      return bin;
    std::string best;
    std::error_code ignored;
    for (const auto& entry : std::filesystem::directory_iterator("/usr/lib/postgresql", ignored)) {
      std::filesystem::path bin = entry.path() / "bin";
      if (std::filesystem::exists(bin / "initdb") && bin.string() > best)
        best = bin.string();
    }
    return best;
  }

  static std::unique_ptr<PostgresServer> start_new(const std::filesystem::path& folder,
                                                   std::string* why_not, Options options = {}) {
    std::unique_ptr<PostgresServer> server(new PostgresServer());
    server->options_ = options;
    std::string failure = server->initialise(folder);
    if (failure.empty())
      return server;
    if (why_not != nullptr)
      *why_not = failure;
    return nullptr;
  }

  std::string initialise(const std::filesystem::path& folder) {
    bin_ = find_bin();
    if (bin_.empty())
      return "PostgreSQL's server programs are not installed (scripts/install-deps.sh installs "
             "Debian's postgresql; or set KFORGE_PG_BIN)";
    folder_ = folder;
    std::filesystem::create_directories(folder_);
    password_ = process_password();
    files::write_atomic(folder_ / "password", password_ + "\n");
    if (::geteuid() == 0) {
      const passwd* nobody = ::getpwnam("nobody");
      const group* nogroup = ::getgrnam("nogroup");
      if (nobody == nullptr || nogroup == nullptr)
        return "running as root, and there is no nobody user or nogroup group to run the server";
      if (::chown(folder_.c_str(), nobody->pw_uid, nogroup->gr_gid) != 0 ||
          ::chown((folder_ / "password").c_str(), nobody->pw_uid, nogroup->gr_gid) != 0)
        return "cannot hand the server's folder to nobody";
      as_server_user_ = kAsNobody;
    }
    ::chmod(folder_.c_str(), 0700);
    if (!run(as_server_user_ + bin_ + "/initdb -D " + (folder_ / "data").string() +
             " -U kforge --auth=scram-sha-256 --pwfile=" + (folder_ / "password").string() +
             " -E UTF8 --locale=C.UTF-8 > " + (folder_ / "initdb.log").string() + " 2>&1"))
      return "initdb failed: see " + (folder_ / "initdb.log").string();
    if (options_.tls) {
      if (std::string failure = prepare_tls(); !failure.empty())
        return failure;
    }
    if (!start())
      return "the server did not start: see " + (folder_ / "server.log").string();
    ::setenv("PGPASSWORD", password_.c_str(), 1);
    return "";
  }

  // The certificates (a certificate authority, and the server's for localhost and 127.0.0.1
  // signed by it), a free TCP port, and the pg_hba.conf of docs/scale-out.md.
  std::string prepare_tls() {
    const std::string folder = folder_.string();
    const std::string log = " >> " + folder + "/openssl.log 2>&1";
    const std::string extensions = folder + "/server.ext";
    files::write_atomic(extensions, "subjectAltName = DNS:localhost, IP:127.0.0.1\n");
    if (!run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=kforge-test-ca -keyout " +
             folder + "/ca.key -out " + folder + "/ca.crt" + log) ||
        !run("openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " + folder +
             "/server.key -out " + folder + "/server.csr" + log) ||
        !run("openssl x509 -req -in " + folder + "/server.csr -CA " + folder + "/ca.crt -CAkey " +
             folder + "/ca.key -CAcreateserial -days 2 -extfile " + extensions + " -out " + folder +
             "/server.crt" + log))
      return "openssl could not make the test certificates: see " + folder + "/openssl.log";
    ::chmod((folder_ / "server.key").c_str(), 0600);
    files::write_atomic(folder_ / "data" / "pg_hba.conf",
                        "local     all  all                  scram-sha-256\n"
                        "hostssl   all  kforge  127.0.0.1/32 scram-sha-256\n"
                        "hostnossl all  all     0.0.0.0/0    reject\n");
    if (::geteuid() == 0) {
      const passwd* nobody = ::getpwnam("nobody");
      const group* nogroup = ::getgrnam("nogroup");
      for (const char* name : {"server.key", "server.crt", "data/pg_hba.conf"}) {
        if (::chown((folder_ / name).c_str(), nobody->pw_uid, nogroup->gr_gid) != 0)
          return std::string("cannot hand ") + name + " to nobody";
      }
    }
    port_ = free_port();
    return port_ == 0 ? "no free TCP port on 127.0.0.1" : "";
  }

  // A TCP port on 127.0.0.1 that nothing listens on now (the kernel's choice for port 0).
  static int free_port() {
    int socket = ::socket(AF_INET, SOCK_STREAM, 0);
    if (socket < 0)
      return 0;
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    int port = 0;
    if (::bind(socket, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0 &&
        ::getsockname(socket, reinterpret_cast<sockaddr*>(&address), &length) == 0)
      port = ntohs(address.sin_port);
    ::close(socket);
    return port;
  }

  std::string start_arguments() const {
    std::string listen = " -c listen_addresses=''";
    if (options_.tls)
      listen = " -c listen_addresses='127.0.0.1' -p " + std::to_string(port_) +
               " -c ssl=on -c ssl_cert_file='" + (folder_ / "server.crt").string() +
               "' -c ssl_key_file='" + (folder_ / "server.key").string() + "'";
    return "start -w -t 60 -l " + (folder_ / "server.log").string() + " -o \"-k " +
           folder_.string() + listen +
           " -c fsync=off -c synchronous_commit=off"
           " -c full_page_writes=off -c max_connections=200\"";
  }
  std::string pg_ctl(const std::string& arguments) const {
    return as_server_user_ + bin_ + "/pg_ctl -D " + (folder_ / "data").string() + " " + arguments +
           " >> " + (folder_ / "pg_ctl.log").string() + " 2>&1";
  }
  static bool run(const std::string& command) { return std::system(command.c_str()) == 0; }

  Options options_;
  int port_ = 0;  // a TLS server's TCP port
  std::string bin_;
  std::filesystem::path folder_;
  std::string password_;
  std::string as_server_user_;
  bool running_ = false;
  bool owned_ = true;
};

}  // namespace kforge::testing
