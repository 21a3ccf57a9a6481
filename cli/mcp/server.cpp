#include "cli/mcp/server.hpp"

#include <atomic>
#include <condition_variable>
#include <deque>
#include <istream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <ostream>
#include <thread>

#include "cli/mcp/json_schema.hpp"
#include "harness/util/error.hpp"
#include "harness/util/json_text.hpp"
#include "harness/util/strings.hpp"

namespace kforge::mcp {
namespace {

using nlohmann::json;

// A request the worker thread answers: a tool call or a resource request.
struct Job {
  json id;
  std::string method;
  json params;
  std::shared_ptr<std::atomic<bool>> cancelled;
  std::optional<json> progress_token;
};

bool supported_version(const std::string& version) {
  for (const char* known : kProtocolVersions) {
    if (version == known)
      return true;
  }
  return false;
}

// Protocol revisions are dates, which sort as text.
bool version_at_least(const std::string& version, const std::string& minimum) {
  return version >= minimum;
}

class Session {
 public:
  Session(ServerContent& content, const ServerInfo& info, std::ostream& output,
          const std::function<void(const std::string&)>& log)
      : content_(content), info_(info), output_(output), log_(log) {}

  void start() {
    worker_ = std::thread([this] { work(); });
  }

  // The input ended: the calls already asked for are answered, then the worker stops.
  void finish() {
    {
      std::lock_guard guard(queue_lock_);
      closing_ = true;
    }
    queue_ready_.notify_all();
    if (worker_.joinable())
      worker_.join();
  }

  void handle_line(std::string line) {
    if (!line.empty() && line.back() == '\r')
      line.pop_back();
    if (strings::trim(line).empty())
      return;
    json message = json::parse(line, nullptr, false);
    if (message.is_discarded())
      return fail(nullptr, kParseError, "parse error: the line is not JSON text");
    if (message.is_array())
      return fail(nullptr, kInvalidRequest,
                  "invalid request: JSON-RPC batches are not supported (MCP dropped them in "
                  "2025-06-18); send one message per line");
    if (!message.is_object())
      return fail(nullptr, kInvalidRequest, "invalid request: a message is a JSON object");
    const bool has_id = message.contains("id");
    const json id = has_id ? message["id"] : json();
    if (has_id && !id.is_string() && !id.is_number_integer())
      return fail(nullptr, kInvalidRequest, "invalid request: `id` must be a string or an integer");
    if (message.value("jsonrpc", json()) != "2.0")
      return fail(id, kInvalidRequest, "invalid request: `jsonrpc` must be \"2.0\"");
    if (!message.contains("method")) {
      if (has_id && (message.contains("result") || message.contains("error")))
        return;  // a response; this server sends no requests, so there is nothing to match
      return fail(id, kInvalidRequest, "invalid request: no `method`");
    }
    if (!message["method"].is_string())
      return fail(id, kInvalidRequest, "invalid request: `method` must be a string");
    const std::string method = message["method"].get<std::string>();
    const json params = message.value("params", json::object());
    if (!has_id)
      return notification(method, params);
    if (!params.is_object())
      return fail(id, kInvalidParams, "invalid params: `params` must be an object");
    request(id, method, params);
  }

 private:
  void notification(const std::string& method, const json& params) {
    if (method == "notifications/cancelled" && params.is_object() && params.contains("requestId")) {
      std::lock_guard guard(queue_lock_);
      auto found = in_flight_.find(params["requestId"].dump());
      if (found != in_flight_.end()) {
        found->second->store(true);
        log_("request " + params["requestId"].dump() + " cancelled by the client" +
             (params.contains("reason") && params["reason"].is_string()
                  ? ": " + params["reason"].get<std::string>()
                  : ""));
      }
    }
    // notifications/initialized and anything else: nothing to do.
  }

  void request(const json& id, const std::string& method, const json& params) {
    if (method == "ping")
      return respond(id, json::object());
    if (method == "initialize")
      return initialize(id, params);
    const bool known = method == "tools/list" || method == "tools/call" ||
                       method == "resources/list" || method == "resources/read" ||
                       method == "resources/templates/list";
    if (!known)
      return fail(id, kMethodNotFound, "method not found: " + method);
    if (!initialized_)
      return fail(id, kInvalidRequest, "the session is not initialized: send `initialize` first");
    if (method == "tools/list")
      return respond(id, {{"tools", tool_list()}});
    if (method == "resources/templates/list") {
      return respond(
          id,
          {{"resourceTemplates",
            json::array({{{"uriTemplate", "kforge://candidates/{id}"},
                          {"name", "candidate"},
                          {"description", "a stored candidate's source (.cu with its launch plan)"},
                          {"mimeType", "text/x-cuda"}}})}});
    }
    if (method == "tools/call")
      return call_tool(id, params);
    if (method == "resources/read" && (!params.contains("uri") || !params["uri"].is_string()))
      return fail(id, kInvalidParams, "invalid params: resources/read needs a string `uri`");
    enqueue(id, method, params, std::nullopt);
  }

