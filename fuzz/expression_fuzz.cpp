// Fuzz target: an `expr` line (the input up to the first newline, split into words at spaces as
// the Corefile lexer would) compiled as `view` compiles it, then, when it compiles, evaluated
// against the query in the rest of the input (or a fixed one when that is not a query), over
// UDP from IPv4 and over TCP from IPv6. Compiling must fail with a position and a message, or
// succeed; evaluating must not crash and must be deterministic.
#include <string>
#include <vector>

#include "fuzz/fuzz_util.hpp"
#include "plugins/pkg/expression/expression.hpp"

namespace {

using namespace moat;
namespace ex = moat::plugins::expression;

bool same(const ex::Value& a, const ex::Value& b) {
  return a.type == b.type && a.b == b.b && a.i == b.i && a.s == b.s &&
         (a.f == b.f || (a.f != a.f && b.f != b.f));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::Input in(data, size);
  const std::string_view line = in.until('\n');
  std::vector<conf::Token> words;
  uint32_t col = 1;
  size_t start = 0;
  while (start <= line.size()) {
    size_t end = line.find(' ', start);
    if (end == std::string_view::npos) end = line.size();
    if (end > start) words.push_back({std::string(line.substr(start, end - start)), {"Corefile", 1, col + static_cast<uint32_t>(start)}, false});
    start = end + 1;
  }
  if (words.empty()) return 0;  // `view` refuses an empty `expr` before compiling anything
  auto program = ex::Program::compile(words, "view");
  if (!program) {
    FUZZ_CHECK(!program.error().message.empty());
    FUZZ_CHECK(program.error().pos.line == 1);
    return 0;
  }
  static const uint8_t kName[] = {3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0};
  const auto fallback = fuzz::makeQuery(kName, 1, 1, 7, 1232, true);
  const ex::Env env;
  for (int variant = 0; variant < 2; ++variant) {
    dns::Query q;
    const auto proto = variant == 0 ? dns::Proto::Udp : dns::Proto::Tcp;
    if (!fuzz::loadQuery(q, in.bytes(), proto, variant == 1)) {
      FUZZ_CHECK(fuzz::loadQuery(q, fallback, proto, variant == 1));
    }
    const ex::Value first = program->evaluate(q, env);
    FUZZ_CHECK(same(first, program->evaluate(q, env)));
    FUZZ_CHECK(program->test(q, env) == (first.type == ex::Type::Bool && first.b));
  }
  return 0;
}
