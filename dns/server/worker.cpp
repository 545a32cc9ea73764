#include "dns/server/worker.hpp"

#include <sched.h>

#include "dns/log.hpp"
#include "dns/message.hpp"

namespace moat::dns::server {

QueryPool::QueryPool(size_t capacity) : capacity_(capacity) {
  all_.reserve(capacity);
  free_.reserve(capacity);
}

// Queries are created on first need, up to the cap, and reused forever after: an idle server
// stays small, a busy one stops allocating once warm.
Query* QueryPool::take() {
  if (free_.empty()) {
    if (all_.size() >= capacity_) return nullptr;
    all_.push_back(std::make_unique<Query>());
    all_.back()->reply.reserve(1232);  // typical replies never reallocate
    return all_.back().get();
  }
  Query* q = free_.back();
  free_.pop_back();
  return q;
}

void QueryPool::give(Query* q) {
  q->reset();
  free_.push_back(q);
}

Worker::Worker(unsigned index, size_t poolSize)
    : index_(index), pool_(poolSize), guard_(boost::asio::make_work_guard(io_)) {}

void Worker::accept(Query& q, Dispatcher& dispatcher, bool cut) {
  bump(stats_.received);
  q.worker = index_;
  ParseStatus status = parseQuery(q.requestBytes(), q.view);
  // A message larger than any query we take: what was read parses only by accident (its
  // records may go on past the cut), so it is not answered as if it were the whole message.
  if (cut && status == ParseStatus::Ok) status = ParseStatus::FormErr;
  switch (status) {
    case ParseStatus::Drop:
      bump(stats_.malformedDropped);
      q.sink->dropQuery(q);
      return;
    case ParseStatus::FormErr:
      bump(stats_.malformedFormErr);
      q.view.edns.present = false;  // nothing of the rest can be trusted, OPT included
      writeErrorReply(q.reply, q.requestBytes(), nullptr, RCode::FormErr);
      q.sink->sendReply(q);
      return;
    case ParseStatus::Ok:
      break;
  }
  // QUERY and NOTIFY reach the chain (NOTIFY only for the handlers that take it: secondary);
  // every other opcode is NOTIMP here.
  const uint8_t opcode = q.view.header.opcode();
  if (opcode != opcode::Query && opcode != opcode::Notify) {
    bump(stats_.notImplemented);
    writeErrorReply(q.reply, q.requestBytes(), &q.view, RCode::NotImp);
    q.sink->sendReply(q);
    return;
  }
  if (q.view.edns.present && q.view.edns.version != 0) {
    // BADVERS (16): rcode 0 in the header, extended rcode 1 in our OPT.
    bump(stats_.badVersion);
    writeErrorReply(q.reply, q.requestBytes(), &q.view, RCode::NoError);
    appendOpt(q.reply, q.view.udpLimit(), q.view.edns.dnssecOk);
    q.reply[q.reply.size() - 6] = 1;
    q.sink->sendReply(q);
    return;
  }
  q.dispatcher = &dispatcher;
  dispatcher.dispatch(q);
}

void Worker::startThread() {
  thread_ = std::thread([this] {
    logging::collectLinesOn(io_);
    io_.run();
    logging::flushLines();  // what the last turns of the loop logged
  });
}

void Worker::stop() {
  guard_.reset();
  io_.stop();
}

void Worker::join() {
  if (thread_.joinable()) thread_.join();
}

unsigned cpusAvailable() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return 1;
  int n = CPU_COUNT(&set);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

}  // namespace moat::dns::server
