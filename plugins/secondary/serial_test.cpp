#include "plugins/secondary/serial.hpp"

#include <doctest/doctest.h>

using moat::plugins::secondary::serialNewer;

TEST_CASE("serials compare in RFC 1982 arithmetic, across the wrap") {
  struct Case {
    uint32_t candidate, current;
    bool newer;
  };
  const Case cases[] = {
      {2, 1, true},
      {1, 2, false},
      {1, 1, false},
      {0, 0xFFFFFFFFu, true},            // wrapped: 0 follows 2^32-1
      {0xFFFFFFFFu, 0, false},
      {0x7FFFFFFFu, 0, true},            // the farthest ahead that still counts
      {0x80000000u, 0, false},           // exactly 2^31 apart: undefined, not newer
      {0, 0x80000000u, false},
      {0x80000001u, 0, false},           // more than 2^31 ahead means behind
      {2024010101u, 2023123199u, true},  // a date-style serial moving on
  };
  for (const Case& c : cases) {
    CAPTURE(c.candidate);
    CAPTURE(c.current);
    CHECK(serialNewer(c.candidate, c.current) == c.newer);
  }
}
