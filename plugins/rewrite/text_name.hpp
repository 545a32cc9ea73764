// Names as rewrite rules see them: lowercase presentation form with the final dot
// ("ftp.example.org."), as CoreDNS's rules compare them, in fixed buffers so a query's rewrite
// never allocates.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "dns/wire.hpp"

namespace moat::plugins::rewrite {

// Room for the longest name in presentation form (every byte escaped as \DDD is 4 characters)
// and for what a replacement may add before the result is checked.
class TextName {
 public:
  static constexpr size_t kCapacity = 2048;

  TextName() = default;
  // Copies only the characters in use, not the whole buffer.
  TextName(const TextName& other) { assign(other.view()); }
  TextName& operator=(const TextName& other) {
    if (this != &other) assign(other.view());
    return *this;
  }

  std::string_view view() const { return {buf_.data(), len_}; }
  void clear() { len_ = 0; }
  // False (and the name left cut) when it would not fit.
  bool append(std::string_view text);
  bool assign(std::string_view text) {
    clear();
    return append(text);
  }

 private:
  std::array<char, kCapacity> buf_;
  size_t len_ = 0;
};

using WireBuffer = std::array<uint8_t, dns::kMaxNameLen>;

// An uncompressed wire name to lowercase presentation form ("." for the root), escaped as dig
// escapes (\. inside a label, \DDD for bytes outside printable ASCII).
void toText(std::span<const uint8_t> wire, TextName& out);

// Presentation form (with or without the final dot; \X and \DDD escapes) to wire form in
// `out`; returns the wire length, or 0 when it is no valid name (an empty label, a label over
// 63 bytes, over 255 bytes in all).
size_t toWire(std::string_view text, WireBuffer& out);

}  // namespace moat::plugins::rewrite
