#include "plugins/rewrite/text_name.hpp"

#include <algorithm>

#include "dns/name.hpp"

namespace moat::plugins::rewrite {

bool TextName::append(std::string_view text) {
  const size_t n = std::min(text.size(), kCapacity - len_);
  std::copy_n(text.data(), n, buf_.data() + len_);
  len_ += n;
  return n == text.size();
}

void toText(std::span<const uint8_t> wire, TextName& out) {
  std::array<char, dns::kMaxNameLen * 4 + 1> text;
  const size_t n = dns::writeNameText(wire, text.data());
  for (size_t i = 0; i < n; ++i) {
    if (text[i] >= 'A' && text[i] <= 'Z') text[i] = static_cast<char>(text[i] - 'A' + 'a');
  }
  out.assign({text.data(), n});
}

size_t toWire(std::string_view text, WireBuffer& out) {
  if (text == ".") {
    out[0] = 0;
    return 1;
  }
  if (text.empty()) return 0;
  size_t at = 0;      // where the current label's length byte goes
  size_t length = 0;  // of the current label
  auto put = [&](uint8_t c) {
    if (length == dns::kMaxLabelLen || at + 1 + length + 1 >= out.size()) return false;
    out[at + 1 + length] = c;
    ++length;
    return true;
  };
  auto close = [&] {
    if (length == 0) return false;
    out[at] = static_cast<uint8_t>(length);
    at += 1 + length;
    length = 0;
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '.') {
      if (!close()) return 0;
      continue;
    }
    if (c != '\\') {
      if (!put(static_cast<uint8_t>(c))) return 0;
      continue;
    }
    auto digit = [&](size_t k) { return k < text.size() && text[k] >= '0' && text[k] <= '9'; };
    if (digit(i + 1) && digit(i + 2) && digit(i + 3)) {
      const int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
      if (v > 255 || !put(static_cast<uint8_t>(v))) return 0;
      i += 3;
    } else if (i + 1 < text.size()) {
      if (!put(static_cast<uint8_t>(text[++i]))) return 0;
    } else {
      return 0;
    }
  }
  if (length > 0 && !close()) return 0;
  if (at + 1 > out.size()) return 0;
  out[at] = 0;
  return at + 1;
}

}  // namespace moat::plugins::rewrite
