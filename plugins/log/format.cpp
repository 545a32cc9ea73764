#include "plugins/log/format.hpp"

#include <arpa/inet.h>
#include <net/if.h>

#include <array>
#include <charconv>
#include <iterator>
#include <optional>

#include "dns/log.hpp"
#include "dns/name.hpp"
#include "plugins/log/classify.hpp"

namespace moat::plugins::log {
namespace {

struct Label {
  std::string_view text;
  Field field;
};

constexpr Label kLabels[] = {
    {"{type}", Field::Type},       {"{name}", Field::Name},         {"{class}", Field::Class},
    {"{proto}", Field::Proto},     {"{size}", Field::Size},         {"{remote}", Field::Remote},
    {"{port}", Field::Port},       {"{local}", Field::Local},       {"{>id}", Field::Id},
    {"{>opcode}", Field::Opcode},  {"{>do}", Field::Do},            {"{>bufsize}", Field::BufSize},
    {"{rcode}", Field::Rcode},     {"{rsize}", Field::RSize},       {"{duration}", Field::Duration},
    {"{>rflags}", Field::RFlags},
};

constexpr std::string_view kEmptyValue = "-";
constexpr uint16_t kTcpBufSize = 65535;  // what CoreDNS reports for TCP, EDNS or not

std::optional<Field> lookupLabel(std::string_view label) {
  for (const Label& l : kLabels) {
    if (l.text == label) return l.field;
  }
  return std::nullopt;
}

void appendText(fmt::memory_buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

template <class T>
void appendInt(fmt::memory_buffer& out, T value) {
  fmt::format_int f(value);
  out.append(f.data(), f.data() + f.size());
}

void pushLiteral(std::vector<Segment>& segments, std::string_view text) {
  if (text.empty()) return;
  if (!segments.empty() && segments.back().field == Field::Literal) {
    segments.back().text.append(text);  // adjacent literals print the same as one
    return;
  }
  segments.push_back({Field::Literal, std::string(text)});
}

void appendFlags(fmt::memory_buffer& out, uint16_t flags) {
  struct Bit {
    uint16_t mask;
    std::string_view name;
  };
  static constexpr Bit kBits[] = {
      {dns::flag::QR, "qr"}, {dns::flag::AA, "aa"}, {dns::flag::TC, "tc"}, {dns::flag::RD, "rd"},
      {dns::flag::RA, "ra"}, {dns::flag::Z, "z"},   {dns::flag::AD, "ad"}, {dns::flag::CD, "cd"},
  };
  bool first = true;
  for (const Bit& b : kBits) {
    if ((flags & b.mask) == 0) continue;
    if (!first) out.push_back(',');
    appendText(out, b.name);
    first = false;
  }
}

void appendQueryName(fmt::memory_buffer& out, const dns::Query& q) {
  if (q.view.header.qdcount == 0) return appendText(out, ".");
  // One scratch string per thread: its capacity survives, so no allocation once warm.
  thread_local std::string scratch;
  scratch.clear();
  dns::appendNameText(scratch, q.view.question.lowerName());
  appendText(out, scratch);
}

}  // namespace

std::string combinedFormat() {
  std::string s(kCommonFormat);
  s.append(kCombinedFormatTail);
  return s;
}

std::string expandShortcuts(std::string_view format) {
  auto replaceAll = [](std::string& s, std::string_view from, std::string_view to) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
    }
  };
  std::string s(format);
  replaceAll(s, "{common}", kCommonFormat);
  replaceAll(s, "{combined}", combinedFormat());
  return s;
}

Format compileFormat(std::string_view format) {
  Format f;
  f.source = std::string(format);
  std::string_view rest = format;
  for (;;) {
    size_t close = rest.find('}');
    if (close == std::string_view::npos) break;
    size_t open = rest.substr(0, close).rfind('{');
    if (open == std::string_view::npos) {  // a '}' with no '{' before it is text
      pushLiteral(f.segments, rest.substr(0, close + 1));
      rest.remove_prefix(close + 1);
      continue;
    }
    std::string_view label = rest.substr(open, close - open + 1);
    if (auto field = lookupLabel(label)) {
      pushLiteral(f.segments, rest.substr(0, open));
      f.segments.push_back({*field, {}});
    } else if (label.starts_with("{/")) {
      pushLiteral(f.segments, rest.substr(0, open));
      f.segments.push_back({Field::Metadata, std::string(label.substr(2, label.size() - 3))});
    } else {
      pushLiteral(f.segments, rest.substr(0, close + 1));  // unknown labels print as written
    }
    rest.remove_prefix(close + 1);
  }
  pushLiteral(f.segments, rest);
  return f;
}

