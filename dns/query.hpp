// One query in flight: the request bytes, its parsed view, the reply being built, and where the
// reply goes. Queries come from a per-worker pool and are reused, so nothing here allocates once
// the pool is warm (the reply vector keeps its capacity across uses).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "dns/trace.hpp"
#include "dns/wire.hpp"

namespace moat::dns {

enum class Proto : uint8_t { Udp, Tcp };

// A socket address small enough to copy around (IPv4 or IPv6).
struct Endpoint {
  sockaddr_storage addr{};
  socklen_t len = 0;

  int family() const { return addr.ss_family; }
  uint16_t port() const;
  // Address as text without brackets, written into `out` (at least INET6_ADDRSTRLEN bytes).
  std::string_view addressText(std::array<char, 64>& out) const;
  // The address as Go's net package sees it: 4 bytes for IPv4, also when it reached a
  // dual-stack socket as an IPv4-mapped IPv6 address, else 16. Returns AF_INET or AF_INET6
  // (0 when there is no address) and fills `out`.
  int address(std::array<uint8_t, 16>& out) const;
};

struct Query;

// Who sent the query and takes the reply: a UDP socket or a TCP connection of one worker.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  // Sends q.reply (already final: truncated, OPT added) and releases the query.
  virtual void sendReply(Query& q) = 0;
  // The query ends without a reply (Drop); the sink releases it.
  virtual void dropQuery(Query& q) = 0;
  // Sends `message` (complete, its own ID and header) to q's client ahead of q's reply, for an
  // answer that takes several messages (a zone transfer over TCP); sendReply later sends the
  // last one. False when this sink cannot (a datagram sink, a subquery) or the client is gone;
  // the query stays the caller's either way.
  virtual bool sendAhead(Query& q, std::span<const uint8_t> message) {
    (void)q;
    (void)message;
    return false;
  }
};

// What the server hands each well-formed query to, and what a pending handler resumes through.
// The plugin chain implements it; dns/ knows nothing of plugins.
class Dispatcher {
 public:
  virtual ~Dispatcher() = default;
  virtual void dispatch(Query& q) = 0;
};

constexpr size_t kMaxRequest = 4096;  // larger queries are not DNS queries anyone sends

struct Query {
  // --- the request
  std::array<uint8_t, kMaxRequest> request{};
  uint16_t requestLen = 0;
  QueryView view;
  Proto proto = Proto::Udp;
  Endpoint client;
  Endpoint local;
  std::chrono::steady_clock::time_point start{};
  // When the query is given up (the `cancel` plugin; CoreDNS's context deadline): a plugin that
  // waits on the network starts nothing new past it. Zero: no deadline.
  std::chrono::steady_clock::time_point deadline{};
  unsigned worker = 0;     // index of the worker (event loop) that owns this query
  uint16_t listener = 0;   // which configured listener received it (routes to its server blocks)

  // --- the reply, built by a handler (or by the chain runner for error rcodes)
  std::vector<uint8_t> reply;
  // Once the chain answered, the reply is fitted for the wire (OPT echoed, truncated to the
  // client's buffer) before onReply runs, so observers see the flags the client gets; the size
  // the chain wrote is kept because that is what CoreDNS logs as {rsize}.
  bool finalized = false;
  uint16_t chainReplySize = 0;
  // A plugin error for the `errors` plugin; points at static or handler-owned text.
  std::string_view error;
  // Set when CoreDNS would wrap the error as plugin.Error ("plugin/NAME: text"), e.g. the
  // chain's "no next plugin found"; empty when CoreDNS prints it bare (forward's errors).
  std::string_view errorPlugin;
  // A plugin that passed the query on knows the name with other types (hosts with
  // fallthrough_unsupported): a local negative answer is NODATA, not NXDOMAIN.
  bool nameExists = false;
  // The plugin whose send the egress check stopped (DESIGN.md §4), for the private answer's log.
  std::string_view egressBlocked;
  // Set only by `moat explain`: handlers note their reasons here.
  Trace* trace = nullptr;
  // The question as the client asked it, kept when a plugin changed the request's question
  // (rewrite); askedLen is 0 otherwise. The egress check tests this name as well as the one that
  // would leave, so a rewrite never carries a private name out, and the rewriting plugin gives
  // the reply this question back.
  std::array<uint8_t, kMaxNameLen> askedName{};   // the client's spelling
  std::array<uint8_t, kMaxNameLen> askedLower{};  // lowercased
  uint16_t askedLen = 0;
  uint16_t askedType = 0;
  uint16_t askedClass = 0;
  // What the rewriting plugin's onReply needs of its onQuery for this query, kept here because a
  // query carries no other per-plugin state: how many of its rules the query's pass looked at,
  // which of the first 64 fired (rules on EDNS options fire or not by what the OPT held), and
  // whether it gave a query without EDNS an OPT record (taken off again for the client's reply).
  uint16_t rewriteRan = 0;
  uint64_t rewriteFired = 0;
  bool rewriteAddedOpt = false;

  // --- where it came from and how it ends
  ReplySink* sink = nullptr;
  void* sinkContext = nullptr;  // the sink's own per-query note (e.g. the TCP connection)

  // --- chain position, owned by the dispatcher (opaque here so dns/ stays plugin-free)
  std::shared_ptr<const void> pin;  // keeps the configuration it started on alive
  const void* route = nullptr;      // the server block chosen for it
  uint16_t position = 0;            // index of the handler that returned Pending or answered
  uint8_t depth = 0;                // 0 for a client's query, n for a subquery n levels down
  // The first handler the query entered: 0, or past its parent's handler for a subquery that
  // runs the rest of the parent's chain (only those handlers observe its reply).
  uint16_t firstPosition = 0;
  Dispatcher* dispatcher = nullptr;

  std::span<const uint8_t> requestBytes() const { return {request.data(), requestLen}; }
  // The lowercased name the client asked, when a plugin rewrote the question; empty otherwise.
  std::span<const uint8_t> askedLowerName() const { return {askedLower.data(), askedLen}; }

  // Writes a request of one question (RD set, class IN) for an uncompressed wire `name` and
  // parses it into `view`, as if a client had sent it (subqueries, explain). False when the
  // name does not fit or does not parse.
  bool loadQuestion(uint16_t id, std::span<const uint8_t> name, uint16_t type) {
    if (name.empty() || name.size() > kMaxNameLen) return false;
    Header{id, flag::RD, 1, 0, 0, 0}.write(request.data());
    std::copy(name.begin(), name.end(), request.begin() + kHeaderSize);
    const size_t off = kHeaderSize + name.size();
    put16(&request[off], type);
    put16(&request[off + 2], rrclass::IN);
    requestLen = static_cast<uint16_t>(off + 4);
    return parseQuery(requestBytes(), view) == ParseStatus::Ok;
  }

  // Clears per-query state for reuse; keeps buffer capacity.
  void reset() {
    requestLen = 0;
    deadline = {};
    reply.clear();
    finalized = false;
    chainReplySize = 0;
    error = {};
    errorPlugin = {};
    nameExists = false;
    egressBlocked = {};
    trace = nullptr;
    askedLen = 0;
    rewriteRan = 0;
    rewriteFired = 0;
    rewriteAddedOpt = false;
    sink = nullptr;
    sinkContext = nullptr;
    pin.reset();
    route = nullptr;
    position = 0;
    depth = 0;
    firstPosition = 0;
    dispatcher = nullptr;
  }
};

}  // namespace moat::dns