  void initialize(const json& id, const json& params) {
    if (initialized_)
      return fail(id, kInvalidRequest, "the session is already initialized");
    if (!params.contains("protocolVersion") || !params["protocolVersion"].is_string())
      return fail(id, kInvalidParams, "invalid params: initialize needs a `protocolVersion`");
    const std::string asked = params["protocolVersion"].get<std::string>();
    protocol_version_ =
        supported_version(asked) ? asked : std::string(std::end(kProtocolVersions)[-1]);
    client_info_ = params.value("clientInfo", json::object());
    if (!client_info_.is_object())
      client_info_ = json::object();
    initialized_ = true;
    log_("client " + client_info_.value("name", std::string("(unnamed)")) + " " +
         client_info_.value("version", std::string()) + ", protocol " + protocol_version_ +
         (asked == protocol_version_ ? "" : " (it asked for " + asked + ")"));
    json server_info = {{"name", info_.name}, {"version", info_.version}};
    json result = {{"protocolVersion", protocol_version_},
                   {"capabilities",
                    {{"tools", {{"listChanged", false}}},
                     {"resources", {{"subscribe", false}, {"listChanged", false}}}}},
                   {"serverInfo", server_info}};
    if (!info_.instructions.empty())
      result["instructions"] = info_.instructions;
    respond(id, result);
  }

  json tool_list() const {
    json tools = json::array();
    for (const Tool& tool : content_.tools()) {
      json entry = {{"name", tool.name},
                    {"title", tool.title},
                    {"description", tool.description},
                    {"inputSchema", tool.input_schema},
                    {"annotations", {{"title", tool.title}, {"readOnlyHint", tool.read_only}}}};
      if (!tool.output_schema.is_null())
        entry["outputSchema"] = tool.output_schema;
      tools.push_back(entry);
    }
    return tools;
  }

  const Tool* find_tool(const std::string& name) const {
    for (const Tool& tool : content_.tools()) {
      if (tool.name == name)
        return &tool;
    }
    return nullptr;
  }

  void call_tool(const json& id, const json& params) {
    if (!params.contains("name") || !params["name"].is_string())
      return fail(id, kInvalidParams, "invalid params: tools/call needs a string `name`");
    const std::string name = params["name"].get<std::string>();
    const Tool* tool = find_tool(name);
    if (!tool) {
      std::vector<std::string> names;
      for (const Tool& known : content_.tools())
        names.push_back(known.name);
      return fail(id, kInvalidParams,
                  "unknown tool '" + name + "' (the tools are " + strings::join(names, ", ") + ")");
    }
    const json arguments = params.value("arguments", json::object());
    if (!arguments.is_object())
      return fail(id, kInvalidParams, "invalid params: `arguments` must be an object");
    if (auto problem = schema_violation(tool->input_schema, arguments)) {
      const std::string message = "invalid arguments for " + name + ": " + *problem;
      if (version_at_least(protocol_version_, "2025-11-25"))
        return respond(id, tool_result(*tool, ToolResult::error(message)));
      return fail(id, kInvalidParams, message);
    }
    std::optional<json> token;
    const json meta = params.value("_meta", json::object());
    if (meta.is_object() && meta.contains("progressToken") &&
        (meta["progressToken"].is_string() || meta["progressToken"].is_number_integer()))
      token = meta["progressToken"];
    json job_params = params;
    job_params["arguments"] = arguments;
    enqueue(id, "tools/call", job_params, token);
  }

  void enqueue(const json& id, const std::string& method, const json& params,
               std::optional<json> token) {
    {
      std::lock_guard guard(queue_lock_);
      auto flag = std::make_shared<std::atomic<bool>>(false);
      if (!in_flight_.emplace(id.dump(), flag).second) {
        // Answered outside the lock below.
        flag.reset();
      } else {
        queue_.push_back({id, method, params, flag, std::move(token)});
        queue_ready_.notify_one();
        return;
      }
    }
    fail(id, kInvalidRequest, "request id " + id.dump() + " is already in use by a request");
  }

  // The worker thread: one job at a time, in the order they came.
  void work() {
    while (true) {
      Job job;
      {
        std::unique_lock guard(queue_lock_);
        queue_ready_.wait(guard, [this] { return closing_ || !queue_.empty(); });
        if (queue_.empty())
          return;
        job = std::move(queue_.front());
        queue_.pop_front();
      }
      if (!job.cancelled->load())
        run(job);
      std::lock_guard guard(queue_lock_);
      in_flight_.erase(job.id.dump());
    }
  }

