#include "plugins/errors/errors.hpp"

#include <spdlog/spdlog.h>

#include <iterator>
#include <string>

#include "dns/log.hpp"
#include "dns/name.hpp"

namespace moat::plugins::errors {
namespace {

constexpr std::string_view kPrefix = "plugin/errors: ";

void appendText(fmt::memory_buffer& out, std::string_view s) { out.append(s.data(), s.data() + s.size()); }

// The error as CoreDNS's err.Error() reads: an error raised by the chain on a plugin's behalf
// (q.errorPlugin set) is wrapped as plugin.Error does, "plugin/NAME: text".
void appendError(fmt::memory_buffer& out, const dns::Query& q) {
  if (!q.errorPlugin.empty()) {
    appendText(out, "plugin/");
    appendText(out, q.errorPlugin);
    appendText(out, ": ");
  }
  appendText(out, q.error);
}

// The rcode the chain ended with. With no reply at all the handler failed before writing,
// which CoreDNS reports as SERVFAIL.
unsigned replyRcode(const dns::Query& q) {
  if (q.reply.size() < dns::kHeaderSize) return static_cast<unsigned>(dns::RCode::ServFail);
  return static_cast<unsigned>(dns::Header::read(q.reply.data()).rcode());
}

}  // namespace

ErrorsHandler::ErrorsHandler(Config config, std::shared_ptr<spdlog::logger> out)
    : out_(std::move(out)) {
  if (!config.consolidate.empty()) {
    consolidator_ = std::make_unique<Consolidator>(
        std::move(config.consolidate),
        [this](spdlog::level::level_enum level, std::string_view text) {
          fmt::memory_buffer line;
          appendText(line, kPrefix);
          appendText(line, text);
          emit(level, {line.data(), line.size()});
        });
  }
}

void ErrorsHandler::emit(spdlog::level::level_enum level, std::string_view text) const {
  spdlog::logger* out = out_ ? out_.get() : spdlog::default_logger_raw();
  if (out != nullptr) out->log(level, spdlog::string_view_t(text.data(), text.size()));
}

void ErrorsHandler::onReply(dns::Query& q) {
  if (q.error.empty()) return;
  fmt::memory_buffer err;
  appendError(err, q);

  spdlog::level::level_enum level = spdlog::level::err;
  if (consolidator_) {
    if (auto i = consolidator_->match({err.data(), err.size()})) {
      if (consolidator_->fold(*i)) return;
      level = consolidator_->rule(*i).level;
    }
  }

  fmt::memory_buffer line;
  appendText(line, kPrefix);
  fmt::format_to(std::back_inserter(line), "{} ", replyRcode(q));
  if (q.view.header.qdcount == 0) {
    appendText(line, ".");
  } else {
    std::string name;
    dns::appendNameText(name, q.view.question.lowerName());
    appendText(line, name);
  }
  line.push_back(' ');
  if (q.view.header.qdcount > 0) logging::appendTypeName(line, q.view.question.qtype);
  appendText(line, ": ");
  line.append(err.data(), err.data() + err.size());
  emit(level, {line.data(), line.size()});
}

conf::Result<HandlerPtr> setupErrors(const SetupContext& ctx) {
  auto config = parseConfig(ctx.stanzas, ctx.warnings);
  if (!config) return config.error();
  return HandlerPtr(std::make_shared<ErrorsHandler>(std::move(*config)));
}

}  // namespace moat::plugins::errors
