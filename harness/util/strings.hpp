// Small string helpers used across folders.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace kforge::strings {

std::string_view trim(std::string_view text);
std::vector<std::string> split(std::string_view text, char separator);
std::string join(std::span<const std::string> parts, std::string_view separator);

// The entry of `choices` closest to `word` by edit distance, if one is close enough to be a
// plausible typo; for "did you mean" hints next to "unknown key" errors.
std::optional<std::string> closest_match(std::string_view word,
                                         std::span<const std::string> choices);

// "unknown X 'word'; did you mean 'y'? (allowed: a, b, c)": one line for an unknown name.
std::string unknown_name_message(std::string_view kind, std::string_view word,
                                 std::span<const std::string> choices);

// UTF-8 and terminal safety. Text from outside (a candidate, a model's answer, a compile log, a
// task's description) may hold bytes that are not UTF-8, which nlohmann's dump refuses, and
// control characters, which a terminal obeys.

// The length (1 to 4) of the valid UTF-8 character that starts at `at`, or 0 when the byte there
// starts none: a stray continuation byte, an overlong form, a surrogate, a code point beyond
// U+10FFFF or a sequence cut short.
size_t utf8_length_at(std::string_view text, size_t at);

// The offset of the first byte that is not part of valid UTF-8, if any (NUL is valid UTF-8).
std::optional<size_t> first_invalid_utf8(std::string_view text);

// `text` with every byte that is not part of valid UTF-8 replaced by U+FFFD.
std::string to_valid_utf8(std::string_view text);

// The character at `at`, for a message that quotes it: the whole UTF-8 character (a message
// never splits one), and a control character or a byte that is not UTF-8 as an escape (`\x1b`).
std::string character_at(std::string_view text, size_t at);

// `text` made safe to print on a terminal: control characters (C0 but newline and tab, DEL, the
// C1 range) and bytes that are not UTF-8 become visible `\xNN` / `\u{NN}` escapes, so that an
// ESC or OSC sequence cannot move the cursor, retitle the window or hide what follows.
std::string printable(std::string_view text);
// As printable, and newlines and tabs escaped too: for text shown inside one line.
std::string printable_line(std::string_view text);

}  // namespace kforge::strings