  class JobContext : public CallContext {
   public:
    JobContext(Session& session, const Job& job) : session_(session), job_(job) {}
    bool cancelled() const override { return job_.cancelled->load(); }
    void progress(double done, double total, const std::string& message) override {
      if (!job_.progress_token || cancelled())
        return;
      session_.send({{"jsonrpc", "2.0"},
                     {"method", "notifications/progress"},
                     {"params",
                      {{"progressToken", *job_.progress_token},
                       {"progress", done},
                       {"total", total},
                       {"message", message}}}});
    }
    const json& client_info() const override { return session_.client_info_; }

   private:
    Session& session_;
    const Job& job_;
  };

  void run(const Job& job) {
    std::optional<json> result;
    std::optional<std::pair<int, std::string>> error;
    try {
      if (job.method == "tools/call") {
        const Tool& tool = *find_tool(job.params["name"].get<std::string>());
        JobContext context(*this, job);
        result = tool_result(tool, call(tool, job.params["arguments"], context));
      } else if (job.method == "resources/list") {
        json resources = json::array();
        for (const Resource& resource : content_.resources()) {
          resources.push_back({{"uri", resource.uri},
                               {"name", resource.name},
                               {"description", resource.description},
                               {"mimeType", resource.mime_type}});
        }
        result = json{{"resources", resources}};
      } else {
        const std::string uri = job.params["uri"].get<std::string>();
        std::optional<ResourceText> text = content_.read_resource(uri);
        if (text) {
          result = json{{"contents", json::array({{{"uri", text->uri},
                                                   {"mimeType", text->mime_type},
                                                   {"text", text->text}}})}};
        } else {
          error.emplace(kResourceNotFound, "resource not found: " + uri);
        }
      }
    } catch (const std::exception& failure) {
      error.emplace(kInternalError, std::string("internal error: ") + failure.what());
    }
    if (job.cancelled->load()) {
      log_("request " + job.id.dump() + " was cancelled: its answer is not sent");
      return;
    }
    if (error)
      return fail(job.id, error->first, error->second);
    respond(job.id, *result);
  }

  // A tool's own failure (kforge's Error included) is a result the model reads; only the
  // protocol's failures are JSON-RPC errors.
  ToolResult call(const Tool& tool, const json& arguments, CallContext& context) {
    try {
      return tool.call(arguments, context);
    } catch (const Error& failure) {
      return ToolResult::error("kforge: error: " + strings::printable_line(failure.what()));
    } catch (const std::exception& failure) {
      return ToolResult::error("kforge: internal error: " +
                               strings::printable_line(failure.what()));
    }
  }

  static json tool_result(const Tool& tool, const ToolResult& result) {
    std::string text = result.text.empty() ? json_text(result.structured, 2) : result.text;
    json answer = {{"content", json::array({{{"type", "text"}, {"text", text}}})},
                   {"isError", result.is_error}};
    if (!result.is_error && !tool.output_schema.is_null())
      answer["structuredContent"] = result.structured;
    return answer;
  }

  void respond(const json& id, json result) {
    send({{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
  }

  void fail(const json& id, int code, const std::string& message) {
    log_("error " + std::to_string(code) + ": " + message);
    send({{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
  }

  void send(const json& message) {
    std::string line = json_text(message);
    std::lock_guard guard(output_lock_);
    output_ << line << '\n';
    output_.flush();
  }

  ServerContent& content_;
  const ServerInfo& info_;
  std::ostream& output_;
  std::function<void(const std::string&)> log_;
  std::mutex output_lock_;

  // Set by the reading thread before any job is queued; read by the worker after.
  bool initialized_ = false;
  std::string protocol_version_;
  json client_info_ = json::object();

  std::mutex queue_lock_;
  std::condition_variable queue_ready_;
  std::deque<Job> queue_;
  bool closing_ = false;
  std::map<std::string, std::shared_ptr<std::atomic<bool>>> in_flight_;  // by id's JSON text
  std::thread worker_;
};

}  // namespace

void serve(ServerContent& content, const ServerInfo& info, std::istream& input,
           std::ostream& output, const std::function<void(const std::string&)>& log) {
  Session session(content, info, output, log);
  session.start();
  std::string line;
  try {
    while (std::getline(input, line))
      session.handle_line(std::move(line));
  } catch (...) {
    session.finish();
    throw;
  }
  session.finish();
}

}  // namespace kforge::mcp
