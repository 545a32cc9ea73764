// A compiled expression is a tree of nodes in one vector, children by index; what the parser
// (compile.cpp) builds and the evaluator (evaluate.cpp) walks.
#pragma once

#include <re2/re2.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "plugins/cidr.hpp"
#include "plugins/pkg/expression/expression.hpp"

namespace moat::plugins::expression {

// The functions of CoreDNS's expression environment (plugin/pkg/expression).
enum class Fn : uint8_t {
  Type, Name, Class, Proto, Size, ClientIp, Port, Id, Opcode, Do, Bufsize, ServerIp, ServerPort,
  InCidr, Metadata,
};

enum class Kind : uint8_t {
  Literal, Array, Call, Not, And, Or,
  Eq, Ne, Lt, Le, Gt, Ge, In, NotIn, Matches, Contains, StartsWith, EndsWith,
};

struct Node {
  Kind kind = Kind::Literal;
  Type type = Type::Error;
  uint32_t offset = 0;  // in Program::text, for messages
  int32_t lhs = -1, rhs = -1;
  Value literal;                  // Literal (strings point into `storage`)
  std::shared_ptr<std::string> storage;
  Fn fn = Fn::Type;               // Call
  std::vector<int32_t> args;      // Call: arguments; Array: elements
  std::shared_ptr<const re2::RE2> pattern;  // Matches: compiled at load
  bool constCidr = false;         // InCidr with a literal CIDR, parsed into `cidr`
  plugins::Cidr cidr;
};

}  // namespace moat::plugins::expression
