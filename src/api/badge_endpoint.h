// GET|HEAD /v1/sites/{site}/badge.svg: a counter as a shields-like SVG badge,
// for pages that can hold an image but no script (GitHub READMEs, Markdown).
//
//   ?key=K            the counter (default "/")
//   &hit=1            count this view first (hit=0 or none: only show)
//   &value=hits|visitors|today-hits|today-visitors   what to show (hits)
//   &label=TEXT       left text (default "visits", or the value's name)
//   &color=C          right colour: a shields name or hex (default blue)
//   &label_color=C    left colour (default grey)
//   &style=flat|flat-square
//
// Badges are images that any page may embed, and image requests carry no
// usable Origin, so the site's allowed origins are not checked; a site that
// sets require_public_key still needs x-api-key (which an <img> cannot send,
// so such a site has no public badges). Errors are badges too, with the
// error's HTTP status, so a broken badge says why. Every answer carries
// Cache-Control: no-cache, no-store, must-revalidate, so image proxies
// (GitHub's camo) fetch it anew each time.
//
// Counting goes through PublicEndpoints::Hit, the same path as the JSON hit.
// Called on network threads; never blocks.
#pragma once

#include <string_view>

#include "api/api_context.h"
#include "api/public_endpoints.h"
#include "api/query.h"

namespace tally {

class BadgeEndpoint {
 public:
  // `public_endpoints` must outlive this.
  BadgeEndpoint(ApiContext& ctx, PublicEndpoints& public_endpoints)
      : ctx_(ctx), public_(public_endpoints) {}

  void Get(const Request& request, std::string_view site, const QueryParams& query,
           ResponseSink& sink);

 private:
  ApiContext& ctx_;
  PublicEndpoints& public_;
};

}  // namespace tally
