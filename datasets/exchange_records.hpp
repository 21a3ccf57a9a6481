// The llm_exchanges rows of a run: one per request the loop made (or answered from the LLM
// response cache), written as soon as the answer is in, before its candidate is evaluated.
// The strategy's ask id is kept inside the stored request JSON ("ask_id"), next to what was
// sent, so that a resumed run can find which asks were already answered without a schema
// change. The API key is never part of a request JSON (the provider leaves it out).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "datasets/store.hpp"

namespace kforge {

struct ExchangeRow {
  int64_t id = 0;
  std::optional<int64_t> run_id, task_id;
  std::string provider;
  std::string model;
  int64_t sample_index = 0;
  nlohmann::json request = nlohmann::json::object();  // sanitized; holds "ask_id"
  std::optional<std::string> response;
  std::string status;  // "ok", "no_candidate", or an LLM status name ("rate_limited", ...)
  std::optional<std::string> error;
  std::optional<int64_t> prompt_tokens, completion_tokens, latency_ms;
  std::optional<double> cost_usd;
  bool cache_hit = false;
  std::string created_at;

  std::string ask_id() const { return request.value("ask_id", ""); }
};

int64_t insert_exchange(Store& store, const ExchangeRow& exchange);
std::optional<ExchangeRow> find_exchange(const Store& store, int64_t exchange_id);
// The exchanges of one task of a run, oldest first.
std::vector<ExchangeRow> exchanges_of(const Store& store, int64_t run_id, int64_t task_id);

// The candidate the loop stored for an exchange, if any.
std::optional<int64_t> candidate_of_exchange(const Store& store, int64_t exchange_id);

}  // namespace kforge
