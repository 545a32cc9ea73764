// Lexing, parsing and type checking of an expression, once at load. Precedences are
// expr-lang's: `or`/`||` 10, `and`/`&&` 15, comparisons and the word operators 20, unary
// `not`/`!` 50. Anything outside the supported subset is an error at its own position.
#include <cctype>
#include <charconv>
#include <optional>

#include "plugins/pkg/expression/node.hpp"

namespace moat::plugins::expression {

namespace {

struct FnSpec {
  std::string_view name;
  Fn fn;
  Type result;
  std::vector<Type> params;
};

const std::vector<FnSpec>& functions() {
  static const std::vector<FnSpec> kFunctions = {
      {"type", Fn::Type, Type::String, {}},
      {"name", Fn::Name, Type::String, {}},
      {"class", Fn::Class, Type::String, {}},
      {"proto", Fn::Proto, Type::String, {}},
      {"size", Fn::Size, Type::Int, {}},
      {"client_ip", Fn::ClientIp, Type::String, {}},
      {"port", Fn::Port, Type::String, {}},
      {"id", Fn::Id, Type::Int, {}},
      {"opcode", Fn::Opcode, Type::Int, {}},
      {"do", Fn::Do, Type::Bool, {}},
      {"bufsize", Fn::Bufsize, Type::Int, {}},
      {"server_ip", Fn::ServerIp, Type::String, {}},
      {"server_port", Fn::ServerPort, Type::String, {}},
      {"incidr", Fn::InCidr, Type::Bool, {Type::String, Type::String}},
      {"metadata", Fn::Metadata, Type::String, {Type::String}},
  };
  return kFunctions;
}

std::string_view typeName(Type t) {
  switch (t) {
    case Type::Bool: return "bool";
    case Type::Int: return "int";
    case Type::Float: return "float";
    case Type::String: return "string";
    case Type::Array: return "array";
    case Type::Error: return "error";
  }
  return "?";
}

bool numeric(Type t) { return t == Type::Int || t == Type::Float; }

enum class TokKind : uint8_t { Ident, Int, Float, String, Punct, End };

struct Tok {
  TokKind kind = TokKind::End;
  std::string text;  // identifier, punctuation, or the decoded string literal
  uint32_t offset = 0;
  int64_t i = 0;
  double f = 0;
};

// Maps an offset in the joined text back to a Corefile position.
class Positions {
 public:
  Positions(std::span<const conf::Token> words, std::string& joined) {
    for (const auto& w : words) {
      if (!joined.empty()) joined += ' ';
      starts_.push_back(static_cast<uint32_t>(joined.size()));
      joined += w.text;
      pos_.push_back(w.pos);
      quoted_.push_back(w.quoted);
    }
  }
  conf::Pos at(uint32_t offset) const {
    if (pos_.empty()) return {};
    size_t k = 0;
    while (k + 1 < starts_.size() && starts_[k + 1] <= offset) ++k;
    conf::Pos p = pos_[k];
    p.col += offset - starts_[k] + (quoted_[k] ? 1 : 0);
    return p;
  }

 private:
  std::vector<uint32_t> starts_;
  std::vector<conf::Pos> pos_;
  std::vector<bool> quoted_;
};

}  // namespace

class Compiler {
 public:
  Compiler(std::span<const conf::Token> words, std::string_view plugin)
      : positions_(words, program_.text_), plugin_(plugin), src_(program_.text_) {}

  conf::Result<Program> run() {
    if (src_.empty()) return fail(0, "empty expression");
    if (auto err = advance()) return *err;
    auto root = expression(0);
    if (!root) return root.error();
    if (tok_.kind != TokKind::End) return fail(tok_.offset, "unexpected '" + tok_.text + "'");
    program_.root_ = *root;
    return std::move(program_);
  }

 private:
  using Index = conf::Result<int32_t>;

  conf::Diag fail(uint32_t offset, const std::string& what) const {
    return conf::errorAt(positions_.at(offset), std::string(plugin_) + ": expression: " + what);
  }

  int32_t add(Node n) {
    program_.nodes_.push_back(std::move(n));
    return static_cast<int32_t>(program_.nodes_.size() - 1);
  }
  Node& node(int32_t i) { return program_.nodes_[static_cast<size_t>(i)]; }

