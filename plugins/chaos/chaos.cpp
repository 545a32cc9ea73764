#include "plugins/chaos/chaos.hpp"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <numeric>
#include <random>

#include "dns/message.hpp"
#include "dns/name.hpp"

namespace moat::plugins::chaos {
namespace {

constexpr std::string_view kPlugin = "chaos";

enum class Asked : uint8_t { Other, Version, Authors, Hostname };

// The lowercased wire name against the five names, as CoreDNS compares them (case-insensitive).
Asked whatIsAsked(std::span<const uint8_t> lower) {
  auto is = [&](std::string_view wire) {
    return std::equal(lower.begin(), lower.end(), wire.begin(), wire.end(),
                      [](uint8_t a, char b) { return a == static_cast<uint8_t>(b); });
  };
  using namespace std::string_view_literals;
  if (is("\7version\4bind\0"sv) || is("\7version\6server\0"sv)) return Asked::Version;
  if (is("\7authors\4bind\0"sv)) return Asked::Authors;
  if (is("\x08hostname\4bind\0"sv) || is("\2id\6server\0"sv)) return Asked::Hostname;
  return Asked::Other;
}

std::vector<uint8_t> txtRdata(std::string_view text) {
  // Sized up front: GCC 12 sees a bogus overflow in push_back-then-insert (-Warray-bounds).
  std::vector<uint8_t> out(1 + text.size());
  out[0] = static_cast<uint8_t>(text.size());  // at most kMaxText, checked by the caller
  std::copy(text.begin(), text.end(), out.begin() + 1);
  return out;
}

std::string rdataText(std::span<const uint8_t> rdata) {
  return "\"" + std::string(rdata.begin() + 1, rdata.end()) + "\"";
}

// What answers hostname.bind, read when the configuration loads; "localhost" when the system
// has none, as CoreDNS answers then.
std::string systemHostname() {
  std::array<char, 256> buf{};
  if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
  return std::string(buf.data()).substr(0, kMaxText);
}

uint64_t splitmix(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

// Cache-line aligned so two workers never write to the same line. `order` is sized once, so
// shuffling it per query allocates nothing.
struct alignas(64) ChaosHandler::WorkerState {
  uint64_t rng = 1;  // xorshift64: never 0
  std::vector<uint16_t> order;

  uint64_t next() {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
  }
  // Fisher-Yates: CoreDNS lists the authors in a random order on every query.
  void shuffle() {
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[next() % i]);
  }
};

ChaosHandler::ChaosHandler(const Config& config, std::string_view hostname, size_t workers, uint64_t seed)
    : version_(txtRdata(config.version)),
      hostname_(txtRdata(hostname.substr(0, kMaxText))),
      workers_(workers),
      state_(std::make_unique<WorkerState[]>(workers)) {
  for (const std::string& author : config.authors) authors_.push_back(txtRdata(author));
  for (size_t i = 0; i < workers; ++i) {
    state_[i].rng = splitmix(seed + i) | 1;
    state_[i].order.resize(authors_.size());
    std::iota(state_[i].order.begin(), state_[i].order.end(), uint16_t{0});
  }
}

ChaosHandler::~ChaosHandler() = default;

Verdict ChaosHandler::onQuery(dns::Query& q) {
  const dns::Question& question = q.view.question;
  if (q.view.header.qdcount == 0) return Verdict::Next;
  if (question.qclass != dns::rrclass::CH || question.qtype != dns::rrtype::TXT) {
    // `explain` asks in class IN: say why one of the five names was not answered, and stay
    // silent for every other query rather than show chaos on every path.
    if (q.trace != nullptr && whatIsAsked(question.lowerName()) != Asked::Other) {
      q.trace->note(kPlugin, dns::nameToText(question.lowerName()) +
                                 " is answered in class CH and type TXT only");
    }
    return Verdict::Next;
  }
  const Asked asked = whatIsAsked(question.lowerName());
  if (asked == Asked::Other) {
    if (q.trace != nullptr) {
      q.trace->note(kPlugin, "CH TXT " + dns::nameToText(question.lowerName()) +
                                 " is not version.bind, version.server, authors.bind, "
                                 "hostname.bind or id.server");
    }
    return Verdict::Next;
  }

  // Not authoritative, TTL 0, class CH, owned by the qname as the client spelled it.
  dns::MessageWriter w(q.reply);
  w.startReply(q.requestBytes(), q.view, dns::RCode::NoError, /*aa=*/false);
  const std::span<const uint8_t> owner(q.request.data() + question.nameOffset, question.nameLen);
  auto answer = [&](std::span<const uint8_t> rdata) {
    w.addRR(dns::Section::Answer, owner, dns::rrtype::TXT, dns::rrclass::CH, 0, rdata);
  };
  std::string explained;
  switch (asked) {
    case Asked::Version:
      answer(version_);
      if (q.trace != nullptr) explained = "the version, " + rdataText(version_);
      break;
    case Asked::Hostname:
      answer(hostname_);
      if (q.trace != nullptr) explained = "the host's name, " + rdataText(hostname_);
      break;
    case Asked::Authors:
      if (q.worker < workers_) {
        WorkerState& state = state_[q.worker];
        state.shuffle();
        for (uint16_t i : state.order) answer(authors_[i]);
      } else {
        for (const auto& author : authors_) answer(author);
      }
      if (q.trace != nullptr) explained = std::to_string(authors_.size()) + " authors, in a random order";
      break;
    case Asked::Other:
      break;
  }
  if (q.trace != nullptr) q.trace->note(kPlugin, "CH TXT " + dns::nameToText(question.lowerName()) + ": " + explained);
  return Verdict::Answered;
}

conf::Result<HandlerPtr> setupChaos(const SetupContext& ctx) {
  auto config = parseConfig(*ctx.stanzas.front());
  if (!config) return config.error();
  // CoreDNS reads the first `chaos` of a block and never looks at the others; Moat loads the
  // same Corefile but says so, since a second line was surely meant to change something.
  if (ctx.warnings != nullptr) {
    for (size_t i = 1; i < ctx.stanzas.size(); ++i) {
      const conf::Directive& first = *ctx.stanzas.front();
      ctx.warnings->push_back(conf::Diag{
          ctx.stanzas[i]->name.pos,
          "chaos: ignored, as CoreDNS ignores it: only the block's first 'chaos' (at " +
              std::to_string(first.name.pos.line) + ":" + std::to_string(first.name.pos.col) + ") counts",
          conf::Severity::Warning});
    }
  }
  std::random_device device;
  const uint64_t seed = uint64_t{device()} << 32 ^ device();
  // Tests and checks build without event loops; one state keeps the handler usable there.
  const size_t workers = std::max<size_t>(1, ctx.loops.size());
  return HandlerPtr(std::make_shared<ChaosHandler>(*config, systemHostname(), workers, seed));
}

}  // namespace moat::plugins::chaos