void appendSeconds(fmt::memory_buffer& out, std::chrono::nanoseconds d) {
  // Same arithmetic as Go's Duration.Seconds, so the double (and its shortest text) match.
  int64_t ns = d.count();
  double secs = static_cast<double>(ns / 1'000'000'000) +
                static_cast<double>(ns % 1'000'000'000) / 1e9;
  std::array<char, 64> buf;
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), secs, std::chars_format::fixed);
  if (ec == std::errc{}) out.append(buf.data(), end);
  out.push_back('s');
}

void appendAddress(fmt::memory_buffer& out, const dns::Endpoint& ep) {
  std::array<char, INET6_ADDRSTRLEN> text{};
  if (ep.family() == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(ep.addr);
    if (inet_ntop(AF_INET, &a.sin_addr, text.data(), text.size())) appendText(out, text.data());
    return;
  }
  if (ep.family() != AF_INET6) return appendText(out, kEmptyValue);
  const auto& a = reinterpret_cast<const sockaddr_in6&>(ep.addr);
  if (IN6_IS_ADDR_V4MAPPED(&a.sin6_addr)) {  // a dual-stack socket's IPv4 client
    if (inet_ntop(AF_INET, &a.sin6_addr.s6_addr[12], text.data(), text.size())) {
      appendText(out, text.data());
    }
    return;
  }
  if (!inet_ntop(AF_INET6, &a.sin6_addr, text.data(), text.size())) return;
  out.push_back('[');
  appendText(out, text.data());
  if (a.sin6_scope_id != 0) {
    out.push_back('%');
    std::array<char, IF_NAMESIZE> ifname{};
    if (if_indextoname(a.sin6_scope_id, ifname.data())) {
      appendText(out, ifname.data());
    } else {
      appendInt(out, a.sin6_scope_id);
    }
  }
  out.push_back(']');
}

void formatEntry(const Format& format, const dns::Query& q,
                 std::chrono::steady_clock::time_point now, fmt::memory_buffer& out) {
  appendText(out, "[INFO] ");
  const dns::QueryView& v = q.view;
  const bool hasQuestion = v.header.qdcount > 0;
  std::optional<ReplyInfo> reply;  // walked only if the format asks for the rcode
  auto replyInfo = [&]() -> const ReplyInfo& {
    if (!reply) reply = inspectReply(q.reply, 0);
    return *reply;
  };

  for (const Segment& s : format.segments) {
    switch (s.field) {
      case Field::Literal: appendText(out, s.text); break;
      case Field::Type:
        if (hasQuestion) logging::appendTypeName(out, v.question.qtype);
        break;
      case Field::Name: appendQueryName(out, q); break;
      case Field::Class:
        if (hasQuestion) logging::appendClassName(out, v.question.qclass);
        break;
      case Field::Proto: appendText(out, q.proto == dns::Proto::Tcp ? "tcp" : "udp"); break;
      case Field::Size: appendInt(out, q.requestLen); break;
      case Field::Remote: appendAddress(out, q.client); break;
      case Field::Port: appendInt(out, q.client.port()); break;
      case Field::Local: appendAddress(out, q.local); break;
      case Field::Id: appendInt(out, v.header.id); break;
      case Field::Opcode: appendInt(out, v.header.opcode()); break;
      case Field::Do: appendText(out, v.edns.present && v.edns.dnssecOk ? "true" : "false"); break;
      case Field::BufSize:
        appendInt(out, q.proto == dns::Proto::Tcp ? kTcpBufSize : v.udpLimit());
        break;
      case Field::Rcode:
        if (replyInfo().header) {
          logging::appendRcodeName(out, replyInfo().rcode);
        } else {
          appendText(out, kEmptyValue);
        }
        break;
      case Field::RSize: appendInt(out, q.finalized ? q.chainReplySize : q.reply.size()); break;
      case Field::Duration: appendSeconds(out, now - q.start); break;
      case Field::RFlags:
        if (q.reply.size() >= dns::kHeaderSize) {
          appendFlags(out, dns::Header::read(q.reply.data()).flags);
        } else {
          appendText(out, kEmptyValue);
        }
        break;
      case Field::Metadata: appendText(out, kEmptyValue); break;
    }
  }
}

}  // namespace moat::plugins::log
