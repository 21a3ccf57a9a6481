// What each model family is sent, checked against the loopback server, which refuses a request
// as the real server would (OpenAI's reasoning models, Anthropic's thinking and Opus 4.7) and
// imitates local OpenAI-compatible servers' quirks; the real provider code over HTTP throughout.
#include "agents/model_family.hpp"

#include <gtest/gtest.h>

#include "agents/http_client.hpp"
#include "agents/llm_agent.hpp"
#include "agents/provider.hpp"
#include "harness/config.hpp"
#include "harness/util/error.hpp"
#include "tests/support/fake_llm_server.hpp"

namespace kforge::agents {
namespace {

using nlohmann::json;

TEST(AgentsModelFamily, PatternsAreGlobsOverTheWholeName) {
  EXPECT_TRUE(model_pattern_matches("gpt-5*", "gpt-5"));
  EXPECT_TRUE(model_pattern_matches("gpt-5*", "gpt-5-mini-2025-08-07"));
  EXPECT_FALSE(model_pattern_matches("gpt-5*", "my-gpt-5"));
  EXPECT_TRUE(model_pattern_matches("*gpt-5*", "openai/gpt-5"));
  EXPECT_TRUE(model_pattern_matches("o?-mini", "o3-mini"));
  EXPECT_FALSE(model_pattern_matches("o?-mini", "o3-mini-high"));
  EXPECT_TRUE(model_pattern_matches("gpt-4.1", "gpt-4.1"));
  EXPECT_FALSE(model_pattern_matches("gpt-4.1", "gpt-4x1"));
  EXPECT_TRUE(model_pattern_matches("*", ""));
  EXPECT_TRUE(model_pattern_matches("a*b*c", "aXXbYYbZc"));
  EXPECT_FALSE(model_pattern_matches("a*b*c", "aXXbYYbZ"));
}

TEST(AgentsModelFamily, EachFieldResolvesOnItsOwnAndTheWorkspaceWins) {
  ModelSettings plain = resolve_model_settings("Qwen/Qwen2.5-Coder-32B-Instruct", {});
  EXPECT_EQ(plain.token_field, "max_tokens");
  EXPECT_TRUE(plain.send_temperature);
  EXPECT_EQ(plain.reasoning_effort, "");
  EXPECT_EQ(plain.thinking, "off");
  for (const char* name : {"o1", "o3-mini", "o4-mini", "gpt-5", "gpt-5-nano"}) {
    ModelSettings reasoning = resolve_model_settings(name, {});
    EXPECT_EQ(reasoning.token_field, "max_completion_tokens") << name;
    EXPECT_FALSE(reasoning.send_temperature) << name;
  }
  EXPECT_FALSE(resolve_model_settings("claude-opus-4-7", {}).send_temperature);
  EXPECT_TRUE(resolve_model_settings("claude-sonnet-4-5", {}).send_temperature);

  std::vector<ModelRule> workspace = {
      ModelRule{.pattern = "gpt-5*", .reasoning_effort = "high"},
      ModelRule{.pattern = "gpt-5-mini*", .reasoning_effort = "low"},
      ModelRule{.pattern = "*", .send_temperature = true},
  };
  ModelSettings mini = resolve_model_settings("gpt-5-mini", workspace);
  EXPECT_EQ(mini.reasoning_effort, "low");               // the longer pattern
  EXPECT_EQ(mini.token_field, "max_completion_tokens");  // kept from the family
  EXPECT_TRUE(mini.send_temperature);                    // any workspace row beats a built-in one
  EXPECT_EQ(resolve_model_settings("gpt-5", workspace).reasoning_effort, "high");
}

// One server per test; both transfer modes.
class AgentsModelFamilyOverHttp : public ::testing::TestWithParam<bool> {
 protected:
  ProviderSettings settings(const std::string& provider, const std::string& model,
                            std::vector<ModelRule> rules = {}) const {
    ProviderSettings settings;
    settings.provider = provider;
    settings.stream = GetParam();
    settings.base_url = server_.base_url();
    settings.model = model;
    settings.retries = 0;
    settings.max_tokens = 3000;
    settings.temperature = 0.7;
    settings.timeout = std::chrono::seconds(20);
    settings.model_rules = std::move(rules);
    return settings;
  }

