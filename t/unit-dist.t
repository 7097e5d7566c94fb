exec "build/unit/test_dist" or die "build/unit/test_dist: $!\n";
