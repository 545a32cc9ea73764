// One worker: an io_context run by one thread, a pool of reusable Query objects, and counters
// only this worker writes. A query never leaves the worker that received it.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include "dns/counter.hpp"
#include "dns/query.hpp"

namespace moat::dns::server {

// Written by the owning worker only (relaxed), read by whoever reports them.
struct WorkerStats {
  std::atomic<uint64_t> received{0};
  std::atomic<uint64_t> malformedDropped{0};  // unreadable header, or a response: no reply
  std::atomic<uint64_t> malformedFormErr{0};  // header readable, rest not: FORMERR sent
  std::atomic<uint64_t> notImplemented{0};    // opcode other than QUERY or NOTIFY: NOTIMP sent
  std::atomic<uint64_t> badVersion{0};        // EDNS version other than 0: BADVERS sent
  std::atomic<uint64_t> poolExhausted{0};     // no free Query: REFUSED sent
  std::atomic<uint64_t> sendFailed{0};
  std::atomic<uint64_t> tcpRejected{0};       // over the connection cap
  std::atomic<uint64_t> tcpConnections{0};    // open now
  std::atomic<uint64_t> tlsHandshakeFailed{0};  // DNS over TLS: refused, garbage, or too slow
};

using dns::bump;

class QueryPool {
 public:
  explicit QueryPool(size_t capacity);
  Query* take();  // nullptr when `capacity` queries are out
  void give(Query* q);
  // A query taken but never used (a receive slot no datagram filled): still clean, so it goes
  // back without the reset `give` does. A wake-up that reads 4 datagrams returns 28 of these.
  void putBack(Query* q) { free_.push_back(q); }
  size_t inUse() const { return all_.size() - free_.size(); }

 private:
  size_t capacity_;
  std::vector<std::unique_ptr<Query>> all_;
  std::vector<Query*> free_;
};

class Worker {
 public:
  Worker(unsigned index, size_t poolSize);
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  boost::asio::io_context& io() { return io_; }
  unsigned index() const { return index_; }
  QueryPool& pool() { return pool_; }
  WorkerStats& stats() { return stats_; }
  const WorkerStats& stats() const { return stats_; }

  // Checks a received query (q.request, q.requestLen, q.sink, q.client set) and hands it to the
  // dispatcher, or answers FORMERR/NOTIMP/BADVERS itself, or drops it. `cut`: the datagram was
  // longer than Query::request, so the bytes held are not the whole message (FORMERR).
  void accept(Query& q, Dispatcher& dispatcher, bool cut = false);

  void startThread();
  void stop();   // stops the loop; join() waits for the thread
  void join();

 private:
  // Order matters: handlers still queued in io_ (TCP connections) use pool_ and stats_ when
  // io_ destroys them, so those outlive it.
  unsigned index_;
  QueryPool pool_;
  WorkerStats stats_;
  boost::asio::io_context io_{1};  // one thread runs it
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_;
  std::thread thread_;
};

// How many CPUs this process may run on (its affinity mask), at least 1.
unsigned cpusAvailable();

}  // namespace moat::dns::server
