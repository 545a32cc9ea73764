// The Go text/template subset that CoreDNS's `template` records are written in, compiled once at
// load into segments (literal text, then a value), and rendered per query into a caller's
// fixed buffer without allocating. What compiles: `{{ .Name }}` `.Zone` `.Class` `.Type`
// `.Remote`, `.Group.NAME`, `.Var.NAME`, `index .Match N`, `index .Group "KEY"`,
// `.Meta "KEY"`, `.Question.Name|Qtype|Qclass`, `.Message.Id`, `parseInt ARG BASE BITS`,
// parentheses, string and number literals, comments `{{/* */}}` and the `{{-`/`-}}` trim
// markers. Anything else of Go's language (variables, pipelines, if/range, other functions)
// is a load error naming its column.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace moat::plugins::tmpl {

enum class Field : uint8_t { Name, Zone, Class, Type, Remote, QuestionName, QuestionType, QuestionClass, MessageId };

// What a template may read for one query. Strings are views the caller keeps alive.
struct Data {
  std::string_view name, zone, klass, type, remote;
  uint16_t qtype = 0, qclass = 0, id = 0;
  std::span<const std::string_view> match;  // match[0] is the whole match; empty views for unmatched groups
  int regex = 0;                            // which of the template's regexes matched
  std::span<const std::string_view> vars;   // .Var values, in declaration order
};

struct Node {
  enum class Op : uint8_t { Literal, Number, Field, Match, GroupByName, GroupByKey, Var, Meta, ParseInt };
  Op op = Op::Literal;
  Field field = Field::Name;
  int64_t number = 0;        // Number; Match index
  std::string text;          // Literal; GroupByKey key
  std::vector<int> byRegex;  // GroupByName/GroupByKey: the group's index in each regex, -1 if absent
  int arg = -1;              // ParseInt: its string argument's node
  int base = 0, bits = 0;    // ParseInt
};

struct Segment {
  std::string text;  // written first
  int node = -1;     // then this node's value, if any
};

// Where a compile error is, as an offset into the template's text.
struct CompileError {
  size_t offset = 0;
  std::string message;
};

// What the compiler needs to know of the block: the named groups of each regex (index 0 the
// whole match; unnamed groups empty) and the declared variables.
struct Scope {
  std::vector<std::vector<std::string>> groupNames;
  std::vector<std::string> vars;
};

class Template {
 public:
  // nullopt and `error` set when `text` is not in the subset.
  static std::optional<Template> compile(std::string_view text, const Scope& scope, CompileError& error);

  // Writes the text for `data` into out[0..cap); returns its length, or nullopt with `why` set
  // (an index out of range, parseInt on what is no number, the text too long): what Go's
  // Execute reports as an error.
  std::optional<size_t> render(const Data& data, char* out, size_t cap, std::string_view& why) const;

  const std::string& source() const { return source_; }
  // The highest regex group any value reads (index .Match N, .Group): how many
  // submatches a query must capture (-1: none).
  int highestGroup() const;
  // Whether a value reads `f`: the handler only spells out the client's address when one does.
  bool reads(Field f) const;

 private:
  std::string source_;
  std::vector<Node> nodes_;
  std::vector<Segment> segments_;
  friend class Compiler;
};

}  // namespace moat::plugins::tmpl
