#include "api/badge_svg.h"

#include <array>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include "api/validation.h"

namespace tally {
namespace {

// Advance widths of Verdana at 11px for ' ' .. '~' (the font's hmtx
// advances, 2048 units per em, times 11/2048), as shields.io measures.
constexpr std::array<double, 95> kVerdana11 = {
    3.87, 4.33, 5.05, 9.22, 6.99, 11.9, 7.90, 2.95,  4.84, 4.84, 6.99, 9.22, 3.87, 4.84, 3.87, 4.84,
    6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99, 6.99,  6.99, 6.99, 4.84, 4.84, 9.22, 9.22, 9.22, 6.01,
    11.0, 7.52, 7.55, 7.68, 8.47, 6.95, 6.33, 8.50,  8.27, 4.63, 4.94, 7.64, 6.15, 9.03, 8.25, 8.68,
    6.68, 8.68, 7.66, 7.53, 6.79, 8.06, 7.52, 10.95, 7.54, 6.78, 7.55, 4.84, 4.84, 4.84, 9.22, 6.99,
    6.99, 6.60, 6.85, 5.73, 6.85, 6.55, 3.87, 6.85,  6.96, 3.02, 3.79, 6.51, 3.02, 10.7, 6.96, 6.68,
    6.85, 6.85, 4.69, 5.73, 4.33, 6.96, 6.51, 9.00,  6.51, 6.51, 5.75, 6.98, 4.84, 6.98, 9.22,
};
constexpr double kEm = 11.0;
constexpr int kHorizontalPadding = 5;

struct NamedColor {
  std::string_view name;
  std::string_view hex;
};
// shields.io's names, so badge URLs can be moved over unchanged.
constexpr NamedColor kNamedColors[] = {
    {"brightgreen", "#4c1"},    {"green", "#97ca00"},      {"yellow", "#dfb317"},
    {"yellowgreen", "#a4a61d"}, {"orange", "#fe7d37"},     {"red", "#e05d44"},
    {"blue", "#007ec6"},        {"grey", "#555"},          {"gray", "#555"},
    {"lightgrey", "#9f9f9f"},   {"lightgray", "#9f9f9f"},  {"success", "#4c1"},
    {"important", "#fe7d37"},   {"critical", "#e05d44"},   {"informational", "#007ec6"},
    {"inactive", "#9f9f9f"},    {"blueviolet", "#8a2be2"}, {"black", "#000"},
    {"white", "#fff"},
};

// Decodes the code point at `s[i]` of valid UTF-8; returns its length.
size_t NextCodePoint(std::string_view s, size_t i, uint32_t* cp) {
  auto b = static_cast<unsigned char>(s[i]);
  size_t n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  if (i + n > s.size()) n = s.size() - i;
  uint32_t v = n == 1 ? b : n == 2 ? (b & 0x1f) : n == 3 ? (b & 0x0f) : (b & 0x07);
  for (size_t k = 1; k < n; ++k) v = (v << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
  *cp = v;
  return n;
}

void AppendXmlEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out.push_back(c);
    }
  }
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// The text of one badge part, drawn at 10x scale like shields does, so that
// coordinates stay integers.
void AppendText(std::string& out, std::string_view text, int center_x10, int length_x10,
                bool shadow) {
  std::string escaped;
  AppendXmlEscaped(escaped, text);
  if (shadow) {
    out += fmt::format(
        R"svg(<text aria-hidden="true" x="{}" y="150" fill="#010101" fill-opacity=".3" )svg"
        R"svg(transform="scale(.1)" textLength="{}">{}</text>)svg",
        center_x10, length_x10, escaped);
  }
  out += fmt::format(
      R"svg(<text x="{}" y="140" transform="scale(.1)" fill="#fff" textLength="{}">{}</text>)svg",
      center_x10, length_x10, escaped);
}

}  // namespace

