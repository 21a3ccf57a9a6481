#include "agents/http_client.hpp"

#include <curl/curl.h>

#include <cctype>
#include <memory>
#include <mutex>

namespace kforge::agents {
namespace {

void initialise_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct Transfer {
  CURL* handle = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  const ChunkCallback* on_chunk = nullptr;
  size_t max_body_bytes = 0;
  size_t received = 0;
  bool too_large = false;
  bool aborted = false;
  HttpResponse* response = nullptr;
};

size_t on_body(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<Transfer*>(user);
  size_t bytes = size * count;
  transfer->received += bytes;
  if (transfer->received > transfer->max_body_bytes) {
    transfer->too_large = true;
    return 0;  // makes libcurl stop with CURLE_WRITE_ERROR
  }
  long status = 0;
  curl_easy_getinfo(transfer->handle, CURLINFO_RESPONSE_CODE, &status);
  bool stream_out =
      transfer->on_chunk != nullptr && *transfer->on_chunk && status >= 200 && status < 300;
  if (!stream_out) {
    transfer->response->body.append(data, bytes);
    return bytes;
  }
  if (!(*transfer->on_chunk)(std::string_view(data, bytes))) {
    transfer->aborted = true;
    return 0;
  }
  return bytes;
}

// libcurl calls this about once a second, and at every chunk: a set cancel flag ends the
// transfer with CURLE_ABORTED_BY_CALLBACK.
int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* transfer = static_cast<const Transfer*>(user);
  return transfer->cancel != nullptr && transfer->cancel->load() ? 1 : 0;
}

size_t on_header(char* data, size_t size, size_t count, void* user) {
  auto* response = static_cast<HttpResponse*>(user);
  std::string_view line(data, size * count);
  if (line.starts_with("HTTP/")) {
    response->headers.clear();  // a new response (after a 100 Continue, say)
    return size * count;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return size * count;
  std::string name(line.substr(0, colon));
  for (char& c : name)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  std::string_view value = line.substr(colon + 1);
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
    value.remove_prefix(1);
  while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
    value.remove_suffix(1);
  response->headers[name] = std::string(value);
  return size * count;
}

TransportFailure classify(CURLcode code, const Transfer& transfer) {
  if (transfer.too_large)
    return TransportFailure::kTooLarge;
  if (transfer.aborted)
    return TransportFailure::kAborted;
  if (code == CURLE_ABORTED_BY_CALLBACK)
    return TransportFailure::kCancelled;
  switch (code) {
    case CURLE_OK:
      return TransportFailure::kNone;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
      return TransportFailure::kUnreachable;
    case CURLE_OPERATION_TIMEDOUT:
      return TransportFailure::kTimeout;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
      return TransportFailure::kDropped;
    default:
      return TransportFailure::kOther;
  }
}

}  // namespace

std::string_view transport_failure_name(TransportFailure failure) {
  switch (failure) {
    case TransportFailure::kNone:
      return "completed";
    case TransportFailure::kUnreachable:
      return "unreachable";
    case TransportFailure::kTimeout:
      return "timed out";
    case TransportFailure::kDropped:
      return "connection dropped";
    case TransportFailure::kTooLarge:
      return "response too large";
    case TransportFailure::kAborted:
      return "aborted";
    case TransportFailure::kCancelled:
      return "cancelled";
    case TransportFailure::kOther:
      return "transfer failed";
  }
  return "?";
}

std::string HttpResponse::describe() const {
  if (completed())
    return "HTTP " + std::to_string(status);
  std::string text(transport_failure_name(failure));
  if (curl_code != 0)
    text += " (curl " + std::to_string(curl_code) + ": " + curl_error + ")";
  return text;
}

HttpResponse http_post(const HttpRequest& request, const ChunkCallback& on_chunk) {
  initialise_curl_once();
  HttpResponse response;
  auto started = std::chrono::steady_clock::now();
  std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> handle(curl_easy_init(), curl_easy_cleanup);
  if (!handle) {
    response.failure = TransportFailure::kOther;
    response.curl_code = CURLE_FAILED_INIT;
    response.curl_error = "curl_easy_init failed";
    return response;
  }
  curl_slist* header_list = nullptr;
  for (const auto& [name, value] : request.headers)
    header_list = curl_slist_append(header_list, (name + ": " + value).c_str());
  // libcurl would otherwise send "Expect: 100-continue" for large bodies and wait for it.
  header_list = curl_slist_append(header_list, "Expect:");
  std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)> headers(header_list,
                                                                      curl_slist_free_all);
  Transfer transfer;
  transfer.handle = handle.get();
  transfer.on_chunk = &on_chunk;
  transfer.max_body_bytes = request.max_body_bytes;
  transfer.response = &response;
  transfer.cancel = request.cancel;
  char error_buffer[CURL_ERROR_SIZE] = {0};

  CURL* curl = handle.get();
  curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // required for use from several threads
  curl_easy_setopt(curl, CURLOPT_POST, 1L);
  curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
  curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(request.body.size()));
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(request.connect_timeout.count()));
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(request.total_timeout.count()));
  if (request.idle_timeout.count() > 0) {
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, static_cast<long>(request.idle_timeout.count()));
  }
  if (request.cancel != nullptr) {
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &transfer);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  }
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");  // whatever libcurl can decode

  CURLcode code = curl_easy_perform(curl);
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  response.failure = classify(code, transfer);
  if (code != CURLE_OK) {
    response.curl_code = static_cast<int>(code);
    response.curl_error = error_buffer[0] != '\0' ? error_buffer : curl_easy_strerror(code);
  }
  response.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - started);
  return response;
}

bool SseParser::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (last_was_cr_ && c == '\n') {  // the \n of a \r\n ending
      last_was_cr_ = false;
      continue;
    }
    last_was_cr_ = c == '\r';
    if (c == '\r' || c == '\n') {
      std::string line = std::move(line_);
      line_.clear();
      if (!handle_line(line))
        return false;
    } else {
      line_.push_back(c);
    }
  }
  return true;
}

bool SseParser::handle_line(std::string_view line) {
  if (line.empty()) {
    if (!have_data_) {
      pending_ = SseEvent();
      return true;
    }
    SseEvent event = std::move(pending_);
    pending_ = SseEvent();
    have_data_ = false;
    return on_event_(event);
  }
  if (line.front() == ':')
    return true;
  auto colon = line.find(':');
  std::string_view field = line.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
  if (!value.empty() && value.front() == ' ')
    value.remove_prefix(1);
  if (field == "event") {
    pending_.event = std::string(value);
  } else if (field == "data") {
    if (have_data_)
      pending_.data.push_back('\n');
    pending_.data.append(value);
    have_data_ = true;
  }
  return true;
}

}  // namespace kforge::agents
