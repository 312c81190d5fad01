#include "api/counter_admin_endpoints.h"

#include <charconv>

#include <nlohmann/json.hpp>

#include "api/counter_json.h"
#include "api/public_endpoints.h"
#include "api/site_endpoints.h"
#include "api/validation.h"
#include "common/local_day.h"

namespace tally {
namespace {

constexpr int kDefaultLimit = 100;
constexpr int kMaxLimit = 1000;
// JSON numbers above 2^53 lose precision in browsers.
constexpr int64_t kMaxSettableHits = (int64_t{1} << 53) - 1;

// A cursor is the last key of the previous page in hex, so it is opaque and
// URL-safe whatever bytes the key holds.
std::string EncodeCursor(std::string_view key) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : key) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xf]);
  }
  return out;
}

std::optional<std::string> DecodeCursor(std::string_view hex) {
  if (hex.size() % 2 != 0 || hex.size() > 2 * kMaxKeyBytes) return std::nullopt;
  std::string out;
  for (size_t i = 0; i < hex.size(); i += 2) {
    unsigned value = 0;
    auto [p, ec] = std::from_chars(hex.data() + i, hex.data() + i + 2, value, 16);
    if (ec != std::errc() || p != hex.data() + i + 2) return std::nullopt;
    out.push_back(static_cast<char>(value));
  }
  return out;
}

}  // namespace

void CounterAdminEndpoints::List(const Request& request, std::string_view site,
                                 const QueryParams& query, ResponseSink& sink) {
  Response response;
  int limit = kDefaultLimit;
  if (const std::string* l = query.Find("limit")) {
    auto [p, ec] = std::from_chars(l->data(), l->data() + l->size(), limit);
    if (ec != std::errc() || p != l->data() + l->size() || limit < 1 || limit > kMaxLimit) {
      SetError(response, 400, "invalid_query", "limit must be a number from 1 to 1000");
      Finish(ctx_, sink, Route::kCounterList, std::move(response));
      return;
    }
  }
  std::string after;
  if (const std::string* c = query.Find("cursor")) {
    auto decoded = DecodeCursor(*c);
    if (!decoded) {
      SetError(response, 400, "invalid_query", "cursor is not one this server gave out");
      Finish(ctx_, sink, Route::kCounterList, std::move(response));
      return;
    }
    after = std::move(*decoded);
  }
  RunBlocking(
      ctx_, sink, Route::kCounterList,
      [this, &request, name = std::string(site), limit, after = std::move(after)] {
        Response response;
        auto site = AdmitSiteAdmin(ctx_, request, name, response);
        if (!site.ok()) return response;
        // One row more than asked tells whether there is a next page.
        auto rows = ctx_.store.ListCounters(name, after, limit + 1);
        if (!rows.ok()) {
          SetErrorFromStatus(response, rows.status());
          return response;
        }
        bool more = static_cast<int>(rows->size()) > limit;
        if (more) rows->pop_back();
        nlohmann::json list = nlohmann::json::array();
        for (const CounterRow& row : *rows) {
          list.push_back({{"key", row.key}, {"hits", row.hits}, {"visitors", row.visitors}});
        }
        nlohmann::json out = {{"site", name}, {"counters", std::move(list)}};
        out["next_cursor"] =
            more ? nlohmann::json(EncodeCursor(rows->back().key)) : nlohmann::json();
        response.body = out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        response.SetHeader("Cache-Control", "no-store");
        return response;
      });
}

void CounterAdminEndpoints::Set(const Request& request, std::string_view site,
                                const QueryParams& query, ResponseSink& sink) {
  Response response;
  const std::string* key = KeyParam(query, response);
  if (key == nullptr) {
    Finish(ctx_, sink, Route::kCounterSet, std::move(response));
    return;
  }
  RunBlocking(
      ctx_, sink, Route::kCounterSet, [this, &request, name = std::string(site), key = *key] {
        Response response;
        auto site = AdmitSiteAdmin(ctx_, request, name, response);
        if (!site.ok()) return response;
        auto body = nlohmann::json::parse(request.body, nullptr, false);
        if (body.is_discarded()) {
          SetError(response, 400, "invalid_json", "the body is not valid JSON");
          return response;
        }
        const nlohmann::json* hits =
            body.is_object() && body.size() == 1 && body.contains("hits") ? &body["hits"] : nullptr;
        // Non-negative JSON integers parse as unsigned; anything else is refused.
        if (hits == nullptr || !hits->is_number_unsigned() ||
            hits->get<uint64_t>() > static_cast<uint64_t>(kMaxSettableHits)) {
          SetError(response, 400, "invalid_body",
                   "the body must be {\"hits\": N} with 0 <= N < 2^53");
          return response;
        }
        Status set = ctx_.store.SetCounter(name, key, static_cast<int64_t>(hits->get<uint64_t>()));
        if (!set.ok()) {
          SetErrorFromStatus(response, set);
          return response;
        }
        auto totals = ctx_.store.ReadCounter(name, key,
                                             LocalDay(site->timezone, ctx_.clock.NowUnixSeconds()));
        if (!totals.ok()) {
          SetErrorFromStatus(response, totals.status(), "counter_not_found");
          return response;
        }
        AppendCounterJson(response.body, name, key, *totals, std::nullopt);
        return response;
      });
}

void CounterAdminEndpoints::Delete(const Request& request, std::string_view site,
                                   const QueryParams& query, ResponseSink& sink) {
  Response response;
  const std::string* key = KeyParam(query, response);
  if (key == nullptr) {
    Finish(ctx_, sink, Route::kCounterDelete, std::move(response));
    return;
  }
  RunBlocking(ctx_, sink, Route::kCounterDelete,
              [this, &request, name = std::string(site), key = *key] {
                Response response;
                auto site = AdmitSiteAdmin(ctx_, request, name, response);
                if (!site.ok()) return response;
                Status deleted = ctx_.store.DeleteCounter(name, key);
                if (!deleted.ok()) {
                  SetErrorFromStatus(response, deleted, "counter_not_found");
                  return response;
                }
                response.status = 204;
                return response;
              });
}

}  // namespace tally
