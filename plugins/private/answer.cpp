// Placeholder until the private helper lands the answering handler.
#include "plugins/private/private.hpp"

namespace moat::plugins::private_zone {

conf::Result<HandlerPtr> setupPrivate(const SetupContext& ctx) { return HandlerPtr(); }

}  // namespace moat::plugins::private_zone
