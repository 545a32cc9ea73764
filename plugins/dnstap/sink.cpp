#include "plugins/dnstap/sink.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstring>
#include <new>

#include <fstrm.h>

namespace moat::plugins::dnstap {
namespace {

constexpr std::string_view kContentType = "protobuf:dnstap.Dnstap";
constexpr size_t kQueueUnit = 10000;  // CoreDNS's queue multiple is of this many messages
constexpr size_t kHeader = 8;         // per frame in the arena: done flag and size
// What a frame takes in the arena on average, to size it from the queue length; a frame larger
// than the free room is dropped like any other, so this bounds memory, not correctness.
constexpr size_t kFrameBytes = 192;
constexpr size_t kFullFrameBytes = 640;
constexpr size_t kMinArena = 256 * 1024;  // room for a few 64 KiB TCP messages with `full`
// How long one read or write of the I/O thread may block (CoreDNS's tcpTimeout), and one
// connect: shorter, because a tap being destroyed waits for the I/O thread to notice.
constexpr timeval kIoTimeout{4, 0};
constexpr timeval kConnectTimeout{1, 0};
// Once the tap is being destroyed (a reload, or the last query of an old configuration ends on
// a worker): what is left to flush to a stuck reader gets this long per write.
constexpr timeval kClosingTimeout{0, 200'000};

size_t round8(size_t n) { return (n + 7) & ~size_t{7}; }

struct FrameHeader {
  std::atomic<uint32_t> done;
  uint32_t size;  // bytes of this slot, header included
};
static_assert(sizeof(FrameHeader) == kHeader);

}  // namespace

// ---- Arena

Arena::Arena(size_t capacity) : bytes_(new uint8_t[round8(capacity)]), capacity_(round8(capacity)) {}

void Arena::release(void* /*data*/, void* header) {
  static_cast<FrameHeader*>(header)->done.store(1, std::memory_order_release);
}

void Arena::reclaim() {
  while (used_ > 0) {
    auto* h = reinterpret_cast<FrameHeader*>(bytes_.get() + tail_);
    if (h->done.load(std::memory_order_acquire) == 0) break;
    tail_ += h->size;
    used_ -= h->size;
    if (tail_ == capacity_) tail_ = 0;
  }
  if (used_ == 0) head_ = tail_ = 0;
}

std::span<uint8_t> Arena::allocate(size_t len) {
  reclaim();
  const size_t need = kHeader + round8(len);
  size_t at = capacity_;  // none
  if (used_ == 0) {
    if (need <= capacity_) at = 0;
  } else if (head_ > tail_) {
    if (need <= capacity_ - head_) {
      at = head_;
    } else if (need <= tail_) {
      // Pad to the end: the pad is done at once, reclaimed when the tail reaches it.
      auto* pad = new (bytes_.get() + head_) FrameHeader;
      pad->size = static_cast<uint32_t>(capacity_ - head_);
      pad->done.store(1, std::memory_order_relaxed);
      used_ += capacity_ - head_;
      at = 0;
    }
  } else if (head_ < tail_) {
    if (need <= tail_ - head_) at = head_;
  }  // head_ == tail_ with used_ > 0: full
  if (at == capacity_) return {};
  auto* h = new (bytes_.get() + at) FrameHeader;
  h->size = static_cast<uint32_t>(need);
  h->done.store(0, std::memory_order_relaxed);
  used_ += need;
  head_ = at + need;
  if (head_ == capacity_) head_ = 0;
  last_ = h;
  return {bytes_.get() + at + kHeader, len};
}

// ---- the socket fstrm writes through, on fstrm's I/O thread only (but `open`)

struct Sink::Connection {
  TapConfig config;
  std::atomic<int> fd{-1};  // the I/O thread's; the destroying thread only shortens its timeouts
  std::atomic<bool> open{false};  // read by workers before they encode
  std::vector<iovec> pending;     // the unsent part of a writev

