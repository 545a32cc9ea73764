// Evaluating a compiled expression for one query: a walk over the nodes with short-circuit
// `and`/`or`. Function results that are text (name(), client_ip(), ...) are written into a
// scratch buffer on the stack, so nothing is allocated.
#include <arpa/inet.h>

#include <charconv>
#include <cstring>

#include "dns/log.hpp"
#include "dns/name.hpp"
#include "plugins/pkg/expression/node.hpp"

namespace moat::plugins::expression {

namespace {

// Text produced while evaluating one query. A name in presentation form is at most 1004
// characters (255 bytes, each possibly \DDD); a few of those and some addresses fit.
class Scratch {
 public:
  // Room for `n` more characters, or null when the buffer is full (the value is then an error).
  char* reserve(size_t n) { return used_ + n <= buf_.size() ? buf_.data() + used_ : nullptr; }
  std::string_view commit(size_t n) {
    std::string_view v(buf_.data() + used_, n);
    used_ += n;
    return v;
  }

 private:
  std::array<char, 4096> buf_;
  size_t used_ = 0;
};

// An endpoint's address as Go prints it: bare, and an IPv4-mapped IPv6 address as IPv4.
Value addressText(const dns::Endpoint& e, Scratch& s) {
  std::array<uint8_t, 16> bytes;
  const int family = e.address(bytes);
  char* out = s.reserve(INET6_ADDRSTRLEN);
  if (family == 0 || out == nullptr ||
      ::inet_ntop(family, bytes.data(), out, INET6_ADDRSTRLEN) == nullptr) {
    return Value::error();
  }
  return Value::string(s.commit(std::strlen(out)));
}

Value numberText(uint64_t n, Scratch& s) {
  char* out = s.reserve(20);
  if (out == nullptr) return Value::error();
  const auto r = std::to_chars(out, out + 20, n);
  return Value::string(s.commit(static_cast<size_t>(r.ptr - out)));
}

// name(): the question in presentation form, lowercased, with the trailing dot (as CoreDNS's
// request.Name).
Value nameText(const dns::Query& q, Scratch& s) {
  const auto wire = q.view.question.lowerName();
  char* out = s.reserve(dns::maxNameText(wire));
  if (out == nullptr) return Value::error();
  return Value::string(s.commit(dns::writeNameText(wire, out)));
}

std::string_view className(uint16_t klass) {
  switch (klass) {
    case dns::rrclass::IN: return "IN";
    case dns::rrclass::CH: return "CH";
    case dns::rrclass::HS: return "HS";
    case dns::rrclass::NONE: return "NONE";
    case dns::rrclass::ANY: return "ANY";
    default: return {};
  }
}

bool sameValue(const Value& a, const Value& b) {
  if (a.type == Type::String && b.type == Type::String) return a.s == b.s;
  if (a.type == Type::Bool && b.type == Type::Bool) return a.b == b.b;
  const double x = a.type == Type::Int ? static_cast<double>(a.i) : a.f;
  const double y = b.type == Type::Int ? static_cast<double>(b.i) : b.f;
  if (a.type == Type::Int && b.type == Type::Int) return a.i == b.i;
  return x == y;
}

// -1, 0, 1 for numbers or strings of the same kind.
int order(const Value& a, const Value& b) {
  if (a.type == Type::String) return a.s < b.s ? -1 : (a.s == b.s ? 0 : 1);
  if (a.type == Type::Int && b.type == Type::Int) return a.i < b.i ? -1 : (a.i == b.i ? 0 : 1);
  const double x = a.type == Type::Int ? static_cast<double>(a.i) : a.f;
  const double y = b.type == Type::Int ? static_cast<double>(b.i) : b.f;
  return x < y ? -1 : (x == y ? 0 : 1);
}

class Evaluator {
 public:
  Evaluator(const std::vector<Node>& nodes, const dns::Query& q, const Env& env)
      : nodes_(nodes), q_(q), env_(env) {}

