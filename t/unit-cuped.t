use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_cuped" or die "build/unit/test_stats: $!\n";
