#include "cli/app.hpp"

int main(int argc, char** argv) {
  return kforge::cli::run(argc, argv);
}