  // --- lexer
  std::optional<conf::Diag> advance() {
    while (pos_ < src_.size() && std::isspace(static_cast<unsigned char>(src_[pos_]))) ++pos_;
    tok_ = Tok{};
    tok_.offset = static_cast<uint32_t>(pos_);
    if (pos_ >= src_.size()) return std::nullopt;
    const char c = src_[pos_];
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t end = pos_;
      while (end < src_.size() &&
             (std::isalnum(static_cast<unsigned char>(src_[end])) || src_[end] == '_')) {
        ++end;
      }
      tok_.kind = TokKind::Ident;
      tok_.text = src_.substr(pos_, end - pos_);
      pos_ = end;
      return std::nullopt;
    }
    if (std::isdigit(static_cast<unsigned char>(c))) return number();
    if (c == '\'' || c == '"') return string(c);
    static constexpr std::string_view kTwo[] = {"==", "!=", "<=", ">=", "&&", "||",
                                                "**", "??", "..", "?."};
    for (auto op : kTwo) {
      if (src_.substr(pos_, 2) == op) {
        tok_.kind = TokKind::Punct;
        tok_.text = op;
        pos_ += 2;
        return std::nullopt;
      }
    }
    tok_.kind = TokKind::Punct;
    tok_.text = std::string(1, c);
    ++pos_;
    return std::nullopt;
  }

  std::optional<conf::Diag> number() {
    size_t end = pos_;
    bool real = false;
    while (end < src_.size() && (std::isdigit(static_cast<unsigned char>(src_[end])) ||
                                 (src_[end] == '.' && !real && end + 1 < src_.size() &&
                                  std::isdigit(static_cast<unsigned char>(src_[end + 1]))))) {
      real = real || src_[end] == '.';
      ++end;
    }
    tok_.text = src_.substr(pos_, end - pos_);
    const char* first = src_.data() + pos_;
    const char* last = src_.data() + end;
    if (real) {
      tok_.kind = TokKind::Float;
      tok_.f = std::strtod(std::string(first, last).c_str(), nullptr);
    } else {
      tok_.kind = TokKind::Int;
      if (std::from_chars(first, last, tok_.i).ec != std::errc()) {
        return fail(tok_.offset, "number out of range: " + tok_.text);
      }
    }
    pos_ = end;
    return std::nullopt;
  }

  // A quoted string with Go's escapes (\\ \' \" \n \t \r \xHH), as expr-lang reads them.
  std::optional<conf::Diag> string(char quote) {
    size_t k = pos_ + 1;
    std::string out;
    while (k < src_.size() && src_[k] != quote) {
      char ch = src_[k];
      if (ch == '\\' && k + 1 < src_.size()) {
        const char e = src_[k + 1];
        k += 2;
        switch (e) {
          case 'n': out += '\n'; break;
          case 't': out += '\t'; break;
          case 'r': out += '\r'; break;
          case '\\': case '\'': case '"': out += e; break;
          case 'x': {
            unsigned v = 0;
            if (k + 2 > src_.size() ||
                std::from_chars(src_.data() + k, src_.data() + k + 2, v, 16).ec != std::errc()) {
              return fail(static_cast<uint32_t>(k - 2), "invalid \\x escape");
            }
            out += static_cast<char>(v);
            k += 2;
            break;
          }
          default:
            return fail(static_cast<uint32_t>(k - 2), std::string("unknown escape \\") + e);
        }
        continue;
      }
      out += ch;
      ++k;
    }
    if (k >= src_.size()) return fail(tok_.offset, "unterminated string");
    tok_.kind = TokKind::String;
    tok_.text = std::move(out);
    pos_ = k + 1;
    return std::nullopt;
  }

  bool isWord(std::string_view w) const { return tok_.kind == TokKind::Ident && tok_.text == w; }
  bool isPunct(std::string_view p) const { return tok_.kind == TokKind::Punct && tok_.text == p; }

  // --- parser
  struct BinaryOp {
    Kind kind;
    int precedence;
  };

