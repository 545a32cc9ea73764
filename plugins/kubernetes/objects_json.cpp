// JSON (`kubectl get ... -o json`) through Boost.JSON's SAX parser, fed in chunks: the objects
// stream into the tree builder as they end, so memory follows the largest object, not the file.
#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <optional>
#include <string>

#include "plugins/kubernetes/objects_formats.hpp"

namespace moat::plugins::kubernetes::objects {

namespace {

namespace json = boost::json;
using boost::system::error_code;

class Handler {
 public:
  static constexpr size_t max_object_size = size_t(-1);
  static constexpr size_t max_array_size = size_t(-1);
  static constexpr size_t max_key_size = size_t(-1);
  static constexpr size_t max_string_size = size_t(-1);

  explicit Handler(ObjectSink& sink) : tree_(sink) {}

  // The chunk being parsed starts at byte `base` of the input.
  void chunk(const char* data, size_t size, uint64_t base) {
    data_ = data;
    size_ = size;
    base_ = base;
  }
  std::optional<ObjectError>& failure() { return failure_; }

  bool on_document_begin(error_code& ec) {
    return guard(ec, [&] { tree_.beginDocument(); });
  }
  bool on_document_end(error_code& ec) {
    return guard(ec, [&] { tree_.endDocument(); });
  }
  bool on_array_begin(error_code& ec) {
    return guard(ec, [&] { tree_.beginSeq(kNowhere); });
  }
  bool on_array_end(size_t, error_code& ec) {
    return guard(ec, [&] { tree_.end(); });
  }
  bool on_object_begin(error_code& ec) {
    return guard(ec, [&] { tree_.beginMap(kNowhere); });
  }
  bool on_object_end(size_t, error_code& ec) {
    return guard(ec, [&] { tree_.end(); });
  }
  bool on_string_part(json::string_view s, size_t, error_code&) { return part(s, 1); }
  bool on_key_part(json::string_view s, size_t, error_code&) { return part(s, 1); }
  bool on_string(json::string_view s, size_t, error_code& ec) { return finish(s, 1, ec); }
  bool on_key(json::string_view s, size_t, error_code& ec) { return finish(s, 1, ec); }
  bool on_number_part(json::string_view s, error_code&) { return part(s, 0); }
  bool on_int64(int64_t, json::string_view s, error_code& ec) { return finish(s, 0, ec); }
  bool on_uint64(uint64_t, json::string_view s, error_code& ec) { return finish(s, 0, ec); }
  bool on_double(double, json::string_view s, error_code& ec) { return finish(s, 0, ec); }
  bool on_bool(bool b, error_code& ec) {
    return guard(ec, [&] { tree_.scalar(kNowhere, b ? "true" : "false"); });
  }
  bool on_null(error_code& ec) {
    return guard(ec, [&] { tree_.null(kNowhere); });
  }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }

 private:
  // The offset of `p` (a pointer the parser passed in), minus `back`; kNowhere if `p` is not in
  // the chunk (escaped strings and numbers split across chunks go through a parser buffer).
  Where offsetOf(const char* p, size_t back) const {
    if (p < data_ || p >= data_ + size_ || size_t(p - data_) + base_ < back) return kNowhere;
    return base_ + uint64_t(p - data_) - back;
  }

  bool part(json::string_view s, size_t back) {
    if (!partial_) {
      partial_ = true;
      partWhere_ = offsetOf(s.data(), back);
      text_.clear();
    }
    text_.append(s.data(), s.size());
    return true;
  }

  bool finish(json::string_view s, size_t back, error_code& ec) {
    Where where;
    std::string_view text;
    if (partial_) {
      text_.append(s.data(), s.size());
      where = partWhere_;
      text = text_;
      partial_ = false;
    } else {
      where = offsetOf(s.data(), back);
      text = std::string_view(s.data(), s.size());
    }
    return guard(ec, [&] {
      tree_.resolveOpen(where, [&](Where child) { return bracketBefore(child); });
      tree_.scalar(where, text);
    });
  }

  // The '{' or '[' before offset `child`, skipping whitespace, if still in this chunk.
  Where bracketBefore(Where child) const {
    if (child == kNowhere || child < base_) return kNowhere;
    for (uint64_t i = child - base_; i-- > 0;) {
      const char c = data_[i];
      if (c == '{' || c == '[') return base_ + i;
      if (c != ' ' && c != '\n' && c != '\r' && c != '\t') return kNowhere;
    }
    return kNowhere;
  }

  // Object errors cannot cross the parser (it is not documented as exception-neutral): stop it
  // with an error code and rethrow once it has returned.
  template <class F>
  bool guard(error_code& ec, F&& f) {
    try {
      f();
      return true;
    } catch (ObjectError& e) {
      failure_ = std::move(e);
    } catch (const std::exception& e) {
      failure_ = ObjectError{kNowhere, e.what()};
    }
    ec = json::error::exception;
    return false;
  }

  TreeBuilder tree_;
  const char* data_ = nullptr;
  size_t size_ = 0;
  uint64_t base_ = 0;
  bool partial_ = false;
  Where partWhere_ = kNowhere;
  std::string text_;
  std::optional<ObjectError> failure_;
};

bool blank(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

std::string describe(const error_code& ec, const char* at, const char* end) {
  std::string why = "invalid JSON: " + ec.message();
  if (at < end) {
    const char c = *at;
    if (c >= 0x20 && c < 0x7f) why += std::string(" at '") + c + "'";
  } else {
    why += " at end of input";
  }
  return why;
}

}  // namespace

void parseJson(const std::function<std::string_view()>& next, ObjectSink& sink) {
  json::parse_options options;
  options.allow_invalid_utf8 = true;  // names are ASCII; do not reject a stray byte in a label
  json::basic_parser<Handler> parser(options, sink);
  uint64_t base = 0;
  bool done = false;
  for (;;) {
    std::string_view chunk = next();
    if (base == 0 && chunk.starts_with("\xEF\xBB\xBF")) {  // a UTF-8 BOM: not JSON, but harmless
      chunk.remove_prefix(3);
      base = 3;
    }
    const char* data = chunk.data();
    const size_t n = chunk.size();
    size_t used = 0;
    error_code ec;
    if (!done) {
      parser.handler().chunk(data, n, base);
      used = parser.write_some(n != 0, data, n, ec);
      if (auto& failure = parser.handler().failure()) throw std::move(*failure);
      if (ec) throw ObjectError{base + used, describe(ec, data + used, data + n)};
      done = parser.done();
    }
    // After the document only whitespace may follow.
    for (; used < n; ++used)
      if (!blank(data[used]))
        throw ObjectError{base + used, "invalid JSON: extra data after the document"};
    if (n == 0) break;
    base += n;
  }
}

}  // namespace moat::plugins::kubernetes::objects
