#include "datasets/postgres.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "datasets/sql_dialect.hpp"
#include "harness/util/error.hpp"
#include "harness/util/store_url.hpp"

namespace kforge::sql {
namespace {

// PostgreSQL's type ids (pg_type.oid) that the store's columns and expressions produce.
constexpr Oid kBoolOid = 16;
constexpr Oid kByteaOid = 17;
constexpr Oid kInt8Oid = 20;
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kFloat4Oid = 700;
constexpr Oid kFloat8Oid = 701;
constexpr Oid kNumericOid = 1700;

// libpq's messages end in a newline and may run to several lines; one line is kept.
std::string first_line(const char* message) {
  std::string text = message == nullptr ? "" : message;
  size_t end = text.find('\n');
  text = text.substr(0, end);
  return text.empty() ? "no message from libpq" : text;
}

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// Whether the server at `url` answers a connection without TLS (sslmode=disable). When it does
// and a connection as `url` asks gets no answer, the TLS handshake or the check of the server's
// certificate is what fails (an authority the client does not trust, a host name the
// certificate does not carry, a server without TLS): waiting does not change that.
bool answers_without_tls(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  PQfreemem(error);
  if (options == nullptr)
    return false;
  std::vector<const char*> keywords, values;
  for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
    if (option->val == nullptr || std::string_view(option->keyword) == "sslmode")
      continue;
    keywords.push_back(option->keyword);
    values.push_back(option->val);
  }
  keywords.push_back("sslmode");
  values.push_back("disable");
  keywords.push_back(nullptr);
  values.push_back(nullptr);
  const bool answers = PQpingParams(keywords.data(), values.data(), 0) == PQPING_OK;
  PQconninfoFree(options);
  return answers;
}

// The password file libpq would read for this URL, when there is one that others may read.
void refuse_open_password_file(const std::string& url) {
  std::string passfile;
  char* error = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(url.c_str(), &error)) {
    for (PQconninfoOption* option = options; option->keyword != nullptr; ++option) {
      if (std::string_view(option->keyword) == "passfile" && option->val != nullptr)
        passfile = option->val;
    }
    PQconninfoFree(options);
  }
  PQfreemem(error);
  if (passfile.empty()) {
    if (const char* variable = std::getenv("PGPASSFILE"))
      passfile = variable;
    else if (const char* home = std::getenv("HOME"))
      passfile = std::string(home) + "/.pgpass";
  }
  struct stat status {};
  if (passfile.empty() || stat(passfile.c_str(), &status) != 0 || !S_ISREG(status.st_mode))
    return;
  if ((status.st_mode & 077) != 0) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(status.st_mode & 07777));
    throw Error(std::string("the PostgreSQL password file may be read by other users (mode ") +
                    mode + "); allow its owner only: chmod 600",
                passfile);
  }
}

class PostgresConnection;

class PostgresStatement final : public StatementBackend {
 public:
  PostgresStatement(PostgresConnection& connection, std::string sql)
      : connection_(connection), sql_(std::move(sql)) {}

  void bind_integer(int index, int64_t value) override { set(index, std::to_string(value)); }
  void bind_real(int index, double value) override {
    // SQLite stores NaN as NULL; so does this backend, so both stores hold the same.
    if (std::isnan(value)) {
      bind_null(index);
      return;
    }
    if (std::isinf(value)) {
      set(index, value > 0 ? "Infinity" : "-Infinity");
      return;
    }
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", value);
    set(index, text);
  }
  void bind_text(int index, std::string_view text) override { set(index, std::string(text)); }
  void bind_blob(int index, std::string_view bytes) override {
    set(index, std::string(bytes));
    formats_[index - 1] = 1;
  }
  void bind_null(int index) override {
    grow(index);
    values_[index - 1].reset();
    formats_[index - 1] = 0;
  }

  bool step() override;
  void reset() override {
    result_.reset();
    row_ = -1;
    values_.clear();
    formats_.clear();
  }

