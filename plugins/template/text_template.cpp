#include "plugins/template/text_template.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>

namespace moat::plugins::tmpl {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool isIdent(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// Go's text for a map key that is absent when printed directly (`.Group.nope`).
constexpr std::string_view kNoValue = "<no value>";

}  // namespace

// One action's words, read left to right, with the nodes they compile to.
class Compiler {
 public:
  Compiler(std::string_view text, const Scope& scope, Template& out, CompileError& error)
      : text_(text), scope_(scope), out_(out), error_(error) {}

  bool run() {
    size_t at = 0;
    std::string pending;
    while (at < text_.size()) {
      const size_t open = text_.find("{{", at);
      if (open == std::string_view::npos) {
        pending.append(text_.substr(at));
        break;
      }
      pending.append(text_.substr(at, open - at));
      size_t p = open + 2;
      if (p + 1 < text_.size() && text_[p] == '-' && isSpace(text_[p + 1])) {
        while (!pending.empty() && isSpace(pending.back())) pending.pop_back();
        ++p;
      }
      const size_t close = findClose(p);
      if (close == std::string_view::npos) return fail(open, "unclosed action: '{{' without '}}'");
      size_t end = close;  // the action's words end here
      size_t next = close + 2;
      bool trimAfter = false;
      if (end >= p + 2 && text_[end - 1] == '-' && isSpace(text_[end - 2])) {
        --end;
        trimAfter = true;
      }
      pos_ = p;
      end_ = end;
      skipSpace();
      if (text_.substr(pos_, 2) == "/*") {
        const size_t stop = text_.find("*/", pos_ + 2);
        if (stop == std::string_view::npos || stop + 2 > end_) return fail(pos_, "unclosed comment");
        pos_ = stop + 2;
        skipSpace();
        if (pos_ != end_) return fail(pos_, "a comment must be the whole action");
      } else {
        if (pos_ == end_) return fail(open, "missing value for command");
        const int node = command(/*nested=*/false);
        if (node < 0) return false;
        skipSpace();
        if (pos_ != end_) return unsupported(pos_);
        out_.segments_.push_back({std::move(pending), node});
        pending.clear();
      }
      at = next;
      if (trimAfter) {
        while (at < text_.size() && isSpace(text_[at])) ++at;
      }
    }
    if (!pending.empty()) out_.segments_.push_back({std::move(pending), -1});
    return true;
  }

 private:
  // The `}}` that closes the action starting at `p`, skipping quoted strings.
  size_t findClose(size_t p) const {
    char quote = 0;
    for (size_t i = p; i + 1 < text_.size() || (quote == 0 && i < text_.size()); ++i) {
      const char c = text_[i];
      if (quote != 0) {
        if (c == '\\' && quote == '"') {
          ++i;
        } else if (c == quote) {
          quote = 0;
        }
        continue;
      }
      if (c == '"' || c == '`') {
        quote = c;
      } else if (c == '}' && i + 1 < text_.size() && text_[i + 1] == '}') {
        return i;
      }
    }
    return std::string_view::npos;
  }

  bool fail(size_t offset, std::string message) {
    error_.offset = offset;
    error_.message = std::move(message);
    return false;
  }
  int failNode(size_t offset, std::string message) {
    fail(offset, std::move(message));
    return -1;
  }
  bool unsupported(size_t offset) {
    return fail(offset, "'" + std::string(word(offset)) + "' is not in the template language Moat runs (see its README)");
  }

  std::string_view word(size_t offset) const {
    size_t e = offset;
    while (e < end_ && !isSpace(text_[e]) && text_[e] != ')') ++e;
    if (e == offset && offset < end_) ++e;
    return text_.substr(offset, e - offset);
  }

  void skipSpace() {
    while (pos_ < end_ && isSpace(text_[pos_])) ++pos_;
  }
  bool atOperandEnd() const { return pos_ >= end_ || isSpace(text_[pos_]) || text_[pos_] == ')'; }

