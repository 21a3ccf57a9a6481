#include "agents/provider.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <thread>
#include <utility>

#include "agents/http_client.hpp"
#include "agents/response_parser.hpp"
#include "harness/config.hpp"
#include "harness/util/error.hpp"
#include "harness/util/files.hpp"
#include "tests/support/fake_llm_server.hpp"

namespace kforge::agents {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

// Each test runs against a fresh server, for both protocols and both transfer modes.
struct Mode {
  const char* provider;
  bool stream;
};

class AgentsProvider : public ::testing::TestWithParam<Mode> {
 protected:
  ProviderSettings settings(const std::string& model) const {
    ProviderSettings settings;
    settings.provider = GetParam().provider;
    settings.stream = GetParam().stream;
    settings.base_url = server_.base_url();
    settings.model = model;
    settings.retries = 0;
    settings.timeout = std::chrono::seconds(20);
    settings.backoff_initial = milliseconds(50);
    settings.backoff_max = milliseconds(2000);
    return settings;
  }

  static LlmRequest request(const std::string& prompt = "write a kernel") {
    LlmRequest request;
    request.conversation.system = "You write CUDA.";
    request.conversation.messages.push_back({"user", prompt});
    return request;
  }

  json requests_seen() const {
    HttpRequest control;
    control.url = "http://127.0.0.1:" + std::to_string(server_.port()) + "/control/requests";
    control.body = "{}";
    return json::parse(http_post(control).body);
  }

  LlmResponse complete(const std::string& model, int retries = 0) const {
    ProviderSettings chosen = settings(model);
    chosen.retries = retries;
    return make_provider(chosen)->complete(request());
  }

  testing::FakeLlmServer server_;
};

// The names are what llm_exchanges.status holds: every status reads back from its name.
TEST(LlmStatusNames, EveryStatusRoundTripsThroughItsName) {
  const std::pair<LlmStatus, const char*> statuses[] = {
      {LlmStatus::kOk, "ok"},
      {LlmStatus::kAuthFailed, "auth_failed"},
      {LlmStatus::kUnknownModel, "unknown_model"},
      {LlmStatus::kUnreachable, "unreachable"},
      {LlmStatus::kBadRequest, "bad_request"},
      {LlmStatus::kRateLimited, "rate_limited"},
      {LlmStatus::kServerError, "server_error"},
      {LlmStatus::kTimeout, "timeout"},
      {LlmStatus::kDropped, "dropped"},
      {LlmStatus::kMalformed, "malformed"},
      {LlmStatus::kTooLarge, "too_large"},
      {LlmStatus::kCancelled, "cancelled"},
  };
  for (const auto& [status, name] : statuses) {
    EXPECT_EQ(llm_status_name(status), name);
    EXPECT_EQ(llm_status_named(name), status) << name;
  }
  EXPECT_FALSE(llm_status_named("no_candidate"));  // an exchange's, not a request's
  EXPECT_FALSE(llm_status_named("OK"));
  EXPECT_FALSE(llm_status_named(""));
}

TEST_P(AgentsProvider, AnswersWithTextTokensCostAndSanitizedRequest) {
  ProviderSettings chosen = settings("ok");
  chosen.price_input_per_mtok = 3;
  chosen.price_output_per_mtok = 15;
  auto provider = make_provider(chosen);
  std::string streamed;
  LlmResponse response =
      provider->complete(request(), [&](std::string_view piece) { streamed.append(piece); });
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_NE(response.text.find("kforge:launch"), std::string::npos);
  EXPECT_TRUE(parse_reply(response.text).source.has_value());
  EXPECT_EQ(streamed, GetParam().stream ? response.text : "");
  EXPECT_GT(response.input_tokens, 0);
  EXPECT_GT(response.output_tokens, 0);
  EXPECT_DOUBLE_EQ(response.cost_usd,
                   (response.input_tokens * 3.0 + response.output_tokens * 15.0) / 1e6);
  EXPECT_FALSE(response.finish_reason.empty());
  EXPECT_EQ(response.attempts, 1);
  EXPECT_EQ(response.request_json["body"]["model"], "ok");
  EXPECT_EQ(response.request_json["provider"], GetParam().provider);
  UsageTotals totals = provider->totals();
  EXPECT_EQ(totals.requests, 1);
  EXPECT_EQ(totals.output_tokens, response.output_tokens);

  json seen = requests_seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0]["body"].value("stream", false), GetParam().stream);
  if (std::string(GetParam().provider) == "anthropic") {
    EXPECT_EQ(seen[0]["headers"]["anthropic-version"], "2023-06-01");
    EXPECT_EQ(seen[0]["body"]["system"], "You write CUDA.");
  } else {
    EXPECT_EQ(seen[0]["body"]["messages"][0]["role"], "system");
    if (GetParam().stream) {
      EXPECT_EQ(seen[0]["body"]["stream_options"]["include_usage"], true);
    }
  }
}

