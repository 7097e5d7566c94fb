use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_state" or die "build/unit/test_state: $!\n";
