// HTTP POST over libcurl for the LLM providers: JSON in, JSON or server-sent events out.
// One curl easy handle per request, so any number of threads may call in parallel; libcurl's
// global state is initialised once, on first use. Failures are values, never exceptions: a
// provider decides which of them to retry, and the loop records the rest.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kforge::agents {

struct HttpRequest {
  std::string url;  // http:// or https:// only; other schemes are refused by libcurl
  std::vector<std::pair<std::string, std::string>> headers;  // name, value
  std::string body;
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(10)};
  std::chrono::milliseconds total_timeout{std::chrono::minutes(10)};
  // A transfer that receives nothing for this long (whole seconds; 0: no limit) ends as
  // kTimeout, so a stream that stalls half way does not hold a slot until total_timeout.
  std::chrono::seconds idle_timeout{0};
  // A response body larger than this ends the transfer as kTooLarge (a runaway server must
  // not exhaust memory).
  size_t max_body_bytes = 32u << 20;
  // Set (by another thread) to end the transfer at once as kCancelled.
  const std::atomic<bool>* cancel = nullptr;
};

// Why a transfer did not deliver a whole HTTP response. Classified from libcurl's result
// code, never from its message.
enum class TransportFailure {
  kNone,         // a complete response arrived (whatever its status)
  kUnreachable,  // could not resolve or connect
  kTimeout,      // connect or total time limit
  kDropped,      // the connection broke or closed mid-response
  kTooLarge,     // body over max_body_bytes
  kAborted,      // the caller's chunk callback asked to stop
  kCancelled,    // the request's cancel flag was set
  kOther,        // any other libcurl failure (see curl_code)
};

std::string_view transport_failure_name(TransportFailure failure);

struct HttpResponse {
  TransportFailure failure = TransportFailure::kNone;
  int curl_code = 0;                           // CURLcode; 0 when the transfer completed
  std::string curl_error;                      // libcurl's own words for curl_code
  long status = 0;                             // HTTP status; 0 when no status line arrived
  std::map<std::string, std::string> headers;  // names lower-cased; last value wins
  std::string body;  // the raw body (for a streamed 2xx reply: empty, the chunks went out)
  std::chrono::milliseconds elapsed{0};

  bool completed() const { return failure == TransportFailure::kNone; }
  bool success() const { return completed() && status >= 200 && status < 300; }
  // "HTTP 429", "connection dropped (curl 56: ...)": one line for logs and errors.
  std::string describe() const;
};

// Called with each piece of a 2xx body as it arrives; return false to abort the transfer.
using ChunkCallback = std::function<bool(std::string_view chunk)>;

// POSTs the request and waits for the whole response. With `on_chunk`, a 2xx body is handed
// to it piece by piece instead of being collected (an error body is always collected).
HttpResponse http_post(const HttpRequest& request, const ChunkCallback& on_chunk = {});

// One server-sent event: the `event:` name (empty if none) and its `data:` lines joined by \n.
struct SseEvent {
  std::string event;
  std::string data;
};

// Splits a byte stream into server-sent events (the WHATWG event-stream format: lines ending
// in \n, \r\n or \r; fields `event`, `data`; comments start with ':'; a blank line dispatches).
class SseParser {
 public:
  using EventCallback = std::function<bool(const SseEvent&)>;
  explicit SseParser(EventCallback on_event) : on_event_(std::move(on_event)) {}
  // Returns false once the callback has asked to stop.
  bool feed(std::string_view bytes);
  // Bytes of an unfinished event still buffered (a stream that ended mid-event).
  bool has_partial_event() const { return !line_.empty() || !pending_.data.empty(); }

 private:
  bool handle_line(std::string_view line);
  EventCallback on_event_;
  std::string line_;
  SseEvent pending_;
  bool have_data_ = false;
  bool last_was_cr_ = false;
};

}  // namespace kforge::agents
