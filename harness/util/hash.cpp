#include "harness/util/hash.hpp"

#include <openssl/evp.h>

#include <memory>

#include "harness/util/error.hpp"

namespace kforge {
namespace {

class Sha256 {
 public:
  Sha256() : context_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    if (!context_ || EVP_DigestInit_ex(context_.get(), EVP_sha256(), nullptr) != 1)
      throw Error("cannot initialise SHA-256", "EVP_DigestInit_ex");
  }
  void update(std::string_view data) {
    if (EVP_DigestUpdate(context_.get(), data.data(), data.size()) != 1)
      throw Error("SHA-256 update failed", "EVP_DigestUpdate");
  }
  std::string hex() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_DigestFinal_ex(context_.get(), digest, &length) != 1)
      throw Error("SHA-256 final failed", "EVP_DigestFinal_ex");
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(length * 2);
    for (unsigned int i = 0; i < length; ++i) {
      out.push_back(kDigits[digest[i] >> 4]);
      out.push_back(kDigits[digest[i] & 15]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> context_;
};

}  // namespace

std::string sha256_hex(std::string_view data) {
  Sha256 hash;
  hash.update(data);
  return hash.hex();
}

std::string sha256_hex_fields(std::initializer_list<std::string_view> fields) {
  Sha256 hash;
  for (std::string_view field : fields) {
    std::string length = std::to_string(field.size()) + ":";
    hash.update(length);
    hash.update(field);
  }
  return hash.hex();
}

}  // namespace kforge
