# kforge_embed(TARGET <lib> NAMESPACE <ns> FILES <file>...)
# Compiles files into a static library as byte arrays, so that the kforge binary carries its
# Python reference runner, built-in tasks and prompt templates wherever it is copied.
# Each file is reachable by its path relative to the source tree through
# kforge::embedded::find(<path>) from harness/util/embedded.hpp.
function(kforge_embed)
  cmake_parse_arguments(ARG "" "TARGET" "FILES" ${ARGN})
  set(_out ${CMAKE_CURRENT_BINARY_DIR}/${ARG_TARGET}_embedded.cpp)
  set(_inputs)
  foreach(_file IN LISTS ARG_FILES)
    get_filename_component(_abs ${_file} ABSOLUTE)
    list(APPEND _inputs ${_abs})
  endforeach()
  add_custom_command(
    OUTPUT ${_out}
    COMMAND ${CMAKE_COMMAND} -DOUT=${_out} -DROOT=${CMAKE_SOURCE_DIR} -DNAME=${ARG_TARGET}
            "-DINPUTS=${_inputs}" -P ${CMAKE_SOURCE_DIR}/cmake/KforgeEmbedGenerate.cmake
    DEPENDS ${_inputs} ${CMAKE_SOURCE_DIR}/cmake/KforgeEmbedGenerate.cmake
    COMMENT "Embedding ${ARG_TARGET} files"
    VERBATIM)
  add_library(${ARG_TARGET} OBJECT ${_out})
  target_link_libraries(${ARG_TARGET} PRIVATE kforge_util)
endfunction()

# kforge_folder_library(<name> <sources...>): a static library of a folder's sources, or an
# empty interface library while the folder has none yet, so that dependents link either way.
function(kforge_folder_library name)
  if(ARGN)
    add_library(${name} STATIC ${ARGN})
    set(KFORGE_LIBRARY_SCOPE PUBLIC PARENT_SCOPE)
  else()
    add_library(${name} INTERFACE)
    set(KFORGE_LIBRARY_SCOPE INTERFACE PARENT_SCOPE)
  endif()
endfunction()
