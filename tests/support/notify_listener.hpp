// A UDP socket on a loopback address playing a secondary that Moat's NOTIFYs go to: it answers
// every NOTIFY it reads (so Moat stops resending) and remembers where each came from, so a test
// can check the serial announced and the source address it was sent from.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace moat::testing {

class NotifyListener {
 public:
  // Bound to `address` ("127.0.0.1", "::1"), port chosen by the kernel.
  explicit NotifyListener(const std::string& address = "127.0.0.1");
  ~NotifyListener();
  NotifyListener(const NotifyListener&) = delete;
  NotifyListener& operator=(const NotifyListener&) = delete;

  uint16_t port() const { return port_; }

  // Waits (bounded) for a NOTIFY whose SOA in the answer section carries `serial`, answering
  // every NOTIFY it reads on the way. True when it came.
  bool awaitSerial(uint32_t serial, std::chrono::milliseconds limit = std::chrono::seconds(10));

  int received = 0;             // NOTIFYs read
  bool lastQuestionOk = false;  // the last one had one question and the AA bit
  std::vector<std::string> senders;  // the source address (no port) of each NOTIFY read

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

}  // namespace moat::testing
