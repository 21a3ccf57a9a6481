// harness/util/files: reading refuses what is not a regular file, without blocking or growing,
// and enforces a size limit before reading.
#include "harness/util/files.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <functional>

#include "harness/util/error.hpp"
#include "tests/support/test_support.hpp"

namespace kforge {
namespace {

std::string error_of(const std::function<void()>& read) {
  try {
    read();
  } catch (const Error& error) {
    return error.what();
  }
  ADD_FAILURE() << "read without an error";
  return "";
}

TEST(FilesRead, RegularFilesAreReadWhole) {
  testing::TemporaryDirectory folder;
  std::string text(100000, 'k');
  testing::write_text(folder / "a.cu", text);
  EXPECT_EQ(files::read(folder / "a.cu"), text);
  EXPECT_EQ(files::read(folder / "a.cu", text.size()), text);
  testing::write_text(folder / "empty", "");
  EXPECT_EQ(files::read(folder / "empty", 0), "");
}

TEST(FilesRead, OverTheLimitIsRefusedBeforeReading) {
  testing::TemporaryDirectory folder;
  testing::write_text(folder / "big.cu", std::string(4097, 'x'));
  std::string message = error_of([&] { files::read(folder / "big.cu", 4096); });
  EXPECT_NE(message.find("4097 bytes, over the limit of 4096"), std::string::npos) << message;
  EXPECT_NE(message.find("big.cu"), std::string::npos) << message;
}

TEST(FilesRead, DevicesFifosAndFoldersAreRefusedAtOnce) {
  testing::TemporaryDirectory folder;
  auto started = std::chrono::steady_clock::now();
  // /dev/zero never ends; a FIFO without a writer blocks an ordinary open forever.
  EXPECT_NE(error_of([] { files::read("/dev/zero"); }).find("a character device"),
            std::string::npos);
  ASSERT_EQ(::mkfifo((folder / "pipe.cu").c_str(), 0600), 0);
  EXPECT_NE(error_of([&] { files::read(folder / "pipe.cu", 1 << 20); }).find("a FIFO"),
            std::string::npos);
  EXPECT_NE(error_of([&] { files::read(folder.path()); }).find("a directory"), std::string::npos);
  EXPECT_NE(error_of([&] { files::read(folder / "missing"); }).find("cannot read file"),
            std::string::npos);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5));
}

}  // namespace
}  // namespace kforge
