use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_timefmt" or die "build/unit/test_timefmt: $!\n";
