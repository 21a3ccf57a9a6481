# The fuzz targets, one per parser of outside input: tests/fuzz/<name>.cpp, seeds in
# tests/fuzz/corpus/<name>/. Read by tests/fuzz/CMakeLists.txt (the fuzz build), by
# tests/fuzz/fuzz_tests.cmake (the brief runs in ctest) and by bench/fuzz.sh (one line).
set(KFORGE_FUZZ_TARGETS candidate_file expression located_json launch_plan_json kernel_declarations ptx_entries safetensors compile_reply gpu_reply response_parser sse_stream config_toml manifest kernel_file source_policy counter_file ncu_csv tuning_space)
