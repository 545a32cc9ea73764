// NOTIFY (RFC 1996) to the secondaries a `transfer` stanza lists: one UDP exchange per target on
// a thread and event loop of its own, so a slow or silent secondary never holds a worker. Each
// target gets up to kTries sends, the wait for an answer doubling each time (1s, 2s, 4s), and a
// NOERROR answer with the same ID ends it.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/udp.hpp>

#include "plugins/file/zone.hpp"

namespace moat::plugins::transfer {

struct NotifyTarget {
  boost::asio::ip::udp::endpoint to;
  std::optional<boost::asio::ip::address> source;  // `source`: the local address to send from
  std::string text;                                // "192.0.2.1:53", for logs
};

struct NotifyTiming {
  unsigned tries = 3;
  std::chrono::milliseconds firstWait{1000};  // doubled after each unanswered send
};

// The NOTIFY for `zone`: opcode NOTIFY, AA, question ORIGIN SOA IN, and the current SOA in the
// answer section as RFC 1996 §3.7 allows (a hint; the secondary still asks for the serial).
std::vector<uint8_t> notifyMessage(const file::Zone& zone, uint16_t id);

class Notifier {
 public:
  explicit Notifier(NotifyTiming timing = {});
  ~Notifier();  // abandons exchanges still running and joins the thread
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Sends `message` (its ID is replaced per target) to every target; returns at once. Any thread.
  void send(std::string zone, std::vector<uint8_t> message, std::vector<NotifyTarget> targets);

 private:
  NotifyTiming timing_;
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::thread thread_;
};

}  // namespace moat::plugins::transfer