  static fstrm_res onOpen(void* self) { return static_cast<Connection*>(self)->connect(); }
  static fstrm_res onClose(void* self) {
    static_cast<Connection*>(self)->disconnect();
    return fstrm_res_success;
  }
  static fstrm_res onDestroy(void* /*self*/) { return fstrm_res_success; }  // the Sink owns it
  static fstrm_res onRead(void* self, void* data, size_t count) {
    return static_cast<Connection*>(self)->read(static_cast<uint8_t*>(data), count);
  }
  static fstrm_res onWrite(void* self, const iovec* iov, int iovcnt) {
    return static_cast<Connection*>(self)->write(iov, iovcnt);
  }

  static void setTimeouts(int s, timeval tv) {
    ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  // Called by the thread destroying the tap, before fstrm's final flush.
  void hurry() const {
    const int s = fd.load(std::memory_order_acquire);
    if (s >= 0) setTimeouts(s, kClosingTimeout);
  }

  fstrm_res connect() {
    disconnect();
    if (config.transport == TapConfig::Transport::Unix) {
      sockaddr_un sun{};
      sun.sun_family = AF_UNIX;
      if (config.path.size() >= sizeof sun.sun_path) return fstrm_res_failure;
      std::memcpy(sun.sun_path, config.path.data(), config.path.size());
      const int s = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (s < 0) return fstrm_res_failure;
      setTimeouts(s, kConnectTimeout);
      if (::connect(s, reinterpret_cast<sockaddr*>(&sun), sizeof sun) != 0) {
        ::close(s);
        return fstrm_res_failure;
      }
      setTimeouts(s, kIoTimeout);
      fd.store(s, std::memory_order_release);
    } else {
      // Resolved on every attempt, so a name that moves is followed (CoreDNS dials by name).
      addrinfo hints{};
      hints.ai_socktype = SOCK_STREAM;
      addrinfo* list = nullptr;
      if (::getaddrinfo(config.host.c_str(), config.port.c_str(), &hints, &list) != 0) return fstrm_res_failure;
      for (addrinfo* ai = list; ai != nullptr && fd < 0; ai = ai->ai_next) {
        const int s = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (s < 0) continue;
        setTimeouts(s, kConnectTimeout);
        const int sndbuf = config.writeBufferMiB * 1024 * 1024;  // the kernel caps it at wmem_max
        ::setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
        if (::connect(s, ai->ai_addr, ai->ai_addrlen) == 0) {
          setTimeouts(s, kIoTimeout);
          fd.store(s, std::memory_order_release);
        } else {
          ::close(s);
        }
      }
      ::freeaddrinfo(list);
      if (fd < 0) return fstrm_res_failure;
    }
    open.store(true, std::memory_order_release);
    return fstrm_res_success;
  }

  void disconnect() {
    open.store(false, std::memory_order_release);
    const int s = fd.exchange(-1, std::memory_order_acq_rel);
    if (s >= 0) ::close(s);
  }

  fstrm_res read(uint8_t* data, size_t count) {
    while (count > 0) {
      const ssize_t n = ::recv(fd, data, count, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return fstrm_res_failure;
      data += n;
      count -= static_cast<size_t>(n);
    }
    return fstrm_res_success;
  }

  fstrm_res write(const iovec* iov, int iovcnt) {
    pending.assign(iov, iov + iovcnt);
    size_t first = 0;
    while (first < pending.size()) {
      msghdr msg{};
      msg.msg_iov = pending.data() + first;
      msg.msg_iovlen = std::min<size_t>(pending.size() - first, IOV_MAX);
      ssize_t n = ::sendmsg(fd, &msg, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return fstrm_res_failure;  // a reader stuck past the timeout counts as gone
      auto sent = static_cast<size_t>(n);
      while (first < pending.size() && sent >= pending[first].iov_len) {
        sent -= pending[first].iov_len;
        ++first;
      }
      if (sent > 0) {
        pending[first].iov_base = static_cast<uint8_t*>(pending[first].iov_base) + sent;
        pending[first].iov_len -= sent;
      }
    }
    return fstrm_res_success;
  }
};

// ---- Sink

Sink::Sink(const TapConfig& config, size_t workers)
    : endpoint_(config.endpoint), connection_(std::make_unique<Connection>()) {
  connection_->config = config;
  workers = std::max<size_t>(1, workers);
  // CoreDNS queues QUEUE x 10000 messages for the whole tap; here each worker has its share, a
  // power of two within fstrm's bounds.
  const size_t share = (static_cast<size_t>(config.queueMultiple) * kQueueUnit + workers - 1) / workers;
  const size_t entries = std::clamp<size_t>(std::bit_ceil(share), FSTRM_IOTHR_INPUT_QUEUE_SIZE_MIN,
                                            FSTRM_IOTHR_INPUT_QUEUE_SIZE_MAX);
  const size_t arenaBytes = std::max(kMinArena, entries * (config.full ? kFullFrameBytes : kFrameBytes));
  for (size_t i = 0; i < workers; ++i) workers_.push_back(std::make_unique<Worker>(arenaBytes));

  fstrm_rdwr* rdwr = fstrm_rdwr_init(connection_.get());
  fstrm_rdwr_set_open(rdwr, &Connection::onOpen);
  fstrm_rdwr_set_close(rdwr, &Connection::onClose);
  fstrm_rdwr_set_destroy(rdwr, &Connection::onDestroy);
  fstrm_rdwr_set_read(rdwr, &Connection::onRead);  // a read makes the stream bidirectional
  fstrm_rdwr_set_write(rdwr, &Connection::onWrite);

  fstrm_writer_options* wopt = fstrm_writer_options_init();
  fstrm_writer_options_add_content_type(wopt, kContentType.data(), kContentType.size());
  fstrm_writer* writer = fstrm_writer_init(wopt, &rdwr);
  fstrm_writer_options_destroy(&wopt);

  fstrm_iothr_options* iopt = fstrm_iothr_options_init();
  fstrm_iothr_options_set_num_input_queues(iopt, static_cast<unsigned>(workers));
  fstrm_iothr_options_set_input_queue_size(iopt, static_cast<unsigned>(entries));
  fstrm_iothr_options_set_reopen_interval(iopt, 1);  // redial a lost reader every second
  if (writer != nullptr) iothr_ = fstrm_iothr_init(iopt, &writer);
  fstrm_iothr_options_destroy(&iopt);
  if (writer != nullptr) fstrm_writer_destroy(&writer);
  if (iothr_ == nullptr) return;  // every frame is then dropped and counted
  for (auto& w : workers_) w->queue = fstrm_iothr_get_input_queue(iothr_);
}

Sink::~Sink() {
  // Flushes what is queued, sends STOP and waits for FINISH, joins the I/O thread and calls
  // every outstanding free callback, so the arenas go after it. A healthy reader takes it all
  // at once; a stuck one costs at most a few short timeouts, not the 4 s of a running tap.
  if (iothr_ == nullptr) return;
  connection_->hurry();
  fstrm_iothr_destroy(&iothr_);
}

bool Sink::connected() const { return connection_->open.load(std::memory_order_acquire); }

std::span<uint8_t> Sink::reserve(unsigned w, size_t len) {
  Worker& worker = *workers_[w % workers_.size()];
  std::span<uint8_t> buf;
  if (worker.queue != nullptr && connected()) buf = worker.arena.allocate(len);
  if (buf.empty()) worker.dropped.fetch_add(1, std::memory_order_relaxed);
  return buf;
}

void Sink::submit(unsigned w, std::span<uint8_t> frame) {
  Worker& worker = *workers_[w % workers_.size()];
  void* header = worker.arena.lastHeader();
  if (fstrm_iothr_submit(iothr_, worker.queue, frame.data(), frame.size(), &Arena::release, header) ==
      fstrm_res_success) {
    worker.submitted.fetch_add(1, std::memory_order_relaxed);
  } else {
    Arena::release(frame.data(), header);
    worker.dropped.fetch_add(1, std::memory_order_relaxed);
  }
}

uint64_t Sink::dropped() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->dropped.load(std::memory_order_relaxed);
  return n;
}

uint64_t Sink::submitted() const {
  uint64_t n = 0;
  for (const auto& w : workers_) n += w->submitted.load(std::memory_order_relaxed);
  return n;
}

}  // namespace moat::plugins::dnstap
