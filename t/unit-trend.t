use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_trend" or die "build/unit/test_trend: $!\n";
