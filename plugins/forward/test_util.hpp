// Helpers for the forward tests: inline Corefiles through the real parser, a Runner that records
// how pending queries resumed, and a harness that drives the handler on an io_context owned by
// the test thread (worker 0 = loops[0], which also runs the health checks).
#pragma once

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "conf/parser.hpp"
#include "plugins/forward/config.hpp"
#include "plugins/forward/forward.hpp"
#include "plugins/forward/shared.hpp"
#include "plugins/forward/worker.hpp"
#include "tests/support/dns_test_util.hpp"

namespace moat::plugins::forward::testing {

using moat::testing::QuerySpec;
using Seconds = std::chrono::duration<double>;

// A query for `name` (type A, class IN, RD) with the given ID.
inline QuerySpec query(std::string name, uint16_t id = 0x1234) {
  QuerySpec spec;
  spec.name = std::move(name);
  spec.id = id;
  return spec;
}

// A root server block holding `lines`.
inline std::string block(const std::string& lines) { return ". {\n" + lines + "\n}\n"; }

// The forward stanzas of the first block of `corefile`; FAILs when the text does not parse.
inline std::vector<const conf::Directive*> forwardStanzas(const conf::Corefile& file) {
  std::vector<const conf::Directive*> out;
  if (file.blocks.empty()) return out;
  for (const auto& d : file.blocks.front().directives) {
    if (d.name.text == "forward") out.push_back(&d);
  }
  return out;
}

inline conf::Corefile parseText(const std::string& corefile) {
  auto parsed = conf::parseCorefile(corefile, "Corefile");
  REQUIRE_MESSAGE(parsed.ok(), (parsed.ok() ? std::string() : parsed.error().str()));
  return std::move(*parsed);
}

inline conf::Result<std::vector<Stanza>> parse(const std::string& corefile,
                                               std::vector<conf::Diag>* warnings = nullptr,
                                               const std::string& baseDir = "") {
  auto file = parseText(corefile);
  auto stanzas = forwardStanzas(file);
  return parseStanzas(stanzas, baseDir, warnings);
}

// A port on 127.0.0.1 where nothing answers, held for the test's life so that no other process
// (tests run in parallel, and every server's forward opens sockets on random ports) takes it:
// a UDP socket bound to it but connected elsewhere, so anyone else's datagram gets ICMP port
// unreachable, and a TCP socket bound to it that does not listen, so connections are reset.
// release() frees it for a server the test starts there.
class ClosedPort {
 public:
  ClosedPort() {
    for (int attempt = 0; attempt < 100 && port_ == 0; ++attempt) {
      boost::system::error_code ec;
      udp_.open(boost::asio::ip::udp::v4());
      udp_.bind({boost::asio::ip::make_address_v4("127.0.0.1"), 0});
      const uint16_t port = udp_.local_endpoint().port();
      udp_.connect({boost::asio::ip::make_address_v4("127.0.0.1"), 9});
      tcp_.open(boost::asio::ip::tcp::v4());
      tcp_.bind({boost::asio::ip::make_address_v4("127.0.0.1"), port}, ec);
      if (!ec) {
        port_ = port;
      } else {
        udp_.close();
        tcp_.close();
      }
    }
    REQUIRE(port_ != 0);
  }
  uint16_t port() const { return port_; }
  void release() {
    boost::system::error_code ignored;
    udp_.close(ignored);
    tcp_.close(ignored);
  }

 private:
  boost::asio::io_context io_;
  boost::asio::ip::udp::socket udp_{io_};
  boost::asio::ip::tcp::socket tcp_{io_};
  uint16_t port_ = 0;
};

class RecordingRunner final : public Runner {
 public:
  void dispatch(dns::Query&) override {}
  void resume(dns::Query& q, Verdict v) override { resumed.push_back({&q, v}); }
  bool subquery(dns::Query&, std::span<const uint8_t>, uint16_t, SubqueryClient&) override { return false; }
  const Verdict* verdictFor(const dns::Query& q) const {
    for (const auto& r : resumed) {
      if (r.first == &q) return &r.second;
    }
    return nullptr;
  }
  std::vector<std::pair<const dns::Query*, Verdict>> resumed;
};

struct Outcome {
  Verdict verdict = Verdict::Drop;
  bool pending = false;    // onQuery returned Pending (and resume came later)
  bool completed = false;  // a final verdict is known
  double seconds = 0;
  moat::testing::Reply reply;
  dns::Query* query = nullptr;
};

class Harness {
 public:
  // Builds the handler from the block's forward stanzas (REQUIREs that they parse).
  explicit Harness(const std::string& corefile, const EgressConfig& egress = {}) {
    auto stanzas = parse(corefile);
    REQUIRE_MESSAGE(stanzas.ok(), (stanzas.ok() ? std::string() : stanzas.error().str()));
    forward = std::make_shared<Forward>(std::move(*stanzas), std::span(loops), egress);
    io.poll();  // runs the posted start(): receive loops armed
  }
  ~Harness() {
    forward.reset();
    io.restart();
    io.poll();  // runs the posted shutdown
  }

