#include "plugins/template/rr_text.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>
#include <string>

#include "dns/ldns.hpp"
#include "dns/log.hpp"

namespace moat::plugins::tmpl {

namespace {

// miekg/dns's default TTL for a record that names none.
constexpr uint32_t kDefaultTtl = 3600;
constexpr size_t kMaxTokens = 64;

struct Token {
  std::string_view text;
  bool quoted = false;
};

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Splits the record into words: parentheses are whitespace, `;` starts a comment, "..." is one
// word (its escapes kept for the writer).
size_t tokenize(std::string_view text, std::array<Token, kMaxTokens>& out, std::string_view& why) {
  size_t n = 0;
  size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (isSpace(c) || c == '(' || c == ')') {
      ++i;
      continue;
    }
    if (c == ';') break;
    if (n == out.size()) {
      why = "too many words in the record";
      return 0;
    }
    if (c == '"') {
      const size_t start = ++i;
      while (i < text.size() && text[i] != '"') i += (text[i] == '\\' && i + 1 < text.size()) ? 2 : 1;
      if (i >= text.size()) {
        why = "unterminated quoted string";
        return 0;
      }
      out[n++] = {text.substr(start, i - start), true};
      ++i;
      continue;
    }
    const size_t start = i;
    while (i < text.size() && !isSpace(text[i]) && text[i] != '(' && text[i] != ')' && text[i] != ';' &&
           text[i] != '"') {
      i += (text[i] == '\\' && i + 1 < text.size()) ? 2 : 1;
    }
    out[n++] = {text.substr(start, i - start), false};
  }
  return n;
}

bool upperEquals(std::string_view a, std::string_view upper) {
  if (a.size() != upper.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != upper[i]) return false;
  }
  return true;
}

std::optional<uint16_t> classOf(std::string_view s) {
  if (upperEquals(s, "IN")) return dns::rrclass::IN;
  if (upperEquals(s, "CH")) return dns::rrclass::CH;
  if (upperEquals(s, "HS")) return dns::rrclass::HS;
  if (upperEquals(s, "CS")) return uint16_t{2};
  if (upperEquals(s, "NONE")) return dns::rrclass::NONE;
  if (upperEquals(s, "ANY")) return dns::rrclass::ANY;
  if (s.size() > 5 && upperEquals(s.substr(0, 5), "CLASS")) {
    uint16_t v = 0;
    auto [p, ec] = std::from_chars(s.data() + 5, s.data() + s.size(), v);
    if (ec == std::errc() && p == s.data() + s.size()) return v;
  }
  return std::nullopt;
}

std::optional<uint16_t> typeOf(std::string_view s) {
  char upper[24];
  if (s.empty() || s.size() >= sizeof upper) return std::nullopt;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    upper[i] = c;
  }
  const std::string_view u(upper, s.size());
  if (auto t = logging::typeFromName(u)) return t;
  if (u.size() > 4 && u.substr(0, 4) == "TYPE") {
    uint16_t v = 0;
    auto [p, ec] = std::from_chars(u.data() + 4, u.data() + u.size(), v);
    if (ec == std::errc() && p == u.data() + u.size()) return v;
  }
  return std::nullopt;
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

// Appends bytes to the rdata, bounded.
struct Writer {
  WireRecord& r;
  bool ok = true;
  void put(const uint8_t* p, size_t n) {
    if (!ok || n > r.rdata.size() - r.rdataLen) {
      ok = false;
      return;
    }
    std::memcpy(r.rdata.data() + r.rdataLen, p, n);
    r.rdataLen += n;
  }
  void put16(uint16_t v) {
    const uint8_t b[2] = {static_cast<uint8_t>(v >> 8), static_cast<uint8_t>(v)};
    put(b, 2);
  }
  void put32(uint32_t v) {
    put16(static_cast<uint16_t>(v >> 16));
    put16(static_cast<uint16_t>(v));
  }
  bool name(std::string_view text) {
    std::array<uint8_t, dns::kMaxNameLen> w;
    const size_t n = nameToWire(text, w);
    if (n == 0) return false;
    put(w.data(), n);
    return ok;
  }
};

