// The version of kforge's verification and timing protocols, stored with every evaluation.
// Bump it whenever a change could turn an earlier verdict or timing into a different one:
// promotion and dataset rows compare only evaluations of the same harness version. The store
// keeps the number and is handed it where a query needs it; it never knows the current one.
#pragma once

#include <cstdint>

namespace kforge {

inline constexpr int64_t kHarnessVersion = 2;

}  // namespace kforge
