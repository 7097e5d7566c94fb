use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_exact" or die "build/unit/test_exact: $!\n";
