exec "build/unit/test_stats" or die "build/unit/test_stats: $!\n";