  // The binary operator at the current token, if it is one Moat supports.
  std::optional<BinaryOp> binaryOp() const {
    if (tok_.kind == TokKind::Punct) {
      static const std::pair<std::string_view, BinaryOp> kOps[] = {
          {"||", {Kind::Or, 10}}, {"&&", {Kind::And, 15}}, {"==", {Kind::Eq, 20}},
          {"!=", {Kind::Ne, 20}}, {"<", {Kind::Lt, 20}},   {"<=", {Kind::Le, 20}},
          {">", {Kind::Gt, 20}},  {">=", {Kind::Ge, 20}},
      };
      for (const auto& [text, op] : kOps) {
        if (tok_.text == text) return op;
      }
      return std::nullopt;
    }
    if (tok_.kind != TokKind::Ident) return std::nullopt;
    static const std::pair<std::string_view, BinaryOp> kWords[] = {
        {"or", {Kind::Or, 10}},         {"and", {Kind::And, 15}},
        {"in", {Kind::In, 20}},         {"matches", {Kind::Matches, 20}},
        {"contains", {Kind::Contains, 20}}, {"startsWith", {Kind::StartsWith, 20}},
        {"endsWith", {Kind::EndsWith, 20}},
    };
    for (const auto& [text, op] : kWords) {
      if (tok_.text == text) return op;
    }
    if (tok_.text == "not") return BinaryOp{Kind::NotIn, 20};  // `not in`, `not matches`...
    return std::nullopt;
  }

  // Parsing and evaluating recurse once per level of nesting: bound it, or `((((...` and
  // `not not not ...` would run the stack out.
  static constexpr int kMaxDepth = 64;
  struct Depth {
    explicit Depth(int& d) : d_(++d) {}
    ~Depth() { --d_; }
    int& d_;
  };

  Index expression(int minPrecedence) {
    Depth guard(depth_);
    if (depth_ > kMaxDepth) return fail(tok_.offset, "expression nested too deeply");
    auto lhs = unary();
    if (!lhs) return lhs;
    int32_t left = *lhs;
    for (;;) {
      if (tok_.kind == TokKind::Punct) {
        static constexpr std::string_view kUnsupported[] = {"+", "-", "*", "/", "%", "**", "^",
                                                            "??", "..", "?", ":", "|", ".", "?.",
                                                            "[", "{", "#"};
        for (auto u : kUnsupported) {
          if (tok_.text == u) {
            return fail(tok_.offset, "'" + tok_.text + "' is not supported in Moat's expressions");
          }
        }
      }
      auto op = binaryOp();
      if (!op || op->precedence < minPrecedence) return left;
      const uint32_t at = tok_.offset;
      bool negate = false;
      if (op->kind == Kind::NotIn) {  // `not` followed by a word operator
        if (auto err = advance()) return *err;
        auto inner = binaryOp();
        if (!inner || inner->precedence != 20 || tok_.kind != TokKind::Ident ||
            inner->kind == Kind::NotIn) {
          return fail(at, "'not' here must be followed by in, matches, contains, startsWith or "
                          "endsWith");
        }
        negate = inner->kind != Kind::In;
        op = BinaryOp{inner->kind == Kind::In ? Kind::NotIn : inner->kind, 20};
      }
      if (auto err = advance()) return *err;
      auto rhs = expression(op->precedence + 1);
      if (!rhs) return rhs;
      auto made = binary(op->kind, left, *rhs, at);
      if (!made) return made;
      left = *made;
      if (negate) {
        Node n;
        n.kind = Kind::Not;
        n.type = Type::Bool;
        n.offset = at;
        n.lhs = left;
        left = add(std::move(n));
      }
    }
  }

  Index unary() {
    Depth guard(depth_);
    if (depth_ > kMaxDepth) return fail(tok_.offset, "expression nested too deeply");
    if (isWord("not") || isPunct("!")) {
      const uint32_t at = tok_.offset;
      if (auto err = advance()) return *err;
      auto operand = expression(50);
      if (!operand) return operand;
      if (node(*operand).type != Type::Bool) {
        return fail(at, "invalid operation: not " + std::string(typeName(node(*operand).type)));
      }
      Node n;
      n.kind = Kind::Not;
      n.type = Type::Bool;
      n.offset = at;
      n.lhs = *operand;
      return add(std::move(n));
    }
    return primary();
  }