TEST_P(AgentsProvider, RetriesRateLimitsHonouringRetryAfter) {
  LlmResponse response = complete("429x1", 2);
  ASSERT_TRUE(response.ok()) << response.error;
  EXPECT_EQ(response.attempts, 2);
  EXPECT_GE(response.latency, milliseconds(1000));  // the server asked for 1 s

  LlmResponse exhausted = complete("429", 1);
  EXPECT_EQ(exhausted.status, LlmStatus::kRateLimited);
  EXPECT_EQ(exhausted.attempts, 2);
  EXPECT_EQ(exhausted.http_status, 429);
  EXPECT_NE(exhausted.error.find("slow down"), std::string::npos) << exhausted.error;
  EXPECT_FALSE(llm_status_is_fatal(exhausted.status));
}

TEST_P(AgentsProvider, RetriesServerErrorsAndDroppedConnections) {
  LlmResponse recovered = complete("500x2", 3);
  ASSERT_TRUE(recovered.ok()) << recovered.error;
  EXPECT_EQ(recovered.attempts, 3);
  LlmResponse failed = complete("500", 0);
  EXPECT_EQ(failed.status, LlmStatus::kServerError);
  EXPECT_EQ(failed.attempts, 1);
  EXPECT_EQ(complete("dropx1", 1).attempts, 2);
  EXPECT_EQ(complete("drop").status, LlmStatus::kDropped);
}

TEST_P(AgentsProvider, TruncatedAndMalformedAnswersAreRecordedOutcomes) {
  LlmResponse truncated = complete("truncate");
  EXPECT_EQ(truncated.status, LlmStatus::kDropped) << truncated.error;
  EXPECT_TRUE(truncated.text.empty());
  LlmResponse malformed = complete("malformed");
  EXPECT_EQ(malformed.status, LlmStatus::kMalformed) << malformed.error;
  EXPECT_EQ(malformed.error.find('\n'), std::string::npos);
}

TEST_P(AgentsProvider, SlowAnswersTimeOut) {
  ProviderSettings chosen = settings("slow");
  chosen.timeout = milliseconds(800);
  auto started = std::chrono::steady_clock::now();
  LlmResponse response = make_provider(chosen)->complete(request());
  EXPECT_EQ(response.status, LlmStatus::kTimeout) << response.error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));
}

