#include "plugins/bufsize/bufsize.hpp"

#include <string>

#include "conf/args.hpp"

namespace moat::plugins::bufsize {

namespace {
constexpr std::string_view kPlugin = "bufsize";
constexpr size_t kUdpSizeOffset = 3;  // in the OPT RR: after the root owner (1 byte) and TYPE
}  // namespace

Verdict BufsizeHandler::onQuery(dns::Query& q) {
  dns::Edns& edns = q.view.edns;
  if (!edns.present || edns.udpSize <= size_) {
    if (q.trace != nullptr) {
      q.trace->note(name(), edns.present ? "EDNS buffer " + std::to_string(edns.udpSize) +
                                               " is within " + std::to_string(size_) + ": left alone"
                                         : "no EDNS in the query: left alone");
    }
    return Verdict::Next;
  }
  if (q.trace != nullptr) {
    q.trace->note(name(), "EDNS buffer " + std::to_string(edns.udpSize) + " lowered to " +
                              std::to_string(size_));
  }
  // The request bytes too, not only the parsed view: forward sends them as they are.
  dns::put16(q.request.data() + edns.offset + kUdpSizeOffset, size_);
  edns.udpSize = size_;
  return Verdict::Next;
}

conf::Result<uint16_t> parseSize(const conf::Directive& stanza) {
  if (stanza.hasBlock) return conf::errorAt(stanza.name, kPlugin, "'bufsize' takes no block");
  if (auto n = conf::expectArgs(stanza, kPlugin, 0, 1); !n) return n.error();
  if (stanza.args.empty()) return kDefaultSize;
  auto size = conf::parseInt(stanza.args[0], kPlugin, "SIZE", kMinSize, kMaxSize);
  if (!size) return size.error();
  return static_cast<uint16_t>(*size);
}

conf::Result<HandlerPtr> setupBufsize(const SetupContext& ctx) {
  auto size = parseSize(*ctx.stanzas.front());
  if (!size) return size.error();
  // CoreDNS reads the first stanza and never looks at the others; Moat does the same, and says
  // so, rather than refuse a Corefile CoreDNS starts with.
  if (ctx.warnings != nullptr) {
    for (size_t i = 1; i < ctx.stanzas.size(); ++i) {
      ctx.warnings->push_back(conf::Diag{ctx.stanzas[i]->name.pos,
                                         "bufsize: ignored: only the first bufsize of a block applies (" +
                                             ctx.stanzas.front()->name.pos.str() + "), as in CoreDNS",
                                         conf::Severity::Warning});
    }
  }
  return HandlerPtr(std::make_shared<BufsizeHandler>(*size));
}

}  // namespace moat::plugins::bufsize