  Index literal(Value v) {
    Node n;
    n.kind = Kind::Literal;
    n.type = v.type;
    n.offset = tok_.offset;
    n.literal = v;
    if (v.type == Type::String) {
      n.storage = std::make_shared<std::string>(tok_.text);
      n.literal.s = *n.storage;
    }
    if (auto err = advance()) return *err;
    return add(std::move(n));
  }

  Index primary() {
    const uint32_t at = tok_.offset;
    switch (tok_.kind) {
      case TokKind::End:
        return fail(at, "unexpected end of expression");
      case TokKind::Int:
        return literal(Value::integer(tok_.i));
      case TokKind::Float:
        return literal(Value::real(tok_.f));
      case TokKind::String:
        return literal(Value::string({}));
      case TokKind::Punct:
        if (isPunct("(")) {
          if (auto err = advance()) return *err;
          auto inner = expression(0);
          if (!inner) return inner;
          if (!isPunct(")")) return fail(tok_.offset, "expected ')'");
          if (auto err = advance()) return *err;
          return inner;
        }
        if (isPunct("[")) return array();
        if (isPunct("-")) {
          if (auto err = advance()) return *err;
          if (tok_.kind == TokKind::Int) return literal(Value::integer(-tok_.i));
          if (tok_.kind == TokKind::Float) return literal(Value::real(-tok_.f));
          return fail(at, "'-' is supported only before a number");
        }
        return fail(at, "unexpected '" + tok_.text + "'");
      case TokKind::Ident:
        break;
    }
    if (tok_.text == "true" || tok_.text == "false") return literal(Value::boolean(tok_.text == "true"));
    const std::string name = tok_.text;
    if (auto err = advance()) return *err;
    if (!isPunct("(")) return fail(at, "unknown name '" + name + "'" + knownFunctions());
    return call(name, at);
  }

  std::string knownFunctions() const {
    std::string list = " (functions: ";
    for (const auto& f : functions()) list += std::string(f.name) + "() ";
    list.back() = ')';
    return list;
  }

  Index call(const std::string& name, uint32_t at) {
    const FnSpec* spec = nullptr;
    for (const auto& f : functions()) {
      if (f.name == name) spec = &f;
    }
    if (spec == nullptr) return fail(at, "unknown function '" + name + "'" + knownFunctions());
    if (auto err = advance()) return *err;  // past '('
    Node n;
    n.kind = Kind::Call;
    n.fn = spec->fn;
    n.type = spec->result;
    n.offset = at;
    while (!isPunct(")")) {
      if (!n.args.empty()) {
        if (!isPunct(",")) return fail(tok_.offset, "expected ',' or ')'");
        if (auto err = advance()) return *err;
      }
      auto arg = expression(0);
      if (!arg) return arg;
      n.args.push_back(*arg);
    }
    if (auto err = advance()) return *err;  // past ')'
    if (n.args.size() != spec->params.size()) {
      return fail(at, name + "() takes " + std::to_string(spec->params.size()) + " argument" +
                          (spec->params.size() == 1 ? "" : "s") + ", not " +
                          std::to_string(n.args.size()));
    }
    for (size_t k = 0; k < n.args.size(); ++k) {
      const Node& a = node(n.args[k]);
      if (a.type != spec->params[k]) {
        return fail(a.offset, "argument " + std::to_string(k + 1) + " of " + name + "() must be " +
                                  std::string(typeName(spec->params[k])) + ", not " +
                                  std::string(typeName(a.type)));
      }
    }
    if (n.fn == Fn::InCidr) {
      const Node& cidr = node(n.args[1]);
      if (cidr.kind == Kind::Literal) {
        const auto parsed = plugins::parseCidr(cidr.literal.s, /*prefixRequired=*/true);
        if (!parsed) return fail(cidr.offset, "invalid CIDR address: " + std::string(cidr.literal.s));
        n.cidr = *parsed;
        n.constCidr = true;
      }
    }
    return add(std::move(n));
  }

  Index array() {
    Node n;
    n.kind = Kind::Array;
    n.type = Type::Array;
    n.offset = tok_.offset;
    if (auto err = advance()) return *err;  // past '['
    while (!isPunct("]")) {
      if (!n.args.empty()) {
        if (!isPunct(",")) return fail(tok_.offset, "expected ',' or ']'");
        if (auto err = advance()) return *err;
        if (isPunct("]")) break;  // a trailing comma
      }
      auto item = expression(0);
      if (!item) return item;
      n.args.push_back(*item);
    }
    if (auto err = advance()) return *err;  // past ']'
    return add(std::move(n));
  }

