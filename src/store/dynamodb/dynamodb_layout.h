// The single-table layout of DESIGN.md ("Storage layouts"), in one place,
// so that `tally serve`, the Lambda and `tally dynamodb create-table` agree:
//
//   counter total    pk "c#{site}#{key}"            sk "total"     hits, visitors (N),
//                                                                  ls = site, lk = key (index)
//   day bucket       pk "c#{site}#{key}"            sk "d#{day}"   hits, visitors (N)
//   site settings    pk "s#{site}"                  sk "site"      token hashes only,
//                                                                  ls = "#sites", lk = site
//   visitor marker   pk "v#{site}#{day}#{hash}"     sk "{key}"     ttl (N, unix seconds)
//   daily salt       pk "salt#{day}"                sk "salt"      salt (S), ttl
//
// plus one global secondary index, kListIndex (hash `ls`, range `lk`, keys
// only), through which a site's counters are listed in key order and the
// sites by name. Site names match [a-z0-9][a-z0-9.-]{0,62}, so neither '#'
// in them nor the "#sites" partition can collide with a site.
//
// Days are "YYYY-MM-DD" strings, which sort chronologically.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace tally::dynamodb {

inline constexpr std::string_view kTotalSk = "total";
inline constexpr std::string_view kDaySkPrefix = "d#";
inline constexpr std::string_view kSiteSk = "site";
inline constexpr std::string_view kSaltSk = "salt";
inline constexpr std::string_view kListIndex = "by_site";
inline constexpr std::string_view kSitesPartition = "#sites";

std::string CounterPk(std::string_view site, std::string_view key);
std::string DaySk(std::string_view day);
std::string SitePk(std::string_view site);
std::string VisitorPk(std::string_view site, std::string_view day, std::string_view hash);
std::string SaltPk(std::string_view day);

// Unix seconds of 00:00 UTC on `day` ("YYYY-MM-DD"), or -1 if malformed.
int64_t DayStartUnixSeconds(std::string_view day);

}  // namespace tally::dynamodb