bool address(std::string_view text, int family, Writer& w) {
  char buf[64];
  if (text.size() >= sizeof buf) return false;
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  uint8_t out[16];
  if (inet_pton(family, buf, out) != 1) return false;
  w.put(out, family == AF_INET ? 4 : 16);
  return w.ok;
}

// One TXT character-string from a (possibly quoted) word; longer than 255 bytes splits, as
// miekg/dns does.
bool characterStrings(const Token& t, Writer& w) {
  std::array<uint8_t, 255> chunk;
  size_t len = 0;
  bool any = false;
  auto flush = [&] {
    const uint8_t l = static_cast<uint8_t>(len);
    w.put(&l, 1);
    w.put(chunk.data(), len);
    len = 0;
    any = true;
  };
  const std::string_view s = t.text;
  for (size_t i = 0; i < s.size(); ++i) {
    uint8_t c = static_cast<uint8_t>(s[i]);
    if (c == '\\' && i + 1 < s.size()) {
      if (i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '9') {
        auto v = number<unsigned>(s.substr(i + 1, 3));
        if (!v || *v > 255) return false;
        c = static_cast<uint8_t>(*v);
        i += 3;
      } else {
        c = static_cast<uint8_t>(s[++i]);
      }
    }
    if (len == chunk.size()) flush();
    chunk[len++] = c;
  }
  if (len > 0 || !any) flush();
  return w.ok;
}

bool viaLdns(std::string_view text, WireRecord& out, std::string_view& why) {
  // The slow path for the types not written above: ldns parses (and allocates). Meta types
  // are no records, and ldns is given the record on one line.
  if (out.type == 41 || (out.type >= 128 && out.type <= 255)) {
    why = "a meta type is no record";
    return false;
  }
  if (text.find('\0') != std::string_view::npos) {
    why = "the record has a NUL byte";
    return false;
  }
  std::string copy(text);
  std::replace_if(copy.begin(), copy.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  ldns_rr* raw = nullptr;
  dns::LdnsRdf root(ldns_dname_new_frm_str("."));
  uint32_t ttl = kDefaultTtl;
  if (ldns_rr_new_frm_str(&raw, copy.c_str(), ttl, root.get(), nullptr) != LDNS_STATUS_OK || raw == nullptr) {
    why = "ldns cannot read the record";
    return false;
  }
  dns::LdnsRr rr(raw);
  dns::LdnsBuffer buf(ldns_buffer_new(kMaxRdata));
  if (ldns_rr_rdata2buffer_wire(buf.get(), rr.get()) != LDNS_STATUS_OK || ldns_buffer_position(buf.get()) > kMaxRdata) {
    why = "the record does not fit";
    return false;
  }
  out.rdataLen = ldns_buffer_position(buf.get());
  std::memcpy(out.rdata.data(), ldns_buffer_begin(buf.get()), out.rdataLen);
  return true;
}

}  // namespace

size_t nameToWire(std::string_view text, std::span<uint8_t> out) {
  if (text == ".") {
    if (out.empty()) return 0;
    out[0] = 0;
    return 1;
  }
  if (text.empty() || text.front() == '.') return 0;
  size_t at = 0, length = 0;  // the current label's length byte, and its length so far
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
    uint8_t b = static_cast<uint8_t>(c);
    if (c == '\\') {
      if (i + 1 >= text.size()) return 0;
      if (text[i + 1] >= '0' && text[i + 1] <= '9') {
        if (i + 3 >= text.size()) return 0;
        auto v = number<unsigned>(text.substr(i + 1, 3));
        if (!v || *v > 255) return 0;
        b = static_cast<uint8_t>(*v);
        i += 3;
      } else {
        b = static_cast<uint8_t>(text[++i]);
      }
    }
    if (!put(b)) return 0;
  }
  if (length > 0 && !close()) return 0;
  if (at >= out.size()) return 0;
  out[at] = 0;  // the root label: names without the final dot are absolute, as NewRR takes them
  return at + 1;
}