  Index binary(Kind kind, int32_t lhs, int32_t rhs, uint32_t at) {
    const Type l = node(lhs).type;
    const Type r = node(rhs).type;
    auto mismatch = [&](std::string_view op) {
      return fail(at, "invalid operation: " + std::string(op) + " (mismatched types " +
                          std::string(typeName(l)) + " and " + std::string(typeName(r)) + ")");
    };
    Node n;
    n.kind = kind;
    n.type = Type::Bool;
    n.offset = at;
    n.lhs = lhs;
    n.rhs = rhs;
    switch (kind) {
      case Kind::And:
      case Kind::Or:
        if (l != Type::Bool || r != Type::Bool) return mismatch(kind == Kind::And ? "&&" : "||");
        break;
      case Kind::Eq:
      case Kind::Ne:
        if (!(l == r || (numeric(l) && numeric(r))) || l == Type::Array) {
          return mismatch(kind == Kind::Eq ? "==" : "!=");
        }
        break;
      case Kind::Lt:
      case Kind::Le:
      case Kind::Gt:
      case Kind::Ge:
        if (!((numeric(l) && numeric(r)) || (l == Type::String && r == Type::String))) {
          return mismatch("comparison");
        }
        break;
      case Kind::In:
      case Kind::NotIn: {
        if (r != Type::Array) return fail(at, "the right side of 'in' must be an array [...]");
        for (int32_t item : node(rhs).args) {
          const Type t = node(item).type;
          if (!(t == l || (numeric(t) && numeric(l)))) {
            return fail(node(item).offset, "array element of type " + std::string(typeName(t)) +
                                               " cannot equal a " + std::string(typeName(l)));
          }
        }
        break;
      }
      case Kind::Matches: {
        if (l != Type::String || r != Type::String) return mismatch("matches");
        const Node& p = node(rhs);
        if (p.kind != Kind::Literal) {
          return fail(p.offset, "the pattern of 'matches' must be a string literal (it is "
                                "compiled at load)");
        }
        re2::RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_shared<re2::RE2>(std::string(p.literal.s), options);
        if (!re->ok()) return fail(p.offset, "invalid regular expression: " + re->error());
        n.pattern = std::move(re);
        break;
      }
      case Kind::Contains:
      case Kind::StartsWith:
      case Kind::EndsWith:
        if (l != Type::String || r != Type::String) return mismatch("string operator");
        break;
      default:
        return fail(at, "unsupported operator");
    }
    return add(std::move(n));
  }

  Program program_;
  Positions positions_;
  std::string_view plugin_;
  std::string_view src_;
  size_t pos_ = 0;
  Tok tok_;
  int depth_ = 0;
};

conf::Result<Program> Program::compile(std::span<const conf::Token> words, std::string_view plugin) {
  return Compiler(words, plugin).run();
}

Program::Program(Program&&) noexcept = default;
Program& Program::operator=(Program&&) noexcept = default;
Program::~Program() = default;

std::optional<std::vector<plugins::Cidr>> Program::clientNetworks() const {
  std::vector<plugins::Cidr> out;
  std::vector<int32_t> todo{root_};
  while (!todo.empty()) {
    if (todo.back() < 0) return std::nullopt;
    const Node& n = nodes_[static_cast<size_t>(todo.back())];
    todo.pop_back();
    if (n.kind == Kind::Or) {
      todo.push_back(n.lhs);
      todo.push_back(n.rhs);
      continue;
    }
    const bool ofClient = n.kind == Kind::Call && n.fn == Fn::InCidr && n.constCidr &&
                          nodes_[static_cast<size_t>(n.args[0])].kind == Kind::Call &&
                          nodes_[static_cast<size_t>(n.args[0])].fn == Fn::ClientIp;
    if (!ofClient) return std::nullopt;
    out.push_back(n.cidr);
  }
  return out;
}

Type Program::type() const { return root_ < 0 ? Type::Error : nodes_[static_cast<size_t>(root_)].type; }

}  // namespace moat::plugins::expression
