use FindBin; chdir "$FindBin::Bin/.." or die "$!"; exec "build/unit/test_parse" or die "build/unit/test_parse: $!\n";
