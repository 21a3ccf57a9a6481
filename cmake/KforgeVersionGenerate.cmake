# Script mode, run at every build (the kforge_version target): writes ${OUT} from ${IN} with the
# commit of the checkout in ${SOURCE_DIR}, so that a binary names the commit it was built from,
# not the one CMake last configured at. configure_file leaves ${OUT} untouched when nothing
# changed, so a build without a new commit recompiles nothing.
execute_process(COMMAND git rev-parse --short=12 HEAD WORKING_DIRECTORY ${SOURCE_DIR}
  OUTPUT_VARIABLE KFORGE_GIT_COMMIT OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT KFORGE_GIT_COMMIT)
  set(KFORGE_GIT_COMMIT unknown)
endif()
configure_file(${IN} ${OUT} @ONLY)
