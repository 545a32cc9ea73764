#include "plugins/errors/consolidator.hpp"

#include <fmt/format.h>

namespace moat::plugins::errors {
namespace {

// "whole[.fraction]" with `digits` fraction digits and trailing zeros dropped.
void appendFixed(std::string& out, uint64_t value, int digits) {
  uint64_t scale = 1;
  for (int i = 0; i < digits; ++i) scale *= 10;
  out += std::to_string(value / scale);
  uint64_t frac = value % scale;
  if (frac == 0) return;
  std::string f = std::to_string(frac);
  f.insert(0, static_cast<size_t>(digits) - f.size(), '0');
  while (!f.empty() && f.back() == '0') f.pop_back();
  out += '.';
  out += f;
}

}  // namespace

std::string goDuration(std::chrono::nanoseconds d) {
  int64_t v = d.count();
  if (v == 0) return "0s";
  std::string out = v < 0 ? "-" : "";
  uint64_t u = v < 0 ? uint64_t{0} - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
  constexpr uint64_t kSecond = 1'000'000'000;
  if (u < kSecond) {  // below a second Go switches to the largest unit that keeps a whole part
    if (u < 1'000) return out + std::to_string(u) + "ns";
    if (u < 1'000'000) {
      appendFixed(out, u, 3);
      return out + "\xC2\xB5s";  // µs, U+00B5 as Go writes it
    }
    appendFixed(out, u, 6);
    return out + "ms";
  }
  uint64_t secs = u / kSecond;
  uint64_t mins = secs / 60;
  uint64_t hours = mins / 60;
  if (hours > 0) out += std::to_string(hours) + "h";
  if (mins > 0) out += std::to_string(mins % 60) + "m";
  appendFixed(out, (secs % 60) * kSecond + u % kSecond, 9);
  return out + "s";
}

Consolidator::Consolidator(std::vector<ConsolidateRule> rules, Emit emit)
    : slots_(rules.size()), emit_(std::move(emit)) {
  for (size_t i = 0; i < rules.size(); ++i) slots_[i].rule = std::move(rules[i]);
  timer_ = std::jthread([this](std::stop_token stop) { run(stop); });
}

Consolidator::~Consolidator() {
  stopping_.store(true, std::memory_order_release);
  timer_.request_stop();
  if (timer_.joinable()) timer_.join();
  for (size_t i = 0; i < slots_.size(); ++i) {
    bool open = false;
    {
      std::lock_guard lock(mutex_);
      open = slots_[i].deadline.has_value();
      slots_[i].deadline.reset();
    }
    if (open) report(i);
  }
}

std::optional<size_t> Consolidator::match(std::string_view error) const {
  for (size_t i = 0; i < slots_.size(); ++i) {
    // Matching is on the error path only; boost throws on pathological backtracking, which
    // must not escape into the worker, so such an error simply counts as unmatched.
    try {
      if (boost::regex_search(error.begin(), error.end(), slots_[i].rule.regex)) return i;
    } catch (const std::exception&) {
    }
  }
  return std::nullopt;
}

bool Consolidator::fold(size_t i) {
  if (stopping_.load(std::memory_order_acquire)) return false;
  Slot& slot = slots_[i];
  if (slot.count.fetch_add(1, std::memory_order_acq_rel) + 1 != 1) return true;
  {
    std::lock_guard lock(mutex_);
    slot.deadline = std::chrono::steady_clock::now() + slot.rule.period;
    rescheduled_ = true;
  }
  wake_.notify_one();
  return !slot.rule.showFirst;
}

void Consolidator::report(size_t i) {
  Slot& slot = slots_[i];
  uint32_t n = slot.count.exchange(0, std::memory_order_acq_rel);
  if (n == 0) return;
  if (n == 1 && slot.rule.showFirst) return;  // that one was printed when it happened
  emit_(slot.rule.level, fmt::format("{} errors like '{}' occurred in last {}", n,
                                     slot.rule.pattern, goDuration(slot.rule.period)));
}

void Consolidator::run(std::stop_token stop) {
  std::unique_lock lock(mutex_);
  while (!stop.stop_requested()) {
    std::optional<std::chrono::steady_clock::time_point> next;
    for (const Slot& s : slots_) {
      if (s.deadline && (!next || *s.deadline < *next)) next = s.deadline;
    }
    auto woken = [&] { return rescheduled_; };
    if (next) {
      wake_.wait_until(lock, stop, *next, woken);
    } else {
      wake_.wait(lock, stop, woken);
    }
    rescheduled_ = false;
    if (stop.stop_requested()) break;
    auto now = std::chrono::steady_clock::now();
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i].deadline || *slots_[i].deadline > now) continue;
      slots_[i].deadline.reset();
      lock.unlock();  // emit writes to stdout; never hold the lock a worker may want
      report(i);
      lock.lock();
    }
  }
}

}  // namespace moat::plugins::errors
