// The files under web/ (counter.js, the demo page, ...), compiled into the
// binary by cmake/embed_assets.cmake so that `tally serve` is one file.
#pragma once

#include <span>
#include <string_view>

namespace tally {

struct StaticAsset {
  std::string_view path;          // "/counter.js", "/demo/index.html"
  std::string_view content_type;  // "text/javascript; charset=utf-8"
  std::string_view body;
};

// All embedded assets. Thread-safe; empty only in a build without
// TALLY_WEB_ASSETS (the Lambda's).
std::span<const StaticAsset> StaticAssets();

// The asset served at `path`: exact match, or `path` + "index.html" for a
// path ending in '/'. nullptr if none.
const StaticAsset* FindStaticAsset(std::string_view path);

}  // namespace tally
