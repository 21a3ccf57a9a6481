// harness/util/strings: UTF-8 checks and repair, quoting one character, and making outside text
// safe for a terminal.
#include "harness/util/strings.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <vector>

#include "harness/util/json_text.hpp"

namespace kforge {
namespace {

using namespace std::string_literals;

TEST(Utf8, LengthsAndFirstInvalidByte) {
  EXPECT_EQ(strings::utf8_length_at("a", 0), 1u);
  EXPECT_EQ(strings::utf8_length_at("\xc3\xa9", 0), 2u);          // é
  EXPECT_EQ(strings::utf8_length_at("\xe2\x80\x94", 0), 3u);      // em dash
  EXPECT_EQ(strings::utf8_length_at("\xf0\x9f\x98\x80", 0), 4u);  // emoji
  EXPECT_EQ(strings::utf8_length_at("\xc3\xa9", 1), 0u);          // a continuation byte
  EXPECT_EQ(strings::utf8_length_at("\xc0\xaf", 0), 0u);          // overlong '/'
  EXPECT_EQ(strings::utf8_length_at("\xed\xa0\x80", 0), 0u);      // a surrogate
  EXPECT_EQ(strings::utf8_length_at("\xf4\x90\x80\x80", 0), 0u);  // beyond U+10FFFF
  EXPECT_EQ(strings::utf8_length_at("\xe2\x80", 0), 0u);          // cut short
  EXPECT_EQ(strings::first_invalid_utf8("x.numel \xc3\x97 1"), std::nullopt);
  EXPECT_EQ(strings::first_invalid_utf8("ok\0ok"s), std::nullopt);  // NUL is UTF-8
  EXPECT_EQ(strings::first_invalid_utf8("abc\xff"), 3u);
}

TEST(Utf8, RepairReplacesOnlyTheBadBytes) {
  EXPECT_EQ(strings::to_valid_utf8("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(strings::to_valid_utf8("a\xff"
                                   "b\xc3"),
            "a\xef\xbf\xbd"
            "b\xef\xbf\xbd");
  // Half of a character, as a byte-wise cut leaves it, is repaired and can be dumped.
  std::string cut = std::string("\xc3\x97").substr(0, 1);
  nlohmann::json document = {{"detail", "unexpected '" + cut + "'"}};
  EXPECT_THROW(document.dump(), nlohmann::json::type_error);
  EXPECT_EQ(json_text(document), "{\"detail\":\"unexpected '\xef\xbf\xbd'\"}");
  EXPECT_EQ(nlohmann::json(strings::to_valid_utf8(cut)).dump(), "\"\xef\xbf\xbd\"");
}

TEST(Utf8, CharacterAtQuotesWholeCharacters) {
  std::string text = "x.numel \xc3\x97 1";
  EXPECT_EQ(strings::character_at(text, 8), "\xc3\x97");
  EXPECT_EQ(strings::character_at(text, 0), "x");
  EXPECT_EQ(strings::character_at("\x1b[2J", 0), "\\x1b");
  EXPECT_EQ(strings::character_at("\xff", 0), "\\xff");
  EXPECT_EQ(strings::character_at("a", 5), "");
}

TEST(Printable, ControlSequencesBecomeVisible) {
  // CSI (clear screen), OSC (set the window title, ended by BEL), C1 CSI, a carriage return
  // that would overwrite the line, DEL, and a byte that is not UTF-8.
  std::string hostile =
      "desc\x1b[2J\x1b]0;owned\x07 \xc2\x9b"
      "31m\rX\x7f\xfe";
  std::string shown = strings::printable(hostile);
  EXPECT_EQ(shown, "desc\\x1b[2J\\x1b]0;owned\\x07 \\u{9b}31m\\x0dX\\x7f\\xfe");
  for (char c : shown)
    EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) << int(c);
  // Layout survives in printable; printable_line keeps to one line.
  EXPECT_EQ(strings::printable("a\n\tb \xc3\xa9"), "a\n\tb \xc3\xa9");
  EXPECT_EQ(strings::printable_line("a\n\tb"), "a\\n\\tb");
}

TEST(ClosestMatch, SuggestsTheNearestPlausibleTypo) {
  const std::vector<std::string> choices = {"BLOCK", "alpha", "x", "feedback", "beam"};
  EXPECT_EQ(strings::closest_match("BLOCKS", choices), "BLOCK");
  EXPECT_EQ(strings::closest_match("feedbak", choices), "feedback");
  EXPECT_EQ(strings::closest_match("bean", choices), "beam");
  EXPECT_EQ(strings::closest_match("completely_different", choices), std::nullopt);
  // Of two equally near, the first.
  EXPECT_EQ(strings::closest_match("ab", std::vector<std::string>{"a", "b"}), "a");
  std::string message = strings::unknown_name_message("name", "BLOCKS", choices);
  EXPECT_EQ(message,
            "unknown name 'BLOCKS'; did you mean 'BLOCK'? (allowed: BLOCK, alpha, x, feedback, "
            "beam)");
}

TEST(ClosestMatch, LongNamesGetNoHint) {
  std::string typed(64, 'k');
  std::string declared = typed;
  declared.back() = 'j';
  EXPECT_EQ(strings::closest_match(typed, std::vector<std::string>{declared}), declared);
  typed += 'k';
  declared += 'k';
  EXPECT_EQ(strings::closest_match(typed, std::vector<std::string>{declared}), std::nullopt);
}

// Found by the fuzz targets config_toml and candidate_file (docs/fuzzing.md): the hint cost the
// product of the two names' lengths, so a plan naming a kernel of 200 KB next to a declaration
// one character apart (or a kforge.toml key of 1 MB) kept kforge busy for minutes. Now the cost
// does not depend on the lengths.
TEST(ClosestMatch, CostDoesNotGrowWithTheNamesLengths) {
  std::string typed(200000, 'k');
  std::string declared = typed;
  declared.back() = 'j';
  std::vector<std::string> choices(20, declared);
  choices.push_back("BLOCK");
  auto started = std::chrono::steady_clock::now();
  std::string message = strings::unknown_name_message("kernel", typed, choices);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  EXPECT_EQ(message.find("did you mean"), std::string::npos);
  EXPECT_EQ(message.rfind("unknown kernel '" + typed + "' (allowed: ", 0), 0u);
  // Before the fix: 20 x 200,000 x 200,000 steps, minutes. Now well under a millisecond of
  // work; one second leaves room for a loaded machine.
  EXPECT_LT(seconds, 1.0);
}

}  // namespace
}  // namespace kforge