bool writtenDirectly(uint16_t type) {
  using namespace dns::rrtype;
  return type == A || type == AAAA || type == CNAME || type == PTR || type == NS || type == DNAME || type == MX ||
         type == SRV || type == TXT || type == SOA;
}

bool parseRecord(std::string_view text, WireRecord& out, std::string_view& why) {
  std::array<Token, kMaxTokens> words;
  why = {};
  const size_t n = tokenize(text, words, why);
  if (n == 0) {
    if (why.empty()) why = "empty record";
    return false;
  }
  if (words[0].quoted || (out.ownerLen = nameToWire(words[0].text, out.owner)) == 0) {
    why = "the owner is no valid name";
    return false;
  }
  bool haveTtl = false, haveClass = false, haveType = false;
  out.ttl = kDefaultTtl;
  out.klass = dns::rrclass::IN;
  size_t i = 1;
  for (; i < n && !haveType; ++i) {
    const std::string_view w = words[i].text;
    if (!haveTtl && !words[i].quoted) {
      if (auto ttl = number<uint32_t>(w)) {
        out.ttl = *ttl;
        haveTtl = true;
        continue;
      }
    }
    if (!haveClass) {
      if (auto c = classOf(w)) {
        out.klass = *c;
        haveClass = true;
        continue;
      }
    }
    auto t = typeOf(w);
    if (!t) {
      why = "no record type where one was expected";
      return false;
    }
    out.type = *t;
    haveType = true;
  }
  if (!haveType) {
    why = "the record has no type";
    return false;
  }
  out.rdataLen = 0;
  const std::span<const Token> rd(words.data() + i, n - i);
  Writer w{out};
  using namespace dns::rrtype;
  auto want = [&](size_t count) {
    if (rd.size() == count) return true;
    why = rd.size() < count ? "the record's data is missing a field" : "the record's data has too many fields";
    return false;
  };
  auto fail = [&](std::string_view reason) {
    why = reason;
    return false;
  };
  switch (out.type) {
    case A:
      if (!want(1)) return false;
      return address(rd[0].text, AF_INET, w) || fail("no IPv4 address");
    case AAAA:
      if (!want(1)) return false;
      return address(rd[0].text, AF_INET6, w) || fail("no IPv6 address");
    case CNAME:
    case PTR:
    case NS:
    case DNAME:
      if (!want(1)) return false;
      return w.name(rd[0].text) || fail("the target is no valid name");
    case MX: {
      if (!want(2)) return false;
      auto pref = number<uint16_t>(rd[0].text);
      if (!pref) return fail("the preference is no 16-bit number");
      w.put16(*pref);
      return w.name(rd[1].text) || fail("the exchange is no valid name");
    }
    case SRV: {
      if (!want(4)) return false;
      for (size_t k = 0; k < 3; ++k) {
        auto v = number<uint16_t>(rd[k].text);
        if (!v) return fail("priority, weight and port are 16-bit numbers");
        w.put16(*v);
      }
      return w.name(rd[3].text) || fail("the target is no valid name");
    }
    case SOA: {
      if (!want(7)) return false;
      if (!w.name(rd[0].text) || !w.name(rd[1].text)) return fail("the SOA's names are not valid");
      for (size_t k = 2; k < 7; ++k) {
        auto v = number<uint32_t>(rd[k].text);
        if (!v) return fail("the SOA's numbers are not 32-bit numbers");
        w.put32(*v);
      }
      return w.ok || fail("the record does not fit");
    }
    case TXT:
      if (rd.empty()) return fail("TXT needs a string");
      for (const Token& t : rd) {
        if (!characterStrings(t, w)) return fail("the TXT string is not valid or does not fit");
      }
      return true;
    default:
      return viaLdns(text, out, why);
  }
}

}  // namespace moat::plugins::tmpl
