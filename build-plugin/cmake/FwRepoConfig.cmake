# Lets `find_package(FwRepo CONFIG)` find the fwrepo CMake integration (FwRepo_DIR = this dir).
include("${CMAKE_CURRENT_LIST_DIR}/FwRepo.cmake")
set(FwRepo_FOUND TRUE)
