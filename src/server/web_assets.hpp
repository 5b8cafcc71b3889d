// Files of the browser page (issue 4) compiled into the binary, served under GET /<path>
// ("index.html" also as "/"). The page must work offline, so nothing is fetched from elsewhere. The API's
// description, web/openapi.json, is served the same way at GET /openapi.json.
#pragma once

#include <span>
#include <string_view>

namespace facematch::server {

struct WebAsset {
  std::string_view path;          // relative to web/, e.g. "index.html"
  std::string_view content_type;  // e.g. "text/html; charset=utf-8"
  std::string_view body;
};

std::span<const WebAsset> web_assets();

}  // namespace facematch::server
