// The files of web/, embedded at build time by cmake/EmbedWeb.cmake.
#include "server/web_assets.hpp"

namespace facematch::server {
namespace {

#include "web_assets_data.inc"  // generated: constexpr WebAsset kWebAssets[]

}  // namespace

std::span<const WebAsset> web_assets() { return kWebAssets; }

}  // namespace facematch::server