  LlmResponse complete(const ProviderSettings& chosen) const {
    LlmRequest request;
    request.conversation.system = "You write CUDA.";
    request.conversation.messages.push_back({"user", "write a kernel"});
    return make_provider(chosen)->complete(request);
  }

  // The body of the last request the server saw.
  json last_body() const {
    HttpRequest control;
    control.url = "http://127.0.0.1:" + std::to_string(server_.port()) + "/control/requests";
    control.body = "{}";
    json seen = json::parse(http_post(control).body);
    return seen.empty() ? json() : seen.back()["body"];
  }

  Proposal propose_with(const ProviderSettings& chosen) const {
    Ask ask;
    ask.conversation.messages.push_back({"user", "write a kernel"});
    return propose(*make_provider(chosen), ask);
  }

  testing::FakeLlmServer server_;
};

TEST_P(AgentsModelFamilyOverHttp, OpenAiReasoningModelsGetTheFieldsTheyAccept) {
  for (const char* model : {"gpt-5-mini", "o3-mini/tag", "o1"}) {
    LlmResponse answer = complete(settings("openai", model));
    ASSERT_TRUE(answer.ok()) << model << ": " << answer.error;
    json body = last_body();
    EXPECT_EQ(body["max_completion_tokens"], 3000) << model;
    EXPECT_FALSE(body.contains("max_tokens")) << model;
    EXPECT_FALSE(body.contains("temperature")) << model;
    EXPECT_FALSE(body.contains("reasoning_effort")) << model;
  }
  LlmResponse effort =
      complete(settings("openai", "gpt-5", {{.pattern = "gpt-5*", .reasoning_effort = "high"}}));
  ASSERT_TRUE(effort.ok()) << effort.error;
  EXPECT_EQ(last_body()["reasoning_effort"], "high");
  // An ordinary chat model is sent what it was always sent.
  ASSERT_TRUE(complete(settings("openai", "gpt-4.1")).ok());
  json plain = last_body();
  EXPECT_EQ(plain["max_tokens"], 3000);
  EXPECT_DOUBLE_EQ(plain["temperature"].get<double>(), 0.7);
  EXPECT_FALSE(plain.contains("max_completion_tokens"));
}

TEST_P(AgentsModelFamilyOverHttp, WhatTheRealServerRefusesIsARecordedBadRequest) {
  // A workspace row that undoes the family's settings gets the real server's 400, whose message
  // the error keeps.
  LlmResponse limit =
      complete(settings("openai", "gpt-5", {{.pattern = "gpt-5", .token_field = "max_tokens"}}));
  EXPECT_EQ(limit.status, LlmStatus::kBadRequest);
  EXPECT_EQ(limit.http_status, 400);
  EXPECT_NE(limit.error.find("Unsupported parameter: 'max_tokens'"), std::string::npos)
      << limit.error;
  EXPECT_FALSE(llm_status_is_fatal(limit.status));
  LlmResponse temperature =
      complete(settings("openai", "o3", {{.pattern = "o3", .send_temperature = true}}));
  EXPECT_EQ(temperature.status, LlmStatus::kBadRequest);
  EXPECT_NE(temperature.error.find("Only the default (1) value is supported"), std::string::npos)
      << temperature.error;
  LlmResponse opus = complete(settings("anthropic", "claude-opus-4-7",
                                       {{.pattern = "claude-*", .send_temperature = true}}));
  EXPECT_EQ(opus.status, LlmStatus::kBadRequest);
  EXPECT_NE(opus.error.find("`temperature` is deprecated"), std::string::npos) << opus.error;
  ASSERT_TRUE(complete(settings("anthropic", "claude-opus-4-7")).ok());
  EXPECT_FALSE(last_body().contains("temperature"));
}

TEST_P(AgentsModelFamilyOverHttp, AnthropicThinkingGetsItsBudgetOnTopAndNoTemperature) {
  LlmResponse budget = complete(settings(
      "anthropic", "claude-sonnet-4-5",
      {{.pattern = "claude-sonnet-4-5*", .thinking = "enabled", .thinking_budget = 4096}}));
  ASSERT_TRUE(budget.ok()) << budget.error;
  json body = last_body();
  EXPECT_EQ(body["thinking"], json({{"type", "enabled"}, {"budget_tokens", 4096}}));
  EXPECT_EQ(body["max_tokens"], 3000 + 4096);
  EXPECT_FALSE(body.contains("temperature"));
  // The thinking block is the model's reasoning, not its answer.
  EXPECT_EQ(budget.text.find("Thinking:"), std::string::npos);
  EXPECT_NE(budget.text.find("kforge:launch"), std::string::npos);

  LlmResponse adaptive = complete(settings(
      "anthropic", "claude-opus-4-7",
      {{.pattern = "claude-opus-4-7*", .reasoning_effort = "high", .thinking = "adaptive"}}));
  ASSERT_TRUE(adaptive.ok()) << adaptive.error;
  body = last_body();
  EXPECT_EQ(body["thinking"], json({{"type", "adaptive"}}));
  EXPECT_EQ(body["output_config"], json({{"effort", "high"}}));
  EXPECT_EQ(body["max_tokens"], 3000);

  // Opus 4.7 refuses a budget: the real message comes back.
  LlmResponse refused = complete(settings("anthropic", "claude-opus-4-7",
                                          {{.pattern = "claude-opus-4-7", .thinking = "enabled"}}));
  EXPECT_EQ(refused.status, LlmStatus::kBadRequest);
  EXPECT_NE(refused.error.find("thinking.type.enabled"), std::string::npos) << refused.error;
}

TEST_P(AgentsModelFamilyOverHttp, LocalServersQuirksStillGiveAnswers) {
  // No usage anywhere: the answer counts, with zero tokens and cost.
  for (const char* model : {"nousage", "local"}) {
    ProviderSettings chosen = settings("openai", model);
    chosen.price_output_per_mtok = 10;
    LlmResponse answer = complete(chosen);
    ASSERT_TRUE(answer.ok()) << model << ": " << answer.error;
    EXPECT_NE(answer.text.find("kforge:launch"), std::string::npos) << model;
    EXPECT_EQ(answer.input_tokens, 0) << model;
    EXPECT_EQ(answer.output_tokens, 0) << model;
    EXPECT_EQ(answer.cost_usd, 0) << model;
    EXPECT_EQ(answer.finish_reason, "stop") << model;
  }
  // vLLM's and SGLang's reasoning parsers: reasoning_content is left out of the answer.
  LlmResponse reasoning = complete(settings("openai", "reasoning"));
  ASSERT_TRUE(reasoning.ok()) << reasoning.error;
  EXPECT_EQ(reasoning.text.find("Thinking:"), std::string::npos);
  EXPECT_EQ(reasoning.text.find("draft"), std::string::npos);
  EXPECT_TRUE(parse_reply(reasoning.text).source.has_value());
  // Ollama's string error body for a model it has not pulled: fatal, with its message.
  LlmResponse missing = complete(settings("openai", "ollama404"));
  EXPECT_EQ(missing.status, LlmStatus::kUnknownModel);
  EXPECT_NE(missing.error.find("try pulling it first"), std::string::npos) << missing.error;
}

TEST_P(AgentsModelFamilyOverHttp, AnAnswerCutAtItsTokenLimitIsHandledAsTruncated) {
  for (const char* provider : {"openai", "anthropic"}) {
    Proposal cut = propose_with(settings(provider, "length"));
    ASSERT_TRUE(cut.response.ok()) << cut.response.error;
    EXPECT_TRUE(cut.response.truncated) << provider;
    EXPECT_FALSE(cut.source) << provider;
    auto feedback = cut.feedback_without_candidate();
    ASSERT_TRUE(feedback) << provider;
    EXPECT_EQ(feedback->outcome, Outcome::kNoCandidate);
    std::string reason = feedback->evidence["reason"].get<std::string>();
    EXPECT_NE(reason.find("cut off"), std::string::npos) << reason;
    EXPECT_NE(reason.find("llm.max_tokens"), std::string::npos) << reason;
    EXPECT_EQ(feedback->evidence["finish_reason"],
              std::string(provider) == "openai" ? "length" : "max_tokens");

    // The limit hit after the code block closed: the candidate is whole and is evaluated.
    Proposal prose = propose_with(settings(provider, "lengthprose"));
    ASSERT_TRUE(prose.response.ok()) << prose.response.error;
    EXPECT_TRUE(prose.response.truncated) << provider;
    EXPECT_TRUE(prose.source) << provider << ": " << prose.no_candidate_reason;

    Proposal whole = propose_with(settings(provider, "ok"));
    EXPECT_FALSE(whole.response.truncated) << provider;
    EXPECT_TRUE(whole.source) << provider;
  }
}

INSTANTIATE_TEST_SUITE_P(Transfers, AgentsModelFamilyOverHttp, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Streaming") : std::string("Whole");
                         });

TEST(AgentsModelFamilyConfiguration, SectionsPerPatternInKforgeToml) {
  testing::TemporaryDirectory dir;
  testing::write_text(
      dir / "kforge.toml",
      "[llm]\nmodel = \"gpt-5-mini\"\n"
      "[llm.models.\"gpt-5*\"]\nreasoning_effort = \"high\"\n"
      "[llm.models.\"gpt-4.1*\"]\ntoken_field = \"max_completion_tokens\"\n"
      "temperature = false\n"
      "[llm.models.\"claude-*\"]\nthinking = \"enabled\"\nthinking_budget = 8000\n");
  Config config = Config::load(dir / "kforge.toml");
  EXPECT_EQ(config.string("llm.models.gpt-5*.reasoning_effort"), "high");
  EXPECT_EQ(config.source("llm.models.gpt-4.1*.token_field"), (dir / "kforge.toml").string());
  ProviderSettings settings = ProviderSettings::from_config_json(config.to_json());
  ASSERT_EQ(settings.model_rules.size(), 3u);
  EXPECT_EQ(resolve_model_settings("gpt-5-mini", settings.model_rules).reasoning_effort, "high");
  ModelSettings dotted = resolve_model_settings("gpt-4.1-mini", settings.model_rules);
  EXPECT_EQ(dotted.token_field, "max_completion_tokens");
  EXPECT_FALSE(dotted.send_temperature);
  ModelSettings claude = resolve_model_settings("claude-sonnet-4-5", settings.model_rules);
  EXPECT_EQ(claude.thinking, "enabled");
  EXPECT_EQ(claude.thinking_budget, 8000);
  // A flag (or --resume restoring a stored run's configuration) sets the same keys.
  config.set("llm.models.o3*.reasoning_effort", "low");
  EXPECT_EQ(config.string("llm.models.o3*.reasoning_effort"), "low");
}

TEST(AgentsModelFamilyConfiguration, MistakesNameTheFileLineAndAllowedValues) {
  testing::TemporaryDirectory dir;
  struct Case {
    const char* text;
    const char* expected;
  };
  for (Case bad : {
           Case{"[llm.models.\"gpt-5*\"]\nreasoning_effort = \"hgh\"\n", "did you mean 'high'"},
           Case{"[llm.models.\"gpt-5*\"]\ntoken_field = \"max_tokenz\"\n", "max_completion_tokens"},
           Case{"[llm.models.\"c*\"]\nthinking_budget = 100\n", "out of range"},
           Case{"[llm.models.\"c*\"]\nthinking = true\n", "must be a string"},
           Case{"[llm.models.\"c*\"]\nthinkin = \"off\"\n", "unknown configuration key"},
           Case{"[llm.models]\nthinking = \"off\"\n", "unknown configuration key"},
       }) {
    testing::write_text(dir / "bad.toml", bad.text);
    try {
      Config::load(dir / "bad.toml");
      ADD_FAILURE() << bad.text;
    } catch (const Error& failure) {
      EXPECT_NE(std::string(failure.what()).find(bad.expected), std::string::npos)
          << failure.what();
      EXPECT_NE(failure.where().find("bad.toml:2"), std::string::npos) << failure.where();
    }
  }
  Config config;
  EXPECT_THROW(config.set("llm.models.x.thinking", "sometimes"), Error);
  // Settings built in code are checked when the provider is made.
  ProviderSettings settings;
  settings.base_url = "http://127.0.0.1:1/v1";
  settings.model = "m";
  settings.model_rules = {ModelRule{.pattern = "m", .thinking = "on"}};
  EXPECT_THROW(make_provider(settings), Error);
  settings.model_rules = {ModelRule{.pattern = "m", .thinking_budget = 5}};
  EXPECT_THROW(make_provider(settings), Error);
}

}  // namespace
}  // namespace kforge::agents
