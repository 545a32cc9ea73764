// The two sides of an RFC 8484 exchange that forward writes or checks itself (the HTTP
// response is parsed by Beast): the request, and the response's content type.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace moat::plugins::forward {

// Base64url without padding (RFC 4648 section 5, as RFC 8484 section 6 uses it), appended.
void appendBase64Url(std::string& out, std::span<const uint8_t> data);

// The whole HTTP/1.1 request for `query` (whose ID the caller has set, 0 by the RFC) to
// /dns-query on `host`: POST with the message as body, or GET with it in ?dns=. `out` is
// reused, so a warm connection builds its requests without allocating.
void buildDohRequest(std::string& out, std::string_view host, std::span<const uint8_t> query, bool get);

// application/dns-message, with or without parameters ("; charset=..."), any case.
bool isDnsMessageType(std::string_view contentType);

}  // namespace moat::plugins::forward
