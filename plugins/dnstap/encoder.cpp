#include "plugins/dnstap/encoder.hpp"

#include <sys/socket.h>

#include <cstring>

namespace moat::plugins::dnstap {
namespace {

// Protobuf wire types.
constexpr uint8_t kVarint = 0;
constexpr uint8_t kLengthDelimited = 2;
constexpr uint8_t kFixed32 = 5;

// Dnstap fields.
constexpr uint32_t kIdentity = 1;
constexpr uint32_t kVersion = 2;
constexpr uint32_t kExtra = 3;
constexpr uint32_t kMessage = 14;
constexpr uint32_t kType = 15;
constexpr uint64_t kTypeMessage = 1;  // Dnstap.Type MESSAGE

// Message fields.
constexpr uint32_t kMsgType = 1;
constexpr uint32_t kSocketFamily = 2;
constexpr uint32_t kSocketProtocol = 3;
constexpr uint32_t kQueryAddress = 4;
constexpr uint32_t kResponseAddress = 5;
constexpr uint32_t kQueryPort = 6;
constexpr uint32_t kResponsePort = 7;
constexpr uint32_t kQueryTimeSec = 8;
constexpr uint32_t kQueryTimeNsec = 9;
constexpr uint32_t kQueryMessage = 10;
constexpr uint32_t kResponseTimeSec = 12;
constexpr uint32_t kResponseTimeNsec = 13;
constexpr uint32_t kResponseMessage = 14;

constexpr uint64_t kFamilyInet = 1;
constexpr uint64_t kFamilyInet6 = 2;

// Writes into a span, or only counts when the span is empty: the same walk sizes the nested
// Message first and then writes it, so the two can never disagree.
class Out {
 public:
  explicit Out(std::span<uint8_t> buf) : buf_(buf), counting_(buf.empty()) {}

  void varint(uint64_t v) {
    while (v >= 0x80) {
      byte(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    byte(static_cast<uint8_t>(v));
  }
  void key(uint32_t field, uint8_t wireType) { varint((uint64_t{field} << 3) | wireType); }
  void varintField(uint32_t field, uint64_t v) {
    key(field, kVarint);
    varint(v);
  }
  void fixed32Field(uint32_t field, uint32_t v) {
    key(field, kFixed32);
    for (int i = 0; i < 4; ++i) byte(static_cast<uint8_t>(v >> (8 * i)));  // little-endian
  }
  void bytesField(uint32_t field, const void* data, size_t len) {
    key(field, kLengthDelimited);
    varint(len);
    if (counting_) {
      at_ += len;
    } else if (fits(len)) {
      if (len > 0) std::memcpy(buf_.data() + at_, data, len);
      at_ += len;
    } else {
      overflow_ = true;
    }
  }
  void bytesField(uint32_t field, std::span<const uint8_t> b) { bytesField(field, b.data(), b.size()); }
  void bytesField(uint32_t field, std::string_view s) { bytesField(field, s.data(), s.size()); }

  size_t size() const { return at_; }
  bool ok() const { return !overflow_; }

 private:
  bool fits(size_t len) const { return !overflow_ && at_ + len <= buf_.size(); }
  void byte(uint8_t b) {
    if (counting_) {
      ++at_;
    } else if (fits(1)) {
      buf_[at_++] = b;
    } else {
      overflow_ = true;
    }
  }

  std::span<uint8_t> buf_;
  bool counting_;
  size_t at_ = 0;
  bool overflow_ = false;
};

void writeMessage(Out& out, const Message& m) {
  out.varintField(kMsgType, static_cast<uint64_t>(m.type));
  if (m.family == AF_INET || m.family == AF_INET6) {
    out.varintField(kSocketFamily, m.family == AF_INET ? kFamilyInet : kFamilyInet6);
    out.varintField(kSocketProtocol, static_cast<uint64_t>(m.protocol));
    if (!m.queryAddress.empty()) out.bytesField(kQueryAddress, m.queryAddress);
    if (!m.responseAddress.empty()) out.bytesField(kResponseAddress, m.responseAddress);
    if (m.hasQueryPort) out.varintField(kQueryPort, m.queryPort);
    if (m.hasResponsePort) out.varintField(kResponsePort, m.responsePort);
  }
  if (m.hasQueryTime) {
    out.varintField(kQueryTimeSec, m.queryTime.sec);
    out.fixed32Field(kQueryTimeNsec, m.queryTime.nsec);
  }
  if (!m.queryMessage.empty()) out.bytesField(kQueryMessage, m.queryMessage);
  if (m.hasResponseTime) {
    out.varintField(kResponseTimeSec, m.responseTime.sec);
    out.fixed32Field(kResponseTimeNsec, m.responseTime.nsec);
  }
  if (!m.responseMessage.empty()) out.bytesField(kResponseMessage, m.responseMessage);
}

size_t messageSize(const Message& m) {
  Out counter({});
  writeMessage(counter, m);
  return counter.size();
}

void writeDnstap(Out& out, const Envelope& e, const Message& m, size_t msgSize) {
  out.bytesField(kIdentity, e.identity);
  out.bytesField(kVersion, e.version);
  if (!e.extra.empty()) out.bytesField(kExtra, e.extra);
  out.key(kMessage, kLengthDelimited);
  out.varint(msgSize);
  writeMessage(out, m);
  out.varintField(kType, kTypeMessage);
}

}  // namespace

size_t encodedSize(const Envelope& envelope, const Message& message) {
  Out counter({});
  writeDnstap(counter, envelope, message, messageSize(message));
  return counter.size();
}

size_t encode(const Envelope& envelope, const Message& message, std::span<uint8_t> out) {
  if (out.empty()) return 0;
  Out writer(out);
  writeDnstap(writer, envelope, message, messageSize(message));
  return writer.ok() ? writer.size() : 0;
}

}  // namespace moat::plugins::dnstap
