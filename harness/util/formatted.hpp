// printf into a std::string, for the places that build text from numbers with a format.
#pragma once

#include <cstdarg>
#include <string>

namespace kforge {

[[gnu::format(printf, 1, 2)]] std::string formatted(const char* format, ...);
// The same with the arguments already gathered (for other variadic functions).
[[gnu::format(printf, 1, 0)]] std::string vformatted(const char* format, std::va_list arguments);

}  // namespace kforge
