// Server block keys and zone names, normalised as CoreDNS does: lowercase, fully qualified,
// CIDR keys turned into the reverse zones they cover.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"

namespace moat::conf {

struct ServerKey {
  std::string scheme;  // "dns" or "tls" (DNS over TLS), the transports Moat serves
  std::string zone;    // "example.org." lowercase FQDN; "." for the root
  uint16_t port = 0;
  Pos pos;
};

// "[scheme://]zone[:port]" -> one key per zone (a CIDR key may yield many).
// `defaultPort` is 53 or the -dns.port flag, for dns:// keys; tls:// keys default to 853. Other
// schemes are errors ("not implemented by Moat").
Result<std::vector<ServerKey>> parseServerKey(const Token& key, uint16_t defaultPort);

// A zone argument of a plugin ("example.org", "10.0.0.0/8", "2001:db8::/32") -> normalised zones.
Result<std::vector<std::string>> normalizeZone(const Token& zone);

// CIDR text -> the reverse zones it covers, split at octet/nibble boundaries as CoreDNS does.
// Empty when `text` is not a CIDR.
std::vector<std::string> cidrToReverseZones(std::string_view text);

// True when `name` (lowercase FQDN) equals `zone` or lies below it.
bool isSubzone(std::string_view name, std::string_view zone);

}  // namespace moat::conf
