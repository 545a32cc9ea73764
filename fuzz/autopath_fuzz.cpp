// Fuzz target: autopath reading what the plugins after it answered. The input is a reply
// (any bytes) that a handler after autopath gives to every try, each try with its rcode taken
// from the first four input bytes, so the walk goes on past NXDOMAIN, stops at an answer or ends
// in the fallback. Invariants: the client gets exactly one reply or a drop; a reply autopath
// built from a found one (a success counted) walks to its end and carries the client's question
// byte for byte, its first answer a CNAME owned by that name when it has one.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/record_walker.hpp"
#include "fuzz/fuzz_util.hpp"
#include "plugins/autopath/autopath.hpp"
#include "plugins/chain.hpp"

namespace {

using namespace moat;

struct Data final : plugins::Handler {
  std::vector<uint8_t> reply;
  uint8_t rcodes[4] = {};
  size_t tries = 0;
  plugins::Verdict onQuery(dns::Query& q) override {
    q.reply = reply;
    if (q.reply.size() >= dns::kHeaderSize) {
      q.reply[3] = static_cast<uint8_t>((q.reply[3] & 0xF0) | (rcodes[tries % 4] & 0x0F));
    }
    ++tries;
    return plugins::Verdict::Answered;
  }
  std::string_view name() const override { return "data"; }
};

struct Sink final : dns::ReplySink {
  std::vector<uint8_t> last;
  int sent = 0, dropped = 0;
  void sendReply(dns::Query& q) override {
    last = q.reply;
    ++sent;
  }
  void dropQuery(dns::Query&) override { ++dropped; }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 4 || size > 4096) return 0;
  plugins::autopath::Config config;
  config.zones = {"."};
  config.search = {*dns::nameFromText("example.org."), *dns::nameFromText("example.com."),
                   *dns::nameFromText("com.")};
  auto autopath = std::make_shared<plugins::autopath::AutoPath>(config, 1, "dns://:53");
  auto handler = std::make_shared<Data>();
  std::copy_n(data, 4, handler->rcodes);
  handler->reply.assign(data + 4, data + size);
  plugins::ChainRunner runner(1);
  auto table = std::make_shared<plugins::RouteTable>();
  table->listeners.emplace_back();
  auto chain = std::make_shared<plugins::Chain>();
  chain->add(autopath);
  chain->add(handler);
  table->listeners[0].add(".", chain);
  runner.publish(table);

  const auto asked = *dns::nameFromText("Www.Example.ORG.");
  auto q = std::make_unique<dns::Query>();
  if (!fuzz::loadQuery(*q, fuzz::makeQuery(asked, dns::rrtype::A, dns::rrclass::IN, 0x4242, 1232))) return 0;
  Sink sink;
  q->sink = &sink;
  q->dispatcher = &runner;
  runner.dispatch(*q);
  FUZZ_CHECK(sink.sent + sink.dropped == 1);
  if (sink.sent == 1 && autopath->successes() == 1) {
    dns::RecordWalker walk(sink.last);
    dns::Record r;
    FUZZ_CHECK(walk.nextQuestion(r));
    FUZZ_CHECK(std::equal(asked.begin(), asked.end(), sink.last.begin() + dns::kHeaderSize));
    while (walk.next(r)) {
    }
    FUZZ_CHECK(walk.done());
  }
  return 0;
}
