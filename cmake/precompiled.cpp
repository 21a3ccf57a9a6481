// The translation unit that builds kforge's precompiled header
// (cmake/KforgePrecompiledHeaders.cmake): it defines nothing; the header list is the point.
