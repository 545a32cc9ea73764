#include "dns/name.hpp"

#include <cstring>

#include "dns/wire.hpp"

namespace moat::dns {

std::optional<WireName> nameFromText(std::string_view text) {
  WireName out;
  if (text == "." || text.empty()) return WireName{0};
  std::string label;
  auto flush = [&]() -> bool {
    if (label.empty() || label.size() > kMaxLabelLen) return false;
    out.push_back(static_cast<uint8_t>(label.size()));
    out.insert(out.end(), label.begin(), label.end());
    label.clear();
    return true;
  };
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '\\') {
      auto digit = [&](size_t k) {
        return k < text.size() && text[k] >= '0' && text[k] <= '9';
      };
      if (digit(i + 1) && digit(i + 2) && digit(i + 3)) {  // \DDD
        int v = (text[i + 1] - '0') * 100 + (text[i + 2] - '0') * 10 + (text[i + 3] - '0');
        if (v > 255) return std::nullopt;
        label.push_back(static_cast<char>(v));
        i += 3;
      } else if (i + 1 < text.size()) {  // \X
        label.push_back(text[++i]);
      } else {
        return std::nullopt;
      }
    } else if (c == '.') {
      if (!flush()) return std::nullopt;
    } else {
      label.push_back(c);
    }
  }
  if (!label.empty() && !flush()) return std::nullopt;
  out.push_back(0);
  if (out.size() > kMaxNameLen) return std::nullopt;
  return out;
}

size_t writeNameText(std::span<const uint8_t> wire, char* out) {
  size_t n = 0;
  size_t off = 0;
  if (wire.empty() || wire[0] == 0) {
    out[n++] = '.';
    return n;
  }
  while (off < wire.size() && wire[off] != 0) {
    uint8_t len = wire[off++];
    for (size_t i = 0; i < len && off < wire.size(); ++i, ++off) {
      auto c = static_cast<unsigned char>(wire[off]);
      if (c == '.' || c == '\\' || c == '"' || c == '(' || c == ')' || c == ';' || c == '@' ||
          c == '$') {
        out[n++] = '\\';
        out[n++] = static_cast<char>(c);
      } else if (c <= 0x20 || c >= 0x7f) {
        out[n++] = '\\';
        out[n++] = static_cast<char>('0' + c / 100);
        out[n++] = static_cast<char>('0' + c / 10 % 10);
        out[n++] = static_cast<char>('0' + c % 10);
      } else {
        out[n++] = static_cast<char>(c);
      }
    }
    out[n++] = '.';
  }
  return n;
}

void appendNameText(std::string& out, std::span<const uint8_t> wire) {
  const size_t at = out.size();
  out.resize(at + maxNameText(wire));
  out.resize(at + writeNameText(wire, out.data() + at));
}

std::string nameToText(std::span<const uint8_t> wire) {
  std::string out;
  appendNameText(out, wire);
  return out;
}

void lowercaseInPlace(std::span<uint8_t> wire) {
  size_t off = 0;
  while (off < wire.size() && wire[off] != 0) {
    size_t len = wire[off++];
    for (size_t i = 0; i < len && off < wire.size(); ++i, ++off) {
      if (wire[off] >= 'A' && wire[off] <= 'Z') wire[off] = static_cast<uint8_t>(wire[off] + 32);
    }
  }
}

WireName lowercased(std::span<const uint8_t> wire) {
  WireName out(wire.begin(), wire.end());
  lowercaseInPlace(out);
  return out;
}

bool isSubdomain(std::span<const uint8_t> name, std::span<const uint8_t> zone) {
  if (zone.size() > name.size()) return false;
  size_t off = 0;
  // Walk label boundaries until the remainder has the zone's length; compare once there.
  while (name.size() - off > zone.size()) {
    off += name[off] + 1u;
    if (off >= name.size()) return false;
  }
  return name.size() - off == zone.size() &&
         std::memcmp(name.data() + off, zone.data(), zone.size()) == 0;
}

std::string fqdnLower(std::string_view text) {
  std::string out(text);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  }
  if (out.empty() || out.back() != '.') out.push_back('.');
  return out;
}

}  // namespace moat::dns
