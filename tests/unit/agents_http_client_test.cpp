#include "agents/http_client.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/support/fake_llm_server.hpp"

namespace kforge::agents {
namespace {

using nlohmann::json;

HttpRequest chat(const testing::FakeLlmServer& server, const std::string& model,
                 bool stream = false) {
  HttpRequest request;
  request.url = server.base_url() + "/chat/completions";
  request.headers = {{"Content-Type", "application/json"}};
  json body = {{"model", model}, {"messages", json::array()}};
  if (stream)
    body["stream"] = true;
  request.body = body.dump();
  request.total_timeout = std::chrono::seconds(20);
  return request;
}

TEST(AgentsSseParser, SplitsEventsAcrossArbitraryChunksAndLineEndings) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& event) {
    events.push_back(event);
    return true;
  });
  std::string stream =
      ": comment\r\nevent: first\r\ndata: a\r\ndata: b\r\n\r\ndata:c\n\ndata: d\r\rid: 7\n\n";
  for (char c : stream)
    ASSERT_TRUE(parser.feed(std::string_view(&c, 1)));
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].event, "first");
  EXPECT_EQ(events[0].data, "a\nb");
  EXPECT_EQ(events[1].event, "");
  EXPECT_EQ(events[1].data, "c");
  EXPECT_EQ(events[2].data, "d");
  EXPECT_FALSE(parser.has_partial_event());
  parser.feed("data: unfinished");
  EXPECT_TRUE(parser.has_partial_event());
}

TEST(AgentsSseParser, StopsWhenTheCallbackSaysSo) {
  int seen = 0;
  SseParser parser([&](const SseEvent&) { return ++seen < 2; });
  EXPECT_FALSE(parser.feed("data: 1\n\ndata: 2\n\ndata: 3\n\n"));
  EXPECT_EQ(seen, 2);
}

TEST(AgentsHttpClient, NothingListeningIsUnreachable) {
  HttpRequest request;
  request.url = "http://127.0.0.1:1/v1/chat/completions";
  request.body = "{}";
  HttpResponse response = http_post(request);
  EXPECT_EQ(response.failure, TransportFailure::kUnreachable) << response.describe();
  EXPECT_NE(response.curl_code, 0);
  EXPECT_NE(response.describe().find("unreachable"), std::string::npos);
}

TEST(AgentsHttpClient, OtherSchemesAreRefused) {
  HttpRequest request;
  request.url = "file:///etc/passwd";
  HttpResponse response = http_post(request);
  EXPECT_FALSE(response.completed());
  EXPECT_TRUE(response.body.empty());
}

TEST(AgentsHttpClient, AnswersErrorsDropsTimeoutsAndSizeLimits) {
  testing::FakeLlmServer server;
  HttpResponse ok = http_post(chat(server, "ok"));
  ASSERT_TRUE(ok.success()) << ok.describe() << ok.body;
  EXPECT_EQ(ok.headers["content-type"], "application/json");
  EXPECT_TRUE(json::parse(ok.body).contains("choices"));

  HttpResponse limited = http_post(chat(server, "429"));
  EXPECT_TRUE(limited.completed());
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers["retry-after"], "1");
  EXPECT_NE(limited.body.find("slow down"), std::string::npos);

  HttpResponse dropped = http_post(chat(server, "drop"));
  EXPECT_EQ(dropped.failure, TransportFailure::kDropped) << dropped.describe();

  HttpResponse truncated = http_post(chat(server, "truncate"));
  EXPECT_EQ(truncated.failure, TransportFailure::kDropped) << truncated.describe();

  HttpRequest slow = chat(server, "slow");
  slow.total_timeout = std::chrono::milliseconds(700);
  auto started = std::chrono::steady_clock::now();
  HttpResponse timed_out = http_post(slow);
  EXPECT_EQ(timed_out.failure, TransportFailure::kTimeout) << timed_out.describe();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(4));

  HttpRequest huge = chat(server, "huge");
  huge.max_body_bytes = 100000;
  EXPECT_EQ(http_post(huge).failure, TransportFailure::kTooLarge);
}

TEST(AgentsHttpClient, StreamsChunksAndCanAbort) {
  testing::FakeLlmServer server;
  std::string streamed;
  int chunks = 0;
  HttpResponse response = http_post(chat(server, "ok", true), [&](std::string_view chunk) {
    streamed.append(chunk);
    ++chunks;
    return true;
  });
  ASSERT_TRUE(response.success()) << response.describe();
  EXPECT_TRUE(response.body.empty());
  EXPECT_GE(chunks, 1);
  EXPECT_NE(streamed.find("data: [DONE]"), std::string::npos);

  HttpResponse aborted =
      http_post(chat(server, "ok", true), [](std::string_view) { return false; });
  EXPECT_EQ(aborted.failure, TransportFailure::kAborted);

  // An error status is collected as a body, not streamed.
  bool called = false;
  HttpResponse refused = http_post(chat(server, "500", true), [&](std::string_view) {
    called = true;
    return true;
  });
  EXPECT_EQ(refused.status, 500);
  EXPECT_FALSE(called);
  EXPECT_NE(refused.body.find("internal error"), std::string::npos);
}

TEST(AgentsHttpClient, ManyThreadsAtOnce) {
  testing::FakeLlmServer server;
  std::atomic<int> successes = 0;
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i) {
    threads.emplace_back([&] {
      for (int j = 0; j < 3; ++j) {
        if (http_post(chat(server, "ok")).success())
          ++successes;
      }
    });
  }
  for (std::thread& thread : threads)
    thread.join();
  EXPECT_EQ(successes.load(), 24);
}

}  // namespace
}  // namespace kforge::agents