  // Sends one query and runs the loop until it completes or `limit` passes.
  Outcome ask(const QuerySpec& spec, dns::Proto proto = dns::Proto::Udp,
              std::chrono::milliseconds limit = std::chrono::milliseconds(8000)) {
    auto outcome = start(spec, proto);
    if (outcome.pending) wait(outcome, limit);
    return outcome;
  }

  Outcome start(const QuerySpec& spec, dns::Proto proto = dns::Proto::Udp) {
    auto& q = *queries.emplace_back(std::make_unique<dns::Query>());
    moat::testing::loadQuery(q, moat::testing::makeQuery(spec), proto);
    q.dispatcher = &runner;
    q.worker = 0;
    if (cancelAfter.count() > 0) q.deadline = std::chrono::steady_clock::now() + cancelAfter;
    Outcome o;
    o.query = &q;
    began = std::chrono::steady_clock::now();
    o.verdict = forward->onQuery(q);
    o.pending = o.verdict == Verdict::Pending;
    o.completed = !o.pending;
    if (o.completed && o.verdict == Verdict::Answered) o.reply = moat::testing::decode(q.reply);
    return o;
  }

  void wait(Outcome& o, std::chrono::milliseconds limit = std::chrono::milliseconds(8000)) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    io.restart();
    while (runner.verdictFor(*o.query) == nullptr && std::chrono::steady_clock::now() < deadline) {
      io.run_one_for(std::chrono::milliseconds(20));
    }
    o.seconds = Seconds(std::chrono::steady_clock::now() - began).count();
    if (const Verdict* v = runner.verdictFor(*o.query)) {
      o.completed = true;
      o.verdict = *v;
      if (*v == Verdict::Answered) o.reply = moat::testing::decode(o.query->reply);
    }
  }

  // Runs the loop for a while (health checks, pool expiry).
  void runFor(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }

  // Runs the loop until `cond` holds or `limit` passes; returns cond().
  template <class Cond>
  bool runUntil(Cond cond, std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    io.restart();
    while (!cond() && std::chrono::steady_clock::now() < deadline) {
      io.run_one_for(std::chrono::milliseconds(10));
    }
    return cond();
  }

  const WorkerStats& stats() const { return forward->worker(0).stats(); }
  const UpstreamState& upstream(size_t stanza, size_t index) const {
    return *forward->shared().stanzas.at(stanza)->upstreams.at(index);
  }

  // When above zero, each query started gets a deadline this far ahead (as `cancel` sets one).
  std::chrono::milliseconds cancelAfter{0};

  boost::asio::io_context io;
  std::vector<boost::asio::io_context*> loops{&io};
  RecordingRunner runner;
  std::vector<std::unique_ptr<dns::Query>> queries;
  std::shared_ptr<Forward> forward;
  std::chrono::steady_clock::time_point began{};
};

// How many queries for `name` reached `up` (health probes ask for other names).
template <class Upstream>
size_t countName(const Upstream& up, const std::string& name) {
  size_t n = 0;
  for (const auto& r : up.received()) n += r.name == name ? 1 : 0;
  return n;
}

// True when the decoded answer section has an A record for `address`.
inline bool hasA(const moat::testing::Reply& r, const std::string& address) {
  for (const auto& rr : r.answer) {
    if (rr.find(" A ") != std::string::npos && rr.size() >= address.size() &&
        rr.compare(rr.size() - address.size(), address.size(), address) == 0) {
      return true;
    }
  }
  return false;
}

// How many replies worker 0 rejected for `why`.
inline uint64_t rejected(const Harness& h, Reject why) { return h.stats().rejected[static_cast<size_t>(why)].load(); }

}  // namespace moat::plugins::forward::testing
