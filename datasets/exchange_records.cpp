#include "datasets/exchange_records.hpp"

#include "harness/util/json_text.hpp"

namespace kforge {
namespace {

constexpr const char* kColumns =
    "id, run_id, task_id, provider, model, sample_index, request, response, status, error, "
    "prompt_tokens, completion_tokens, cost_usd, latency_ms, cache_hit, created_at";

ExchangeRow read_exchange(const sql::Statement& row) {
  ExchangeRow exchange;
  exchange.id = row.integer(0);
  exchange.run_id = row.optional_integer(1);
  exchange.task_id = row.optional_integer(2);
  exchange.provider = row.text(3);
  exchange.model = row.text(4);
  exchange.sample_index = row.integer(5);
  exchange.request = nlohmann::json::parse(row.text(6));
  exchange.response = row.optional_text(7);
  exchange.status = row.text(8);
  exchange.error = row.optional_text(9);
  exchange.prompt_tokens = row.optional_integer(10);
  exchange.completion_tokens = row.optional_integer(11);
  exchange.cost_usd = row.optional_real(12);
  exchange.latency_ms = row.optional_integer(13);
  exchange.cache_hit = row.integer(14) != 0;
  exchange.created_at = row.text(15);
  return exchange;
}

}  // namespace

int64_t insert_exchange(Store& store, const ExchangeRow& exchange) {
  auto insert = store.db().prepare(
      "INSERT INTO llm_exchanges (run_id, task_id, provider, model, sample_index, request, "
      "response, status, error, prompt_tokens, completion_tokens, cost_usd, latency_ms, "
      "cache_hit) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  insert.bind(1, exchange.run_id)
      .bind(2, exchange.task_id)
      .bind(3, exchange.provider)
      .bind(4, exchange.model)
      .bind(5, exchange.sample_index)
      .bind(6, json_text(exchange.request))
      .bind(7, exchange.response)
      .bind(8, exchange.status)
      .bind(9, exchange.error)
      .bind(10, exchange.prompt_tokens)
      .bind(11, exchange.completion_tokens)
      .bind(12, exchange.cost_usd)
      .bind(13, exchange.latency_ms)
      .bind(14, int64_t{exchange.cache_hit ? 1 : 0});
  insert.run();
  return store.db().last_insert_id();
}

std::optional<ExchangeRow> find_exchange(const Store& store, int64_t exchange_id) {
  auto query =
      store.db().prepare(std::string("SELECT ") + kColumns + " FROM llm_exchanges WHERE id = ?");
  query.bind(1, exchange_id);
  if (!query.step())
    return std::nullopt;
  return read_exchange(query);
}

std::vector<ExchangeRow> exchanges_of(const Store& store, int64_t run_id, int64_t task_id) {
  auto query = store.db().prepare(std::string("SELECT ") + kColumns +
                                  " FROM llm_exchanges WHERE run_id = ? AND task_id = ? "
                                  "ORDER BY id");
  query.bind(1, run_id).bind(2, task_id);
  std::vector<ExchangeRow> rows;
  while (query.step())
    rows.push_back(read_exchange(query));
  return rows;
}

std::optional<int64_t> candidate_of_exchange(const Store& store, int64_t exchange_id) {
  auto query =
      store.db().prepare("SELECT id FROM candidates WHERE llm_exchange_id = ? ORDER BY id LIMIT 1");
  query.bind(1, exchange_id);
  if (!query.step())
    return std::nullopt;
  return query.integer(0);
}

}  // namespace kforge