  int column_count() const override { return result_ ? PQnfields(result_.get()) : 0; }
  std::string column_name(int column) const override {
    const char* name = result_ ? PQfname(result_.get(), column) : nullptr;
    return name == nullptr ? std::string() : std::string(name);
  }
  ColumnKind kind(int column) const override {
    if (!result_ || PQgetisnull(result_.get(), row_, column))
      return ColumnKind::kNull;
    switch (PQftype(result_.get(), column)) {
      case kBoolOid:
      case kInt2Oid:
      case kInt4Oid:
      case kInt8Oid:
        return ColumnKind::kInteger;
      case kFloat4Oid:
      case kFloat8Oid:
      case kNumericOid:
        return ColumnKind::kReal;
      case kByteaOid:
        return ColumnKind::kBlob;
      default:
        return ColumnKind::kText;
    }
  }
  int64_t integer(int column) const override {
    const char* value = raw(column);
    if (value == nullptr)
      return 0;
    if (PQftype(result_.get(), column) == kBoolOid)
      return value[0] == 't' ? 1 : 0;
    return std::strtoll(value, nullptr, 10);
  }
  double real(int column) const override {
    const char* value = raw(column);
    return value == nullptr ? 0.0 : std::strtod(value, nullptr);
  }
  std::string text(int column) const override {
    const char* value = raw(column);
    if (value == nullptr)
      return {};
    if (PQftype(result_.get(), column) != kByteaOid)
      return std::string(value, PQgetlength(result_.get(), row_, column));
    size_t size = 0;
    unsigned char* bytes = PQunescapeBytea(reinterpret_cast<const unsigned char*>(value), &size);
    std::string out(reinterpret_cast<const char*>(bytes), size);
    PQfreemem(bytes);
    return out;
  }

 private:
  void grow(int index) {
    if (index < 1)
      throw Error("parameter index " + std::to_string(index) + " out of range", shorten(sql_));
    if (static_cast<size_t>(index) > values_.size()) {
      values_.resize(index);
      formats_.resize(index, 0);
    }
  }
  void set(int index, std::string value) {
    grow(index);
    values_[index - 1] = std::move(value);
    formats_[index - 1] = 0;
  }
  const char* raw(int column) const {
    if (!result_ || row_ < 0 || PQgetisnull(result_.get(), row_, column))
      return nullptr;
    return PQgetvalue(result_.get(), row_, column);
  }

  PostgresConnection& connection_;
  std::string sql_;
  std::vector<std::optional<std::string>> values_;
  std::vector<int> formats_;
  Result result_;
  int row_ = -1;
};

class PostgresConnection final : public ConnectionBackend {
 public:
  PostgresConnection(const std::string& url, const PostgresOptions& options)
      : url_(url), location_(store_url::without_password(url)), options_(options) {
    refuse_open_password_file(url_);
    connect();
  }
  ~PostgresConnection() override { PQfinish(connection_); }
  PostgresConnection(const PostgresConnection&) = delete;
  PostgresConnection& operator=(const PostgresConnection&) = delete;

  Dialect dialect() const override { return Dialect::kPostgres; }
  const std::string& location() const override { return location_; }

  std::unique_ptr<StatementBackend> prepare(std::string_view sql) override {
    return std::make_unique<PostgresStatement>(*this, postgres_statement(sql));
  }
  void execute(std::string_view sql) override { run(postgres_statement(sql), {}, {}, false, true); }
  int64_t last_insert_id() override {
    Result result = run("SELECT lastval()", {}, {}, true, false);
    return std::strtoll(PQgetvalue(result.get(), 0, 0), nullptr, 10);
  }
  int changes() override { return changes_; }
  void begin() override {
    run("BEGIN", {}, {}, false, true);
    in_transaction_ = true;
  }
  void commit() override {
    in_transaction_ = false;
    run("COMMIT", {}, {}, false, true);
  }
  void rollback() noexcept override {
    in_transaction_ = false;
    std::lock_guard lock(mutex_);
    if (PQstatus(connection_) == CONNECTION_OK)
      PQclear(PQexec(connection_, "ROLLBACK"));
  }