  Value eval(int32_t index) {
    const Node& n = nodes_[static_cast<size_t>(index)];
    switch (n.kind) {
      case Kind::Literal:
        return n.literal;
      case Kind::Array:
        return Value::error();  // only ever the right side of `in`
      case Kind::Call:
        return call(n);
      case Kind::Not: {
        const Value v = eval(n.lhs);
        return v.type == Type::Bool ? Value::boolean(!v.b) : Value::error();
      }
      case Kind::And:
      case Kind::Or: {
        const Value l = eval(n.lhs);
        if (l.type != Type::Bool) return Value::error();
        if (l.b == (n.kind == Kind::Or)) return l;  // decided by the left side alone
        return eval(n.rhs);
      }
      case Kind::In:
      case Kind::NotIn: {
        const Value l = eval(n.lhs);
        if (l.type == Type::Error) return l;
        bool found = false;
        for (int32_t item : nodes_[static_cast<size_t>(n.rhs)].args) {
          const Value v = eval(item);
          if (v.type == Type::Error) return v;
          if (sameValue(l, v)) {
            found = true;
            break;
          }
        }
        return Value::boolean(found == (n.kind == Kind::In));
      }
      default:
        break;
    }
    const Value l = eval(n.lhs);
    if (l.type == Type::Error) return l;
    const Value r = eval(n.rhs);
    if (r.type == Type::Error) return r;
    switch (n.kind) {
      case Kind::Eq: return Value::boolean(sameValue(l, r));
      case Kind::Ne: return Value::boolean(!sameValue(l, r));
      case Kind::Lt: return Value::boolean(order(l, r) < 0);
      case Kind::Le: return Value::boolean(order(l, r) <= 0);
      case Kind::Gt: return Value::boolean(order(l, r) > 0);
      case Kind::Ge: return Value::boolean(order(l, r) >= 0);
      case Kind::Matches:
        return Value::boolean(re2::RE2::PartialMatch(re2::StringPiece(l.s.data(), l.s.size()), *n.pattern));
      case Kind::Contains: return Value::boolean(l.s.find(r.s) != std::string_view::npos);
      case Kind::StartsWith: return Value::boolean(l.s.substr(0, r.s.size()) == r.s);
      case Kind::EndsWith:
        return Value::boolean(l.s.size() >= r.s.size() && l.s.substr(l.s.size() - r.s.size()) == r.s);
      default: return Value::error();
    }
  }

 private:
  Value call(const Node& n) {
    const auto& question = q_.view.question;
    switch (n.fn) {
      case Fn::Type: {
        const std::string_view known = logging::typeName(question.qtype);
        if (!known.empty()) return Value::string(known);
        char* out = scratch_.reserve(10);
        if (out == nullptr) return Value::error();
        std::memcpy(out, "TYPE", 4);
        const auto r = std::to_chars(out + 4, out + 10, question.qtype);
        return Value::string(scratch_.commit(static_cast<size_t>(r.ptr - out)));
      }
      case Fn::Name: return nameText(q_, scratch_);
      case Fn::Class: {
        const std::string_view known = className(question.qclass);
        if (!known.empty()) return Value::string(known);
        char* out = scratch_.reserve(11);
        if (out == nullptr) return Value::error();
        std::memcpy(out, "CLASS", 5);
        const auto r = std::to_chars(out + 5, out + 11, question.qclass);
        return Value::string(scratch_.commit(static_cast<size_t>(r.ptr - out)));
      }
      case Fn::Proto: return Value::string(q_.proto == dns::Proto::Tcp ? "tcp" : "udp");
      case Fn::Size: return Value::integer(q_.requestLen);
      case Fn::ClientIp: return addressText(q_.client, scratch_);
      case Fn::Port: return numberText(q_.client.port(), scratch_);
      case Fn::Id: return Value::integer(q_.view.header.id);
      case Fn::Opcode: return Value::integer(q_.view.header.opcode());
      case Fn::Do: return Value::boolean(q_.view.edns.present && q_.view.edns.dnssecOk);
      case Fn::Bufsize:
        // CoreDNS's request.Size: 65535 over TCP, else the advertised size, at least 512.
        return Value::integer(q_.proto == dns::Proto::Tcp ? 65535 : q_.view.udpLimit());
      case Fn::ServerIp: return addressText(q_.local, scratch_);
      case Fn::ServerPort: return numberText(q_.local.port(), scratch_);
      case Fn::Metadata: {
        const Value label = eval(n.args[0]);
        if (label.type != Type::String) return Value::error();
        return Value::string(env_.metadata(label.s));
      }
      case Fn::InCidr: return inCidr(n);
    }
    return Value::error();
  }

  Value inCidr(const Node& n) {
    std::optional<plugins::IpKey> ip;
    const Node& ipArg = nodes_[static_cast<size_t>(n.args[0])];
    if (ipArg.kind == Kind::Call && ipArg.fn == Fn::ClientIp) {
      ip = plugins::clientKey(q_.client);  // no text round trip for the common case
    } else {
      const Value text = eval(n.args[0]);
      if (text.type == Type::String) ip = plugins::parseAddress(text.s);
    }
    if (!ip) return Value::error();
    if (n.constCidr) return Value::boolean(n.cidr.contains(*ip));
    const Value text = eval(n.args[1]);
    if (text.type != Type::String) return Value::error();
    const auto cidr = plugins::parseCidr(text.s, /*prefixRequired=*/true);
    if (!cidr) return Value::error();
    return Value::boolean(cidr->contains(*ip));
  }

  const std::vector<Node>& nodes_;
  const dns::Query& q_;
  const Env& env_;
  Scratch scratch_;
};

}  // namespace

Value Program::evaluate(const dns::Query& q, const Env& env) const {
  if (root_ < 0) return Value::error();
  return Evaluator(nodes_, q, env).eval(root_);
}

}  // namespace moat::plugins::expression