// Ctrl-C: a request in flight, or waiting to retry, ends at once as kCancelled and is neither
// cached nor retried.
TEST_P(AgentsProvider, ACancelledRequestEndsAtOnce) {
  ProviderSettings chosen = settings("slow");  // the server answers after 5 s
  std::atomic<bool> cancel{false};
  LlmRequest in_flight = request();
  in_flight.cancel = &cancel;
  std::thread canceller([&cancel] {
    std::this_thread::sleep_for(milliseconds(300));
    cancel.store(true);
  });
  auto started = std::chrono::steady_clock::now();
  LlmResponse response = make_provider(chosen)->complete(in_flight);
  canceller.join();
  EXPECT_EQ(response.status, LlmStatus::kCancelled) << response.error;
  EXPECT_EQ(llm_status_name(response.status), "cancelled");
  EXPECT_FALSE(llm_status_is_fatal(response.status));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(3));

  // Waiting out a long backoff between retries: cancelled too, after the one attempt.
  ProviderSettings retrying = settings("500");
  retrying.retries = 3;
  retrying.backoff_initial = std::chrono::seconds(30);
  retrying.backoff_max = std::chrono::seconds(30);
  std::atomic<bool> later{false};
  LlmRequest waiting = request("another kernel");
  waiting.cancel = &later;
  std::thread second([&later] {
    std::this_thread::sleep_for(milliseconds(500));
    later.store(true);
  });
  started = std::chrono::steady_clock::now();
  LlmResponse gave_up = make_provider(retrying)->complete(waiting);
  second.join();
  EXPECT_EQ(gave_up.status, LlmStatus::kCancelled) << gave_up.error;
  EXPECT_EQ(gave_up.attempts, 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

TEST_P(AgentsProvider, AStalledAnswerEndsAtTheIdleLimit) {
  ProviderSettings chosen = settings("stall");
  chosen.idle_timeout = std::chrono::seconds(1);
  auto started = std::chrono::steady_clock::now();
  LlmResponse response = make_provider(chosen)->complete(request());
  EXPECT_EQ(response.status, LlmStatus::kTimeout) << response.error;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
}

TEST_P(AgentsProvider, AnswersWithoutCodeAndHugeAnswers) {
  LlmResponse prose = complete("nocode");
  ASSERT_TRUE(prose.ok()) << prose.error;
  ParsedReply parsed = parse_reply(prose.text);
  EXPECT_FALSE(parsed.source);
  EXPECT_NE(parsed.reason.find("no code block"), std::string::npos) << parsed.reason;

  LlmResponse huge = complete("huge");
  ASSERT_TRUE(huge.ok()) << huge.error;
  EXPECT_GT(huge.text.size(), 3000000u);
  EXPECT_TRUE(parse_reply(huge.text).source.has_value());

  ProviderSettings capped = settings("huge");
  capped.max_response_bytes = 1 << 20;
  LlmResponse refused = make_provider(capped)->complete(request());
  EXPECT_EQ(refused.status, LlmStatus::kTooLarge) << refused.error;
}

TEST_P(AgentsProvider, UnknownModelAndUnreachableEndpointAreFatal) {
  LlmResponse unknown = complete("404");
  EXPECT_EQ(unknown.status, LlmStatus::kUnknownModel) << unknown.error;
  EXPECT_TRUE(llm_status_is_fatal(unknown.status));
  EXPECT_NE(unknown.error.find("unknown model '404'"), std::string::npos) << unknown.error;
  EXPECT_EQ(unknown.attempts, 1);

  ProviderSettings nowhere = settings("ok");
  nowhere.base_url = "http://127.0.0.1:1/v1";
  nowhere.retries = 3;
  LlmResponse unreachable = make_provider(nowhere)->complete(request());
  EXPECT_EQ(unreachable.status, LlmStatus::kUnreachable) << unreachable.error;
  EXPECT_EQ(unreachable.attempts, 1);
  EXPECT_NE(unreachable.error.find("127.0.0.1:1"), std::string::npos) << unreachable.error;
}

TEST_P(AgentsProvider, CacheAnswersRepeatsButNotOtherSamples) {
  testing::TemporaryDirectory dir;
  ProviderSettings chosen = settings("ok");
  chosen.cache_dir = dir.path();
  chosen.price_output_per_mtok = 10;
  auto provider = make_provider(chosen);
  LlmResponse first = provider->complete(request());
  ASSERT_TRUE(first.ok()) << first.error;
  LlmResponse again = provider->complete(request());
  EXPECT_TRUE(again.from_cache);
  EXPECT_EQ(again.text, first.text);
  EXPECT_EQ(again.cache_key, first.cache_key);
  EXPECT_EQ(again.cost_usd, 0);
  EXPECT_EQ(again.attempts, 0);
  LlmRequest second_sample = request();
  second_sample.sample_index = 1;
  LlmResponse other = provider->complete(second_sample);
  EXPECT_FALSE(other.from_cache);
  EXPECT_NE(other.text, first.text);  // the fake numbers its answers
  EXPECT_EQ(requests_seen().size(), 2u);
  EXPECT_EQ(provider->totals().cache_hits, 1);

  // A failure is never cached.
  ProviderSettings failing = chosen;
  failing.model = "500x1";
  auto flaky = make_provider(failing);
  EXPECT_FALSE(flaky->complete(request()).ok());
  EXPECT_TRUE(flaky->complete(request()).ok());
}

TEST_P(AgentsProvider, DamagedOrMistypedCacheFilesAreMissesNotCrashes) {
  testing::TemporaryDirectory dir;
  ProviderSettings chosen = settings("ok");
  chosen.cache_dir = dir.path();
  auto provider = make_provider(chosen);
  LlmResponse first = provider->complete(request());
  ASSERT_TRUE(first.ok()) << first.error;
  std::filesystem::path file =
      dir.path() / first.cache_key.substr(0, 2) / (first.cache_key + ".json");
  ASSERT_TRUE(std::filesystem::exists(file));
  size_t asked = requests_seen().size();
  for (const char* damaged :
       {R"({"text": 5})", R"({"text": "x", "input_tokens": "many"})",
        R"({"text": "x", "finish_reason": [1]})", R"({"text": "x", "output_tokens": 1e300})",
        R"(["text"])", "not json"}) {
    files::write_atomic(file, damaged);
    LlmResponse again = provider->complete(request());
    EXPECT_TRUE(again.ok()) << damaged << ": " << again.error;
    EXPECT_FALSE(again.from_cache) << damaged;
    EXPECT_EQ(requests_seen().size(), ++asked) << damaged;
    // The answer asked again replaced the damaged file.
    EXPECT_TRUE(provider->complete(request()).from_cache) << damaged;
  }
}

TEST_P(AgentsProvider, TheKeyTravelsOnlyInAHeader) {
  testing::FakeLlmServer keyed({"--key", "sk-test-secret-123"});
  testing::TemporaryDirectory dir;
  ProviderSettings chosen = settings("ok");
  chosen.base_url = keyed.base_url();
  chosen.cache_dir = dir.path();
  chosen.api_key_env = "KFORGE_TEST_GOOD_KEY";
  LlmResponse good = make_provider(chosen, "sk-test-secret-123")->complete(request());
  ASSERT_TRUE(good.ok()) << good.error;
  EXPECT_EQ(good.request_json.dump().find("secret"), std::string::npos);
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (entry.is_regular_file()) {
      EXPECT_EQ(files::read(entry.path()).find("secret"), std::string::npos);
    }
  }

  // The key is no part of the cache key, so the same request would be a cache hit: no cache.
  chosen.cache_dir.reset();
  chosen.api_key_env = "KFORGE_TEST_BAD_KEY";
  chosen.retries = 2;
  LlmResponse bad = make_provider(chosen, "sk-wrong-secret-456")->complete(request());
  EXPECT_EQ(bad.status, LlmStatus::kAuthFailed);
  EXPECT_TRUE(llm_status_is_fatal(bad.status));
  EXPECT_EQ(bad.attempts, 1);
  // The server echoes the key it was sent; the error must not.
  EXPECT_EQ(bad.error.find("sk-wrong-secret-456"), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("[redacted]"), std::string::npos) << bad.error;
  EXPECT_NE(bad.error.find("$KFORGE_TEST_BAD_KEY"), std::string::npos) << bad.error;
}

