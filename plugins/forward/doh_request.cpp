#include "plugins/forward/doh_request.hpp"

#include <cctype>

namespace moat::plugins::forward {

void appendBase64Url(std::string& out, std::span<const uint8_t> data) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const size_t n = data.size();
  size_t i = 0;
  for (; i + 2 < n; i += 3) {
    const uint32_t v = uint32_t(data[i]) << 16 | uint32_t(data[i + 1]) << 8 | data[i + 2];
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (i < n) {
    const uint32_t v = uint32_t(data[i]) << 16 | (i + 1 < n ? uint32_t(data[i + 1]) << 8 : 0);
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    if (i + 1 < n) out += kAlphabet[v >> 6 & 63];
  }
}

void buildDohRequest(std::string& out, std::string_view host, std::span<const uint8_t> query, bool get) {
  out.clear();
  if (get) {
    out += "GET /dns-query?dns=";
    appendBase64Url(out, query);
    out += " HTTP/1.1\r\n";
  } else {
    out += "POST /dns-query HTTP/1.1\r\nContent-Type: application/dns-message\r\nContent-Length: ";
    char digits[8];
    size_t k = sizeof digits;
    size_t len = query.size();
    do {
      digits[--k] = static_cast<char>('0' + len % 10);
      len /= 10;
    } while (len != 0);
    out.append(digits + k, sizeof digits - k);
    out += "\r\n";
  }
  out += "Host: ";
  out += host;
  out += "\r\nAccept: application/dns-message\r\n\r\n";
  if (!get) out.append(reinterpret_cast<const char*>(query.data()), query.size());
}

bool isDnsMessageType(std::string_view contentType) {
  constexpr std::string_view kType = "application/dns-message";
  if (contentType.size() < kType.size()) return false;
  for (size_t i = 0; i < kType.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(contentType[i])) != kType[i]) return false;
  }
  const auto rest = contentType.substr(kType.size());
  return rest.empty() || rest.front() == ';' || rest.front() == ' ';
}

}  // namespace moat::plugins::forward