Result<std::string> ParseBadgeColor(std::string_view value) {
  for (const NamedColor& c : kNamedColors) {
    if (c.name == value) return std::string(c.hex);
  }
  std::string_view hex = value.starts_with('#') ? value.substr(1) : value;
  if (hex.size() == 3 || hex.size() == 6) {
    bool all_hex = true;
    for (char c : hex) all_hex = all_hex && IsHex(c);
    if (all_hex) {
      std::string out = "#";
      for (char c : hex) out.push_back(static_cast<char>(c >= 'A' && c <= 'F' ? c - 'A' + 'a' : c));
      return out;
    }
  }
  return Status::InvalidArgument(
      "color must be a name (brightgreen, green, yellow, orange, red, blue, grey, ...) or 3 or 6 "
      "hex digits");
}

Result<BadgeStyle> ParseBadgeStyle(std::string_view value) {
  if (value == "flat") return BadgeStyle::kFlat;
  if (value == "flat-square") return BadgeStyle::kFlatSquare;
  return Status::InvalidArgument("style must be flat or flat-square");
}

Status ValidateBadgeLabel(std::string_view label) {
  if (label.empty() || label.size() > kMaxBadgeLabelBytes) {
    return Status::InvalidArgument("label must be 1 to 64 bytes");
  }
  if (!IsValidUtf8(label)) return Status::InvalidArgument("label is not valid UTF-8");
  uint32_t cp;
  for (size_t i = 0; i < label.size(); i += NextCodePoint(label, i, &cp)) {
    NextCodePoint(label, i, &cp);
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f)) {
      return Status::InvalidArgument("label contains a control character");
    }
  }
  return Status::Ok();
}

double BadgeTextWidth(std::string_view text) {
  double width = 0;
  uint32_t cp;
  for (size_t i = 0; i < text.size(); i += NextCodePoint(text, i, &cp)) {
    NextCodePoint(text, i, &cp);
    width += cp >= 0x20 && cp <= 0x7e ? kVerdana11[cp - 0x20] : kEm;
  }
  return width;
}

std::string FormatBadgeCount(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out = n < 0 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

std::string RenderBadgeSvg(const Badge& badge) {
  // Text widths rounded up, so the box is never narrower than the text.
  const int label_text = static_cast<int>(std::ceil(BadgeTextWidth(badge.label)));
  const int message_text = static_cast<int>(std::ceil(BadgeTextWidth(badge.message)));
  const int label_width = label_text + 2 * kHorizontalPadding;
  const int message_width = message_text + 2 * kHorizontalPadding;
  const int width = label_width + message_width;
  const bool flat = badge.style == BadgeStyle::kFlat;

  std::string title;
  AppendXmlEscaped(title, badge.label);
  title += ": ";
  AppendXmlEscaped(title, badge.message);

  std::string svg = fmt::format(
      R"svg(<svg xmlns="http://www.w3.org/2000/svg" width="{0}" height="20" role="img" )svg"
      R"svg(aria-label="{1}"><title>{1}</title>)svg",
      width, title);
  if (flat) {
    svg += fmt::format(
        R"svg(<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" )svg"
        R"svg(stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>)svg"
        R"svg(<clipPath id="r"><rect width="{}" height="20" rx="3" fill="#fff"/></clipPath>)svg"
        R"svg(<g clip-path="url(#r)">)svg",
        width);
  } else {
    svg += R"svg(<g shape-rendering="crispEdges">)svg";
  }
  svg += fmt::format(R"svg(<rect width="{}" height="20" fill="{}"/>)svg", label_width,
                     badge.label_color);
  svg += fmt::format(R"svg(<rect x="{}" width="{}" height="20" fill="{}"/>)svg", label_width,
                     message_width, badge.color);
  if (flat) svg += fmt::format(R"svg(<rect width="{}" height="20" fill="url(#s)"/>)svg", width);
  svg += R"svg(</g><g fill="#fff" text-anchor="middle" )svg"
         R"svg(font-family="Verdana,Geneva,DejaVu Sans,sans-serif" )svg"
         R"svg(text-rendering="geometricPrecision" font-size="110">)svg";
  AppendText(svg, badge.label, label_width * 5, label_text * 10, flat);
  AppendText(svg, badge.message, label_width * 10 + message_width * 5, message_text * 10, flat);
  svg += "</g></svg>";
  return svg;
}

}  // namespace tally
