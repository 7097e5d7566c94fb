use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_dist" or die "build/unit/test_dist: $!\n";
