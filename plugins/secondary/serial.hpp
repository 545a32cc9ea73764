// SOA serial numbers compare in RFC 1982 arithmetic: a serial is newer than another when it
// lies less than 2^31 ahead of it on the 32-bit circle. Two serials exactly 2^31 apart are
// undefined by the RFC; neither is newer, so no transfer is started on such a jump.
#pragma once

#include <cstdint>

namespace moat::plugins::secondary {

constexpr bool serialNewer(uint32_t candidate, uint32_t current) {
  const uint32_t ahead = candidate - current;  // modulo 2^32
  return ahead != 0 && ahead < 0x80000000u;
}

}  // namespace moat::plugins::secondary
