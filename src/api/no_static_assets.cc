// StaticAssets() of a build without TALLY_WEB_ASSETS (the Lambda package,
// whose pages are served from S3): there are none.
#include "api/static_assets.h"

namespace tally {

std::span<const StaticAsset> StaticAssets() { return {}; }

}  // namespace tally
