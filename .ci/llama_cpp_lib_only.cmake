# Passed to llama-cpp-python's build (CMAKE_PROJECT_INCLUDE, see the Makefile): it runs right after
# each project() call. The Python bindings load only libllama and ggml, but llama-cpp-python forces
# LLAMA_BUILD_COMMON on, which compiles llama.cpp's `common` utilities (chat, arg parsing, jinja) and
# cpp-httplib into a libllama-common the package never opens: the largest library of the build.
# A normal variable set in llama.cpp's own scope hides that cached ON from its `if (LLAMA_BUILD_COMMON)`
# (option() leaves an existing cache entry, and the variable, alone).
if(PROJECT_NAME STREQUAL "llama.cpp")
  set(LLAMA_BUILD_COMMON OFF)
endif()
