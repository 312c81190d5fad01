#include "store/dynamodb/dynamodb_json.h"

#include <charconv>

namespace tally::dynamodb {

nlohmann::json S(std::string_view value) { return {{"S", std::string(value)}}; }

nlohmann::json N(int64_t value) { return {{"N", std::to_string(value)}}; }

nlohmann::json ItemKey(std::string_view pk, std::string_view sk) {
  return {{"pk", S(pk)}, {"sk", S(sk)}};
}

int64_t GetN(const nlohmann::json& item, const std::string& name, int64_t fallback) {
  if (!item.is_object()) return fallback;
  auto it = item.find(name);
  if (it == item.end() || !it->is_object()) return fallback;
  auto n = it->find("N");
  if (n == it->end() || !n->is_string()) return fallback;
  const std::string& text = n->get_ref<const std::string&>();
  int64_t value = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || p != text.data() + text.size()) return fallback;
  return value;
}

std::string GetS(const nlohmann::json& item, const std::string& name) {
  if (!item.is_object()) return "";
  auto it = item.find(name);
  if (it == item.end() || !it->is_object()) return "";
  auto s = it->find("S");
  if (s == it->end() || !s->is_string()) return "";
  return s->get<std::string>();
}

bool Has(const nlohmann::json& item, const std::string& name) {
  return item.is_object() && item.contains(name);
}

}  // namespace tally::dynamodb
