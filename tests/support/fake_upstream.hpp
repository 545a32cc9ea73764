// A small DNS server for tests: UDP and TCP on 127.0.0.1, one port for both, served from its own
// thread. It answers by simple fixed rules and records every query it receives, so a test can
// prove what reached "upstream" (and what did not).
//
// Rules in Mode::Answer (the default):
//   - any name with a label "nx" (e.g. "foo.nx.", "nx.example.org.") -> NXDOMAIN, no records;
//   - A queries -> one A record (answerAddress(), 192.0.2.1 unless set), TTL 300;
//   - anything else -> NOERROR with no records (NODATA without SOA).
// Replies copy the ID, question, opcode and RD of the query, set QR and RA, and carry an OPT
// record (UDP size 4096) when the query had one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace moat::testing {

class FakeUpstream {
 public:
  enum class Mode : uint8_t {
    Answer,         // the rules above
    Silent,         // never replies (a dead upstream; over TCP it reads and keeps quiet)
    Truncate,       // UDP: TC set, no records; TCP: as Answer
    ServFail,       // SERVFAIL, question only
    Refused,        // REFUSED, question only
    Large,          // A queries get largeCount() A records (192.0.2.1, .2, ...), both transports,
                    // never truncated: tests the server's own truncation
    SpoofId,        // UDP: first a reply with a wrong ID answering kSpoofAddress, then the real one
    SpoofQuestion,  // UDP: first a reply with the right ID but question "spoofed.example."
                    // answering kSpoofAddress, then the real one
    Garbage,        // both transports: the query's ID with QR set, then bytes that are no DNS
                    // message (a label running past the end of the packet)
    Numbered,       // as Answer, but the Nth query (both transports, from 1) gets 192.0.2.N
    CaseFold,       // UDP: as Answer, but the question comes back lowercased (an upstream that
                    // does not keep the case of names); TCP: as Answer
  };
  static constexpr std::string_view kSpoofAddress = "203.0.113.66";

  struct Received {
    std::string name;  // presentation form as sent (case kept), with trailing dot
    uint16_t type = 0;
    uint16_t id = 0;
    bool tcp = false;
    bool rd = false;
    uint16_t sourcePort = 0;  // the sender's port (UDP; 0 over TCP)
    std::vector<uint8_t> message;  // the query as it arrived (its OPT, say)
  };

  // `port` 0 picks a free ephemeral port usable for both UDP and TCP.
  explicit FakeUpstream(uint16_t port = 0);
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  void setMode(Mode mode) { mode_.store(mode); }
  Mode mode() const { return mode_.load(); }
  void setAnswerAddress(std::string_view ipv4);  // for A answers in Answer/Truncate mode
  std::string answerAddress() const;
  void setLargeCount(unsigned n) { largeCount_.store(n); }
  unsigned largeCount() const { return largeCount_.load(); }
  // Replies (UDP and TCP) are sent this long after the query arrived.
  void setDelay(std::chrono::milliseconds delay) { delayMs_.store(delay.count()); }
  // UDP query k (from 0) waits delays[k], the last one repeating; replaces setDelay's for UDP.
  void setDelays(std::vector<std::chrono::milliseconds> delays);
  std::chrono::milliseconds delayFor(uint64_t udpIndex) const;

  uint64_t udpQueries() const { return udpQueries_.load(); }
  uint64_t tcpQueries() const { return tcpQueries_.load(); }
  uint64_t queries() const { return udpQueries() + tcpQueries(); }
  // Every query received (health checks included), oldest first; the last 10000 are kept.
  std::vector<Received> received() const;
  std::vector<std::string> names() const;
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
  std::atomic<Mode> mode_{Mode::Answer};
  std::atomic<uint32_t> answerAddress_{0xC0000201};  // 192.0.2.1
  std::atomic<unsigned> largeCount_{50};
  std::atomic<int64_t> delayMs_{0};
  std::atomic<uint64_t> numbered_{0};
  std::vector<std::chrono::milliseconds> delays_;  // guarded by mutex_
  std::atomic<uint64_t> udpQueries_{0};
  std::atomic<uint64_t> tcpQueries_{0};
  mutable std::mutex mutex_;
  std::vector<Received> received_;
  std::thread thread_;
};

}  // namespace moat::testing
