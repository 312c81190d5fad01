// Shields-like SVG badges ("visits | 1,234"), rendered without I/O.
//
// Text is measured with a table of Verdana 11px advance widths (the font
// shields.io measures with) and the SVG pins each text's length with
// textLength, so whatever font the viewer falls back to (Geneva, DejaVu
// Sans, ...) the text is squeezed or spread to fit and never clips.
//
// Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "common/status.h"

namespace tally {

enum class BadgeStyle { kFlat, kFlatSquare };

struct Badge {
  std::string label;                 // left part, e.g. "visits"; valid UTF-8
  std::string message;               // right part, e.g. "1,234"; valid UTF-8
  std::string color = "#007ec6";     // of the message part, "#rgb" or "#rrggbb"
  std::string label_color = "#555";  // of the label part
  BadgeStyle style = BadgeStyle::kFlat;
};

// The longest label accepted, in bytes.
inline constexpr size_t kMaxBadgeLabelBytes = 64;

// Resolves a colour parameter: a shields name ("brightgreen", "blue",
// "success", ...) or 3 or 6 hex digits with or without a leading '#'.
// Returns "#rgb"/"#rrggbb" (lower case), or InvalidArgument.
Result<std::string> ParseBadgeColor(std::string_view value);

// "flat" or "flat-square"; InvalidArgument otherwise.
Result<BadgeStyle> ParseBadgeStyle(std::string_view value);

// InvalidArgument unless `label` is 1..kMaxBadgeLabelBytes bytes of valid
// UTF-8 without control characters.
Status ValidateBadgeLabel(std::string_view label);

// The width in pixels of `text` (UTF-8) in Verdana at 11px. Characters
// outside the table count as one em (11px), which is at least as wide as
// any Latin letter, so an estimate errs on the wide side.
double BadgeTextWidth(std::string_view text);

// `n` with a comma every three digits: 1234567 -> "1,234,567".
std::string FormatBadgeCount(int64_t n);

// The badge as a standalone SVG document; text is XML-escaped.
std::string RenderBadgeSvg(const Badge& badge);

}  // namespace tally