  int add(Node n) {
    out_.nodes_.push_back(std::move(n));
    return static_cast<int>(out_.nodes_.size() - 1);
  }

  // A command: a function call or a single operand.
  int command(bool nested) {
    skipSpace();
    const size_t start = pos_;
    std::string_view w = identAt(pos_);
    if (w == "index") {
      pos_ += w.size();
      return indexCall(start);
    }
    if (w == "parseInt") {
      pos_ += w.size();
      return parseIntCall(start);
    }
    if (w == "printf" || w == "print" || w == "println" || w == "if" || w == "range" || w == "with" ||
        w == "define" || w == "template" || w == "block" || w == "len" || w == "slice" || w == "and" ||
        w == "or" || w == "not" || w == "eq" || w == "ne" || w == "html" || w == "js" || w == "urlquery" ||
        w == "end" || w == "else") {
      return failNode(start, "'" + std::string(w) + "' is not in the template language Moat runs (see its README)");
    }
    const int node = operand();
    if (node < 0) return -1;
    // `.Meta "KEY"`: the one method with an argument.
    (void)nested;
    return node;
  }

  std::string_view identAt(size_t p) const {
    size_t e = p;
    while (e < end_ && isIdent(text_[e])) ++e;
    return text_.substr(p, e - p);
  }

  int operand() {
    skipSpace();
    if (pos_ >= end_) return failNode(pos_, "missing operand");
    const size_t start = pos_;
    const char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      const int node = command(/*nested=*/true);
      if (node < 0) return -1;
      skipSpace();
      if (pos_ >= end_ || text_[pos_] != ')') return failNode(pos_, "unclosed '(' (or more than one command in it)");
      ++pos_;
      return node;
    }
    if (c == '"' || c == '`') {
      std::string s;
      if (!stringLiteral(s)) return -1;
      Node n;
      n.op = Node::Op::Literal;
      n.text = std::move(s);
      return add(std::move(n));
    }
    if ((c >= '0' && c <= '9') || c == '-') {
      int64_t v = 0;
      const char* b = text_.data() + pos_;
      const char* e = text_.data() + end_;
      auto [ptr, ec] = std::from_chars(b, e, v);
      if (ec != std::errc() || ptr == b) return failNode(start, "bad number");
      pos_ += static_cast<size_t>(ptr - b);
      if (!atOperandEnd()) return failNode(start, "bad number");
      Node n;
      n.op = Node::Op::Number;
      n.number = v;
      return add(std::move(n));
    }
    if (c == '.') return field(start);
    if (c == '$') return failNode(start, "template variables ($) are not in the template language Moat runs");
    return failNode(start, "'" + std::string(word(start)) + "' is not in the template language Moat runs (see its README)");
  }

