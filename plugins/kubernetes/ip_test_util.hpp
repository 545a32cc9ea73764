// ip("10.0.0.1"): an address for the tests, which must parse. One definition for every test file
// (they are compiled together in a unity build).
#pragma once

#include <doctest/doctest.h>

#include <string_view>

#include "plugins/kubernetes/model.hpp"

namespace moat::plugins::kubernetes::testing {

inline Ip ip(std::string_view text) {
  auto v = Ip::parse(text);
  REQUIRE(v);
  return *v;
}

}  // namespace moat::plugins::kubernetes::testing
