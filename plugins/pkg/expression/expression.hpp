// Expressions over a query, as CoreDNS's `view` (and `template`) write them: the subset of
// expr-lang that Corefiles use (README.md here lists it). The text is parsed and type-checked
// once, at load, into a Program; evaluating it per query reads the query and allocates nothing
// (strings a function returns live in a fixed scratch buffer on the stack).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "conf/ast.hpp"
#include "conf/diag.hpp"
#include "dns/query.hpp"
#include "plugins/cidr.hpp"

namespace moat::plugins::expression {

enum class Type : uint8_t { Bool, Int, Float, String, Array, Error };

// One value during evaluation. Strings are views: into the program (literals) or into the
// evaluation's scratch buffer (what functions return).
struct Value {
  Type type = Type::Error;
  bool b = false;
  int64_t i = 0;
  double f = 0;
  std::string_view s;

  static Value boolean(bool v) { return {Type::Bool, v, 0, 0, {}}; }
  static Value integer(int64_t v) { return {Type::Int, false, v, 0, {}}; }
  static Value real(double v) { return {Type::Float, false, 0, v, {}}; }
  static Value string(std::string_view v) { return {Type::String, false, 0, 0, v}; }
  static Value error() { return {}; }
};

// What an expression may ask beyond the query itself.
class Env {
 public:
  virtual ~Env() = default;
  // metadata(label): "" unless a plugin published the label for this query.
  virtual std::string_view metadata(std::string_view label) const { return {}; }
};

struct Node;

class Program {
 public:
  // Compiles the words of one `expr` line (joined by single spaces, as CoreDNS does); errors
  // carry the Corefile position of the offending character. `plugin` prefixes messages.
  static conf::Result<Program> compile(std::span<const conf::Token> words, std::string_view plugin);

  Program(Program&&) noexcept;
  Program& operator=(Program&&) noexcept;
  ~Program();

  // The value for query `q`; Type::Error when a function failed (incidr on something that is
  // no address, say).
  Value evaluate(const dns::Query& q, const Env& env) const;
  // True only when the expression evaluates to boolean true (CoreDNS: anything else, errors
  // included, is false).
  bool test(const dns::Query& q, const Env& env) const {
    const Value v = evaluate(q, env);
    return v.type == Type::Bool && v.b;
  }
  Type type() const;
  const std::string& text() const { return text_; }
  // The client networks the expression is exactly about: when it is `incidr(client_ip(),
  // 'CIDR')`, or such calls joined by `or`/`||`, those CIDRs (true iff the client is in one of
  // them); nullopt for anything else. What lint reasons about views with.
  std::optional<std::vector<plugins::Cidr>> clientNetworks() const;

 private:
  Program() = default;
  friend class Compiler;

  std::string text_;
  std::vector<Node> nodes_;
  int32_t root_ = -1;
};

}  // namespace moat::plugins::expression
