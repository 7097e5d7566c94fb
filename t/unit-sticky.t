use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_sticky" or die "build/unit/test_sticky: $!\n";
