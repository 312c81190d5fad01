// `tally export` and `tally import`: a site's counts as NDJSON
// (api/site_export.h), so no service can take a site's numbers with it, and
// numbers from elsewhere (a dead counter service) can be brought in.
#pragma once

#include <string>

namespace tally {

struct DataCommandArgs {
  std::string store;  // store spec
  std::string site;   // export: the site; import: overrides the file's site
  std::string file;   // export: output ("-" or empty: stdout); import: input ("-": stdin)
};

// Each returns the process exit code; errors go to stderr.
int RunExport(const DataCommandArgs& args);
int RunImport(const DataCommandArgs& args);

}  // namespace tally