  // Runs one statement with parameters, or (`several`) one or more without, and returns the
  // result; see the header for when a lost connection is opened again and the statement run
  // again.
  Result run(const std::string& sql, const std::vector<std::optional<std::string>>& values,
             const std::vector<int>& formats, bool read, bool several) {
    std::lock_guard lock(mutex_);
    for (int attempt = 0;; ++attempt) {
      notice_a_closed_connection();
      if (PQstatus(connection_) != CONNECTION_OK) {
        if (in_transaction_)
          throw lost_in_transaction(sql);
        reconnect();
      }
      Result result = send(sql, values, formats, several);
      ExecStatusType status = PQresultStatus(result.get());
      if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        const char* tuples = PQcmdTuples(result.get());
        changes_ = tuples != nullptr && *tuples != '\0' ? std::atoi(tuples) : 0;
        return result;
      }
      const char* state = PQresultErrorField(result.get(), PG_DIAG_SQLSTATE);
      std::string message =
          first_line(result ? PQresultErrorMessage(result.get()) : PQerrorMessage(connection_));
      if (PQstatus(connection_) == CONNECTION_OK)
        throw Error("PostgreSQL refused a statement: " + message, shorten(sql));
      // The connection is gone.
      if (in_transaction_)
        throw lost_in_transaction(sql);
      bool refused_before_running =
          state != nullptr && std::string_view(state).substr(0, 3) == "57P";
      if (attempt > 0 || !(read || refused_before_running || sql == "BEGIN")) {
        throw Error(
            "the connection to the PostgreSQL server was lost while a write was in "
            "flight (" +
                message +
                "); whether it was applied is unknown, so kforge "
                "stops here; everything committed before is kept",
            location_);
      }
    }
  }

 private:
  Result send(const std::string& sql, const std::vector<std::optional<std::string>>& values,
              const std::vector<int>& formats, bool several) {
    if (several)
      return Result(PQexec(connection_, sql.c_str()));
    std::vector<const char*> pointers;
    std::vector<int> lengths;
    for (const auto& value : values) {
      pointers.push_back(value ? value->data() : nullptr);
      lengths.push_back(value ? static_cast<int>(value->size()) : 0);
    }
    return Result(PQexecParams(connection_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                               pointers.data(), lengths.data(), formats.data(), 0));
  }

  // A server that shut down or ended this connection while it was idle has closed its end (and
  // may have sent why): the socket reads as ready although no statement is in flight. Reading
  // that input marks the connection bad here, before a statement is sent on it, so the statement
  // goes to a new connection rather than being lost with an unknown fate.
  void notice_a_closed_connection() {
    if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK)
      return;
    // The server's last message comes first, then the end of the stream: read until the
    // socket has nothing more (or the connection is found closed).
    for (int reads = 0; reads < 4; ++reads) {
      pollfd idle{.fd = PQsocket(connection_), .events = POLLIN, .revents = 0};
      if (::poll(&idle, 1, 0) <= 0)
        break;
      if (PQconsumeInput(connection_) == 0 || PQstatus(connection_) != CONNECTION_OK)
        return;
    }
    // Input on an idle connection that did not end it (a notification): nothing to do.
    while (PGnotify* notification = PQnotifies(connection_))
      PQfreemem(notification);
  }

  Error lost_in_transaction(const std::string& sql) const {
    (void)sql;
    return Error(
        "the connection to the PostgreSQL server was lost inside a transaction: its writes were "
        "rolled back and kforge stops here; everything committed before is kept",
        location_);
  }

  void reconnect() {
    PQfinish(connection_);
    connection_ = nullptr;
    connect();
  }

  // Opens the connection, trying again while the server cannot be reached or is not accepting
  // connections yet, for at most options_.retry_seconds.
  void connect() {
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    const auto deadline =
        started + std::chrono::milliseconds(static_cast<int64_t>(options_.retry_seconds * 1000));
    auto pause = std::chrono::milliseconds(100);
    int attempts = 0;
    for (;;) {
      ++attempts;
      PGPing ping = PQping(url_.c_str());
      if (ping == PQPING_NO_ATTEMPT) {
        PGconn* probe = PQconnectdb(url_.c_str());
        std::string message = first_line(PQerrorMessage(probe));
        PQfinish(probe);
        throw Error("the PostgreSQL store URL is not usable: " + message, location_);
      }
      if (ping == PQPING_OK) {
        connection_ = PQconnectdb(url_.c_str());
        if (PQstatus(connection_) == CONNECTION_OK)
          break;
        std::string message = first_line(PQerrorMessage(connection_));
        PQfinish(connection_);
        connection_ = nullptr;
        // Refused although the server answers: credentials, a missing database, TLS. Those do
        // not change by waiting, unless the server went away in between.
        if (PQping(url_.c_str()) == PQPING_OK)
          throw Error("cannot connect to the PostgreSQL store: " + message, location_);
        last_failure_ = message;
      } else {
        PGconn* probe = PQconnectdb(url_.c_str());
        last_failure_ = first_line(PQerrorMessage(probe));
        PQfinish(probe);
        if (ping == PQPING_NO_RESPONSE && answers_without_tls(url_))
          throw Error("cannot connect to the PostgreSQL store: " + last_failure_, location_);
      }
      if (Clock::now() + pause > deadline) {
        double waited = std::chrono::duration<double>(Clock::now() - started).count();
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f", waited);
        throw Error("the PostgreSQL server did not answer: gave up after " +
                        std::to_string(attempts) + " attempts in " + seconds +
                        " s (store.retry_s); last: " + last_failure_,
                    location_);
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, std::chrono::milliseconds(2000));
    }
    PQsetNoticeProcessor(
        connection_, [](void*, const char*) {}, nullptr);
    const char* encoding = PQparameterStatus(connection_, "server_encoding");
    if (encoding == nullptr || std::string_view(encoding) != "UTF8") {
      std::string found = encoding == nullptr ? "unknown" : encoding;
      PQfinish(connection_);
      connection_ = nullptr;
      throw Error("the PostgreSQL database's encoding is " + found +
                      "; a kforge store needs UTF8 (CREATE DATABASE ... ENCODING 'UTF8')",
                  location_);
    }
    if (PQsetClientEncoding(connection_, "UTF8") != 0)
      throw Error(
          "cannot set the client encoding to UTF8: " + first_line(PQerrorMessage(connection_)),
          location_);
  }

  std::string url_;
  std::string location_;
  PostgresOptions options_;
  PGconn* connection_ = nullptr;
  std::recursive_mutex mutex_;
  bool in_transaction_ = false;
  int changes_ = 0;
  std::string last_failure_;
};

bool PostgresStatement::step() {
  if (!result_) {
    size_t start = sql_.find_first_not_of(" \t\n");
    std::string_view head = start == std::string::npos ? "" : std::string_view(sql_).substr(start);
    bool read = head.substr(0, 6) == "SELECT" || head.substr(0, 4) == "WITH";
    result_ = connection_.run(sql_, values_, formats_, read, false);
    row_ = -1;
  }
  if (row_ + 1 < PQntuples(result_.get())) {
    ++row_;
    return true;
  }
  return false;
}

}  // namespace

std::unique_ptr<ConnectionBackend> open_postgres(const std::string& url,
                                                 const PostgresOptions& options) {
  return std::make_unique<PostgresConnection>(url, options);
}

}  // namespace kforge::sql
