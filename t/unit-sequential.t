use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_sequential" or die "build/unit/test_sequential: $!\n";
