#include "api/admin_auth.h"

#include "auth/token.h"

namespace tally {

Status CheckAdmin(const ApiContext& ctx, const Request& request, const SiteRecord* site) {
  std::string_view header = request.Header("authorization");
  if (header.empty()) return Status::Unauthenticated("an Authorization: Bearer token is required");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.size() <= kBearer.size() ||
      !std::equal(kBearer.begin(), kBearer.end(), header.begin(),
                  [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
    return Status::Unauthenticated("the Authorization header must be 'Bearer <token>'");
  }
  std::string_view token = header.substr(kBearer.size());
  // Both checks always run, so timing does not tell which token matched.
  bool root = TokenMatches(token, ctx.options.root_token_hash);
  bool admin = site != nullptr && TokenMatches(token, site->admin_token_hash);
  if (root || admin) return Status::Ok();
  return Status::Unauthenticated("the token is not valid here");
}

void SetUnauthorized(Response& response, const Status& status) {
  SetError(response, 401, "unauthorized", status.message());
  response.SetHeader("WWW-Authenticate", "Bearer");
}

}  // namespace tally
