// Text from the store (a task's name, a kernel's name, a failure's reason, a version string) made
// safe inside the report's markup. Anything there may hold markup, control characters or bytes
// that are not UTF-8; the renderers pass every such string through one of these.
#pragma once

#include <string>
#include <string_view>

namespace kforge::nightly {

// For HTML and SVG text and attribute values: control characters and bytes that are not UTF-8
// become visible escapes (strings::printable_line), then & < > " ' become character references.
std::string html_escaped(std::string_view text);

// For Markdown text, in a table cell or a list item, as GitHub and most mail clients render it:
// one line (newlines become visible escapes), HTML that a renderer would obey (`<`, `>`, `&`)
// becomes character references, and the characters that open or close an inline construct
// (emphasis, code, links, table cells) are escaped with a backslash. Never at a line's start.
std::string markdown_escaped(std::string_view text);

}  // namespace kforge::nightly
