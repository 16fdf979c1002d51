# Warnings for our own targets (third-party headers come in as SYSTEM and stay quiet).
add_library(lidere_warnings INTERFACE)
target_compile_options(lidere_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow=local -Wnon-virtual-dtor
                            -Wcast-align -Wunused -Woverloaded-virtual
                            -Wimplicit-fallthrough>
  $<$<AND:$<COMPILE_LANGUAGE:CXX>,$<BOOL:${LIDERE_WERROR}>>:-Werror>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall>)
