#include "plugins/transfer/notify.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <memory>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "dns/message.hpp"
#include "dns/name.hpp"
#include "dns/secure_random.hpp"
#include "dns/wire.hpp"

namespace moat::plugins::transfer {

namespace asio = boost::asio;
using asio::ip::udp;

namespace {

constexpr uint8_t kOpcodeNotify = 4;

// One zone's NOTIFY to one target, from its first send to an answer or the last timeout.
// Handlers hold it alive; a generation number tells a stale completion from a current one.
class Exchange : public std::enable_shared_from_this<Exchange> {
 public:
  Exchange(asio::io_context& io, std::string zone, std::vector<uint8_t> message, NotifyTarget target,
           NotifyTiming timing)
      : socket_(io), timer_(io), zone_(std::move(zone)), message_(std::move(message)),
        target_(std::move(target)), timing_(timing), wait_(timing.firstWait) {}

  void start() {
    boost::system::error_code ec;
    socket_.open(target_.to.protocol(), ec);
    if (!ec && target_.source) socket_.bind(udp::endpoint(*target_.source, 0), ec);
    if (ec) return fail("cannot open a socket: " + ec.message());
    sendOnce();
  }

 private:
  void sendOnce() {
    ++tries_;
    ++generation_;
    socket_.async_send_to(asio::buffer(message_), target_.to,
                          [self = shared_from_this(), gen = generation_](const boost::system::error_code& ec, size_t) {
                            if (gen != self->generation_ || self->done_) return;
                            if (ec) self->lastProblem_ = ec.message();
                          });
    receive();
    timer_.expires_after(wait_);
    timer_.async_wait([self = shared_from_this(), gen = generation_](const boost::system::error_code& ec) {
      if (ec || gen != self->generation_ || self->done_) return;
      self->timedOut();
    });
  }

  void receive() {
    socket_.async_receive_from(
        asio::buffer(buffer_), from_,
        [self = shared_from_this(), gen = generation_](const boost::system::error_code& ec, size_t n) {
          if (ec || gen != self->generation_ || self->done_) return;
          self->answered(n);
        });
  }

  void answered(size_t n) {
    const uint16_t id = dns::get16(message_.data());
    if (from_ != target_.to || n < dns::kHeaderSize) return receive();
    const dns::Header h = dns::Header::read(buffer_.data());
    if (h.id != id || (h.flags & dns::flag::QR) == 0 || h.opcode() != kOpcodeNotify) return receive();
    if (h.rcode() == dns::RCode::NoError) {
      spdlog::debug("plugin/transfer: notify for zone {} accepted by {}", zone_, target_.text);
      return finish();
    }
    lastProblem_ = "rcode " + std::to_string(static_cast<int>(h.rcode()));
    receive();  // retried when the wait ends, as a timeout would be
  }

  void timedOut() {
    if (lastProblem_.empty()) lastProblem_ = "no answer";
    if (tries_ >= timing_.tries) return fail(lastProblem_);
    boost::system::error_code ignored;
    socket_.cancel(ignored);  // the next send posts a receive of its own
    wait_ *= 2;
    sendOnce();
  }

  void fail(const std::string& why) {
    spdlog::warn("plugin/transfer: notify for zone {} was not accepted by {}: {}", zone_, target_.text, why);
    finish();
  }

  void finish() {
    done_ = true;
    boost::system::error_code ignored;
    timer_.cancel();
    socket_.close(ignored);
  }

  udp::socket socket_;
  asio::steady_timer timer_;
  std::string zone_;
  std::vector<uint8_t> message_;
  NotifyTarget target_;
  NotifyTiming timing_;
  std::chrono::milliseconds wait_;
  std::array<uint8_t, 512> buffer_{};
  udp::endpoint from_;
  std::string lastProblem_;
  unsigned tries_ = 0;
  unsigned generation_ = 0;
  bool done_ = false;
};

}  // namespace

std::vector<uint8_t> notifyMessage(const file::Zone& zone, uint16_t id) {
  // Built by appending only: GCC 12 at -O2 reads an insert after a sized constructor as an
  // out-of-bounds memcpy (-Warray-bounds, a false positive).
  const std::span<const uint8_t> origin = zone.origin();
  std::vector<uint8_t> out;
  out.reserve(dns::kHeaderSize + origin.size() + 4 + 512);
  uint8_t header[dns::kHeaderSize];
  const uint16_t flags = static_cast<uint16_t>(kOpcodeNotify << 11) | dns::flag::AA;
  dns::Header{id, flags, 1, 0, 0, 0}.write(header);
  out.insert(out.end(), header, header + dns::kHeaderSize);
  out.insert(out.end(), origin.begin(), origin.end());
  uint8_t tail[4];
  dns::put16(tail, dns::rrtype::SOA);
  dns::put16(tail + 2, dns::rrclass::IN);
  out.insert(out.end(), tail, tail + 4);
  const file::RRset* soa = zone.rrset(zone.apex(), dns::rrtype::SOA);
  if (soa != nullptr && soa->count > 0) {
    const file::Record& record = zone.records(*soa)[0];
    dns::MessageWriter(out).addRR(dns::Section::Answer, origin, dns::rrtype::SOA, dns::rrclass::IN,
                                  record.ttl, zone.rdata(record));
  }
  return out;
}

Notifier::Notifier(NotifyTiming timing)
    : timing_(timing), work_(asio::make_work_guard(io_)), thread_([this] { io_.run(); }) {}

Notifier::~Notifier() {
  work_.reset();
  io_.stop();
  thread_.join();
}

void Notifier::send(std::string zone, std::vector<uint8_t> message, std::vector<NotifyTarget> targets) {
  asio::post(io_, [this, zone = std::move(zone), message = std::move(message),
                   targets = std::move(targets)]() mutable {
    for (NotifyTarget& target : targets) {
      std::vector<uint8_t> copy = message;
      dns::put16(copy.data(), dns::threadRandom().u16());
      std::make_shared<Exchange>(io_, zone, std::move(copy), std::move(target), timing_)->start();
    }
  });
}

}  // namespace moat::plugins::transfer
