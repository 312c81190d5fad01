// `tally sites ...` and `tally tokens rotate`: site administration straight
// on the store, for the operator of the machine. A running server sees the
// changes within a few seconds (it reloads its sites).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace tally {

struct SiteCommandArgs {
  std::string store;  // store spec
  std::string name;
  std::vector<std::string> origins;
  std::optional<bool> require_public_key;
  std::optional<std::string> timezone;
  std::string kind = "admin";  // tokens rotate: admin | public
};

// Each prints JSON on stdout (secrets only where they are made) and returns
// the process exit code; errors go to stderr.
int RunSitesCreate(const SiteCommandArgs& args);
int RunSitesList(const SiteCommandArgs& args);
int RunSitesShow(const SiteCommandArgs& args);
int RunSitesUpdate(const SiteCommandArgs& args);
int RunSitesDelete(const SiteCommandArgs& args);
int RunTokensRotate(const SiteCommandArgs& args);

}  // namespace tally
