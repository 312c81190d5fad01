#include "api/badge_endpoint.h"

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "api/badge_svg.h"

namespace tally {
namespace {

constexpr std::string_view kErrorColor = "#e05d44";

enum class BadgeValue { kHits, kVisitors, kTodayHits, kTodayVisitors };

void SetBadgeHeaders(Response& response) {
  response.content_type = "image/svg+xml; charset=utf-8";
  response.SetHeader("Cache-Control", "no-cache, no-store, must-revalidate");
  response.SetHeader("X-Content-Type-Options", "nosniff");
  // The SVG is only ever drawn, never run: no scripts, no fetches.
  response.SetHeader("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'");
}

// The error code of a JSON error body, with '_' as ' ' ("site not found").
std::string ErrorText(const Response& response) {
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  std::string code = "error";
  if (body.is_object() && body.contains("error") && body["error"].is_object() &&
      body["error"].contains("code") && body["error"]["code"].is_string()) {
    code = body["error"]["code"].get<std::string>();
  }
  for (char& c : code) c = c == '_' ? ' ' : c;
  return code;
}

// Errors are JSON, always — except for a client that asked for an image (a
// browser's <img>, an image proxy): it gets the error drawn as a badge, with
// the same status, because a JSON body would only show a broken image.
bool WantsImage(const Request& request) {
  return request.Header("accept").find("image/") != std::string_view::npos;
}

// Renders the counter (or the error) the endpoints computed as a badge.
class BadgePresenter final : public CounterPresenter {
 public:
  BadgePresenter(Badge badge, BadgeValue value, bool errors_as_image)
      : badge_(std::move(badge)), value_(value), errors_as_image_(errors_as_image) {}

  Route route() const override { return Route::kBadge; }

  void Present(Response& response, const CounterTotals* totals) const override {
    Badge badge = badge_;
    if (totals != nullptr) {
      badge.message = FormatBadgeCount(Pick(*totals));
    } else if (response.status == 404 && ErrorText(response) == "counter not found") {
      // Never counted yet: a badge shows zero rather than an error.
      response.status = 200;
      badge.message = "0";
    } else if (!errors_as_image_) {
      return;  // the JSON error as it is
    } else {
      badge.message = ErrorText(response);
      badge.color = kErrorColor;
    }
    response.body = RenderBadgeSvg(badge);
    SetBadgeHeaders(response);
  }

 private:
  int64_t Pick(const CounterTotals& t) const {
    switch (value_) {
      case BadgeValue::kVisitors:
        return t.visitors;
      case BadgeValue::kTodayHits:
        return t.today_hits;
      case BadgeValue::kTodayVisitors:
        return t.today_visitors;
      case BadgeValue::kHits:
        break;
    }
    return t.hits;
  }

  const Badge badge_;
  const BadgeValue value_;
  const bool errors_as_image_;
};

}  // namespace

void BadgeEndpoint::Get(const Request& request, std::string_view site, const QueryParams& query,
                        ResponseSink& sink) {
  Badge badge;
  BadgeValue value = BadgeValue::kHits;
  badge.label = "visits";
  bool hit = false;
  Status invalid;
  std::string_view bad_param;  // the parameter `invalid` is about
  if (const std::string* v = query.Find("value")) {
    if (*v == "hits") {
      value = BadgeValue::kHits;
    } else if (*v == "visitors") {
      value = BadgeValue::kVisitors;
      badge.label = "visitors";
    } else if (*v == "today-hits") {
      value = BadgeValue::kTodayHits;
      badge.label = "visits today";
    } else if (*v == "today-visitors") {
      value = BadgeValue::kTodayVisitors;
      badge.label = "visitors today";
    } else {
      invalid =
          Status::InvalidArgument("value must be hits, visitors, today-hits or today-visitors");
      bad_param = "value";
    }
  }
  if (const std::string* h = query.Find("hit"); h != nullptr && invalid.ok()) {
    if (*h == "1" || *h == "true") {
      hit = true;
    } else if (!(*h == "0" || *h == "false")) {
      invalid = Status::InvalidArgument("hit must be 1 or 0");
      bad_param = "hit";
    }
  }
  if (const std::string* l = query.Find("label"); l != nullptr && invalid.ok()) {
    invalid = ValidateBadgeLabel(*l);
    if (invalid.ok()) badge.label = *l;
    bad_param = "label";
  }
  for (auto [param, target] :
       {std::pair{"color", &badge.color}, std::pair{"label_color", &badge.label_color}}) {
    const std::string* c = query.Find(param);
    if (c == nullptr || !invalid.ok()) continue;
    auto color = ParseBadgeColor(*c);
    if (color.ok()) {
      *target = *color;
    } else {
      invalid = color.status();
      bad_param = param;
    }
  }
  if (const std::string* s = query.Find("style"); s != nullptr && invalid.ok()) {
    auto style = ParseBadgeStyle(*s);
    if (style.ok()) {
      badge.style = *style;
    } else {
      invalid = style.status();
      bad_param = "style";
    }
  }
  if (!invalid.ok()) {
    Response response;
    SetError(response, 400, "invalid_query", invalid.message());
    if (WantsImage(request)) {
      badge.label = "badge";
      badge.message = "invalid " + std::string(bad_param);
      badge.color = kErrorColor;
      response.body = RenderBadgeSvg(badge);
      SetBadgeHeaders(response);
    }
    Finish(ctx_, sink, Route::kBadge, std::move(response));
    return;
  }
  auto presenter = std::make_shared<const BadgePresenter>(std::move(badge), value,
                                                          WantsImage(request));
  if (hit) {
    public_.Hit(request, site, query, sink, std::move(presenter));
  } else {
    public_.Read(request, site, query, sink, std::move(presenter));
  }
}

}  // namespace tally
