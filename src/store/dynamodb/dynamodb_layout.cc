#include "store/dynamodb/dynamodb_layout.h"

#include "common/local_day.h"

namespace tally::dynamodb {

std::string CounterPk(std::string_view site, std::string_view key) {
  std::string pk;
  pk.reserve(3 + site.size() + key.size());
  pk.append("c#").append(site).append("#").append(key);
  return pk;
}

std::string DaySk(std::string_view day) { return std::string(kDaySkPrefix) + std::string(day); }

std::string SitePk(std::string_view site) { return "s#" + std::string(site); }

std::string VisitorPk(std::string_view site, std::string_view day, std::string_view hash) {
  std::string pk;
  pk.reserve(4 + site.size() + day.size() + hash.size());
  pk.append("v#").append(site).append("#").append(day).append("#").append(hash);
  return pk;
}

std::string SaltPk(std::string_view day) { return "salt#" + std::string(day); }

int64_t DayStartUnixSeconds(std::string_view day) { return UtcDayStart(day); }

}  // namespace tally::dynamodb
