#include "plugins/nsid/nsid.hpp"

#include <unistd.h>

#include <array>

#include "conf/args.hpp"
#include "dns/edns_option.hpp"
#include "dns/reply_fit.hpp"

namespace moat::plugins::nsid {

namespace {
constexpr std::string_view kPlugin = "nsid";

bool asksForNsid(const dns::Query& q) {
  return dns::queryHasOption(q.requestBytes(), q.view.edns, dns::ednsopt::NSID);
}
}  // namespace

Verdict NsidHandler::onQuery(dns::Query& q) {
  if (q.trace != nullptr) {
    q.trace->note(name(), asksForNsid(q) ? "the reply will carry NSID \"" + data_ + "\""
                                         : "the query asks for no NSID: the reply is left alone");
  }
  return Verdict::Next;
}

void NsidHandler::onReply(dns::Query& q) {
  if (!asksForNsid(q)) return;
  // The reply was fitted to the client's buffer before the observers ran; when the option
  // pushes it past, fitting it again cuts records and keeps the OPT with the option.
  if (!dns::putReplyOption(q.reply, dns::ednsopt::NSID, data())) return;
  const size_t limit = q.proto == dns::Proto::Udp ? q.view.udpLimit() : dns::kMaxMessage;
  if (q.reply.size() > limit) dns::finalizeReply(q.reply, q.view, q.proto);
}

std::string hostName() {
  std::array<char, 256> name{};
  if (gethostname(name.data(), name.size() - 1) != 0 || name[0] == '\0') return "localhost";
  return std::string(name.data());
}

conf::Result<std::string> parseData(const conf::Directive& stanza, std::string_view hostname) {
  if (stanza.hasBlock) return conf::errorAt(stanza.name, kPlugin, "'nsid' takes no block");
  if (stanza.args.empty()) return std::string(hostname.substr(0, kMaxData));
  // Several words are one identifier, joined by single spaces as CoreDNS joins them.
  std::string data;
  for (const conf::Token& word : stanza.args) {
    if (!data.empty()) data += ' ';
    data += word.text;
  }
  if (data.size() > kMaxData) {
    return conf::errorAt(stanza.args[0], kPlugin,
                         "DATA is " + std::to_string(data.size()) + " bytes, at most " +
                             std::to_string(kMaxData) + " are allowed");
  }
  return data;
}

conf::Result<HandlerPtr> setupNsid(const SetupContext& ctx) {
  // The registry marks nsid once per block, so there is exactly one stanza here.
  auto data = parseData(*ctx.stanzas.front(), hostName());
  if (!data) return data.error();
  return HandlerPtr(std::make_shared<NsidHandler>(std::move(*data)));
}

}  // namespace moat::plugins::nsid
