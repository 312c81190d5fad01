// Who may call the admin endpoints: the holder of the root token, or of the
// site's admin token, presented as `Authorization: Bearer <token>`.
#pragma once

#include "api/api_context.h"

namespace tally {

// OK if the bearer token is the root token, or `site`'s admin token when
// `site` is not null. Unauthenticated otherwise (also when no token was sent).
Status CheckAdmin(const ApiContext& ctx, const Request& request, const SiteRecord* site);

// Fills `response` with the 401 answer for a failed CheckAdmin.
void SetUnauthorized(Response& response, const Status& status);

}  // namespace tally
