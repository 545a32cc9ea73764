// The `loop` plugin, as CoreDNS's: at start the server asks itself `<n>.<n>.<first zone>` HINFO
// over UDP and watches that name come in. A forwarder pointed (directly or through another
// resolver) back at this server makes the probe come round again and again; more than two
// sightings is fatal, because a forwarding loop would otherwise burn CPU and memory until the
// process dies. Probing stops at the first reply of any kind, or after 30 s; from then on the
// handler only passes queries on.
#pragma once

#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "conf/diag.hpp"
#include "dns/name.hpp"
#include "plugins/handler.hpp"
#include "plugins/plugin.hpp"

namespace boost::asio {
class io_context;
}

namespace moat::plugins::loop {

// What happens when a loop is seen; receives the sentence to log. The default (exitOnLoop)
// ends the process; tests put a recorder here.
using LoopDetected = std::function<void(const std::string& message)>;

// Logs `message` as "[FATAL] plugin/loop: ...", flushes the logs and exits with status 1.
[[noreturn]] void exitOnLoop(const std::string& message);

// CoreDNS's timing: probes for up to 30 s, pausing 1 s after a failed exchange, each exchange
// waiting 2 s for its reply (miekg/dns's default client timeout). Tests shorten them.
struct ProbeTiming {
  std::chrono::steady_clock::duration window = std::chrono::seconds(30);
  std::chrono::steady_clock::duration replyTimeout = std::chrono::seconds(2);
  std::chrono::steady_clock::duration retryPause = std::chrono::seconds(1);
};

// More sightings of the probe than this is a loop (CoreDNS: "more than twice").
constexpr int kMaxSightings = 2;

class LoopHandler final : public Handler {
 public:
  // `zone` as text ("example.org."), `probe` the probe's wire name (lowercase), `listen` the
  // listener as the message shows it (":53" when the block listens on every address).
  LoopHandler(std::string zone, dns::WireName probe, std::string listen, LoopDetected onLoop);
  ~LoopHandler() override;  // stops the prober at its next step

  Verdict onQuery(dns::Query& q) override;
  std::string_view name() const override { return "loop"; }

  // Sends the probe to `target` from a socket on `loop` until a reply comes back or the window
  // passes, then turns the handler off. Call before `loop` runs, or from its thread.
  void startProbing(boost::asio::io_context& loop, const boost::asio::ip::udp::endpoint& target,
                    ProbeTiming timing = {});

  bool active() const;  // still counting sightings
  int sightings() const;
  const dns::WireName& probeName() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

// "<a>.<b>.<zone>" in wire form (lowercase), or nullopt when it would not fit in 255 bytes.
std::optional<dns::WireName> makeProbeName(std::string_view zone, uint64_t a, uint64_t b);

// Where the probe goes for a block that listens on `bindAddress` ("" = every address): the
// address itself, or loopback when it is a wildcard. nullopt when it is not an IP address.
std::optional<boost::asio::ip::address> probeAddress(std::string_view bindAddress);

// `loop` takes no arguments and no block. Probing starts on ctx.loops[0] once the workers run;
// without loops (a validation run) the handler is built but nothing is sent.
conf::Result<HandlerPtr> setupLoop(const SetupContext& ctx);
// The same with the reaction and timing chosen by the caller (tests).
conf::Result<HandlerPtr> setupLoop(const SetupContext& ctx, LoopDetected onLoop, ProbeTiming timing);

}  // namespace moat::plugins::loop
