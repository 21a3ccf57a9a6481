# ctest: cmake -DBUILD_DIR=... -DSOURCE_DIR=... -DWORK_DIR=... -P consumer_test.cmake
# Installs kforge from BUILD_DIR into WORK_DIR/prefix, builds tests/consumer against it with
# find_package(kforge), runs it, and checks what it printed.
file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${WORK_DIR}/prefix
  RESULT_VARIABLE failed OUTPUT_QUIET)
if(failed)
  message(FATAL_ERROR "cmake --install failed")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR}/tests/consumer -B ${WORK_DIR}/build
  -G Ninja -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCMAKE_BUILD_TYPE=Release
  RESULT_VARIABLE failed OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(failed)
  message(FATAL_ERROR "configuring the consumer failed:\n${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build
  RESULT_VARIABLE failed OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(failed)
  message(FATAL_ERROR "building the consumer failed:\n${out}")
endif()
execute_process(COMMAND ${WORK_DIR}/build/kforge_consumer
  RESULT_VARIABLE failed OUTPUT_VARIABLE out ERROR_VARIABLE out)
message("${out}")
if(failed)
  message(FATAL_ERROR "the consumer failed")
endif()
foreach(expected "kernel relu/vectorized (seed)" "kernel softmax/online_block (seed)"
    "checked: argument 'x' must be float32, not float16" "prepared: 1 kernel(s)")
  string(FIND "${out}" "${expected}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "the consumer did not print '${expected}'")
  endif()
endforeach()
# Here there is no GPU: the runtime must say so cleanly; on a GPU machine it names the arch.
string(REGEX MATCH "(no GPU: cannot open the CUDA driver|gpu: sm_[0-9]+, relu runs as)" said "${out}")
if(NOT said)
  message(FATAL_ERROR "the consumer neither found a GPU nor said clearly that there is none")
endif()
file(REMOVE_RECURSE ${WORK_DIR})
