#include "cli/site_commands.h"

#include <cstdio>
#include <iostream>

#include "api/site_admin.h"
#include "store/store_factory.h"

namespace tally {
namespace {

int Fail(const Status& status) {
  std::cerr << "tally: " << status.ToString() << "\n";
  switch (status.code()) {
    case StatusCode::kInvalidArgument:
      return 2;
    case StatusCode::kNotFound:
      return 3;
    case StatusCode::kAlreadyExists:
      return 4;
    default:
      return 1;
  }
}

void Print(const nlohmann::json& j) {
  std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

// Site administration does not count hits, so durability does not matter.
Result<std::unique_ptr<Store>> Open(const SiteCommandArgs& args) {
  return OpenStore(args.store, Durability::kStrict);
}

SiteSettings SettingsFrom(const SiteCommandArgs& args, bool with_name) {
  SiteSettings s;
  if (with_name) s.name = args.name;
  if (!args.origins.empty()) s.origins = args.origins;
  s.require_public_key = args.require_public_key;
  s.timezone = args.timezone;
  return s;
}

}  // namespace

int RunSitesCreate(const SiteCommandArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  SystemClock clock;
  auto created = CreateSite(**store, clock, SettingsFrom(args, true));
  if (!created.ok()) return Fail(created.status());
  nlohmann::json out = SiteToJson(created->record);
  out["admin_token"] = created->admin_token;
  out["public_key"] = created->public_key;
  Print(out);
  std::cerr << "Keep admin_token secret; it is shown only now.\n";
  return 0;
}

int RunSitesList(const SiteCommandArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  auto sites = (*store)->ListSites();
  if (!sites.ok()) return Fail(sites.status());
  nlohmann::json out = nlohmann::json::array();
  for (const SiteRecord& site : *sites) out.push_back(SiteToJson(site));
  Print(out);
  return 0;
}

int RunSitesShow(const SiteCommandArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  auto site = (*store)->GetSite(args.name);
  if (!site.ok()) return Fail(site.status());
  Print(SiteToJson(*site));
  return 0;
}

int RunSitesUpdate(const SiteCommandArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  auto site = UpdateSite(**store, args.name, SettingsFrom(args, false));
  if (!site.ok()) return Fail(site.status());
  Print(SiteToJson(*site));
  return 0;
}

int RunSitesDelete(const SiteCommandArgs& args) {
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  Status deleted = (*store)->DeleteSite(args.name);
  if (!deleted.ok()) return Fail(deleted);
  std::cerr << "deleted site " << args.name << " and its counters\n";
  return 0;
}

int RunTokensRotate(const SiteCommandArgs& args) {
  TokenKind kind;
  if (args.kind == "admin") {
    kind = TokenKind::kAdmin;
  } else if (args.kind == "public") {
    kind = TokenKind::kPublic;
  } else {
    return Fail(Status::InvalidArgument("--kind must be admin or public"));
  }
  auto store = Open(args);
  if (!store.ok()) return Fail(store.status());
  SiteRecord updated;
  auto token = RotateToken(**store, args.name, kind, &updated);
  if (!token.ok()) return Fail(token.status());
  nlohmann::json out = SiteToJson(updated);
  out[kind == TokenKind::kAdmin ? "admin_token" : "public_key"] = *token;
  Print(out);
  return 0;
}

}  // namespace tally
