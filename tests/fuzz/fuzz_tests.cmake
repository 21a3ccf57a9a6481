# The fuzz targets in the test command (docs/fuzzing.md): the fixture fuzz.build configures and
# builds build-fuzz/ with clang++ (the targets only: a few minutes cold, seconds with ccache), and
# fuzz.<target> runs each target on its seed corpus, which holds every input that once crashed
# it, plus 2000 new inputs. Any crash, sanitizer report, leak or hang fails the test.
# Included from tests/CMakeLists.txt; the campaign itself is bench/fuzz.sh.
include(${CMAKE_CURRENT_LIST_DIR}/targets.cmake)
find_program(KFORGE_CLANGXX NAMES clang++ clang++-14)
if(NOT KFORGE_CLANGXX)
  message(FATAL_ERROR "kforge: clang++ (with libFuzzer) was not found; ${KFORGE_INSTALL_HINT}")
endif()
set(KFORGE_FUZZ_BUILD_DIR ${CMAKE_SOURCE_DIR}/build-fuzz)
add_test(NAME fuzz.build COMMAND ${CMAKE_CURRENT_LIST_DIR}/build_fuzz.sh ${CMAKE_SOURCE_DIR}
  ${KFORGE_FUZZ_BUILD_DIR} ${KFORGE_CLANGXX})
set_tests_properties(fuzz.build PROPERTIES FIXTURES_SETUP kforge_fuzz TIMEOUT 1800)
foreach(name IN LISTS KFORGE_FUZZ_TARGETS)
  add_test(NAME fuzz.${name} COMMAND ${CMAKE_CURRENT_LIST_DIR}/run_brief.sh
    ${KFORGE_FUZZ_BUILD_DIR}/fuzz_${name} ${CMAKE_CURRENT_LIST_DIR}/corpus/${name}
    ${CMAKE_BINARY_DIR}/fuzz-brief/${name})
  set_tests_properties(fuzz.${name} PROPERTIES FIXTURES_REQUIRED kforge_fuzz TIMEOUT 300)
endforeach()
