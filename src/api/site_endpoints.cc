#include "api/site_endpoints.h"

#include "api/admin_auth.h"
#include "api/cors_policy.h"
#include "api/site_admin.h"
#include "api/validation.h"

namespace tally {
namespace {

void SetJson(Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.content_type = "application/json";
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.SetHeader("Cache-Control", "no-store");
}

// Parses the request body as JSON; on failure fills `response` with 400.
std::optional<nlohmann::json> ParseBody(const Request& request, Response& response) {
  auto body = nlohmann::json::parse(request.body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    SetError(response, 400, "invalid_json", "the body is not valid JSON");
    return std::nullopt;
  }
  return body;
}

}  // namespace

Result<SiteRecord> AdmitSiteAdmin(ApiContext& ctx, const Request& request,
                                  std::string_view site_name, Response& response) {
  if (!IsValidSiteName(site_name)) {
    SetError(response, 400, "invalid_site", "a site name is [a-z0-9][a-z0-9.-]{0,62}");
    return Status::InvalidArgument("site");
  }
  auto site = ctx.store.GetSite(site_name);
  if (!site.ok() && site.status().code() != StatusCode::kNotFound) {
    SetErrorFromStatus(response, site.status());
    return site.status();
  }
  // Authenticate before saying whether the site exists.
  Status auth = CheckAdmin(ctx, request, site.ok() ? &*site : nullptr);
  if (!auth.ok()) {
    SetUnauthorized(response, auth);
    return auth;
  }
  if (!site.ok()) {
    SetError(response, 404, "site_not_found", "no site with that name");
    return site.status();
  }
  std::string_view origin = request.Header("origin");
  if (!origin.empty() && OriginAllowed(site->origins, origin)) AddCorsHeaders(response, origin);
  return site;
}

void SiteEndpoints::Create(const Request& request, ResponseSink& sink) {
  RunBlocking(ctx_, sink, Route::kSiteCreate, [this, &request] {
    Response response;
    Status auth = CheckAdmin(ctx_, request, nullptr);
    if (!auth.ok()) {
      SetUnauthorized(response, auth);
      return response;
    }
    auto body = ParseBody(request, response);
    if (!body) return response;
    auto settings = SiteSettingsFromJson(*body, /*allow_name=*/true);
    if (!settings.ok()) {
      SetError(response, 400, "invalid_site_settings", settings.status().message());
      return response;
    }
    auto created = CreateSite(ctx_.store, ctx_.clock, *settings);
    if (!created.ok()) {
      if (created.status().code() == StatusCode::kAlreadyExists) {
        SetError(response, 409, "site_exists", "a site with that name exists");
      } else if (created.status().code() == StatusCode::kInvalidArgument) {
        SetError(response, 400, "invalid_site_settings", created.status().message());
      } else {
        SetErrorFromStatus(response, created.status());
      }
      return response;
    }
    ctx_.sites.Put(created->record);
    nlohmann::json out = SiteToJson(created->record);
    out["admin_token"] = created->admin_token;
    out["public_key"] = created->public_key;
    SetJson(response, 201, out);
    return response;
  });
}

void SiteEndpoints::List(const Request& request, ResponseSink& sink) {
  RunBlocking(ctx_, sink, Route::kSiteList, [this, &request] {
    Response response;
    Status auth = CheckAdmin(ctx_, request, nullptr);
    if (!auth.ok()) {
      SetUnauthorized(response, auth);
      return response;
    }
    auto sites = ctx_.store.ListSites();
    if (!sites.ok()) {
      SetErrorFromStatus(response, sites.status());
      return response;
    }
    nlohmann::json list = nlohmann::json::array();
    for (const SiteRecord& site : *sites) list.push_back(SiteToJson(site));
    SetJson(response, 200, {{"sites", std::move(list)}});
    return response;
  });
}

void SiteEndpoints::Get(const Request& request, std::string_view site, ResponseSink& sink) {
  RunBlocking(ctx_, sink, Route::kSiteGet, [this, &request, name = std::string(site)] {
    Response response;
    auto site = AdmitSiteAdmin(ctx_, request, name, response);
    if (site.ok()) SetJson(response, 200, SiteToJson(*site));
    return response;
  });
}

void SiteEndpoints::Update(const Request& request, std::string_view site, ResponseSink& sink) {
  RunBlocking(ctx_, sink, Route::kSiteUpdate, [this, &request, name = std::string(site)] {
    Response response;
    auto site = AdmitSiteAdmin(ctx_, request, name, response);
    if (!site.ok()) return response;
    auto body = ParseBody(request, response);
    if (!body) return response;
    auto settings = SiteSettingsFromJson(*body, /*allow_name=*/false);
    if (!settings.ok()) {
      SetError(response, 400, "invalid_site_settings", settings.status().message());
      return response;
    }
    auto updated = UpdateSite(ctx_.store, name, *settings);
    if (!updated.ok()) {
      if (updated.status().code() == StatusCode::kInvalidArgument) {
        SetError(response, 400, "invalid_site_settings", updated.status().message());
      } else {
        SetErrorFromStatus(response, updated.status(), "site_not_found");
      }
      return response;
    }
    ctx_.sites.Put(*updated);
    SetJson(response, 200, SiteToJson(*updated));
    return response;
  });
}

void SiteEndpoints::Delete(const Request& request, std::string_view site, ResponseSink& sink) {
  RunBlocking(ctx_, sink, Route::kSiteDelete, [this, &request, name = std::string(site)] {
    Response response;
    Status auth = CheckAdmin(ctx_, request, nullptr);
    if (!auth.ok()) {
      SetUnauthorized(response, auth);
      return response;
    }
    if (!IsValidSiteName(name)) {
      SetError(response, 400, "invalid_site", "a site name is [a-z0-9][a-z0-9.-]{0,62}");
      return response;
    }
    Status deleted = ctx_.store.DeleteSite(name);
    if (!deleted.ok()) {
      SetErrorFromStatus(response, deleted, "site_not_found");
      return response;
    }
    ctx_.sites.Erase(name);
    response.status = 204;
    return response;
  });
}

void SiteEndpoints::RotateToken(const Request& request, std::string_view site,
                                const QueryParams& query, ResponseSink& sink) {
  const std::string* kind_param = query.Find("kind");
  std::optional<TokenKind> kind;
  if (kind_param == nullptr || *kind_param == "admin") {
    kind = TokenKind::kAdmin;
  } else if (*kind_param == "public") {
    kind = TokenKind::kPublic;
  }
  RunBlocking(ctx_, sink, Route::kTokenRotate, [this, &request, kind, name = std::string(site)] {
    Response response;
    auto site = AdmitSiteAdmin(ctx_, request, name, response);
    if (!site.ok()) return response;
    if (!kind) {
      SetError(response, 400, "invalid_query", "kind must be 'admin' or 'public'");
      return response;
    }
    SiteRecord updated;
    auto token = tally::RotateToken(ctx_.store, name, *kind, &updated);
    if (!token.ok()) {
      SetErrorFromStatus(response, token.status(), "site_not_found");
      return response;
    }
    ctx_.sites.Put(updated);
    nlohmann::json out = SiteToJson(updated);
    out[*kind == TokenKind::kAdmin ? "admin_token" : "public_key"] = *token;
    SetJson(response, 200, out);
    return response;
  });
}

}  // namespace tally
