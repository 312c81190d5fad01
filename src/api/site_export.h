// The NDJSON export format of a site, written by GET /v1/sites/{site}/export
// and `tally export`, read by `tally import`. One JSON object a line:
//
//   {"type":"site","site":"example.com","origins":[...],"timezone":"UTC",...}
//   {"type":"counter","key":"/","hits":1234,"visitors":567}
//   {"type":"day","key":"/","day":"2026-11-25","hits":12,"visitors":9}
//
// Secrets are never exported: an imported site gets new tokens. A line
// without "type" but with "key" and "hits" is a counter, so a hand-written
// {"key":"/","hits":41000} sets a starting value.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "api/site_admin.h"
#include "store/store.h"

namespace tally {

// Writes the whole site as NDJSON, calling `write` with chunks of text.
// Stops (returning the store's error) if the store fails midway.
Status ExportSiteNdjson(Store& store, const SiteRecord& site,
                        const std::function<void(std::string_view)>& write);

// One parsed line: the site's settings, or a row of counts.
struct ImportLine {
  std::optional<SiteSettings> site;
  std::optional<ExportRow> row;
};

// Parses one line (empty lines give an empty ImportLine). InvalidArgument
// names what is wrong; keys and days are validated like the api does.
Result<ImportLine> ParseImportLine(std::string_view line);

}  // namespace tally
