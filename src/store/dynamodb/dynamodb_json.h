// Building and reading DynamoDB's typed JSON values ({"S": ...}, {"N": ...}).
//
// Thread safety: free functions without shared state.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace tally::dynamodb {

// {"S": value}
nlohmann::json S(std::string_view value);
// {"N": "value"}
nlohmann::json N(int64_t value);
// {"pk": {"S": pk}, "sk": {"S": sk}}
nlohmann::json ItemKey(std::string_view pk, std::string_view sk);

// The number in attribute `name` of `item` (an Item/Attributes map), or
// `fallback` if it is absent or not a well-formed integer.
int64_t GetN(const nlohmann::json& item, const std::string& name, int64_t fallback = 0);
// The string in attribute `name`, or "" if absent or not a string.
std::string GetS(const nlohmann::json& item, const std::string& name);
// True if `item` has attribute `name`.
bool Has(const nlohmann::json& item, const std::string& name);

}  // namespace tally::dynamodb
