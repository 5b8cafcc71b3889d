# Builds data/operating-points.json (written by tools/calibrate.sh) into the library so that
# `verify --operating-point far1e-3` works without any file next to the binary.
set(_fm_op_json ${CMAKE_SOURCE_DIR}/data/operating-points.json)
file(READ ${_fm_op_json} _fm_op_text)
file(WRITE ${CMAKE_CURRENT_BINARY_DIR}/operating-points.json.inc.tmp "R\"json(${_fm_op_text})json\"")
configure_file(${CMAKE_CURRENT_BINARY_DIR}/operating-points.json.inc.tmp
  ${CMAKE_CURRENT_BINARY_DIR}/generated/operating-points.json.inc COPYONLY)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${_fm_op_json})