  bool stringLiteral(std::string& out) {
    const char quote = text_[pos_];
    const size_t start = pos_;
    ++pos_;
    while (pos_ < end_ && text_[pos_] != quote) {
      char c = text_[pos_];
      if (quote == '"' && c == '\\') {
        if (pos_ + 1 >= end_) break;
        const char e = text_[++pos_];
        switch (e) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case '\\': c = '\\'; break;
          case '"': c = '"'; break;
          default: return fail(pos_ - 1, "unsupported escape in string");
        }
      }
      out.push_back(c);
      ++pos_;
    }
    if (pos_ >= end_) return fail(start, "unterminated string");
    ++pos_;
    return true;
  }

  // `.Name`, `.Group.a`, `.Question.Name`, `.Meta "KEY"`...
  int field(size_t start) {
    ++pos_;
    const std::string_view first = identAt(pos_);
    pos_ += first.size();
    std::string_view second;
    if (pos_ < end_ && text_[pos_] == '.') {
      ++pos_;
      second = identAt(pos_);
      pos_ += second.size();
      if (second.empty()) return failNode(start, "a field name must follow '.'");
    }
    if (pos_ < end_ && text_[pos_] == '.') return failNode(start, "'" + std::string(word(start)) + "' has no such field");
    if (!atOperandEnd()) return failNode(start, "'" + std::string(word(start)) + "' is not a field");
    Node n;
    n.op = Node::Op::Field;
    auto plain = [&](Field f) {
      if (!second.empty()) return failNode(start, "." + std::string(first) + " has no field " + std::string(second));
      n.field = f;
      return add(std::move(n));
    };
    if (first == "Name") return plain(Field::Name);
    if (first == "Zone") return plain(Field::Zone);
    if (first == "Class") return plain(Field::Class);
    if (first == "Type") return plain(Field::Type);
    if (first == "Remote") return plain(Field::Remote);
    if (first == "Question") {
      if (second == "Name") n.field = Field::QuestionName;
      else if (second == "Qtype") n.field = Field::QuestionType;
      else if (second == "Qclass") n.field = Field::QuestionClass;
      else return failNode(start, "Moat's templates read .Question.Name, .Question.Qtype and .Question.Qclass only");
      return add(std::move(n));
    }
    if (first == "Message") {
      if (second != "Id") return failNode(start, "Moat's templates read .Message.Id only");
      n.field = Field::MessageId;
      return add(std::move(n));
    }
    if (first == "Group") {
      if (second.empty()) return failNode(start, ".Group is a map: write .Group.NAME or index .Group \"NAME\"");
      n.op = Node::Op::GroupByName;
      n.byRegex = groupIndexes(second);
      return add(std::move(n));
    }
    if (first == "Var") {
      if (second.empty()) return failNode(start, ".Var is a map: write .Var.NAME");
      for (size_t i = 0; i < scope_.vars.size(); ++i) {
        if (scope_.vars[i] == second) {
          n.op = Node::Op::Var;
          n.number = static_cast<int64_t>(i);
          return add(std::move(n));
        }
      }
      return failNode(start, "no variable '" + std::string(second) + "' is declared with `var`");
    }
    if (first == "Meta") {
      if (!second.empty()) return failNode(start, ".Meta is a function: .Meta \"NAME\"");
      skipSpace();
      if (pos_ >= end_ || (text_[pos_] != '"' && text_[pos_] != '`')) {
        return failNode(pos_, ".Meta takes one string: .Meta \"NAME\"");
      }
      std::string key;
      if (!stringLiteral(key)) return -1;
      n.op = Node::Op::Meta;
      n.text = std::move(key);
      return add(std::move(n));
    }
    if (first == "Match") return failNode(start, ".Match is a list: write index .Match N");
    return failNode(start, "'." + std::string(first) + "' is not a field of the template's data");
  }

  std::vector<int> groupIndexes(std::string_view name) const {
    std::vector<int> out;
    for (const auto& names : scope_.groupNames) {
      int found = -1;
      for (size_t i = 0; i < names.size(); ++i) {
        if (!names[i].empty() && names[i] == name) {
          found = static_cast<int>(i);
          break;
        }
      }
      // Go's map also holds every group under its number ("0", "1", ...).
      if (found < 0 && !name.empty() && name.find_first_not_of("0123456789") == std::string_view::npos) {
        int v = 0;
        std::from_chars(name.data(), name.data() + name.size(), v);
        if (name.size() < 6 && static_cast<size_t>(v) < names.size()) found = v;
      }
      out.push_back(found);
    }
    return out;
  }

  int indexCall(size_t start) {
    skipSpace();
    const size_t what = pos_;
    std::string_view w = identAt(pos_ + 1);
    if (pos_ >= end_ || text_[pos_] != '.' || (w != "Match" && w != "Group")) {
      return failNode(what, "Moat's templates index .Match or .Group only");
    }
    pos_ += 1 + w.size();
    if (!atOperandEnd()) return failNode(what, "Moat's templates index .Match or .Group only");
    skipSpace();
    const size_t keyAt = pos_;
    const int key = operand();
    if (key < 0) return -1;
    Node& k = out_.nodes_[static_cast<size_t>(key)];
    Node n;
    if (w == "Match") {
      if (k.op != Node::Op::Number || k.number < 0) return failNode(keyAt, "index .Match takes a number >= 0");
      n.op = Node::Op::Match;
      n.number = k.number;
    } else {
      if (k.op != Node::Op::Literal) return failNode(keyAt, "index .Group takes a string");
      n.op = Node::Op::GroupByKey;
      n.text = k.text;
      n.byRegex = groupIndexes(k.text);
    }
    skipSpace();
    if (pos_ < end_ && text_[pos_] != ')') return failNode(pos_, "index takes two arguments here");
    (void)start;
    return add(std::move(n));
  }

  int parseIntCall(size_t start) {
    const int arg = operand();
    if (arg < 0) return -1;
    const Node::Op op = out_.nodes_[static_cast<size_t>(arg)].op;
    if (op == Node::Op::Number || op == Node::Op::ParseInt) {
      return failNode(start, "parseInt takes a string as its first argument");
    }
    const size_t baseAt = pos_;
    const int base = operand();
    if (base < 0) return -1;
    const size_t bitsAt = pos_;
    const int bits = operand();
    if (bits < 0) return -1;
    const Node& b = out_.nodes_[static_cast<size_t>(base)];
    const Node& s = out_.nodes_[static_cast<size_t>(bits)];
    if (b.op != Node::Op::Number || b.number == 1 || b.number < 0 || b.number > 36) {
      return failNode(baseAt, "parseInt's base is a number: 0 or 2 to 36");
    }
    if (s.op != Node::Op::Number || s.number < 0 || s.number > 64) {
      return failNode(bitsAt, "parseInt's bit size is a number from 0 to 64");
    }
    Node n;
    n.op = Node::Op::ParseInt;
    n.arg = arg;
    n.base = static_cast<int>(b.number);
    n.bits = static_cast<int>(s.number);
    skipSpace();
    if (pos_ < end_ && text_[pos_] != ')') return failNode(pos_, "parseInt takes three arguments");
    return add(std::move(n));
  }

  std::string_view text_;
  const Scope& scope_;
  Template& out_;
  CompileError& error_;
  size_t pos_ = 0, end_ = 0;
};

