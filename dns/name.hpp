// Domain names in wire form (length-prefixed labels, root label last) and their presentation
// form. Config code converts once; the hot path only compares lowercased wire bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moat::dns {

using WireName = std::vector<uint8_t>;

// "Example.org", "example.org." and "." to wire form, case kept. Accepts \. and \DDD escapes.
// nullopt when a label is empty or too long, or the name is over 255 bytes.
std::optional<WireName> nameFromText(std::string_view text);

// Wire name (uncompressed) to presentation form with the trailing dot, escaping as dig does.
std::string nameToText(std::span<const uint8_t> wire);
// The same, appended to `out` (lets hot-path callers reuse a buffer).
void appendNameText(std::string& out, std::span<const uint8_t> wire);
// The same, written to `out`, which has room for maxNameText(wire) characters; returns the
// length written. For callers that may not allocate.
size_t writeNameText(std::span<const uint8_t> wire, char* out);
inline size_t maxNameText(std::span<const uint8_t> wire) { return wire.size() * 4 + 1; }

void lowercaseInPlace(std::span<uint8_t> wire);
WireName lowercased(std::span<const uint8_t> wire);

// True when `name` equals `zone` or lies below it. Both lowercased, uncompressed wire names.
bool isSubdomain(std::span<const uint8_t> name, std::span<const uint8_t> zone);

// Lowercased text to FQDN lowercase text ("Example.ORG" -> "example.org.").
std::string fqdnLower(std::string_view text);

}  // namespace moat::dns