TEST_P(AgentsProvider, ConcurrentRequestsFromManyThreads) {
  ProviderSettings chosen = settings("ok");
  chosen.concurrency = 3;
  auto provider = make_provider(chosen);
  std::atomic<int> successes = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] {
      LlmRequest mine = request();
      mine.sample_index = i;
      if (provider->complete(mine).ok())
        ++successes;
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(successes.load(), 6);
  EXPECT_EQ(provider->totals().requests, 6);
}

INSTANTIATE_TEST_SUITE_P(Protocols, AgentsProvider,
                         ::testing::Values(Mode{"openai", false}, Mode{"openai", true},
                                           Mode{"anthropic", false}, Mode{"anthropic", true}),
                         [](const ::testing::TestParamInfo<Mode>& info) {
                           return std::string(info.param.provider) +
                                  (info.param.stream ? "Streaming" : "Whole");
                         });

TEST(AgentsProviderSettings, ConfigurationMistakesAreOneLineErrors) {
  ProviderSettings settings;
  settings.base_url = "http://127.0.0.1:1/v1";
  settings.model = "m";
  settings.provider = "anthropik";
  try {
    make_provider(settings);
    FAIL();
  } catch (const Error& failure) {
    EXPECT_NE(std::string(failure.what()).find("did you mean 'anthropic'"), std::string::npos)
        << failure.what();
  }
  settings.provider = "openai";
  settings.model.clear();
  EXPECT_THROW(make_provider(settings), Error);
}

TEST(AgentsProviderSettings, ReadFromTheConfigurationAsTheLoopWill) {
  testing::TemporaryDirectory dir;
  testing::write_text(dir / "kforge.toml",
                      "[llm]\nprovider = \"anthropic\"\nbase_url = \"http://h/v1\"\n"
                      "model = \"m\"\napi_key_env = \"K\"\ntemperature = 0.2\n"
                      "price_output_per_mtok = 15\nstream = false\n");
  Config config = Config::load(dir / "kforge.toml");
  config.set("llm.max_tokens", "100");
  config.set("llm.timeout_s", "30");
  ProviderSettings settings = ProviderSettings::from_config_json(config.to_json());
  EXPECT_EQ(settings.provider, "anthropic");
  EXPECT_EQ(settings.base_url, "http://h/v1");
  EXPECT_EQ(settings.model, "m");
  EXPECT_EQ(settings.api_key_env, "K");
  EXPECT_DOUBLE_EQ(settings.temperature, 0.2);
  EXPECT_EQ(settings.max_tokens, 100);
  EXPECT_EQ(settings.timeout, std::chrono::seconds(30));
  EXPECT_EQ(settings.concurrency, 4);
  EXPECT_EQ(settings.retries, 4);
  EXPECT_DOUBLE_EQ(settings.price_output_per_mtok, 15.0);
  EXPECT_FALSE(settings.stream);
  EXPECT_EQ(config.integer("llm.samples"), 4);
  EXPECT_THROW(config.set("llm.temperature", "warm"), Error);
}

}  // namespace
}  // namespace kforge::agents