std::optional<Template> Template::compile(std::string_view text, const Scope& scope, CompileError& error) {
  Template t;
  t.source_ = std::string(text);
  Compiler c(t.source_, scope, t, error);
  if (!c.run()) return std::nullopt;
  return t;
}

int Template::highestGroup() const {
  int highest = -1;
  for (const Node& n : nodes_) {
    if (n.op == Node::Op::Match) highest = std::max(highest, static_cast<int>(std::min<int64_t>(n.number, 1 << 20)));
    if (n.op == Node::Op::GroupByName || n.op == Node::Op::GroupByKey) {
      for (int g : n.byRegex) highest = std::max(highest, g);
    }
  }
  return highest;
}

bool Template::reads(Field f) const {
  return std::any_of(nodes_.begin(), nodes_.end(), [f](const Node& n) { return n.op == Node::Op::Field && n.field == f; });
}

namespace {

// A node's value during rendering: text, or a number (parseInt, literals).
struct Val {
  bool number = false;
  uint64_t n = 0;
  int64_t literal = 0;
  bool signedNumber = false;
  std::string_view s;
};

std::optional<uint64_t> parseUint(std::string_view s, int base, int bits) {
  // As Go's strconv.ParseUint: base 0 reads a 0x/0o/0b/0 prefix; underscores are not taken.
  if (s.empty()) return std::nullopt;
  if (base == 0) {
    base = 10;
    if (s.size() > 1 && s[0] == '0') {
      const char p = static_cast<char>(s[1] | 0x20);
      if (p == 'x') base = 16, s.remove_prefix(2);
      else if (p == 'o') base = 8, s.remove_prefix(2);
      else if (p == 'b') base = 2, s.remove_prefix(2);
      else base = 8, s.remove_prefix(1);
    }
    if (s.empty()) return std::nullopt;
  }
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v, base);
  if (ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  if (bits == 0) bits = 64;
  if (bits < 64 && v >> bits != 0) return std::nullopt;
  return v;
}

}  // namespace

