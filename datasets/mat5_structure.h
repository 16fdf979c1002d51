// A structural check of MATLAB 5 MAT-files before libmatio reads them. libmatio trusts the sizes a
// file claims: a 326-byte compressed file whose cell array claims hundreds of millions of elements
// makes it allocate a variable header for each (found by the long fuzz run: 9 GB and counting,
// inside Mat_VarReadInfo), so a damaged file could take the machine down instead of being refused.
// This walks the elements (inflating compressed ones, with a cap) and refuses any cell, struct or
// numeric array that claims more elements than the bytes that follow could hold.
#pragma once

#include <string>

namespace lidere::datasets {

// Throws InputError naming the file and the element that does not fit. Files that are not MAT 5
// (no MAT 5 header: MAT 7.3 / HDF5, text) are left to libmatio, which refuses or reads them.
void check_mat5_structure(const std::string& path);

}  // namespace lidere::datasets