std::optional<size_t> Template::render(const Data& data, char* out, size_t cap, std::string_view& why) const {
  size_t len = 0;
  auto put = [&](std::string_view s) {
    if (s.empty()) return true;
    if (s.size() > cap - len) return false;
    std::memcpy(out + len, s.data(), s.size());
    len += s.size();
    return true;
  };
  char numbers[24];
  auto groupAt = [&](const Node& n) -> std::optional<std::string_view> {
    const size_t r = static_cast<size_t>(data.regex);
    if (r >= n.byRegex.size() || n.byRegex[r] < 0) return std::nullopt;
    const size_t g = static_cast<size_t>(n.byRegex[r]);
    return g < data.match.size() ? data.match[g] : std::string_view();
  };
  // A segment's node, evaluated with its arguments (a recursive lambda: no std::function).
  auto evalNode = [&](int index, Val& v, auto& self) -> bool {
    const Node& n = nodes_[static_cast<size_t>(index)];
    switch (n.op) {
      case Node::Op::Literal: v.s = n.text; return true;
      case Node::Op::Number: v.signedNumber = true; v.literal = n.number; return true;
      case Node::Op::Field:
        switch (n.field) {
          case Field::Name: v.s = data.name; return true;
          case Field::Zone: v.s = data.zone; return true;
          case Field::Class: v.s = data.klass; return true;
          case Field::Type: v.s = data.type; return true;
          case Field::Remote: v.s = data.remote; return true;
          case Field::QuestionName: v.s = data.name; return true;
          case Field::QuestionType: v.number = true; v.n = data.qtype; return true;
          case Field::QuestionClass: v.number = true; v.n = data.qclass; return true;
          case Field::MessageId: v.number = true; v.n = data.id; return true;
        }
        return false;
      case Node::Op::Match:
        if (static_cast<size_t>(n.number) >= data.match.size()) {
          why = "index of .Match out of range";
          return false;
        }
        v.s = data.match[static_cast<size_t>(n.number)];
        return true;
      case Node::Op::GroupByName: v.s = groupAt(n).value_or(kNoValue); return true;
      case Node::Op::GroupByKey: v.s = groupAt(n).value_or(std::string_view()); return true;
      case Node::Op::Var:
        v.s = static_cast<size_t>(n.number) < data.vars.size() ? data.vars[static_cast<size_t>(n.number)] : kNoValue;
        return true;
      case Node::Op::Meta: v.s = {}; return true;  // Moat has no metadata plugin
      case Node::Op::ParseInt: {
        Val a;
        if (!self(n.arg, a, self)) return false;
        if (a.number || a.signedNumber) {
          why = "parseInt takes a string";
          return false;
        }
        auto parsed = parseUint(a.s, n.base, n.bits);
        if (!parsed) {
          why = "parseInt: the text is no number in that base and bit size";
          return false;
        }
        v.number = true;
        v.n = *parsed;
        return true;
      }
    }
    return false;
  };
  for (const Segment& seg : segments_) {
    if (!put(seg.text)) {
      why = "the record is too long";
      return std::nullopt;
    }
    if (seg.node < 0) continue;
    Val v;
    if (!evalNode(seg.node, v, evalNode)) return std::nullopt;
    std::string_view s = v.s;
    if (v.number || v.signedNumber) {
      auto [ptr, ec] = v.number ? std::to_chars(numbers, numbers + sizeof numbers, v.n)
                                : std::to_chars(numbers, numbers + sizeof numbers, v.literal);
      s = std::string_view(numbers, static_cast<size_t>(ptr - numbers));
      (void)ec;
    }
    if (!put(s)) {
      why = "the record is too long";
      return std::nullopt;
    }
  }
  return len;
}

}  // namespace moat::plugins::tmpl
